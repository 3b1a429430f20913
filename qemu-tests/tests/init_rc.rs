//! The rc interpreter in a real guest (issues 8, 9 and 15): the first stage execs
//! `/system/bin/init second_stage`, which runs our init.rc (Microdroid's) and the vendor's
//! rc files from the verified vendor partition. One aarch64 boot, with
//! `androidboot.hardware=rctest` on the command line and a writable ext4 disk, checks in
//! causal order: every construct of Microdroid's init.rc (between our init.rc and the
//! vendor's); `exec` children with `/dev/null` stdio; a oneshot service that sets a
//! property through the socket and the trigger that fires on it; a service crashing in a
//! loop (restarted `restart_period` after each start while the boot completes); what the
//! guest reports from `/proc` after `dev.bootcomplete=1`: the capability sets and umask of
//! services, `/` read-only `nodev` and `/data` `noexec,nosuid,nodev`, autoloading off,
//! `ro.hardware` from the command line; a `setsid()` child killed with its service's
//! cgroup; a restarted ueventd that does not replay coldboot; orphans reaped by PID 1,
//! no zombie; a malformed vendor rc whose every problem is logged with `file:line`; and
//! a shutdown through `sys.powerctl` that unmounts the ext4 cleanly (checked on the
//! host: no `needs_recovery`). A second boot crash-loops a `critical` service into
//! `INIT_FATAL reason=CRITICAL_SERVICE`. A host test runs the verifier (`init --verify`)
//! on the same rc files.

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

/// The interpreter under test: with our init.rc, every construct of Microdroid's init.rc
/// (import, exec_start, export, ${} in mkdir and setprop, wait_for_prop,
/// perform_apex_config, `on init && property:`, two-property triggers, stdio_to_kmsg,
/// capabilities, setenv, console, oneshot, disabled, user/group), with markers to order.
const RCTEST_RC: &str = r#"# The rc interpreter QEMU test (qemu-tests/tests/init_rc.rs).
import /vendor/etc/rctest/imported.rc

on early-init
    exec -- /vendor/bin/busybox printf "RC_%s\n" EARLY_INIT_STDOUT
    mkdir /dev/rctest 0710 root root
    write /dev/rctest/written write-ok-v${ro.property_service.version}
    exec -- /vendor/bin/busybox sh /vendor/etc/rctest/check_early.sh
    exec_start rctest_policy
    export RCTEST_EXPORTED from-export

on init
    mkdir /mnt/scratch 0755 root root
    mkdir /dev/rctest/${ro.hardware} 0750 root 6000
    chmod 0666 /dev/rctest/written
    perform_apex_config
    setprop vendor.rctest.hw ${ro.hardware}
    start rctest_setsid

on init && property:ro.hardware=rctest
    exec -- /vendor/bin/busybox sh -c "echo RC_HARDWARE_TRIGGER > /dev/kmsg"

on post-fs-data
    mount ext4 /dev/block/vdb /mnt/scratch rw
    wait_for_prop vendor.rctest.setsid done

on property:vendor.rctest.oneshot=done
    exec -- /vendor/bin/busybox sh -c "echo RC_PROPERTY_TRIGGER > /dev/kmsg"

on property:dev.bootcomplete=1 && property:vendor.rctest.oneshot=done
    start rctest_finish

service rctest_policy /vendor/bin/busybox sh -c "echo RC_POLICY_RAN > /dev/kmsg"
    user root
    oneshot
    disabled
    stdio_to_kmsg

service rctest_oneshot /vendor/bin/busybox sh /vendor/etc/rctest/oneshot.sh
    class main
    oneshot
    console

service rctest_crasher /vendor/bin/busybox sh /vendor/etc/rctest/crasher.sh
    class main
    console
    restart_period 1

service rctest_caps /vendor/bin/busybox sh /vendor/etc/rctest/caps.sh
    class main
    user system
    group system log
    capabilities NET_ADMIN NET_RAW
    setenv RCTEST_ENV from-setenv

service rctest_setsid /vendor/bin/busybox sh /vendor/etc/rctest/setsid.sh
    oneshot
    disabled

service rctest_finish /vendor/bin/busybox sh /vendor/etc/rctest/finish.sh
    oneshot
    disabled
    console
"#;

/// Imported by rctest.rc.
const IMPORTED_RC: &str =
    "on boot\n    exec -- /vendor/bin/busybox sh -c \"echo RC_IMPORTED_RAN > /dev/kmsg\"\n";

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

/// A non-root service with capabilities: its own sets, umask and environment.
const CAPS_SH: &str = r#"st() { sed -n "s/^$1:[[:space:]]*//p" /proc/$$/status; }
echo "RC_CAPS uid=$(id -u) bnd=$(st CapBnd) amb=$(st CapAmb) eff=$(st CapEff) umask=$(st Umask) env=$RCTEST_ENV,$RCTEST_EXPORTED" > /dev/kmsg
"#;

/// Leaves a child in a new session, then exits: init kills it with the cgroup.
const SETSID_SH: &str = r#"setsid sleep 1000 &
echo $! > /dev/rctest/setsid.pid
echo "RC_SETSID_CHILD $! sid=$(cut -d' ' -f6 /proc/$!/stat)" > /dev/kmsg
/system/bin/setprop vendor.rctest.setsid done
exit 0
"#;

/// Started once boot completed: reports what /proc shows, waits for two restarts of the
/// crasher, stops it, restarts ueventd, makes an orphan and watches PID 1 reap it, scans
/// /proc for zombies, writes to the ext4, then powers off. Every wait is bounded; the test
/// asserts on what it logs, never on time.
const FINISH_SH: &str = r#"log() { echo "$*" > /dev/kmsg; }
st() { sed -n "s/^$2:[[:space:]]*//p" /proc/$1/status; }
log "RC_FINISH bootcomplete=$(/system/bin/getprop dev.bootcomplete)"
log "RC_HARDWARE $(/system/bin/getprop ro.hardware) $(/system/bin/getprop vendor.rctest.hw) $(stat -c '%a %u:%g' /dev/rctest/rctest)"
log "RC_MODPROBE [$(cat /proc/sys/kernel/modprobe)]"
log "RC_MOUNT_ROOT $(awk '$2 == "/" { print $4 }' /proc/mounts | tail -n 1)"
log "RC_MOUNT_DATA $(awk '$2 == "/data" { print $4 }' /proc/mounts)"
if touch /rctest-write 2>/dev/null; then log RC_ROOT_WRITABLE; else log RC_ROOT_READONLY; fi
u=$(pidof ueventd)
log "RC_UEVENTD pid=$u bnd=$(st $u CapBnd) amb=$(st $u CapAmb) umask=$(st $u Umask)"
log "RC_FINISH_UMASK $(st $$ Umask)"
spid=$(cat /dev/rctest/setsid.pid)
i=0
while [ -e /proc/$spid ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
if [ -e /proc/$spid ]; then log "RC_SETSID_LEFT $spid"; else log "RC_SETSID_GONE $spid"; fi
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
log "RC_BOOTTIME $(/system/bin/getprop ro.boottime.ueventd)"

# A restarted ueventd (not a crash: the critical count does not grow).
/system/bin/setprop ctl.restart ueventd
i=0
while { [ "$(pidof ueventd)" = "$u" ] || [ -z "$(pidof ueventd)" ]; } && [ $i -lt 300 ]; do
    sleep 0.1; i=$((i+1))
done
sleep 1
log "RC_UEVENTD_RESTARTED $(/system/bin/getprop init.svc.ueventd) new=$(pidof ueventd)"

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
echo data > /mnt/scratch/written
log "RC_SCRATCH $(awk '$2 == "/mnt/scratch" { print $1, $4 }' /proc/mounts)"
log RC_SHUTDOWN
/system/bin/setprop sys.powerctl shutdown
"#;

fn vendor_tree(arch: Arch) -> VendorTree {
    let mut t = VendorTree::new().expect("vendor tree");
    t.busybox(arch).expect("busybox");
    for (rel, text) in [
        ("etc/init/bad.rc", BAD_RC),
        ("etc/init/rctest.rc", RCTEST_RC),
        ("etc/rctest/imported.rc", IMPORTED_RC),
        ("etc/rctest/check_early.sh", CHECK_EARLY_SH),
        ("etc/rctest/oneshot.sh", ONESHOT_SH),
        ("etc/rctest/crasher.sh", CRASHER_SH),
        ("etc/rctest/caps.sh", CAPS_SH),
        ("etc/rctest/setsid.sh", SETSID_SH),
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

/// A 16 MiB ext4 image the guest mounts read-write and must unmount cleanly.
fn scratch_ext4(dir: &Path) -> std::path::PathBuf {
    let img = dir.join("scratch.ext4");
    let f = std::fs::File::create(&img).expect("create scratch");
    f.set_len(16 << 20).expect("size scratch");
    let st = Command::new("mkfs.ext4")
        .args(["-q", "-F"])
        .arg(&img)
        .status()
        .expect("mkfs.ext4");
    assert!(st.success(), "mkfs.ext4 failed");
    img
}

/// `Filesystem features:` of an ext4 image (`dumpe2fs -h`).
fn ext4_features(img: &Path) -> String {
    let out = Command::new("dumpe2fs")
        .arg("-h")
        .arg(img)
        .output()
        .expect("dumpe2fs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix("Filesystem features:"))
        .unwrap_or_else(|| panic!("no features in dumpe2fs output:\n{text}"))
        .trim()
        .to_owned()
}

/// The value after `key=` in a probe line (space-separated fields).
fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split(' ')
        .find_map(|f| f.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
        .unwrap_or_else(|| panic!("no {key}= in {line:?}"))
}

/// Microdroid's ueventd capability list (CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID
/// MKNOD NET_ADMIN SETGID SETUID SYS_MODULE SYS_RAWIO SYS_ADMIN) as /proc prints it.
const UEVENTD_CAPS: &str = "00000000082310df";
/// NET_ADMIN (12) and NET_RAW (13).
const RCTEST_CAPS: &str = "0000000000003000";

#[test]
fn vendor_rc_runs_in_order_and_powers_off_cleanly() {
    let arch = Arch::Aarch64;
    let mut g = Guest::new(arch).expect("guest");
    g.vendor(&vendor_tree(arch), &VendorOptions::default())
        .expect("vendor image");
    let scratch = scratch_ext4(g.work.path());
    g.disk(&scratch, false);
    g.append.push("androidboot.hardware=rctest".into());
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

    // ro.hardware from the command line (ExportKernelBootProps), expanded and triggered on.
    line_at(
        &log,
        "init: ro.hardware=rctest ro.bootmode=unknown; 0 property(ies) from .prop files",
    );
    line_at(&log, "RC_HARDWARE_TRIGGER");
    line_at(&log, "RC_HARDWARE rctest rctest 750 0:6000");

    // early-init: exec (stdout is /dev/null, as AOSP's), mkdir, write with ${}, exec_start
    // of a stdio_to_kmsg service, the import.
    log.assert_lacks("RC_EARLY_INIT_STDOUT");
    let early = prefix_at(
        &log,
        "init: exec '/vendor/bin/busybox printf RC_%s\\n EARLY_INIT_STDOUT' pid=",
    );
    let mkdir = line_at(&log, "RC_MKDIR mode=710 owner=0:0");
    let write = line_at(&log, "RC_WRITE write-ok-v2");
    let policy = line_at(&log, "RC_POLICY_RAN");
    line_at(&log, "RC_IMPORTED_RAN");
    line_at(
        &log,
        "init: perform_apex_config: not applicable here (no APEXes); nothing done",
    );
    assert_eq!(log.grep("mark_post_data: not applicable").count(), 1);
    let early_action = prefix_at(
        &log,
        &format!("init: action on=early-init {RC_DIR}/rctest.rc:4"),
    );
    // The oneshot ran once, set its property over the socket, and stayed stopped.
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
    let trigger_action = prefix_at(
        &log,
        &format!("init: action on=property:vendor.rctest.oneshot=done {RC_DIR}/rctest.rc:27"),
    );
    let trigger = line_at(&log, "RC_PROPERTY_TRIGGER");
    let finish = line_at(&log, "RC_FINISH bootcomplete=1");
    let triggers_enabled = line_at(&log, "init: property triggers enabled");

    // What /proc shows: capabilities (bounding and ambient sets, AOSP SetCapsForExec),
    // umask 077 for services, / read-only nodev, /data noexec nosuid nodev, no modprobe.
    let caps = after(&log, "RC_CAPS ");
    let caps = caps
        .first()
        .unwrap_or_else(|| panic!("{}", log.report("no RC_CAPS line")));
    assert_eq!(field(caps, "uid"), "1000", "{caps}");
    assert_eq!(field(caps, "bnd"), RCTEST_CAPS, "{caps}");
    assert_eq!(field(caps, "amb"), RCTEST_CAPS, "{caps}");
    assert_eq!(field(caps, "eff"), RCTEST_CAPS, "{caps}");
    assert_eq!(field(caps, "umask"), "0077", "{caps}");
    assert_eq!(field(caps, "env"), "from-setenv,from-export", "{caps}");
    let uev = after(&log, "RC_UEVENTD ");
    let uev = uev
        .first()
        .unwrap_or_else(|| panic!("{}", log.report("no RC_UEVENTD line")));
    assert_eq!(field(uev, "bnd"), UEVENTD_CAPS, "{uev}");
    assert_eq!(field(uev, "amb"), UEVENTD_CAPS, "{uev}");
    assert_eq!(field(uev, "umask"), "0077", "{uev}");
    line_at(&log, "RC_FINISH_UMASK 0077");
    line_at(&log, "RC_MODPROBE []");
    let root_opts = after(&log, "RC_MOUNT_ROOT ");
    let root_opts: Vec<&str> = root_opts.first().map_or(vec![], |o| o.split(',').collect());
    assert!(
        root_opts.contains(&"ro") && root_opts.contains(&"nodev"),
        "{}",
        log.report(&format!("/ options {root_opts:?}"))
    );
    line_at(&log, "RC_ROOT_READONLY");
    let data_opts = after(&log, "RC_MOUNT_DATA ");
    let data_opts: Vec<&str> = data_opts.first().map_or(vec![], |o| o.split(',').collect());
    for want in ["rw", "nosuid", "nodev", "noexec", "noatime"] {
        assert!(
            data_opts.contains(&want),
            "{}",
            log.report(&format!("/data options {data_opts:?} lack {want}"))
        );
    }
    assert!(
        !after(&log, "RC_BOOTTIME ")
            .first()
            .is_some_and(|t| t.is_empty()),
        "{}",
        log.report("no ro.boottime.ueventd")
    );

    // The setsid() child left by a oneshot is killed with its cgroup when it exits.
    let child = after(&log, "RC_SETSID_CHILD ");
    let child_pid = child
        .first()
        .and_then(|c| c.split(' ').next())
        .unwrap_or_else(|| panic!("{}", log.report("no RC_SETSID_CHILD line")));
    line_at(&log, &format!("RC_SETSID_GONE {child_pid}"));
    line_at(
        &log,
        &format!("init: reaped orphan pid={child_pid} status=137"),
    );

    // The crash loop: restarted restart_period (1 s) after each start, no back-off.
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
        delays.len() >= 2 && delays.iter().all(|d| *d <= 1000),
        "{}",
        log.report(&format!("delays {delays:?}"))
    );
    line_at(&log, "RC_CRASHER_STATE stopped");
    line_at(&log, "init: control message ctl.stop for 'rctest_crasher'");

    // ueventd restarted through ctl.restart: it does not replay coldboot.
    assert_eq!(
        log.grep("ueventd: coldboot took ").count(),
        1,
        "{}",
        log.report("coldboot replayed")
    );
    let not_replayed = line_at(
        &log,
        "ueventd: ro.cold_boot_done is set: not replaying coldboot",
    );
    let restarted = prefix_at(&log, "RC_UEVENTD_RESTARTED running new=");

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
        !log.lines().any(|l| l.starts_with("RC_ZOMBIE ")),
        "{}",
        log.report("zombies")
    );
    let zombies = line_at(&log, "RC_ZOMBIES 0");

    // The shutdown: SIGTERM, the rw ext4 unmounted, synced, powered off; on the host the
    // image needs no journal recovery.
    // `seclabel`: the ext4 mount carries SELinux labels.
    line_at(&log, "RC_SCRATCH /dev/block/vdb rw,seclabel,relatime");
    let shutdown = line_at(&log, "RC_SHUTDOWN");
    let powerctl = line_at(&log, "init: powerctl shutdown");
    let term = prefix_at(&log, "init: shutdown: sending SIGTERM to ");
    let unmounted = line_at(
        &log,
        "init: shutdown: unmounted /dev/block/vdb from /mnt/scratch",
    );
    let off = line_at(&log, "init: shutdown: synced, powering off");
    log.assert_clean_poweroff();
    let features = ext4_features(&scratch);
    assert!(
        !features.contains("needs_recovery"),
        "the ext4 was not unmounted cleanly: {features}"
    );

    assert_in_order(
        &log,
        &[
            ("bad.rc early-init", bad_first),
            ("early-init action", early_action),
            ("exec", early),
            ("mkdir", mkdir),
            ("write", write),
            ("exec_start", policy),
            ("oneshot output", oneshot),
            ("property trigger", trigger),
            ("finisher", finish),
            ("coldboot not replayed", not_replayed),
            ("ueventd restarted", restarted),
            ("orphan reaped", reaped),
            ("orphan gone", orphan_gone),
            ("zombie scan", zombies),
            ("shutdown requested", shutdown),
            ("powerctl", powerctl),
            ("SIGTERM", term),
            ("unmounted", unmounted),
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

/// A critical service that keeps crashing (before `sys.boot_completed`): the fifth exit is
/// fatal.
const CRITICAL_RC: &str = r#"service rctest_critical /vendor/bin/busybox sh -c "echo RC_CRITICAL_RUN > /dev/kmsg; exit 3"
    class main
    critical
    restart_period 1
"#;

#[test]
fn critical_service_crash_loop_is_fatal() {
    let arch = Arch::Aarch64;
    let mut g = Guest::new(arch).expect("guest");
    let mut t = VendorTree::new().expect("vendor tree");
    t.busybox(arch).expect("busybox");
    t.file("etc/init/critical.rc", 0o644, CRITICAL_RC.as_bytes())
        .expect("vendor file");
    g.vendor(&t, &VendorOptions::default())
        .expect("vendor image");
    let log = g.boot().expect("boot");
    assert_eq!(
        log.grep("init: service rctest_critical exited status=3")
            .count(),
        5,
        "{}",
        log.report("five exits")
    );
    let fatal = prefix_at(
        &log,
        "INIT_FATAL reason=CRITICAL_SERVICE rctest_critical exited 4 times before boot completed",
    );
    let last = log
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with("init: service rctest_critical exited"))
        .map(|(i, _)| i)
        .last()
        .unwrap_or(usize::MAX);
    assert!(
        last < fatal,
        "{}",
        log.report("fatal before the fifth exit")
    );
    assert!(log.powered_off(), "{}", log.report("no power-off"));
    assert!(!log.kernel_panicked(), "{}", log.report("kernel panic"));
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
        out.contains("1 file(s), 6 action(s), 6 service(s): 0 syntax error(s), 0 unsupported"),
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
        "2 file(s), 7 action(s), 7 service(s): 2 syntax error(s), 2 unsupported".to_string(),
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(&want)),
            "missing {want:?} in:\n{out}"
        );
    }
}

/// The hardening boot's system rc (no vendor partition: everything is in the initramfs).
/// At post-fs-data a non-root user plants a symlink to a root-only file where the rc then
/// chmods, writes and chowns; once boot completes the probe runs.
const HARDENING_RC: &str = r#"# The hardening QEMU test (qemu-tests/tests/init_rc.rs).
on post-fs-data
    mkdir /data/hardening 0700 root root
    write /data/hardening/secret secret
    exec - shell shell -- /system/bin/busybox ln -s /data/hardening/secret /data/local/tmp/planted
    chmod 0666 /data/local/tmp/planted
    write /data/local/tmp/planted pwned
    chown shell shell /data/local/tmp/planted

on property:dev.bootcomplete=1
    start hardening_probe

service hardening_probe /system/bin/busybox sh /system/etc/hardening/probe.sh
    oneshot
    disabled

service hardening_idle /system/bin/init_probe idle 10000,10001,10002,10003 16 /data/local/tmp/idle.ready
    # A test instrument: the multi-call binary has no domain transition from init.
    seclabel u:r:test_probe:s0
    oneshot
    disabled
    stdio_to_kmsg

service hardening_nonroot /system/bin/busybox sh /system/etc/hardening/nonroot.sh
    user shell
    group shell
    oneshot
    disabled
    stdio_to_kmsg
"#;

/// Run as root once boot completed: the reap latency without and with 64 idle property
/// clients (4 uids × 16, the cap per uid, each uid trying one more), the init socket
/// count that shows init holding them, a non-root setprop, what the hardening builtins
/// left in /proc, the planted link's target, a failed allocation in a non-PID-1 applet,
/// and `sys.powerctl` with the idle clients still connected.
const HARDENING_PROBE_SH: &str = r#"log() { echo "$*" > /dev/kmsg; }
bb=/system/bin/busybox
sockets() { $bb ls -l /proc/1/fd | $bb grep -c 'socket:'; }
waitprop() {
    i=0
    while [ "$(/system/bin/getprop "$1")" != "$2" ] && [ $i -lt 600 ]; do $bb sleep 0.1; i=$((i+1)); done
}
log "RC_INIT_SOCKETS before=$(sockets)"
/system/bin/init_probe reap > /dev/kmsg 2>&1
/system/bin/setprop ctl.start hardening_idle
i=0
while [ ! -e /data/local/tmp/idle.ready ] && [ $i -lt 600 ]; do $bb sleep 0.1; i=$((i+1)); done
log "RC_INIT_SOCKETS with_idle_clients=$(sockets)"
/system/bin/init_probe reap > /dev/kmsg 2>&1
/system/bin/setprop ctl.start hardening_nonroot
waitprop init.svc.hardening_nonroot stopped
log "RC_NONROOT_VALUE [$(/system/bin/getprop vendor.hardening.nonroot)] [$(/system/bin/getprop ro.hardening.nonroot)]"
log "RC_SYSCTL kptr_restrict=$(cat /proc/sys/kernel/kptr_restrict) mmap_rnd_bits=$(cat /proc/sys/vm/mmap_rnd_bits) mmap_rnd_compat_bits=$(cat /proc/sys/vm/mmap_rnd_compat_bits)"
log "RC_SYMLINK_TARGET $($bb stat -c '%a %u:%g' /data/hardening/secret) $(cat /data/hardening/secret) link=$($bb stat -c '%u:%g' /data/local/tmp/planted)"
/system/bin/init_probe oom
log "RC_OOM_EXIT $?"
log "RC_INIT_SOCKETS at_powerctl=$(sockets)"
/system/bin/init_probe set sys.powerctl shutdown > /dev/kmsg 2>&1
"#;

/// Run as shell (uid 2000): sets outside and inside the allowlist.
const HARDENING_NONROOT_SH: &str = r#"/system/bin/setprop sys.powerctl reboot
echo "RC_NONROOT sys.powerctl status=$?"
/system/bin/setprop ro.hardening.nonroot 1
echo "RC_NONROOT ro.hardening.nonroot status=$?"
/system/bin/setprop vendor.hardening.nonroot ok
echo "RC_NONROOT vendor.hardening.nonroot status=$?"
"#;

/// Milliseconds from a `key=<ms>` field.
fn ms_field(line: &str, key: &str) -> f64 {
    field(line, key)
        .parse()
        .unwrap_or_else(|_| panic!("no number in {key}= of {line:?}"))
}

/// One boot of the test build (`test-hooks`) without a vendor partition: the property
/// socket under 64 idle clients, a non-root setprop, the hardening sysctls read back, a
/// planted symlink where the rc chmods, a failed allocation in an applet.
#[test]
fn hardening_no_stall_no_symlinks_kernel_settings() {
    let arch = Arch::Aarch64;
    let mut g = Guest::new(arch).expect("guest");
    g.use_test_hooks_build().expect("test build");
    g.busybox().expect("busybox");
    for (path, mode, text) in [
        ("/system/etc/init/hardening.rc", 0o644, HARDENING_RC),
        ("/system/etc/hardening/probe.sh", 0o644, HARDENING_PROBE_SH),
        (
            "/system/etc/hardening/nonroot.sh",
            0o644,
            HARDENING_NONROOT_SH,
        ),
    ] {
        g.initramfs
            .add_file(path, mode, text.as_bytes().to_vec())
            .expect("initramfs file");
    }
    let log = g.boot().expect("boot");
    eprintln!("booted and powered off in {:?}", log.elapsed);
    log.assert_clean_poweroff();

    // AOSP's hardening builtins, and what /proc reads back.
    line_at(&log, "init: kptr_restrict set to 2");
    line_at(
        &log,
        "init: mmap_rnd_bits set to 33, mmap_rnd_compat_bits to 16",
    );
    line_at(
        &log,
        "RC_SYSCTL kptr_restrict=2 mmap_rnd_bits=33 mmap_rnd_compat_bits=16",
    );

    // The planted link: chmod and write refused, chown changed the link itself only.
    let rc = "/system/etc/init/hardening.rc";
    for (line, op) in [(6, "chmod 0666"), (7, "write")] {
        let want = format!("init: command '{op} /data/local/tmp/planted");
        let l = log
            .lines()
            .find(|l| l.starts_with(&want))
            .unwrap_or_else(|| panic!("{}", log.report(&format!("no {want:?}"))));
        assert!(
            l.contains(&format!("at {rc}:{line} failed"))
                && l.contains("Too many levels of symbolic links (os error 40)"),
            "{}",
            log.report(l)
        );
    }
    line_at(&log, "RC_SYMLINK_TARGET 600 0:0 secret link=2000:2000");

    // 64 idle clients held by init (4 uids at the cap of 16; the 17th of each closed at
    // once), and a child reaped within 100 ms meanwhile.
    let idle = after(&log, "PROBE_IDLE uid=");
    assert_eq!(idle.len(), 4, "{}", log.report("idle clients"));
    for l in &idle {
        assert!(
            l.ends_with("held=16 one_more_closed_at_once=true"),
            "{}",
            log.report(l)
        );
    }
    let sockets = |key: &str| -> u32 {
        field(
            after(&log, "RC_INIT_SOCKETS ")
                .into_iter()
                .find(|l| l.starts_with(key))
                .unwrap_or_else(|| panic!("{}", log.report(key))),
            key,
        )
        .parse()
        .unwrap()
    };
    let before = sockets("before");
    assert_eq!(
        sockets("with_idle_clients"),
        before + 64,
        "{}",
        log.report("init does not hold 64 idle connections")
    );
    let reaps = after(&log, "PROBE_REAP ");
    assert_eq!(reaps.len(), 2, "{}", log.report("reap probes"));
    let (alone, loaded) = (
        ms_field(reaps[0], "reaped_after_ms"),
        ms_field(reaps[1], "reaped_after_ms"),
    );
    eprintln!("reap latency: {alone:.1} ms alone, {loaded:.1} ms with 64 idle clients");
    assert!(
        loaded <= 100.0,
        "{}",
        log.report(&format!("reaped after {loaded} ms with 64 idle clients"))
    );
    let set = after(&log, "PROBE_SET sys.powerctl=shutdown ");
    let set = set
        .first()
        .unwrap_or_else(|| panic!("{}", log.report("no PROBE_SET")));
    assert_eq!(field(set, "answer"), "0x0", "{set}");
    eprintln!(
        "sys.powerctl answered after {} ms with {} idle clients",
        field(set, "after_ms"),
        sockets("at_powerctl") - before
    );
    line_at(&log, "init: powerctl shutdown");

    // A non-root setprop: refused outside the allowlist (AOSP's answers), allowed inside.
    for (name, code) in [("sys.powerctl", "0x18"), ("ro.hardening.nonroot", "0x18")] {
        line_at(
            &log,
            &format!("setprop: property service rejected '{name}' with code {code}"),
        );
        line_at(&log, &format!("RC_NONROOT {name} status=1"));
        let refused = format!("init: unable to set property '{name}' from uid:2000 gid:2000 pid:");
        let l = prefix_at(&log, &refused);
        assert!(
            log.lines()
                .nth(l)
                .is_some_and(|l| l
                    .ends_with(": permission denied (not in the allowlist for non-root peers)")),
            "{}",
            log.report("refusal line")
        );
    }
    line_at(&log, "RC_NONROOT vendor.hardening.nonroot status=0");
    line_at(&log, "RC_NONROOT_VALUE [ok] []");

    // A failed allocation outside PID 1: one line, exit status 1, the boot goes on.
    line_at(
        &log,
        "init_probe: memory allocation of 1099511627776 bytes failed; exiting",
    );
    line_at(&log, "RC_OOM_EXIT 1");
}

/// A guest of the test build whose rc sets `property` once boot completed.
fn test_hooks_guest(property: &str) -> Guest {
    let mut g = Guest::new(Arch::Aarch64).expect("guest");
    g.use_test_hooks_build().expect("test build");
    g.initramfs
        .add_file(
            "/system/etc/init/test-hook.rc",
            0o644,
            format!("on property:dev.bootcomplete=1\n    setprop {property} 1\n").into_bytes(),
        )
        .expect("rc");
    g
}

/// Fatal in PID 1 then a power-off: never "Attempted to kill init".
fn assert_init_fatal(log: &BootLog, prefix: &str) -> String {
    let line = log.init_fatal().map(str::to_owned).unwrap_or_default();
    assert!(
        line.starts_with(prefix),
        "{}",
        log.report(&format!("expected {prefix:?}, got {line:?}"))
    );
    assert!(!log.kernel_panicked(), "{}", log.report("kernel panic"));
    assert!(log.powered_off(), "{}", log.report("no power-off"));
    line
}

/// A panic in the second stage (PID 1), from inside the event loop: the panic hook.
#[test]
fn second_stage_panic_is_fatal_not_a_kernel_panic() {
    let log = test_hooks_guest("test.init.panic").boot().expect("boot");
    let line = assert_init_fatal(&log, "INIT_FATAL reason=PANIC panicked at ");
    assert!(
        line.ends_with("test hook: test.init.panic was set"),
        "{}",
        log.report(&line)
    );
    eprintln!("{line}");
}

/// A failed allocation in PID 1: the allocator's fatal path, without allocating.
#[test]
fn second_stage_allocation_failure_is_fatal_not_a_kernel_panic() {
    let log = test_hooks_guest("test.init.oom").boot().expect("boot");
    let line = assert_init_fatal(
        &log,
        "INIT_FATAL reason=PANIC memory allocation of 1099511627776 bytes failed",
    );
    eprintln!("{line}");
}

/// A ueventd that never completes coldboot (the shipped build; `/system/bin/ueventd` is a
/// script that sleeps): `wait_for_prop ro.cold_boot_done true` reaches its deadline, 5 s
/// here from `/system/build.prop`.
#[test]
fn coldboot_that_never_completes_is_fatal() {
    let mut g = Guest::new(Arch::Aarch64).expect("guest");
    g.busybox().expect("busybox");
    let mut a = initramfs::Archive::new();
    for (path, e) in g.initramfs.entries() {
        if path != "system/bin/ueventd" {
            a.insert_entry(path, e.clone()).expect("entry");
        }
    }
    g.initramfs = a;
    g.initramfs
        .add_file(
            "/system/bin/ueventd",
            0o755,
            b"#!/system/bin/busybox sh\necho UEVENTD_STUCK > /dev/kmsg\nexec /system/bin/busybox sleep 100000\n".to_vec(),
        )
        .expect("fake ueventd");
    g.initramfs
        .add_file(
            "/system/build.prop",
            0o644,
            b"ro.init.wait_for_prop_timeout=5\n".to_vec(),
        )
        .expect("build.prop");
    let log = g.boot().expect("boot");
    line_at(&log, "UEVENTD_STUCK");
    let line = assert_init_fatal(
        &log,
        "INIT_FATAL reason=COLDBOOT_TIMEOUT ueventd did not set ro.cold_boot_done=true within ",
    );
    eprintln!("{line}");
}
