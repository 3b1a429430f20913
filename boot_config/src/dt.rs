//! Device-tree properties under `/proc/device-tree`, read with a bound and with "absent"
//! kept apart from "present but unreadable" (DESIGN §2: a digest that cannot be read is
//! fatal, never taken as absent).

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// One property's value as the guest found it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DtProperty {
    /// No such file (or no device tree at all).
    #[default]
    Absent,
    /// The first bytes of the value: at most the bound given to [`read`] plus one, so an
    /// oversized value is visible as such without reading it all.
    Present(Vec<u8>),
    /// The property exists (or could not be checked) but reading it failed.
    Unreadable {
        /// The OS error number (0 when the error had none).
        errno: i32,
        /// The error as the OS describes it.
        error: String,
    },
}

impl DtProperty {
    /// Whether the property exists in any form.
    pub fn exists(&self) -> bool {
        !matches!(self, DtProperty::Absent)
    }
}

/// Reads at most `max + 1` bytes of `path`.
pub fn read(path: &Path, max: u64) -> DtProperty {
    let unreadable = |e: io::Error| DtProperty::Unreadable {
        errno: e.raw_os_error().unwrap_or(0),
        error: e.to_string(),
    };
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return DtProperty::Absent,
        Err(e) => return unreadable(e),
    };
    let mut v = Vec::new();
    match f.take(max.saturating_add(1)).read_to_end(&mut v) {
        Ok(_) => DtProperty::Present(v),
        Err(e) => unreadable(e),
    }
}

/// Whether a flag property (an empty property whose presence is the value) is set. An
/// error other than "not found" counts as set: the flags we read (`avf,strict-boot`)
/// only ever make the boot stricter, so doubt resolves to the strict side.
pub fn flag(path: &Path) -> bool {
    match path.try_exists() {
        Ok(b) => b,
        Err(e) => {
            log::warn!("{}: {e}; taking the flag as set", path.display());
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn absent_present_bounded() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(read(&d.path().join("none"), 8), DtProperty::Absent);
        let p = d.path().join("v");
        fs::write(&p, b"abc\0").unwrap();
        assert_eq!(read(&p, 8), DtProperty::Present(b"abc\0".to_vec()));
        fs::write(&p, vec![b'a'; 1 << 20]).unwrap();
        assert_eq!(read(&p, 8), DtProperty::Present(vec![b'a'; 9]));
    }

    #[test]
    fn a_directory_is_unreadable_not_absent() {
        let d = tempfile::tempdir().unwrap();
        match read(d.path(), 8) {
            DtProperty::Unreadable { errno, .. } => assert_eq!(errno, libc::EISDIR),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn flags() {
        let d = tempfile::tempdir().unwrap();
        assert!(!flag(&d.path().join("none")));
        fs::write(d.path().join("f"), b"").unwrap();
        assert!(flag(&d.path().join("f")));
    }
}
