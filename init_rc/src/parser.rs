//! The rc parser: `on`, `service` and `import` sections over the tokenizer's lines, the
//! file order of AOSP (`parser.cpp`: `/system/etc/init/hw/init.rc` and its imports, then
//! every regular file of each init directory, sorted, imports of each file parsed right
//! after it), and diagnostics with `file:line`.
//!
//! Files are read as AOSP's `util.cpp` `ReadFile` does: a symbolic link, or a file that
//! is group- or world-writable, is refused with a line (`init: cannot read <path>: …`).
//!
//! Errors never stop parsing: a syntax error skips its line (a bad section header skips
//! its section), an unsupported command or option is reported and skipped. An action
//! with no commands is dropped; a second service with the same name is an error and the
//! first one wins, unless the second says `override`: then the first is removed and the
//! second added at the end (AOSP `ServiceParser::EndSection`).

use std::collections::BTreeSet;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::command::{parse_command, Command, CommandError, UNSUPPORTED};
use crate::expand::expand;
use crate::property::PropertyStore;
use crate::service::{OptionError, ServiceDef, UNSUPPORTED_OPTIONS};
use crate::tokenizer::tokenize;
use crate::trigger::Trigger;

/// Largest rc file read (**Ours**).
pub const MAX_RC_FILE: u64 = 4 << 20;
/// Deepest import nesting followed (**Ours**; AOSP has no bound).
pub const MAX_IMPORT_DEPTH: usize = 16;
/// Most rc files parsed in one boot (**Ours**).
pub const MAX_RC_FILES: usize = 1024;

/// Kind of a diagnostic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiagKind {
    /// Malformed input: the line (or section) is skipped. Fails the verifier.
    Syntax,
    /// A command or option we do not implement: skipped. Does not fail the verifier.
    Unsupported,
}

/// A problem found while parsing, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Syntax error or unsupported keyword.
    pub kind: DiagKind,
    /// File name as given.
    pub file: String,
    /// Line number (1-based).
    pub line: u32,
    /// For `Unsupported`: the keyword; for `Syntax`: the message.
    pub message: String,
    /// For `Unsupported`: `command` or `option`.
    pub what: &'static str,
}

impl fmt::Display for Diagnostic {
    /// The stable log form: `unsupported command 'x' at f:l` or `syntax error at f:l: m`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            DiagKind::Unsupported => write!(
                f,
                "unsupported {} '{}' at {}:{}",
                self.what, self.message, self.file, self.line
            ),
            DiagKind::Syntax => write!(
                f,
                "syntax error at {}:{}: {}",
                self.file, self.line, self.message
            ),
        }
    }
}

/// An action: a trigger and its commands, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// The trigger.
    pub trigger: Trigger,
    /// Commands in order.
    pub commands: Vec<Command>,
    /// Defining file.
    pub file: String,
    /// Line of the `on` keyword.
    pub line: u32,
}

/// Everything parsed: actions in parse order, services, and diagnostics.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Actions in parse order.
    pub actions: Vec<Action>,
    /// Services in definition order.
    pub services: Vec<ServiceDef>,
    /// Every syntax error and unsupported keyword.
    pub diagnostics: Vec<Diagnostic>,
    /// Files parsed, in order.
    pub files: Vec<String>,
}

impl Config {
    /// Number of syntax errors.
    pub fn syntax_errors(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.kind == DiagKind::Syntax)
            .count()
    }
}

enum Section {
    None,
    Bad,
    Action(Action),
    Service(Box<ServiceDef>),
    Import,
}

/// Parses rc files into one [`Config`]; imports are expanded with `props`.
pub struct Parser<'a> {
    props: &'a PropertyStore,
    follow_imports: bool,
    config: Config,
    seen: BTreeSet<PathBuf>,
}

impl<'a> Parser<'a> {
    /// A parser that follows imports (the guest's mode).
    pub fn new(props: &'a PropertyStore) -> Parser<'a> {
        Parser {
            props,
            follow_imports: true,
            config: Config::default(),
            seen: BTreeSet::new(),
        }
    }

    /// A parser that records imports without following them (the host verifier: import
    /// paths name guest files).
    pub fn without_imports(props: &'a PropertyStore) -> Parser<'a> {
        Parser {
            follow_imports: false,
            ..Parser::new(props)
        }
    }

    /// The result.
    pub fn finish(self) -> Config {
        self.config
    }

    /// Parses `path` and then (recursively) its imports. Returns false if it could not be
    /// read.
    pub fn parse_file(&mut self, path: &Path) -> bool {
        self.parse_file_at_depth(path, 0)
    }

    /// Parses every regular file of `dir` in sorted order (each followed by its imports),
    /// as AOSP's `ParseConfigDir`. A missing directory is not an error.
    pub fn parse_dir(&mut self, dir: &Path) {
        for f in config_files(dir) {
            self.parse_file(&f);
        }
    }

    fn parse_file_at_depth(&mut self, path: &Path, depth: usize) -> bool {
        if self.config.files.len() >= MAX_RC_FILES {
            log::error!(
                "init: not parsing {}: more than {MAX_RC_FILES} rc files",
                path.display()
            );
            return false;
        }
        if !self.seen.insert(path.to_path_buf()) {
            log::warn!(
                "init: {} already parsed, not parsing it again",
                path.display()
            );
            return true;
        }
        let data = match read_rc(path) {
            Ok(d) => d,
            Err(e) => {
                log::error!("init: cannot read {}: {e}", path.display());
                return false;
            }
        };
        let name = path.display().to_string();
        let imports = self.parse_data(&name, &data);
        for (line, target) in imports {
            if depth + 1 > MAX_IMPORT_DEPTH {
                self.syntax(
                    &name,
                    line,
                    format!("imports nested deeper than {MAX_IMPORT_DEPTH}"),
                );
                continue;
            }
            let p = PathBuf::from(&target);
            if p.is_dir() {
                for f in config_files(&p) {
                    self.parse_file_at_depth(&f, depth + 1);
                }
            } else if !self.parse_file_at_depth(&p, depth + 1) {
                log::error!("init: could not import '{target}' at {name}:{line}");
            }
        }
        true
    }

    /// Parses one file's contents; returns its imports `(line, expanded path)` (already
    /// followed or not, depending on the mode).
    pub fn parse_data(&mut self, file: &str, data: &[u8]) -> Vec<(u32, String)> {
        self.config.files.push(file.to_string());
        let first_diag = self.config.diagnostics.len();
        let (lines, errors) = tokenize(data);
        for e in errors {
            self.syntax(file, e.line, e.message);
        }
        let mut imports = Vec::new();
        let mut section = Section::None;
        for l in lines {
            let kw = l.args[0].as_str();
            if matches!(kw, "on" | "service" | "import") {
                self.end_section(std::mem::replace(&mut section, Section::None));
                section = match kw {
                    "on" => match Trigger::parse(&l.args[1..]) {
                        Ok(trigger) => Section::Action(Action {
                            trigger,
                            commands: Vec::new(),
                            file: file.to_string(),
                            line: l.line,
                        }),
                        Err(m) => {
                            self.syntax(file, l.line, m);
                            Section::Bad
                        }
                    },
                    "service" => match ServiceDef::new(&l.args, file, l.line) {
                        Ok(s) => Section::Service(Box::new(s)),
                        Err(m) => {
                            self.syntax(file, l.line, m);
                            Section::Bad
                        }
                    },
                    _ => {
                        if l.args.len() != 2 {
                            self.syntax(file, l.line, "single argument needed for import".into());
                        } else if !self.follow_imports {
                            // The verifier has no guest properties: record, do not expand.
                            imports.push((l.line, l.args[1].clone()));
                        } else {
                            match expand(&l.args[1], &|n| self.props.get(n).map(String::from)) {
                                Ok(p) => imports.push((l.line, p)),
                                Err(e) => self.syntax(
                                    file,
                                    l.line,
                                    format!("could not expand import: {e}"),
                                ),
                            }
                        }
                        Section::Import
                    }
                };
                continue;
            }
            match &mut section {
                Section::Action(a) => match parse_command(l.args, l.line) {
                    Ok(c) => a.commands.push(c),
                    Err(CommandError::Unsupported(k)) => {
                        self.unsupported(file, l.line, "command", k)
                    }
                    Err(CommandError::Syntax(m)) => self.syntax(file, l.line, m),
                },
                Section::Service(s) => match s
                    .apply_option(l.args, l.line, &|n| self.props.get(n).map(String::from))
                {
                    Ok(()) => {}
                    Err(OptionError::Unsupported(k)) => self.unsupported(file, l.line, "option", k),
                    Err(OptionError::Syntax(m)) => self.syntax(file, l.line, m),
                },
                Section::Import => self.syntax(file, l.line, "unexpected line after import".into()),
                Section::None => {
                    self.syntax(file, l.line, format!("invalid section keyword '{kw}'"))
                }
                Section::Bad => {}
            }
        }
        self.end_section(section);
        if let Some(d) = self.config.diagnostics.get_mut(first_diag..) {
            d.sort_by_key(|d| d.line);
        }
        if self.follow_imports {
            imports
        } else {
            Vec::new()
        }
    }

    fn end_section(&mut self, section: Section) {
        match section {
            Section::Action(a) if !a.commands.is_empty() => self.config.actions.push(a),
            Section::Service(s) => {
                let s = *s;
                if let Err(m) = s.finish() {
                    self.syntax(&s.file.clone(), s.line, m);
                    return;
                }
                match self.config.services.iter().position(|o| o.name == s.name) {
                    Some(i) if s.overrides => {
                        self.config.services.remove(i);
                        self.config.services.push(s);
                    }
                    Some(_) => self.syntax(
                        &s.file.clone(),
                        s.line,
                        format!("ignored duplicate definition of service '{}'", s.name),
                    ),
                    None => self.config.services.push(s),
                }
            }
            _ => {}
        }
    }

    fn syntax(&mut self, file: &str, line: u32, message: String) {
        self.config.diagnostics.push(Diagnostic {
            kind: DiagKind::Syntax,
            file: file.to_string(),
            line,
            message,
            what: "",
        });
    }

    fn unsupported(&mut self, file: &str, line: u32, what: &'static str, kw: String) {
        self.config.diagnostics.push(Diagnostic {
            kind: DiagKind::Unsupported,
            file: file.to_string(),
            line,
            message: kw,
            what,
        });
    }
}

/// True if `kw` is an AOSP builtin or service option we know but do not implement.
pub fn is_known_unsupported(kw: &str) -> bool {
    UNSUPPORTED.contains(&kw) || UNSUPPORTED_OPTIONS.contains(&kw)
}

/// AOSP `ReadFile`: no symbolic links, nothing group- or world-writable.
fn read_rc(path: &Path) -> Result<Vec<u8>, std::io::Error> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                std::io::Error::other("refusing a symbolic link")
            } else {
                e
            }
        })?;
    let mode = f.metadata()?.permissions().mode();
    if mode & 0o022 != 0 {
        return Err(std::io::Error::other(format!(
            "refusing a group- or world-writable file (mode {:04o})",
            mode & 0o7777
        )));
    }
    let mut data = Vec::new();
    f.take(MAX_RC_FILE + 1).read_to_end(&mut data)?;
    if data.len() as u64 > MAX_RC_FILE {
        return Err(std::io::Error::other(format!(
            "larger than {MAX_RC_FILE} bytes"
        )));
    }
    Ok(data)
}

/// The regular files of `dir`, sorted (AOSP `ParseConfigDir`: `DT_REG` entries only).
/// Symbolic links are skipped with a line.
fn config_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files = Vec::new();
    for e in rd.filter_map(Result::ok) {
        match e.file_type() {
            Ok(t) if t.is_file() => files.push(e.path()),
            Ok(t) if t.is_symlink() => log::error!(
                "init: cannot read {}: refusing a symbolic link",
                e.path().display()
            ),
            _ => {}
        }
    }
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Builtin;

    fn parse(s: &str) -> Config {
        let props = PropertyStore::new();
        let mut p = Parser::new(&props);
        p.parse_data("t.rc", s.as_bytes());
        p.finish()
    }

    #[test]
    fn sections() {
        let c = parse(
            "import /x.rc\n\
             on early-init\n    start ueventd\n\n\
             on boot && property:a=1\n  setprop b 2\n  mount_all /fstab\n\
             on empty\n\
             service ueventd /system/bin/ueventd\n  class core\n  critical\n",
        );
        assert_eq!(c.actions.len(), 2, "empty action dropped");
        assert_eq!(c.actions[0].line, 2);
        assert_eq!(c.actions[0].commands[0].builtin, Builtin::Start);
        assert_eq!(c.actions[1].commands.len(), 1);
        assert_eq!(c.services.len(), 1);
        assert_eq!(c.syntax_errors(), 0);
        let d = &c.diagnostics[0];
        assert_eq!(d.to_string(), "unsupported command 'mount_all' at t.rc:7");
    }

    #[test]
    fn errors_have_places_and_skip() {
        let c = parse(
            "setprop a 1\n\
             on\n  setprop x 1\n\
             on boot\n  setprop onlyone\n  setprop ok 1\n\
             service s\n  class c\n\
             service a /bin/a\n  user nobodyknows\n  frob\n\
             service a /bin/other\n\
             import\n\
             import /a.rc\n  setprop z 1\n\
             on x\n bad \"quote\n",
        );
        let msgs: Vec<String> = c.diagnostics.iter().map(|d| d.to_string()).collect();
        let expect_lines = [1, 2, 5, 7, 10, 11, 12, 13, 15, 17];
        assert_eq!(
            c.diagnostics.iter().map(|d| d.line).collect::<Vec<_>>(),
            expect_lines,
            "{msgs:#?}"
        );
        assert_eq!(c.actions.len(), 1);
        assert_eq!(c.actions[0].commands.len(), 1);
        assert_eq!(c.services.len(), 1);
        assert_eq!(c.services[0].args, vec!["/bin/a"]);
        assert!(msgs[8].contains("unexpected line after import"));
        assert!(msgs
            .iter()
            .any(|m| m.contains("duplicate definition of service 'a'")));
        assert_eq!(c.diagnostics[5].kind, DiagKind::Unsupported);
    }

    #[test]
    fn override_replaces_and_moves_to_the_end() {
        let c = parse(
            "service a /bin/a\nservice z /bin/z\nservice a /bin/b\n  override\nservice n /bin/n\n  override\n",
        );
        let names: Vec<(&str, &str)> = c
            .services
            .iter()
            .map(|s| (s.name.as_str(), s.args[0].as_str()))
            .collect();
        assert_eq!(names, [("z", "/bin/z"), ("a", "/bin/b"), ("n", "/bin/n")]);
        assert_eq!(c.syntax_errors(), 0);
    }

    #[test]
    fn critical_oneshot_is_refused() {
        let c = parse("service a /bin/a\n  critical\n  oneshot\nservice b /bin/b\n");
        assert_eq!(c.services.len(), 1);
        assert_eq!(
            c.diagnostics[0].to_string(),
            "syntax error at t.rc:1: service 'a' can't be both critical and oneshot"
        );
    }

    #[test]
    fn symlinks_and_writable_files_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("init");
        std::fs::create_dir(&dir).unwrap();
        let rc = "on early-init\n  setprop a 1\n";
        std::fs::write(dir.join("a.rc"), rc).unwrap();
        std::fs::write(dir.join("b.rc"), rc).unwrap();
        std::fs::set_permissions(dir.join("b.rc"), std::fs::Permissions::from_mode(0o664)).unwrap();
        std::fs::write(dir.join("c.rc"), rc).unwrap();
        std::fs::set_permissions(dir.join("c.rc"), std::fs::Permissions::from_mode(0o646)).unwrap();
        std::os::unix::fs::symlink(dir.join("a.rc"), dir.join("d.rc")).unwrap();
        let props = PropertyStore::new();
        let mut p = Parser::new(&props);
        p.parse_dir(&dir);
        assert!(!p.parse_file(&dir.join("d.rc")), "a symlink named directly");
        let err = read_rc(&dir.join("d.rc")).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
        let err = read_rc(&dir.join("b.rc")).unwrap_err().to_string();
        assert!(err.contains("mode 0664"), "{err}");
        let c = p.finish();
        assert_eq!(c.files.len(), 1, "{:?}", c.files);
        assert!(c.files[0].ends_with("a.rc"));
    }

    #[test]
    fn imports_order_and_expansion() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::write(
            root.join("init.rc"),
            format!(
                "import {0}/init.${{ro.hardware}}.rc\nimport {0}/dir\non early-init\n  setprop from main\n",
                root.display()
            ),
        )
        .unwrap();
        std::fs::write(
            root.join("init.virt.rc"),
            "on early-init\n  setprop from hw\n",
        )
        .unwrap();
        std::fs::create_dir(root.join("dir")).unwrap();
        std::fs::write(root.join("dir/b.rc"), "on early-init\n  setprop from b\n").unwrap();
        std::fs::write(root.join("dir/a.txt"), "on early-init\n  setprop from a\n").unwrap();
        std::fs::create_dir(root.join("dir/sub")).unwrap();
        std::fs::write(
            root.join("dir/sub/c.rc"),
            "on early-init\n  setprop from c\n",
        )
        .unwrap();
        std::fs::create_dir(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/z.rc"), "on early-init\n  setprop from z\n").unwrap();
        std::fs::write(root.join("etc/y.rc"), "on early-init\n  setprop from y\n").unwrap();
        std::fs::write(root.join("etc/x.conf"), "on early-init\n  setprop from x\n").unwrap();
        let mut props = PropertyStore::new();
        props.set("ro.hardware", "virt").unwrap();
        let mut p = Parser::new(&props);
        assert!(p.parse_file(&root.join("init.rc")));
        p.parse_dir(&root.join("etc"));
        p.parse_dir(&root.join("missing"));
        assert!(!p.parse_file(&root.join("missing.rc")));
        let c = p.finish();
        let order: Vec<&str> = c
            .actions
            .iter()
            .map(|a| a.commands[0].args[2].as_str())
            .collect();
        // Imports are parsed after the file naming them; a directory (imported or an init
        // directory) gives every regular file (not only *.rc), sorted, not recursively.
        assert_eq!(order, vec!["main", "hw", "a", "b", "x", "y", "z"]);
    }

    #[test]
    fn import_loops_terminate() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a.rc");
        let b = d.path().join("b.rc");
        std::fs::write(&a, format!("import {}\non x\n  setprop a 1\n", b.display())).unwrap();
        std::fs::write(&b, format!("import {}\non x\n  setprop b 1\n", a.display())).unwrap();
        let props = PropertyStore::new();
        let mut p = Parser::new(&props);
        p.parse_file(&a);
        assert_eq!(p.finish().actions.len(), 2);
    }

    #[test]
    fn import_expansion_failure_is_syntax() {
        let c = parse("import /init.${ro.nothing}.rc\n");
        assert_eq!(c.syntax_errors(), 1);
    }
}
