//! The pure interpreter: the event queue, action execution one command at a time,
//! waiting commands that yield to the event loop, services and their restarts, property
//! sets with triggers and control messages, and the `sys.powerctl` shutdown sequence.
//! Everything that touches the OS goes through [`Platform`]; time comes from
//! [`Platform::now`], so unit tests drive it with a fake clock.
//!
//! Boot order (AOSP `init.cpp`): `early-init`, `init`, `late-init` (or `charger` when
//! `ro.bootmode=charger`), then a builtin step that enables property triggers and queues
//! every property-only action whose conditions hold — after everything `late-init`
//! itself triggered (`early-fs` … `boot`), since `trigger` only appends to the queue.
//!
//! Waiting commands (`exec`, `exec_start`, `wait`, `wait_for_prop`) never block: they
//! record what they wait for and [`Init::step`] returns, so the caller keeps serving the
//! property socket and reaping children while they wait.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::command::{arity, Builtin, Command};
use crate::error::RcError;
use crate::expand::expand;
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
use crate::service::{parse_mode, AfterExit, Service, ServiceState, StdioOption};

/// Commands run per [`Init::step`] before returning to the event loop.
pub const COMMANDS_PER_STEP: usize = 64;
/// Default timeout of `wait <path>` (AOSP: 5 s).
pub const DEFAULT_WAIT: Duration = Duration::from_secs(5);
/// How often `wait <path>` re-checks the path.
pub const WAIT_POLL: Duration = Duration::from_millis(10);
/// After SIGTERM at shutdown, how long services get before SIGKILL.
pub const SHUTDOWN_TERM_TIMEOUT: Duration = Duration::from_secs(5);
/// After SIGKILL at shutdown, how long to wait for the reaper before powering off.
pub const SHUTDOWN_KILL_TIMEOUT: Duration = Duration::from_secs(1);
/// Largest file `copy` reads.
pub const MAX_COPY: usize = 16 << 20;
/// The default `PATH` of children.
pub const DEFAULT_PATH: &str = "/system/bin:/system/xbin:/odm/bin:/vendor/bin:/vendor/xbin";

/// Where the interpreter finds device nodes and procfs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// `/dev` (for `null`, `kmsg`, `console`, `socket/`).
    pub dev: PathBuf,
    /// `/proc` (for `sys/kernel/hostname`, …).
    pub proc_root: PathBuf,
}

impl Default for Layout {
    fn default() -> Layout {
        Layout {
            dev: PathBuf::from("/dev"),
            proc_root: PathBuf::from("/proc"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ActionRef {
    Rc(usize),
    OnRestart(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    Trigger(String),
    Property(String, String),
    QueuePropertyTriggers,
    EnablePropertyTriggers,
    AllProperties,
    Run(ActionRef),
    ShutdownDone,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum WaitFor {
    Exec(i32),
    Service(usize),
    Prop(String, String),
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
    /// SIGTERM sent; SIGKILL at the deadline.
    Term(Duration),
    /// SIGKILL sent; power off at the deadline.
    Kill(Duration),
    /// The power action was attempted.
    Done,
}

#[derive(Debug, Clone)]
struct ExecChild {
    argv: String,
}

/// The interpreter state.
pub struct Init {
    actions: Vec<Action>,
    onrestart: Vec<Action>,
    /// Per service: index into `onrestart`.
    onrestart_of: Vec<Option<usize>>,
    services: Vec<Service>,
    props: PropertyStore,
    queue: VecDeque<Event>,
    current: VecDeque<ActionRef>,
    next_cmd: usize,
    wait: Option<Wait>,
    triggers_enabled: bool,
    execs: BTreeMap<i32, ExecChild>,
    env: Vec<(String, String)>,
    shutdown: Option<(PowerAction, Phase)>,
    layout: Layout,
    labeler: Box<dyn Labeler>,
}

impl Init {
    /// Builds the interpreter from parsed config and the initial properties.
    pub fn new(
        config: Config,
        props: PropertyStore,
        layout: Layout,
        labeler: Box<dyn Labeler>,
    ) -> Init {
        let mut onrestart = Vec::new();
        let mut onrestart_of = Vec::new();
        let services: Vec<Service> = config.services.into_iter().map(Service::new).collect();
        for s in &services {
            if s.def.onrestart.is_empty() {
                onrestart_of.push(None);
            } else {
                onrestart_of.push(Some(onrestart.len()));
                onrestart.push(Action {
                    trigger: crate::trigger::Trigger {
                        event: Some(format!("onrestart:{}", s.def.name)),
                        props: Vec::new(),
                    },
                    commands: s.def.onrestart.clone(),
                    file: s.def.file.clone(),
                    line: s.def.line,
                });
            }
        }
        Init {
            actions: config.actions,
            onrestart,
            onrestart_of,
            services,
            props,
            queue: VecDeque::new(),
            current: VecDeque::new(),
            next_cmd: 0,
            wait: None,
            triggers_enabled: false,
            execs: BTreeMap::new(),
            env: vec![("PATH".into(), DEFAULT_PATH.into())],
            shutdown: None,
            layout,
            labeler,
        }
    }

    /// Queues the boot sequence.
    pub fn queue_boot(&mut self) {
        self.queue.push_back(Event::Trigger("early-init".into()));
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
    pub fn service_state(&self, name: &str) -> Option<&ServiceState> {
        self.services
            .iter()
            .find(|s| s.def.name == name)
            .map(|s| &s.state)
    }

    /// True when a command can run right now (the caller should not sleep).
    pub fn is_busy(&self) -> bool {
        self.wait.is_none() && (self.current_command().is_some() || !self.queue.is_empty())
    }

    /// True once the shutdown sequence has attempted the power action.
    pub fn is_finished(&self) -> bool {
        matches!(self.shutdown, Some((_, Phase::Done)))
    }

    /// The earliest monotonic time at which [`Init::step`] has timed work to do.
    pub fn next_deadline(&self, now: Duration) -> Option<Duration> {
        let mut next: Option<Duration> = None;
        let mut consider = |t: Duration| next = Some(next.map_or(t, |n| n.min(t)));
        if self.shutdown.is_none() {
            for s in &self.services {
                if let ServiceState::Restarting(at) = s.state {
                    consider(at);
                }
            }
        }
        if let Some(Wait {
            what: WaitFor::File(_, deadline),
            ..
        }) = &self.wait
        {
            consider((*deadline).min(now.saturating_add(WAIT_POLL)));
        }
        if let Some((_, Phase::Term(t) | Phase::Kill(t))) = &self.shutdown {
            consider(*t);
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
        self.run_restart_timers(p);
        self.advance_shutdown(p);
        for _ in 0..COMMANDS_PER_STEP {
            if !self.wait_done(p) || !self.run_next(p) {
                break;
            }
        }
        self.advance_shutdown(p);
    }

    /// Sets a property from any source (rc `setprop`, the socket): `ctl.*` control
    /// messages, `sys.powerctl`, triggers and waiters. Returns a `PROP_*` code.
    pub fn set_property(&mut self, name: &str, value: &str, p: &mut dyn Platform) -> u32 {
        if let Some(cmd) = name.strip_prefix("ctl.") {
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
        if name == "sys.powerctl" {
            self.powerctl(value);
        }
        if self.triggers_enabled {
            self.queue
                .push_back(Event::Property(name.to_string(), value.to_string()));
        }
        PROP_SUCCESS
    }

    /// Sets `init.svc.<name>` from service `i`'s state.
    fn publish_state(&mut self, i: usize, p: &mut dyn Platform) {
        let Some(s) = self.services.get(i) else {
            return;
        };
        let (name, value) = (format!("init.svc.{}", s.def.name), s.state.prop_value());
        self.set_internal(&name, value, p);
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
                self.stop_service(i, true, p);
                Ok(())
            }
            "restart" => self.restart_service(i, p),
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

    fn powerctl(&mut self, value: &str) {
        if self.shutdown.is_some() {
            log::warn!("init: powerctl '{value}' ignored: shutdown already in progress");
            return;
        }
        let (cmd, arg) = value.split_once(',').unwrap_or((value, ""));
        let action = match cmd {
            "shutdown" => PowerAction::PowerOff,
            "reboot" => PowerAction::Reboot(arg.to_string()),
            _ => {
                log::error!("init: invalid sys.powerctl value '{value}'");
                return;
            }
        };
        log::info!(
            "init: powerctl {cmd}{}{arg}",
            if arg.is_empty() { "" } else { " " }
        );
        self.queue.clear();
        self.current.clear();
        self.next_cmd = 0;
        self.wait = None;
        self.queue.push_back(Event::Trigger("shutdown".into()));
        self.queue.push_back(Event::ShutdownDone);
        self.shutdown = Some((action, Phase::Actions));
    }

    fn shutting_down(&self) -> bool {
        matches!(self.shutdown, Some((_, p)) if p != Phase::Actions)
    }

    fn live_pids(&self) -> Vec<i32> {
        self.services
            .iter()
            .filter_map(|s| s.state.pid())
            .chain(self.execs.keys().copied())
            .collect()
    }

    fn signal_all(&mut self, signal: i32, p: &mut dyn Platform) {
        for pid in self.live_pids() {
            if let Err(e) = p.kill(pid, signal) {
                log::warn!("init: shutdown: kill {pid}: {e}");
            }
        }
        for s in &mut self.services {
            if let ServiceState::Running(pid) = s.state {
                s.state = ServiceState::Stopping(pid);
            }
            if matches!(s.state, ServiceState::Restarting(_)) {
                s.state = ServiceState::Stopped;
            }
        }
    }

    fn advance_shutdown(&mut self, p: &mut dyn Platform) {
        let Some((action, phase)) = self.shutdown.clone() else {
            return;
        };
        let now = p.now();
        let live = self.live_pids().len();
        let next = match phase {
            Phase::Actions | Phase::Done => return,
            Phase::Term(deadline) if live > 0 && now < deadline => return,
            Phase::Term(_) if live > 0 => {
                log::warn!("init: shutdown: {live} process(es) still running, sending SIGKILL");
                self.signal_all(libc::SIGKILL, p);
                Phase::Kill(now.saturating_add(SHUTDOWN_KILL_TIMEOUT))
            }
            Phase::Kill(deadline) if live > 0 && now < deadline => return,
            Phase::Term(_) | Phase::Kill(_) => {
                if live > 0 {
                    log::warn!("init: shutdown: {live} process(es) did not exit");
                }
                p.sync();
                match &action {
                    PowerAction::PowerOff => log::info!("init: shutdown: synced, powering off"),
                    PowerAction::Reboot(t) => log::info!("init: shutdown: synced, rebooting '{t}'"),
                }
                let e = p.power(&action);
                log::error!("init: power action failed: {e}");
                Phase::Done
            }
        };
        self.shutdown = Some((action, next));
        if matches!(next, Phase::Kill(_)) {
            // Re-check at once in case everything already went away.
            self.advance_shutdown(p);
        }
    }

    fn start_shutdown_kill(&mut self, p: &mut dyn Platform) {
        let now = p.now();
        let live = self.live_pids().len();
        log::info!("init: shutdown: sending SIGTERM to {live} process(es)");
        self.signal_all(libc::SIGTERM, p);
        if let Some((_, phase)) = &mut self.shutdown {
            *phase = Phase::Term(now.saturating_add(SHUTDOWN_TERM_TIMEOUT));
        }
        self.advance_shutdown(p);
    }

    fn service_index(&self, name: &str) -> Option<usize> {
        self.services.iter().position(|s| s.def.name == name)
    }

    fn require_service(&self, name: &str) -> Result<usize, RcError> {
        self.service_index(name)
            .ok_or_else(|| RcError::NoService(name.to_string()))
    }

    fn action(&self, r: ActionRef) -> Option<&Action> {
        match r {
            ActionRef::Rc(i) => self.actions.get(i),
            ActionRef::OnRestart(i) => self.onrestart.get(i),
        }
    }

    fn current_command(&self) -> Option<&Command> {
        let r = *self.current.front()?;
        self.action(r)?.commands.get(self.next_cmd)
    }

    /// Runs one command or dispatches one event; false when there is nothing to do.
    fn run_next(&mut self, p: &mut dyn Platform) -> bool {
        while let Some(&r) = self.current.front() {
            let Some(action) = self.action(r) else {
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
            if let Err(e) = self.execute(&cmd, p) {
                log::error!(
                    "init: command '{}' at {}:{} failed: {e}",
                    cmd.args.join(" "),
                    file,
                    cmd.line
                );
            }
            return true;
        }
        let Some(ev) = self.queue.pop_front() else {
            return false;
        };
        self.dispatch(ev, p);
        true
    }

    fn dispatch(&mut self, ev: Event, p: &mut dyn Platform) {
        let props = &self.props;
        let get = |n: &str| props.get(n).map(String::from);
        let matching: Vec<ActionRef> = match &ev {
            Event::Trigger(name) => self
                .actions
                .iter()
                .enumerate()
                .filter(|(_, a)| a.trigger.matches_event(name, &get))
                .map(|(i, _)| ActionRef::Rc(i))
                .collect(),
            Event::Property(name, value) => self
                .actions
                .iter()
                .enumerate()
                .filter(|(_, a)| a.trigger.matches_property(name, value, &get))
                .map(|(i, _)| ActionRef::Rc(i))
                .collect(),
            Event::AllProperties => self
                .actions
                .iter()
                .enumerate()
                .filter(|(_, a)| a.trigger.matches_all_properties(&get))
                .map(|(i, _)| ActionRef::Rc(i))
                .collect(),
            Event::Run(r) => vec![*r],
            Event::QueuePropertyTriggers | Event::EnablePropertyTriggers | Event::ShutdownDone => {
                Vec::new()
            }
        };
        match ev {
            Event::QueuePropertyTriggers => {
                self.queue.push_back(Event::EnablePropertyTriggers);
                self.queue.push_back(Event::AllProperties);
            }
            Event::EnablePropertyTriggers => {
                log::info!("init: property triggers enabled");
                self.triggers_enabled = true;
            }
            Event::ShutdownDone => self.start_shutdown_kill(p),
            _ => {}
        }
        self.current.extend(matching);
        self.next_cmd = 0;
    }

    /// Checks the pending wait; true when commands may run.
    fn wait_done(&mut self, p: &mut dyn Platform) -> bool {
        let Some(w) = &self.wait else {
            return true;
        };
        let now = p.now();
        let done = match &w.what {
            WaitFor::Exec(pid) => !self.execs.contains_key(pid),
            WaitFor::Service(i) => self
                .services
                .get(*i)
                .is_none_or(|s| s.state.pid().is_none()),
            WaitFor::Prop(n, v) => self.props.get(n) == Some(v.as_str()),
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
            self.wait = None;
        }
        done
    }

    fn set_wait(&mut self, what: WaitFor, text: String, p: &mut dyn Platform) {
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
            return;
        }
        let Some(i) = self
            .services
            .iter()
            .position(|s| s.state.pid() == Some(pid))
        else {
            log::info!("init: reaped orphan pid={pid} status={code}");
            return;
        };
        let now = p.now();
        let shutting_down = self.shutdown.is_some();
        let name = self.services[i].def.name.clone();
        log::info!("init: service {name} exited status={code}");
        let after = self.services[i].exited(now, shutting_down);
        match after {
            AfterExit::Stopped => self.publish_state(i, p),
            AfterExit::StartNow => {
                if let Err(e) = self.start_service(i, p) {
                    log::error!("init: restart of service {name} failed: {e}");
                }
            }
            AfterExit::RestartIn(delay) => {
                log::info!("init: service {name} restarting in {}ms", delay.as_millis());
                self.publish_state(i, p);
                if let Some(Some(k)) = self.onrestart_of.get(i) {
                    self.queue.push_back(Event::Run(ActionRef::OnRestart(*k)));
                }
                let s = &self.services[i];
                if let Some(c) = &s.def.critical {
                    if s.exits_in_window() > 4 {
                        log::error!(
                            "init: critical service {name} exited {} times in {} min (target '{}' not acted on)",
                            s.exits_in_window(),
                            c.window_mins,
                            c.target
                        );
                    }
                }
            }
        }
    }

    fn run_restart_timers(&mut self, p: &mut dyn Platform) {
        if self.shutdown.is_some() {
            return;
        }
        let now = p.now();
        for i in 0..self.services.len() {
            if matches!(self.services[i].state, ServiceState::Restarting(at) if at <= now) {
                if let Err(e) = self.start_service(i, p) {
                    log::error!(
                        "init: restart of service {} failed: {e}",
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

    fn start_service(&mut self, i: usize, p: &mut dyn Platform) -> Result<(), RcError> {
        if self.shutting_down() {
            return Err(RcError::Invalid("shutting down".into()));
        }
        let s = &mut self.services[i];
        match s.state {
            ServiceState::Running(_) => return Ok(()),
            ServiceState::Stopping(_) => {
                s.restart_when_reaped = true;
                return Ok(());
            }
            ServiceState::Stopped | ServiceState::Restarting(_) => {}
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
        };
        let name = def.name.clone();
        match p.spawn(&spec) {
            Ok(pid) => {
                let now = p.now();
                let s = &mut self.services[i];
                s.state = ServiceState::Running(pid);
                s.started_at = now;
                log::info!("init: service {name} started pid={pid}");
                self.publish_state(i, p);
                Ok(())
            }
            Err(e) => {
                self.services[i].state = ServiceState::Stopped;
                self.publish_state(i, p);
                Err(e)
            }
        }
    }

    fn stop_service(&mut self, i: usize, disable: bool, p: &mut dyn Platform) {
        let s = &mut self.services[i];
        if disable {
            s.disabled = true;
            s.start_on_enable = false;
        }
        s.restart_when_reaped = false;
        let name = s.def.name.clone();
        match s.state {
            ServiceState::Running(pid) => {
                s.state = ServiceState::Stopping(pid);
                if let Err(e) = p.kill(pid, libc::SIGKILL) {
                    log::warn!("init: stop {name}: {e}");
                }
                self.publish_state(i, p);
            }
            ServiceState::Restarting(_) => {
                s.state = ServiceState::Stopped;
                self.publish_state(i, p);
            }
            ServiceState::Stopped | ServiceState::Stopping(_) => {}
        }
    }

    fn restart_service(&mut self, i: usize, p: &mut dyn Platform) -> Result<(), RcError> {
        match self.services[i].state {
            ServiceState::Running(_) => {
                self.stop_service(i, false, p);
                self.services[i].restart_when_reaped = true;
                Ok(())
            }
            ServiceState::Stopping(_) => {
                self.services[i].restart_when_reaped = true;
                Ok(())
            }
            ServiceState::Restarting(_) => Ok(()),
            ServiceState::Stopped => self.start_service(i, p),
        }
    }

    fn class_indices(&self, class: &str) -> Vec<usize> {
        (0..self.services.len())
            .filter(|&i| self.services[i].in_class(class))
            .collect()
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
                        self.services[i].start_on_enable = true;
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
                let disable = cmd.builtin == Builtin::ClassStop;
                for i in self.class_indices(&a[0]) {
                    self.stop_service(i, disable, p);
                }
                Ok(())
            }
            Builtin::ClassRestart => {
                let only_enabled = a.len() == 2;
                let class = a.last().cloned().unwrap_or_default();
                for i in self.class_indices(&class) {
                    let s = &self.services[i];
                    if s.state.pid().is_some() && !(only_enabled && s.disabled) {
                        self.restart_service(i, p)?;
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
                if s.disabled {
                    s.disabled = false;
                    if std::mem::take(&mut s.start_on_enable) {
                        return self.start_service(i, p);
                    }
                }
                Ok(())
            }
            Builtin::Exec | Builtin::ExecBackground => {
                self.exec(&a, cmd.builtin == Builtin::Exec, &text, p)
            }
            Builtin::ExecStart => {
                let i = self.require_service(&a[0])?;
                if self.services[i].state.pid().is_some() {
                    return Err(RcError::Invalid(format!(
                        "service '{}' is already running",
                        a[0]
                    )));
                }
                self.services[i].oneshot_run = true;
                if let Err(e) = self.start_service(i, p) {
                    self.services[i].oneshot_run = false;
                    return Err(e);
                }
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
            Builtin::Mkdir => self.mkdir(&a, p),
            Builtin::Mount => mount(&a, p),
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
                if only_running && self.services[i].state.pid().is_none() {
                    return Ok(());
                }
                self.restart_service(i, p)
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
                self.stop_service(i, true, p);
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
                    self.set_wait(WaitFor::Prop(a[0].clone(), a[1].clone()), text, p);
                }
                Ok(())
            }
            Builtin::Write => p.write_file(&path(&a[0]), a[1].as_bytes()),
        }
    }

    fn exec(
        &mut self,
        a: &[String],
        foreground: bool,
        text: &str,
        p: &mut dyn Platform,
    ) -> Result<(), RcError> {
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
        let console = self.layout.dev.join("console");
        let spec = SpawnSpec {
            path: PathBuf::from(program),
            args: argv.to_vec(),
            env: self.env.clone(),
            uid,
            gid,
            groups,
            seclabel,
            stdio: StdioSpec {
                stdin: self.layout.dev.join("null"),
                stdout: console,
            },
            files: Vec::new(),
            sockets: Vec::new(),
        };
        let pid = p.spawn(&spec)?;
        let argv_text = argv.join(" ");
        log::info!("init: exec '{argv_text}' started pid={pid}");
        self.execs.insert(pid, ExecChild { argv: argv_text });
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
