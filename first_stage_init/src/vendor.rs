//! The verified vendor partition: decide whether one is wanted, find it, check its
//! vbmeta against the host's digest, put dm-verity over it and mount it read-only.
//! Every failure is a [`Fatal`] with the reason of DESIGN §7: the boot fails closed.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use avb::{HashtreeDescriptor, VerifiedVbmeta};
use boot_config::{BootConfig, DtProperty, MOUNT_VENDOR_FLAG};
use nix::mount::MsFlags;
use ueventd::{BlockDevice, DeviceOps};

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

/// Waits (polling sysfs) until exactly one block device carries the vendor partition
/// name. Two devices with the name are refused at once: a host could attach a second
/// disk to shadow the real one.
pub fn wait_for_partition(sys_root: &Path, timeout: Duration) -> Result<BlockDevice, Fatal> {
    let start = Instant::now();
    loop {
        let devs = ueventd::scan_block_devices(sys_root).unwrap_or_default();
        match ueventd::find_by_partname(&devs, VENDOR_PARTITION) {
            Ok(Some(d)) => return Ok(d.clone()),
            Ok(None) if start.elapsed() >= timeout => {
                let seen: Vec<&str> = devs.iter().map(|d| d.name.as_str()).collect();
                return Err(Fatal::new(
                    Reason::VendorPartitionMissing,
                    format!(
                        "no block device with PARTNAME={VENDOR_PARTITION} after {} ms \
                         (block devices: {})",
                        timeout.as_millis(),
                        if seen.is_empty() {
                            "none".to_owned()
                        } else {
                            seen.join(" ")
                        }
                    ),
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(Fatal::new(Reason::VendorPartitionAmbiguous, e.to_string())),
        }
    }
}

/// Creates `/dev/block/<name>` and `/dev/block/by-name/microdroid-vendor` (the rule
/// ueventd uses) and returns the by-name path.
pub fn create_nodes(
    ops: &dyn DeviceOps,
    dev_root: &Path,
    dev: &BlockDevice,
) -> Result<PathBuf, Fatal> {
    ueventd::create_block_device_node(dev_root, dev, ops, None)
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
/// host vouched for.
pub fn check_digest<'v>(
    vbmeta: &'v VerifiedVbmeta,
    expected: &str,
) -> Result<&'v HashtreeDescriptor, Fatal> {
    let desc = vbmeta
        .hashtree_descriptor(VENDOR_PARTITION)
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

/// Creates the read-only `vendor-verity` device over the partition with AOSP's table and
/// returns the node to mount: `/dev/block/mapper/vendor-verity`, a link to the
/// `/dev/block/dm-N` node made here (devtmpfs names it `/dev/dm-N`).
pub fn setup_verity(
    p: &dyn Platform,
    dev_root: &Path,
    dev: &BlockDevice,
    desc: &HashtreeDescriptor,
) -> Result<PathBuf, Fatal> {
    let devnum = format!("{}:{}", dev.major, dev.minor);
    let t = avb::verity_table(desc, &devnum, &devnum)
        .map_err(|e| Fatal::new(Reason::VbmetaInvalid, e.to_string()))?;
    let target = dm::Target {
        start_sector: t.start_sector,
        length_sectors: t.length_sectors,
        target_type: t.target_type.to_string(),
        params: t.params.clone(),
    };
    log::info!(
        "dm-verity table: {} {} {} {}",
        target.start_sector,
        target.length_sectors,
        target.target_type,
        target.params
    );
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

    #[test]
    fn finds_the_partition() {
        let sys = sys_with(&[("vda", None), ("vda1", Some(VENDOR_PARTITION))]);
        let d = wait_for_partition(sys.path(), Duration::ZERO).unwrap();
        assert_eq!((d.name.as_str(), d.minor), ("vda1", 1));
    }

    #[test]
    fn missing_and_ambiguous_partitions_are_fatal() {
        let sys = sys_with(&[("vda", None), ("vda1", Some("other"))]);
        let e = wait_for_partition(sys.path(), Duration::from_millis(20)).unwrap_err();
        assert_eq!(e.reason, Reason::VendorPartitionMissing);
        assert!(
            e.detail.contains("vda vda1") || e.detail.contains("vda1 vda"),
            "{}",
            e.detail
        );
        let sys = sys_with(&[
            ("vda1", Some(VENDOR_PARTITION)),
            ("vdb1", Some(VENDOR_PARTITION)),
        ]);
        let e = wait_for_partition(sys.path(), Duration::from_secs(5)).unwrap_err();
        assert_eq!(e.reason, Reason::VendorPartitionAmbiguous);
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
