//! The early mounts, as a declarative table applied in order under a root directory:
//! `/proc`, `/sys`, devtmpfs on `/dev`, and the `/microdroid_resources` tmpfs.

use std::io;
use std::path::Path;

use nix::mount::MsFlags;

use crate::platform::Platform;

/// One mount of the early table.
#[derive(Debug, Clone, Copy)]
pub struct MountSpec {
    /// The mount source (`proc`, `sysfs`, …).
    pub source: &'static str,
    /// Absolute target path (joined under the root).
    pub target: &'static str,
    /// Filesystem type.
    pub fstype: &'static str,
    /// `MS_*` flags.
    pub flags: MsFlags,
    /// Filesystem-specific data.
    pub data: Option<&'static str>,
    /// Mode of the mount point if it must be created.
    pub dir_mode: u32,
}

const NOSUID_NODEV_NOEXEC: MsFlags = MsFlags::MS_NOSUID
    .union(MsFlags::MS_NODEV)
    .union(MsFlags::MS_NOEXEC);

/// What PID 1 mounts before anything else: the kernel's views and the device nodes.
pub const EARLY_MOUNTS: &[MountSpec] = &[
    MountSpec {
        source: "proc",
        target: "/proc",
        fstype: "proc",
        flags: NOSUID_NODEV_NOEXEC,
        data: None,
        dir_mode: 0o555,
    },
    MountSpec {
        source: "sysfs",
        target: "/sys",
        fstype: "sysfs",
        flags: NOSUID_NODEV_NOEXEC,
        data: None,
        dir_mode: 0o555,
    },
    MountSpec {
        source: "devtmpfs",
        target: "/dev",
        fstype: "devtmpfs",
        flags: MsFlags::MS_NOSUID,
        data: Some("mode=0755"),
        dir_mode: 0o755,
    },
    // Where the first stage leaves the DICE chain for the payload manager (AOSP:
    // `mode=0750,uid=0,gid=0`, no exec/suid/dev).
    MountSpec {
        source: "tmpfs",
        target: "/microdroid_resources",
        fstype: "tmpfs",
        flags: NOSUID_NODEV_NOEXEC,
        data: Some("mode=0750,uid=0,gid=0"),
        dir_mode: 0o750,
    },
];

/// A mount of the table that failed.
#[derive(Debug, thiserror::Error)]
#[error("mount {fstype} on {target}: {source}")]
pub struct MountError {
    /// The target that failed.
    pub target: &'static str,
    /// Its filesystem type.
    pub fstype: &'static str,
    /// The OS error.
    #[source]
    pub source: io::Error,
}

/// Joins an absolute `path` under `root` (`/` + `/proc` = `/proc`).
pub fn under(root: &Path, path: &str) -> std::path::PathBuf {
    root.join(path.trim_start_matches('/'))
}

/// Creates each mount point if missing and mounts it. `EBUSY` (already mounted, e.g. by
/// the kernel) counts as success.
pub fn apply(p: &dyn Platform, root: &Path, table: &[MountSpec]) -> Result<(), MountError> {
    for m in table {
        let target = under(root, m.target);
        let err = |source| MountError {
            target: m.target,
            fstype: m.fstype,
            source,
        };
        p.mkdir_all(&target, m.dir_mode).map_err(err)?;
        match p.mount(m.source, &target, m.fstype, m.flags, m.data) {
            Ok(()) => log::debug!("mounted {} on {}", m.fstype, m.target),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                log::info!("{} already mounted on {}", m.fstype, m.target)
            }
            Err(e) => return Err(err(e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::{Op, Recorder};
    use std::path::PathBuf;

    #[test]
    fn applies_table_in_order_under_root() {
        let r = Recorder::default();
        apply(&r, Path::new("/tmp/root"), EARLY_MOUNTS).unwrap();
        let ops = r.take();
        assert_eq!(ops.len(), 8);
        assert_eq!(ops[0], Op::Mkdir(PathBuf::from("/tmp/root/proc"), 0o555));
        assert!(matches!(&ops[1], Op::Mount(s, t, f, _, None)
            if s == "proc" && t == Path::new("/tmp/root/proc") && f == "proc"));
        assert!(matches!(&ops[5], Op::Mount(_, t, f, _, Some(d))
            if t == Path::new("/tmp/root/dev") && f == "devtmpfs" && d == "mode=0755"));
    }

    #[test]
    fn failure_names_the_mount() {
        let r = Recorder {
            fail_mounts: vec![PathBuf::from("/sys")],
            ..Default::default()
        };
        let e = apply(&r, Path::new("/"), EARLY_MOUNTS).unwrap_err();
        assert_eq!(e.target, "/sys");
        assert!(e.to_string().starts_with("mount sysfs on /sys: "));
        // Nothing after the failed mount was attempted.
        assert_eq!(r.take().len(), 4);
    }
}
