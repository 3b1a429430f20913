//! The PID 1 second stage: argument parsing, loading the rc files, and the main loop — a
//! `poll()` over the SIGCHLD signalfd and the property socket, with the interpreter's
//! next timer (service restarts, `wait` timeouts, shutdown deadlines) as the timeout.
//! One reaper owns every `waitpid` ([`Init::step`] drains exits with `WNOHANG` until none
//! is left), so orphans re-parented to PID 1 are reaped too.
//!
//! Arguments (all optional; defaults are the guest paths):
//! `--init-rc PATH` (`/system/etc/init/hw/init.rc`), `--rc-dir DIR` (repeatable; default
//! `/system/etc/init` then `/vendor/etc/init`), `--proc DIR` (`/proc`), `--dev DIR`
//! (`/dev`), `--property-socket PATH` (`<dev>/socket/property_service`), `--cgroup DIR`
//! (the cgroup v2 hierarchy services get their cgroups in; as PID 1 the default is
//! `/sys/fs/cgroup`, mounted there if needed, otherwise none), `--verify FILE…` (run the
//! host verifier instead and exit with its status). An argument `second_stage` (AOSP's
//! spelling) is ignored.
//!
//! Init's own umask is 0 (as AOSP's), so the modes rc files give are exact; children
//! start with 077.
//!
//! Fatal errors log one line `INIT_FATAL reason=<TOKEN> <detail>`, sync and power off:
//!
//! | token | meaning |
//! | --- | --- |
//! | `BAD_ARGS` | unknown argument |
//! | `INIT_RC_MISSING` | the primary init.rc could not be read |
//! | `SIGNALFD` | SIGCHLD could not be routed to a signalfd |
//! | `PROPERTY_SOCKET` | the property socket could not be created |
//! | `POWER_FAILED` | `sys.powerctl` could not power off or reboot (PID 1 then idles) |
//! | `CRITICAL_SERVICE` | a `critical` service crashed more than 4 times in its window (or before `sys.boot_completed`): `<name> exited 4 times …` |
//! | `PANIC` | a Rust panic in PID 1 (the panic hook), or a failed memory allocation (`memory allocation of <n> bytes failed`, the multi-call binary's allocator) |
//! | `COLDBOOT_TIMEOUT` | `wait_for_prop ro.cold_boot_done true` passed its deadline: ueventd never finished coldboot |
//! | `KPTR_RESTRICT` | `/proc/sys/kernel/kptr_restrict` could not be set to 2 or more (AOSP `SetKptrRestrictAction`) |
//! | `MMAP_RND_BITS` | `mmap_rnd_bits` could not reach AOSP's minimum for the architecture (AOSP `SetMmapRndBitsAction`) |
//!
//! The property socket is served by [`crate::prop_server`] (never blocking the loop; a
//! deadline per connection and a cap per uid) with the policy of [`crate::prop_policy`]:
//! root may set anything but `init.svc.*`, other uids only an allowlist of names; each
//! refusal is answered as AOSP answers it and logged on one line
//! (`init: unable to set property '<name>' from uid:<u> gid:<g> pid:<p>: <why>`).
//! When not running as PID 1 (tests), init makes itself a child subreaper and, once the
//! power action has been attempted, exits with status 0 instead of idling.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Instant;

use crate::interp::{Init, Layout};
use crate::parser::{DiagKind, Parser};
use crate::platform::{Hooks, Platform};
use crate::prop_policy;
use crate::prop_proto::{encode_get_reply, Request};
use crate::prop_server::{Peer, PropertyServer};
use crate::property::PropertyStore;
use crate::sys::{self, RealPlatform, SignalWatch};

/// Resolved second-stage options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Primary init.rc.
    pub init_rc: PathBuf,
    /// Directories whose `*.rc` files are parsed after it, in order.
    pub rc_dirs: Vec<PathBuf>,
    /// procfs root.
    pub proc_root: PathBuf,
    /// devtmpfs root.
    pub dev: PathBuf,
    /// Property socket path.
    pub socket: PathBuf,
    /// `--cgroup DIR`.
    pub cgroup: Option<PathBuf>,
}

/// What the arguments ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Run the second stage.
    Run(Options),
    /// Run the verifier on these files.
    Verify(Vec<OsString>),
}

/// Parses the second-stage arguments (`args[0]` is the program name).
pub fn parse_args(args: &[OsString]) -> Result<Mode, String> {
    let mut init_rc = PathBuf::from("/system/etc/init/hw/init.rc");
    let mut rc_dirs: Vec<PathBuf> = Vec::new();
    let mut proc_root = PathBuf::from("/proc");
    let mut dev = PathBuf::from("/dev");
    let mut socket: Option<PathBuf> = None;
    let mut cgroup: Option<PathBuf> = None;
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .map(PathBuf::from)
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match a.to_str() {
            Some("second_stage") => {}
            Some("--init-rc") => init_rc = value("--init-rc")?,
            Some("--rc-dir") => rc_dirs.push(value("--rc-dir")?),
            Some("--proc") => proc_root = value("--proc")?,
            Some("--dev") => dev = value("--dev")?,
            Some("--property-socket") => socket = Some(value("--property-socket")?),
            Some("--cgroup") => cgroup = Some(value("--cgroup")?),
            Some("--verify") => return Ok(Mode::Verify(it.cloned().collect())),
            _ => return Err(format!("unknown argument '{}'", a.to_string_lossy())),
        }
    }
    if rc_dirs.is_empty() {
        rc_dirs = vec![
            PathBuf::from("/system/etc/init"),
            PathBuf::from("/vendor/etc/init"),
        ];
    }
    let socket = socket.unwrap_or_else(|| dev.join("socket/property_service"));
    Ok(Mode::Run(Options {
        init_rc,
        rc_dirs,
        proc_root,
        dev,
        socket,
        cgroup,
    }))
}

/// The second stage. Never returns (`!` coerces to `Infallible` for callers that want
/// that type): on a fatal error it logs `INIT_FATAL reason=…`, syncs and powers off.
pub fn second_stage_main(args: &[OsString], hooks: Hooks) -> ! {
    install_panic_hook();
    let opts = match parse_args(args) {
        Ok(Mode::Run(o)) => o,
        Ok(Mode::Verify(files)) => std::process::exit(crate::verify::verify_main(&files)),
        Err(e) => fatal("BAD_ARGS", &e),
    };
    run(&opts, hooks)
}

fn fatal(reason: &str, detail: &str) -> ! {
    log::error!("INIT_FATAL reason={reason} {detail}");
    eprintln!("INIT_FATAL reason={reason} {detail}");
    power_off_after_fatal()
}

fn power_off_after_fatal() -> ! {
    let mut p = RealPlatform::new();
    p.sync();
    let e = p.power(&crate::platform::PowerAction::PowerOff);
    log::error!("init: power off failed: {e}");
    idle_or_exit(1)
}

/// The fatal line for a panic: `INIT_FATAL reason=PANIC <message>`, on one line.
pub fn panic_line(message: &str) -> String {
    let flat: String = message
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    format!("INIT_FATAL reason=PANIC {flat}")
}

/// A panic anywhere in the second stage logs `INIT_FATAL reason=PANIC …` without taking
/// the logger's locks (the panic may have happened inside it), syncs and powers off: PID
/// 1 never dies, so the kernel never sees "Attempted to kill init". (The release profile
/// aborts on panic; this hook runs first and does not return.)
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        sys::emergency_line(&panic_line(&info.to_string()));
        power_off_after_fatal()
    }));
}

fn idle_or_exit(code: i32) -> ! {
    if sys::getpid() == 1 {
        sys::sleep_forever()
    }
    std::process::exit(code)
}

/// Parses init.rc then the rc directories, logging every diagnostic.
fn load(opts: &Options, props: &PropertyStore) -> crate::parser::Config {
    let mut parser = Parser::new(props);
    if !parser.parse_file(&opts.init_rc) {
        fatal(
            "INIT_RC_MISSING",
            &format!("cannot read {}", opts.init_rc.display()),
        );
    }
    for d in &opts.rc_dirs {
        parser.parse_dir(d);
    }
    let config = parser.finish();
    for d in &config.diagnostics {
        match d.kind {
            DiagKind::Syntax => log::error!("init: {d}"),
            DiagKind::Unsupported => log::warn!("init: {d}"),
        }
    }
    log::info!(
        "init: parsed {} file(s): {} action(s), {} service(s), {} syntax error(s)",
        config.files.len(),
        config.actions.len(),
        config.services.len(),
        config.syntax_errors()
    );
    config
}

/// A set request from the socket: the policy, then the interpreter. Returns the answer.
fn handle_set(
    name: &str,
    value: &str,
    peer: Peer,
    proc_root: &std::path::Path,
    init: &mut Init,
    platform: &mut RealPlatform,
) -> u32 {
    if let Err(d) = prop_policy::check(name, value, peer.uid) {
        log::warn!(
            "init: unable to set property '{name}' from uid:{} gid:{} pid:{}: {}",
            peer.uid,
            peer.gid,
            peer.pid,
            d.reason
        );
        return d.code;
    }
    if name == "sys.powerctl" {
        // AOSP logs who asked for a shutdown.
        let cmdline = std::fs::read(proc_root.join(peer.pid.to_string()).join("cmdline"))
            .ok()
            .and_then(|c| {
                c.split(|b| *b == 0)
                    .next()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
            })
            .unwrap_or_default();
        log::info!(
            "init: received sys.powerctl='{value}' from pid {} ({cmdline})",
            peer.pid
        );
    }
    log::debug!("init: property {name}={value} from pid {}", peer.pid);
    init.set_property(name, value, platform)
}

/// The cgroup v2 hierarchy services run in, mounted if needed; `None` (with a line)
/// when it cannot be had.
fn cgroup_root(opts: &Options) -> Option<PathBuf> {
    let dir = match &opts.cgroup {
        Some(d) => d.clone(),
        None if sys::getpid() == 1 => PathBuf::from(DEFAULT_CGROUP),
        None => return None,
    };
    match sys::mount_cgroup2(&dir) {
        Ok(()) => Some(dir),
        Err(e) => {
            log::error!("init: {e}: services run without their own cgroup");
            None
        }
    }
}

/// Where AOSP mounts the cgroup v2 hierarchy.
pub const DEFAULT_CGROUP: &str = "/sys/fs/cgroup";

fn run(opts: &Options, hooks: Hooks) -> ! {
    if sys::getpid() != 1 {
        sys::become_subreaper();
    }
    sys::set_umask(0);
    let mut props = PropertyStore::new();
    // Tells bionic clients to use PROP_MSG_SETPROP2.
    let _ = props.set("ro.property_service.version", "2");
    let imported = props.import_kernel_params(&boot_config::BootConfig::read(&opts.proc_root));
    log::info!(
        "init: second stage: {imported} property(ies) from the kernel command line and bootconfig"
    );
    // AOSP `PropertyInit`: the kernel's values, then the derived ones, then the files.
    props.export_kernel_boot_props();
    let files: Vec<&std::path::Path> = crate::prop_files::PROP_FILES
        .iter()
        .map(std::path::Path::new)
        .collect();
    let loaded = crate::prop_files::load(&files, &mut props);
    log::info!(
        "init: ro.hardware={} ro.bootmode={}; {loaded} property(ies) from .prop files",
        props.get("ro.hardware").unwrap_or_default(),
        props.get("ro.bootmode").unwrap_or_default()
    );
    let config = load(opts, &props);
    let signals = SignalWatch::new().unwrap_or_else(|e| fatal("SIGNALFD", &e.to_string()));
    let mut server = PropertyServer::bind(&opts.socket)
        .unwrap_or_else(|e| fatal("PROPERTY_SOCKET", &e.to_string()));
    let layout = Layout {
        dev: opts.dev.clone(),
        proc_root: opts.proc_root.clone(),
        cgroup: cgroup_root(opts),
    };
    let mut init = Init::new(config, props, layout, hooks.labeler);
    let mut platform = RealPlatform::new();
    init.queue_boot();
    loop {
        init.step(&mut platform);
        if let Some((reason, detail)) = init.fatal() {
            fatal(reason, detail);
        }
        if init.is_finished() {
            if sys::getpid() == 1 {
                log::error!("INIT_FATAL reason=POWER_FAILED sys.powerctl could not power off");
            }
            idle_or_exit(0);
        }
        let now = platform.now();
        let mut timeout = if init.is_busy() {
            Some(std::time::Duration::ZERO)
        } else {
            init.next_deadline(now).map(|d| d.saturating_sub(now))
        };
        if let Some(left) = server.time_left(Instant::now()) {
            timeout = Some(timeout.map_or(left, |t| t.min(left)));
        }
        let signalled = {
            let mut fds = vec![signals.fd()];
            fds.extend(server.fds());
            sys::wait_readable(&fds, timeout).first() == Some(&true)
        };
        if signalled {
            signals.drain();
        }
        // Non-blocking: accepts, reads what arrived, answers whole requests, closes the
        // connections past their deadline.
        server.serve(Instant::now(), &mut |req, peer| match req {
            Request::Set { name, value } => handle_set(
                &name,
                &value,
                peer,
                &opts.proc_root,
                &mut init,
                &mut platform,
            )
            .to_ne_bytes()
            .to_vec(),
            Request::Get { name } => encode_get_reply(init.properties().get(&name)),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn args() {
        let Mode::Run(o) = parse_args(&os(&["init", "second_stage"])).unwrap() else {
            panic!()
        };
        assert_eq!(o.init_rc, PathBuf::from("/system/etc/init/hw/init.rc"));
        assert_eq!(o.rc_dirs.len(), 2);
        assert_eq!(o.socket, PathBuf::from("/dev/socket/property_service"));
        let Mode::Run(o) = parse_args(&os(&[
            "init",
            "--init-rc",
            "/t/init.rc",
            "--rc-dir",
            "/t/a",
            "--dev",
            "/t/dev",
            "--proc",
            "/t/proc",
        ]))
        .unwrap() else {
            panic!()
        };
        assert_eq!(o.rc_dirs, vec![PathBuf::from("/t/a")]);
        assert_eq!(o.socket, PathBuf::from("/t/dev/socket/property_service"));
        assert_eq!(
            parse_args(&os(&["init", "--verify", "a.rc", "b.rc"])).unwrap(),
            Mode::Verify(os(&["a.rc", "b.rc"]))
        );
        assert!(parse_args(&os(&["init", "--bogus"])).is_err());
        assert!(parse_args(&os(&["init", "--init-rc"])).is_err());
    }

    #[test]
    fn panic_line_is_one_line() {
        assert_eq!(
            panic_line("panicked at src/interp.rs:1:2:\ntest hook"),
            "INIT_FATAL reason=PANIC panicked at src/interp.rs:1:2: test hook"
        );
    }
}
