//! Mapping the logical paths of ueventd.rc (`/dev/…`, `/sys/…`) onto the roots the
//! daemon was given, and checking that names from uevents or sysfs are safe to join.

use std::path::{Component, Path, PathBuf};

/// True if `name` is one path component (not empty, `.` or `..`, no `/` or NUL).
pub(crate) fn is_safe_component(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\0'])
}

/// True if `rel` is a relative path of safe components (`input/event0`).
pub(crate) fn is_safe_relative(rel: &str) -> bool {
    !rel.is_empty() && rel.split('/').all(is_safe_component)
}

/// `/dev/x/y` → `<dev_root>/x/y`; `None` if `logical` is not under `/dev`.
pub(crate) fn dev_path(dev_root: &Path, logical: &str) -> Option<PathBuf> {
    if logical == "/dev" {
        return Some(dev_root.to_path_buf());
    }
    let rel = logical.strip_prefix("/dev/")?;
    is_safe_relative(rel).then(|| dev_root.join(rel))
}

/// DEVPATH (`/devices/…`) → `<sys_root>/devices/…`.
pub(crate) fn sys_path(sys_root: &Path, devpath: &str) -> PathBuf {
    sys_root.join(devpath.trim_start_matches('/'))
}

/// Lexically normalises a path (`a/b/../c` → `a/c`), without touching the filesystem.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping() {
        let root = Path::new("/tmp/d");
        assert_eq!(
            dev_path(root, "/dev/block/vda"),
            Some(root.join("block/vda"))
        );
        assert_eq!(dev_path(root, "/dev"), Some(root.to_path_buf()));
        assert_eq!(dev_path(root, "/dev/../etc"), None);
        assert_eq!(dev_path(root, "/devx"), None);
        assert_eq!(dev_path(root, "/dev//x"), None);
        assert_eq!(
            sys_path(Path::new("/s"), "/devices/a"),
            PathBuf::from("/s/devices/a")
        );
        assert_eq!(
            normalize(Path::new("/s/class/block/../../devices/x")),
            PathBuf::from("/s/devices/x")
        );
        assert!(is_safe_relative("input/event0"));
        assert!(!is_safe_relative("input/../x"));
        assert!(!is_safe_relative("/abs"));
        assert!(!is_safe_component("a/b"));
    }
}
