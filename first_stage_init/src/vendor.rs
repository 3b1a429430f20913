//! The verified vendor partition: decide whether one is wanted, find it, check its
//! vbmeta against the host's digest, put dm-verity over it and mount it read-only.
//! Every failure is a [`Fatal`] with the reason of DESIGN §7: the boot fails closed.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use avb::{HashtreeDescriptor, VerifiedVbmeta};
use boot_config::{BootConfig, DtProperty, MOUNT_VENDOR_FLAG};
use nix::mount::MsFlags;
use ueventd::{BlockDevice, BootDevices, DeviceOps};

use crate::dm;
use crate::fatal::{Fatal, Reason};
use crate::platform::Platform;

/// The GPT partition name of the vendor image.
pub const VENDOR_PARTITION: &str = "microdroid-vendor";
/// The device-mapper device over it.
pub const VERITY_NAME: &str = "vendor-verity";
/// How long to wait for the partition after the block drivers load (AOSP: 10 s).
pub const PARTITION_TIMEOUT: Duration = Duration::from_secs(10);

/// The device-tree path of the expected digest, for messages.
const DIGEST_DT_PATH: &str = "/proc/device-tree/avf/vendor_hashtree_descriptor_root_digest";

/// What the boot does about `/vendor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VendorPlan {
    /// Not requested: boot without `/vendor`.
    Skip {
        /// Why, for the boot log (says so when a digest is ignored).
        why: String,
    },
    /// Mount it, verified against this lowercase hex root digest.
    Mount {
        /// The expected root digest (validated lowercase hex).
        expected_digest: String,
    },
}

/// Decides from the host's inputs (DESIGN §2, as AOSP's `ReadFirstStageFstabMicrodroid`):
/// the command-line word `androidboot.microdroid.mount_vendor=1` asks for `/vendor`; a
/// digest without it is ignored. Asked for, the digest must be present, readable and
/// well-formed, or the boot stops.
pub fn plan(cfg: &BootConfig) -> Result<VendorPlan, Fatal> {
    if !cfg.mount_vendor {
        let why = if cfg.vendor_digest.exists() {
            format!(
                "the device tree has {DIGEST_DT_PATH} but the command line has no \
                 {MOUNT_VENDOR_FLAG}=1: digest ignored"
            )
        } else {
            format!("no {MOUNT_VENDOR_FLAG}=1 on the command line")
        };
        return Ok(VendorPlan::Skip { why });
    }
    match &cfg.vendor_digest {
        DtProperty::Present(raw) => avb::parse_expected_digest(raw)
            .map(|expected_digest| VendorPlan::Mount { expected_digest })
            .map_err(|e| Fatal::new(Reason::VendorDigestMalformed, e.to_string())),
        DtProperty::Unreadable { errno, error } => Err(Fatal::new(
            Reason::VendorDigestUnreadable,
            format!("{MOUNT_VENDOR_FLAG}=1 but reading {DIGEST_DT_PATH} failed: {error} (errno {errno})"),
        )),
        DtProperty::Absent => Err(Fatal::new(
            Reason::VendorDigestMissing,
            format!(
                "{MOUNT_VENDOR_FLAG}=1 but the device tree has no \
                 /avf/vendor_hashtree_descriptor_root_digest (strict_boot={})",
                cfg.strict_boot
            ),
        )),
    }
}

/// The line the first stage logs once the boot's inputs are read and the plan is made:
/// `boot: strict_boot=… debuggable=… mount_vendor=… vendor=none|requested`.
pub fn boot_line(cfg: &BootConfig, plan: &VendorPlan) -> String {
    format!(
        "boot: {} vendor={}",
        cfg.describe(),
        match plan {
            VendorPlan::Skip { .. } => "none",
            VendorPlan::Mount { .. } => "requested",
        }
    )
}

/// The line a boot without `/vendor` logs, with the plan's reason.
pub fn skip_line(why: &str) -> String {
    format!("vendor: booting without /vendor: {why}")
}

/// Where the first-stage module pass (which brings the disk's drivers) stands, as the
/// partition search sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModulePass {
    /// Still loading: keep looking, no deadline yet.
    Loading,
    /// Every module is in since this instant: the search ends [`PARTITION_TIMEOUT`] later.
    Loaded(Instant),
    /// The pass ended with a failure: stop looking (the caller reports the failure).
    Failed,
}

/// The longest the partition search sleeps between two looks at sysfs when no uevent
/// wakes it (the end of the module pass sends none).
pub const RESCAN_PERIOD: Duration = Duration::from_millis(50);

/// The block devices as sysfs lists them, and those carrying the vendor partition name,
/// split into the ones on a boot device and the others.
struct Scan {
    devs: Vec<BlockDevice>,
    found: Vec<BlockDevice>,
    ignored: Vec<BlockDevice>,
}

fn scan(sys_root: &Path, boot_devices: &BootDevices) -> Scan {
    let wanted = ueventd::sanitize_partition_name(VENDOR_PARTITION);
    let devs = ueventd::scan_block_devices(sys_root).unwrap_or_default();
    let (found, ignored) = devs
        .iter()
        .filter(|d| {
            d.partname
                .as_deref()
                .is_some_and(|p| ueventd::sanitize_partition_name(p) == wanted)
        })
        .cloned()
        .partition(|d| boot_devices.allows(sys_root, d));
    Scan {
        devs,
        found,
        ignored,
    }
}

fn ambiguous(e: &ueventd::UeventdError) -> Fatal {
    Fatal::new(Reason::VendorPartitionAmbiguous, e.to_string())
}

/// Waits until a block device on a boot device (`androidboot.boot_devices`, when set)
/// carries the vendor partition name. sysfs is scanned, then `wait` blocks for at most the
/// given time or until the kernel reports a device (the first stage waits on a uevent
/// socket, as AOSP's `BlockDevInitializer` does), then sysfs is scanned again. The search
/// runs while the first-stage modules still load (`pass` says how far they are) and ends
/// `timeout` after they are all in. Two such devices are refused: a host could attach a
/// second disk to shadow the real one; a device found while the modules still load is
/// therefore only a candidate until [`confirm_partition`] has looked again after them.
/// Devices off the boot devices are ignored (and logged once), as AOSP gives them no
/// by-name link.
pub fn wait_for_partition(
    sys_root: &Path,
    boot_devices: &BootDevices,
    timeout: Duration,
    pass: &dyn Fn() -> ModulePass,
    wait: &mut dyn FnMut(Duration),
) -> Result<BlockDevice, Fatal> {
    let mut ignored_logged = false;
    loop {
        // Read the pass's state first: a device that appears before it ends is seen by
        // the scan below.
        let state = pass();
        let Scan {
            devs,
            found,
            ignored,
        } = scan(sys_root, boot_devices);
        if !ignored.is_empty() && !ignored_logged {
            ignored_logged = true;
            for d in &ignored {
                log::warn!(
                    "vendor: {} carries PARTNAME={VENDOR_PARTITION} but is {}: ignored",
                    d.name,
                    boot_devices.refusal(sys_root, d)
                );
            }
        }
        match ueventd::find_by_partname(&found, VENDOR_PARTITION) {
            Ok(Some(d)) => return Ok(d.clone()),
            Ok(None) => {}
            Err(e) => return Err(ambiguous(&e)),
        }
        let missing = |why: String| {
            let seen: Vec<&str> = devs.iter().map(|d| d.name.as_str()).collect();
            let off: Vec<&str> = ignored.iter().map(|d| d.name.as_str()).collect();
            Fatal::new(
                Reason::VendorPartitionMissing,
                format!(
                    "no block device with PARTNAME={VENDOR_PARTITION} {why} (block devices: {}{})",
                    if seen.is_empty() {
                        "none".to_owned()
                    } else {
                        seen.join(" ")
                    },
                    if off.is_empty() {
                        String::new()
                    } else {
                        format!("; not on androidboot.boot_devices: {}", off.join(" "))
                    }
                ),
            )
        };
        match state {
            ModulePass::Failed => return Err(missing("and the first-stage modules failed".into())),
            ModulePass::Loaded(at) => match timeout.checked_sub(at.elapsed()) {
                Some(left) if !left.is_zero() => wait(left.min(RESCAN_PERIOD)),
                _ => return Err(missing(format!("after {} ms", timeout.as_millis()))),
            },
            ModulePass::Loading => wait(RESCAN_PERIOD),
        }
    }
}

/// After the first-stage modules are all in (every disk they bring has been probed):
/// `dev` must still be the only block device on a boot device with the vendor partition
/// name. A second one that appeared since [`wait_for_partition`] found `dev` is
/// `VENDOR_PARTITION_AMBIGUOUS`, as it would have been had the search started then.
pub fn confirm_partition(
    sys_root: &Path,
    boot_devices: &BootDevices,
    dev: &BlockDevice,
) -> Result<(), Fatal> {
    let Scan { found, .. } = scan(sys_root, boot_devices);
    match ueventd::find_by_partname(&found, VENDOR_PARTITION) {
        Ok(Some(d)) if d.name == dev.name => Ok(()),
        Ok(other) => Err(Fatal::new(
            Reason::VendorPartitionMissing,
            format!(
                "{} no longer carries PARTNAME={VENDOR_PARTITION} (now: {})",
                dev.name,
                other.map_or("none", |d| d.name.as_str())
            ),
        )),
        Err(e) => Err(ambiguous(&e)),
    }
}

/// Creates `/dev/block/<name>` and `/dev/block/by-name/microdroid-vendor` (the rule
/// ueventd uses) and returns the by-name path.
pub fn create_nodes(
    ops: &dyn DeviceOps,
    dev_root: &Path,
    dev: &BlockDevice,
) -> Result<PathBuf, Fatal> {
    ueventd::create_block_device_node(dev_root, dev, ops, None, true)
        .map_err(|e| Fatal::new(Reason::VendorPartitionMissing, e.to_string()))?;
    Ok(dev_root.join("block/by-name").join(VENDOR_PARTITION))
}

fn avb_fatal(e: &avb::AvbError) -> Fatal {
    let reason = Reason::from_token(e.reason()).unwrap_or(Reason::VbmetaInvalid);
    Fatal::new(reason, e.to_string())
}

/// Reads and verifies the footer and vbmeta of the partition at `node`.
pub fn read_vbmeta(node: &Path) -> Result<VerifiedVbmeta, Fatal> {
    let mut f = File::open(node).map_err(|e| {
        Fatal::new(
            Reason::VendorPartitionMissing,
            format!("{}: {e}", node.display()),
        )
    })?;
    avb::read_vbmeta_from_device(&mut f).map_err(|e| avb_fatal(&e))
}

/// The hashtree descriptor for the vendor partition, if its root digest is the one the
/// host vouched for. Under strict boot it must also be the first hashtree descriptor and
/// must not ask for `check_at_most_once` (DESIGN §9, **Ours**).
pub fn check_digest<'v>(
    vbmeta: &'v VerifiedVbmeta,
    expected: &str,
    strict_boot: bool,
) -> Result<&'v HashtreeDescriptor, Fatal> {
    let desc = if strict_boot {
        vbmeta.strict_hashtree_descriptor(VENDOR_PARTITION)
    } else {
        vbmeta.hashtree_descriptor(VENDOR_PARTITION)
    }
    .map_err(|e| avb_fatal(&e))?;
    let actual = avb::to_hex(&desc.root_digest);
    if actual != expected {
        return Err(Fatal::new(
            Reason::VendorDigestMismatch,
            format!("expected={expected} actual={actual}"),
        ));
    }
    Ok(desc)
}

/// The line logged once the vbmeta is verified and its digest matches.
pub fn vbmeta_line(vbmeta: &VerifiedVbmeta) -> String {
    format!(
        "vendor: vbmeta {} signed, rollback_index={}, root digest matches the device tree",
        vbmeta.algorithm().name(),
        vbmeta.rollback_index()
    )
}

/// The dm-verity target for `desc` over the block device `devnum` (`major:minor`, data
/// and hash on the same device), as AOSP builds it; a descriptor the table cannot be made
/// from is `VBMETA_INVALID`.
pub fn verity_target(desc: &HashtreeDescriptor, devnum: &str) -> Result<dm::Target, Fatal> {
    let t = avb::verity_table(desc, devnum, devnum)
        .map_err(|e| Fatal::new(Reason::VbmetaInvalid, e.to_string()))?;
    Ok(dm::Target {
        start_sector: t.start_sector,
        length_sectors: t.length_sectors,
        target_type: t.target_type.to_string(),
        params: t.params,
    })
}

/// The line logged before the verity device is created: `dm-verity table: <start>
/// <length> <type> <params>`.
pub fn table_line(t: &dm::Target) -> String {
    format!(
        "dm-verity table: {} {} {} {}",
        t.start_sector, t.length_sectors, t.target_type, t.params
    )
}

/// Makes the raw partition read-only in the kernel (`BLKROSET`) before dm-verity goes on
/// top of it, as `fs_mgr` does: nothing in the guest can write under the verified device.
pub fn make_read_only(p: &dyn Platform, node: &Path) -> Result<(), Fatal> {
    p.set_block_read_only(node).map_err(|e| {
        Fatal::new(
            Reason::DmVeritySetup,
            format!("BLKROSET on {}: {e}", node.display()),
        )
    })
}

/// Creates the read-only `vendor-verity` device over the partition with AOSP's table and
/// returns the node to mount: `/dev/block/mapper/vendor-verity`, a link to the
/// `/dev/block/dm-N` node made here (devtmpfs names it `/dev/dm-N`).
pub fn setup_verity(
    p: &dyn Platform,
    dev_root: &Path,
    dev: &BlockDevice,
    desc: &HashtreeDescriptor,
) -> Result<PathBuf, Fatal> {
    let target = verity_target(desc, &format!("{}:{}", dev.major, dev.minor))?;
    log::info!("{}", table_line(&target));
    let (major, minor) = dm::create_device(p, dev_root, VERITY_NAME, "", &target, true)
        .map_err(|e| Fatal::new(Reason::DmVeritySetup, e.to_string()))?;
    // From here on every error removes what was made (node, then device), so a failed
    // setup leaves nothing behind.
    let mut made: Vec<PathBuf> = Vec::new();
    let linked = link_verity_device(p, dev_root, major, minor, &mut made);
    if linked.is_err() {
        for path in made.iter().rev() {
            if let Err(e) = p.remove_file(path) {
                log::warn!("removing {}: {e}", path.display());
            }
        }
        dm::remove_device(p, dev_root, VERITY_NAME);
    }
    linked
}

/// Makes `/dev/block/dm-N` and the `/dev/block/mapper/vendor-verity` link to it, pushing
/// each path it creates onto `made`.
fn link_verity_device(
    p: &dyn Platform,
    dev_root: &Path,
    major: u32,
    minor: u32,
    made: &mut Vec<PathBuf>,
) -> Result<PathBuf, Fatal> {
    let fail =
        |what: &str, e: std::io::Error| Fatal::new(Reason::DmVeritySetup, format!("{what}: {e}"));
    let node = dev_root.join(format!("block/dm-{minor}"));
    let mapper = dev_root.join("block/mapper");
    p.mkdir_all(&mapper, 0o755)
        .map_err(|e| fail("mkdir /dev/block/mapper", e))?;
    match p.mknod_block(&node, 0o600, major, minor) {
        Ok(()) => made.push(node.clone()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(fail("mknod", e)),
    }
    // The link ueventd makes for dm devices: /dev/block/mapper/<name> → /dev/block/dm-N.
    let link = mapper.join(VERITY_NAME);
    p.symlink(&node, &link).map_err(|e| fail("symlink", e))?;
    Ok(link)
}

/// Mounts the verified device read-only at `target` (ext4, `MS_RDONLY|MS_NOATIME`,
/// `errors=panic`).
pub fn mount(p: &dyn Platform, node: &Path, target: &Path) -> Result<(), Fatal> {
    let fail = |e: std::io::Error| {
        Fatal::new(
            Reason::VendorMount,
            format!("mount ext4 {} on {}: {e}", node.display(), target.display()),
        )
    };
    p.mkdir_all(target, 0o755).map_err(fail)?;
    let source = node.to_string_lossy();
    p.mount(
        &source,
        target,
        "ext4",
        MsFlags::MS_RDONLY | MsFlags::MS_NOATIME,
        Some("errors=panic"),
    )
    .map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn cfg(digest: Option<&[u8]>, flag: bool) -> BootConfig {
        with_dt(
            digest.map_or(DtProperty::Absent, |d| DtProperty::Present(d.to_vec())),
            flag,
        )
    }

    fn with_dt(prop: DtProperty, flag: bool) -> BootConfig {
        let cmdline = if flag {
            "console=ttyAMA0 androidboot.microdroid.mount_vendor=1"
        } else {
            "console=ttyAMA0"
        };
        BootConfig::from_parts(cmdline, "", false, prop)
    }

    fn skip_reason(c: &BootConfig) -> String {
        match plan(c).unwrap() {
            VendorPlan::Skip { why } => why,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn plan_matrix() {
        let good = "ab".repeat(32);
        assert!(skip_reason(&cfg(None, false)).contains("no androidboot.microdroid.mount_vendor=1"));
        // A digest without the flag is ignored, and the log says so.
        let why = skip_reason(&cfg(Some(good.as_bytes()), false));
        assert!(why.ends_with("digest ignored"), "{why}");
        // Even a malformed or unreadable one: nothing reads it.
        assert!(skip_reason(&cfg(Some(b"XYZ"), false)).ends_with("digest ignored"));
        let unreadable = DtProperty::Unreadable {
            errno: libc::EIO,
            error: "Input/output error (os error 5)".into(),
        };
        assert!(skip_reason(&with_dt(unreadable.clone(), false)).ends_with("digest ignored"));
        assert_eq!(
            plan(&cfg(Some(good.as_bytes()), true)).unwrap(),
            VendorPlan::Mount {
                expected_digest: good.clone()
            }
        );
        let e = plan(&with_dt(unreadable, true)).unwrap_err();
        assert_eq!(e.reason, Reason::VendorDigestUnreadable);
        assert!(e.detail.contains("(errno 5)"), "{}", e.detail);
        let mut with_nul = good.clone().into_bytes();
        with_nul.push(0);
        assert!(plan(&cfg(Some(&with_nul), true)).is_ok());
        let e = plan(&cfg(None, true)).unwrap_err();
        assert_eq!(e.reason, Reason::VendorDigestMissing);
        for bad in [
            good.to_uppercase(),
            "ab".repeat(31),
            format!("{}zz", "ab".repeat(31)),
        ] {
            let e = plan(&cfg(Some(bad.as_bytes()), true)).unwrap_err();
            assert_eq!(e.reason, Reason::VendorDigestMalformed, "{bad}");
        }
    }

    fn sys_with(parts: &[(&str, Option<&str>)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (i, (name, partname)) in parts.iter().enumerate() {
            let dir = d.path().join("class/block").join(name);
            fs::create_dir_all(&dir).unwrap();
            let mut ev = format!("MAJOR=254\nMINOR={i}\nDEVNAME={name}\nDEVTYPE=partition\n");
            if let Some(p) = partname {
                ev.push_str(&format!("PARTN=1\nPARTNAME={p}\n"));
            }
            fs::write(dir.join("uevent"), ev).unwrap();
        }
        d
    }

    /// A pass that has been done for a long time: the search looks once, then gives up.
    fn long_done() -> ModulePass {
        ModulePass::Loaded(Instant::now() - Duration::from_secs(3600))
    }

    /// Waits as asked (no uevents in a fixture tree).
    fn sleep(d: Duration) {
        std::thread::sleep(d);
    }

    /// One search of `sys` after the module pass is long done.
    fn search(sys: &Path, boot: &BootDevices) -> Result<BlockDevice, Fatal> {
        wait_for_partition(sys, boot, PARTITION_TIMEOUT, &long_done, &mut sleep)
    }

    #[test]
    fn finds_the_partition() {
        let sys = sys_with(&[("vda", None), ("vda1", Some(VENDOR_PARTITION))]);
        let d = search(sys.path(), &BootDevices::Any).unwrap();
        assert_eq!((d.name.as_str(), d.minor), ("vda1", 1));
    }

    #[test]
    fn missing_and_ambiguous_partitions_are_fatal() {
        let sys = sys_with(&[("vda", None), ("vda1", Some("other"))]);
        let e = search(sys.path(), &BootDevices::Any).unwrap_err();
        assert_eq!(e.reason, Reason::VendorPartitionMissing);
        assert!(e.detail.contains("after 10000 ms"), "{}", e.detail);
        assert!(
            e.detail.contains("vda vda1") || e.detail.contains("vda1 vda"),
            "{}",
            e.detail
        );
        let sys = sys_with(&[
            ("vda1", Some(VENDOR_PARTITION)),
            ("vdb1", Some(VENDOR_PARTITION)),
        ]);
        let e = search(sys.path(), &BootDevices::Any).unwrap_err();
        assert_eq!(e.reason, Reason::VendorPartitionAmbiguous);
    }

    #[test]
    fn the_search_follows_the_module_pass() {
        let sys = sys_with(&[("vda", None)]);
        // Loading twice, then failed: no deadline while loading, an end at the failure.
        let calls = std::cell::Cell::new(0);
        let pass = || {
            calls.set(calls.get() + 1);
            if calls.get() < 3 {
                ModulePass::Loading
            } else {
                ModulePass::Failed
            }
        };
        let e = wait_for_partition(
            sys.path(),
            &BootDevices::Any,
            Duration::ZERO,
            &pass,
            &mut sleep,
        )
        .unwrap_err();
        assert_eq!(calls.get(), 3);
        assert_eq!(e.reason, Reason::VendorPartitionMissing);
        assert!(
            e.detail.contains("first-stage modules failed"),
            "{}",
            e.detail
        );
        // The deadline counts from the end of the pass.
        let just_done = ModulePass::Loaded(Instant::now());
        let t = Instant::now();
        wait_for_partition(
            sys.path(),
            &BootDevices::Any,
            Duration::from_millis(50),
            &|| just_done,
            &mut sleep,
        )
        .unwrap_err();
        assert!(t.elapsed() >= Duration::from_millis(50));
    }

    /// A sysfs tree with `class/block` links into `devices/`, and the QEMU virt PCIe host
    /// bridge as a platform device: `vda1` behind it, `vdb1` on an x86-style PCI root.
    fn sys_with_devices() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let s = d.path();
        fs::create_dir_all(s.join("bus/platform")).unwrap();
        fs::create_dir_all(s.join("class/block")).unwrap();
        let host = "devices/platform/4010000000.pcie";
        for (i, (name, dir)) in [
            (
                "vda1",
                format!("{host}/pci0000:00/0000:00:02.0/virtio1/block/vda/vda1"),
            ),
            (
                "vdb1",
                "devices/pci0000:00/0000:00:04.0/virtio2/block/vdb/vdb1".to_owned(),
            ),
        ]
        .into_iter()
        .enumerate()
        {
            fs::create_dir_all(s.join(&dir)).unwrap();
            fs::write(
                s.join(&dir).join("uevent"),
                format!("MAJOR=254\nMINOR={i}\nDEVNAME={name}\nPARTNAME={VENDOR_PARTITION}\n"),
            )
            .unwrap();
            std::os::unix::fs::symlink(format!("../../{dir}"), s.join("class/block").join(name))
                .unwrap();
        }
        std::os::unix::fs::symlink(s.join("bus/platform"), s.join(host).join("subsystem")).unwrap();
        d
    }

    #[test]
    fn only_partitions_on_boot_devices_count() {
        let sys = sys_with_devices();
        // Both carry the name: without boot devices that is ambiguous.
        let e = search(sys.path(), &BootDevices::Any).unwrap_err();
        assert_eq!(e.reason, Reason::VendorPartitionAmbiguous);
        let ours = BootDevices::Only(vec!["4010000000.pcie".into()]);
        let d = search(sys.path(), &ours).unwrap();
        assert_eq!(d.name, "vda1");
        let x86 = BootDevices::Only(vec!["pci0000:00/0000:00:04.0".into()]);
        let d = search(sys.path(), &x86).unwrap();
        assert_eq!(d.name, "vdb1");
        let other = BootDevices::Only(vec!["10000.pci".into()]);
        let e = search(sys.path(), &other).unwrap_err();
        assert_eq!(e.reason, Reason::VendorPartitionMissing);
        assert!(
            e.detail
                .contains("not on androidboot.boot_devices: vda1 vdb1"),
            "{}",
            e.detail
        );
    }

    #[test]
    fn a_second_disk_after_the_first_is_ambiguous_on_confirmation() {
        let sys = sys_with(&[("vda", None), ("vda1", Some(VENDOR_PARTITION))]);
        let d = search(sys.path(), &BootDevices::Any).unwrap();
        confirm_partition(sys.path(), &BootDevices::Any, &d).unwrap();
        let both = sys_with(&[
            ("vda1", Some(VENDOR_PARTITION)),
            ("vdb1", Some(VENDOR_PARTITION)),
        ]);
        let e = confirm_partition(both.path(), &BootDevices::Any, &d).unwrap_err();
        assert_eq!(e.reason, Reason::VendorPartitionAmbiguous);
        let gone = sys_with(&[("vda", None)]);
        let e = confirm_partition(gone.path(), &BootDevices::Any, &d).unwrap_err();
        assert_eq!(e.reason, Reason::VendorPartitionMissing);
        assert!(e.detail.contains("now: none"), "{}", e.detail);
    }

    #[test]
    fn read_only_before_verity_is_recorded() {
        let p = crate::platform::Recorder::default();
        make_read_only(&p, Path::new("/dev/block/by-name/microdroid-vendor")).unwrap();
        assert_eq!(
            p.take(),
            [crate::platform::Op::ReadOnly(
                "/dev/block/by-name/microdroid-vendor".into()
            )]
        );
    }

    fn verity_inputs() -> (BlockDevice, HashtreeDescriptor) {
        let dev = BlockDevice {
            name: "vda1".into(),
            major: 254,
            minor: 1,
            partname: Some(VENDOR_PARTITION.into()),
            partn: Some(1),
            devpath: "/devices/vda/vda1".into(),
        };
        // A real descriptor: an unsigned hash tree over 129 blocks, as avbtool makes it.
        let d = tempfile::tempdir().unwrap();
        let img = d.path().join("vendor.img");
        fs::write(&img, vec![0x5a; 129 * 4096]).unwrap();
        let info = avb::add_hashtree_footer(
            &img,
            &avb::HashtreeFooterOptions {
                partition_name: VENDOR_PARTITION.into(),
                algorithm: avb::Algorithm::None,
                ..Default::default()
            },
        )
        .unwrap();
        (dev, info.descriptor)
    }

    /// The device-mapper commands and node operations a run recorded, in order.
    fn verity_ops(r: &crate::platform::Recorder) -> Vec<String> {
        use crate::platform::Op;
        r.take()
            .into_iter()
            .filter_map(|op| match op {
                Op::Dm(cmd, _) => Some(format!("{cmd:?}")),
                Op::MknodBlock(p, ..) => Some(format!("mknod {}", p.display())),
                Op::Symlink(_, l) => Some(format!("symlink {}", l.display())),
                Op::Remove(p) => Some(format!("remove {}", p.display())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn setup_verity_makes_the_device_node_and_link() {
        let (dev, desc) = verity_inputs();
        let r = crate::platform::Recorder::default();
        let link = setup_verity(&r, Path::new("/dev"), &dev, &desc).unwrap();
        assert_eq!(link, Path::new("/dev/block/mapper/vendor-verity"));
        assert_eq!(
            verity_ops(&r),
            [
                "DevCreate",
                "TableLoad",
                "DevSuspend",
                "mknod /dev/block/dm-0",
                "symlink /dev/block/mapper/vendor-verity"
            ]
        );
    }

    #[test]
    fn setup_verity_removes_what_it_made_on_every_later_error() {
        let (dev, desc) = verity_inputs();
        let cases: [(&str, &[&str]); 3] = [
            (
                "/dev/block/mapper",
                &["DevCreate", "TableLoad", "DevSuspend", "DevRemove"],
            ),
            (
                "/dev/block/dm-0",
                &[
                    "DevCreate",
                    "TableLoad",
                    "DevSuspend",
                    "mknod /dev/block/dm-0",
                    "DevRemove",
                ],
            ),
            (
                "/dev/block/mapper/vendor-verity",
                &[
                    "DevCreate",
                    "TableLoad",
                    "DevSuspend",
                    "mknod /dev/block/dm-0",
                    "symlink /dev/block/mapper/vendor-verity",
                    "remove /dev/block/dm-0",
                    "DevRemove",
                ],
            ),
        ];
        for (failing, expected) in cases {
            let r = crate::platform::Recorder {
                fail_paths: vec![PathBuf::from(failing)],
                ..Default::default()
            };
            let e = setup_verity(&r, Path::new("/dev"), &dev, &desc).unwrap_err();
            assert_eq!(e.reason, Reason::DmVeritySetup, "{failing}");
            assert_eq!(verity_ops(&r), expected, "{failing}");
        }
    }
}
