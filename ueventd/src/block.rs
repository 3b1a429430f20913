//! Block devices: `/dev/block/<name>` nodes and `/dev/block/by-name/<PARTNAME>` links.
//! These functions serve both ueventd and the first stage, which scans sysfs for the
//! vendor partition before ueventd runs (DESIGN §6: by-name links for every partition,
//! and two devices carrying the same name are [`UeventdError::Ambiguous`]).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::config::{Permissions, DEFAULT_MODE};
use crate::error::UeventdError;
use crate::ops::{DeviceOps, NodeKind};
use crate::paths::{is_safe_component, normalize};
use crate::uevent::{parse_decimal, Uevent};

/// Sysfs `uevent` files larger than this are refused.
const MAX_SYSFS_UEVENT: usize = 64 * 1024;

/// A block device as sysfs or a uevent describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockDevice {
    /// Kernel name (`vda1`): the last component of DEVPATH.
    pub name: String,
    /// Major number.
    pub major: u32,
    /// Minor number.
    pub minor: u32,
    /// PARTNAME as the kernel gives it (unsanitised).
    pub partname: Option<String>,
    /// PARTN.
    pub partn: Option<u32>,
    /// DEVPATH (`/devices/…`); `/class/block/<name>` if sysfs did not say.
    pub devpath: String,
}

impl BlockDevice {
    /// The block device a uevent describes (SUBSYSTEM=block with MAJOR and MINOR).
    pub fn from_uevent(ev: &Uevent) -> Option<BlockDevice> {
        if ev.subsystem.as_deref() != Some("block") {
            return None;
        }
        let (major, minor) = ev.device_numbers()?;
        Some(BlockDevice {
            name: ev.devpath_basename().to_string(),
            major,
            minor,
            partname: ev.partname.clone(),
            partn: ev.partn,
            devpath: ev.devpath.clone(),
        })
    }

    /// The by-name link name: PARTNAME sanitised, if it has a usable one.
    pub fn by_name(&self) -> Option<String> {
        let name = sanitize_partition_name(self.partname.as_deref()?);
        is_safe_component(&name).then_some(name)
    }
}

/// AOSP `SanitizePartitionName`: every byte outside `[A-Za-z0-9_.-]` becomes `_` (a
/// multi-byte character becomes one `_`, so the result stays ASCII).
pub fn sanitize_partition_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Reads `<sys_root>/class/block/*/uevent` into a list sorted by name.
pub fn scan_block_devices(sys_root: &Path) -> Result<Vec<BlockDevice>, UeventdError> {
    let dir = sys_root.join("class/block");
    let entries = fs::read_dir(&dir).map_err(|e| UeventdError::io("read_dir", &dir, e))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| UeventdError::io("read_dir", &dir, e))?;
        match entry.file_name().into_string() {
            Ok(name) => names.push(name),
            Err(raw) => {
                return Err(UeventdError::UnsafeName {
                    what: "block device name",
                    name: raw.to_string_lossy().into_owned(),
                })
            }
        }
    }
    names.sort();
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let entry = dir.join(&name);
        let uevent = entry.join("uevent");
        let data = crate::sys::RealDeviceOps
            .read_file(&uevent, MAX_SYSFS_UEVENT)
            .map_err(|e| UeventdError::io("read", &uevent, e))?;
        let devpath = match fs::read_link(&entry) {
            Ok(target) => normalize(&dir.join(target))
                .strip_prefix(normalize(sys_root))
                .ok()
                .and_then(|rel| rel.to_str().map(|s| format!("/{s}")))
                .unwrap_or_else(|| format!("/class/block/{name}")),
            Err(_) => format!("/class/block/{name}"),
        };
        out.push(parse_sysfs_uevent(&uevent, &data, name, devpath)?);
    }
    Ok(out)
}

/// Parses the `KEY=VALUE` lines of a block device's sysfs `uevent` file.
fn parse_sysfs_uevent(
    path: &Path,
    data: &[u8],
    name: String,
    devpath: String,
) -> Result<BlockDevice, UeventdError> {
    let err = |line: usize, message: String| UeventdError::BadSysfsUevent {
        path: path.to_path_buf(),
        line,
        message,
    };
    let mut major = None;
    let mut minor = None;
    let mut partn = None;
    let mut partname = None;
    for (i, raw) in data.split(|&b| b == b'\n').enumerate() {
        let line = i + 1;
        if raw.is_empty() {
            continue;
        }
        let Some((key, value)) = split_key_value(raw) else {
            return Err(err(line, "not KEY=VALUE".into()));
        };
        if !matches!(key, b"MAJOR" | b"MINOR" | b"PARTN" | b"PARTNAME") {
            continue;
        }
        let key = String::from_utf8_lossy(key).into_owned();
        let value =
            std::str::from_utf8(value).map_err(|_| err(line, format!("{key} is not UTF-8")))?;
        let number =
            || parse_decimal::<u32>(value).ok_or_else(|| err(line, format!("bad {key} {value:?}")));
        let slot_taken = match key.as_str() {
            "MAJOR" => major.replace(number()?).is_some(),
            "MINOR" => minor.replace(number()?).is_some(),
            "PARTN" => partn.replace(number()?).is_some(),
            _ => partname.replace(value.to_string()).is_some(),
        };
        if slot_taken {
            return Err(err(line, format!("duplicate {key}")));
        }
    }
    let (Some(major), Some(minor)) = (major, minor) else {
        return Err(err(0, "no MAJOR/MINOR".into()));
    };
    Ok(BlockDevice {
        name,
        major,
        minor,
        partname,
        partn,
        devpath,
    })
}

/// Splits `KEY=VALUE` at the first `=`.
pub(crate) fn split_key_value(field: &[u8]) -> Option<(&[u8], &[u8])> {
    let eq = field.iter().position(|&b| b == b'=')?;
    Some((field.get(..eq)?, field.get(eq + 1..)?))
}

/// The device carrying `partname` (compared after sanitising both, as the by-name link
/// would be named); two or more is [`UeventdError::Ambiguous`].
pub fn find_by_partname<'d>(
    devs: &'d [BlockDevice],
    partname: &str,
) -> Result<Option<&'d BlockDevice>, UeventdError> {
    let wanted = sanitize_partition_name(partname);
    let found: Vec<&BlockDevice> = devs
        .iter()
        .filter(|d| {
            d.partname
                .as_deref()
                .is_some_and(|p| sanitize_partition_name(p) == wanted)
        })
        .collect();
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        many => Err(UeventdError::Ambiguous {
            partname: partname.to_string(),
            devices: many.iter().map(|d| d.name.clone()).collect(),
        }),
    }
}

/// Which devices' partitions get `/dev/block/by-name` links (AOSP `DeviceHandler`'s
/// `boot_devices_`, from `androidboot.boot_devices`; DESIGN §9).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum BootDevices {
    /// No boot devices were named: every named partition gets its link (as before the
    /// key existed; AOSP would fall back to the fstab's devices, Microdroid has none).
    #[default]
    Any,
    /// Only partitions on these devices, named as [`boot_device_of`] names them (e.g.
    /// `4010000000.pcie`, `10000.pci`, `pci0000:00/0000:00:04.0`).
    Only(Vec<String>),
}

impl BootDevices {
    /// From `boot_config::BootConfig::boot_devices()`: `None` (the key is not set) is
    /// [`BootDevices::Any`].
    pub fn from_list(list: Option<Vec<String>>) -> BootDevices {
        list.map_or(BootDevices::Any, BootDevices::Only)
    }

    /// Whether `dev` sits on a boot device (always, for [`BootDevices::Any`]). The sysfs
    /// tree under `sys_root` is walked as AOSP does ([`boot_device_of`]).
    pub fn allows(&self, sys_root: &Path, dev: &BlockDevice) -> bool {
        match self {
            BootDevices::Any => true,
            BootDevices::Only(list) => {
                boot_device_of(sys_root, &dev.devpath).is_some_and(|(_, name)| list.contains(&name))
            }
        }
    }

    /// One phrase for logs: why `dev` gets no by-name link.
    pub fn refusal(&self, sys_root: &Path, dev: &BlockDevice) -> String {
        let on = match boot_device_of(sys_root, &dev.devpath) {
            Some((kind, name)) => format!("on {kind} device {name}"),
            None => format!("on no platform, pci or vbd device ({})", dev.devpath),
        };
        let list = match self {
            BootDevices::Any => String::new(),
            BootDevices::Only(l) => l.join(","),
        };
        format!("{on}, not one of androidboot.boot_devices={list}")
    }
}

/// The device a block device sits on, as AOSP `DeviceHandler::GetBlockDeviceInfo` names
/// it (without `boot_part_uuid`): the closest ancestor of DEVPATH whose `subsystem` is
/// the platform or amba bus (`FindPlatformDevice`), named by its path without a leading
/// `/devices/platform/` or `/devices/`; else the `pci<domain:bus>/<slot>` prefix of a
/// DEVPATH starting with `/devices/pci` (`FindPciDevicePrefix`); else the id of
/// `/devices/vbd-<id>/…` (`FindVbdDevicePrefix`). Returns `(kind, name)`.
pub fn boot_device_of(sys_root: &Path, devpath: &str) -> Option<(&'static str, String)> {
    if let Some(name) = platform_device_of(sys_root, devpath) {
        return Some(("platform", name));
    }
    if let Some(rest) = devpath.strip_prefix("/devices/") {
        // `pci0000:00/0000:00:1f.2/…`: the first two components, which must be more than
        // `pci/` (AOSP's length check).
        if rest.starts_with("pci") {
            let mut parts = rest.splitn(3, '/');
            if let (Some(bus), Some(slot), Some(_)) = (parts.next(), parts.next(), parts.next()) {
                let prefix = format!("{bus}/{slot}");
                if prefix.len() > 4 {
                    return Some(("pci", prefix));
                }
            }
        }
        if let Some((id, _)) = rest.strip_prefix("vbd-").and_then(|r| r.split_once('/')) {
            if !id.is_empty() {
                return Some(("vbd", id.to_owned()));
            }
        }
    }
    None
}

/// AOSP `FindPlatformDevice`: walks up from DEVPATH's parent to the sysfs root, looking
/// for a directory whose `subsystem` resolves to `<sys>/bus/platform` or `<sys>/bus/amba`.
fn platform_device_of(sys_root: &Path, devpath: &str) -> Option<String> {
    let buses: Vec<PathBuf> = ["bus/platform", "bus/amba"]
        .iter()
        .filter_map(|b| fs::canonicalize(sys_root.join(b)).ok())
        .collect();
    if buses.is_empty() {
        return None;
    }
    let rel = devpath.trim_start_matches('/');
    let mut dir = Path::new(rel).parent();
    while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
        let resolved = fs::canonicalize(sys_root.join(d).join("subsystem"));
        if resolved.is_ok_and(|r| buses.contains(&r)) {
            let full = format!("/{}", d.to_str()?);
            let name = full
                .strip_prefix("/devices/platform/")
                .or_else(|| full.strip_prefix("/devices/"))
                .unwrap_or(&full);
            return Some(name.to_owned());
        }
        dir = d.parent();
    }
    None
}

/// `<dev_root>/block/<name>`.
pub fn block_node_path(dev_root: &Path, dev: &BlockDevice) -> Result<PathBuf, UeventdError> {
    if !is_safe_component(&dev.name) {
        return Err(UeventdError::UnsafeName {
            what: "block device name",
            name: dev.name.clone(),
        });
    }
    Ok(dev_root.join("block").join(&dev.name))
}

/// `<dev_root>/block/by-name/<sanitised PARTNAME>`, if the device has a usable name.
pub fn by_name_link_path(dev_root: &Path, dev: &BlockDevice) -> Option<PathBuf> {
    dev.by_name()
        .map(|n| dev_root.join("block/by-name").join(n))
}

/// Makes `<dev_root>/block/<name>` (block node, `perms` or 0600 root:root; an existing
/// node gets its owner and mode fixed) and, for a partition with a name when `by_name`
/// (the caller's [`BootDevices::allows`]), the symlink
/// `<dev_root>/block/by-name/<PARTNAME>` → the node. Returns the node path. An existing
/// by-name link to another node is left alone and reported as
/// [`UeventdError::LinkConflict`] (after the node was made).
pub fn create_block_device_node(
    dev_root: &Path,
    dev: &BlockDevice,
    ops: &dyn DeviceOps,
    perms: Option<&Permissions>,
    by_name: bool,
) -> Result<PathBuf, UeventdError> {
    let node = block_node_path(dev_root, dev)?;
    let block_dir = dev_root.join("block");
    ops.mkdir_p(&block_dir, 0o755)
        .map_err(|e| UeventdError::io("mkdir", &block_dir, e))?;
    make_node(
        ops,
        &node,
        NodeKind::Block,
        dev.major,
        dev.minor,
        NodeAttrs::of(perms),
    )?;
    if let Some(link) = by_name_link_path(dev_root, dev).filter(|_| by_name) {
        make_link(ops, &node, &link)?;
    }
    Ok(node)
}

/// Removes the by-name link (only if it points at this node) and the node.
pub fn remove_block_device_node(
    dev_root: &Path,
    dev: &BlockDevice,
    ops: &dyn DeviceOps,
) -> Result<(), UeventdError> {
    let node = block_node_path(dev_root, dev)?;
    if let Some(link) = by_name_link_path(dev_root, dev) {
        remove_link_to(ops, &link, &node)?;
    }
    remove_node(ops, &node)
}

/// Mode and owner of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NodeAttrs {
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

impl NodeAttrs {
    /// The attributes a matched `/dev` line gives, or 0600 root:root.
    pub(crate) fn of(perms: Option<&Permissions>) -> Self {
        perms.map_or(
            NodeAttrs {
                mode: DEFAULT_MODE,
                uid: 0,
                gid: 0,
            },
            |p| NodeAttrs {
                mode: p.mode,
                uid: p.uid,
                gid: p.gid,
            },
        )
    }
}

/// mknod (an existing node is kept), then chown and chmod.
pub(crate) fn make_node(
    ops: &dyn DeviceOps,
    path: &Path,
    kind: NodeKind,
    major: u32,
    minor: u32,
    attrs: NodeAttrs,
) -> Result<(), UeventdError> {
    let NodeAttrs { mode, uid, gid } = attrs;
    match ops.mknod(path, kind, mode, major, minor) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(UeventdError::io("mknod", path, e)),
    }
    ops.chown(path, uid, gid)
        .map_err(|e| UeventdError::io("chown", path, e))?;
    // After chown, which may clear set-id bits.
    ops.chmod(path, mode)
        .map_err(|e| UeventdError::io("chmod", path, e))
}

/// Symlink `link` → `target`, creating the parent; an existing identical link is fine.
pub(crate) fn make_link(
    ops: &dyn DeviceOps,
    target: &Path,
    link: &Path,
) -> Result<(), UeventdError> {
    if let Some(parent) = link.parent() {
        ops.mkdir_p(parent, 0o755)
            .map_err(|e| UeventdError::io("mkdir", parent, e))?;
    }
    match ops.symlink(target, link) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => match ops.read_link(link) {
            Ok(existing) if existing == target => Ok(()),
            Ok(existing) => Err(UeventdError::LinkConflict {
                link: link.to_path_buf(),
                existing,
                wanted: target.to_path_buf(),
            }),
            Err(e) => Err(UeventdError::io("readlink", link, e)),
        },
        Err(e) => Err(UeventdError::io("symlink", link, e)),
    }
}

/// Unlinks `link` if it points at `target`.
pub(crate) fn remove_link_to(
    ops: &dyn DeviceOps,
    link: &Path,
    target: &Path,
) -> Result<(), UeventdError> {
    match ops.read_link(link) {
        Ok(existing) if existing == target => match ops.unlink(link) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(UeventdError::io("unlink", link, e)),
        },
        _ => Ok(()),
    }
}

/// Unlinks a node; a missing one is fine.
pub(crate) fn remove_node(ops: &dyn DeviceOps, node: &Path) -> Result<(), UeventdError> {
    match ops.unlink(node) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(UeventdError::io("unlink", node, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitising() {
        assert_eq!(
            sanitize_partition_name("microdroid-vendor"),
            "microdroid-vendor"
        );
        assert_eq!(sanitize_partition_name("a b/c\\d"), "a_b_c_d");
        assert_eq!(sanitize_partition_name("sys.tem_1-A"), "sys.tem_1-A");
        assert_eq!(sanitize_partition_name("é"), "_");
    }

    #[test]
    fn unusable_by_names() {
        let mut dev = BlockDevice {
            name: "vda1".into(),
            major: 254,
            minor: 1,
            partname: Some("..".into()),
            partn: Some(1),
            devpath: "/devices/x/vda1".into(),
        };
        assert_eq!(dev.by_name(), None);
        dev.partname = Some(String::new());
        assert_eq!(dev.by_name(), None);
        dev.partname = Some("a/b".into());
        assert_eq!(dev.by_name().as_deref(), Some("a_b"));
    }

    /// A sysfs tree like QEMU virt's: a virtio disk behind the PCIe host bridge (a
    /// platform device), a disk on an x86 PCI root, and a `vbd-` device.
    fn sysfs_tree() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let s = d.path();
        for bus in ["platform", "pci", "virtio", "amba"] {
            fs::create_dir_all(s.join("bus").join(bus)).unwrap();
        }
        let host = "devices/platform/4010000000.pcie";
        let virt = format!("{host}/pci0000:00/0000:00:02.0/virtio1/block/vda/vda1");
        fs::create_dir_all(s.join(&virt)).unwrap();
        fs::create_dir_all(s.join("devices/pci0000:00/0000:00:04.0/virtio2/block/vdb/vdb1"))
            .unwrap();
        fs::create_dir_all(s.join("devices/vbd-768/block/xvda")).unwrap();
        fs::create_dir_all(s.join("devices/virtual/block/loop0")).unwrap();
        let link = |dir: &str, bus: &str| {
            std::os::unix::fs::symlink(s.join("bus").join(bus), s.join(dir).join("subsystem"))
                .unwrap()
        };
        link(host, "platform");
        link(&format!("{host}/pci0000:00/0000:00:02.0"), "pci");
        link(&format!("{host}/pci0000:00/0000:00:02.0/virtio1"), "virtio");
        link("devices/pci0000:00/0000:00:04.0", "pci");
        d
    }

    fn on(devpath: &str) -> BlockDevice {
        BlockDevice {
            name: devpath.rsplit('/').next().unwrap_or_default().into(),
            major: 254,
            minor: 1,
            partname: Some("microdroid-vendor".into()),
            partn: Some(1),
            devpath: devpath.into(),
        }
    }

    #[test]
    fn boot_devices_as_aosp_names_them() {
        let sys = sysfs_tree();
        let s = sys.path();
        let vda1 =
            "/devices/platform/4010000000.pcie/pci0000:00/0000:00:02.0/virtio1/block/vda/vda1";
        assert_eq!(
            boot_device_of(s, vda1),
            Some(("platform", "4010000000.pcie".to_owned()))
        );
        assert_eq!(
            boot_device_of(s, "/devices/pci0000:00/0000:00:04.0/virtio2/block/vdb/vdb1"),
            Some(("pci", "pci0000:00/0000:00:04.0".to_owned()))
        );
        assert_eq!(
            boot_device_of(s, "/devices/vbd-768/block/xvda"),
            Some(("vbd", "768".to_owned()))
        );
        assert_eq!(boot_device_of(s, "/devices/virtual/block/loop0"), None);
        assert_eq!(boot_device_of(s, "/devices/pci/x"), None);
        assert_eq!(boot_device_of(s, "/class/block/vda1"), None);
    }

    #[test]
    fn boot_devices_decide_the_link() {
        let sys = sysfs_tree();
        let s = sys.path();
        let vda1 =
            on("/devices/platform/4010000000.pcie/pci0000:00/0000:00:02.0/virtio1/block/vda/vda1");
        let vdb1 = on("/devices/pci0000:00/0000:00:04.0/virtio2/block/vdb/vdb1");
        assert!(BootDevices::Any.allows(s, &vda1));
        let only = BootDevices::from_list(Some(vec!["10000.pci".into()]));
        assert!(!only.allows(s, &vda1));
        assert_eq!(
            only.refusal(s, &vda1),
            "on platform device 4010000000.pcie, not one of androidboot.boot_devices=10000.pci"
        );
        let ours = BootDevices::from_list(Some(vec!["10000.pci".into(), "4010000000.pcie".into()]));
        assert!(ours.allows(s, &vda1));
        assert!(!ours.allows(s, &vdb1));
        let pci = BootDevices::Only(vec!["pci0000:00/0000:00:04.0".into()]);
        assert!(pci.allows(s, &vdb1));
        // A key that names nothing allows nothing.
        assert!(!BootDevices::Only(Vec::new()).allows(s, &vda1));
        assert_eq!(BootDevices::from_list(None), BootDevices::Any);

        let dev = tempfile::tempdir().unwrap();
        let ops = crate::FakeDeviceOps::default();
        create_block_device_node(dev.path(), &vda1, &ops, None, false).unwrap();
        assert!(ops
            .read_link(&dev.path().join("block/by-name/microdroid-vendor"))
            .is_err());
        create_block_device_node(dev.path(), &vda1, &ops, None, true).unwrap();
        assert_eq!(
            ops.read_link(&dev.path().join("block/by-name/microdroid-vendor"))
                .unwrap(),
            dev.path().join("block/vda1")
        );
    }

    /// ueventd over the fixture tree: the by-name link follows `boot_devices`, the node
    /// is made either way.
    #[test]
    fn the_daemon_links_only_partitions_on_boot_devices() {
        struct NoProps;
        impl crate::PropertySetter for NoProps {
            fn set(&self, _: &str, _: &str) -> Result<(), String> {
                Ok(())
            }
            fn get(&self, _: &str) -> Option<String> {
                None
            }
        }
        let sys = sysfs_tree();
        let devpath =
            "/devices/platform/4010000000.pcie/pci0000:00/0000:00:02.0/virtio1/block/vda/vda1";
        let mut msg = format!("add@{devpath}\0").into_bytes();
        for f in [
            "ACTION=add".to_owned(),
            format!("DEVPATH={devpath}"),
            "SUBSYSTEM=block".into(),
            "MAJOR=254".into(),
            "MINOR=1".into(),
            "DEVNAME=vda1".into(),
            "DEVTYPE=partition".into(),
            "PARTN=1".into(),
            "PARTNAME=microdroid-vendor".into(),
        ] {
            msg.extend_from_slice(f.as_bytes());
            msg.push(0);
        }
        let ev = crate::parse_uevent(&msg).unwrap();
        for (boot, linked) in [
            (BootDevices::Any, true),
            (BootDevices::Only(vec!["4010000000.pcie".into()]), true),
            (BootDevices::Only(vec!["10000.pci".into()]), false),
        ] {
            let dev = tempfile::tempdir().unwrap();
            let ops = crate::FakeDeviceOps::default();
            let mut u = crate::Ueventd::new(
                crate::UeventdConfig::default(),
                dev.path().to_path_buf(),
                sys.path().to_path_buf(),
                &ops,
                &NoProps,
                &crate::NoopLabeler,
                None,
            );
            u.boot_devices = boot.clone();
            u.handle_uevent(&ev).unwrap();
            assert!(
                ops.entry(&dev.path().join("block/vda1")).is_some(),
                "{boot:?}"
            );
            assert_eq!(
                ops.read_link(&dev.path().join("block/by-name/microdroid-vendor"))
                    .is_ok(),
                linked,
                "{boot:?}"
            );
        }
    }

    #[test]
    fn sysfs_uevent_parsing() {
        let p = Path::new("/s/uevent");
        let dev = parse_sysfs_uevent(
            p,
            b"MAJOR=254\nMINOR=1\nDEVNAME=vda1\nDEVTYPE=partition\nDISKSEQ=9\nPARTN=1\nPARTNAME=x y\n",
            "vda1".into(),
            "/devices/v/vda1".into(),
        )
        .unwrap();
        assert_eq!((dev.major, dev.minor, dev.partn), (254, 1, Some(1)));
        assert_eq!(dev.partname.as_deref(), Some("x y"));
        for (bad, line) in [
            (&b"MAJOR=1\nMINOR=2\nMAJOR=3\n"[..], 3),
            (b"MAJOR=1\nMINOR=z\n", 2),
            (b"MAJOR=1\nno equals\nMINOR=1\n", 2),
            (b"MAJOR=1\n", 0),
            (b"MAJOR=1\nMINOR=1\nPARTNAME=\xff\n", 3),
        ] {
            match parse_sysfs_uevent(p, bad, "x".into(), "/x".into()) {
                Err(UeventdError::BadSysfsUevent { line: l, .. }) => assert_eq!(l, line),
                other => panic!("{other:?}"),
            }
        }
    }
}
