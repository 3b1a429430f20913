//! ueventd booted for real (issue 6; issue 9 robustness): the Debian arm64 kernel, the
//! signed vendor partition carrying the `zram` and `loop` modules (loaded by the first
//! stage's `vendor_modules` phase, so coldboot sees their devices) plus `virtio_rng`
//! (only in its `modules.alias`), and a vendor `ueventd.rc` with distinct modes and
//! owners, a `subsystem` section with `dirname`, sysfs attribute lines,
//! `modalias_handling enabled` and malformed lines. A probe script run from the vendor's
//! rc reports what the guest sees with busybox `stat`, numerically:
//!
//! * after coldboot (`on init` runs after `wait_for_prop ro.cold_boot_done true`): the
//!   vendor's modes and owners won over the system's, the malformed lines were reported
//!   with file:line and the lines around them applied, the subsystem's nodes are in
//!   their `dirname`, the sysfs attributes were fixed up, the virtio-rng device's driver
//!   was loaded through its MODALIAS, and the first stage's
//!   `/dev/block/by-name/microdroid-vendor` link is the one ueventd wants (no conflict);
//! * after boot: a GPT disk hot-plugged through the QEMU monitor (`device_add` on a PCIe
//!   root port) gets its nodes and `/dev/block/by-name/hotplug-part`, with the mode a
//!   rule on the by-name link gives; its second partition, also named
//!   `microdroid-vendor`, gets a node but does not take the vendor's link (one conflict
//!   line); unplugging it (`device_del`) removes its nodes and its own link only.
//!
//! One boot covers all of it (the hot-plug happens after the coldboot checks ran).

use std::time::Duration;

use qemu_tests::console::BootLog;
use qemu_tests::modules::add_vendor_modules;
use qemu_tests::scenario::{Guest, VendorOptions, VendorTree};
use qemu_tests::vm::Running;
use qemu_tests::Arch;

const A64: Arch = Arch::Aarch64;

/// The vendor's ueventd.rc. Line numbers matter: the malformed lines are expected at
/// lines 13, 15 and 17.
const VENDOR_UEVENTD_RC: &str = "\
# Vendor ueventd.rc of the ueventd QEMU test: distinct modes and owners (checked
# numerically from the guest) and malformed lines that must be reported with file:line
# while the lines around them still apply.
parallel_restorecon enabled
modalias_handling enabled

subsystem vc
    devname uevent_devname
    dirname /dev/vc

/dev/block/zram0                    0640   system   radio
/dev/loop-control                   0604   shell    media
/dev/block/loop7                    0999   root     root
/dev/block/loop6                    0620   root     graphics
/dev/vc/vcs1                        0620   nosuchuser root
/dev/vc/vcsa1                       0640   root     audio
frobnicate                          yes
/dev/block/by-name/hotplug-part     0640   system   shell
/sys/devices/virtual/block/zram*    disksize               0620  system  log
/sys/class/block/loop0              queue/read_ahead_kb    0664  system  shell
";

/// `(file:line, message)` the guest must log for [`VENDOR_UEVENTD_RC`].
const EXPECTED_CONFIG_ERRORS: [&str; 3] = [
    "ueventd: /vendor/etc/ueventd.rc:13: invalid mode '0999'",
    "ueventd: /vendor/etc/ueventd.rc:15: invalid uid 'nosuchuser'",
    "ueventd: /vendor/etc/ueventd.rc:17: invalid section keyword 'frobnicate'",
];

/// The probe: `coldboot` prints what coldboot made; `hotplug` waits for the hot-plugged
/// disk, reports it, waits for it to go away, reports that and powers the guest off.
/// Every report line starts with `UEVENTD_` and is matched exactly by the test.
const PROBE_SH: &str = r#"
# exec children get /dev/null stdio (AOSP): report on the console.
exec > /dev/console 2>&1
report() {
    for p in "$@"; do
        stat -c 'UEVENTD_STAT %a %u %g %F %n' "$p" 2>/dev/null || echo "UEVENTD_MISSING $p"
    done
}
link() {
    echo "UEVENTD_LINK $1 $2 -> $(readlink "$2")"
}
case "$1" in
coldboot)
    report /dev/block/zram0 /dev/loop-control /dev/block/loop7 /dev/block/loop6 \
        /dev/vc/vcs1 /dev/vc/vcsa1 /dev/rtc0 /dev/hw_random \
        /sys/devices/virtual/block/zram0/disksize \
        /sys/devices/virtual/block/loop0/queue/read_ahead_kb \
        /sys/devices/virtual/block/loop1/queue/read_ahead_kb
    link coldboot /dev/block/by-name/microdroid-vendor
    if grep -q '^virtio_rng ' /proc/modules; then
        echo UEVENTD_MODULE_LOADED virtio_rng
    fi
    echo "UEVENTD_RNG $(cat /sys/class/misc/hw_random/rng_available)"
    echo UEVENTD_COLDBOOT_PROBE_DONE
    ;;
hotplug)
    echo UEVENTD_HOTPLUG_WAITING
    while [ ! -L /dev/block/by-name/hotplug-part ]; do sleep 0.1; done
    part=$(readlink /dev/block/by-name/hotplug-part)
    disk=${part%1}
    while [ ! -e "${disk}2" ]; do sleep 0.1; done
    link plugged /dev/block/by-name/hotplug-part
    link plugged /dev/block/by-name/microdroid-vendor
    report "$disk" "$part" "${disk}2"
    echo UEVENTD_UNPLUG_WAITING
    while [ -L /dev/block/by-name/hotplug-part ]; do sleep 0.1; done
    while [ -e "$disk" ] || [ -e "$part" ] || [ -e "${disk}2" ]; do sleep 0.1; done
    echo "UEVENTD_UNPLUGGED $disk $part ${disk}2"
    link unplugged /dev/block/by-name/microdroid-vendor
    /system/bin/setprop sys.powerctl shutdown
    ;;
esac
"#;

/// `on init` runs after early-init's `wait_for_prop ro.cold_boot_done true`.
const PROBE_RC: &str = "\
on init
    exec -- /vendor/bin/busybox sh /vendor/bin/ueventd_probe.sh coldboot

on property:dev.bootcomplete=1
    exec_background -- /vendor/bin/busybox sh /vendor/bin/ueventd_probe.sh hotplug
";

/// Bound on each wait for the guest (the boot deadline bounds them too).
const STEP_LIMIT: Duration = Duration::from_secs(300);

/// The guest's console tail, for failures before the boot log exists.
fn tail(run: &Running) -> String {
    let console = run.console();
    let lines: Vec<&str> = console.lines().rev().take(80).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join("\n")
}

/// Waits for `needle` on the console; on failure shows the monitor's answers so far.
fn wait(run: &Running, needle: &str, monitor_said: &[String]) {
    if let Err(e) = run.wait_for(needle, STEP_LIMIT) {
        panic!(
            "{e}\n---- monitor ----\n{}\n---- console tail ----\n{}",
            monitor_said.join("\n"),
            tail(run)
        );
    }
}

/// Sends an HMP command; returns what the monitor answered (the guest's reaction is what
/// the test checks).
fn monitor(run: &Running, command: &str) -> String {
    run.monitor(command)
        .unwrap_or_else(|e| panic!("monitor {command:?}: {e}\n{}", tail(run)))
}

fn assert_line(log: &BootLog, line: &str) {
    assert!(
        log.has_line(line),
        "{}",
        log.report(&format!("no line {line:?}"))
    );
}

#[test]
fn coldboot_vendor_rules_and_hotplug() {
    let mut g = Guest::new(A64).expect("guest");
    let mut tree = VendorTree::new().expect("vendor tree");
    tree.busybox(A64).expect("busybox");
    // zram and loop are loaded by the first stage; virtio_rng only by ueventd's
    // modalias_handling, when coldboot replays the add of the virtio-rng device.
    let modules = add_vendor_modules(&mut tree, &g.kernel, &["zram", "loop"], &["virtio_rng"])
        .expect("modules");
    assert_eq!(modules.loaded, ["zsmalloc", "zram", "loop"]);
    assert!(
        modules.copied.iter().any(|m| m == "virtio_rng"),
        "{modules:?}"
    );
    tree.file("etc/ueventd.rc", 0o644, VENDOR_UEVENTD_RC.as_bytes())
        .expect("ueventd.rc");
    tree.file("etc/init/ueventd_test.rc", 0o644, PROBE_RC.as_bytes())
        .expect("rc");
    tree.file("bin/ueventd_probe.sh", 0o755, PROBE_SH.as_bytes())
        .expect("probe");
    g.vendor(&tree, &VendorOptions::default()).expect("vendor");

    // The disk to hot-plug: one GPT partition named hotplug-part.
    let part = g.work.path().join("hotplug-part.img");
    std::fs::write(&part, vec![0x5a; 64 * 1024]).expect("partition image");
    let disk = g.work.path().join("hotplug-disk.img");
    // Its second partition claims the vendor's name: it must not take over the link.
    vendor_image::make_gpt_disk(
        &disk,
        &[
            ("hotplug-part", part.as_path()),
            ("microdroid-vendor", part.as_path()),
        ],
    )
    .expect("gpt");
    // PCIe hot-plug on -M virt needs a root port with a free slot.
    // The virtio-rng device's driver is only in the vendor's modules.alias.
    for arg in [
        "-device",
        "pcie-root-port,id=rp0",
        "-device",
        "virtio-rng-pci",
    ] {
        g.qemu_args.push(arg.to_string());
    }
    g.monitor = true;

    let run = g.vm().expect("vm").spawn().expect("spawn");
    let mut said = Vec::new();
    wait(&run, "UEVENTD_HOTPLUG_WAITING", &said);
    said.push(monitor(
        &run,
        &format!(
            "drive_add 0 if=none,id=hp0,file={},format=raw,readonly=on",
            disk.display()
        ),
    ));
    said.push(monitor(
        &run,
        "device_add virtio-blk-pci,drive=hp0,id=hpdev0,bus=rp0",
    ));
    wait(&run, "UEVENTD_UNPLUG_WAITING", &said);
    said.push(monitor(&run, "device_del hpdev0"));
    wait(&run, "UEVENTD_UNPLUGGED", &said);
    let log = run.wait().expect("boot log");
    eprintln!("boot took {:?}", log.elapsed);

    // Coldboot: the vendor's lines win over the system's (/dev/loop-control is 0660 root
    // system there), a malformed line is dropped whole (loop7 keeps the system's
    // /dev/block/* rule, vcs1 the default), the lines after it apply.
    for line in [
        "UEVENTD_STAT 640 1000 1001 block special file /dev/block/zram0",
        "UEVENTD_STAT 604 2000 1013 character special file /dev/loop-control",
        "UEVENTD_STAT 600 0 0 block special file /dev/block/loop7",
        "UEVENTD_STAT 620 0 1003 block special file /dev/block/loop6",
        "UEVENTD_STAT 600 0 0 character special file /dev/vc/vcs1",
        "UEVENTD_STAT 640 0 1005 character special file /dev/vc/vcsa1",
        // System rules (Microdroid's rtc0, AOSP's hw_random).
        "UEVENTD_STAT 640 1000 1000 character special file /dev/rtc0",
        "UEVENTD_STAT 440 0 1000 character special file /dev/hw_random",
        // Sysfs attributes: by DEVPATH glob, and by the /sys/class alias (loop0 only).
        "UEVENTD_STAT 620 1000 1007 regular file /sys/devices/virtual/block/zram0/disksize",
        "UEVENTD_STAT 664 1000 2000 regular file /sys/devices/virtual/block/loop0/queue/read_ahead_kb",
        "UEVENTD_STAT 644 0 0 regular file /sys/devices/virtual/block/loop1/queue/read_ahead_kb",
        // The first stage's link is the one ueventd makes.
        "UEVENTD_LINK coldboot /dev/block/by-name/microdroid-vendor -> /dev/block/vda1",
        // modalias_handling: the module was loaded and its RNG registered.
        "UEVENTD_MODULE_LOADED virtio_rng",
        "UEVENTD_RNG virtio_rng.0",
        "UEVENTD_COLDBOOT_PROBE_DONE",
    ] {
        assert_line(&log, line);
    }
    // The first stage loaded only modules.load's three; virtio_rng came from ueventd.
    log.assert_contains("first_stage: modules pass=vendor loaded=3 already=0 failed=0 ");
    assert!(
        !log.console.contains("UEVENTD_MISSING"),
        "{}",
        log.report("a node or attribute is missing")
    );

    // Hot-plug: nodes, the by-name link, the mode its rule gives; the partition that
    // claims the vendor's name gets its node but not the link; then removal, which
    // leaves the vendor's link alone.
    for line in [
        "UEVENTD_LINK plugged /dev/block/by-name/hotplug-part -> /dev/block/vdb1",
        "UEVENTD_LINK plugged /dev/block/by-name/microdroid-vendor -> /dev/block/vda1",
        "UEVENTD_STAT 600 0 0 block special file /dev/block/vdb",
        "UEVENTD_STAT 640 1000 2000 block special file /dev/block/vdb1",
        "UEVENTD_STAT 600 0 0 block special file /dev/block/vdb2",
        "UEVENTD_UNPLUGGED /dev/block/vdb /dev/block/vdb1 /dev/block/vdb2",
        "UEVENTD_LINK unplugged /dev/block/by-name/microdroid-vendor -> /dev/block/vda1",
    ] {
        assert_line(&log, line);
    }

    // ueventd said exactly this, and nothing else: no handling errors, and one link
    // conflict, for the hot-plugged impostor (none at coldboot: the first stage's
    // by-name link is the one ueventd wants).
    let ueventd: Vec<&str> = log
        .lines()
        .filter_map(|l| l.find("ueventd: ").map(|i| &l[i..]))
        .collect();
    for want in EXPECTED_CONFIG_ERRORS {
        assert!(
            ueventd.contains(&want),
            "{}",
            log.report(&format!("ueventd did not log {want:?}"))
        );
    }
    let is_conflict = |l: &str| l.contains("already links to");
    let impostor = |l: &str| {
        l.starts_with("ueventd: add /devices/")
            && l.ends_with(
                "/vdb2: /dev/block/by-name/microdroid-vendor already links to \
                 /dev/block/vda1, not /dev/block/vdb2",
            )
    };
    let expected = |l: &str| {
        EXPECTED_CONFIG_ERRORS.contains(&l)
            || impostor(l)
            || l.starts_with(
                "ueventd: started, configuration \
                 [\"/system/etc/ueventd.rc\", \"/vendor/etc/ueventd.rc\"]",
            )
            || l.starts_with("ueventd: coldboot took ")
            || l.starts_with(
                "ueventd: parallel_restorecon/parallel_restorecon_dir parsed but not acted upon",
            )
    };
    let unexpected: Vec<&&str> = ueventd.iter().filter(|l| !expected(l)).collect();
    assert!(
        unexpected.is_empty(),
        "{}",
        log.report(&format!("unexpected ueventd lines: {unexpected:#?}"))
    );
    let conflicts: Vec<usize> = (0..ueventd.len())
        .filter(|&i| is_conflict(ueventd[i]))
        .collect();
    let coldboot_at = ueventd
        .iter()
        .position(|l| l.starts_with("ueventd: coldboot took "))
        .unwrap_or_else(|| panic!("{}", log.report("no coldboot line")));
    assert!(
        matches!(conflicts.as_slice(), [i] if *i > coldboot_at && impostor(ueventd[*i])),
        "{}",
        log.report(&format!(
            "link conflicts at {conflicts:?}, coldboot at {coldboot_at}"
        ))
    );

    eprintln!("{}\n{}", ueventd[coldboot_at], log.timeline_table());
    log.assert_clean_poweroff();
}

/// A panic in ueventd (the test build; asked for on the kernel command line): its panic
/// hook prints the fatal line and asks init to power off through `sys.powerctl`, as
/// AOSP's ueventd ends the boot on a fatal error.
#[test]
fn ueventd_panic_is_fatal_and_powers_off() {
    let mut g = Guest::new(A64).expect("guest");
    g.use_test_hooks_build().expect("test build");
    g.append.push("test_hooks.ueventd_panic".into());
    let log = g.boot().expect("boot");
    let line = log.init_fatal().map(str::to_owned).unwrap_or_default();
    assert!(
        line.starts_with("INIT_FATAL reason=PANIC ueventd: panicked at ")
            && line.ends_with("test hook: test_hooks.ueventd_panic is on the kernel command line"),
        "{}",
        log.report(&format!("fatal line {line:?}"))
    );
    assert!(
        log.lines().any(
            |l| l.starts_with("init: received sys.powerctl='shutdown,ueventd-panic' from pid ")
        ),
        "{}",
        log.report("no powerctl from ueventd")
    );
    log.assert_contains("init: powerctl shutdown");
    assert!(!log.kernel_panicked(), "{}", log.report("kernel panic"));
    assert!(log.powered_off(), "{}", log.report("no power-off"));
    eprintln!("{line}");
}
