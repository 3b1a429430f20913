//! The only syscalls of this crate: `getxattr`, `lgetxattr` and `lsetxattr`.

use std::ffi::{CStr, CString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Largest extended attribute value Linux stores (`XATTR_SIZE_MAX`).
const XATTR_SIZE_MAX: usize = 65_536;

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

/// Whether `err` means "this file has no such attribute".
fn is_absent(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::ENODATA | libc::ENOTSUP))
}

/// The value of attribute `name` of `path` (not following a final
/// symlink); `None` if it has none or the filesystem has no xattrs.
pub(crate) fn lgetxattr(path: &Path, name: &CStr) -> io::Result<Option<Vec<u8>>> {
    read_xattr(path, name, libc::lgetxattr)
}

/// The value of attribute `name` of the file `path` names, following
/// symlinks; `None` if it has none or the filesystem has no xattrs.
pub(crate) fn getxattr(path: &Path, name: &CStr) -> io::Result<Option<Vec<u8>>> {
    read_xattr(path, name, libc::getxattr)
}

type GetXattr = unsafe extern "C" fn(
    *const libc::c_char,
    *const libc::c_char,
    *mut libc::c_void,
    libc::size_t,
) -> libc::ssize_t;

fn read_xattr(path: &Path, name: &CStr, get: GetXattr) -> io::Result<Option<Vec<u8>>> {
    let path = c_path(path)?;
    // The size can change between the two calls; retry a few times.
    for _ in 0..4 {
        // SAFETY: `path` and `name` are NUL-terminated; a NULL buffer of
        // size 0 asks for the value's size and writes nothing.
        let size = unsafe { get(path.as_ptr(), name.as_ptr(), std::ptr::null_mut(), 0) };
        let Ok(size) = usize::try_from(size) else {
            let err = io::Error::last_os_error();
            return if is_absent(&err) { Ok(None) } else { Err(err) };
        };
        if size > XATTR_SIZE_MAX {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "extended attribute too large",
            ));
        }
        let mut value = vec![0u8; size];
        // SAFETY: `value` is writable for `value.len()` bytes and the kernel
        // writes at most that many; the strings are NUL-terminated.
        let got = unsafe {
            get(
                path.as_ptr(),
                name.as_ptr(),
                value.as_mut_ptr().cast(),
                value.len(),
            )
        };
        match usize::try_from(got) {
            Ok(n) => {
                value.truncate(n);
                return Ok(Some(value));
            }
            Err(_) => {
                let err = io::Error::last_os_error();
                if err.raw_os_error() == Some(libc::ERANGE) {
                    continue;
                }
                return if is_absent(&err) { Ok(None) } else { Err(err) };
            }
        }
    }
    Err(io::Error::other("extended attribute kept changing size"))
}

/// Sets attribute `name` of `path` (not following a final symlink).
pub(crate) fn lsetxattr(path: &Path, name: &CStr, value: &[u8]) -> io::Result<()> {
    let path = c_path(path)?;
    // SAFETY: `value` is readable for `value.len()` bytes; the strings are
    // NUL-terminated; flags 0 means create or replace.
    let rc = unsafe {
        libc::lsetxattr(
            path.as_ptr(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_xattr_round_trip_or_unsupported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("f");
        std::fs::write(&file, b"").expect("write");
        let name = c"user.sepolicy_test";
        assert_eq!(lgetxattr(&file, name).expect("get"), None);
        match lsetxattr(&file, name, b"value") {
            Ok(()) => assert_eq!(
                lgetxattr(&file, name).expect("get"),
                Some(b"value".to_vec())
            ),
            Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => {
                eprintln!("skipping xattr round trip: {e}");
            }
            Err(e) => panic!("lsetxattr: {e}"),
        }
        assert!(lgetxattr(&dir.path().join("missing"), name).is_err());
        // getxattr follows a symlink, lgetxattr does not.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).expect("symlink");
        if lgetxattr(&file, name).expect("get").is_some() {
            assert_eq!(getxattr(&link, name).expect("get"), Some(b"value".to_vec()));
            assert_eq!(lgetxattr(&link, name).expect("get"), None);
        }
        assert!(c_path(Path::new("a\0b")).is_err());
    }
}
