//! Action commands: the keyword table (which builtins we run, which AOSP builtins we only
//! recognise), and parse-time checks of argument counts. Arguments are kept as written;
//! `${…}` is expanded when the command runs, as in AOSP.

/// The builtins this interpreter executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Builtin {
    /// `chmod <octal-mode> <path>`
    Chmod,
    /// `chown <owner> [<group>] <path>`
    Chown,
    /// `class_reset <class>`: stop without disabling.
    ClassReset,
    /// `class_restart <class>`
    ClassRestart,
    /// `class_start <class>`
    ClassStart,
    /// `class_stop <class>`: stop and disable.
    ClassStop,
    /// `copy <src> <dst>`
    Copy,
    /// `domainname <name>`
    Domainname,
    /// `enable <service>`
    Enable,
    /// `exec [seclabel [user [group…]]] -- cmd…` (waits).
    Exec,
    /// `exec_background …` (does not wait).
    ExecBackground,
    /// `exec_start <service>` (waits).
    ExecStart,
    /// `export <name> <value>`
    Export,
    /// `hostname <name>`
    Hostname,
    /// `insmod [-f] <path> [<options>…]`
    Insmod,
    /// `loglevel <level>`
    Loglevel,
    /// `mark_post_data`: accepted, logged once as not applicable (no userdata to track).
    MarkPostData,
    /// `mkdir <path> [mode [owner [group]]]`
    Mkdir,
    /// `mount <type> <device> <dir> [flag…] [options]`
    Mount,
    /// `perform_apex_config [--bootstrap]`: accepted, logged once as not applicable (no
    /// APEXes).
    PerformApexConfig,
    /// `restart [--only-if-running] <service>`
    Restart,
    /// `restorecon [--recursive] <path>…`
    Restorecon,
    /// `restorecon_recursive <path>…`
    RestoreconRecursive,
    /// `rm <path>`
    Rm,
    /// `rmdir <path>`
    Rmdir,
    /// `setprop <name> <value>`
    Setprop,
    /// `setrlimit <resource> <cur> <max>`
    Setrlimit,
    /// `start <service>`
    Start,
    /// `stop <service>`
    Stop,
    /// `symlink <target> <path>`
    Symlink,
    /// `trigger <event>`
    Trigger,
    /// `umount <path>`
    Umount,
    /// `wait <path> [<timeout seconds>]`
    Wait,
    /// `wait_for_prop <name> <value>`
    WaitForProp,
    /// `write <path> <content>`
    Write,
}

/// Unbounded argument count.
const MANY: usize = usize::MAX;

/// `(keyword, builtin, min args, max args)`; counts exclude the keyword.
const TABLE: &[(&str, Builtin, usize, usize)] = &[
    ("chmod", Builtin::Chmod, 2, 2),
    ("chown", Builtin::Chown, 2, 3),
    ("class_reset", Builtin::ClassReset, 1, 1),
    ("class_restart", Builtin::ClassRestart, 1, 2),
    ("class_start", Builtin::ClassStart, 1, 1),
    ("class_stop", Builtin::ClassStop, 1, 1),
    ("copy", Builtin::Copy, 2, 2),
    ("domainname", Builtin::Domainname, 1, 1),
    ("enable", Builtin::Enable, 1, 1),
    ("exec", Builtin::Exec, 1, MANY),
    ("exec_background", Builtin::ExecBackground, 1, MANY),
    ("exec_start", Builtin::ExecStart, 1, 1),
    ("export", Builtin::Export, 2, 2),
    ("hostname", Builtin::Hostname, 1, 1),
    ("insmod", Builtin::Insmod, 1, MANY),
    ("loglevel", Builtin::Loglevel, 1, 1),
    ("mark_post_data", Builtin::MarkPostData, 0, 0),
    ("mkdir", Builtin::Mkdir, 1, 6),
    ("mount", Builtin::Mount, 3, MANY),
    ("perform_apex_config", Builtin::PerformApexConfig, 0, 1),
    ("restart", Builtin::Restart, 1, 2),
    ("restorecon", Builtin::Restorecon, 1, MANY),
    (
        "restorecon_recursive",
        Builtin::RestoreconRecursive,
        1,
        MANY,
    ),
    ("rm", Builtin::Rm, 1, 1),
    ("rmdir", Builtin::Rmdir, 1, 1),
    ("setprop", Builtin::Setprop, 2, 2),
    ("setrlimit", Builtin::Setrlimit, 3, 3),
    ("start", Builtin::Start, 1, 1),
    ("stop", Builtin::Stop, 1, 1),
    ("symlink", Builtin::Symlink, 2, 2),
    ("trigger", Builtin::Trigger, 1, 1),
    ("umount", Builtin::Umount, 1, 1),
    ("wait", Builtin::Wait, 1, 2),
    ("wait_for_prop", Builtin::WaitForProp, 2, 2),
    ("write", Builtin::Write, 2, 2),
];

/// AOSP builtins we recognise but do not run: reported as unsupported and skipped.
pub const UNSUPPORTED: &[&str] = &[
    "bootchart",
    "class_reset_post_data",
    "class_start_post_data",
    "copy_per_line",
    "enter_default_mount_ns",
    "ifup",
    "init_user0",
    "installkey",
    "interface_restart",
    "interface_start",
    "interface_stop",
    "load_exports",
    "load_persist_props",
    "load_system_props",
    "mkswap",
    "mount_all",
    "parse_apex_configs",
    "readahead",
    "remount_userdata",
    "swapon_all",
    "sysclktz",
    "umount_all",
    "update_linker_config",
    "verity_update_state",
];

/// The `(min, max)` argument counts of `builtin` (keyword excluded).
pub fn arity(builtin: Builtin) -> (usize, usize) {
    TABLE
        .iter()
        .find(|(_, b, ..)| *b == builtin)
        .map_or((0, MANY), |&(_, _, min, max)| (min, max))
}

/// One command of an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// Which builtin.
    pub builtin: Builtin,
    /// All tokens, `args[0]` is the keyword; unexpanded.
    pub args: Vec<String>,
    /// Line in the file that defines the action.
    pub line: u32,
}

/// Why a command line was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// Not a builtin we run (AOSP-only or unknown); the keyword.
    Unsupported(String),
    /// Wrong arguments; the message.
    Syntax(String),
}

/// Parses one command line (`args[0]` is the keyword).
pub fn parse_command(args: Vec<String>, line: u32) -> Result<Command, CommandError> {
    let Some(kw) = args.first() else {
        return Err(CommandError::Syntax("empty command".into()));
    };
    let Some(&(_, builtin, min, max)) = TABLE.iter().find(|(k, ..)| k == kw) else {
        return Err(CommandError::Unsupported(kw.clone()));
    };
    let n = args.len() - 1;
    if n < min || n > max {
        let want = if min == max {
            format!("{min}")
        } else if max == MANY {
            format!("at least {min}")
        } else {
            format!("{min} to {max}")
        };
        return Err(CommandError::Syntax(format!(
            "'{kw}' takes {want} argument(s), got {n}"
        )));
    }
    if matches!(builtin, Builtin::Exec | Builtin::ExecBackground) {
        if let Some(i) = args.iter().position(|a| a == "--") {
            if i + 1 >= args.len() {
                return Err(CommandError::Syntax(format!(
                    "'{kw}' needs a command after --"
                )));
            }
        }
    }
    Ok(Command {
        builtin,
        args,
        line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Command, CommandError> {
        parse_command(s.split_whitespace().map(String::from).collect(), 7)
    }

    #[test]
    fn known_commands_and_counts() {
        assert_eq!(
            p("mkdir /a 0755 system system").unwrap().builtin,
            Builtin::Mkdir
        );
        assert!(matches!(p("mkdir"), Err(CommandError::Syntax(_))));
        assert!(matches!(p("setprop a"), Err(CommandError::Syntax(_))));
        assert!(matches!(p("setprop a b c"), Err(CommandError::Syntax(_))));
        assert!(p("exec -- /bin/true").is_ok());
        assert!(p("exec /bin/true").is_ok());
        assert!(matches!(p("exec - root --"), Err(CommandError::Syntax(_))));
    }

    #[test]
    fn unsupported_and_unknown() {
        assert_eq!(
            p("mount_all /vendor/etc/fstab"),
            Err(CommandError::Unsupported("mount_all".into()))
        );
        assert_eq!(
            p("frobnicate"),
            Err(CommandError::Unsupported("frobnicate".into()))
        );
        assert!(UNSUPPORTED
            .iter()
            .all(|k| TABLE.iter().all(|(s, ..)| s != k)));
    }
}
