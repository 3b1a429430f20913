//! The rc interpreter in a real guest (issues 8 and 9): the first stage execs
//! `/system/bin/init second_stage`, which runs the system init.rc and the vendor's rc files
//! from the verified vendor partition. One aarch64 boot checks, in causal order: `on
//! early-init` with `exec`, `mkdir` and `write`; a oneshot service that sets a property
//! through the property socket; the property trigger that fires on it; a service crashing
//! in a loop (restarted with back-off while the boot completes); orphans re-parented to
//! PID 1 and reaped by it, with no zombie left (checked from the guest); a malformed vendor
//! rc whose every problem is logged with `file:line` without stopping the boot; and a
//! clean power-off through `setprop sys.powerctl shutdown`. A host test runs the
//! verifier (`init --verify`) on the same rc files.

use std::path::Path;
use std::process::Command;

use qemu_tests::console::BootLog;
use qemu_tests::scenario::{Guest, VendorOptions, VendorTree};
use qemu_tests::Arch;

/// Where the vendor rc files are in the guest (init logs this path in `file:line`).
const RC_DIR: &str = "/vendor/etc/init";

// The probes log their markers to /dev/kmsg: a kmsg record reaches the console whole and
// in causal order with init's own lines, while a process writing to /dev/console while
// init logs can have a kmsg line land between its text and its newline (seen here with a
// service's output and init's `service … started` line). Only the first exec checks its
// console stdout, with a marker its command line does not contain.

/// Deliberately malformed. Parsed first (`bad.rc` sorts before `rctest.rc`); the line
/// numbers are asserted below: 3 unknown command, 5 wrong argument count, 11 unknown
/// service option, 15 unterminated quote (which swallows the rest of the file, as in AOSP).
const BAD_RC: &str = r#"# Deliberately malformed: each problem is logged with file:line and skipped.
on early-init
    frobnicate /dev/rctest
    exec -- /vendor/bin/busybox sh -c "echo RC_BAD_AFTER_UNKNOWN_COMMAND > /dev/kmsg"
    chmod 0644
    exec -- /vendor/bin/busybox sh -c "echo RC_BAD_AFTER_ARITY_ERROR > /dev/kmsg"

service rctest_badopt /vendor/bin/busybox sh -c "echo RC_BAD_SERVICE_RAN $$RCTEST_WORD > /dev/kmsg"
    class main
    oneshot
    no_such_option 1 2
    setenv RCTEST_WORD after-bad-option

on boot
    exec -- /vendor/bin/busybox echo "RC_BAD_UNTERMINATED
    setprop vendor.rctest.never 1
"#;

/// The interpreter under test: every construct of the issue, with markers to order.
const RCTEST_RC: &str = r#"# The rc interpreter QEMU test (qemu-tests/tests/init_rc.rs).
on early-init
    exec -- /vendor/bin/busybox printf "RC_%s\n" EARLY_INIT_STDOUT
    mkdir /dev/rctest 0710 root root
    write /dev/rctest/written write-ok-v${ro.property_service.version}
    exec -- /vendor/bin/busybox sh /vendor/etc/rctest/check_early.sh

on property:vendor.rctest.oneshot=done
    exec -- /vendor/bin/busybox sh -c "echo RC_PROPERTY_TRIGGER > /dev/kmsg"

on property:dev.bootcomplete=1 && property:vendor.rctest.oneshot=done
    start rctest_finish

service rctest_oneshot /vendor/bin/busybox sh /vendor/etc/rctest/oneshot.sh
    class main
    oneshot
    console

service rctest_crasher /vendor/bin/busybox sh /vendor/etc/rctest/crasher.sh
    class main
    console
    restart_period 1

service rctest_finish /vendor/bin/busybox sh /vendor/etc/rctest/finish.sh
    oneshot
    disabled
    console
"#;

/// Run by `exec` in early-init: what `mkdir` and `write` did.
const CHECK_EARLY_SH: &str = r#"log() { echo "$*" > /dev/kmsg; }
log "RC_MKDIR mode=$(stat -c %a /dev/rctest) owner=$(stat -c %u:%g /dev/rctest)"
log "RC_WRITE $(cat /dev/rctest/written)"
"#;

/// The oneshot: sets the property over the socket and leaves an orphan behind.
const ONESHOT_SH: &str = r#"echo RC_ONESHOT_RAN > /dev/kmsg
/system/bin/setprop vendor.rctest.oneshot done
sleep 0.2 &
exit 0
"#;

/// Crashes on every run: odd runs exit 1, even runs are killed by SIGKILL.
const CRASHER_SH: &str = r#"echo x >> /dev/rctest/crasher.runs
n=$(wc -l < /dev/rctest/crasher.runs)
echo "RC_CRASHER_RUN n=$n" > /dev/kmsg
if [ $((n % 2)) -eq 0 ]; then kill -KILL $$; fi
exit 1
"#;

/// Started once boot completed: waits for two restarts of the crasher, stops it, makes an
/// orphan and watches PID 1 reap it, scans /proc for zombies, then powers off. Every wait
/// is bounded; the test asserts on what it logs, never on time.
const FINISH_SH: &str = r#"log() { echo "$*" > /dev/kmsg; }
log "RC_FINISH bootcomplete=$(/system/bin/getprop dev.bootcomplete)"
runs() { wc -l < /dev/rctest/crasher.runs 2>/dev/null || echo 0; }
i=0
while [ "$(runs)" -lt 3 ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
log "RC_CRASHER_RUNS_SEEN $(runs)"
/system/bin/setprop ctl.stop rctest_crasher
i=0
while [ "$(/system/bin/getprop init.svc.rctest_crasher)" != stopped ] && [ $i -lt 300 ]; do
    sleep 0.1; i=$((i+1))
done
log "RC_CRASHER_STATE $(/system/bin/getprop init.svc.rctest_crasher)"
log "RC_ONESHOT_STATE $(/system/bin/getprop init.svc.rctest_oneshot)"
log "RC_NEVER [$(/system/bin/getprop vendor.rctest.never)]"

# An orphan: the intermediate shell exits at once, so `sleep` is re-parented to PID 1.
sh -c 'sleep 1 & echo $! > /dev/rctest/orphan.pid'
pid=$(cat /dev/rctest/orphan.pid)
ppid=$(sed -n 's/^PPid:[[:space:]]*//p' /proc/$pid/status)
log "RC_ORPHAN pid=$pid ppid=$ppid"
i=0
while [ -e /proc/$pid ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
if [ -e /proc/$pid ]; then
    log "RC_ORPHAN_LEFT $(cat /proc/$pid/stat)"
else
    log RC_ORPHAN_REAPED
fi

# Zombies: a process seen in state Z is reported if it is still a zombie a second later
# (a child that exited a moment ago is a zombie until its parent reaps it).
zombies=0
for f in /proc/[0-9]*/stat; do
    { read -r line < "$f"; } 2>/dev/null || continue
    rest=${line##*) }
    if [ "${rest%% *}" = Z ]; then
        sleep 1
        { read -r line < "$f"; } 2>/dev/null || continue
        rest=${line##*) }
        if [ "${rest%% *}" = Z ]; then
            log "RC_ZOMBIE $line"
            zombies=$((zombies+1))
        fi
    fi
done
log "RC_ZOMBIES $zombies"
log RC_SHUTDOWN
/system/bin/setprop sys.powerctl shutdown
"#;

fn vendor_tree(arch: Arch) -> VendorTree {
    let mut t = VendorTree::new().expect("vendor tree");
    t.busybox(arch).expect("busybox");
    for (rel, text) in [
        ("etc/init/bad.rc", BAD_RC),
        ("etc/init/rctest.rc", RCTEST_RC),
        ("etc/rctest/check_early.sh", CHECK_EARLY_SH),
        ("etc/rctest/oneshot.sh", ONESHOT_SH),
        ("etc/rctest/crasher.sh", CRASHER_SH),
        ("etc/rctest/finish.sh", FINISH_SH),
    ] {
        t.file(rel, 0o644, text.as_bytes()).expect("vendor file");
    }
    t
}

/// Index of the first console line equal to `line` (probe output: exact lines, since init
/// logs every exec'd command line, which contains the marker).
fn line_at(log: &BootLog, line: &str) -> usize {
    log.lines()
        .position(|l| l.trim_end() == line)
        .unwrap_or_else(|| panic!("{}", log.report(&format!("no line {line:?}"))))
}

/// Index of the first console line starting with `prefix`.
fn prefix_at(log: &BootLog, prefix: &str) -> usize {
    log.lines()
        .position(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("{}", log.report(&format!("no line starting {prefix:?}"))))
}

/// Lines starting with `prefix`, with the prefix removed.
fn after<'a>(log: &'a BootLog, prefix: &'a str) -> Vec<&'a str> {
    log.lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .map(str::trim_end)
        .collect()
}

fn assert_in_order(log: &BootLog, steps: &[(&str, usize)]) {
    for w in steps.windows(2) {
        assert!(
            w[0].1 < w[1].1,
            "{}",
            log.report(&format!(
                "{:?} (line {}) is not before {:?} (line {})",
                w[0].0, w[0].1, w[1].0, w[1].1
            ))
        );
    }
}

#[test]
fn vendor_rc_runs_in_order_and_powers_off_cleanly() {
    let arch = Arch::Aarch64;
    let mut g = Guest::new(arch).expect("guest");
    g.vendor(&vendor_tree(arch), &VendorOptions::default())
        .expect("vendor image");
    let log = g.boot().expect("boot");
    eprintln!(
        "booted and powered off in {:?}\n{}",
        log.elapsed,
        log.timeline_table()
    );
    log.assert_phases(&["vendor_mount", "selinux", "second_stage"]);
    log.assert_lacks("INIT_FATAL");

    // The malformed file: every problem at its file:line, the rest of the boot unharmed.
    let bad = format!("{RC_DIR}/bad.rc");
    for want in [
        format!("init: unsupported command 'frobnicate' at {bad}:3"),
        format!("init: syntax error at {bad}:5: 'chmod' takes 2 argument(s), got 1"),
        format!("init: unsupported option 'no_such_option' at {bad}:11"),
        format!("init: syntax error at {bad}:15: unterminated quoted string"),
    ] {
        assert!(
            log.lines().any(|l| l.starts_with(&want)),
            "{}",
            log.report(&format!("no diagnostic {want:?}"))
        );
    }
    // bad.rc sorts first, so its early-init action runs before rctest.rc's.
    let bad_first = line_at(&log, "RC_BAD_AFTER_UNKNOWN_COMMAND");
    for marker in [
        "RC_BAD_AFTER_ARITY_ERROR",
        "RC_BAD_SERVICE_RAN after-bad-option",
        "RC_NEVER []",
    ] {
        line_at(&log, marker);
    }
    assert!(
        !log.lines().any(|l| l.starts_with("RC_BAD_UNTERMINATED")),
        "{}",
        log.report("the unterminated line ran")
    );

    // early-init: exec, mkdir (mode and owner applied), write (with ${} expansion).
    // The exec child's stdout is the console (the command line logged by init reads
    // `printf RC_%s\n EARLY_INIT_STDOUT`, so this cannot match it).
    log.assert_contains("RC_EARLY_INIT_STDOUT");
    let early = prefix_at(
        &log,
        "init: exec '/vendor/bin/busybox printf RC_%s\\n EARLY_INIT_STDOUT' pid=",
    );
    let mkdir = line_at(&log, "RC_MKDIR mode=710 owner=0:0");
    let write = line_at(&log, "RC_WRITE write-ok-v2");
    let early_action = prefix_at(
        &log,
        &format!("init: action on=early-init {RC_DIR}/rctest.rc:2"),
    );
    // The oneshot ran once, set its property over the socket, and stayed stopped. (Its
    // output may precede init's `started` line: the child runs as soon as it is forked.)
    let oneshot_started = prefix_at(&log, "init: service rctest_oneshot started pid=");
    let oneshot = line_at(&log, "RC_ONESHOT_RAN");
    let oneshot_exit = line_at(&log, "init: service rctest_oneshot exited status=0");
    assert_eq!(
        log.grep("init: service rctest_oneshot started").count(),
        1,
        "{}",
        log.report("oneshot started more than once")
    );
    log.assert_lacks("init: service rctest_oneshot restarting");
    line_at(&log, "RC_ONESHOT_STATE stopped");
    // The property trigger fired on it, before the action waiting for both properties.
    let trigger_action = prefix_at(
        &log,
        &format!("init: action on=property:vendor.rctest.oneshot=done {RC_DIR}/rctest.rc:8"),
    );
    let trigger = line_at(&log, "RC_PROPERTY_TRIGGER");
    let finish = line_at(&log, "RC_FINISH bootcomplete=1");
    let triggers_enabled = line_at(&log, "init: property triggers enabled");

    // The crash loop: started with the boot's `class_start main`, restarted with a
    // growing back-off while the boot completed (the finisher runs only after it).
    let crasher_started = prefix_at(&log, "init: service rctest_crasher started pid=");
    let runs: Vec<&str> = after(&log, "RC_CRASHER_RUN n=");
    assert!(runs.len() >= 3, "{}", log.report("crasher ran < 3 times"));
    assert_eq!(
        &runs[..3],
        ["1", "2", "3"],
        "{}",
        log.report("crasher runs")
    );
    let statuses = after(&log, "init: service rctest_crasher exited status=");
    assert!(
        statuses.len() >= 3 && statuses[..3] == ["1", "137", "1"],
        "{}",
        log.report(&format!("crasher exit statuses {statuses:?}"))
    );
    let delays: Vec<u64> = after(&log, "init: service rctest_crasher restarting in ")
        .iter()
        .filter_map(|d| d.strip_suffix("ms")?.parse().ok())
        .collect();
    assert!(
        delays.len() >= 2,
        "{}",
        log.report(&format!("fewer than 2 restarts: {delays:?}"))
    );
    // restart_period 1: 1 s, then 2 s, then 4 s after each start (minus the run time).
    for (d, target) in delays.iter().zip([1000u64, 2000, 4000]) {
        assert!(
            *d <= target,
            "{}",
            log.report(&format!("delays {delays:?}"))
        );
    }
    assert!(
        delays[1] > delays[0],
        "{}",
        log.report(&format!("no back-off in {delays:?}"))
    );
    let seen: Vec<u32> = after(&log, "RC_CRASHER_RUNS_SEEN ")
        .iter()
        .filter_map(|n| n.parse().ok())
        .collect();
    assert!(
        seen.first().is_some_and(|n| *n >= 3),
        "{}",
        log.report("the finisher did not see 3 crasher runs")
    );
    line_at(&log, "RC_CRASHER_STATE stopped");
    line_at(&log, "init: control message ctl.stop for 'rctest_crasher'");

    // Orphans: re-parented to PID 1 and reaped by it; no zombie anywhere.
    let orphan = after(&log, "RC_ORPHAN pid=");
    let (pid, ppid) = orphan
        .first()
        .and_then(|o| o.split_once(" ppid="))
        .unwrap_or_else(|| panic!("{}", log.report("no orphan line")));
    assert_eq!(
        ppid,
        "1",
        "{}",
        log.report("orphan not re-parented to PID 1")
    );
    let reaped = line_at(&log, &format!("init: reaped orphan pid={pid} status=0"));
    let orphan_gone = line_at(&log, "RC_ORPHAN_REAPED");
    assert!(
        log.grep("init: reaped orphan pid=").count() >= 2,
        "{}",
        log.report("the oneshot's orphan was not reaped by init")
    );
    assert!(
        !log.lines().any(|l| l.starts_with("RC_ZOMBIE ")),
        "{}",
        log.report("zombies")
    );
    let zombies = line_at(&log, "RC_ZOMBIES 0");

    // The shutdown the finisher asked for through the property socket.
    let shutdown = line_at(&log, "RC_SHUTDOWN");
    let powerctl = line_at(&log, "init: powerctl shutdown");
    let term = prefix_at(&log, "init: shutdown: sending SIGTERM to ");
    let off = line_at(&log, "init: shutdown: synced, powering off");
    log.assert_clean_poweroff();

    assert_in_order(
        &log,
        &[
            ("bad.rc early-init", bad_first),
            ("early-init action", early_action),
            ("exec", early),
            ("mkdir", mkdir),
            ("write", write),
            ("oneshot output", oneshot),
            ("property trigger", trigger),
            ("finisher", finish),
            ("orphan reaped", reaped),
            ("orphan gone", orphan_gone),
            ("zombie scan", zombies),
            ("shutdown requested", shutdown),
            ("powerctl", powerctl),
            ("SIGTERM", term),
            ("power off", off),
        ],
    );
    assert_in_order(
        &log,
        &[
            ("write", write),
            ("crasher started", crasher_started),
            ("finisher", finish),
        ],
    );
    assert_in_order(
        &log,
        &[
            ("oneshot started", oneshot_started),
            ("oneshot exited", oneshot_exit),
        ],
    );
    assert_in_order(
        &log,
        &[
            ("triggers enabled", triggers_enabled),
            ("property trigger action", trigger_action),
            ("property trigger", trigger),
        ],
    );
}

/// The static guest binary for the host's architecture runs on the host: its
/// `init --verify` is the host verifier.
fn host_init() -> std::path::PathBuf {
    let arch = if cfg!(target_arch = "aarch64") {
        Arch::Aarch64
    } else {
        Arch::X86_64
    };
    qemu_tests::guest::build_init(arch).expect("build init")
}

fn verify(init: &Path, files: &[&Path]) -> (i32, String) {
    let out = Command::new(init)
        .arg("--verify")
        .args(files)
        .output()
        .expect("run init --verify");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn host_verifier_reports_the_malformed_vendor_rc() {
    let init = host_init();
    let d = tempfile::tempdir().expect("tempdir");
    let bad = d.path().join("bad.rc");
    let good = d.path().join("rctest.rc");
    std::fs::write(&bad, BAD_RC).expect("write");
    std::fs::write(&good, RCTEST_RC).expect("write");

    let (code, out) = verify(&init, &[&good]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("1 file(s), 3 action(s), 3 service(s): 0 syntax error(s), 0 unsupported"),
        "{out}"
    );

    let (code, out) = verify(&init, &[&bad, &good]);
    assert_eq!(code, 1, "syntax errors must fail the verifier:\n{out}");
    let b = bad.display();
    for want in [
        format!("unsupported command 'frobnicate' at {b}:3 (not an AOSP keyword we know)"),
        format!("syntax error at {b}:5: 'chmod' takes 2 argument(s), got 1"),
        format!("unsupported option 'no_such_option' at {b}:11 (not an AOSP keyword we know)"),
        format!("syntax error at {b}:15: unterminated quoted string"),
        "2 file(s), 4 action(s), 4 service(s): 2 syntax error(s), 2 unsupported".to_string(),
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(&want)),
            "missing {want:?} in:\n{out}"
        );
    }
}
