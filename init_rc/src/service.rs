//! Services: the `service <name> <path> [args]` section with its options, and the runtime
//! flags of AOSP's `Service` (`service.cpp`): disabled, reset, restart, restarting,
//! disabled-start, the crash count of `critical` services, and the start time the
//! restart timer counts from.
//!
//! Restart policy (AOSP `init.cpp` `HandleProcessActions`, `service.cpp` `Reap`): a
//! service that exits and is neither disabled nor reset is restarted at its *start* time
//! plus `restart_period` (default 5 s), so a service that ran longer than that restarts at
//! once; its `onrestart` commands run when it is reaped, also after `restart` /
//! `ctl.restart`. **Ours:** `restart_period` must be at least
//! [`MIN_RESTART_PERIOD_SECS`] (AOSP accepts 0, which respawns a crashing service in a
//! busy loop). A `oneshot` service that exits becomes disabled unless it was restarted.
//! A `critical` service that crashes more than [`CRITICAL_CRASH_THRESHOLD`] times in its
//! window (default 4 minutes), or before `sys.boot_completed`, is fatal.

use std::time::Duration;

use crate::command::{parse_command, Command, CommandError};
use crate::ids::require_id;

/// AOSP's default `restart_period`.
pub const DEFAULT_RESTART_PERIOD: Duration = Duration::from_secs(5);
/// Smallest `restart_period` accepted, in seconds (**Ours**: AOSP accepts 0, which would
/// respawn a crashing service in a busy loop).
pub const MIN_RESTART_PERIOD_SECS: u64 = 1;
/// AOSP's default crash window of a `critical` service (`fatal_crash_window_`).
pub const DEFAULT_CRASH_WINDOW: Duration = Duration::from_secs(4 * 60);
/// A critical service may crash this many times in its window; one more is fatal.
pub const CRITICAL_CRASH_THRESHOLD: u32 = 4;

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

/// `critical [window=<mins>] [target=<target>]`: more than
/// [`CRITICAL_CRASH_THRESHOLD`] crashes in the window is fatal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Critical {
    /// Crash window (default [`DEFAULT_CRASH_WINDOW`]).
    pub window: Duration,
    /// AOSP's reboot target (default `bootloader`), logged with the fatal line: this
    /// guest powers off instead.
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
    /// `capabilities`: the set to keep (bit `n` = capability `n`), applied as AOSP's
    /// `SetCapsForExec`.
    pub capabilities: Option<u64>,
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
    /// `shutdown critical`: started if needed and not stopped at shutdown.
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
    "shared_kallsyms",
    "sigstop",
    "task_profiles",
    "timeout_period",
    "updatable",
    "writepid",
];

/// Capability names (without `CAP_`) by number, as AOSP's `LookupCap` spells them.
pub const CAPABILITIES: &[&str] = &[
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

/// The capability numbered `n`, as written in rc files.
pub fn capability_name(n: u32) -> &'static str {
    CAPABILITIES.get(n as usize).copied().unwrap_or("?")
}

/// Looks a property up for parse-time expansion (`critical window=`, `file`).
pub type PropLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

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

    /// Applies one option line (`args[0]` is the option keyword). `props` expands the
    /// arguments AOSP expands at parse time (`critical window=`, `file` paths).
    pub fn apply_option(
        &mut self,
        args: Vec<String>,
        line: u32,
        props: PropLookup<'_>,
    ) -> Result<(), OptionError> {
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
                let path = crate::expand::expand(&a[0], props)
                    .map_err(|e| OptionError::Syntax(format!("could not expand file path: {e}")))?;
                if !path.starts_with('/') || path.contains("../") {
                    return syn(format!("file name must not be relative: '{path}'"));
                }
                if self.files.iter().any(|f| f.path == path) {
                    return syn(format!("duplicate file descriptor '{path}'"));
                }
                self.files.push(FileOption { path, read, write });
            }
            "capabilities" => {
                let mut caps = 0u64;
                for c in a {
                    let Some(n) = CAPABILITIES.iter().position(|k| k == c) else {
                        return syn(format!("invalid capability '{c}'"));
                    };
                    caps |= 1 << n;
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
                    window: DEFAULT_CRASH_WINDOW,
                    target: "bootloader".into(),
                };
                for arg in a {
                    // AOSP splits at every `=`: exactly one is allowed.
                    match arg.split('=').collect::<Vec<_>>()[..] {
                        ["target", t] => c.target = t.to_string(),
                        ["window", w] => {
                            let w = crate::expand::expand(w, props).map_err(|e| {
                                OptionError::Syntax(format!(
                                    "critical: could not expand '{w}': {e}"
                                ))
                            })?;
                            if w == "off" {
                                // AOSP: `window=off` leaves the service not critical.
                                return Ok(());
                            }
                            let mins: u64 =
                                w.parse().ok().filter(|m| *m <= 1 << 20).ok_or_else(|| {
                                    OptionError::Syntax(
                                        "critical: 'fatal_crash_window' must be an integer >= 0"
                                            .into(),
                                    )
                                })?;
                            c.window = Duration::from_secs(mins * 60);
                        }
                        _ => return syn(format!("critical: argument '{arg}' is not supported")),
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
                let socket = parse_socket(a).map_err(OptionError::Syntax)?;
                if self.sockets.iter().any(|o| o.name == socket.name) {
                    return syn(format!("duplicate socket descriptor '{}'", socket.name));
                }
                self.sockets.push(socket);
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

    /// The checks of AOSP's `ServiceParser::EndSection` on a complete definition.
    pub fn finish(&self) -> Result<(), String> {
        if self.critical.is_some() && self.oneshot {
            return Err(format!(
                "service '{}' can't be both critical and oneshot",
                self.name
            ));
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

/// Runtime state of a service, as `init.svc.<name>` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceState {
    /// Not running.
    Stopped,
    /// Running with this pid.
    Running(i32),
    /// Killed (or asked to stop), waiting for the exit of this pid.
    Stopping(i32),
    /// Waiting for the restart time (monotonic).
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

/// How a service is stopped (AOSP `StopOrReset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopHow {
    /// `stop`, `class_stop`, `ctl.stop`: disabled until started again.
    Disable,
    /// `class_reset`: stopped, but `class_start` starts it again.
    Reset,
    /// `restart`: stopped, then restarted once reaped.
    Restart,
}

/// A service with AOSP's runtime flags.
#[derive(Debug, Clone)]
pub struct Service {
    /// The definition.
    pub def: ServiceDef,
    /// The process, while one exists.
    pub pid: Option<i32>,
    /// Its cgroup, while it has one.
    pub cgroup: Option<std::path::PathBuf>,
    /// `oneshot` (from the definition, or made so by `exec_start`).
    pub oneshot: bool,
    /// `SVC_DISABLED`.
    pub disabled: bool,
    /// `SVC_RC_DISABLED`: the definition says `disabled`.
    pub rc_disabled: bool,
    /// `SVC_RESET`.
    pub reset: bool,
    /// `SVC_RESTART`: start again once reaped.
    pub restart: bool,
    /// `SVC_RESTARTING`: waiting for the restart time.
    pub restarting: bool,
    /// `SVC_DISABLED_START`: `class_start` saw it disabled, `enable` starts it.
    pub disabled_start: bool,
    /// A kill was sent to the current process.
    pub stopping: bool,
    /// Start time of the current/last process.
    pub time_started: Duration,
    /// Start of the current crash window.
    pub time_crashed: Duration,
    /// Crashes in the current window.
    pub crash_count: u32,
}

/// What happens after a service's process was reaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterReap {
    /// It stays stopped (disabled, reset or a finished oneshot).
    Stopped,
    /// It restarts at this time; its `onrestart` commands run now.
    Restarting(Duration),
    /// A critical service crashed too often: fatal.
    Fatal {
        /// Crashes counted.
        crashes: u32,
        /// Why the crashes counted: `in N minutes` or `before boot completed`.
        reason: String,
    },
}

impl Service {
    /// Wraps a definition in the initial (stopped) state.
    pub fn new(def: ServiceDef) -> Service {
        Service {
            oneshot: def.oneshot,
            disabled: def.disabled,
            rc_disabled: def.disabled,
            def,
            pid: None,
            cgroup: None,
            reset: false,
            restart: false,
            restarting: false,
            disabled_start: false,
            stopping: false,
            time_started: Duration::ZERO,
            time_crashed: Duration::ZERO,
            crash_count: 0,
        }
    }

    /// True if it belongs to `class`.
    pub fn in_class(&self, class: &str) -> bool {
        self.def.classes.iter().any(|c| c == class)
    }

    /// When a restarting service starts again.
    pub fn restart_at(&self) -> Duration {
        self.time_started.saturating_add(self.def.restart_period)
    }

    /// The state `init.svc.<name>` reports.
    pub fn state(&self) -> ServiceState {
        match self.pid {
            Some(pid) if self.stopping => ServiceState::Stopping(pid),
            Some(pid) => ServiceState::Running(pid),
            None if self.restarting => ServiceState::Restarting(self.restart_at()),
            None => ServiceState::Stopped,
        }
    }

    /// The flag changes of AOSP `Start` before a process is created. Returns false when
    /// a process exists already (nothing to spawn).
    pub fn begin_start(&mut self) -> bool {
        let was_disabled = self.disabled || self.reset;
        self.disabled = false;
        self.restarting = false;
        self.reset = false;
        self.restart = false;
        self.disabled_start = false;
        if self.pid.is_some() {
            // A stopping oneshot starts again once reaped.
            if self.oneshot && was_disabled {
                self.restart = true;
            }
            return false;
        }
        true
    }

    /// Records a new process started at `now`.
    pub fn started(&mut self, pid: i32, now: Duration) {
        self.pid = Some(pid);
        self.stopping = false;
        self.time_started = now;
    }

    /// The flag changes of AOSP `StopOrReset`. Returns the pid to kill, if any.
    pub fn stop_or_reset(&mut self, how: StopHow) -> Option<i32> {
        self.restarting = false;
        self.disabled_start = false;
        match how {
            StopHow::Reset if self.rc_disabled => self.disabled = true,
            StopHow::Reset => self.reset = true,
            StopHow::Disable => self.disabled = true,
            StopHow::Restart => self.restart = true,
        }
        if how == StopHow::Restart {
            self.disabled = false;
            self.reset = false;
        } else {
            self.restart = false;
        }
        if self.pid.is_some() {
            self.stopping = true;
        }
        self.pid
    }

    /// AOSP `Reap` after the process exited at `now`; `boot_completed` is
    /// `sys.boot_completed`.
    pub fn reaped(&mut self, now: Duration, boot_completed: bool) -> AfterReap {
        self.pid = None;
        self.stopping = false;
        if self.oneshot && !self.restart && !self.reset {
            self.disabled = true;
        }
        if self.disabled || self.reset {
            return AfterReap::Stopped;
        }
        if let Some(c) = &self.def.critical {
            if !self.restart {
                if now < self.time_crashed.saturating_add(c.window) || !boot_completed {
                    self.crash_count = self.crash_count.saturating_add(1);
                    if self.crash_count > CRITICAL_CRASH_THRESHOLD {
                        let reason = if boot_completed {
                            format!("in {} minutes", c.window.as_secs() / 60)
                        } else {
                            "before boot completed".to_string()
                        };
                        return AfterReap::Fatal {
                            crashes: self.crash_count,
                            reason,
                        };
                    }
                } else {
                    self.time_crashed = now;
                    self.crash_count = 1;
                }
            }
        }
        self.restart = false;
        self.restarting = true;
        AfterReap::Restarting(self.restart_at())
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

    fn no_props(_: &str) -> Option<String> {
        None
    }

    fn apply(d: &mut ServiceDef, o: &str) -> Result<(), OptionError> {
        d.apply_option(v(o), 2, &no_props)
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
            apply(&mut d, o).unwrap_or_else(|e| panic!("{o}: {e:?}"));
        }
        assert_eq!(d.classes, vec!["core", "main"]);
        assert_eq!(
            (d.uid, d.gid, d.groups.clone()),
            (2000, 2000, vec![1007, 3009])
        );
        assert!(d.oneshot && d.disabled && d.shutdown_critical);
        assert_eq!(d.stdio, StdioOption::Console(None));
        assert_eq!(d.restart_period, Duration::from_secs(10));
        assert_eq!(
            d.critical.as_ref().unwrap().window,
            Duration::from_secs(600)
        );
        assert_eq!(d.critical.as_ref().unwrap().target, "reboot");
        assert_eq!(d.sockets[0].perm, 0o666);
        assert!(d.sockets[0].passcred);
        assert_eq!(d.onrestart.len(), 1);
        assert_eq!(d.capabilities, Some(1 << 0 | 1 << 1 | 1 << 16));
        assert_eq!(
            d.finish().unwrap_err(),
            "service 'ueventd' can't be both critical and oneshot"
        );
        // No capability at all is a valid (empty) set.
        apply(&mut d, "capabilities").unwrap();
        assert_eq!(d.capabilities, Some(0));
        assert_eq!(capability_name(21), "SYS_ADMIN");
    }

    #[test]
    fn parse_time_expansion() {
        let props = |n: &str| match n {
            "zygote.critical_window.minute" => Some("7".to_string()),
            "ro.dir" => Some("/dev".to_string()),
            _ => None,
        };
        let mut d = def();
        d.apply_option(
            v("critical window=${zygote.critical_window.minute:-off} target=zygote-fatal"),
            2,
            &props,
        )
        .unwrap();
        assert_eq!(
            d.critical.as_ref().unwrap().window,
            Duration::from_secs(420)
        );
        // Unset: `off`, and AOSP then leaves the service not critical (target ignored).
        let mut d = def();
        apply(
            &mut d,
            "critical window=${zygote.critical_window.minute:-off} target=zygote-fatal",
        )
        .unwrap();
        assert_eq!(d.critical, None);
        let mut d = def();
        d.apply_option(v("file ${ro.dir}/kmsg w"), 2, &props)
            .unwrap();
        assert_eq!(d.files[0].path, "/dev/kmsg");
        assert!(matches!(
            apply(&mut d, "file ${ro.nope}/x w"),
            Err(OptionError::Syntax(_))
        ));
    }

    #[test]
    fn option_errors() {
        let mut d = def();
        assert_eq!(
            apply(&mut d, "writepid /dev/cpuset/tasks"),
            Err(OptionError::Unsupported("writepid".into()))
        );
        assert_eq!(
            apply(&mut d, "bogus"),
            Err(OptionError::Unsupported("bogus".into()))
        );
        for bad in [
            "user nosuchuser",
            "user",
            "oneshot extra",
            "capabilities NOT_A_CAP",
            "capabilities chown",
            "capabilities CAP_CHOWN",
            "restart_period soon",
            "restart_period 0",
            "restart_period -5",
            "socket s badtype 0666",
            "socket s stream 999",
            "file relative r",
            "file /a/../b r",
            "file /x z",
            "critical sometimes",
            "critical window=x",
            "critical window=1=2",
            "shutdown gently",
            "setenv A=B c",
        ] {
            assert!(
                matches!(apply(&mut d, bad), Err(OptionError::Syntax(_))),
                "{bad}"
            );
        }
        apply(&mut d, "socket s stream 0600").unwrap();
        assert!(matches!(
            apply(&mut d, "socket s dgram 0600"),
            Err(OptionError::Syntax(_))
        ));
        apply(&mut d, "stdio_to_kmsg").unwrap();
        assert!(matches!(
            apply(&mut d, "console"),
            Err(OptionError::Syntax(_))
        ));
    }

    fn service(opts: &[&str]) -> Service {
        let mut d = def();
        for o in opts {
            apply(&mut d, o).unwrap();
        }
        Service::new(d)
    }

    #[test]
    fn restart_counts_from_the_start() {
        let mut s = service(&["restart_period 5"]);
        assert!(s.begin_start());
        s.started(10, Duration::from_secs(100));
        assert_eq!(s.state(), ServiceState::Running(10));
        assert_eq!(
            s.reaped(Duration::from_secs(101), true),
            AfterReap::Restarting(Duration::from_secs(105))
        );
        assert_eq!(s.state().prop_value(), "restarting");
        // A start clears `restarting`; a long run restarts at once (start + period is past).
        assert!(s.begin_start());
        s.started(11, Duration::from_secs(105));
        assert_eq!(
            s.reaped(Duration::from_secs(200), true),
            AfterReap::Restarting(Duration::from_secs(110))
        );
    }

    #[test]
    fn stop_reset_restart_and_oneshot() {
        let mut s = service(&[]);
        s.begin_start();
        s.started(10, Duration::ZERO);
        assert_eq!(s.stop_or_reset(StopHow::Disable), Some(10));
        assert_eq!(s.state(), ServiceState::Stopping(10));
        assert_eq!(s.reaped(Duration::from_secs(1), true), AfterReap::Stopped);
        assert!(s.disabled);
        // restart: reaped into `restarting`, not disabled.
        s.begin_start();
        s.started(11, Duration::ZERO);
        s.stop_or_reset(StopHow::Restart);
        assert!(matches!(
            s.reaped(Duration::from_secs(1), true),
            AfterReap::Restarting(_)
        ));
        // class_reset of an rc-disabled service disables it.
        let mut s = service(&["disabled"]);
        s.begin_start();
        s.started(12, Duration::ZERO);
        s.stop_or_reset(StopHow::Reset);
        assert!(s.disabled && !s.reset);
        // A oneshot becomes disabled on exit, unless restarted.
        let mut s = service(&["oneshot"]);
        s.begin_start();
        s.started(13, Duration::ZERO);
        assert_eq!(s.reaped(Duration::from_secs(1), true), AfterReap::Stopped);
        assert!(s.disabled);
        s.begin_start();
        s.started(14, Duration::ZERO);
        s.stop_or_reset(StopHow::Disable);
        // start while stopping: the oneshot runs again once reaped.
        assert!(!s.begin_start());
        assert!(s.restart);
        assert!(matches!(
            s.reaped(Duration::from_secs(2), true),
            AfterReap::Restarting(_)
        ));
    }

    #[test]
    fn critical_crash_window() {
        let mut s = service(&["critical window=1"]);
        let mut t = Duration::from_secs(1000);
        // Before sys.boot_completed every crash counts: the fifth is fatal.
        for n in 1..=5u32 {
            s.begin_start();
            s.started(n as i32, t);
            t += Duration::from_secs(600);
            let r = s.reaped(t, false);
            if n < 5 {
                assert!(matches!(r, AfterReap::Restarting(_)), "{n}: {r:?}");
            } else {
                assert_eq!(
                    r,
                    AfterReap::Fatal {
                        crashes: 5,
                        reason: "before boot completed".into()
                    }
                );
            }
        }
        // After boot: crashes further apart than the window start a new count.
        let mut s = service(&["critical window=1"]);
        for n in 0..10 {
            s.begin_start();
            s.started(n, t);
            t += Duration::from_secs(61);
            assert!(matches!(s.reaped(t, true), AfterReap::Restarting(_)));
        }
        // The last of those opened a window: three more crashes in it are fine, the
        // fourth (the fifth in the window) is fatal.
        for n in 0..3 {
            s.begin_start();
            s.started(n, t);
            t += Duration::from_secs(1);
            assert!(matches!(s.reaped(t, true), AfterReap::Restarting(_)), "{n}");
        }
        s.begin_start();
        s.started(9, t);
        assert_eq!(
            s.reaped(t + Duration::from_secs(1), true),
            AfterReap::Fatal {
                crashes: 5,
                reason: "in 1 minutes".into()
            }
        );
        // Stops and restarts do not count.
        let mut s = service(&["critical"]);
        for n in 0..10 {
            s.begin_start();
            s.started(n, t);
            s.stop_or_reset(StopHow::Restart);
            assert!(matches!(s.reaped(t, false), AfterReap::Restarting(_)));
        }
    }
}
