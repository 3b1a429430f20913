//! SELinux booted for real (issues 7, 9, 14): every guest loads the policy compiled from
//! `sepolicy/policy/` (plus the tests' `test_probe` module) and runs enforcing unless it
//! is debuggable and asks for permissive. The probes report, through `sepolicy getcon`,
//! the labels of what the boot made and mounted, and, from `/proc/<pid>/attr/current`,
//! the domains: PID 1 in `init` (the first stage's exec of `/system/bin/init` moved it
//! from `kernel`), ueventd in `ueventd`, a vendor service in `vendor_service`. A vendor
//! service writing the platform's `/data` is denied (enforcing) or logged (permissive);
//! services whose domain cannot be entered are not started; a missing or corrupt policy
//! is a clean fatal error.
//!
//! Four boots: aarch64 debuggable and permissive with a vendor image; x86_64 normal with
//! `androidboot.selinux=permissive` (still enforcing) and vendor files in the initramfs;
//! x86_64 without a policy; x86_64 with a truncated one.

use std::time::Instant;

use qemu_tests::console::BootLog;
use qemu_tests::scenario::{Guest, VendorTree};
use qemu_tests::{debian, selinux, Arch};

/// Where the tests' vendor file_contexts goes wrong (the marker line).
const WRONG_MARKER: &str = "# ---- Deliberately wrong below";

fn testdata(name: &str) -> String {
    let p = selinux::testdata().join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The guest's vendor file_contexts: the shipped one and the tests' entries (with two
/// deliberately wrong lines). Returns the text and the line numbers of the two wrong
/// lines in it.
fn vendor_file_contexts() -> (String, [usize; 2]) {
    let shipped = std::fs::read_to_string(selinux::vendor_file_contexts()).unwrap();
    let text = shipped + &testdata("vendor_file_contexts");
    let marker = text
        .lines()
        .position(|l| l.starts_with(WRONG_MARKER))
        .expect("marker");
    // 1-based: the two lines after the marker.
    (text, [marker + 2, marker + 3])
}

/// The rc that runs the probe once /data is mounted and labelled (`post-fs` mounts it),
/// after the vendor rc's own `post-fs-data` commands.
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

/// Panics unless the guest printed `line` exactly.
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
fn expect_bad_lines_logged(log: &BootLog, lines: [usize; 2]) {
    let treble = format!(
        "vendor_file_contexts:{}: \"/system/bin/foo\" may label paths outside",
        lines[0]
    );
    let malformed = format!("vendor_file_contexts:{}: line is missing fields", lines[1]);
    for needle in [&treble, &malformed] {
        let found: Vec<&str> = log.grep(needle).collect();
        // Once: the sepolicy library returns the errors and the first stage logs them.
        assert_eq!(
            found
                .iter()
                .filter(|l| l.starts_with("first_stage: selinux: /"))
                .count(),
            1,
            "{}",
            log.report(&format!("the first stage did not log {needle:?} once"))
        );
        for who in ["init", "ueventd"] {
            assert!(
                found
                    .iter()
                    .any(|l| l.starts_with(&format!("{who}: selinux: /"))),
                "{}",
                log.report(&format!("{who} did not log {needle:?}"))
            );
        }
    }
    assert!(
        log.grep(&treble)
            .all(|l| l.ends_with("(treble violation); entry skipped")),
        "{}",
        log.report("treble line not reported as skipped")
    );
}

/// The first stage's restorecon passes labelled everything they looked at.
fn expect_restorecon_clean(log: &BootLog) {
    for path in ["/", "/dev", "/microdroid_resources"] {
        let prefix = format!("first_stage: selinux: restorecon {path}: ");
        let line = log
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("{}", log.report(&format!("no {prefix:?} line"))));
        assert!(line.contains(" 0 failed"), "{}", log.report(line));
    }
    log.assert_lacks("ueventd: label ");
}

/// What every probe boot shows: the mode, the domains of the probe, PID 1, ueventd and
/// the vendor service, the vendor service's write to /data allowed (permissive) or
/// denied (enforcing) with avc records naming its domain, and no other denial. Returns
/// the denials.
fn expect_domains_and_vendor_write(log: &BootLog, enforcing: bool) -> Vec<&str> {
    let (enforce, write, permissive) = if enforcing {
        ("1", "denied", "permissive=0")
    } else {
        ("0", "allowed", "permissive=1")
    };
    expect_line(log, &format!("SELINUX_ENFORCE={enforce}"));
    // The initramfs is unpacked into a tmpfs-backed rootfs (no root= on the command
    // line), which takes security.selinux labels (the first stage's relabel of / shows).
    expect_line(log, "ROOT_FS_MAGIC=1021994");
    expect_line(log, "PROBE_LABEL=u:r:test_probe:s0");
    expect_line(log, "INIT_LABEL=u:r:init:s0");
    expect_line(log, "UEVENTD_LABEL=u:r:ueventd:s0");
    expect_line(log, "VENDOR_LABEL=u:r:vendor_service:s0");
    expect_line(log, &format!("VENDOR_WRITE={write}"));
    expect_denial(
        log,
        "{ write",
        "scontext=u:r:vendor_service:s0 tcontext=u:object_r:system_data_file:s0 tclass=dir",
        permissive,
    );
    log.avc_denials()
}

/// Panics unless an avc record denies `perms` (the start of its `{ … }`) for `subject`
/// (`scontext=… tcontext=… tclass=…`), with `permissive` (`permissive=0|1`).
fn expect_denial(log: &BootLog, perms: &str, subject: &str, permissive: &str) {
    let record = log
        .avc_denials()
        .into_iter()
        .find(|l| l.contains(&format!("avc:  denied  {perms}")) && l.contains(subject))
        .unwrap_or_else(|| {
            panic!(
                "{}",
                log.report(&format!("no avc record {perms} {subject}"))
            )
        });
    assert!(record.contains(permissive), "{record}");
}

/// How every probe boot ends: `getcon` worked, the vendor file's bad lines were logged,
/// restorecon labelled everything, and the guest powered off cleanly.
fn expect_probe_end(log: &BootLog, bad_lines: [usize; 2]) {
    expect_line(log, "GETCON_STATUS=0");
    expect_line(log, "PROBE_DONE");
    expect_bad_lines_logged(log, bad_lines);
    expect_restorecon_clean(log);
    log.assert_clean_poweroff();
}

/// init refuses, in either mode, before anything runs (as AOSP's init does): a seclabel
/// the policy does not know, and a program whose label has no transition from init.
fn expect_refusals(log: &BootLog) {
    log.assert_contains(
        "failed: not started: bad_seclabel: seclabel u:r:no_such_domain:s0 is not a valid context in the loaded policy",
    );
    log.assert_contains(
        "failed: not started: exec: /system/bin/sepolicy (labelled u:object_r:init_exec:s0) has no domain transition from u:r:init:s0",
    );
    log.assert_lacks("BAD_SECLABEL_RAN");
}

/// No boot: the policies compile and know every label the guest's file_contexts use
/// (plat, the shipped vendor file, the tests' labels and the valid part of the tests'
/// vendor file).
#[test]
fn policy_knows_every_label() {
    let work = tempfile::tempdir().unwrap();
    let policy = work.path().join("sepolicy");
    std::fs::write(&policy, selinux::test_policy().unwrap()).unwrap();
    let plat = std::fs::read_to_string(
        qemu_tests::workspace_root().join("rootdir/system/etc/selinux/plat_file_contexts"),
    )
    .unwrap();
    selinux::check_file_contexts(&policy, &plat, work.path()).unwrap();
    let (vendor, _) = vendor_file_contexts();
    let (good, wrong) = vendor.split_once(WRONG_MARKER).expect("marker");
    selinux::check_file_contexts(&policy, good, work.path()).unwrap();
    assert_eq!(wrong.lines().filter(|l| l.starts_with('/')).count(), 1);
}

/// What the aarch64 probe boot asks `getcon` about, and the label each must have.
const AARCH64_LABELS: &[(&str, &str)] = &[
    // The initramfs, labelled by the first stage before it exec'd init.
    ("/", "u:object_r:rootfs:s0"),
    ("/init", "u:object_r:init_exec:s0"),
    ("/system/bin/init", "u:object_r:init_exec:s0"),
    ("/system/etc/init/hw/init.rc", "u:object_r:system_file:s0"),
    // devtmpfs nodes, labelled by the first stage's restorecon of /dev.
    ("/dev/null", "u:object_r:null_device:s0"),
    ("/dev/kmsg", "u:object_r:kmsg_device:s0"),
    ("/dev/vdb", "u:object_r:device:s0"),
    // Made by init, labelled by the policy's name transitions.
    ("/dev/socket", "u:object_r:socket_device:s0"),
    (
        "/dev/socket/property_service",
        "u:object_r:property_socket:s0",
    ),
    // Made by the first stage before the policy load, labelled by its restorecon.
    (
        "/dev/block/by-name/microdroid-vendor",
        "u:object_r:block_device:s0",
    ),
    ("/dev/block/vda1", "u:object_r:vd_device:s0"),
    ("/dev/block/dm-0", "u:object_r:dm_device:s0"),
    // Made by ueventd at coldboot, after the policy load: plat and vendor labels.
    ("/dev/block/vda", "u:object_r:vd_device:s0"),
    ("/dev/block/vdb", "u:object_r:results_block_device:s0"),
    (
        "/microdroid_resources",
        "u:object_r:microdroid_resources_file:s0",
    ),
    (
        "/microdroid_resources/dice_chain.raw",
        "u:object_r:microdroid_resources_file:s0",
    ),
    // init.rc: tmpfs on /data, `restorecon /data`, then `mkdir` labels what it makes.
    ("/data", "u:object_r:system_data_file:s0"),
    ("/data/local/tmp", "u:object_r:system_data_file:s0"),
    // ext4 through dm-verity: fs_use_xattr, labels from the image, written from the
    // vendor file's /(vendor|system/vendor)/... entries.
    ("/vendor", "u:object_r:vendor_file:s0"),
    ("/vendor/bin/busybox", "u:object_r:test_probe_exec:s0"),
    ("/vendor/bin/sh", "u:object_r:vendor_service_exec:s0"),
    (
        "/vendor/etc/init/vendor.rc",
        "u:object_r:vendor_configs_file:s0",
    ),
    // genfscon.
    ("/proc/cmdline", "u:object_r:proc:s0"),
    ("/sys/kernel", "u:object_r:sysfs:s0"),
    ("/sys/fs/selinux/enforce", "u:object_r:selinuxfs:s0"),
];

/// aarch64, debuggable and asking for permissive: permissive. A signed vendor image
/// carries the vendor file_contexts, build-time labels, the vendor rc and service, and a
/// second disk for ueventd to make `/dev/block/vdb`.
#[test]
fn aarch64_debuggable_permissive_labels() {
    let arch = Arch::Aarch64;
    let mut g = Guest::new(arch).unwrap();
    selinux::permissive(&mut g);
    let (vendor_fc, bad_lines) = vendor_file_contexts();
    let mut tree = VendorTree::new().unwrap();
    tree.busybox(arch).unwrap();
    tree.copy("bin/sh", 0o755, &debian::busybox(arch).unwrap())
        .unwrap();
    tree.file(
        "etc/selinux/vendor_file_contexts",
        0o644,
        vendor_fc.as_bytes(),
    )
    .unwrap();
    tree.file(
        "etc/init/vendor.rc",
        0o644,
        testdata("vendor.rc").as_bytes(),
    )
    .unwrap();
    tree.file(
        "bin/selinux_probe.sh",
        0o644,
        testdata("probe.sh").as_bytes(),
    )
    .unwrap();
    let paths: Vec<&str> = AARCH64_LABELS.iter().map(|(p, _)| *p).collect();
    let rc = probe_rc(
        "/vendor/bin/busybox",
        "/vendor/bin/selinux_probe.sh",
        &paths,
    );
    tree.file("etc/init/zz_selinux_probe.rc", 0o644, rc.as_bytes())
        .unwrap();
    // The image carries its labels, written by vendor_image at build time from the
    // shipped vendor file_contexts and the tests' labels (as AOSP's build does with
    // e2fsdroid).
    g.vendor(&tree, &Default::default()).unwrap();
    g.results_disk(1 << 20).unwrap();
    g.shutdown_when_booted().unwrap();

    let log = boot(&g, "aarch64 debuggable permissive");
    log.assert_phases(&["vendor_mount", "selinux", "second_stage"]);
    let mode = log
        .grep("first_stage: selinux: policy loaded (")
        .next()
        .unwrap_or_else(|| panic!("{}", log.report("no policy line")));
    assert!(
        mode.ends_with("bytes); permissive: androidboot.selinux=permissive from the command line on a debuggable boot"),
        "{mode}"
    );
    // Permissive: the vendor write went through, its denials logged with its domain.
    let denials = expect_domains_and_vendor_write(&log, false);
    expect_refusals(&log);
    // The kernel domain is a valid context: the policy refuses init the transition, and
    // permissive mode lets it through, logged.
    expect_line(&log, "KERNEL_SECLABEL_RAN");
    let other: Vec<&&str> = denials
        .iter()
        .filter(|l| !l.contains("scontext=u:r:vendor_service:s0") && !l.contains("u:r:kernel:s0"))
        .collect();
    assert!(
        other.is_empty(),
        "{}",
        log.report(&format!("other denials: {other:#?}"))
    );

    for (path, label) in AARCH64_LABELS {
        expect_label(&log, path, label);
    }
    expect_probe_end(&log, bad_lines);
}

/// What the x86_64 probe boot asks `getcon` about, and the label each must have: the
/// vendor's files in the initramfs get theirs from the merged file_contexts (the vendor
/// file's `/(vendor|system/vendor)/...` entries).
const X86_64_LABELS: &[(&str, &str)] = &[
    ("/dev/null", "u:object_r:null_device:s0"),
    (
        "/microdroid_resources",
        "u:object_r:microdroid_resources_file:s0",
    ),
    ("/data", "u:object_r:system_data_file:s0"),
    ("/vendor/bin/sh", "u:object_r:vendor_service_exec:s0"),
    (
        "/vendor/etc/init/vendor.rc",
        "u:object_r:vendor_configs_file:s0",
    ),
    ("/system/bin/busybox", "u:object_r:test_probe_exec:s0"),
];

/// x86_64, a normal boot asking for permissive on the command line: still enforcing, and
/// the log says why. No vendor partition: the vendor's files sit in the initramfs's
/// `/vendor`, labelled by the first stage from the merged file_contexts (the vendor
/// file's `/(vendor|system/vendor)/...` entries pass the Treble rule). The vendor
/// service's write to /data is denied and the boot goes on; services whose domain cannot
/// be entered are not started.
#[test]
fn x86_64_normal_boot_is_enforcing() {
    let arch = Arch::X86_64;
    let mut g = Guest::new(arch).unwrap();
    g.append.push("androidboot.selinux=permissive".into());
    let (vendor_fc, bad_lines) = vendor_file_contexts();
    let busybox = debian::busybox(arch).unwrap();
    for (path, mode, data) in [
        (
            "/vendor/etc/selinux/vendor_file_contexts",
            0o644,
            vendor_fc.into_bytes(),
        ),
        (
            "/vendor/etc/init/vendor.rc",
            0o644,
            testdata("vendor.rc").into_bytes(),
        ),
        (
            "/system/etc/selinux_probe.sh",
            0o644,
            testdata("probe.sh").into_bytes(),
        ),
    ] {
        g.initramfs.add_file(path, mode, data).unwrap();
    }
    g.initramfs
        .add_host_file("/system/bin/busybox", &busybox)
        .unwrap();
    g.initramfs
        .add_host_file("/vendor/bin/sh", &busybox)
        .unwrap();
    let paths: Vec<&str> = X86_64_LABELS.iter().map(|(p, _)| *p).collect();
    let rc = probe_rc(
        "/system/bin/busybox",
        "/system/etc/selinux_probe.sh",
        &paths,
    );
    // A vendor rc, so it runs after vendor.rc's post-fs-data commands.
    g.initramfs
        .add_file(
            "/vendor/etc/init/zz_selinux_probe.rc",
            0o644,
            rc.into_bytes(),
        )
        .unwrap();
    g.shutdown_when_booted().unwrap();

    let log = boot(&g, "x86_64 normal boot, permissive asked");
    log.assert_contains("bytes); enforcing: androidboot.selinux=permissive from the command line ignored: not a debuggable boot");
    let denials = expect_domains_and_vendor_write(&log, true);
    expect_refusals(&log);
    // Valid, but the policy does not let init enter kernel: the exec fails, nothing runs.
    log.assert_contains(
        "failed: cannot execute /vendor/bin/sh in u:r:kernel:s0: Permission denied",
    );
    log.assert_lacks("KERNEL_SECLABEL_RAN");
    expect_denial(
        &log,
        "{ transition }",
        "scontext=u:r:init:s0 tcontext=u:r:kernel:s0 tclass=process",
        "permissive=0",
    );
    // Nothing else was denied: one record for the write, one for the transition.
    assert_eq!(denials.len(), 2, "{}", log.report(&format!("{denials:#?}")));
    for (path, label) in X86_64_LABELS {
        expect_label(&log, path, label);
    }
    expect_probe_end(&log, bad_lines);
}

/// A normal boot whose initramfs has no policy: `SELINUX_POLICY_MISSING`, power-off.
#[test]
fn missing_policy_is_fatal() {
    let mut g = Guest::new(Arch::X86_64).unwrap();
    g.initramfs
        .remove(selinux::GUEST_POLICY_PATH)
        .expect("policy");
    let log = boot(&g, "x86_64 without a policy");
    let line = log.assert_fatal("SELINUX_POLICY_MISSING");
    assert!(line.contains("no SELinux policy at /sepolicy"), "{line}");
    log.assert_lacks("first_stage: phase=second_stage");
}

/// A policy cut in half: the kernel refuses it, the first stage fails closed with
/// `SELINUX_POLICY_LOAD` and powers off (no kernel panic).
#[test]
fn truncated_policy_is_fatal() {
    let mut g = Guest::new(Arch::X86_64).unwrap();
    let mut policy = selinux::test_policy().unwrap();
    policy.truncate(policy.len() / 2);
    g.initramfs
        .remove(selinux::GUEST_POLICY_PATH)
        .expect("policy");
    g.initramfs
        .add_file(selinux::GUEST_POLICY_PATH, 0o644, policy)
        .unwrap();
    let log = boot(&g, "x86_64 truncated policy");
    let line = log.assert_fatal("SELINUX_POLICY_LOAD");
    log.assert_contains("SELinux: failed to load policy");
    assert!(
        line.contains("loading the SELinux policy through /sys/fs/selinux/load"),
        "{line}"
    );
    log.assert_lacks("first_stage: phase=second_stage");
}
