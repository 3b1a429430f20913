//! SELinux booted for real (issue 7; issue 9's malformed vendor_file_contexts): the test
//! policy (`testdata/selinux/policy.conf`) compiled now with Debian's `checkpolicy`, put
//! at `/sepolicy`, and the Debian kernel booted with `security=selinux`. The guest then
//! reports, through `sepolicy getcon`, the `security.selinux` labels of `/dev` nodes
//! (made by devtmpfs, by the first stage and by ueventd), of `/microdroid_resources`,
//! `/data`, `/vendor` (labels from the image's xattrs) and of kernel filesystems; the
//! vendor_file_contexts' treble-violating and malformed lines are skipped and logged with
//! file:line; an enforcing boot really denies; a corrupt policy is a clean fatal error.
//!
//! Three boots: aarch64 permissive with a vendor image, x86_64 enforcing, x86_64 with a
//! truncated policy.

use std::path::Path;
use std::time::Instant;

use qemu_tests::console::BootLog;
use qemu_tests::scenario::{Guest, VendorOptions, VendorTree};
use qemu_tests::selinux::{self, Mode};
use qemu_tests::Arch;

/// The first lines of the vendor file that must be skipped (file:line prefixes).
const TREBLE_LINE: &str = "vendor_file_contexts:6: \"/system/bin/foo\" may label paths outside";
const MALFORMED_LINE: &str = "vendor_file_contexts:7: line is missing fields";
/// Where the vendor file's deliberately wrong part starts.
const WRONG_MARKER: &str = "# ---- Deliberately wrong below";

fn testdata(name: &str) -> String {
    let p = selinux::testdata().join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn compile(work: &Path) -> Vec<u8> {
    selinux::compile_policy(&selinux::policy_source(), &work.join("sepolicy")).expect("policy")
}

/// The rc that runs the probe once /data is mounted and labelled (`post-fs` mounts it).
fn probe_rc(busybox: &str, script: &str, paths: &[&str]) -> String {
    format!(
        "on post-fs-data\n    exec -- {busybox} sh -c \"exec >/dev/console 2>&1; exec {busybox} sh {script} {}\"\n",
        paths.join(" ")
    )
}

fn boot(g: &Guest, what: &str) -> BootLog {
    let start = Instant::now();
    let log = g.boot().expect("boot");
    eprintln!("{what}: boot took {:?}", start.elapsed());
    log
}

/// Panics unless the probe printed `line` exactly.
fn expect_line(log: &BootLog, line: &str) {
    assert!(
        log.has_line(line),
        "{}",
        log.report(&format!("no line {line:?}"))
    );
}

/// Panics unless `sepolicy getcon` reported `label` for `path`.
fn expect_label(log: &BootLog, path: &str, label: &str) {
    expect_line(log, &format!("{path}\t{label}"));
}

/// The vendor file's bad lines were skipped and logged with file:line by the first stage
/// and again by the second stage's loaders (init and ueventd), and labelling went on.
fn expect_bad_lines_logged(log: &BootLog) {
    for needle in [TREBLE_LINE, MALFORMED_LINE] {
        let lines: Vec<&str> = log.grep(needle).collect();
        // Once: the sepolicy library returns the errors and the first stage logs them.
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.starts_with("first_stage: selinux: /"))
                .count(),
            1,
            "{}",
            log.report(&format!("the first stage did not log {needle:?} once"))
        );
        for who in ["init", "ueventd"] {
            assert!(
                lines
                    .iter()
                    .any(|l| l.starts_with(&format!("{who}: selinux: /"))),
                "{}",
                log.report(&format!("{who} did not log {needle:?}"))
            );
        }
    }
    assert!(
        log.grep(TREBLE_LINE)
            .all(|l| l.ends_with("(treble violation); entry skipped")),
        "{}",
        log.report("treble line not reported as skipped")
    );
}

/// The first stage's restorecon passes labelled everything they looked at.
fn expect_restorecon_clean(log: &BootLog) {
    for path in ["/dev", "/microdroid_resources"] {
        let prefix = format!("first_stage: selinux: restorecon {path}: ");
        let line = log
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("{}", log.report(&format!("no {prefix:?} line"))));
        assert!(line.contains(" 0 failed"), "{}", log.report(line));
    }
    log.assert_lacks("ueventd: label ");
}

/// The avc record of the probe's read of /dev/full (`permissive=0|1`).
fn full_read_denial(log: &BootLog) -> Option<&str> {
    log.lines().find(|l| {
        l.contains("avc:  denied  { read }")
            && l.contains("scontext=u:r:kernel:s0 tcontext=u:object_r:restricted_device:s0")
            && l.contains("tclass=chr_file")
    })
}

/// What every probe boot shows: the mode, the probe's and ueventd's domains, the probe's
/// read of `/dev/full` allowed (permissive) or denied (enforcing) with the matching avc
/// record, and no other denial.
fn expect_probe_mode(log: &BootLog, enforcing: bool) {
    let (enforce, read, permissive) = if enforcing {
        ("1", "denied", "permissive=0")
    } else {
        ("0", "allowed", "permissive=1")
    };
    expect_line(log, &format!("SELINUX_ENFORCE={enforce}"));
    expect_line(log, "PROBE_LABEL=u:r:kernel:s0");
    expect_line(log, "UEVENTD_LABEL=u:r:ueventd:s0");
    expect_line(log, &format!("FULL_READ={read}"));
    let denial = full_read_denial(log)
        .unwrap_or_else(|| panic!("{}", log.report("no avc record for /dev/full")));
    assert!(denial.contains(permissive), "{denial}");
    expect_only_restricted_denials(log);
}

/// How every probe boot ends: `getcon` worked, the vendor file's bad lines were logged,
/// restorecon labelled everything, and the guest powered off cleanly.
fn expect_probe_end(log: &BootLog) {
    expect_line(log, "GETCON_STATUS=0");
    expect_bad_lines_logged(log);
    expect_restorecon_clean(log);
    log.assert_clean_poweroff();
}

/// The allow-all policy covers the whole boot: every AVC denial is about the probe's read
/// of the one `restricted_device` file.
fn expect_only_restricted_denials(log: &BootLog) {
    let other: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("avc:  denied"))
        .filter(|l| !l.contains("tcontext=u:object_r:restricted_device:s0"))
        .collect();
    assert!(
        other.is_empty(),
        "{}",
        log.report(&format!("unexpected denials: {other:#?}"))
    );
}

/// No boot: the policy compiles and knows every label the guest's file_contexts use
/// (plat, and the valid part of the tests' vendor file).
#[test]
fn policy_knows_every_label() {
    let work = tempfile::tempdir().unwrap();
    compile(work.path());
    let policy = work.path().join("sepolicy");
    let plat = std::fs::read_to_string(
        qemu_tests::workspace_root().join("rootdir/system/etc/selinux/plat_file_contexts"),
    )
    .unwrap();
    selinux::check_file_contexts(&policy, &plat, work.path()).unwrap();
    let vendor = testdata("vendor_file_contexts");
    let (good, wrong) = vendor.split_once(WRONG_MARKER).expect("marker");
    selinux::check_file_contexts(&policy, good, work.path()).unwrap();
    assert_eq!(wrong.lines().filter(|l| l.starts_with('/')).count(), 1);
}

/// aarch64, permissive, with a signed vendor image carrying vendor_file_contexts and
/// build-time labels, and a second disk for ueventd to make `/dev/block/vdb`.
#[test]
fn aarch64_permissive_labels() {
    let arch = Arch::Aarch64;
    let mut g = Guest::new(arch).unwrap();
    let policy = compile(g.work.path());
    let policy_len = policy.len();
    selinux::enable(&mut g, policy, Mode::Permissive).unwrap();

    let mut tree = VendorTree::new().unwrap();
    tree.busybox(arch).unwrap();
    tree.file(
        "etc/selinux/vendor_file_contexts",
        0o644,
        testdata("vendor_file_contexts").as_bytes(),
    )
    .unwrap();
    tree.file(
        "bin/selinux_probe.sh",
        0o644,
        testdata("probe.sh").as_bytes(),
    )
    .unwrap();
    let paths = [
        "/dev/null",
        "/dev/kmsg",
        "/dev/full",
        "/dev/vdb",
        "/dev/block/by-name/microdroid-vendor",
        "/dev/block/vda1",
        "/dev/block/vda",
        "/dev/block/vdb",
        "/microdroid_resources",
        "/microdroid_resources/dice_chain.raw",
        "/data",
        "/data/local/tmp",
        "/vendor",
        "/vendor/bin/busybox",
        "/proc/cmdline",
        "/sys/kernel",
        "/sys/fs/selinux/enforce",
    ];
    let rc = probe_rc(
        "/vendor/bin/busybox",
        "/vendor/bin/selinux_probe.sh",
        &paths,
    );
    tree.file("etc/init/selinux_probe.rc", 0o644, rc.as_bytes())
        .unwrap();
    // What AOSP's build does with e2fsdroid: the image carries its labels, written by
    // vendor_image from a (clean) file_contexts at build time.
    let build_fc = g.work.path().join("build_file_contexts");
    std::fs::write(&build_fc, "/vendor(/.*)? u:object_r:vendor_file:s0\n").unwrap();
    let opts = VendorOptions {
        file_contexts: Some(build_fc),
        ..Default::default()
    };
    g.vendor(&tree, &opts).unwrap();
    g.results_disk(1 << 20).unwrap();
    g.shutdown_when_booted().unwrap();

    let log = boot(&g, "aarch64 permissive");
    log.assert_phases(&["vendor_mount", "selinux", "second_stage"]);
    log.assert_contains(&format!(
        "first_stage: selinux: policy loaded ({policy_len} bytes), permissive"
    ));
    // Permissive: the read is allowed, and the denial it would be is logged.
    expect_probe_mode(&log, false);

    // devtmpfs nodes, labelled by the first stage's restorecon of /dev.
    expect_label(&log, "/dev/null", "u:object_r:null_device:s0");
    expect_label(&log, "/dev/kmsg", "u:object_r:kmsg_device:s0");
    expect_label(&log, "/dev/vdb", "u:object_r:device:s0");
    // The vendor file's label (an exact spec after the plat's /dev(/.*)?).
    expect_label(&log, "/dev/full", "u:object_r:restricted_device:s0");
    // Made by the first stage before the policy load, labelled by its restorecon.
    expect_label(
        &log,
        "/dev/block/by-name/microdroid-vendor",
        "u:object_r:block_device:s0",
    );
    expect_label(&log, "/dev/block/vda1", "u:object_r:block_device:s0");
    // Made by ueventd at coldboot, after the policy load: plat and vendor labels.
    expect_label(&log, "/dev/block/vda", "u:object_r:block_device:s0");
    expect_label(&log, "/dev/block/vdb", "u:object_r:results_block_device:s0");
    expect_label(
        &log,
        "/microdroid_resources",
        "u:object_r:microdroid_resources_file:s0",
    );
    expect_label(
        &log,
        "/microdroid_resources/dice_chain.raw",
        "u:object_r:microdroid_resources_file:s0",
    );
    // init.rc: tmpfs on /data, `restorecon /data`, then `mkdir` labels what it makes.
    expect_label(&log, "/data", "u:object_r:system_data_file:s0");
    expect_label(&log, "/data/local/tmp", "u:object_r:system_data_file:s0");
    // ext4 through dm-verity: fs_use_xattr, labels from the image.
    expect_label(&log, "/vendor", "u:object_r:vendor_file:s0");
    expect_label(&log, "/vendor/bin/busybox", "u:object_r:vendor_file:s0");
    // genfscon.
    expect_label(&log, "/proc/cmdline", "u:object_r:proc:s0");
    expect_label(&log, "/sys/kernel", "u:object_r:sysfs:s0");
    expect_label(&log, "/sys/fs/selinux/enforce", "u:object_r:selinuxfs:s0");
    expect_line(&log, "PROBE_DONE");
    expect_probe_end(&log);
}

/// x86_64, enforcing (no `androidboot.selinux`), no vendor partition: the vendor file
/// comes from the initramfs's `/vendor_file_contexts` (libselinux's second candidate).
/// The boot completes under the allow-all policy, and the one thing the policy forbids,
/// opening a `restricted_device` file, is denied.
#[test]
fn x86_64_enforcing_denies() {
    let arch = Arch::X86_64;
    let mut g = Guest::new(arch).unwrap();
    let policy = compile(g.work.path());
    selinux::enable(&mut g, policy, Mode::Enforcing).unwrap();
    g.initramfs
        .add_file(
            "/vendor_file_contexts",
            0o644,
            testdata("vendor_file_contexts").into_bytes(),
        )
        .unwrap();
    let busybox = qemu_tests::debian::busybox(arch).unwrap();
    g.initramfs
        .add_host_file("/system/bin/busybox", &busybox)
        .unwrap();
    g.initramfs
        .add_file(
            "/system/etc/selinux_probe.sh",
            0o644,
            testdata("probe.sh").into_bytes(),
        )
        .unwrap();
    let rc = probe_rc(
        "/system/bin/busybox",
        "/system/etc/selinux_probe.sh",
        &["/dev/null", "/dev/full", "/microdroid_resources", "/data"],
    );
    g.initramfs
        .add_file("/system/etc/init/selinux_probe.rc", 0o644, rc.into_bytes())
        .unwrap();
    g.shutdown_when_booted().unwrap();

    let log = boot(&g, "x86_64 enforcing");
    log.assert_contains("bytes), enforcing");
    expect_probe_mode(&log, true);
    expect_label(&log, "/dev/null", "u:object_r:null_device:s0");
    expect_label(&log, "/dev/full", "u:object_r:restricted_device:s0");
    expect_label(
        &log,
        "/microdroid_resources",
        "u:object_r:microdroid_resources_file:s0",
    );
    expect_label(&log, "/data", "u:object_r:system_data_file:s0");
    expect_probe_end(&log);
}

/// A policy cut in half: the kernel refuses it, the first stage fails closed with
/// `SELINUX_POLICY_LOAD` and powers off (no kernel panic).
#[test]
fn truncated_policy_is_fatal() {
    let mut g = Guest::new(Arch::X86_64).unwrap();
    let mut policy = compile(g.work.path());
    policy.truncate(policy.len() / 2);
    selinux::enable(&mut g, policy, Mode::Permissive).unwrap();
    g.shutdown_when_booted().unwrap();
    let log = boot(&g, "x86_64 truncated policy");
    let line = log.assert_fatal("SELINUX_POLICY_LOAD");
    log.assert_contains("SELinux: failed to load policy");
    assert!(
        line.contains("loading the SELinux policy through /sys/fs/selinux/load"),
        "{line}"
    );
    log.assert_lacks("first_stage: phase=second_stage");
}
