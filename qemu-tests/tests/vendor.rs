//! The verified vendor partition, booted for real (issue 3): the Debian arm64 kernel and
//! modules, our DTB with the `/avf` digest, a GPT disk with a signed dm-verity image.
//! The good image mounts read-only with its files; every bad input ends in its
//! documented outcome and reason, and never in a kernel panic.

use qemu_tests::console::{BootLog, VENDOR_BOOT_PHASES};
use qemu_tests::explain::assert_predicted;
use qemu_tests::scenario::{
    ext4_file_offset, flip_byte, Guest, VendorOptions, VendorTree, AVF_NODE, DIGEST_PROPERTY,
};
use qemu_tests::{debian, Arch};

const A64: Arch = Arch::Aarch64;

/// A vendor tree with a file to read and busybox to report what the guest sees.
fn tree(arch: Arch, rc: &str) -> VendorTree {
    let mut t = VendorTree::new().expect("tree");
    // Large enough to live in its own data blocks (no inline data).
    let mut hello = b"hello from vendor\n".to_vec();
    hello.resize(8192, b'.');
    t.file("etc/hello.txt", 0o644, &hello).expect("file");
    t.busybox(arch).expect("busybox");
    t.file("etc/init/vendor.rc", 0o644, rc.as_bytes())
        .expect("rc");
    t
}

const PROBE_RC: &str = r#"on early-init
    exec -- /vendor/bin/busybox sh -c "exec >/dev/console 2>&1; echo VENDOR_MOUNT: $$(grep ' /vendor ' /proc/mounts); echo VENDOR_FILE: $$(head -c 17 /vendor/etc/hello.txt); if touch /vendor/x 2>/dev/null; then echo VENDOR_WRITABLE; else echo VENDOR_READONLY; fi"
    exec -- /vendor/bin/busybox sh -c "exec >/dev/console 2>&1; echo RAW_RO: $$(blockdev --getro /dev/block/by-name/microdroid-vendor); echo RAW_WRITE: $$(dd if=/dev/zero of=/dev/block/by-name/microdroid-vendor bs=512 count=1 2>&1 | head -n 1)"
"#;

const READ_RC: &str = "on early-init\n    exec -- /vendor/bin/busybox sh -c \"exec >/dev/console 2>&1; exec /vendor/bin/busybox cat /vendor/etc/hello.txt\"\n";

fn boot(g: &Guest) -> BootLog {
    let log = g.boot().expect("boot");
    eprintln!("{}", log.fatal().unwrap_or("(no fatal line)"));
    log
}

/// The good image: mounted read-only with its files, AOSP's verity table, and the raw
/// partition made read-only (`BLKROSET`) before dm-verity, so a write to it fails in the
/// guest although QEMU attaches the disk writable here.
#[test]
fn good_image_mounts_read_only_with_its_files() {
    let mut g = Guest::new(A64).unwrap();
    let info = g
        .vendor(&tree(A64, PROBE_RC), &VendorOptions::default())
        .unwrap();
    for d in &mut g.disks {
        d.readonly = false;
    }
    g.shutdown_when_booted().unwrap();
    let log = boot(&g);
    log.assert_phases(VENDOR_BOOT_PHASES);
    log.assert_contains("/dev/block/by-name/microdroid-vendor is /dev/block/vda1");
    // AOSP's table; the block major of virtio_blk is dynamic, so only the shape of the
    // device words is fixed: the same MAJOR:1 device for data and hash.
    let table = log
        .grep("dm-verity table: ")
        .next()
        .map(|l| l[l.find("dm-verity table: ").unwrap_or(0) + 17..].to_owned())
        .unwrap_or_else(|| panic!("{}", log.report("no dm-verity table line")));
    let words: Vec<&str> = table.split_whitespace().collect();
    let salt_hex = avb::to_hex(&info.salt);
    let want_tail = [
        "4096".to_string(),
        "4096".to_string(),
        (info.image_size / 4096).to_string(),
        (info.tree_offset / 4096).to_string(),
        "sha256".to_string(),
        info.root_digest_hex.clone(),
        salt_hex,
        "2".to_string(),
        "restart_on_corruption".to_string(),
        "ignore_zero_blocks".to_string(),
    ];
    assert_eq!(
        &words[..4],
        ["0", &(info.image_size / 512).to_string(), "verity", "1"],
        "{table}"
    );
    assert!(words[4].ends_with(":1") && words[4] == words[5], "{table}");
    assert_eq!(&words[6..], &want_tail[..], "{table}");
    // explain predicts the outcome and the table, its placeholders standing for the
    // device number only the guest knows.
    let x = assert_predicted(&g, Some(&g.work.path().join("vendor.img")), &log);
    let predicted = x.verity_table.clone().expect("explain's table");
    assert_eq!(
        predicted.replace(vendor_image::explain::DEVICE_PLACEHOLDER, words[4]),
        format!("dm-verity table: {table}")
    );
    assert!(
        x.boots() && x.lint.is_empty(),
        "{}",
        vendor_image::explain::to_text(&x)
    );
    // `seclabel`: the ext4 mount carries SELinux labels (the image's xattrs).
    log.assert_contains(
        "VENDOR_MOUNT: /dev/block/mapper/vendor-verity /vendor ext4 ro,seclabel,noatime",
    );
    log.assert_contains("errors=panic");
    log.assert_contains("VENDOR_FILE: hello from vendor");
    assert!(
        log.has_line("VENDOR_READONLY"),
        "{}",
        log.report("no VENDOR_READONLY")
    );
    assert!(
        !log.has_line("VENDOR_WRITABLE"),
        "{}",
        log.report("/vendor is writable")
    );
    assert!(log.has_line("RAW_RO: 1"), "{}", log.report("no RAW_RO: 1"));
    let write = log
        .lines()
        .find_map(|l| l.strip_prefix("RAW_WRITE: "))
        .unwrap_or_else(|| panic!("{}", log.report("no RAW_WRITE line")))
        .to_owned();
    assert!(write.contains("Operation not permitted"), "{write}");
    eprintln!("raw partition write: {write}");
    log.assert_clean_poweroff();
}

#[test]
fn digest_mismatch() {
    let mut g = Guest::new(A64).unwrap();
    let opts = VendorOptions {
        digest_in_dt: false,
        ..Default::default()
    };
    let info = g.vendor(&tree(A64, PROBE_RC), &opts).unwrap();
    let wrong = "0".repeat(64);
    g.vendor_digest(wrong.as_bytes());
    let log = boot(&g);
    let line = log.assert_fatal("VENDOR_DIGEST_MISMATCH");
    assert!(
        line.contains(&format!("expected={wrong} actual={}", info.root_digest_hex)),
        "{line}"
    );
    assert_predicted(&g, Some(&g.work.path().join("vendor.img")), &log);
}

fn malformed(value: &[u8], detail: &str) {
    let mut g = Guest::new(A64).unwrap();
    g.vendor(&tree(A64, PROBE_RC), &VendorOptions::default())
        .unwrap();
    g.vendor_digest(value);
    let log = boot(&g);
    let line = log.assert_fatal("VENDOR_DIGEST_MALFORMED");
    assert!(line.contains(detail), "{line}");
    assert_predicted(&g, Some(&g.work.path().join("vendor.img")), &log);
}

#[test]
fn uppercase_digest_is_malformed() {
    malformed("AB".repeat(32).as_bytes(), "offset 0");
}

#[test]
fn short_digest_is_malformed() {
    malformed("ab".repeat(31).as_bytes(), "62");
}

#[test]
fn non_hex_digest_is_malformed() {
    malformed(format!("{}zz", "ab".repeat(31)).as_bytes(), "offset 62");
}

#[test]
fn missing_partition() {
    let mut g = Guest::new(A64).unwrap();
    g.vendor_digest("ab".repeat(32).as_bytes());
    let line = boot(&g).assert_fatal("VENDOR_PARTITION_MISSING");
    assert!(
        line.contains("PARTNAME=microdroid-vendor after 10000 ms"),
        "{line}"
    );
}

#[test]
fn two_partitions_with_the_name_are_refused() {
    let mut g = Guest::new(A64).unwrap();
    let (img, info) = g
        .build_vendor(&tree(A64, PROBE_RC), &VendorOptions::default())
        .unwrap();
    g.attach_vendor(&img).unwrap();
    g.attach_vendor(&img).unwrap();
    g.vendor_digest(info.root_digest_hex.as_bytes());
    let line = boot(&g).assert_fatal("VENDOR_PARTITION_AMBIGUOUS");
    assert!(line.contains("microdroid-vendor"), "{line}");
}

#[test]
fn unsigned_vbmeta() {
    let mut g = Guest::new(A64).unwrap();
    let t = tree(A64, PROBE_RC);
    let img = g.work.path().join("unsigned.img");
    vendor_image::build_ext4(t.path(), &img, None).unwrap();
    let info = avb::add_hashtree_footer(
        &img,
        &avb::HashtreeFooterOptions {
            partition_name: "microdroid-vendor".into(),
            salt: Some(b"salt".to_vec()),
            algorithm: avb::Algorithm::None,
            key: None,
            ..Default::default()
        },
    )
    .unwrap();
    // The digest is right: only the missing signature is wrong.
    g.attach_vendor(&img).unwrap();
    g.vendor_digest(avb::to_hex(&info.descriptor.root_digest).as_bytes());
    let log = boot(&g);
    log.assert_fatal("VBMETA_UNSIGNED");
    assert_predicted(&g, Some(&img), &log);
}

#[test]
fn truncated_footer() {
    let mut g = Guest::new(A64).unwrap();
    let (img, info) = g
        .build_vendor(&tree(A64, PROBE_RC), &VendorOptions::default())
        .unwrap();
    // Cut the partition one sector short (a GPT partition is whole sectors): the footer
    // is gone and its last 64 bytes are no longer an AvbFooter.
    let len = std::fs::metadata(&img).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&img)
        .unwrap()
        .set_len(len - 512)
        .unwrap();
    g.attach_vendor(&img).unwrap();
    g.vendor_digest(info.root_digest_hex.as_bytes());
    let log = boot(&g);
    let line = log.assert_fatal("VBMETA_INVALID");
    assert!(line.to_lowercase().contains("footer"), "{line}");
    assert_predicted(&g, Some(&img), &log);
}

#[test]
fn flipped_signature_byte() {
    let mut g = Guest::new(A64).unwrap();
    let (img, info) = g
        .build_vendor(&tree(A64, PROBE_RC), &VendorOptions::default())
        .unwrap();
    // SHA256_RSA4096: the auth block is the 32-byte hash then the 512-byte signature.
    flip_byte(&img, info.vbmeta_offset + 256 + 32 + 100).unwrap();
    g.attach_vendor(&img).unwrap();
    g.vendor_digest(info.root_digest_hex.as_bytes());
    let log = boot(&g);
    let line = log.assert_fatal("VBMETA_INVALID");
    assert!(line.to_lowercase().contains("signature"), "{line}");
    assert_predicted(&g, Some(&img), &log);
}

/// Builds the reading vendor image, flips one byte at the offset `at` picks, boots,
/// and checks dm-verity's refusal: the kernel names the corrupted `kind` of block and
/// restarts the VM (`restart_on_corruption`: an orderly restart, not a panic) after the
/// first stage reached `phase`, and no corrupted byte reaches userspace.
fn corrupt_and_expect_restart(
    at: impl Fn(&std::path::Path, &vendor_image::VendorImageInfo) -> u64,
    phase: &str,
    kind: &str,
) {
    let mut g = Guest::new(A64).unwrap();
    let (img, info) = g
        .build_vendor(&tree(A64, READ_RC), &VendorOptions::default())
        .unwrap();
    flip_byte(&img, at(&img, &info)).unwrap();
    g.attach_vendor(&img).unwrap();
    g.vendor_digest(info.root_digest_hex.as_bytes());
    g.shutdown_when_booted().unwrap();
    let log = boot(&g);
    log.assert_contains(&format!("first_stage: phase={phase}"));
    log.assert_contains(&format!("{kind} block "));
    log.assert_contains("is corrupted");
    log.assert_lacks("hello from vendor");
    assert!(log.fatal().is_none(), "{}", log.report("unexpected fatal"));
    assert!(!log.kernel_panicked(), "{}", log.report("kernel panic"));
    assert!(
        log.restarted(),
        "{}",
        log.report("dm-verity did not restart the VM")
    );
    assert_host_names_the_same_block(&log, &img, &info, kind);
    // explain: no fatal line, and the hash tree names the block dm-verity named.
    let x = assert_predicted(&g, Some(&img), &log);
    match &x.hashtree {
        Some(vendor_image::explain::HashtreeReport::Corrupt { block, .. }) => {
            let needle = format!("{kind} block ");
            let guest = log.grep(&needle).next().expect("dm-verity line");
            let number = |s: &str| {
                s.split(&needle)
                    .nth(1)?
                    .split_whitespace()
                    .next()
                    .map(str::to_owned)
            };
            assert_eq!(
                number(block),
                number(guest),
                "explain: {block}; guest: {guest}"
            );
        }
        other => panic!("explain finds the corrupted image intact: {other:?}"),
    }
    assert!(!x.boots());
}

/// `vendor_image info`'s check (avb::verify_hashtree) on the corrupted image names the
/// block the guest's dm-verity named (`… <kind> block <n> is corrupted`).
fn assert_host_names_the_same_block(
    log: &BootLog,
    img: &std::path::Path,
    info: &vendor_image::VendorImageInfo,
    kind: &str,
) {
    let needle = format!("{kind} block ");
    let line = log.grep(&needle).next().expect("dm-verity line");
    let guest: u64 = line
        .split(&needle)
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no block number in {line:?}"));
    let file = std::fs::File::open(img).unwrap();
    let v = avb::read_vbmeta_from_device(&mut &file).unwrap();
    let desc = v.hashtree_descriptor(&info.partition_name).unwrap();
    let block = match avb::verify_hashtree(&file, desc, 0).unwrap() {
        avb::HashtreeCheck::Corrupt { block, .. } => block,
        other => panic!("the host finds the corrupted image intact: {other:?}"),
    };
    let host = match (&block, kind) {
        (avb::CorruptBlock::Data { block, .. }, "data") => *block,
        (avb::CorruptBlock::Metadata { block, .. }, "metadata") => *block,
        _ => panic!("guest: {line:?}; host: {block}"),
    };
    assert_eq!(host, guest, "guest: {line:?}; host: {block}");
    eprintln!("guest: {line}\nhost:  {block}");
}

/// dm-verity must refuse a corrupted data block when the file is read after the mount.
#[test]
fn flipped_data_byte_is_refused_on_read() {
    corrupt_and_expect_restart(
        |img, _| ext4_file_offset(img, "/etc/hello.txt").unwrap() + 3,
        "vendor_mount",
        "data",
    );
}

/// A corrupted hash-tree block fails verification on the first read through it (the
/// mount's superblock read), with the same restart.
#[test]
fn flipped_hash_tree_byte_is_refused() {
    corrupt_and_expect_restart(|_, info| info.tree_offset + 5, "verity", "metadata");
}

#[test]
fn strict_boot_with_request_but_no_digest() {
    let mut g = Guest::new(A64).unwrap();
    let opts = VendorOptions {
        digest_in_dt: false,
        ..Default::default()
    };
    g.vendor(&tree(A64, PROBE_RC), &opts).unwrap();
    g.strict_boot();
    g.request_vendor();
    let log = boot(&g);
    let line = log.assert_fatal("VENDOR_DIGEST_MISSING");
    assert!(line.contains("strict_boot=true"), "{line}");
    assert_predicted(&g, Some(&g.work.path().join("vendor.img")), &log);
}

/// Debian's amd64 kernel has no device tree: with no digest and no request the guest
/// boots without /vendor even when a vendor disk is attached, and says so.
#[test]
fn x86_64_boots_without_vendor() {
    let arch = Arch::X86_64;
    let mut g = Guest::new(arch).unwrap();
    let opts = VendorOptions {
        digest_in_dt: false,
        ..Default::default()
    };
    g.vendor(&tree(arch, PROBE_RC), &opts).unwrap();
    g.shutdown_when_booted().unwrap();
    let log = boot(&g);
    log.assert_contains("booting without /vendor");
    log.assert_lacks("VENDOR_MOUNT:");
    log.assert_clean_poweroff();
    let x = assert_predicted(&g, Some(&g.work.path().join("vendor.img")), &log);
    assert_modules_predicted(&x, &log);
}

/// A strict boot refuses an image whose hashtree descriptor asks for `check_at_most_once`
/// (DESIGN §9, **Ours**), although it is signed and its digest is the device tree's.
#[test]
fn check_at_most_once_is_refused_under_strict_boot() {
    let mut g = Guest::new(A64).unwrap();
    let opts = VendorOptions {
        check_at_most_once: true,
        ..Default::default()
    };
    g.vendor(&tree(A64, PROBE_RC), &opts).unwrap();
    g.strict_boot();
    let log = boot(&g);
    let line = log.assert_fatal("VBMETA_INVALID");
    assert!(
        line.contains("asks for check_at_most_once, refused under strict boot"),
        "{line}"
    );
    log.assert_phases(&["partition"]);
    log.assert_lacks("dm-verity table");
    assert_predicted(&g, Some(&g.work.path().join("vendor.img")), &log);
}

/// The digest is in the device tree but the command line does not ask for `/vendor`
/// (as after pvmfw strips the flag): no `/vendor`, no vendor DICE node, one log line, and
/// the boot goes on. The same boot names another controller (crosvm's `10000.pci`) in
/// `androidboot.boot_devices`: our disk sits on QEMU's PCIe host bridge, so ueventd makes
/// its node but no by-name link, and says why.
#[test]
fn digest_without_flag_is_ignored_and_boot_devices_restrict_links() {
    let mut g = Guest::new(A64).unwrap();
    let opts = VendorOptions {
        digest_in_dt: false,
        ..Default::default()
    };
    let info = g.vendor(&tree(A64, PROBE_RC), &opts).unwrap();
    g.dt_property(AVF_NODE, DIGEST_PROPERTY, info.root_digest_hex.as_bytes());
    g.append.push("androidboot.boot_devices=10000.pci".into());
    g.initramfs
        .add_host_file("/system/bin/busybox", &debian::busybox(A64).unwrap())
        .unwrap();
    g.initramfs
        .add_file(
            "/system/etc/init/zz-probe.rc",
            0o644,
            SYSTEM_PROBE_RC.as_bytes().to_vec(),
        )
        .unwrap();
    g.shutdown_when_booted().unwrap();
    let log = boot(&g);
    log.assert_contains(
        "vendor: booting without /vendor: the device tree has \
         /proc/device-tree/avf/vendor_hashtree_descriptor_root_digest but the command line has \
         no androidboot.microdroid.mount_vendor=1: digest ignored",
    );
    log.assert_contains("mount_vendor=false vendor=none");
    for absent in [
        "phase=partition",
        "vendor-verity",
        "phase=dice",
        "VENDOR_MOUNT:",
    ] {
        log.assert_lacks(absent);
    }
    log.assert_contains(
        "ueventd: no by-name link for vda1: on platform device 4010000000.pcie, not one of \
         androidboot.boot_devices=10000.pci",
    );
    let sys = probe_value(&log, "PROBE_SYS: ");
    assert!(
        sys.starts_with("/sys/devices/platform/4010000000.pcie/pci0000:00/"),
        "{sys}"
    );
    assert_eq!(probe_value(&log, "PROBE_NODE: "), "b");
    assert_eq!(probe_value(&log, "PROBE_BY_NAME: "), "");
    log.assert_clean_poweroff();
    let x = assert_predicted(&g, Some(&g.work.path().join("vendor.img")), &log);
    let skip = &x.phases[1].lines[0];
    assert!(
        log.grep(skip).next().is_some(),
        "{}",
        log.report(&format!("explain predicted {skip:?}"))
    );
    assert_modules_predicted(&x, &log);
}

/// The first-stage pass explain predicts is the one the guest logged.
fn assert_modules_predicted(x: &vendor_image::explain::Explanation, log: &BootLog) {
    let n = qemu_tests::explain::assert_module_lines(x, log);
    assert!(n > 0, "no module line predicted");
}

/// A system rc probe (busybox in the initramfs): what ueventd made for the vendor disk.
const SYSTEM_PROBE_RC: &str = r#"on init
    exec -- /system/bin/busybox sh -c "exec >/dev/console 2>&1; echo PROBE_SYS: $$(readlink -f /sys/class/block/vda1); echo PROBE_NODE: $$(stat -c %A /dev/block/vda1 | head -c 1); echo PROBE_BY_NAME: $$(ls /dev/block/by-name 2>/dev/null)"
"#;

/// The value after `prefix` on the one console line starting with it.
fn probe_value<'a>(log: &'a BootLog, prefix: &str) -> &'a str {
    let found: Vec<&str> = log
        .lines()
        .filter_map(|l| Some(l.trim_end().strip_prefix(prefix.trim_end())?.trim()))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{}",
        log.report(&format!("{prefix}: {found:?}"))
    );
    found[0]
}

/// The vendor is requested and the digest "property" is a device-tree *node* of that
/// name: Linux shows it as a directory, whose read fails with EISDIR. That is not
/// "absent": the boot stops with the errno.
#[test]
fn unreadable_digest_is_fatal() {
    let mut g = Guest::new(A64).unwrap();
    g.dt_property(
        &format!("{AVF_NODE}/{DIGEST_PROPERTY}"),
        "compatible",
        b"not-a-digest\0",
    );
    g.request_vendor();
    let log = boot(&g);
    assert_predicted(&g, None, &log);
    let line = log.assert_fatal("VENDOR_DIGEST_UNREADABLE");
    assert!(
        line.contains(
            "androidboot.microdroid.mount_vendor=1 but reading \
             /proc/device-tree/avf/vendor_hashtree_descriptor_root_digest failed: Is a directory"
        ) && line.contains("(errno 21)"),
        "{line}"
    );
}
