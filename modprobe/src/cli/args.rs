//! Hand-written argument parsing for the `modprobe` applet (no clap: this runs inside
//! the static guest PID 1), with `getopt_long` conventions: short flags may be bundled
//! (`-bv`), `-d DIR` / `-dDIR` / `--dirname=DIR` / `--dirname DIR`, options and operands
//! may be mixed, `--` ends the options. `-a` takes an optional argument only when attached
//! (`-aFILE`, `--all=FILE`), as with getopt's `a::`.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::PathBuf;

/// What the command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Load the named modules (default; `-a`).
    Load,
    /// Remove them (`-r`).
    Remove,
    /// List modules matching patterns (`-l`).
    List,
    /// Print dependencies (`-D`).
    ShowDepends,
}

/// Parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliArgs {
    /// The mode.
    pub mode: Mode,
    /// `-d` module directories, in order.
    pub dirs: Vec<PathBuf>,
    /// `-b`: apply `modules.blocklist`.
    pub blocklist: bool,
    /// `-n`: print what would be done, do nothing.
    pub dry_run: bool,
    /// `-v` count.
    pub verbose: u32,
    /// `-q`: only errors.
    pub quiet: bool,
    /// `-s`: also log to the kernel log.
    pub syslog: bool,
    /// `--all=FILE` lists, in order.
    pub all_files: Vec<PathBuf>,
    /// Module names (operands without `=`).
    pub modules: Vec<String>,
    /// Module parameters (operands with `=`).
    pub params: Vec<String>,
    /// `-j N`: worker threads for loading.
    pub jobs: usize,
    /// `-h`.
    pub help: bool,
}

impl Default for CliArgs {
    fn default() -> Self {
        CliArgs {
            mode: Mode::Load,
            dirs: Vec::new(),
            blocklist: false,
            dry_run: false,
            verbose: 0,
            quiet: false,
            syslog: false,
            all_files: Vec::new(),
            modules: Vec::new(),
            params: Vec::new(),
            jobs: 1,
            help: false,
        }
    }
}

/// A command line we cannot accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The help text.
pub const USAGE: &str = "\
Usage:
  modprobe [options] -d DIR [--all=FILE|MODULE]...
  modprobe [options] -d DIR MODULE [symbol=value]...

Options:
  -a, --all[=FILE]       load all MODULEs given (the default); with FILE, also load
                         the modules listed in FILE (one per line, # comments);
                         without -d, FILE's directory is the module directory
  -b, --use-blocklist    apply modules.blocklist: skip blocklisted modules and fail
                         modules that depend on one
  -d, --dirname=DIR      module directory (modules.dep, modules.alias, ...);
                         may be given several times
  -D, --show-depends     print soft pre-, hard and soft post-dependencies; load nothing
  -h, --help             print this help
  -j, --jobs=N           load on N threads; a module starts once its dependencies are
                         loaded (default 1)
  -l, --list             list modules matching the glob patterns given (default *)
  -n, --dry-run          print the load (or removal) plan, do nothing
  -q, --quiet            print errors only
  -r, --remove           remove MODULEs, then their unused dependencies
  -s, --syslog           also log to the kernel log (/dev/kmsg)
  -v, --verbose          print each module as it is handled
";

/// Parses `args` (without the program name).
pub fn parse_args(args: &[OsString]) -> Result<CliArgs, UsageError> {
    let mut out = CliArgs::default();
    let mut mode: Option<Mode> = None;
    let mut operands: Vec<String> = Vec::new();
    let mut i = 0;
    let next_value = |i: &mut usize, what: &str| -> Result<OsString, UsageError> {
        *i += 1;
        args.get(*i)
            .cloned()
            .ok_or_else(|| UsageError(format!("option {what} requires an argument")))
    };
    while let Some(arg) = args.get(i) {
        let Some(text) = arg.to_str() else {
            return Err(UsageError(format!(
                "argument {} is not valid UTF-8",
                arg.to_string_lossy()
            )));
        };
        if text == "--" {
            operands.extend(
                args.iter()
                    .skip(i + 1)
                    .map(|a| a.to_string_lossy().into_owned()),
            );
            break;
        }
        if let Some(long) = text.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (long, None),
            };
            let needs_value = |value: Option<String>, i: &mut usize| match value {
                Some(v) => Ok(OsString::from(v)),
                None => next_value(i, &format!("--{name}")),
            };
            match name {
                "all" => {
                    set_mode(&mut mode, Mode::Load, "--all")?;
                    if let Some(file) = value {
                        out.all_files.push(PathBuf::from(file));
                    }
                }
                "use-blocklist" => out.blocklist = no_value(name, value, true)?,
                "dirname" => out.dirs.push(PathBuf::from(needs_value(value, &mut i)?)),
                "show-depends" => set_flag_mode(&mut mode, Mode::ShowDepends, name, value)?,
                "help" => out.help = no_value(name, value, true)?,
                "jobs" => out.jobs = parse_jobs(&needs_value(value, &mut i)?)?,
                "list" => set_flag_mode(&mut mode, Mode::List, name, value)?,
                "dry-run" => out.dry_run = no_value(name, value, true)?,
                "quiet" => out.quiet = no_value(name, value, true)?,
                "remove" => set_flag_mode(&mut mode, Mode::Remove, name, value)?,
                "syslog" => out.syslog = no_value(name, value, true)?,
                "verbose" => {
                    no_value(name, value, true)?;
                    out.verbose = out.verbose.saturating_add(1);
                }
                _ => return Err(UsageError(format!("unrecognized option --{name}"))),
            }
            i += 1;
            continue;
        }
        let Some(shorts) = text.strip_prefix('-').filter(|s| !s.is_empty()) else {
            operands.push(text.to_owned());
            i += 1;
            continue;
        };
        for (pos, flag) in shorts.char_indices() {
            let attached = shorts.get(pos + flag.len_utf8()..).unwrap_or_default();
            match flag {
                'a' => {
                    set_mode(&mut mode, Mode::Load, "-a")?;
                    if !attached.is_empty() {
                        out.all_files.push(PathBuf::from(attached));
                        break;
                    }
                }
                'b' => out.blocklist = true,
                'd' | 'j' => {
                    let value = if attached.is_empty() {
                        next_value(&mut i, &format!("-{flag}"))?
                    } else {
                        OsString::from(attached)
                    };
                    if flag == 'd' {
                        out.dirs.push(PathBuf::from(value));
                    } else {
                        out.jobs = parse_jobs(&value)?;
                    }
                    break;
                }
                'D' => set_mode(&mut mode, Mode::ShowDepends, "-D")?,
                'h' => out.help = true,
                'l' => set_mode(&mut mode, Mode::List, "-l")?,
                'n' => out.dry_run = true,
                'q' => out.quiet = true,
                'r' => set_mode(&mut mode, Mode::Remove, "-r")?,
                's' => out.syslog = true,
                'v' => out.verbose = out.verbose.saturating_add(1),
                other => return Err(UsageError(format!("unrecognized option -{other}"))),
            }
        }
        i += 1;
    }
    out.mode = mode.unwrap_or(Mode::Load);
    for operand in operands {
        if operand.contains('=') {
            out.params.push(operand);
        } else {
            out.modules.push(operand);
        }
    }
    Ok(out)
}

/// AOSP's `check_mode()`: any mode flag after a mode other than the default is an error.
fn set_mode(mode: &mut Option<Mode>, new: Mode, flag: &str) -> Result<(), UsageError> {
    match *mode {
        Some(current) if current != Mode::Load => Err(UsageError(format!(
            "multiple mode flags specified ({flag})"
        ))),
        _ => {
            *mode = Some(new);
            Ok(())
        }
    }
}

fn set_flag_mode(
    mode: &mut Option<Mode>,
    new: Mode,
    name: &str,
    value: Option<String>,
) -> Result<(), UsageError> {
    no_value(name, value, ())?;
    set_mode(mode, new, &format!("--{name}"))
}

fn no_value<T>(name: &str, value: Option<String>, result: T) -> Result<T, UsageError> {
    match value {
        None => Ok(result),
        Some(_) => Err(UsageError(format!("option --{name} takes no argument"))),
    }
}

fn parse_jobs(value: &OsStr) -> Result<usize, UsageError> {
    value
        .to_str()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| (1..=256).contains(&n))
        .ok_or_else(|| {
            UsageError(format!(
                "invalid job count {:?} (expected 1..=256)",
                value.to_string_lossy()
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<CliArgs, UsageError> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        parse_args(&args)
    }

    #[test]
    fn defaults() {
        let a = parse(&["foo"]).unwrap();
        assert_eq!(a.mode, Mode::Load);
        assert_eq!(a.modules, vec!["foo"]);
        assert_eq!(a.jobs, 1);
        assert!(!a.blocklist && !a.dry_run && !a.syslog && !a.quiet && !a.help);
    }

    #[test]
    fn directories_in_every_spelling() {
        let a = parse(&["-d", "/a", "-d/b", "--dirname=/c", "--dirname", "/d", "m"]).unwrap();
        assert_eq!(
            a.dirs,
            vec![
                PathBuf::from("/a"),
                PathBuf::from("/b"),
                PathBuf::from("/c"),
                PathBuf::from("/d")
            ]
        );
    }

    #[test]
    fn bundled_flags_and_permutation() {
        let a = parse(&["m1", "-bvsn", "m2", "-v", "-d", "/x", "p=1", "q=\"a b\""]).unwrap();
        assert!(a.blocklist && a.syslog && a.dry_run);
        assert_eq!(a.verbose, 2);
        assert_eq!(a.modules, vec!["m1", "m2"]);
        assert_eq!(a.params, vec!["p=1", "q=\"a b\""]);
        let a = parse(&["-bd/x", "m"]).unwrap();
        assert!(a.blocklist);
        assert_eq!(a.dirs, vec![PathBuf::from("/x")]);
    }

    #[test]
    fn modes() {
        assert_eq!(parse(&["-r", "m"]).unwrap().mode, Mode::Remove);
        assert_eq!(parse(&["--remove", "m"]).unwrap().mode, Mode::Remove);
        assert_eq!(parse(&["-l"]).unwrap().mode, Mode::List);
        assert_eq!(parse(&["--list"]).unwrap().mode, Mode::List);
        assert_eq!(parse(&["-D", "m"]).unwrap().mode, Mode::ShowDepends);
        assert_eq!(
            parse(&["--show-depends", "m"]).unwrap().mode,
            Mode::ShowDepends
        );
        assert_eq!(parse(&["-a", "m", "n"]).unwrap().mode, Mode::Load);
        assert_eq!(parse(&["-a", "-a", "m"]).unwrap().mode, Mode::Load);
        assert_eq!(parse(&["-a", "-r", "m"]).unwrap().mode, Mode::Remove);
        assert!(parse(&["-r", "-l"])
            .unwrap_err()
            .0
            .contains("multiple mode flags"));
        assert!(parse(&["-D", "-a"])
            .unwrap_err()
            .0
            .contains("multiple mode flags"));
        assert!(parse(&["-lr"]).is_err());
    }

    #[test]
    fn all_files() {
        let a = parse(&["--all=/lib/modules/modules.load", "-a/x.load", "m"]).unwrap();
        assert_eq!(
            a.all_files,
            vec![
                PathBuf::from("/lib/modules/modules.load"),
                PathBuf::from("/x.load")
            ]
        );
        // `--all FILE`: FILE is an operand (getopt optional arguments must be attached).
        let a = parse(&["--all", "f"]).unwrap();
        assert!(a.all_files.is_empty());
        assert_eq!(a.modules, vec!["f"]);
    }

    #[test]
    fn jobs() {
        assert_eq!(parse(&["-j", "4", "m"]).unwrap().jobs, 4);
        assert_eq!(parse(&["-j8", "m"]).unwrap().jobs, 8);
        assert_eq!(parse(&["--jobs=2", "m"]).unwrap().jobs, 2);
        assert!(parse(&["-j", "0"]).is_err());
        assert!(parse(&["-j", "x"]).is_err());
        assert!(parse(&["--jobs=1000"]).is_err());
    }

    #[test]
    fn double_dash_ends_options() {
        let a = parse(&["-d", "/x", "--", "-r", "p=1"]).unwrap();
        assert_eq!(a.mode, Mode::Load);
        assert_eq!(a.modules, vec!["-r"]);
        assert_eq!(a.params, vec!["p=1"]);
    }

    #[test]
    fn errors() {
        assert_eq!(parse(&["-x"]).unwrap_err().0, "unrecognized option -x");
        assert_eq!(
            parse(&["--bogus"]).unwrap_err().0,
            "unrecognized option --bogus"
        );
        assert_eq!(
            parse(&["-d"]).unwrap_err().0,
            "option -d requires an argument"
        );
        assert_eq!(
            parse(&["--dirname"]).unwrap_err().0,
            "option --dirname requires an argument"
        );
        assert_eq!(
            parse(&["--remove=x"]).unwrap_err().0,
            "option --remove takes no argument"
        );
        assert_eq!(
            parse(&["--help=1"]).unwrap_err().0,
            "option --help takes no argument"
        );
        assert!(parse(&["-h"]).unwrap().help);
        assert!(parse(&["--help"]).unwrap().help);
    }

    #[test]
    fn non_utf8_is_rejected() {
        use std::os::unix::ffi::OsStringExt;
        let args = vec![OsString::from_vec(vec![0xff, 0xfe])];
        assert!(parse_args(&args).unwrap_err().0.contains("not valid UTF-8"));
    }

    #[test]
    fn lone_dash_is_an_operand() {
        assert_eq!(parse(&["-"]).unwrap().modules, vec!["-"]);
    }
}
