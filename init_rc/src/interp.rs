//! The pure interpreter: the event queue, action execution one command at a time,
//! waiting commands that yield to the event loop, services with AOSP's lifecycle
//! (`service.cpp`: start, stop/reset/restart, reap, restart timer, `critical`), property
//! sets with triggers and control messages, and the `sys.powerctl` shutdown of AOSP's
//! `reboot.cpp`. Everything that touches the OS goes through [`Platform`]; time comes from
//! [`Platform::now`], so unit tests drive it with a fake clock.
//!
//! Boot order (AOSP `init.cpp`): the `SetKptrRestrict` builtin, `early-init`, the
//! `SetMmapRndBits` builtin ([`crate::hardening`]), `init`, `late-init` (or `charger` when
//! `ro.bootmode=charger`), then a builtin step that enables property triggers and queues
//! every property-only action whose conditions hold — after everything `late-init`
//! itself triggered (`early-fs` … `boot`), since `trigger` only appends to the queue.
//!
//! Waiting commands (`exec`, `exec_start`, `wait`, `wait_for_prop`) never block: they
//! record what they wait for and [`Init::step`] returns, so the caller keeps serving the
//! property socket and reaping children while they wait. `wait_for_prop` has a deadline
//! (**Ours**, [`DEFAULT_WAIT_FOR_PROP`]): past it the command fails with a line and the
//! action goes on, except for `ro.cold_boot_done true`, whose timeout is fatal
//! (`COLDBOOT_TIMEOUT`).
//!
//! Processes: every service and `exec` child runs in its own cgroup v2 directory when
//! [`Layout::cgroup`] is set (AOSP `createProcessGroup`), and whatever is left in it is
//! killed when the process is reaped or stopped (AOSP `Reap` / `KillProcessGroup`), so a
//! child that calls `setsid()` cannot outlive its service. Children start with `umask
//! 077`; `exec` children get `/dev/null` as stdin, stdout and stderr (AOSP's temporary
//! services).
//!
//! Shutdown (AOSP `HandlePowerctlMessage`, `DoReboot`): once `sys.powerctl` is set no
//! property change queues triggers and `ctl.*` is refused; the queue is replaced by the
//! `shutdown` trigger; then services not marked `shutdown critical` get SIGTERM, SIGKILL
//! after half of `ro.build.shutdown_timeout` (default 6 s); sync; read-write block-device
//! filesystems are unmounted (retried every 100 ms until the timeout, then everything
//! but init is killed and one more attempt made); sync; power off or reboot.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::command::{arity, Builtin, Command};
use crate::error::RcError;
use crate::expand::expand;
use crate::hardening;
use crate::ids::resolve_id;
use crate::parser::{Action, Config};
use crate::platform::{
    ExitStatus, FileSpec, Labeler, MountSpec, Platform, PowerAction, Rlimit, SocketSpec, SpawnSpec,
    StdioSpec,
};
use crate::prop_proto::{
    PROP_ERROR_HANDLE_CONTROL_MESSAGE, PROP_ERROR_INVALID_NAME, PROP_ERROR_INVALID_VALUE,
    PROP_ERROR_READ_ONLY_PROPERTY, PROP_ERROR_SET_FAILED, PROP_SUCCESS,
};
use crate::property::{PropError, PropertyStore};
use crate::service::{parse_mode, AfterReap, Service, ServiceState, StdioOption, StopHow};

/// Commands run per [`Init::step`] before returning to the event loop.
pub const COMMANDS_PER_STEP: usize = 64;
/// Default timeout of `wait <path>` (AOSP: 5 s).
pub const DEFAULT_WAIT: Duration = Duration::from_secs(5);
/// Default deadline of `wait_for_prop` (**Ours**; AOSP waits forever, but up to Android 9
/// gave up on coldboot after a minute), overridden by [`WAIT_FOR_PROP_TIMEOUT_PROP`].
pub const DEFAULT_WAIT_FOR_PROP: Duration = Duration::from_secs(60);
/// The property (seconds, 1 to 3600, from a `.prop` file) that sets `wait_for_prop`'s
/// deadline.
pub const WAIT_FOR_PROP_TIMEOUT_PROP: &str = "ro.init.wait_for_prop_timeout";
/// The property ueventd sets once coldboot is done.
pub const COLD_BOOT_DONE: &str = "ro.cold_boot_done";
/// How often `wait <path>` re-checks the path.
pub const WAIT_POLL: Duration = Duration::from_millis(10);
/// AOSP's default `ro.build.shutdown_timeout`: half of it for SIGTERM, all of it until
/// the unmounts give up.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(6);
/// How often a busy unmount is retried at shutdown (AOSP `UmountPartitions`).
pub const UMOUNT_RETRY: Duration = Duration::from_millis(100);
/// The pause after the last sync, before the power action (AOSP `DoReboot`).
pub const FINAL_PAUSE: Duration = Duration::from_millis(100);
/// Largest file `copy` reads.
pub const MAX_COPY: usize = 16 << 20;
/// Largest `/proc/mounts` read at shutdown.
const MAX_MOUNTS: usize = 1 << 20;
/// The default `PATH` of children.
pub const DEFAULT_PATH: &str = "/system/bin:/system/xbin:/odm/bin:/vendor/bin:/vendor/xbin";
/// Services AOSP keeps until the others are gone at shutdown (`kDebuggingServices`).
const DEBUGGING_SERVICES: &[&str] = &["tombstoned", "logd", "adbd", "console"];
/// Mount points never unmounted at shutdown (AOSP `FindPartitionsToUmount`).
const KEEP_MOUNTED: &[&str] = &["/", "/system", "/vendor", "/oem"];

/// Where the interpreter finds device nodes, procfs and the cgroup v2 hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// `/dev` (for `null`, `kmsg`, `console`, `socket/`).
    pub dev: PathBuf,
    /// `/proc` (for `sys/kernel/hostname`, `mounts`, …).
    pub proc_root: PathBuf,
    /// The mounted cgroup v2 hierarchy services get their cgroups in (AOSP:
    /// `/sys/fs/cgroup`); `None` runs them without (killing their process group only).
    pub cgroup: Option<PathBuf>,
}

impl Default for Layout {
    fn default() -> Layout {
        Layout {
            dev: PathBuf::from("/dev"),
            proc_root: PathBuf::from("/proc"),
            cgroup: None,
        }
    }
}

/// AOSP's builtin actions queued around the boot triggers (`init.cpp` `SecondStageMain`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BuiltinAction {
    /// `SetKptrRestrict`, before `early-init`.
    SetKptrRestrict,
    /// `SetMmapRndBits`, after `early-init` (and its coldboot wait).
    SetMmapRndBits,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    Builtin(BuiltinAction),
    Trigger(String),
    Property(String, String),
    QueuePropertyTriggers,
    EnablePropertyTriggers,
    AllProperties,
    ShutdownDone,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum WaitFor {
    Exec(i32),
    Service(usize),
    /// A property value, until the deadline.
    Prop(String, String, Duration),
    File(PathBuf, Duration),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Wait {
    what: WaitFor,
    since: Duration,
    text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Running the `shutdown` actions.
    Actions,
    /// SIGTERM sent; SIGKILL when they are gone or at the deadline.
    Term(Duration),
    /// Unmounting; the next attempt at this time.
    Unmount(Duration),
    /// Synced; the power action at this time.
    Final(Duration),
    /// The power action was attempted.
    Done,
}

#[derive(Debug, Clone)]
struct Shutdown {
    action: PowerAction,
    phase: Phase,
    /// `ro.build.shutdown_timeout`.
    timeout: Duration,
    /// When `shutdown_done` began.
    started: Duration,
    /// Services stopped first (everything not shutdown critical).
    stop_first: Vec<usize>,
}

#[derive(Debug, Clone)]
struct ExecChild {
    argv: String,
    cgroup: Option<PathBuf>,
}

/// A mount the shutdown may unmount: an `rw` block device (`/dev/block/…`) or an emulated
/// one (source under `/data/`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct MountEntry {
    source: String,
    dir: String,
}

/// The interpreter state.
pub struct Init {
    actions: Vec<Action>,
    services: Vec<Service>,
    props: PropertyStore,
    queue: VecDeque<Event>,
    current: VecDeque<usize>,
    next_cmd: usize,
    wait: Option<Wait>,
    triggers_enabled: bool,
    /// `StopSendingMessages`: no triggers, no control messages (shutdown).
    messages_stopped: bool,
    execs: BTreeMap<i32, ExecChild>,
    env: Vec<(String, String)>,
    shutdown: Option<Shutdown>,
    layout: Layout,
    labeler: Box<dyn Labeler>,
    /// Cgroups whose processes were killed, removed once empty.
    dead_cgroups: Vec<PathBuf>,
    /// Not-applicable builtins already reported.
    reported: BTreeSet<Builtin>,
    fatal: Option<(&'static str, String)>,
}

impl Init {
    /// Builds the interpreter from parsed config and the initial properties.
    pub fn new(
        config: Config,
        props: PropertyStore,
        layout: Layout,
        labeler: Box<dyn Labeler>,
    ) -> Init {
        Init {
            actions: config.actions,
            services: config.services.into_iter().map(Service::new).collect(),
            props,
            queue: VecDeque::new(),
            current: VecDeque::new(),
            next_cmd: 0,
            wait: None,
            triggers_enabled: false,
            messages_stopped: false,
            execs: BTreeMap::new(),
            env: vec![("PATH".into(), DEFAULT_PATH.into())],
            shutdown: None,
            layout,
            labeler,
            dead_cgroups: Vec::new(),
            reported: BTreeSet::new(),
            fatal: None,
        }
    }

    /// Queues the boot sequence (with AOSP's hardening builtins around `early-init`).
    pub fn queue_boot(&mut self) {
        self.queue
            .push_back(Event::Builtin(BuiltinAction::SetKptrRestrict));
        self.queue.push_back(Event::Trigger("early-init".into()));
        self.queue
            .push_back(Event::Builtin(BuiltinAction::SetMmapRndBits));
        self.queue.push_back(Event::Trigger("init".into()));
        let late = if self.props.get("ro.bootmode") == Some("charger") {
            "charger"
        } else {
            "late-init"
        };
        self.queue.push_back(Event::Trigger(late.into()));
        self.queue.push_back(Event::QueuePropertyTriggers);
    }

    /// The property store.
    pub fn properties(&self) -> &PropertyStore {
        &self.props
    }

    /// State of the service `name`.
    pub fn service_state(&self, name: &str) -> Option<ServiceState> {
        self.services
            .iter()
            .find(|s| s.def.name == name)
            .map(Service::state)
    }

    /// True when a command can run right now (the caller should not sleep).
    pub fn is_busy(&self) -> bool {
        self.fatal.is_none()
            && self.wait.is_none()
            && (self.current_command().is_some() || !self.queue.is_empty())
    }

    /// True once the shutdown sequence has attempted the power action.
    pub fn is_finished(&self) -> bool {
        matches!(
            self.shutdown,
            Some(Shutdown {
                phase: Phase::Done,
                ..
            })
        )
    }

    /// A fatal condition (`(token, detail)`, e.g. a critical service crashing too often):
    /// the caller logs `INIT_FATAL reason=<token> <detail>` and powers off.
    pub fn fatal(&self) -> Option<(&'static str, &str)> {
        self.fatal.as_ref().map(|(t, d)| (*t, d.as_str()))
    }

    /// The earliest time at which [`Init::step`] has timed work to do.
    pub fn next_deadline(&self, now: Duration) -> Option<Duration> {
        let mut next: Option<Duration> = None;
        let mut consider = |t: Duration| next = Some(next.map_or(t, |n| n.min(t)));
        if !self.past_actions() {
            for s in &self.services {
                if s.pid.is_none() && s.restarting {
                    consider(s.restart_at());
                }
            }
        }
        match &self.wait {
            Some(Wait {
                what: WaitFor::File(_, deadline),
                ..
            }) => consider((*deadline).min(now.saturating_add(WAIT_POLL))),
            Some(Wait {
                what: WaitFor::Prop(_, _, deadline),
                ..
            }) => consider(*deadline),
            _ => {}
        }
        if let Some(sd) = &self.shutdown {
            if let Phase::Term(t) | Phase::Unmount(t) | Phase::Final(t) = sd.phase {
                consider(t);
            }
        }
        if !self.dead_cgroups.is_empty() {
            consider(now.saturating_add(UMOUNT_RETRY));
        }
        next
    }

    /// Does everything due now: reaps children, fires restart timers, advances the
    /// shutdown, then runs commands until one waits, the queue is empty, or
    /// [`COMMANDS_PER_STEP`] ran.
    pub fn step(&mut self, p: &mut dyn Platform) {
        for (pid, status) in p.reap() {
            self.child_exited(pid, status, p);
        }
        self.remove_dead_cgroups(p);
        self.run_restart_timers(p);
        self.advance_shutdown(p);
        for _ in 0..COMMANDS_PER_STEP {
            if self.fatal.is_some() || !self.wait_done(p) || !self.run_next(p) {
                break;
            }
        }
        self.advance_shutdown(p);
    }

    /// Sets a property from any source (rc `setprop`, the socket): `ctl.*` control
    /// messages, `sys.powerctl`, triggers and waiters. Returns a `PROP_*` code.
    pub fn set_property(&mut self, name: &str, value: &str, p: &mut dyn Platform) -> u32 {
        #[cfg(feature = "test-hooks")]
        crate::test_hooks::on_set_property(name);
        if let Some(cmd) = name.strip_prefix("ctl.") {
            if self.messages_stopped {
                log::warn!("init: ctl.{cmd} for '{value}' refused: shutting down");
                return PROP_ERROR_HANDLE_CONTROL_MESSAGE;
            }
            return self.control_message(cmd, value, p);
        }
        if let Err(e) = self.props.set(name, value) {
            log::warn!("init: cannot set property {name}={value}: {}", e.reason());
            return match e {
                PropError::InvalidName => PROP_ERROR_INVALID_NAME,
                PropError::InvalidValue => PROP_ERROR_INVALID_VALUE,
                PropError::ReadOnly => PROP_ERROR_READ_ONLY_PROPERTY,
                PropError::Full => PROP_ERROR_SET_FAILED,
            };
        }
        if self.messages_stopped {
            return PROP_SUCCESS;
        }
        if name == "sys.powerctl" {
            self.powerctl(value);
        }
        if self.triggers_enabled && !self.messages_stopped {
            self.queue
                .push_back(Event::Property(name.to_string(), value.to_string()));
        }
        PROP_SUCCESS
    }

    /// Sets `init.svc.<name>` from service `i`'s state (and `ro.boottime.<name>` at its
    /// first start, in nanoseconds since boot).
    fn publish_state(&mut self, i: usize, p: &mut dyn Platform) {
        let Some(s) = self.services.get(i) else {
            return;
        };
        let state = s.state();
        let name = s.def.name.clone();
        let started = s.time_started;
        self.set_internal(&format!("init.svc.{name}"), state.prop_value(), p);
        let boottime = format!("ro.boottime.{name}");
        if matches!(state, ServiceState::Running(_)) && self.props.get(&boottime).is_none() {
            self.set_internal(&boottime, &started.as_nanos().to_string(), p);
        }
    }

    fn set_internal(&mut self, name: &str, value: &str, p: &mut dyn Platform) {
        let code = self.set_property(name, value, p);
        if code != PROP_SUCCESS {
            log::error!("init: cannot set {name}={value}: code 0x{code:x}");
        }
    }

    fn control_message(&mut self, cmd: &str, target: &str, p: &mut dyn Platform) -> u32 {
        log::info!("init: control message ctl.{cmd} for '{target}'");
        let Some(i) = self.service_index(target) else {
            log::error!("init: ctl.{cmd}: service '{target}' not found");
            return PROP_ERROR_HANDLE_CONTROL_MESSAGE;
        };
        let r = match cmd {
            "start" => self.start_service(i, p),
            "stop" => {
                self.stop_service(i, StopHow::Disable, p);
                Ok(())
            }
            "restart" => {
                self.restart_service(i, p);
                Ok(())
            }
            _ => Err(RcError::Invalid(format!(
                "unknown control message ctl.{cmd}"
            ))),
        };
        match r {
            Ok(()) => PROP_SUCCESS,
            Err(e) => {
                log::error!("init: ctl.{cmd} {target}: {e}");
                PROP_ERROR_HANDLE_CONTROL_MESSAGE
            }
        }
    }

    /// AOSP `HandlePowerctlMessage`.
    fn powerctl(&mut self, value: &str) {
        if self.shutdown.is_some() {
            log::warn!("init: powerctl '{value}' ignored: shutdown already in progress");
            return;
        }
        let params: Vec<&str> = value.split(',').collect();
        let action = match params[..] {
            ["shutdown", ..] => PowerAction::PowerOff,
            ["reboot", "userspace", ..] => {
                log::error!("init: powerctl: userspace reboot is deprecated");
                return;
            }
            ["reboot", ref rest @ ..] => PowerAction::Reboot(
                rest.iter()
                    .take_while(|p| !p.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            _ => {
                log::error!("init: powerctl: unrecognized command '{value}'");
                return;
            }
        };
        match &action {
            PowerAction::PowerOff => log::info!("init: powerctl shutdown"),
            PowerAction::Reboot(t) if t.is_empty() => log::info!("init: powerctl reboot"),
            PowerAction::Reboot(t) => log::info!("init: powerctl reboot {t}"),
        }
        // StopSendingMessages, ClearQueue, the shutdown trigger then shutdown_done;
        // EnterShutdown drops pending waits.
        self.messages_stopped = true;
        self.queue.clear();
        self.current.clear();
        self.next_cmd = 0;
        self.wait = None;
        self.queue.push_back(Event::Trigger("shutdown".into()));
        self.queue.push_back(Event::ShutdownDone);
        let timeout = self
            .props
            .get("ro.build.shutdown_timeout")
            .and_then(|t| t.parse::<u64>().ok())
            .map_or(DEFAULT_SHUTDOWN_TIMEOUT, Duration::from_secs);
        self.shutdown = Some(Shutdown {
            action,
            phase: Phase::Actions,
            timeout,
            started: Duration::ZERO,
            stop_first: Vec::new(),
        });
    }

    /// True once `shutdown_done` began (nothing starts or restarts any more).
    fn past_actions(&self) -> bool {
        matches!(&self.shutdown, Some(sd) if sd.phase != Phase::Actions)
    }

    /// AOSP `DoReboot`, up to the SIGTERM.
    fn begin_shutdown(&mut self, p: &mut dyn Platform) {
        let now = p.now();
        if !self.data_mounted(p) {
            log::info!("init: shutdown: /data is not mounted, nothing to unmount");
            self.finish_shutdown(now, p);
            return;
        }
        let mut stop_first = Vec::new();
        for i in 0..self.services.len() {
            let s = &self.services[i];
            if DEBUGGING_SERVICES.contains(&s.def.name.as_str()) {
                continue;
            }
            if s.def.shutdown_critical {
                if let Err(e) = self.start_service(i, p) {
                    log::error!(
                        "init: could not start shutdown critical service '{}': {e}",
                        self.services[i].def.name
                    );
                }
            } else {
                stop_first.push(i);
            }
        }
        // Latest started first, as AOSP's `services_in_shutdown_order`.
        stop_first.sort_by_key(|&i| std::cmp::Reverse(self.services[i].time_started));
        let live = stop_first
            .iter()
            .filter(|&&i| self.services[i].pid.is_some())
            .count()
            + self.execs.len();
        log::info!("init: shutdown: sending SIGTERM to {live} process(es)");
        for &i in &stop_first {
            self.terminate_service(i, p);
        }
        self.signal_execs(libc::SIGTERM, p);
        if let Some(sd) = &mut self.shutdown {
            sd.started = now;
            sd.phase = Phase::Term(now.saturating_add(sd.timeout / 2));
            sd.stop_first = stop_first;
        }
    }

    fn stop_first_live(&self) -> usize {
        let Some(sd) = &self.shutdown else {
            return 0;
        };
        sd.stop_first
            .iter()
            .filter(|&&i| self.services[i].pid.is_some())
            .count()
            + self.execs.len()
    }

    fn advance_shutdown(&mut self, p: &mut dyn Platform) {
        let Some(sd) = &self.shutdown else {
            return;
        };
        let now = p.now();
        match sd.phase {
            Phase::Actions | Phase::Done => {}
            Phase::Term(deadline) => {
                let live = self.stop_first_live();
                if live > 0 && now < deadline {
                    return;
                }
                if live > 0 {
                    log::warn!(
                        "init: shutdown: {live} process(es) still running after SIGTERM, sending SIGKILL"
                    );
                }
                let stop_first = sd.stop_first.clone();
                for i in stop_first {
                    self.stop_service(i, StopHow::Disable, p);
                }
                self.signal_execs(libc::SIGKILL, p);
                for i in 0..self.services.len() {
                    if DEBUGGING_SERVICES.contains(&self.services[i].def.name.as_str()) {
                        self.stop_service(i, StopHow::Disable, p);
                    }
                }
                p.sync();
                self.set_phase(Phase::Unmount(now));
                self.advance_shutdown(p);
            }
            Phase::Unmount(at) if now < at => {}
            Phase::Unmount(_) => {
                let give_up = now >= sd.started.saturating_add(sd.timeout);
                if self.unmount_all(p) {
                    self.finish_shutdown(now, p);
                } else if give_up {
                    log::warn!("init: shutdown: unmount timed out, killing every process");
                    p.kill_all(libc::SIGKILL);
                    self.unmount_all(p);
                    self.finish_shutdown(now, p);
                } else {
                    self.set_phase(Phase::Unmount(now.saturating_add(UMOUNT_RETRY)));
                }
            }
            Phase::Final(at) if now < at => {}
            Phase::Final(_) => {
                let action = sd.action.clone();
                match &action {
                    PowerAction::PowerOff => log::info!("init: shutdown: synced, powering off"),
                    PowerAction::Reboot(t) => log::info!("init: shutdown: synced, rebooting '{t}'"),
                }
                let e = p.power(&action);
                log::error!("init: power action failed: {e}");
                self.set_phase(Phase::Done);
            }
        }
    }

    fn set_phase(&mut self, phase: Phase) {
        if let Some(sd) = &mut self.shutdown {
            sd.phase = phase;
        }
    }

    /// The last sync, then AOSP's short pause before the power action.
    fn finish_shutdown(&mut self, now: Duration, p: &mut dyn Platform) {
        p.sync();
        self.set_phase(Phase::Final(now.saturating_add(FINAL_PAUSE)));
        self.advance_shutdown(p);
    }

    fn signal_execs(&mut self, signal: i32, p: &mut dyn Platform) {
        let targets: Vec<(i32, Option<PathBuf>)> = self
            .execs
            .iter()
            .map(|(pid, e)| (*pid, e.cgroup.clone()))
            .collect();
        for (pid, cgroup) in targets {
            kill_process(pid, cgroup.as_deref(), signal, p);
        }
    }

    /// `/data` is mounted (AOSP `IsDataMounted("*")`).
    fn data_mounted(&self, p: &mut dyn Platform) -> bool {
        let mounts = p
            .read_file(&self.layout.proc_root.join("mounts"), MAX_MOUNTS, false)
            .unwrap_or_default();
        parse_mounts(&String::from_utf8_lossy(&mounts))
            .iter()
            .any(|m| m.dir == "/data")
    }

    /// One pass of AOSP `UmountPartitions`: emulated filesystems, then read-write block
    /// devices. True when nothing is left to unmount.
    fn unmount_all(&mut self, p: &mut dyn Platform) -> bool {
        let text = match p.read_file(&self.layout.proc_root.join("mounts"), MAX_MOUNTS, false) {
            Ok(t) => String::from_utf8_lossy(&t).into_owned(),
            Err(e) => {
                log::error!("init: shutdown: {e}");
                return true;
            }
        };
        let mut block = Vec::new();
        let mut emulated = Vec::new();
        for m in parse_mounts_rw(&text) {
            if m.source.starts_with("/dev/block") {
                if !KEEP_MOUNTED.contains(&m.dir.as_str()) {
                    block.insert(0, m);
                }
            } else if m.source.starts_with("/data/") {
                emulated.insert(0, m);
            }
        }
        if block.is_empty() {
            return true;
        }
        let mut done = true;
        for m in emulated.iter().chain(&block) {
            match p.umount(Path::new(&m.dir)) {
                Ok(()) => log::info!("init: shutdown: unmounted {} from {}", m.source, m.dir),
                Err(e) => {
                    log::warn!("init: shutdown: cannot unmount {}: {e}", m.source);
                    done = false;
                }
            }
        }
        done
    }

    fn service_index(&self, name: &str) -> Option<usize> {
        self.services.iter().position(|s| s.def.name == name)
    }

    fn require_service(&self, name: &str) -> Result<usize, RcError> {
        self.service_index(name)
            .ok_or_else(|| RcError::NoService(name.to_string()))
    }

    fn current_command(&self) -> Option<&Command> {
        let r = *self.current.front()?;
        self.actions.get(r)?.commands.get(self.next_cmd)
    }

    /// Runs one command or dispatches one event; false when there is nothing to do.
    fn run_next(&mut self, p: &mut dyn Platform) -> bool {
        while let Some(&r) = self.current.front() {
            let Some(action) = self.actions.get(r) else {
                self.current.pop_front();
                continue;
            };
            let Some(cmd) = action.commands.get(self.next_cmd).cloned() else {
                self.current.pop_front();
                self.next_cmd = 0;
                continue;
            };
            if self.next_cmd == 0 {
                log::info!(
                    "init: action on={} {}:{}",
                    action.trigger,
                    action.file,
                    action.line
                );
            }
            let file = action.file.clone();
            self.next_cmd += 1;
            self.run_command(&cmd, &file, p);
            return true;
        }
        let Some(ev) = self.queue.pop_front() else {
            return false;
        };
        self.dispatch(ev, p);
        true
    }

    fn run_command(&mut self, cmd: &Command, file: &str, p: &mut dyn Platform) {
        if let Err(e) = self.execute(cmd, p) {
            log::error!(
                "init: command '{}' at {}:{} failed: {e}",
                cmd.args.join(" "),
                file,
                cmd.line
            );
        }
    }

    fn dispatch(&mut self, ev: Event, p: &mut dyn Platform) {
        let props = &self.props;
        let get = |n: &str| props.get(n).map(String::from);
        let matching: Vec<usize> = match &ev {
            Event::Trigger(name) => self
                .actions
                .iter()
                .enumerate()
                .filter(|(_, a)| a.trigger.matches_event(name, &get))
                .map(|(i, _)| i)
                .collect(),
            Event::Property(name, value) => self
                .actions
                .iter()
                .enumerate()
                .filter(|(_, a)| a.trigger.matches_property(name, value, &get))
                .map(|(i, _)| i)
                .collect(),
            Event::AllProperties => self
                .actions
                .iter()
                .enumerate()
                .filter(|(_, a)| a.trigger.matches_all_properties(&get))
                .map(|(i, _)| i)
                .collect(),
            Event::Builtin(_)
            | Event::QueuePropertyTriggers
            | Event::EnablePropertyTriggers
            | Event::ShutdownDone => Vec::new(),
        };
        match ev {
            Event::Builtin(action) => self.run_builtin_action(action, p),
            Event::QueuePropertyTriggers => {
                self.queue.push_back(Event::EnablePropertyTriggers);
                self.queue.push_back(Event::AllProperties);
            }
            Event::EnablePropertyTriggers => {
                log::info!("init: property triggers enabled");
                self.triggers_enabled = true;
            }
            Event::ShutdownDone => self.begin_shutdown(p),
            _ => {}
        }
        self.current.extend(matching);
        self.next_cmd = 0;
    }

    /// Checks the pending wait; true when commands may run.
    fn wait_done(&mut self, p: &mut dyn Platform) -> bool {
        let Some(w) = self.wait.clone() else {
            return true;
        };
        let now = p.now();
        let done = match &w.what {
            WaitFor::Exec(pid) => !self.execs.contains_key(pid),
            WaitFor::Service(i) => self.services.get(*i).is_none_or(|s| s.pid.is_none()),
            WaitFor::Prop(n, v, deadline) => {
                if self.props.get(n) == Some(v.as_str()) {
                    true
                } else if now < *deadline {
                    false
                } else if n == COLD_BOOT_DONE && v == "true" {
                    // AOSP panicked after a minute without coldboot (`init.cpp` up to
                    // Android 9): a guest without its /dev nodes cannot do anything.
                    self.fatal = Some((
                        "COLDBOOT_TIMEOUT",
                        format!(
                            "ueventd did not set {COLD_BOOT_DONE}=true within {}ms",
                            now.saturating_sub(w.since).as_millis()
                        ),
                    ));
                    return false;
                } else {
                    log::error!(
                        "init: command '{}' failed: {}",
                        w.text,
                        RcError::Timeout(format!("{n}={v}"))
                    );
                    true
                }
            }
            WaitFor::File(path, deadline) => {
                if p.exists(path) {
                    true
                } else if now >= *deadline {
                    log::error!(
                        "init: command '{}' failed: {}",
                        w.text,
                        RcError::Timeout(path.display().to_string())
                    );
                    true
                } else {
                    false
                }
            }
        };
        if done {
            let ms = now.saturating_sub(w.since).as_millis();
            log::info!("init: '{}' done after {ms}ms", w.text);
            let coldboot = matches!(&w.what, WaitFor::Prop(n, _, _) if n == COLD_BOOT_DONE);
            self.wait = None;
            if coldboot {
                // AOSP `CheckAndResetWait`: how long init waited for coldboot.
                self.set_internal("ro.boottime.init.cold_boot_wait", &ms.to_string(), p);
            }
        }
        done
    }

    /// Waits for `what` before the next command; a waiting command run while another
    /// wait is pending (from `onrestart`) does not replace it.
    fn set_wait(&mut self, what: WaitFor, text: String, p: &mut dyn Platform) {
        if self.wait.is_some() {
            log::warn!("init: '{text}' does not wait: another command is waiting");
            return;
        }
        self.wait = Some(Wait {
            what,
            since: p.now(),
            text,
        });
    }

    fn child_exited(&mut self, pid: i32, status: ExitStatus, p: &mut dyn Platform) {
        let code = status.code();
        if let Some(e) = self.execs.remove(&pid) {
            log::info!("init: exec '{}' pid={pid} status={code}", e.argv);
            if let Some(cg) = e.cgroup {
                self.kill_and_forget(cg, p);
            }
            return;
        }
        let Some(i) = self.services.iter().position(|s| s.pid == Some(pid)) else {
            log::info!("init: reaped orphan pid={pid} status={code}");
            return;
        };
        let name = self.services[i].def.name.clone();
        log::info!("init: service {name} exited status={code}");
        if let Some(cg) = self.services[i].cgroup.take() {
            self.kill_and_forget(cg, p);
        } else if let Err(e) = p.kill(pid, libc::SIGKILL) {
            log::debug!("init: service {name}: process group of {pid}: {e}");
        }
        let now = p.now();
        let boot_completed = self.props.get("sys.boot_completed") == Some("1");
        match self.services[i].reaped(now, boot_completed) {
            AfterReap::Stopped => self.publish_state(i, p),
            AfterReap::Restarting(at) => {
                if !self.past_actions() {
                    log::info!(
                        "init: service {name} restarting in {}ms",
                        at.saturating_sub(now).as_millis()
                    );
                }
                let def = &self.services[i].def;
                let (onrestart, file) = (def.onrestart.clone(), def.file.clone());
                for cmd in &onrestart {
                    self.run_command(cmd, &file, p);
                }
                self.publish_state(i, p);
            }
            AfterReap::Fatal { crashes, reason } => {
                if self.props.get(&format!("init.svc_debug.no_fatal.{name}")) == Some("1") {
                    log::error!("init: critical process '{name}' exited {crashes} times {reason} (no_fatal set)");
                    self.services[i].restarting = true;
                    self.publish_state(i, p);
                    return;
                }
                let target = self.services[i]
                    .def
                    .critical
                    .as_ref()
                    .map(|c| c.target.clone())
                    .unwrap_or_default();
                self.fatal = Some((
                    "CRITICAL_SERVICE",
                    format!(
                        "{name} exited {} times {reason} (AOSP would reboot to '{target}')",
                        crashes.saturating_sub(1)
                    ),
                ));
            }
        }
    }

    /// Kills what is left in `cgroup` and removes it once empty.
    fn kill_and_forget(&mut self, cgroup: PathBuf, p: &mut dyn Platform) {
        if let Err(e) = p.kill_cgroup(&cgroup, libc::SIGKILL) {
            log::warn!("init: {e}");
        }
        self.dead_cgroups.push(cgroup);
        self.remove_dead_cgroups(p);
    }

    fn remove_dead_cgroups(&mut self, p: &mut dyn Platform) {
        self.dead_cgroups.retain(|cg| match p.remove_cgroup(cg) {
            Ok(removed) => !removed,
            Err(e) => {
                log::warn!("init: {e}");
                false
            }
        });
    }

    fn run_restart_timers(&mut self, p: &mut dyn Platform) {
        if self.past_actions() || self.fatal.is_some() {
            return;
        }
        let now = p.now();
        for i in 0..self.services.len() {
            let s = &self.services[i];
            if s.pid.is_none() && s.restarting && s.restart_at() <= now {
                if let Err(e) = self.start_service(i, p) {
                    log::error!(
                        "init: could not restart process '{}': {e}",
                        self.services[i].def.name
                    );
                }
            }
        }
    }

    fn stdio_for(&self, opt: &StdioOption) -> StdioSpec {
        let null = self.layout.dev.join("null");
        match opt {
            StdioOption::Null => StdioSpec {
                stdin: null.clone(),
                stdout: null,
            },
            StdioOption::Kmsg => StdioSpec {
                stdin: null,
                stdout: self.layout.dev.join("kmsg"),
            },
            StdioOption::Console(tty) => {
                // `console` alone: `androidboot.console` (as AOSP), else `/dev/console`.
                let name = tty
                    .as_deref()
                    .or_else(|| self.props.get("ro.boot.console"))
                    .filter(|t| !t.is_empty() && !t.contains('/') && *t != "..")
                    .unwrap_or("console");
                let c = self.layout.dev.join(name);
                StdioSpec {
                    stdin: c.clone(),
                    stdout: c,
                }
            }
        }
    }

    /// The SELinux domain `program` starts in (`None` with SELinux off); a program whose
    /// domain cannot be entered is refused, as AOSP refuses it, before anything runs.
    fn exec_domain(
        &self,
        who: &str,
        program: &str,
        seclabel: Option<&str>,
    ) -> Result<Option<String>, RcError> {
        self.labeler
            .exec_domain(who, Path::new(program), seclabel)
            .map_err(RcError::Refused)
    }

    /// The uid directory a child's `pid_<pid>` cgroup is created in (AOSP's
    /// `uid_<uid>/pid_<pid>` layout).
    fn cgroup_parent(&self, uid: u32) -> Option<PathBuf> {
        self.layout
            .cgroup
            .as_ref()
            .map(|root| root.join(format!("uid_{uid}")))
    }

    /// AOSP `Service::Start`.
    fn start_service(&mut self, i: usize, p: &mut dyn Platform) -> Result<(), RcError> {
        if self.past_actions() {
            return Err(RcError::Invalid("shutting down".into()));
        }
        if !self.services[i].begin_start() {
            return Ok(());
        }
        let def = &self.services[i].def;
        let Some(program) = def.args.first() else {
            return Err(RcError::Invalid(format!(
                "service '{}' has no program",
                def.name
            )));
        };
        let props = &self.props;
        let get = |n: &str| props.get(n).map(String::from);
        let mut args = Vec::with_capacity(def.args.len());
        for (k, a) in def.args.iter().enumerate() {
            args.push(if k == 0 { a.clone() } else { expand(a, &get)? });
        }
        let mut env = self.env.clone();
        for (k, v) in &def.env {
            set_env(&mut env, k, v);
        }
        let spec = SpawnSpec {
            path: PathBuf::from(program),
            args,
            env,
            uid: def.uid,
            gid: def.gid,
            groups: def.groups.clone(),
            seclabel: self.exec_domain(&def.name, program, def.seclabel.as_deref())?,
            stdio: self.stdio_for(&def.stdio),
            files: def
                .files
                .iter()
                .map(|f| FileSpec {
                    path: PathBuf::from(&f.path),
                    read: f.read,
                    write: f.write,
                })
                .collect(),
            sockets: def
                .sockets
                .iter()
                .map(|s| SocketSpec {
                    name: s.name.clone(),
                    path: self.layout.dev.join("socket").join(&s.name),
                    kind: s.kind,
                    passcred: s.passcred,
                    listen: s.listen,
                    perm: s.perm,
                    uid: s.uid,
                    gid: s.gid,
                })
                .collect(),
            cgroup_parent: self.cgroup_parent(def.uid),
            capabilities: def.capabilities,
        };
        let name = def.name.clone();
        match p.spawn(&spec) {
            Ok(pid) => {
                let now = p.now();
                let s = &mut self.services[i];
                s.started(pid, now);
                s.cgroup = spec.cgroup_parent.map(|c| c.join(format!("pid_{pid}")));
                log::info!("init: service {name} started pid={pid}");
                self.publish_state(i, p);
                Ok(())
            }
            Err(e) => {
                // AOSP disables a service it cannot start.
                self.services[i].disabled = true;
                self.publish_state(i, p);
                Err(e)
            }
        }
    }

    /// AOSP `StopOrReset`: kills the service's cgroup (or process group) with SIGKILL.
    fn stop_service(&mut self, i: usize, how: StopHow, p: &mut dyn Platform) {
        if let Some(pid) = self.services[i].stop_or_reset(how) {
            let cgroup = self.services[i].cgroup.clone();
            kill_process(pid, cgroup.as_deref(), libc::SIGKILL, p);
        }
        self.publish_state(i, p);
    }

    /// AOSP `Terminate` (shutdown): disabled, SIGTERM to its cgroup.
    fn terminate_service(&mut self, i: usize, p: &mut dyn Platform) {
        let s = &mut self.services[i];
        s.restarting = false;
        s.disabled_start = false;
        s.disabled = true;
        if let Some(pid) = s.pid {
            s.stopping = true;
            let cgroup = s.cgroup.clone();
            kill_process(pid, cgroup.as_deref(), libc::SIGTERM, p);
            self.publish_state(i, p);
        }
    }

    /// AOSP `Restart`: a running service is stopped and restarted once reaped; a stopped
    /// one starts now; a restarting one is left to its timer.
    fn restart_service(&mut self, i: usize, p: &mut dyn Platform) {
        let s = &self.services[i];
        if s.pid.is_some() {
            self.stop_service(i, StopHow::Restart, p);
        } else if !s.restarting {
            if let Err(e) = self.start_service(i, p) {
                log::error!(
                    "init: could not restart '{}': {e}",
                    self.services[i].def.name
                );
            }
        }
    }

    fn class_indices(&self, class: &str) -> Vec<usize> {
        (0..self.services.len())
            .filter(|&i| self.services[i].in_class(class))
            .collect()
    }

    /// `wait_for_prop`'s deadline: [`WAIT_FOR_PROP_TIMEOUT_PROP`] if valid, else the default.
    fn wait_for_prop_timeout(&self) -> Duration {
        match self.props.get(WAIT_FOR_PROP_TIMEOUT_PROP) {
            None => DEFAULT_WAIT_FOR_PROP,
            Some(v) => match v.parse::<u64>() {
                Ok(secs @ 1..=3600) => Duration::from_secs(secs),
                _ => {
                    log::warn!(
                        "init: {WAIT_FOR_PROP_TIMEOUT_PROP}={v} is not 1 to 3600 seconds; using {}s",
                        DEFAULT_WAIT_FOR_PROP.as_secs()
                    );
                    DEFAULT_WAIT_FOR_PROP
                }
            },
        }
    }

    /// AOSP's `SetKptrRestrict` and `SetMmapRndBits` ([`crate::hardening`]); failing is
    /// fatal.
    fn run_builtin_action(&mut self, action: BuiltinAction, p: &mut dyn Platform) {
        let proc_root = self.layout.proc_root.clone();
        match action {
            BuiltinAction::SetKptrRestrict => match hardening::set_kptr_restrict(p, &proc_root) {
                Ok(v) => log::info!("init: kptr_restrict set to {v}"),
                Err(e) => self.fatal = Some(("KPTR_RESTRICT", e)),
            },
            BuiltinAction::SetMmapRndBits => {
                let has_32bit_abi = self
                    .props
                    .get("ro.product.cpu.abilist32")
                    .is_some_and(|v| !v.is_empty());
                let arch = hardening::Arch::current();
                match hardening::set_mmap_rnd_bits(p, &proc_root, arch, has_32bit_abi) {
                    Ok(r) => match r.compat_bits {
                        Some(c) => log::info!(
                            "init: mmap_rnd_bits set to {}, mmap_rnd_compat_bits to {c}",
                            r.bits
                        ),
                        None => log::info!("init: mmap_rnd_bits set to {}", r.bits),
                    },
                    Err(e) => self.fatal = Some(("MMAP_RND_BITS", e)),
                }
            }
        }
    }

    /// Logs once per boot that a builtin has nothing to do in this guest.
    fn not_applicable(&mut self, builtin: Builtin, why: &str) {
        if self.reported.insert(builtin) {
            log::info!("init: {why}");
        }
    }

    fn execute(&mut self, cmd: &Command, p: &mut dyn Platform) -> Result<(), RcError> {
        let props = &self.props;
        let get = |n: &str| props.get(n).map(String::from);
        let mut a = Vec::with_capacity(cmd.args.len().saturating_sub(1));
        for arg in cmd.args.iter().skip(1) {
            a.push(expand(arg, &get)?);
        }
        let text = cmd.args.join(" ");
        let (min, max) = arity(cmd.builtin);
        if a.len() < min || a.len() > max {
            return Err(RcError::Invalid(format!(
                "wrong number of arguments in '{text}'"
            )));
        }
        let path = |s: &String| PathBuf::from(s);
        match cmd.builtin {
            Builtin::Chmod => p.chmod(&path(&a[1]), mode_arg(&a[0])?),
            Builtin::Chown => {
                let (owner, group, target) = if a.len() == 3 {
                    (&a[0], Some(&a[1]), &a[2])
                } else {
                    (&a[0], None, &a[1])
                };
                let uid = id_arg("user", owner)?;
                let gid = group.map(|g| id_arg("group", g)).transpose()?;
                p.chown(&path(target), Some(uid), gid)
            }
            Builtin::ClassStart => {
                for i in self.class_indices(&a[0]) {
                    if self.services[i].disabled {
                        self.services[i].disabled_start = true;
                    } else if let Err(e) = self.start_service(i, p) {
                        log::error!(
                            "init: class_start {}: service {}: {e}",
                            a[0],
                            self.services[i].def.name
                        );
                    }
                }
                Ok(())
            }
            Builtin::ClassStop | Builtin::ClassReset => {
                let how = if cmd.builtin == Builtin::ClassStop {
                    StopHow::Disable
                } else {
                    StopHow::Reset
                };
                for i in self.class_indices(&a[0]) {
                    self.stop_service(i, how, p);
                }
                Ok(())
            }
            Builtin::ClassRestart => {
                let (only_enabled, class) = match a.as_slice() {
                    [flag, class] if flag == "--only-enabled" => (true, class.clone()),
                    [class] => (false, class.clone()),
                    _ => return Err(RcError::Invalid(format!("unexpected argument '{}'", a[0]))),
                };
                for i in self.class_indices(&class) {
                    if !(only_enabled && self.services[i].disabled) {
                        self.restart_service(i, p);
                    }
                }
                Ok(())
            }
            Builtin::Copy => {
                let data = p.read_file(&path(&a[0]), MAX_COPY, true)?;
                p.write_file(&path(&a[1]), &data)
            }
            Builtin::Domainname | Builtin::Hostname => {
                let leaf = if cmd.builtin == Builtin::Hostname {
                    "hostname"
                } else {
                    "domainname"
                };
                let f = self.layout.proc_root.join("sys/kernel").join(leaf);
                p.write_file(&f, a[0].as_bytes())
            }
            Builtin::Enable => {
                let i = self.require_service(&a[0])?;
                let s = &mut self.services[i];
                s.disabled = false;
                s.rc_disabled = false;
                if s.disabled_start {
                    return self.start_service(i, p);
                }
                Ok(())
            }
            Builtin::Exec | Builtin::ExecBackground => {
                self.exec(&a, cmd.builtin == Builtin::Exec, &text, p)
            }
            Builtin::ExecStart => {
                // AOSP `ExecStart`: the service becomes oneshot; init waits for it to
                // exit, also when it was running already.
                let i = self.require_service(&a[0])?;
                self.services[i].oneshot = true;
                self.start_service(i, p)?;
                self.set_wait(WaitFor::Service(i), text, p);
                Ok(())
            }
            Builtin::Export => {
                set_env(&mut self.env, &a[0], &a[1]);
                Ok(())
            }
            Builtin::Insmod => {
                let (force, rest) = match a.split_first() {
                    Some((f, rest)) if f == "-f" => (true, rest),
                    _ => (false, &a[..]),
                };
                let Some((module, opts)) = rest.split_first() else {
                    return Err(RcError::Invalid("insmod needs a module path".into()));
                };
                p.insmod(&path(module), &opts.join(" "), force)
            }
            Builtin::Loglevel => {
                let level = match a[0].parse::<u32>() {
                    Ok(7) => log::LevelFilter::Debug,
                    Ok(6) => log::LevelFilter::Info,
                    Ok(4 | 5) => log::LevelFilter::Warn,
                    Ok(0..=3) => log::LevelFilter::Error,
                    _ => return Err(RcError::Invalid(format!("invalid log level '{}'", a[0]))),
                };
                p.set_log_level(level);
                Ok(())
            }
            Builtin::MarkPostData => {
                self.not_applicable(
                    cmd.builtin,
                    "mark_post_data: not applicable here (no userdata checkpointing or post-data services); nothing done",
                );
                Ok(())
            }
            Builtin::Mkdir => self.mkdir(&a, p),
            Builtin::Mount => mount(&a, p),
            Builtin::PerformApexConfig => {
                self.not_applicable(
                    cmd.builtin,
                    "perform_apex_config: not applicable here (no APEXes); nothing done",
                );
                Ok(())
            }
            Builtin::Restart => {
                let (only_running, name) = match a.as_slice() {
                    [flag, name] if flag == "--only-if-running" => (true, name),
                    [name] => (false, name),
                    _ => {
                        return Err(RcError::Invalid(format!(
                            "invalid restart arguments '{}'",
                            a.join(" ")
                        )))
                    }
                };
                let i = self.require_service(name)?;
                if !(only_running && self.services[i].pid.is_none()) {
                    self.restart_service(i, p);
                }
                Ok(())
            }
            Builtin::Restorecon | Builtin::RestoreconRecursive => {
                let mut recursive = cmd.builtin == Builtin::RestoreconRecursive;
                let mut paths = Vec::new();
                for arg in &a {
                    match arg.as_str() {
                        "--recursive" => recursive = true,
                        "--skip-ce" | "--cross-filesystems" => {}
                        s if s.starts_with("--") => {
                            return Err(RcError::Invalid(format!("unknown restorecon flag '{s}'")))
                        }
                        s => paths.push(PathBuf::from(s)),
                    }
                }
                for pth in paths {
                    self.labeler.restorecon(&pth, recursive).map_err(|e| {
                        RcError::Invalid(format!("restorecon {}: {e}", pth.display()))
                    })?;
                }
                Ok(())
            }
            Builtin::Rm => p.unlink(&path(&a[0])),
            Builtin::Rmdir => p.rmdir(&path(&a[0])),
            Builtin::Setprop => match self.set_property(&a[0], &a[1], p) {
                PROP_SUCCESS => Ok(()),
                code => Err(RcError::Rejected {
                    name: a[0].clone(),
                    code,
                }),
            },
            Builtin::Setrlimit => {
                let res = rlimit_resource(&a[0])?;
                p.setrlimit(res, rlimit_value(&a[1])?, rlimit_value(&a[2])?)
            }
            Builtin::Start => {
                let i = self.require_service(&a[0])?;
                self.start_service(i, p)
            }
            Builtin::Stop => {
                let i = self.require_service(&a[0])?;
                self.stop_service(i, StopHow::Disable, p);
                Ok(())
            }
            Builtin::Symlink => p.symlink(&path(&a[0]), &path(&a[1])),
            Builtin::Trigger => {
                self.queue.push_back(Event::Trigger(a[0].clone()));
                Ok(())
            }
            Builtin::Umount => p.umount(&path(&a[0])),
            Builtin::Wait => {
                let timeout = match a.get(1) {
                    Some(t) => seconds_arg(t)?,
                    None => DEFAULT_WAIT,
                };
                let target = path(&a[0]);
                if !p.exists(&target) {
                    let deadline = p.now().saturating_add(timeout);
                    self.set_wait(WaitFor::File(target, deadline), text, p);
                }
                Ok(())
            }
            Builtin::WaitForProp => {
                if self.props.get(&a[0]) != Some(a[1].as_str()) {
                    let deadline = p.now().saturating_add(self.wait_for_prop_timeout());
                    self.set_wait(WaitFor::Prop(a[0].clone(), a[1].clone(), deadline), text, p);
                }
                Ok(())
            }
            Builtin::Write => p.write_file(&path(&a[0]), a[1].as_bytes()),
        }
    }

    /// `exec`/`exec_background`: a temporary oneshot service (AOSP
    /// `MakeTemporaryOneshotService`) with `/dev/null` stdio, its own cgroup, no state
    /// property. `a` was expanded once, when the command ran (**Ours**: AOSP expands the
    /// arguments again as the temporary service starts, so a property value holding
    /// `${…}` would be expanded a second time).
    fn exec(
        &mut self,
        a: &[String],
        foreground: bool,
        text: &str,
        p: &mut dyn Platform,
    ) -> Result<(), RcError> {
        if self.past_actions() {
            return Err(RcError::Invalid("shutting down".into()));
        }
        let (pre, argv) = match a.iter().position(|x| x == "--") {
            Some(i) => (&a[..i], &a[i + 1..]),
            None => (&a[..0], a),
        };
        let Some(program) = argv.first() else {
            return Err(RcError::Invalid("exec needs a command".into()));
        };
        let seclabel = self.exec_domain(
            "exec",
            program,
            pre.first().map(String::as_str).filter(|s| *s != "-"),
        )?;
        let uid = pre
            .get(1)
            .map(|u| id_arg("user", u))
            .transpose()?
            .unwrap_or(0);
        let gid = pre
            .get(2)
            .map(|g| id_arg("group", g))
            .transpose()?
            .unwrap_or(0);
        let groups = pre
            .iter()
            .skip(3)
            .map(|g| id_arg("group", g))
            .collect::<Result<Vec<_>, _>>()?;
        let null = self.layout.dev.join("null");
        let spec = SpawnSpec {
            path: PathBuf::from(program),
            args: argv.to_vec(),
            env: self.env.clone(),
            uid,
            gid,
            groups,
            seclabel,
            stdio: StdioSpec {
                stdin: null.clone(),
                stdout: null,
            },
            files: Vec::new(),
            sockets: Vec::new(),
            cgroup_parent: self.cgroup_parent(uid),
            capabilities: None,
        };
        let pid = p.spawn(&spec)?;
        let argv_text = argv.join(" ");
        log::info!("init: exec '{argv_text}' started pid={pid}");
        let cgroup = spec.cgroup_parent.map(|c| c.join(format!("pid_{pid}")));
        self.execs.insert(
            pid,
            ExecChild {
                argv: argv_text,
                cgroup,
            },
        );
        if foreground {
            self.set_wait(WaitFor::Exec(pid), text.to_string(), p);
        }
        Ok(())
    }

    fn mkdir(&mut self, a: &[String], p: &mut dyn Platform) -> Result<(), RcError> {
        let target = PathBuf::from(&a[0]);
        let positional: Vec<&String> = a[1..].iter().take_while(|s| !s.contains('=')).collect();
        for opt in &a[1 + positional.len()..] {
            if !(opt.starts_with("encryption=") || opt.starts_with("key=")) {
                return Err(RcError::Invalid(format!("unknown mkdir option '{opt}'")));
            }
            log::debug!("init: mkdir {}: '{opt}' not acted on", a[0]);
        }
        if positional.len() > 3 {
            return Err(RcError::Invalid(format!(
                "too many mkdir arguments for {}",
                a[0]
            )));
        }
        let mode = match positional.first() {
            Some(m) => mode_arg(m)?,
            None => 0o755,
        };
        let uid = positional.get(1).map(|u| id_arg("user", u)).transpose()?;
        let gid = positional.get(2).map(|g| id_arg("group", g)).transpose()?;
        let created = p.mkdir(&target, mode)?;
        if created || !positional.is_empty() {
            p.chmod(&target, mode)?;
        }
        if uid.is_some() || gid.is_some() {
            p.chown(&target, uid.or(Some(0)), gid.or(Some(0)))?;
        }
        if created && self.labeler.selinux_active() {
            self.labeler
                .restorecon(&target, false)
                .map_err(|e| RcError::Invalid(format!("restorecon {}: {e}", a[0])))?;
        }
        Ok(())
    }
}

/// Signals a child: its whole cgroup when it has one, else its process group.
fn kill_process(pid: i32, cgroup: Option<&Path>, signal: i32, p: &mut dyn Platform) {
    let r = match cgroup {
        Some(cg) => p.kill_cgroup(cg, signal),
        None => p.kill(pid, signal),
    };
    if let Err(e) = r {
        log::warn!("init: signal {signal} to {pid}: {e}");
    }
}

/// Undoes `/proc/mounts`' octal escapes (`\040` for a space, …).
fn unescape_mount_field(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            if let Some(v) = s
                .get(i + 1..i + 4)
                .and_then(|d| u8::from_str_radix(d, 8).ok())
            {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every entry of `/proc/mounts`: `(source, dir, options)`.
fn mount_lines(text: &str) -> Vec<(MountEntry, String)> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_ascii_whitespace();
            let (source, dir, _ty, opts) = (f.next()?, f.next()?, f.next()?, f.next()?);
            Some((
                MountEntry {
                    source: unescape_mount_field(source),
                    dir: unescape_mount_field(dir),
                },
                opts.to_string(),
            ))
        })
        .collect()
}

/// Every mount.
fn parse_mounts(text: &str) -> Vec<MountEntry> {
    mount_lines(text).into_iter().map(|(m, _)| m).collect()
}

/// The mounts with the `rw` option (AOSP `hasmntopt(…, "rw")`).
fn parse_mounts_rw(text: &str) -> Vec<MountEntry> {
    mount_lines(text)
        .into_iter()
        .filter(|(_, o)| o.split(',').any(|x| x == "rw"))
        .map(|(m, _)| m)
        .collect()
}

fn set_env(env: &mut Vec<(String, String)>, k: &str, v: &str) {
    match env.iter_mut().find(|(n, _)| n == k) {
        Some(e) => e.1 = v.to_string(),
        None => env.push((k.to_string(), v.to_string())),
    }
}

fn mode_arg(s: &str) -> Result<u32, RcError> {
    parse_mode(s).ok_or_else(|| RcError::Invalid(format!("invalid mode '{s}'")))
}

fn id_arg(kind: &str, s: &str) -> Result<u32, RcError> {
    resolve_id(s).ok_or_else(|| RcError::Invalid(format!("unknown {kind} '{s}'")))
}

fn seconds_arg(s: &str) -> Result<Duration, RcError> {
    s.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0 && *v <= 1e6)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| RcError::Invalid(format!("invalid timeout '{s}'")))
}

const MOUNT_FLAGS: &[(&str, libc::c_ulong)] = &[
    ("defaults", 0),
    ("rw", 0),
    ("ro", libc::MS_RDONLY),
    ("remount", libc::MS_REMOUNT),
    ("noatime", libc::MS_NOATIME),
    ("nodiratime", libc::MS_NODIRATIME),
    ("relatime", libc::MS_RELATIME),
    ("nosuid", libc::MS_NOSUID),
    ("nodev", libc::MS_NODEV),
    ("noexec", libc::MS_NOEXEC),
    ("sync", libc::MS_SYNCHRONOUS),
    ("dirsync", libc::MS_DIRSYNC),
    ("bind", libc::MS_BIND),
    ("rec", libc::MS_REC),
    ("unbindable", libc::MS_UNBINDABLE),
    ("private", libc::MS_PRIVATE),
    ("slave", libc::MS_SLAVE),
    ("shared", libc::MS_SHARED),
];

/// `mount <type> <device> <dir> [flag…] [options]`: the last word that is not a flag is
/// the option string; `wait` requires the device to exist (**Ours:** no waiting).
fn mount(a: &[String], p: &mut dyn Platform) -> Result<(), RcError> {
    let (fstype, source, target) = (&a[0], &a[1], &a[2]);
    if source.starts_with("loop@") {
        return Err(RcError::Invalid("loop@ mounts are not supported".into()));
    }
    let mut flags: libc::c_ulong = 0;
    let mut data = None;
    let rest = &a[3..];
    for (i, w) in rest.iter().enumerate() {
        if let Some(&(_, f)) = MOUNT_FLAGS.iter().find(|(n, _)| n == w) {
            flags |= f;
        } else if w == "wait" {
            if !p.exists(Path::new(source)) {
                return Err(RcError::Invalid(format!(
                    "mount: device {source} not present"
                )));
            }
        } else if i + 1 == rest.len() {
            data = Some(w.clone());
        } else {
            return Err(RcError::Invalid(format!("unknown mount flag '{w}'")));
        }
    }
    p.mount(&MountSpec {
        source: source.clone(),
        target: PathBuf::from(target),
        fstype: fstype.clone(),
        flags,
        data,
    })
}

const RLIMITS: &[&str] = &[
    "cpu",
    "fsize",
    "data",
    "stack",
    "core",
    "rss",
    "nproc",
    "nofile",
    "memlock",
    "as",
    "locks",
    "sigpending",
    "msgqueue",
    "nice",
    "rtprio",
    "rttime",
];

/// `cpu`, `RLIM_CPU`, `RLIMIT_CPU` or the number.
fn rlimit_resource(s: &str) -> Result<Rlimit, RcError> {
    let lower = s.to_ascii_lowercase();
    let name = lower
        .strip_prefix("rlimit_")
        .or_else(|| lower.strip_prefix("rlim_"))
        .unwrap_or(&lower);
    if let Some(i) = RLIMITS.iter().position(|r| *r == name) {
        return u32::try_from(i)
            .map(Rlimit)
            .map_err(|_| RcError::Invalid(s.into()));
    }
    match s.parse::<u32>() {
        Ok(n) if (n as usize) < RLIMITS.len() => Ok(Rlimit(n)),
        _ => Err(RcError::Invalid(format!("unknown rlimit resource '{s}'"))),
    }
}

fn rlimit_value(s: &str) -> Result<u64, RcError> {
    if s == "unlimited" || s == "-1" {
        return Ok(u64::MAX);
    }
    s.parse::<u64>()
        .map_err(|_| RcError::Invalid(format!("invalid rlimit value '{s}'")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rlimit_parsing() {
        assert_eq!(rlimit_resource("nice").unwrap(), Rlimit(13));
        assert_eq!(rlimit_resource("RLIMIT_NOFILE").unwrap(), Rlimit(7));
        assert_eq!(rlimit_resource("RLIM_CPU").unwrap(), Rlimit(0));
        assert_eq!(rlimit_resource("4").unwrap(), Rlimit(4));
        assert!(rlimit_resource("16").is_err());
        assert!(rlimit_resource("bogus").is_err());
        assert_eq!(rlimit_value("unlimited").unwrap(), u64::MAX);
        assert_eq!(rlimit_value("-1").unwrap(), u64::MAX);
        assert_eq!(rlimit_value("40").unwrap(), 40);
        assert!(rlimit_value("-2").is_err());
    }

    #[test]
    fn timeouts() {
        assert_eq!(seconds_arg("0.5").unwrap(), Duration::from_millis(500));
        for bad in ["-1", "nan", "inf", "1e9", "x"] {
            assert!(seconds_arg(bad).is_err(), "{bad}");
        }
    }
}
