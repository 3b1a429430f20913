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
/// node gets its owner and mode fixed) and, for a partition with a name, the symlink
/// `<dev_root>/block/by-name/<PARTNAME>` → the node. Returns the node path. An existing
/// by-name link to another node is left alone and reported as
/// [`UeventdError::LinkConflict`] (after the node was made).
pub fn create_block_device_node(
    dev_root: &Path,
    dev: &BlockDevice,
    ops: &dyn DeviceOps,
    perms: Option<&Permissions>,
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
    if let Some(link) = by_name_link_path(dev_root, dev) {
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
