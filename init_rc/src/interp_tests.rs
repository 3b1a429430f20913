//! Interpreter tests with the fake platform and fake clock: boot order, triggers, waits,
//! services, restarts, powerctl.

use std::path::PathBuf;
use std::time::Duration;

use crate::fake::{FakePlatform, RecordingLabeler};
use crate::interp::{Init, Layout};
use crate::parser::Parser;
use crate::platform::{ExitStatus, NoLabeler, PowerAction};
use crate::prop_proto::{
    PROP_ERROR_HANDLE_CONTROL_MESSAGE, PROP_ERROR_READ_ONLY_PROPERTY, PROP_SUCCESS,
};
use crate::property::PropertyStore;
use crate::service::ServiceState;

fn init_with(rc: &str, props: PropertyStore, labeler: Box<dyn crate::platform::Labeler>) -> Init {
    let mut p = Parser::new(&props);
    p.parse_data("test.rc", rc.as_bytes());
    let config = p.finish();
    assert_eq!(config.syntax_errors(), 0, "{:#?}", config.diagnostics);
    let mut init = Init::new(config, props, Layout::default(), labeler);
    init.queue_boot();
    init
}

fn boot(rc: &str) -> (Init, FakePlatform) {
    (
        init_with(rc, PropertyStore::new(), Box::new(NoLabeler)),
        FakePlatform::new(),
    )
}

/// What every real init.rc has: `late-init` triggers `boot`.
const LATE_INIT: &str = "on late-init\n    trigger boot\n";

/// Steps until nothing can run without an outside event.
fn settle(init: &mut Init, p: &mut FakePlatform) {
    for _ in 0..1000 {
        init.step(p);
        if !init.is_busy() && p.exits.is_empty() {
            return;
        }
    }
    panic!("interpreter did not settle");
}

fn advance(init: &mut Init, p: &mut FakePlatform, by: Duration) {
    p.now += by;
    settle(init, p);
}

fn trace(p: &FakePlatform) -> Vec<String> {
    p.writes_to("/trace")
}

const BOOT_RC: &str = "\
on early-init
    write /trace early-init
on init
    write /trace init
on late-init
    write /trace late-init
    trigger early-fs
    trigger fs
    trigger post-fs
    trigger late-fs
    trigger post-fs-data
    trigger early-boot
    trigger boot
on early-fs
    write /trace early-fs
on fs
    write /trace fs
on post-fs
    write /trace post-fs
on late-fs
    write /trace late-fs
on post-fs-data
    write /trace post-fs-data
on early-boot
    write /trace early-boot
on boot
    write /trace boot
on boot
    write /trace boot-2
on property:sys.x=1
    write /trace prop-x
on init
    write /trace init-2
    setprop sys.x 1
";

#[test]
fn boot_order_and_property_triggers_after_boot() {
    let (mut init, mut p) = boot(BOOT_RC);
    settle(&mut init, &mut p);
    assert_eq!(
        trace(&p),
        [
            "early-init",
            "init",
            "init-2",
            "late-init",
            "early-fs",
            "fs",
            "post-fs",
            "late-fs",
            "post-fs-data",
            "early-boot",
            "boot",
            "boot-2",
            "prop-x"
        ]
    );
    // Once armed, a change fires the trigger again.
    assert_eq!(init.set_property("sys.x", "2", &mut p), PROP_SUCCESS);
    assert_eq!(init.set_property("sys.x", "1", &mut p), PROP_SUCCESS);
    settle(&mut init, &mut p);
    assert_eq!(trace(&p).last().map(String::as_str), Some("prop-x"));
    assert_eq!(trace(&p).len(), 14);
}

#[test]
fn charger_mode_skips_late_init() {
    let mut props = PropertyStore::new();
    props.set("ro.bootmode", "charger").unwrap();
    let mut init = init_with(
        "on late-init\n  write /trace late\non charger\n  write /trace charger\n",
        props,
        Box::new(NoLabeler),
    );
    let mut p = FakePlatform::new();
    settle(&mut init, &mut p);
    assert_eq!(trace(&p), ["charger"]);
}

#[test]
fn event_and_property_conditions() {
    let mut props = PropertyStore::new();
    props.set("ro.boot.debuggable", "1").unwrap();
    props.set("ro.empty", "").unwrap();
    let rc = "\
on boot && property:ro.boot.debuggable=1
    write /trace debuggable
on boot && property:ro.boot.debuggable=0
    write /trace not-debuggable
on boot && property:ro.boot.debuggable=*
    write /trace any-debuggable
on boot && property:ro.empty=*
    write /trace empty-star
on property:a=1 && property:b=*
    write /trace a-and-b
on property:c=*
    write /trace c-any
on boot
    trigger done
";
    let mut init = init_with(&format!("{LATE_INIT}{rc}"), props, Box::new(NoLabeler));
    let mut p = FakePlatform::new();
    settle(&mut init, &mut p);
    assert_eq!(trace(&p), ["debuggable", "any-debuggable"]);
    init.set_property("a", "1", &mut p);
    settle(&mut init, &mut p);
    assert_eq!(trace(&p).len(), 2, "b not set yet");
    init.set_property("b", "x", &mut p);
    settle(&mut init, &mut p);
    assert_eq!(trace(&p).last().unwrap(), "a-and-b");
    init.set_property("c", "", &mut p);
    settle(&mut init, &mut p);
    assert_eq!(trace(&p).last().unwrap(), "c-any");
}

#[test]
fn ro_write_once_and_expansion() {
    let rc = "\
on init
    setprop ro.a first
    setprop ro.a second
    write /trace ${ro.a}
    write /trace ${ro.missing:-fallback}
    write /trace ${ro.missing}
    write /trace after
";
    let (mut init, mut p) = boot(&format!("{LATE_INIT}{rc}"));
    settle(&mut init, &mut p);
    assert_eq!(init.properties().get("ro.a"), Some("first"));
    // The failing expansion skips that command only.
    assert_eq!(trace(&p), ["first", "fallback", "after"]);
    assert_eq!(
        init.set_property("ro.a", "x", &mut p),
        PROP_ERROR_READ_ONLY_PROPERTY
    );
}

#[test]
fn wait_for_prop_yields_and_property_sets_are_served() {
    let rc = "\
service ueventd /system/bin/ueventd
    class core
    critical
    seclabel u:r:ueventd:s0
on early-init
    start ueventd
    wait_for_prop ro.cold_boot_done true
    write /trace coldboot-done
on init
    write /trace init
";
    let (mut init, mut p) = boot(&format!("{LATE_INIT}{rc}"));
    settle(&mut init, &mut p);
    assert!(trace(&p).is_empty(), "blocked on wait_for_prop");
    assert!(matches!(
        init.service_state("ueventd"),
        Some(ServiceState::Running(_))
    ));
    assert_eq!(init.properties().get("init.svc.ueventd"), Some("running"));
    // seclabel is recorded but not applied without SELinux.
    assert_eq!(p.spawned[0].1.seclabel, None);
    // ueventd sets an unrelated property, then the awaited one.
    assert_eq!(init.set_property("sys.other", "1", &mut p), PROP_SUCCESS);
    settle(&mut init, &mut p);
    assert!(trace(&p).is_empty());
    init.set_property("ro.cold_boot_done", "true", &mut p);
    settle(&mut init, &mut p);
    assert_eq!(trace(&p), ["coldboot-done", "init"]);
}

#[test]
fn exec_waits_and_missing_program_is_an_error_not_a_hang() {
    let rc = "\
on init
    exec - system system readproc -- /bin/tool --flag ${ro.boot.x:-d}
    write /trace after-exec
    exec -- /missing/program
    write /trace after-missing
    exec_background -- /bin/bg
    write /trace after-bg
";
    let (mut init, mut p) = boot(&format!("{LATE_INIT}{rc}"));
    p.missing.insert(PathBuf::from("/missing/program"));
    settle(&mut init, &mut p);
    assert!(trace(&p).is_empty());
    let (pid, spec) = p.spawned[0].clone();
    assert_eq!(spec.args, ["/bin/tool", "--flag", "d"]);
    assert_eq!(
        (spec.uid, spec.gid, spec.groups.clone()),
        (1000, 1000, vec![3009])
    );
    // exec children get /dev/null stdio (AOSP's temporary services).
    assert_eq!(spec.stdio.stdout, PathBuf::from("/dev/null"));
    assert_eq!(spec.stdio.stdin, PathBuf::from("/dev/null"));
    assert!(!init.is_finished() && !init.is_busy());
    p.exit(pid, 3);
    settle(&mut init, &mut p);
    assert_eq!(trace(&p), ["after-exec", "after-missing", "after-bg"]);
    assert_eq!(p.spawn_count("/bin/bg"), 1);
}

#[test]
fn exec_without_separator_and_exec_start() {
    let rc = "\
service once /bin/once
    oneshot
    disabled
service forever /bin/forever
    disabled
on init
    exec /bin/direct arg
    exec_start forever
    write /trace after-exec-start
";
    let (mut init, mut p) = boot(&format!("{LATE_INIT}{rc}"));
    settle(&mut init, &mut p);
    let pid = p.pid_of("/bin/direct").unwrap();
    assert_eq!(p.spawned[0].1.args, ["/bin/direct", "arg"]);
    p.exit(pid, 0);
    settle(&mut init, &mut p);
    let fpid = p.pid_of("/bin/forever").unwrap();
    assert!(trace(&p).is_empty());
    p.exit(fpid, 0);
    settle(&mut init, &mut p);
    assert_eq!(trace(&p), ["after-exec-start"]);
    // exec_start made the service oneshot: no restart.
    advance(&mut init, &mut p, Duration::from_secs(60));
    assert_eq!(p.spawn_count("/bin/forever"), 1);
    assert_eq!(init.service_state("forever"), Some(ServiceState::Stopped));
}

#[test]
fn exec_start_waits_for_a_running_service() {
    let rc = "\
service d /bin/d
    class main
on init
    class_start main
    exec_start d
    write /trace after
";
    let (mut init, mut p) = boot(&format!("{LATE_INIT}{rc}"));
    settle(&mut init, &mut p);
    assert_eq!(p.spawn_count("/bin/d"), 1, "not started twice");
    assert!(trace(&p).is_empty(), "waits although it was running");
    let pid = p.pid_of("/bin/d").unwrap();
    p.exit(pid, 1);
    settle(&mut init, &mut p);
    assert_eq!(trace(&p), ["after"]);
    advance(&mut init, &mut p, Duration::from_secs(60));
    assert_eq!(p.spawn_count("/bin/d"), 1, "now oneshot");
}

#[test]
fn restart_is_timed_from_the_last_start() {
    let rc = "service d /bin/d\n    class main\non boot\n    class_start main\n";
    let (mut init, mut p) = boot(&format!("{LATE_INIT}{rc}"));
    p.now = Duration::from_secs(100);
    settle(&mut init, &mut p);
    let pid = p.pid_of("/bin/d").unwrap();
    p.now = Duration::from_secs(101);
    p.exit(pid, 1);
    settle(&mut init, &mut p);
    assert_eq!(init.properties().get("init.svc.d"), Some("restarting"));
    // restart_period (5 s) counts from the start, not from the exit.
    assert_eq!(init.next_deadline(p.now), Some(Duration::from_secs(105)));
    advance(&mut init, &mut p, Duration::from_millis(3999));
    assert_eq!(p.spawn_count("/bin/d"), 1);
    advance(&mut init, &mut p, Duration::from_millis(1));
    assert_eq!(p.spawn_count("/bin/d"), 2);
    assert_eq!(init.properties().get("init.svc.d"), Some("running"));
    // No back-off: every crash waits the same period from its start; a long run
    // restarts at once.
    let pid = p.pid_of("/bin/d").unwrap();
    p.exit(pid, ExitStatus::Signaled(11).code());
    settle(&mut init, &mut p);
    assert_eq!(init.next_deadline(p.now), Some(Duration::from_secs(110)));
    advance(&mut init, &mut p, Duration::from_secs(5));
    assert_eq!(p.spawn_count("/bin/d"), 3);
    p.now += Duration::from_secs(60);
    let pid = p.pid_of("/bin/d").unwrap();
    p.exit(pid, 1);
    settle(&mut init, &mut p);
    assert_eq!(p.spawn_count("/bin/d"), 4);
    // ro.boottime.<svc>: the first start, in ns since boot.
    assert_eq!(init.properties().get("ro.boottime.d"), Some("100000000000"));
}

#[test]
fn critical_service_crashing_is_fatal() {
    let rc = "service u /bin/u\n    class core\n    critical\n    restart_period 1\non boot\n    class_start core\n";
    let (mut init, mut p) = boot(&format!("{LATE_INIT}{rc}"));
    settle(&mut init, &mut p);
    for n in 1..=5 {
        assert!(init.fatal().is_none(), "after {n} starts");
        let pid = p.pid_of("/bin/u").unwrap();
        p.exit(pid, 1);
        advance(&mut init, &mut p, Duration::from_secs(1));
    }
    assert_eq!(p.spawn_count("/bin/u"), 5);
    let (token, detail) = init.fatal().unwrap();
    assert_eq!(token, "CRITICAL_SERVICE");
    assert!(
        detail.starts_with("u exited 4 times before boot completed"),
        "{detail}"
    );
    advance(&mut init, &mut p, Duration::from_secs(10));
    assert_eq!(p.spawn_count("/bin/u"), 5, "nothing restarts after a fatal");
}

#[test]
fn services_run_in_their_own_cgroup() {
    let rc = "\
service s /bin/s
    user system
    capabilities NET_ADMIN
on init
    start s
    exec -- /bin/e
";
    let props = PropertyStore::new();
    let mut parser = Parser::new(&props);
    parser.parse_data("test.rc", format!("{LATE_INIT}{rc}").as_bytes());
    let layout = Layout {
        cgroup: Some(PathBuf::from("/sys/fs/cgroup")),
        ..Layout::default()
    };
    let mut init = Init::new(parser.finish(), props, layout, Box::new(NoLabeler));
    init.queue_boot();
    let mut p = FakePlatform::new();
    settle(&mut init, &mut p);
    let (spid, spec) = p.spawned[0].clone();
    assert_eq!(
        spec.cgroup_parent,
        Some(PathBuf::from("/sys/fs/cgroup/uid_1000"))
    );
    assert_eq!(spec.capabilities, Some(1 << 12));
    let (epid, espec) = p.spawned[1].clone();
    assert_eq!(
        espec.cgroup_parent,
        Some(PathBuf::from("/sys/fs/cgroup/uid_0"))
    );
    // The exec child exits: what is left in its cgroup is killed, the cgroup removed.
    let ecg = PathBuf::from(format!("/sys/fs/cgroup/uid_0/pid_{epid}"));
    p.exit(epid, 0);
    settle(&mut init, &mut p);
    assert!(p.cgroup_kills.contains(&(ecg.clone(), libc::SIGKILL)));
    assert_eq!(p.removed_cgroups, [ecg]);
    // The service exits (its setsid() child still in the cgroup): killed; the cgroup
    // is removed once empty.
    let scg = PathBuf::from(format!("/sys/fs/cgroup/uid_1000/pid_{spid}"));
    p.busy_cgroups.insert(scg.clone());
    p.exit(spid, 0);
    settle(&mut init, &mut p);
    assert!(p.cgroup_kills.contains(&(scg.clone(), libc::SIGKILL)));
    assert!(!p.removed_cgroups.contains(&scg));
    assert!(init.next_deadline(p.now).is_some(), "removal is retried");
    p.busy_cgroups.clear();
    advance(&mut init, &mut p, Duration::from_millis(100));
    assert!(p.removed_cgroups.contains(&scg));
    // A capability set the kernel cannot give: not started, and disabled.
    p.unsupported_caps = 1 << 12;
    let before = p.spawned.len();
    assert_eq!(
        init.set_property("ctl.start", "s", &mut p),
        PROP_ERROR_HANDLE_CONTROL_MESSAGE
    );
    assert_eq!(p.spawned.len(), before);
    assert_eq!(init.service_state("s"), Some(ServiceState::Stopped));
}

#[test]
fn oneshot_disabled_enable_and_classes() {
    let rc = "\
service one /bin/one
    class core
    oneshot
service lazy /bin/lazy
    class core
    disabled
service other /bin/other
    class late
on boot
    class_start core
on property:sys.go=1
    enable lazy
on property:sys.stop=1
    class_stop core
on property:sys.again=1
    class_start core
";
    let (mut init, mut p) = boot(&format!("{LATE_INIT}{rc}"));
    settle(&mut init, &mut p);
    assert_eq!(p.spawn_count("/bin/one"), 1);
    assert_eq!(p.spawn_count("/bin/lazy"), 0);
    assert_eq!(p.spawn_count("/bin/other"), 0);
    let pid = p.pid_of("/bin/one").unwrap();
    p.exit(pid, 0);
    advance(&mut init, &mut p, Duration::from_secs(30));
    assert_eq!(p.spawn_count("/bin/one"), 1, "oneshot is not restarted");
    assert_eq!(init.properties().get("init.svc.one"), Some("stopped"));
    init.set_property("sys.go", "1", &mut p);
    settle(&mut init, &mut p);
    assert_eq!(
        p.spawn_count("/bin/lazy"),
        1,
        "enable starts a service class_start skipped"
    );
    init.set_property("sys.stop", "1", &mut p);
    settle(&mut init, &mut p);
    let lazy = p.pid_of("/bin/lazy").unwrap();
    assert!(p.killed.contains(&(lazy, libc::SIGKILL)));
    assert_eq!(init.service_state("lazy"), Some(ServiceState::Stopped));
    advance(&mut init, &mut p, Duration::from_secs(30));
    assert_eq!(
        p.spawn_count("/bin/lazy"),
        1,
        "stopped services stay stopped"
    );
    // class_stop disabled them; the finished oneshot is disabled too.
    init.set_property("sys.again", "1", &mut p);
    settle(&mut init, &mut p);
    assert_eq!(p.spawn_count("/bin/lazy"), 1);
    assert_eq!(p.spawn_count("/bin/one"), 1);
}

#[test]
fn start_stop_restart_and_control_messages() {
    let rc = "service s /bin/s\n    disabled\n    onrestart write /trace onrestart\n";
    let (mut init, mut p) = boot(&format!("{LATE_INIT}{rc}"));
    settle(&mut init, &mut p);
    assert_eq!(init.set_property("ctl.start", "s", &mut p), PROP_SUCCESS);
    settle(&mut init, &mut p);
    assert_eq!(p.spawn_count("/bin/s"), 1);
    assert_eq!(
        init.properties().get("ctl.start"),
        None,
        "ctl.* is not stored"
    );
    assert_eq!(init.set_property("ctl.restart", "s", &mut p), PROP_SUCCESS);
    settle(&mut init, &mut p);
    // Reaped: onrestart runs, then the restart period from the last start.
    assert_eq!(trace(&p), ["onrestart"]);
    assert_eq!(init.properties().get("init.svc.s"), Some("restarting"));
    assert_eq!(p.spawn_count("/bin/s"), 1);
    advance(&mut init, &mut p, Duration::from_secs(5));
    assert_eq!(
        p.spawn_count("/bin/s"),
        2,
        "restart starts again once reaped"
    );
    assert_eq!(init.set_property("ctl.stop", "s", &mut p), PROP_SUCCESS);
    settle(&mut init, &mut p);
    assert_eq!(init.properties().get("init.svc.s"), Some("stopped"));
    assert_eq!(
        init.set_property("ctl.start", "nope", &mut p),
        PROP_ERROR_HANDLE_CONTROL_MESSAGE
    );
    assert_eq!(
        init.set_property("ctl.frob", "s", &mut p),
        PROP_ERROR_HANDLE_CONTROL_MESSAGE
    );
    assert_eq!(trace(&p), ["onrestart"], "a stop does not run onrestart");
    // A crash runs onrestart.
    init.set_property("ctl.start", "s", &mut p);
    settle(&mut init, &mut p);
    let pid = p.pid_of("/bin/s").unwrap();
    p.exit(pid, 1);
    settle(&mut init, &mut p);
    assert_eq!(trace(&p), ["onrestart", "onrestart"]);
}

#[test]
fn class_restart_starts_stopped_members() {
    let rc = "\
service a /bin/a
    class c
service b /bin/b
    class c
    disabled
service x /bin/x
    class c
    disabled
on boot
    start a
on property:sys.r=1
    class_restart --only-enabled c
on property:sys.r=2
    class_restart c
";
    let (mut init, mut p) = boot(&format!("{LATE_INIT}{rc}"));
    settle(&mut init, &mut p);
    init.set_property("sys.r", "1", &mut p);
    advance(&mut init, &mut p, Duration::from_secs(5));
    assert_eq!(p.spawn_count("/bin/a"), 2, "running: stopped and restarted");
    assert_eq!(
        p.spawn_count("/bin/b"),
        0,
        "disabled: skipped by --only-enabled"
    );
    init.set_property("sys.r", "2", &mut p);
    advance(&mut init, &mut p, Duration::from_secs(5));
    assert_eq!(p.spawn_count("/bin/a"), 3);
    assert_eq!((p.spawn_count("/bin/b"), p.spawn_count("/bin/x")), (1, 1));
}

#[test]
fn not_applicable_builtins_are_accepted() {
    let rc = "on init\n    perform_apex_config\n    mark_post_data\n    perform_apex_config --bootstrap\n    write /trace after\n";
    let (mut init, mut p) = boot(&format!("{LATE_INIT}{rc}"));
    settle(&mut init, &mut p);
    assert_eq!(trace(&p), ["after"]);
}

#[test]
fn service_stdio_env_sockets_and_seclabel() {
    let rc = "\
service k /bin/k arg ${ro.boot.v:-none}
    stdio_to_kmsg
    setenv A b
    socket sock stream 0660 system system
    file /dev/kmsg w
    seclabel u:r:k:s0
    user system
service c /vendor/bin/c
    console hvc0
service refused /bin/refused
on init
    export GLOBAL 1
    start k
    start c
    start refused
    exec -- /bin/refused_exec
    exec u:r:k:s0 -- /bin/labelled_exec
";
    let labeler = RecordingLabeler::default();
    let mut init = init_with(rc, PropertyStore::new(), Box::new(labeler));
    let mut p = FakePlatform::new();
    settle(&mut init, &mut p);
    let k = &p.spawned[0].1;
    assert_eq!(k.args, ["/bin/k", "arg", "none"]);
    assert_eq!(k.stdio.stdout, PathBuf::from("/dev/kmsg"));
    assert_eq!(k.stdio.stdin, PathBuf::from("/dev/null"));
    assert!(k.env.contains(&("A".into(), "b".into())));
    assert!(k.env.contains(&("GLOBAL".into(), "1".into())));
    assert!(k.env.iter().any(|(n, _)| n == "PATH"));
    assert_eq!(k.sockets[0].path, PathBuf::from("/dev/socket/sock"));
    assert_eq!((k.sockets[0].perm, k.sockets[0].uid), (0o660, 1000));
    assert_eq!(k.files[0].path, PathBuf::from("/dev/kmsg"));
    assert_eq!(
        k.seclabel.as_deref(),
        Some("u:r:k:s0"),
        "applied when SELinux is active"
    );
    assert_eq!(k.uid, 1000);
    let c = &p.spawned[1].1;
    assert_eq!(c.stdio.stdin, PathBuf::from("/dev/hvc0"));
    assert_eq!(c.stdio.stdout, PathBuf::from("/dev/hvc0"));
    // Without a seclabel the policy's transition is used; without one, nothing starts.
    assert_eq!(c.seclabel.as_deref(), Some("u:r:vendor_service:s0"));
    assert_eq!(
        init.service_state("refused"),
        Some(ServiceState::Stopped),
        "a program whose domain cannot be entered is not started"
    );
    let started: Vec<&PathBuf> = p.spawned.iter().map(|(_, s)| &s.path).collect();
    assert_eq!(
        started,
        [
            &PathBuf::from("/bin/k"),
            &PathBuf::from("/vendor/bin/c"),
            &PathBuf::from("/bin/labelled_exec")
        ]
    );
    assert_eq!(p.spawned[2].1.seclabel.as_deref(), Some("u:r:k:s0"));
}

#[test]
fn console_follows_androidboot_console() {
    let mut props = PropertyStore::new();
    props.set("ro.boot.console", "ttyAMA0").unwrap();
    let rc = "service sh /bin/sh\n    console\non init\n    start sh\n";
    let mut init = init_with(rc, props, Box::new(NoLabeler));
    let mut p = FakePlatform::new();
    settle(&mut init, &mut p);
    assert_eq!(p.spawned[0].1.stdio.stdout, PathBuf::from("/dev/ttyAMA0"));
}

#[test]
fn filesystem_builtins() {
    let rc = "\
on init
    mkdir /data/misc 01771 system misc
    mkdir /plain
    mkdir /data/x 0700 root root encryption=Require key=per_boot_ref
    chmod 0444 /f
    chown system log /f
    chown root /g
    symlink /system/bin /bin
    rm /dev/.booting
    rmdir /d
    write /proc/sys/kernel/sysrq 0
    copy /src /dst
    mount tmpfs tmpfs /data noatime nosuid nodev rw size=128M
    mount rootfs rootfs / remount bind ro nodev
    mount tracefs tracefs /sys/kernel/tracing gid=3012
    mount ext4 /dev/block/vda /x wait ro
    mount ext4 loop@/f /y
    umount /data
    insmod -f /lib/m.ko a=1 b=2
    insmod /lib/n.ko
    setrlimit nice 40 40
    setrlimit nofile unlimited -1
    hostname localhost
    loglevel 6
    restorecon /data
    restorecon_recursive /mnt
    restorecon --recursive --skip-ce /data
";
    let labeler = RecordingLabeler::default();
    let calls = labeler.calls.clone();
    let mut init = init_with(rc, PropertyStore::new(), Box::new(labeler));
    let mut p = FakePlatform::new();
    p.files.insert(PathBuf::from("/src"), b"data".to_vec());
    settle(&mut init, &mut p);
    let ops = p.ops.join("\n");
    for want in [
        "mkdir /data/misc 1771\nchmod /data/misc 1771\nchown /data/misc Some(1000) Some(9998)",
        "mkdir /plain 755\nchmod /plain 755\nmkdir /data/x 700",
        "chmod /f 444\nchown /f Some(1000) Some(1007)\nchown /g Some(0) None",
        "symlink /system/bin /bin\nrm /dev/.booting\nrmdir /d\nwrite /proc/sys/kernel/sysrq 0",
        "write /dst data",
        "mount tmpfs tmpfs /data 0x406 Some(\"size=128M\")",
        "mount rootfs rootfs / 0x1025 None",
        "mount tracefs tracefs /sys/kernel/tracing 0x0 Some(\"gid=3012\")",
        "umount /data\ninsmod /lib/m.ko 'a=1 b=2' true\ninsmod /lib/n.ko '' false",
        "setrlimit 13 40 40\nsetrlimit 7 18446744073709551615 18446744073709551615",
        "write /proc/sys/kernel/hostname localhost",
    ] {
        assert!(ops.contains(want), "missing:\n{want}\nin:\n{ops}");
    }
    assert!(
        !ops.contains("/dev/block/vda"),
        "mount ... wait needs the device"
    );
    assert!(!ops.contains("loop@"));
    assert_eq!(p.log_level, Some(log::LevelFilter::Info));
    let calls = calls.borrow();
    // mkdir labels the directories it creates (SELinux active), then the restorecons.
    assert!(calls.contains(&(PathBuf::from("/data/misc"), false)));
    assert!(calls.ends_with(&[
        (PathBuf::from("/data"), false),
        (PathBuf::from("/mnt"), true),
        (PathBuf::from("/data"), true)
    ]));
}

#[test]
fn wait_for_file_with_timeout() {
    let rc = "\
on init
    wait /dev/block/vda 0.5
    write /trace after-vda
    wait /dev/present
    write /trace after-present
    wait /dev/later
    write /trace after-later
";
    let (mut init, mut p) = boot(&format!("{LATE_INIT}{rc}"));
    p.existing.insert(PathBuf::from("/dev/present"));
    settle(&mut init, &mut p);
    assert!(trace(&p).is_empty());
    assert_eq!(init.next_deadline(p.now), Some(Duration::from_millis(10)));
    advance(&mut init, &mut p, Duration::from_millis(499));
    assert!(trace(&p).is_empty());
    advance(&mut init, &mut p, Duration::from_millis(1));
    assert_eq!(trace(&p), ["after-vda", "after-present"]);
    advance(&mut init, &mut p, Duration::from_secs(1));
    p.existing.insert(PathBuf::from("/dev/later"));
    advance(&mut init, &mut p, Duration::from_millis(10));
    assert_eq!(trace(&p), ["after-vda", "after-present", "after-later"]);
}

const MOUNTS: &str = "\
rootfs / rootfs ro,nodev 0 0
tmpfs /data tmpfs rw,nosuid,nodev,noexec 0 0
/dev/block/dm-0 /vendor ext4 ro 0 0
/dev/block/vdc /mnt/scratch\\040dir ext4 rw,relatime 0 0
/dev/block/vdd /mnt/ro ext4 ro,relatime 0 0
";

#[test]
fn powerctl_shutdown_as_reboot_cpp() {
    let rc = "\
service a /bin/a
    class core
service b /bin/b
    class core
service keep /bin/keep
    class core
    shutdown critical
on boot
    class_start core
on shutdown
    write /trace shutdown-action
    setprop sys.in_shutdown 1
on property:sys.late=1
    write /trace should-not-run
on property:sys.in_shutdown=1
    write /trace should-not-run-either
";
    let (mut init, mut p) = boot(&format!("{LATE_INIT}{rc}"));
    p.files
        .insert(PathBuf::from("/proc/mounts"), MOUNTS.as_bytes().to_vec());
    settle(&mut init, &mut p);
    let (a, b, keep) = (
        p.pid_of("/bin/a").unwrap(),
        p.pid_of("/bin/b").unwrap(),
        p.pid_of("/bin/keep").unwrap(),
    );
    p.stubborn.insert(b);
    p.busy_mounts.insert(PathBuf::from("/mnt/scratch dir"));
    init.set_property("sys.late", "1", &mut p);
    init.set_property("sys.powerctl", "shutdown", &mut p);
    // No more triggers, no more control messages.
    assert_eq!(
        init.set_property("ctl.start", "a", &mut p),
        PROP_ERROR_HANDLE_CONTROL_MESSAGE
    );
    init.set_property("sys.late", "2", &mut p);
    settle(&mut init, &mut p);
    assert_eq!(trace(&p), ["shutdown-action"], "queue cleared, no triggers");
    assert!(p.killed.contains(&(a, libc::SIGTERM)) && p.killed.contains(&(b, libc::SIGTERM)));
    assert!(
        !p.killed.iter().any(|(pid, _)| *pid == keep),
        "shutdown critical"
    );
    assert_eq!(init.service_state("a"), Some(ServiceState::Stopped));
    assert!(p.powered.is_none(), "b ignores SIGTERM");
    // SIGKILL after half of the 6 s shutdown timeout.
    advance(&mut init, &mut p, Duration::from_millis(2999));
    assert!(!p.killed.contains(&(b, libc::SIGKILL)));
    advance(&mut init, &mut p, Duration::from_millis(1));
    assert!(p.killed.contains(&(b, libc::SIGKILL)));
    assert!(p.synced);
    // The rw block device is busy: retried until the timeout, then everything is killed.
    assert!(p.powered.is_none());
    advance(&mut init, &mut p, Duration::from_secs(2));
    assert!(p.killed_all.is_empty());
    advance(&mut init, &mut p, Duration::from_secs(1));
    assert_eq!(p.killed_all, [libc::SIGKILL]);
    assert!(p.ops.contains(&"umount /mnt/scratch dir".to_string()));
    assert!(
        !p.ops
            .iter()
            .any(|o| o == "umount /vendor" || o == "umount /mnt/ro"),
        "read-only and /vendor stay"
    );
    advance(&mut init, &mut p, Duration::from_millis(100));
    assert_eq!(p.powered, Some(PowerAction::PowerOff));
    assert!(init.is_finished());
    // Nothing restarts after shutdown.
    advance(&mut init, &mut p, Duration::from_secs(60));
    assert_eq!(p.spawn_count("/bin/a"), 1);
}

#[test]
fn shutdown_without_data_powers_off_at_once() {
    let rc = "service a /bin/a\n    class core\non boot\n    class_start core\n";
    let (mut init, mut p) = boot(&format!("{LATE_INIT}{rc}"));
    settle(&mut init, &mut p);
    init.set_property("sys.powerctl", "shutdown,userrequested", &mut p);
    settle(&mut init, &mut p);
    assert!(p.synced && p.powered.is_none(), "AOSP's 100 ms pause");
    advance(&mut init, &mut p, Duration::from_millis(100));
    assert_eq!(p.powered, Some(PowerAction::PowerOff));
    assert!(
        p.killed.is_empty(),
        "AOSP skips the stop sequence without /data"
    );
}

#[test]
fn powerctl_reboot_and_invalid() {
    let (mut init, mut p) = boot(&format!("{LATE_INIT}on boot\n    setprop sys.powerctl bogus\n    setprop sys.powerctl reboot,userspace\n    setprop sys.powerctl reboot,recovery,extra\n"));
    settle(&mut init, &mut p);
    advance(&mut init, &mut p, Duration::from_millis(100));
    assert_eq!(
        p.powered,
        Some(PowerAction::Reboot("recovery,extra".into()))
    );
}

#[test]
fn actions_run_in_file_order_and_trigger_only_queues() {
    let rc = "\
on boot
    write /trace a
    trigger x
    write /trace b
on x
    write /trace x
on boot
    write /trace c
";
    let (mut init, mut p) = boot(&format!("{LATE_INIT}{rc}"));
    settle(&mut init, &mut p);
    assert_eq!(trace(&p), ["a", "b", "c", "x"]);
}

#[test]
fn orphans_and_unknown_services() {
    let (mut init, mut p) = boot(&format!(
        "{LATE_INIT}on boot\n    start nosuch\n    write /trace after\n"
    ));
    p.exit(4242, 0);
    settle(&mut init, &mut p);
    assert_eq!(trace(&p), ["after"]);
}

#[test]
fn wait_for_prop_gives_up_at_its_deadline() {
    let rc = "\
on init
    wait_for_prop vendor.never 1
    write /trace after-wait
";
    let mut props = PropertyStore::new();
    props.set("ro.init.wait_for_prop_timeout", "5").unwrap();
    let mut init = init_with(&format!("{LATE_INIT}{rc}"), props, Box::new(NoLabeler));
    let mut p = FakePlatform::new();
    settle(&mut init, &mut p);
    assert!(trace(&p).is_empty());
    let deadline = init.next_deadline(p.now).expect("a deadline");
    assert_eq!(deadline, p.now + Duration::from_secs(5));
    advance(&mut init, &mut p, Duration::from_millis(4999));
    assert!(trace(&p).is_empty());
    advance(&mut init, &mut p, Duration::from_millis(1));
    // The command failed (one log line) and the action went on.
    assert_eq!(trace(&p), ["after-wait"]);
    assert!(init.fatal().is_none());
}

#[test]
fn coldboot_that_never_completes_is_fatal() {
    let rc = "\
on early-init
    wait_for_prop ro.cold_boot_done true
    write /trace after-coldboot
";
    let (mut init, mut p) = boot(&format!("{LATE_INIT}{rc}"));
    settle(&mut init, &mut p);
    // The default deadline: a minute.
    advance(&mut init, &mut p, Duration::from_secs(59));
    assert!(init.fatal().is_none());
    advance(&mut init, &mut p, Duration::from_secs(1));
    let (token, detail) = init.fatal().expect("fatal");
    assert_eq!(token, "COLDBOOT_TIMEOUT");
    assert_eq!(
        detail,
        "ueventd did not set ro.cold_boot_done=true within 60000ms"
    );
    assert!(trace(&p).is_empty());
}

#[test]
fn coldboot_wait_is_recorded_and_bad_timeouts_use_the_default() {
    let rc = "\
on early-init
    wait_for_prop ro.cold_boot_done true
";
    let mut props = PropertyStore::new();
    props.set("ro.init.wait_for_prop_timeout", "0").unwrap();
    let mut init = init_with(&format!("{LATE_INIT}{rc}"), props, Box::new(NoLabeler));
    let mut p = FakePlatform::new();
    settle(&mut init, &mut p);
    assert_eq!(
        init.next_deadline(p.now),
        Some(p.now + Duration::from_secs(60))
    );
    p.now += Duration::from_millis(1234);
    init.set_property("ro.cold_boot_done", "true", &mut p);
    settle(&mut init, &mut p);
    assert_eq!(
        init.properties().get("ro.boottime.init.cold_boot_wait"),
        Some("1234")
    );
}

#[test]
fn hardening_runs_around_early_init_and_failure_is_fatal() {
    let rc = "\
on early-init
    write /trace early-init
on init
    write /trace init
";
    let (mut init, mut p) = boot(&format!("{LATE_INIT}{rc}"));
    settle(&mut init, &mut p);
    let ops: Vec<&String> = p
        .ops
        .iter()
        .filter(|o| o.contains("/trace") || o.contains("/proc/sys/"))
        .collect();
    let pos = |want: &str| {
        ops.iter()
            .position(|o| o.as_str() == want)
            .unwrap_or_else(|| panic!("{want} not in {ops:#?}"))
    };
    let kptr = pos("write /proc/sys/kernel/kptr_restrict 2\n");
    let early = pos("write /trace early-init");
    let bits = if cfg!(target_arch = "aarch64") {
        33
    } else {
        32
    };
    let mmap = pos(&format!("write /proc/sys/vm/mmap_rnd_bits {bits}\n"));
    let init_pos = pos("write /trace init");
    assert!(kptr < early && early < mmap && mmap < init_pos, "{ops:#?}");
    assert!(init.fatal().is_none());

    // A kernel that will not hide its pointers: nothing of the rc runs.
    let (mut init, mut p) = boot(&format!("{LATE_INIT}{rc}"));
    p.sysctl("/proc/sys/kernel/kptr_restrict", 0, 0..=1);
    settle(&mut init, &mut p);
    assert_eq!(init.fatal().map(|f| f.0), Some("KPTR_RESTRICT"));
    assert!(trace(&p).is_empty());

    // Too little mmap entropy: fatal after early-init, before init.
    let (mut init, mut p) = boot(&format!("{LATE_INIT}{rc}"));
    p.sysctl("/proc/sys/vm/mmap_rnd_bits", 18, 18..=20);
    settle(&mut init, &mut p);
    assert_eq!(init.fatal().map(|f| f.0), Some("MMAP_RND_BITS"));
    assert_eq!(trace(&p), ["early-init"]);
}

#[test]
fn chmod_and_write_refuse_a_planted_symlink() {
    let rc = "\
on init
    chmod 0666 /data/planted
    write /data/planted pwned
    chown shell shell /data/planted
    write /trace after
";
    let (mut init, mut p) = boot(&format!("{LATE_INIT}{rc}"));
    p.symlinks.insert(PathBuf::from("/data/planted"));
    settle(&mut init, &mut p);
    // Each command failed on its own; nothing was written through the link; the
    // action went on.
    assert!(!p.files.contains_key(&PathBuf::from("/data/planted")));
    assert_eq!(trace(&p), ["after"]);
    // chown is lchown: the link's own owner.
    assert!(p
        .ops
        .contains(&"chown /data/planted Some(2000) Some(2000)".to_string()));
}
