//! DICE in QEMU (issue 5, part of issue 9, issue 13): the "Microdroid vendor" node the
//! first stage derives, brought back to the host and checked there, with and without an
//! open-dice device.
//!
//! Without a driver a non-strict boot derives from AOSP's sample chain, and a strict boot
//! waits 10 s for `/dev/open-dice0` (GKI loads the driver as a first-stage module), then
//! stops. With Linux's own open-dice driver (`drivers/misc/open-dice.c` built from Debian's
//! `linux-source` as a first-stage module, see `qemu_tests::opendice`) the guest has a
//! real `/dev/open-dice0` over a reserved-memory region QEMU's loader filled with a
//! handover, so the first stage's device path runs: read the size, mmap, parse, derive,
//! wipe. After such a boot QEMU is kept alive (`-no-shutdown`) and the region is read back
//! from guest memory through the monitor: it must be all zeros.
//!
//! The guest leaves `/microdroid_resources/dice_chain.raw` on a results disk (`/dev/vdb`,
//! a tar archive written by busybox); the host verifies it with
//! `dice_vendor::verify_chain_bytes`, recomputes the vendor node's measurements from the
//! image, and derives the same node itself: the derivation is deterministic, so the
//! guest's file must equal the host's byte for byte.
//!
//! Five boots: no driver (non-strict), no driver (strict), the driver under strict boot
//! with a non-sample parent, the driver with a malformed handover, the driver with a
//! handover that has no DICE chain.

use std::path::Path;
use std::process::Command;

use dice_vendor::crypto::sha512;
use dice_vendor::vendor::{vendor_config_descriptor, COMPONENT_NAME};
use dice_vendor::{
    derive_vendor_node, sample_handover, verify::InputKind, verify_chain_bytes, Handover, Mode,
    VendorMeasurement,
};
use qemu_tests::console::BootLog;
use qemu_tests::opendice::{self, DiceRegion};
use qemu_tests::scenario::{Guest, VendorOptions, VendorTree};
use qemu_tests::{workspace_root, Arch};
use vendor_image::VendorImageInfo;

const A64: Arch = Arch::Aarch64;
/// A non-zero rollback index, so the node's security version is visibly the image's.
const ROLLBACK_INDEX: u64 = 7;
/// The results disk (attached after the vendor disk, so `/dev/vdb` in the guest).
const RESULTS_SIZE: u64 = 1 << 20;

/// Reports the chain file's mode, owner and size and the tmpfs's mount line, then
/// saves the file on the results disk as a tar archive (tar records the size, so the
/// host reads back exactly the file, whatever follows on the disk).
const SAVE_RC: &str = r#"on early-init
    exec -- /vendor/bin/busybox sh -c "exec >/dev/console 2>&1; cd /microdroid_resources && echo DICE_FILE: $$(stat -c '%a %u:%g' dice_chain.raw) && echo DICE_MOUNT: $$(grep ' /microdroid_resources ' /proc/mounts) && tar -cf /dev/vdb dice_chain.raw && sync && echo DICE_SAVED"
"#;

/// A vendor tree with busybox and `rc` as its init file.
fn tree(rc: &str) -> VendorTree {
    let mut t = VendorTree::new().expect("tree");
    t.busybox(A64).expect("busybox");
    t.file("etc/init/dice.rc", 0o644, rc.as_bytes())
        .expect("rc");
    t
}

/// `SAVE_RC` plus a probe of the device node: its mode and owner, and what `read()`
/// returns (the region size, a native-endian u64).
fn save_and_probe_device_rc() -> String {
    format!(
        "{SAVE_RC}    exec -- /vendor/bin/busybox sh -c \"exec >/dev/console 2>&1; echo DICE_DEV: \
         $$(stat -c '%A %u:%g' {dev}) $$(dd if={dev} bs=16 count=1 2>/dev/null | od -An -tx1)\"\n",
        dev = opendice::DEVICE,
    )
}

fn vendor_options() -> VendorOptions {
    VendorOptions {
        rollback_index: ROLLBACK_INDEX,
        ..Default::default()
    }
}

fn boot(g: &Guest) -> BootLog {
    let log = g.boot().expect("boot");
    eprintln!(
        "boot took {:?}; {}\n{}",
        log.elapsed,
        log.fatal().unwrap_or("(no fatal line)"),
        log.timeline_table()
    );
    log
}

/// The single console line starting with `prefix`, without it (the exec'd command
/// line init logs starts with `init:`, so it never matches).
fn probe<'a>(log: &'a BootLog, prefix: &str) -> &'a str {
    let found: Vec<&str> = log
        .lines()
        .filter_map(|l| l.trim_end().strip_prefix(prefix))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{}",
        log.report(&format!("want one {prefix:?} line, got {found:?}"))
    );
    found[0]
}

/// `dice_chain.raw` as the guest left it on the results disk.
fn saved_chain(disk: &Path) -> Vec<u8> {
    let out = Command::new("tar")
        .arg("-xOf")
        .arg(disk)
        .arg("dice_chain.raw")
        .output()
        .expect("run tar");
    assert!(
        out.status.success(),
        "tar -xOf {}: {}",
        disk.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Checks the guest's `dice_chain.raw` against the image and the parent handover.
fn check_vendor_chain(raw: &[u8], info: &VendorImageInfo, parent_handover: &[u8]) {
    let summary = verify_chain_bytes(raw).unwrap_or_else(|e| panic!("guest chain: {e}"));
    assert_eq!(summary.kind, InputKind::DiceChainRaw);
    assert!(summary.has_cdis);
    let parent = verify_chain_bytes(parent_handover).expect("parent handover verifies");
    assert_eq!(summary.root_public_key, parent.root_public_key);
    assert_eq!(
        summary.nodes.len(),
        parent.nodes.len() + 1,
        "the vendor node extends the parent's chain by one"
    );
    assert_eq!(summary.nodes[..parent.nodes.len()], parent.nodes[..]);
    let node = summary.nodes.last().expect("a node");
    assert_eq!(node.component_name.as_deref(), Some(COMPONENT_NAME));
    assert_eq!(node.code_hash, sha512(&info.root_digest).to_vec());
    assert_eq!(node.authority_hash, sha512(&info.public_key_blob).to_vec());
    assert_eq!(node.security_version, Some(ROLLBACK_INDEX));
    assert_eq!(node.mode, Mode::Normal);
    assert_eq!(
        node.config_descriptor,
        vendor_config_descriptor(ROLLBACK_INDEX)
    );
    assert_eq!(node.profile_name.as_deref(), Some("android.16"));

    let m = VendorMeasurement {
        public_key_blob: &info.public_key_blob,
        root_digest: &info.root_digest,
        rollback_index: info.rollback_index,
    };
    let parent = Handover::parse(parent_handover).expect("parent parses");
    let host = derive_vendor_node(&parent, &m).expect("host derivation");
    assert!(
        raw == host.to_bytes().as_slice(),
        "the guest's dice_chain.raw ({} bytes) differs from the host's derivation ({} bytes)",
        raw.len(),
        host.to_bytes().len()
    );
}

/// What the probe reports about the file and its tmpfs.
fn check_file_and_mount(log: &BootLog) {
    assert_eq!(probe(log, "DICE_FILE: "), "600 0:0", "mode and owner");
    let mount = probe(log, "DICE_MOUNT: ");
    let fields: Vec<&str> = mount.split_whitespace().collect();
    assert!(
        matches!(
            fields.as_slice(),
            ["tmpfs", "/microdroid_resources", "tmpfs", _, "0", "0"]
        ),
        "mount line {mount:?}"
    );
    let opts: Vec<&str> = fields[3].split(',').collect();
    for want in ["nosuid", "nodev", "noexec", "mode=750"] {
        assert!(opts.contains(&want), "{want} missing from {mount:?}");
    }
    assert!(log.has_line("DICE_SAVED"), "{}", log.report("not saved"));
}

/// The handover the v1 known-answer vector produces: a non-sample parent (a fresh chain
/// of a root key and one "ABL" certificate).
fn v1_handover() -> Vec<u8> {
    let p = workspace_root()
        .join("dice_vendor/testdata/dice-vectors/v1_new_chain/expected_handover.cbor");
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The region as read through the monitor after the boot: all zeros (wiped), and the
/// handover was there to begin with.
fn assert_wiped(region: &DiceRegion, bytes: &[u8]) {
    assert!(!region.handover.is_empty());
    assert_eq!(bytes.len() as u64, region.size);
    let nonzero = bytes.iter().filter(|&&b| b != 0).count();
    assert_eq!(
        nonzero, 0,
        "{nonzero} non-zero bytes left in the DICE region at {:#x}",
        region.base
    );
}

/// The real driver was loaded as a first-stage module (unsigned: it taints the kernel).
fn assert_driver_loaded(log: &BootLog) {
    log.assert_contains("open_dice: module verification failed");
    log.assert_lacks("failed: open_dice");
}

#[test]
fn sample_parent_without_driver() {
    let mut g = Guest::new(A64).unwrap();
    let info = g.vendor(&tree(SAVE_RC), &vendor_options()).unwrap();
    let disk = g.results_disk(RESULTS_SIZE).unwrap();
    g.shutdown_when_booted().unwrap();
    let log = boot(&g);
    log.assert_phases(&["vbmeta", "verity", "vendor_mount", "dice", "second_stage"]);
    log.assert_contains(
        "dice: \"Microdroid vendor\" node written to /microdroid_resources/dice_chain.raw \
         (parent: Sample)",
    );
    log.assert_contains("using the AOSP sample DICE chain");
    check_file_and_mount(&log);
    log.assert_clean_poweroff();
    check_vendor_chain(&saved_chain(&disk), &info, &sample_handover().unwrap());
}

/// Strict boot, no driver: the first stage waits the full 10 s for `/dev/open-dice0`
/// (the wait shows in the timeline between `modules`/`vbmeta` and `dice_driver`), then
/// stops.
#[test]
fn strict_boot_without_driver_waits_then_is_fatal() {
    let mut g = Guest::new(A64).unwrap();
    g.vendor(&tree(SAVE_RC), &vendor_options()).unwrap();
    g.strict_boot();
    let log = boot(&g);
    let line = log.assert_fatal("DICE_DRIVER_MISSING");
    assert!(
        line.contains("/dev/open-dice0 is absent after 10000 ms"),
        "{line}"
    );
    log.assert_phases(&["modules", "vbmeta", "dice_driver"]);
    let at = |name: &str| {
        log.phases()
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.t_ms)
            .unwrap_or_else(|| panic!("{}", log.report(&format!("no phase {name}"))))
    };
    let waited = at("dice_driver") - at("modules");
    assert!(
        (10_000..15_000).contains(&waited),
        "{}",
        log.report(&format!("waited {waited} ms"))
    );
    for later in ["verity", "dice"] {
        assert!(
            !log.phases().iter().any(|p| p.name == later),
            "{}",
            log.report(&format!("{later} phase completed"))
        );
    }
    log.assert_lacks("sample DICE chain");
}

/// Strict boot with the real driver holding a non-sample parent (the v1 vector: a root
/// key and one "ABL" certificate): the vendor node extends it, the guest's file equals the
/// host's derivation, the region is all zeros afterwards. The boot also names the disk's
/// controller in `androidboot.boot_devices` (the QEMU virt PCIe host bridge, a platform
/// device), so the by-name link and the vendor partition are found on it.
#[test]
fn strict_boot_with_the_open_dice_driver() {
    let mut g = Guest::new(A64).unwrap();
    let parent = v1_handover();
    let region = opendice::install(&mut g, &parent).unwrap();
    let info = g
        .vendor(&tree(&save_and_probe_device_rc()), &vendor_options())
        .unwrap();
    let disk = g.results_disk(RESULTS_SIZE).unwrap();
    g.strict_boot();
    g.append
        .push(format!("androidboot.boot_devices={PCIE_HOST}"));
    g.shutdown_when_booted().unwrap();
    let (log, after) = opendice::boot_and_read_region(&g, &region).unwrap();
    eprintln!("boot took {:?}\n{}", log.elapsed, log.timeline_table());
    log.assert_contains("boot: strict_boot=true");
    assert_driver_loaded(&log);
    log.assert_phases(&[
        "partition",
        "modules",
        "vbmeta",
        "dice_driver",
        "verity",
        "vendor_mount",
        "dice",
        "vendor_modules",
    ]);
    log.assert_contains("dice: /dev/open-dice0 present (strict boot), waited ");
    log.assert_contains("/dev/block/by-name/microdroid-vendor is /dev/block/vda1");
    log.assert_contains("(parent: Device)");
    log.assert_lacks("sample DICE chain");
    let size: String = region
        .size
        .to_ne_bytes()
        .iter()
        .map(|b| format!(" {b:02x}"))
        .collect();
    assert_eq!(probe(&log, "DICE_DEV: "), format!("crw------- 0:0{size}"));
    check_file_and_mount(&log);
    log.assert_clean_poweroff();
    assert_wiped(&region, &after);
    check_vendor_chain(&saved_chain(&disk), &info, &parent);
}

/// The PCIe host bridge of QEMU's `virt` machine: the platform device the virtio disks
/// sit on (`/sys/devices/platform/4010000000.pcie/pci0000:00/…`), as AOSP names it.
const PCIE_HOST: &str = "4010000000.pcie";

/// Boots a vendor guest whose driver holds `handover`, expects `DICE_HANDOVER_INVALID`
/// with `detail`, and checks the region was wiped anyway.
fn refused_handover(handover: &[u8], detail: &str) {
    let mut g = Guest::new(A64).unwrap();
    let region = opendice::install(&mut g, handover).unwrap();
    g.vendor(&tree(SAVE_RC), &vendor_options()).unwrap();
    let (log, after) = opendice::boot_and_read_region(&g, &region).unwrap();
    assert_driver_loaded(&log);
    let line = log.assert_fatal("DICE_HANDOVER_INVALID");
    assert!(line.contains(detail), "{line}");
    log.assert_lacks("sample DICE chain");
    assert_wiped(&region, &after);
    eprintln!("{line}");
}

/// A handover whose CDI_Attest is 16 bytes (followed by a valid CDI_Seal and chain):
/// refused, without falling back to the sample chain, and the region is still wiped.
#[test]
fn malformed_driver_handover_is_fatal_and_wiped() {
    let good = Handover::parse(&v1_handover()).unwrap();
    let mut bad = vec![0xa3, 0x01, 0x50];
    bad.extend_from_slice(&[0x11; 16]);
    bad.extend_from_slice(&[0x02, 0x58, 0x20]);
    bad.extend_from_slice(&[0x22; 32]);
    bad.push(0x03);
    bad.extend_from_slice(good.chain().expect("v1 has a chain"));
    let host = Handover::parse(&bad).expect_err("host refuses it too");
    assert_eq!(host.reason(), "DICE_HANDOVER_INVALID");
    refused_handover(&bad, "CDI_Attest is 16 bytes");
}

/// A well-formed handover without a DICE chain (the v1 vector's parent): AVF's driver
/// refuses it ("bcc is none") rather than starting a new chain from its CDI; so do we.
#[test]
fn driver_handover_without_a_chain_is_refused_and_wiped() {
    let p = workspace_root()
        .join("dice_vendor/testdata/dice-vectors/v1_new_chain/parent_handover.cbor");
    let chainless = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    assert!(Handover::parse(&chainless).unwrap().chain().is_none());
    refused_handover(&chainless, "bcc is none");
}
