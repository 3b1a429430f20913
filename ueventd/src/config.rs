//! The ueventd.rc language (AOSP `init/ueventd_parser.cpp`, `init/README.ueventd.md`).
//!
//! Directives: `/dev/…` permission lines, `/sys/…` attribute lines, `subsystem` sections
//! (`devname uevent_devname|uevent_devpath|sys_name`, `dirname /dev/…`),
//! `firmware_directories`, `external_firmware_handler`, `modalias_handling`,
//! `uevent_socket_rcvbuf_size`, `parallel_restorecon`, `parallel_restorecon_dir` and
//! `import`. Every problem is reported as a [`ConfigError`] with file and line, and the
//! other lines are still parsed. Differences from AOSP (all stricter, all reported):
//! keywords must match exactly (AOSP accepts any word that starts with a keyword), modes
//! must be octal ≤ 07777, sizes may carry only one suffix letter, a subsystem `dirname`
//! must lie under `/dev` without `..`, a non-keyword line after `import` is an error
//! (AOSP ignores it), and import cycles or more than [`MAX_IMPORT_DEPTH`] nested imports
//! are refused.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::ConfigError;
use crate::pattern::PathPattern;
use crate::tokenizer::{tokenize, Line};
use android_ids::resolve_id;

/// Nested imports deeper than this are refused.
pub const MAX_IMPORT_DEPTH: usize = 16;
/// Config files larger than this are refused.
pub const MAX_CONFIG_FILE_BYTES: u64 = 4 << 20;
/// Mode, uid and gid of a node that no `/dev` line matches.
pub const DEFAULT_MODE: u32 = 0o600;

/// A `/dev/<pattern> <mode> <user> <group> [no_fnm_pathname]` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permissions {
    /// The device path pattern.
    pub pattern: PathPattern,
    /// Permission bits (≤ 07777).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
}

impl Permissions {
    /// A permission rule (`no_fnm_pathname` as the optional fifth word).
    pub fn new(pattern: &str, mode: u32, uid: u32, gid: u32, no_fnm_pathname: bool) -> Self {
        Permissions {
            pattern: PathPattern::new(pattern, no_fnm_pathname),
            mode,
            uid,
            gid,
        }
    }

    /// Whether the rule applies to the `/dev/…` path.
    pub fn matches(&self, path: &str) -> bool {
        self.pattern.matches(path)
    }
}

/// A `/sys/<pattern> <attribute> <mode> <user> <group> [no_fnm_pathname]` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysfsPermissions {
    /// The sysfs directory pattern (with the `/sys` prefix).
    pub pattern: PathPattern,
    /// The attribute file below the matching directory.
    pub attribute: String,
    /// Permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
}

impl SysfsPermissions {
    /// AOSP's `MatchWithSubsystem`: if the pattern contains the subsystem name, the
    /// `/sys/class/<subsystem>/<basename>` and `/sys/bus/<subsystem>/devices/<basename>`
    /// aliases of the device are tried too; then `path` itself (`/sys` + DEVPATH).
    pub fn matches_with_subsystem(&self, path: &str, subsystem: &str) -> bool {
        let base = path.rsplit('/').next().unwrap_or(path);
        if self.pattern.as_str().contains(subsystem)
            && (self
                .pattern
                .matches(&format!("/sys/class/{subsystem}/{base}"))
                || self
                    .pattern
                    .matches(&format!("/sys/bus/{subsystem}/devices/{base}")))
        {
            return true;
        }
        self.pattern.matches(path)
    }
}

/// Where a `subsystem` section takes a node's name from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevnameSource {
    /// `devname uevent_devname`: the uevent's DEVNAME (the default).
    UeventDevname,
    /// `devname uevent_devpath`: the last component of DEVPATH.
    UeventDevpath,
    /// `devname sys_name`: the contents of `/sys/<DEVPATH>/name` (DEVNAME if unreadable).
    SysName,
}

/// A `subsystem <name>` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subsystem {
    /// The SUBSYSTEM value it applies to.
    pub name: String,
    /// Where the node name comes from.
    pub devname: DevnameSource,
    /// The directory the node goes in (`/dev` by default).
    pub dirname: String,
}

impl Subsystem {
    /// A section with the defaults (`uevent_devname`, `/dev`).
    pub fn new(name: &str) -> Self {
        Subsystem {
            name: name.to_string(),
            devname: DevnameSource::UeventDevname,
            dirname: "/dev".to_string(),
        }
    }
}

/// An `external_firmware_handler <devpath> <user> [<group>] <program [args]>` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalFirmwareHandler {
    /// DEVPATH pattern (exact, trailing-`*` prefix, or fnmatch without FNM_PATHNAME).
    pub devpath: PathPattern,
    /// User to run as.
    pub uid: u32,
    /// Group to run as (root when not given).
    pub gid: u32,
    /// Program and arguments, split on spaces when run.
    pub handler: String,
}

/// Everything the ueventd.rc files say. Lists keep file order; later `/dev` lines win.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UeventdConfig {
    /// `/dev/…` lines in parse order.
    pub dev_permissions: Vec<Permissions>,
    /// `/sys/…` lines in parse order.
    pub sysfs_permissions: Vec<SysfsPermissions>,
    /// `subsystem` sections (first of a name wins).
    pub subsystems: Vec<Subsystem>,
    /// `firmware_directories` entries, accumulated.
    pub firmware_directories: Vec<String>,
    /// `external_firmware_handler` lines (first of a devpath wins).
    pub external_firmware_handlers: Vec<ExternalFirmwareHandler>,
    /// `modalias_handling enabled|disabled` (last wins; default disabled).
    pub modalias_handling: bool,
    /// `uevent_socket_rcvbuf_size` (last wins).
    pub uevent_socket_rcvbuf_size: Option<usize>,
    /// `parallel_restorecon enabled|disabled` (parsed; we run restorecon nowhere).
    pub parallel_restorecon: bool,
    /// `parallel_restorecon_dir` entries (parsed; not acted upon).
    pub parallel_restorecon_dirs: Vec<String>,
    /// `import` targets in the order named. [`parse_config`] only records them;
    /// [`parse_config_files`] also parses them.
    pub imports: Vec<PathBuf>,
}

impl UeventdConfig {
    /// The last `/dev` line matching `path` or one of its `links` (AOSP searches the
    /// lines last-to-first so that later files override); `None` means the default
    /// `0600 root root`.
    pub fn device_permissions(&self, path: &str, links: &[String]) -> Option<&Permissions> {
        self.dev_permissions
            .iter()
            .rev()
            .find(|p| p.matches(path) || links.iter().any(|l| p.matches(l)))
    }

    /// The `subsystem` section for a SUBSYSTEM value.
    pub fn subsystem(&self, name: &str) -> Option<&Subsystem> {
        self.subsystems.iter().find(|s| s.name == name)
    }
}

/// Parses one ueventd.rc text. `origin` names it in errors. `import` lines are recorded
/// in [`UeventdConfig::imports`] but not followed (use [`parse_config_files`]).
pub fn parse_config(text: &str, origin: &str) -> (UeventdConfig, Vec<ConfigError>) {
    let mut config = UeventdConfig::default();
    let mut errors = Vec::new();
    parse_text(text, origin, &mut config, &mut errors);
    (config, errors)
}

/// Parses the files in order (AOSP: `/system/etc/ueventd.rc`, then vendor, odm) into one
/// configuration; each file's imports are parsed right after it, a directory import
/// parses the directory's regular files sorted by name (not recursively). Unreadable
/// files are reported and skipped.
pub fn parse_config_files(paths: &[PathBuf]) -> (UeventdConfig, Vec<ConfigError>) {
    let mut config = UeventdConfig::default();
    let mut errors = Vec::new();
    for path in paths {
        let mut stack = Vec::new();
        parse_path(path, &mut config, &mut errors, &mut stack);
    }
    (config, errors)
}

fn parse_path(
    path: &Path,
    config: &mut UeventdConfig,
    errors: &mut Vec<ConfigError>,
    stack: &mut Vec<PathBuf>,
) {
    if path.is_dir() {
        let mut files = Vec::new();
        match fs::read_dir(path) {
            Ok(entries) => {
                for entry in entries.flatten() {
                    if entry.file_type().is_ok_and(|t| t.is_file()) {
                        files.push(entry.path());
                    }
                }
            }
            Err(e) => errors.push(file_error(path, format!("cannot read directory: {e}"))),
        }
        files.sort();
        for file in files {
            parse_file(&file, config, errors, stack);
        }
    } else {
        parse_file(path, config, errors, stack);
    }
}

fn parse_file(
    path: &Path,
    config: &mut UeventdConfig,
    errors: &mut Vec<ConfigError>,
    stack: &mut Vec<PathBuf>,
) {
    let text = match read_config_file(path) {
        Ok(text) => text,
        Err(message) => {
            errors.push(file_error(path, message));
            return;
        }
    };
    let origin = path.display().to_string();
    let text = match String::from_utf8(text) {
        Ok(s) => s,
        Err(e) => {
            errors.push(file_error(
                path,
                "not valid UTF-8; invalid bytes were replaced".to_string(),
            ));
            String::from_utf8_lossy(e.as_bytes()).into_owned()
        }
    };
    let imports = parse_text(&text, &origin, config, errors);
    let key = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    stack.push(key);
    for (target, line) in imports {
        let target_key = fs::canonicalize(&target).unwrap_or_else(|_| target.clone());
        if stack.contains(&target_key) {
            errors.push(ConfigError {
                file: origin.clone(),
                line,
                message: format!("import cycle: {} is already being parsed", target.display()),
            });
        } else if stack.len() >= MAX_IMPORT_DEPTH {
            errors.push(ConfigError {
                file: origin.clone(),
                line,
                message: format!("imports nested deeper than {MAX_IMPORT_DEPTH}"),
            });
        } else if let Err(e) = fs::metadata(&target) {
            errors.push(ConfigError {
                file: origin.clone(),
                line,
                message: format!("cannot import {}: {e}", target.display()),
            });
        } else {
            parse_path(&target, config, errors, stack);
        }
    }
    stack.pop();
}

fn read_config_file(path: &Path) -> Result<Vec<u8>, String> {
    let file = fs::File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut data = Vec::new();
    file.take(MAX_CONFIG_FILE_BYTES + 1)
        .read_to_end(&mut data)
        .map_err(|e| format!("cannot read: {e}"))?;
    if data.len() as u64 > MAX_CONFIG_FILE_BYTES {
        return Err(format!("larger than {MAX_CONFIG_FILE_BYTES} bytes"));
    }
    Ok(data)
}

fn file_error(path: &Path, message: String) -> ConfigError {
    ConfigError {
        file: path.display().to_string(),
        line: 0,
        message,
    }
}

/// The section being parsed.
enum Section {
    None,
    Subsystem(Subsystem),
    Import,
    /// A section header was bad: its lines are skipped without further errors.
    Bad,
}

/// Parses `text` into `config`; returns the imports it names, with their lines.
fn parse_text(
    text: &str,
    origin: &str,
    config: &mut UeventdConfig,
    errors: &mut Vec<ConfigError>,
) -> Vec<(PathBuf, usize)> {
    let (lines, token_errors) = tokenize(text);
    for (line, message) in token_errors {
        errors.push(ConfigError {
            file: origin.to_string(),
            line,
            message,
        });
    }
    let mut section = Section::None;
    let mut imports = Vec::new();
    for Line { number, args } in lines {
        let mut err = |message: String| {
            errors.push(ConfigError {
                file: origin.to_string(),
                line: number,
                message,
            })
        };
        let Some(keyword) = args.first().map(String::as_str) else {
            continue;
        };
        let single = if keyword.starts_with("/sys/") {
            Some(parse_sysfs_line(&args, config))
        } else if keyword.starts_with("/dev/") {
            Some(parse_dev_line(&args, config))
        } else {
            match keyword {
                "firmware_directories" => Some(parse_firmware_directories(&args, config)),
                "external_firmware_handler" => Some(parse_external_handler(&args, config)),
                "modalias_handling" => {
                    Some(parse_enabled(&args).map(|v| config.modalias_handling = v))
                }
                "parallel_restorecon" => {
                    Some(parse_enabled(&args).map(|v| config.parallel_restorecon = v))
                }
                "uevent_socket_rcvbuf_size" => Some(parse_rcvbuf(&args, config)),
                "parallel_restorecon_dir" => Some(parse_restorecon_dir(&args, config)),
                _ => None,
            }
        };
        if let Some(result) = single {
            end_section(&mut section, config);
            if let Err(message) = result {
                err(message);
            }
            continue;
        }
        match keyword {
            "subsystem" => {
                end_section(&mut section, config);
                section = match start_subsystem(&args, config) {
                    Ok(sub) => Section::Subsystem(sub),
                    Err(message) => {
                        err(message);
                        Section::Bad
                    }
                };
            }
            "import" => {
                end_section(&mut section, config);
                if let [_, path] = args.as_slice() {
                    let target = PathBuf::from(path);
                    config.imports.push(target.clone());
                    imports.push((target, number));
                    section = Section::Import;
                } else {
                    err("import takes exactly one path".into());
                    section = Section::Bad;
                }
            }
            _ => match &mut section {
                Section::Subsystem(sub) => {
                    if let Err(message) = parse_subsystem_option(&args, sub) {
                        err(message);
                    }
                }
                Section::Import => err(format!("unexpected '{keyword}' after import")),
                Section::Bad => {}
                Section::None => err(format!("invalid section keyword '{keyword}'")),
            },
        }
    }
    end_section(&mut section, config);
    imports
}

fn end_section(section: &mut Section, config: &mut UeventdConfig) {
    if let Section::Subsystem(sub) = std::mem::replace(section, Section::None) {
        config.subsystems.push(sub);
    }
}

fn start_subsystem(args: &[String], config: &UeventdConfig) -> Result<Subsystem, String> {
    let [_, name] = args else {
        return Err("subsystem takes exactly one name".into());
    };
    if config.subsystem(name).is_some() {
        return Err(format!("ignoring duplicate subsystem entry '{name}'"));
    }
    Ok(Subsystem::new(name))
}

fn parse_subsystem_option(args: &[String], sub: &mut Subsystem) -> Result<(), String> {
    let keyword = args.first().map_or("", String::as_str);
    if !matches!(keyword, "devname" | "dirname") {
        return Err(format!("invalid keyword '{keyword}' in subsystem section"));
    }
    let [_, value] = args else {
        return Err(format!("{keyword} takes exactly one argument"));
    };
    let value = value.as_str();
    if keyword == "devname" {
        sub.devname = match value {
            "uevent_devname" => DevnameSource::UeventDevname,
            "uevent_devpath" => DevnameSource::UeventDevpath,
            "sys_name" => DevnameSource::SysName,
            _ => return Err(format!("invalid devname '{value}'")),
        };
        return Ok(());
    }
    if !value.starts_with('/') {
        return Err(format!("dirname '{value}' does not start with '/'"));
    }
    let under_dev = value == "/dev" || value.starts_with("/dev/");
    let clean = value
        .split('/')
        .skip(1)
        .all(|c| !c.is_empty() && c != "." && c != "..");
    if !under_dev || !clean {
        return Err(format!(
            "dirname '{value}' must be a normalised path under /dev"
        ));
    }
    sub.dirname = value.to_string();
    Ok(())
}

/// Octal mode, digits only, at most 07777.
fn parse_mode(s: &str) -> Result<u32, String> {
    let bad = || format!("invalid mode '{s}'");
    if s.is_empty() || !s.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return Err(bad());
    }
    match u32::from_str_radix(s, 8) {
        Ok(m) if m <= 0o7777 => Ok(m),
        _ => Err(bad()),
    }
}

fn parse_user(s: &str, what: &str) -> Result<u32, String> {
    resolve_id(s).ok_or_else(|| format!("invalid {what} '{s}'"))
}

/// Parses `<mode> <user> <group> [no_fnm_pathname]`.
fn parse_mode_owner(rest: &[String]) -> Result<(u32, u32, u32, bool), String> {
    let [mode, user, group, opt @ ..] = rest else {
        return Err("missing mode, user or group".into());
    };
    let mode = parse_mode(mode)?;
    let uid = parse_user(user, "uid")?;
    let gid = parse_user(group, "gid")?;
    let no_fnm_pathname = match opt {
        [] => false,
        [o] if o == "no_fnm_pathname" => true,
        [o] => {
            return Err(format!(
                "invalid option '{o}', only no_fnm_pathname is supported"
            ))
        }
        _ => return Err("too many arguments".into()),
    };
    Ok((mode, uid, gid, no_fnm_pathname))
}

fn parse_dev_line(args: &[String], config: &mut UeventdConfig) -> Result<(), String> {
    let (Some((name, rest)), 4..=5) = (args.split_first(), args.len()) else {
        return Err("/dev/ lines must have 4 or 5 entries".into());
    };
    let (mode, uid, gid, no_fnm) = parse_mode_owner(rest)?;
    config
        .dev_permissions
        .push(Permissions::new(name, mode, uid, gid, no_fnm));
    Ok(())
}

fn parse_sysfs_line(args: &[String], config: &mut UeventdConfig) -> Result<(), String> {
    let ([name, attribute, rest @ ..], 5..=6) = (args, args.len()) else {
        return Err("/sys/ lines must have 5 or 6 entries".into());
    };
    if attribute.is_empty() || attribute.starts_with('/') || attribute.split('/').any(|c| c == "..")
    {
        return Err(format!("invalid sysfs attribute '{attribute}'"));
    }
    let (mode, uid, gid, no_fnm) = parse_mode_owner(rest)?;
    config.sysfs_permissions.push(SysfsPermissions {
        pattern: PathPattern::new(name, no_fnm),
        attribute: attribute.clone(),
        mode,
        uid,
        gid,
    });
    Ok(())
}

fn parse_firmware_directories(args: &[String], config: &mut UeventdConfig) -> Result<(), String> {
    let [_, dirs @ ..] = args else {
        return Err("firmware_directories must have at least 1 entry".into());
    };
    if dirs.is_empty() {
        return Err("firmware_directories must have at least 1 entry".into());
    }
    config.firmware_directories.extend(dirs.iter().cloned());
    Ok(())
}

fn parse_external_handler(args: &[String], config: &mut UeventdConfig) -> Result<(), String> {
    let (devpath, user, group, handler) = match args {
        [_, devpath, user, handler] => (devpath, user, None, handler),
        [_, devpath, user, group, handler] => (devpath, user, Some(group), handler),
        _ => return Err("external_firmware_handler lines must have 3 or 4 parameters".into()),
    };
    if config
        .external_firmware_handlers
        .iter()
        .any(|h| h.devpath.as_str() == devpath)
    {
        return Err(format!(
            "found a previous external_firmware_handler with the same devpath, '{devpath}'"
        ));
    }
    let uid = parse_user(user, "handler uid")?;
    let gid = match group {
        Some(g) => parse_user(g, "handler gid")?,
        None => 0,
    };
    if handler.split(' ').all(str::is_empty) {
        return Err("external_firmware_handler has an empty program".into());
    }
    config
        .external_firmware_handlers
        .push(ExternalFirmwareHandler {
            devpath: PathPattern::new(devpath, true),
            uid,
            gid,
            handler: handler.clone(),
        });
    Ok(())
}

fn parse_enabled(args: &[String]) -> Result<bool, String> {
    let keyword = args.first().map_or("", String::as_str);
    let [_, value] = args else {
        return Err(format!("{keyword} lines take exactly one parameter"));
    };
    match value.as_str() {
        "enabled" => Ok(true),
        "disabled" => Ok(false),
        _ => Err(format!(
            "{keyword} takes either 'enabled' or 'disabled' as a parameter"
        )),
    }
}

fn parse_rcvbuf(args: &[String], config: &mut UeventdConfig) -> Result<(), String> {
    let [_, value] = args else {
        return Err("uevent_socket_rcvbuf_size lines take exactly one parameter".into());
    };
    let size = parse_byte_count(value)
        .ok_or_else(|| format!("could not parse size '{value}' for uevent_socket_rcvbuf_size"))?;
    config.uevent_socket_rcvbuf_size = Some(size);
    Ok(())
}

fn parse_restorecon_dir(args: &[String], config: &mut UeventdConfig) -> Result<(), String> {
    let [_, dir] = args else {
        return Err("parallel_restorecon_dir lines take exactly one parameter".into());
    };
    config.parallel_restorecon_dirs.push(dir.clone());
    Ok(())
}

/// android-base `ParseByteCount`: decimal (or `0x` hex) with an optional one-letter
/// binary suffix `b k m g t p e` (any case).
pub(crate) fn parse_byte_count(s: &str) -> Option<usize> {
    let (digits, radix) = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None => (s, 10),
    };
    let split = digits
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(digits.len());
    let (num, suffix) = digits.split_at(split);
    if num.is_empty() {
        return None;
    }
    let value = u64::from_str_radix(num, radix).ok()?;
    let shift = match suffix.to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        "p" => 50,
        "e" => 60,
        _ => return None,
    };
    let bytes = value.checked_mul(1u64 << shift)?;
    usize::try_from(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts() {
        assert_eq!(parse_byte_count("16M"), Some(16 << 20));
        assert_eq!(parse_byte_count("8k"), Some(8 << 10));
        assert_eq!(parse_byte_count("8K"), Some(8 << 10));
        assert_eq!(parse_byte_count("1234"), Some(1234));
        assert_eq!(parse_byte_count("0x10"), Some(16));
        assert_eq!(parse_byte_count("2g"), Some(2 << 30));
        assert_eq!(parse_byte_count("16E"), None);
        for bad in [
            "",
            "M",
            "8kk",
            "-1",
            "1.5M",
            " 1",
            "0x",
            "99999999999999999999",
        ] {
            assert_eq!(parse_byte_count(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn modes() {
        assert_eq!(parse_mode("0660"), Ok(0o660));
        assert_eq!(parse_mode("7777"), Ok(0o7777));
        assert!(parse_mode("0800").is_err());
        assert!(parse_mode("10000").is_err());
        assert!(parse_mode("").is_err());
        assert!(parse_mode("-1").is_err());
        assert!(parse_mode("0x1").is_err());
    }
}
