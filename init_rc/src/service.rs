//! Services: the `service <name> <path> [args]` section with its options, and the runtime
//! state machine (running / stopping / stopped / restarting) with the restart back-off.
//!
//! Restart policy (**Ours**, extending AOSP's):
//! - a non-oneshot service that exits is restarted `restart_period` (default 5 s, as AOSP)
//!   after it was *started*, so a service that ran longer than that restarts at once;
//!   `restart_period` must be at least [`MIN_RESTART_PERIOD_SECS`] (AOSP: 5), so a crash
//!   loop never respawns without a pause;
//! - exits are counted in a 4-minute window (AOSP's crash window); from the second exit in
//!   the window on, the delay doubles per exit (`period · 2^(n-1)`), capped at 60 s (or at
//!   the period when that is longer), again counted from the start time;
//! - a `oneshot` service that exits becomes stopped and disabled (as AOSP), so `class_start`
//!   does not run it again; `start` does.

use std::time::Duration;

use crate::command::{parse_command, Command, CommandError};
use crate::ids::require_id;

/// AOSP's default `restart_period`.
pub const DEFAULT_RESTART_PERIOD: Duration = Duration::from_secs(5);
/// Smallest `restart_period` accepted, in seconds (**Ours**: AOSP requires 5; we allow
/// shorter periods, e.g. for tests, but not 0, which would respawn a crashing service in a
/// busy loop — every back-off step would be 0 too).
pub const MIN_RESTART_PERIOD_SECS: u64 = 1;
/// Window in which exits are counted for the back-off (AOSP's default crash window).
pub const CRASH_WINDOW: Duration = Duration::from_secs(240);
/// Back-off cap (unless the service's own period is longer).
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Where a service's stdio goes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StdioOption {
    /// stdin, stdout and stderr on `/dev/null` (the default).
    #[default]
    Null,
    /// `stdio_to_kmsg`: stdout and stderr to `/dev/kmsg`, stdin `/dev/null`.
    Kmsg,
    /// `console [tty]`: all three on `/dev/<tty>` (default `/dev/console`).
    Console(Option<String>),
}

/// `file <path> <r|w|rw>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOption {
    /// Path to open.
    pub path: String,
    /// Open for reading.
    pub read: bool,
    /// Open for writing.
    pub write: bool,
}

/// Kind of a `socket` option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketKind {
    /// `stream`
    Stream,
    /// `dgram`
    Dgram,
    /// `seqpacket`
    Seqpacket,
}

/// `socket <name> <type> <perm> [user [group [seclabel]]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketOption {
    /// Name under `/dev/socket/`.
    pub name: String,
    /// Socket type.
    pub kind: SocketKind,
    /// `+passcred` given.
    pub passcred: bool,
    /// `+listen` given.
    pub listen: bool,
    /// Permission bits of the socket node.
    pub perm: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// SELinux label (recorded, not applied).
    pub seclabel: Option<String>,
}

/// `critical [window=<mins>] [target=<target>]` (parsed and recorded, not acted on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Critical {
    /// Crash window in minutes (default 4).
    pub window_mins: u32,
    /// Reboot target (default `bootloader`).
    pub target: String,
}

/// A service definition from an rc file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceDef {
    /// Service name (`init.svc.<name>`).
    pub name: String,
    /// Program path then arguments (arguments are expanded at start).
    pub args: Vec<String>,
    /// Classes (default `default`).
    pub classes: Vec<String>,
    /// User id (default root).
    pub uid: u32,
    /// Primary group id (default root).
    pub gid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
    /// `oneshot`
    pub oneshot: bool,
    /// `disabled`
    pub disabled: bool,
    /// `seclabel`
    pub seclabel: Option<String>,
    /// `file` options.
    pub files: Vec<FileOption>,
    /// stdio routing.
    pub stdio: StdioOption,
    /// `capabilities` (parsed and recorded; not applied).
    pub capabilities: Option<Vec<String>>,
    /// `restart_period`.
    pub restart_period: Duration,
    /// `critical`.
    pub critical: Option<Critical>,
    /// `setenv` pairs.
    pub env: Vec<(String, String)>,
    /// `socket` options.
    pub sockets: Vec<SocketOption>,
    /// `onrestart` commands.
    pub onrestart: Vec<Command>,
    /// `override`
    pub overrides: bool,
    /// `shutdown critical` (recorded; such services are still stopped at shutdown).
    pub shutdown_critical: bool,
    /// File that defined it.
    pub file: String,
    /// Line of the `service` keyword.
    pub line: u32,
}

/// AOSP service options we recognise but do not implement.
pub const UNSUPPORTED_OPTIONS: &[&str] = &[
    "enter_namespace",
    "gentle_kill",
    "interface",
    "ioprio",
    "keycodes",
    "memcg.limit_in_bytes",
    "memcg.limit_percent",
    "memcg.limit_property",
    "memcg.soft_limit_in_bytes",
    "memcg.swappiness",
    "namespace",
    "oom_score_adjust",
    "priority",
    "reboot_on_failure",
    "rlimit",
    "sigstop",
    "task_profiles",
    "timeout_period",
    "updatable",
    "writepid",
];

const CAPABILITIES: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// Why an option line was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionError {
    /// An option (or `onrestart` command) we do not implement; the keyword.
    Unsupported(String),
    /// Wrong arguments; the message.
    Syntax(String),
}

/// True when `name` can be a service name (`init.svc.<name>` must be a legal property).
pub fn is_valid_service_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'@' | b':' | b'.'))
        && crate::property::is_legal_name(&format!("init.svc.{name}"))
}

/// Parses an octal permission/mode string (at most `0o7777`).
pub fn parse_mode(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 6 {
        return None;
    }
    u32::from_str_radix(s, 8).ok().filter(|m| *m <= 0o7777)
}

impl ServiceDef {
    /// Starts a definition from `service <name> <path> [args…]` (`args[0]` is `service`).
    pub fn new(args: &[String], file: &str, line: u32) -> Result<ServiceDef, String> {
        if args.len() < 3 {
            return Err("services must have a name and a program".into());
        }
        let name = &args[1];
        if !is_valid_service_name(name) {
            return Err(format!("invalid service name '{name}'"));
        }
        Ok(ServiceDef {
            name: name.clone(),
            args: args[2..].to_vec(),
            classes: vec!["default".into()],
            uid: 0,
            gid: 0,
            groups: Vec::new(),
            oneshot: false,
            disabled: false,
            seclabel: None,
            files: Vec::new(),
            stdio: StdioOption::Null,
            capabilities: None,
            restart_period: DEFAULT_RESTART_PERIOD,
            critical: None,
            env: Vec::new(),
            sockets: Vec::new(),
            onrestart: Vec::new(),
            overrides: false,
            shutdown_critical: false,
            file: file.to_string(),
            line,
        })
    }

    /// Applies one option line (`args[0]` is the option keyword).
    pub fn apply_option(&mut self, args: Vec<String>, line: u32) -> Result<(), OptionError> {
        let syn = |m: String| Err(OptionError::Syntax(m));
        let Some(kw) = args.first().cloned() else {
            return syn("empty option".into());
        };
        let n = args.len() - 1;
        let count = |min: usize, max: usize| -> Result<(), OptionError> {
            if n < min || n > max {
                Err(OptionError::Syntax(format!(
                    "option '{kw}' takes {min}..{max} argument(s), got {n}"
                )))
            } else {
                Ok(())
            }
        };
        let a = &args[1..];
        match kw.as_str() {
            "class" => {
                count(1, usize::MAX)?;
                self.classes = a.to_vec();
            }
            "user" => {
                count(1, 1)?;
                self.uid = require_id("user", &a[0]).map_err(OptionError::Syntax)?;
            }
            "group" => {
                count(1, usize::MAX)?;
                self.gid = require_id("group", &a[0]).map_err(OptionError::Syntax)?;
                self.groups = a[1..]
                    .iter()
                    .map(|g| require_id("group", g))
                    .collect::<Result<_, _>>()
                    .map_err(OptionError::Syntax)?;
            }
            "oneshot" => {
                count(0, 0)?;
                self.oneshot = true;
            }
            "disabled" => {
                count(0, 0)?;
                self.disabled = true;
            }
            "override" => {
                count(0, 0)?;
                self.overrides = true;
            }
            "seclabel" => {
                count(1, 1)?;
                self.seclabel = Some(a[0].clone());
            }
            "stdio_to_kmsg" => {
                count(0, 0)?;
                if matches!(self.stdio, StdioOption::Console(_)) {
                    return syn("'stdio_to_kmsg' and 'console' are mutually exclusive".into());
                }
                self.stdio = StdioOption::Kmsg;
            }
            "console" => {
                count(0, 1)?;
                if self.stdio == StdioOption::Kmsg {
                    return syn("'stdio_to_kmsg' and 'console' are mutually exclusive".into());
                }
                let tty = a.first().map(|t| t.trim_start_matches("/dev/").to_string());
                if tty
                    .as_deref()
                    .is_some_and(|t| t.is_empty() || t.contains('/'))
                {
                    return syn(format!("invalid console '{}'", a[0]));
                }
                self.stdio = StdioOption::Console(tty);
            }
            "file" => {
                count(2, 2)?;
                let (read, write) = match a[1].as_str() {
                    "r" => (true, false),
                    "w" => (false, true),
                    "rw" => (true, true),
                    other => {
                        return syn(format!("file type must be 'r', 'w' or 'rw', not '{other}'"))
                    }
                };
                if !a[0].starts_with('/') {
                    return syn(format!("file path must be absolute: '{}'", a[0]));
                }
                self.files.push(FileOption {
                    path: a[0].clone(),
                    read,
                    write,
                });
            }
            "capabilities" => {
                let mut caps = Vec::new();
                for c in a {
                    let name = c.strip_prefix("CAP_").unwrap_or(c).to_ascii_uppercase();
                    if !CAPABILITIES.contains(&name.as_str()) {
                        return syn(format!("invalid capability '{c}'"));
                    }
                    caps.push(name);
                }
                self.capabilities = Some(caps);
            }
            "restart_period" => {
                count(1, 1)?;
                let secs: u64 = a[0].parse().ok().filter(|s| *s >= MIN_RESTART_PERIOD_SECS).ok_or_else(|| {
                    OptionError::Syntax(format!(
                        "restart_period must be a whole number of seconds >= {MIN_RESTART_PERIOD_SECS}, not '{}'",
                        a[0]
                    ))
                })?;
                self.restart_period = Duration::from_secs(secs.min(86400 * 365));
            }
            "critical" => {
                count(0, 2)?;
                let mut c = Critical {
                    window_mins: 4,
                    target: "bootloader".into(),
                };
                for arg in a {
                    if let Some(w) = arg.strip_prefix("window=") {
                        c.window_mins = w.parse().map_err(|_| {
                            OptionError::Syntax(format!("invalid crash window '{w}'"))
                        })?;
                    } else if let Some(t) = arg.strip_prefix("target=") {
                        c.target = t.to_string();
                    } else {
                        return syn(format!("invalid critical argument '{arg}'"));
                    }
                }
                self.critical = Some(c);
            }
            "setenv" => {
                count(2, 2)?;
                if a[0].is_empty() || a[0].contains('=') || a[0].contains('\0') {
                    return syn(format!("invalid environment variable name '{}'", a[0]));
                }
                self.env.push((a[0].clone(), a[1].clone()));
            }
            "socket" => {
                count(3, 6)?;
                self.sockets
                    .push(parse_socket(a).map_err(OptionError::Syntax)?);
            }
            "shutdown" => {
                count(1, 1)?;
                if a[0] != "critical" {
                    return syn(format!("invalid shutdown option '{}'", a[0]));
                }
                self.shutdown_critical = true;
            }
            "onrestart" => {
                count(1, usize::MAX)?;
                match parse_command(a.to_vec(), line) {
                    Ok(c) => self.onrestart.push(c),
                    Err(CommandError::Unsupported(k)) => {
                        return Err(OptionError::Unsupported(format!("onrestart {k}")))
                    }
                    Err(CommandError::Syntax(m)) => return syn(m),
                }
            }
            other => return Err(OptionError::Unsupported(other.to_string())),
        }
        Ok(())
    }
}

fn parse_socket(a: &[String]) -> Result<SocketOption, String> {
    let name = &a[0];
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(format!("invalid socket name '{name}'"));
    }
    let mut parts = a[1].split('+');
    let kind = match parts.next().unwrap_or_default() {
        "stream" => SocketKind::Stream,
        "dgram" => SocketKind::Dgram,
        "seqpacket" => SocketKind::Seqpacket,
        other => {
            return Err(format!(
                "socket type must be 'dgram', 'stream' or 'seqpacket', not '{other}'"
            ))
        }
    };
    let (mut passcred, mut listen) = (false, false);
    for p in parts {
        match p {
            "passcred" => passcred = true,
            "listen" => listen = true,
            other => return Err(format!("unknown socket flag '+{other}'")),
        }
    }
    let perm = parse_mode(&a[2]).ok_or_else(|| format!("invalid socket permissions '{}'", a[2]))?;
    let uid = match a.get(3) {
        Some(u) => require_id("user", u)?,
        None => 0,
    };
    let gid = match a.get(4) {
        Some(g) => require_id("group", g)?,
        None => 0,
    };
    Ok(SocketOption {
        name: name.clone(),
        kind,
        passcred,
        listen,
        perm,
        uid,
        gid,
        seclabel: a.get(5).cloned(),
    })
}

/// The restart delay after an exit: `n` exits in the window (including this one) and the
/// time the service ran since its start.
pub fn restart_delay(period: Duration, exits_in_window: u32, ran: Duration) -> Duration {
    let target = if exits_in_window <= 1 {
        period
    } else {
        let shift = exits_in_window.saturating_sub(1).min(16);
        let cap = MAX_BACKOFF.max(period);
        period.saturating_mul(1u32 << shift).min(cap)
    };
    target.saturating_sub(ran)
}

/// Runtime state of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceState {
    /// Not running.
    Stopped,
    /// Running with this pid.
    Running(i32),
    /// Killed, waiting for the exit of this pid.
    Stopping(i32),
    /// Waiting for the back-off timer (monotonic deadline).
    Restarting(Duration),
}

impl ServiceState {
    /// The `init.svc.<name>` value.
    pub fn prop_value(&self) -> &'static str {
        match self {
            ServiceState::Stopped => "stopped",
            ServiceState::Running(_) => "running",
            ServiceState::Stopping(_) => "stopping",
            ServiceState::Restarting(_) => "restarting",
        }
    }

    /// The pid while a process exists.
    pub fn pid(&self) -> Option<i32> {
        match self {
            ServiceState::Running(p) | ServiceState::Stopping(p) => Some(*p),
            _ => None,
        }
    }
}

/// A service with its runtime state.
#[derive(Debug, Clone)]
pub struct Service {
    /// The definition.
    pub def: ServiceDef,
    /// Current state.
    pub state: ServiceState,
    /// Currently disabled (from `disabled`, `stop`, `class_stop`, or a finished oneshot).
    pub disabled: bool,
    /// `class_start` saw it while disabled: `enable` starts it.
    pub start_on_enable: bool,
    /// Start again as soon as the current process is reaped (`restart`).
    pub restart_when_reaped: bool,
    /// Treated as oneshot for this run (`exec_start`).
    pub oneshot_run: bool,
    /// Start time of the current/last process.
    pub started_at: Duration,
    /// Exit times inside the crash window.
    pub recent_exits: Vec<Duration>,
}

/// What the interpreter must do after a service's process exited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterExit {
    /// Nothing more: it is stopped.
    Stopped,
    /// Start it again now (`restart`).
    StartNow,
    /// Restart after this delay.
    RestartIn(Duration),
}

impl Service {
    /// Wraps a definition in the initial (stopped) state.
    pub fn new(def: ServiceDef) -> Service {
        Service {
            disabled: def.disabled,
            def,
            state: ServiceState::Stopped,
            start_on_enable: false,
            restart_when_reaped: false,
            oneshot_run: false,
            started_at: Duration::ZERO,
            recent_exits: Vec::new(),
        }
    }

    /// True if it belongs to `class`.
    pub fn in_class(&self, class: &str) -> bool {
        self.def.classes.iter().any(|c| c == class)
    }

    /// Records that the process exited at `now` and decides what happens next.
    pub fn exited(&mut self, now: Duration, shutting_down: bool) -> AfterExit {
        let was_stopping = matches!(self.state, ServiceState::Stopping(_));
        self.state = ServiceState::Stopped;
        if std::mem::take(&mut self.restart_when_reaped) && !shutting_down {
            return AfterExit::StartNow;
        }
        let oneshot = self.def.oneshot || std::mem::take(&mut self.oneshot_run);
        if was_stopping || shutting_down {
            return AfterExit::Stopped;
        }
        if oneshot {
            self.disabled = true;
            return AfterExit::Stopped;
        }
        self.recent_exits
            .retain(|t| now.saturating_sub(*t) < CRASH_WINDOW);
        self.recent_exits.push(now);
        let n = u32::try_from(self.recent_exits.len()).unwrap_or(u32::MAX);
        let ran = now.saturating_sub(self.started_at);
        let delay = restart_delay(self.def.restart_period, n, ran);
        self.state = ServiceState::Restarting(now.saturating_add(delay));
        AfterExit::RestartIn(delay)
    }

    /// Number of exits in the current crash window.
    pub fn exits_in_window(&self) -> usize {
        self.recent_exits.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    fn def() -> ServiceDef {
        ServiceDef::new(&v("service ueventd /system/bin/ueventd"), "f.rc", 1).unwrap()
    }

    #[test]
    fn header() {
        assert!(ServiceDef::new(&v("service x"), "f", 1).is_err());
        assert!(ServiceDef::new(&v("service a/b /bin/x"), "f", 1).is_err());
        let d = def();
        assert_eq!(d.args, vec!["/system/bin/ueventd"]);
        assert_eq!(d.classes, vec!["default"]);
    }

    #[test]
    fn options() {
        let mut d = def();
        for o in [
            "class core main",
            "user shell",
            "group shell log readproc",
            "oneshot",
            "disabled",
            "seclabel u:r:ueventd:s0",
            "console",
            "capabilities CHOWN DAC_OVERRIDE SYS_MODULE",
            "restart_period 10",
            "critical window=10 target=reboot",
            "setenv HOSTNAME console",
            "socket prop stream+passcred 0666 root system",
            "file /dev/kmsg w",
            "shutdown critical",
            "onrestart restart other",
        ] {
            d.apply_option(v(o), 2)
                .unwrap_or_else(|e| panic!("{o}: {e:?}"));
        }
        assert_eq!(d.classes, vec!["core", "main"]);
        assert_eq!(
            (d.uid, d.gid, d.groups.clone()),
            (2000, 2000, vec![1007, 3009])
        );
        assert!(d.oneshot && d.disabled && d.shutdown_critical);
        assert_eq!(d.stdio, StdioOption::Console(None));
        assert_eq!(d.restart_period, Duration::from_secs(10));
        assert_eq!(d.critical.as_ref().unwrap().window_mins, 10);
        assert_eq!(d.sockets[0].perm, 0o666);
        assert!(d.sockets[0].passcred);
        assert_eq!(d.onrestart.len(), 1);
        assert_eq!(d.capabilities.as_ref().unwrap().len(), 3);
    }

    #[test]
    fn option_errors() {
        let mut d = def();
        assert_eq!(
            d.apply_option(v("writepid /dev/cpuset/tasks"), 2),
            Err(OptionError::Unsupported("writepid".into()))
        );
        assert_eq!(
            d.apply_option(v("bogus"), 2),
            Err(OptionError::Unsupported("bogus".into()))
        );
        for bad in [
            "user nosuchuser",
            "user",
            "oneshot extra",
            "capabilities NOT_A_CAP",
            "restart_period soon",
            "restart_period 0",
            "restart_period -5",
            "socket s badtype 0666",
            "socket s stream 999",
            "file relative r",
            "file /x z",
            "critical sometimes",
            "shutdown gently",
            "setenv A=B c",
        ] {
            assert!(
                matches!(d.apply_option(v(bad), 2), Err(OptionError::Syntax(_))),
                "{bad}"
            );
        }
        d.apply_option(v("stdio_to_kmsg"), 2).unwrap();
        assert!(matches!(
            d.apply_option(v("console"), 2),
            Err(OptionError::Syntax(_))
        ));
    }

    #[test]
    fn backoff_policy() {
        let p = Duration::from_secs(5);
        assert_eq!(
            restart_delay(p, 1, Duration::from_secs(1)),
            Duration::from_secs(4)
        );
        assert_eq!(restart_delay(p, 1, Duration::from_secs(9)), Duration::ZERO);
        assert_eq!(restart_delay(p, 2, Duration::ZERO), Duration::from_secs(10));
        assert_eq!(restart_delay(p, 3, Duration::ZERO), Duration::from_secs(20));
        assert_eq!(restart_delay(p, 5, Duration::ZERO), Duration::from_secs(60));
        assert_eq!(
            restart_delay(p, 1000, Duration::ZERO),
            Duration::from_secs(60)
        );
        let long = Duration::from_secs(3600);
        assert_eq!(restart_delay(long, 4, Duration::ZERO), long);
    }

    #[test]
    fn exit_transitions() {
        let mut s = Service::new(def());
        s.state = ServiceState::Running(10);
        s.started_at = Duration::from_secs(100);
        assert_eq!(
            s.exited(Duration::from_secs(101), false),
            AfterExit::RestartIn(Duration::from_secs(4))
        );
        assert_eq!(s.state.prop_value(), "restarting");
        s.state = ServiceState::Running(11);
        s.started_at = Duration::from_secs(105);
        assert_eq!(
            s.exited(Duration::from_secs(106), false),
            AfterExit::RestartIn(Duration::from_secs(9))
        );
        // Outside the window the count starts again.
        s.state = ServiceState::Running(12);
        s.started_at = Duration::from_secs(1000);
        assert_eq!(
            s.exited(Duration::from_secs(1001), false),
            AfterExit::RestartIn(Duration::from_secs(4))
        );
        s.state = ServiceState::Stopping(13);
        assert_eq!(
            s.exited(Duration::from_secs(1002), false),
            AfterExit::Stopped
        );
        s.def.oneshot = true;
        s.state = ServiceState::Running(14);
        assert_eq!(
            s.exited(Duration::from_secs(1003), false),
            AfterExit::Stopped
        );
        assert!(s.disabled);
    }
}
