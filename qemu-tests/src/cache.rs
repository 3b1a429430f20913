//! The harness's cache directory, outside the repository:
//! `$MICRODROID_CACHE_DIR`, else `$XDG_CACHE_HOME/microdroid-rs`, else
//! `$HOME/.cache/microdroid-rs`.

use std::fs;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::error::{io, HarnessError};

/// The cache root (not created).
pub fn root() -> PathBuf {
    if let Some(d) = std::env::var_os("MICRODROID_CACHE_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("microdroid-rs");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into());
    PathBuf::from(home).join(".cache").join("microdroid-rs")
}

/// An exclusive `flock` on a file in the cache, held while something is unpacked so
/// parallel tests and processes do not race.
pub struct Lock(fs::File);

impl Lock {
    /// Blocks until the lock on `path` is ours.
    pub fn take(path: &Path) -> Result<Lock, HarnessError> {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io(format!("creating {}", parent.display())))?;
        }
        let f = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(io(format!("opening {}", path.display())))?;
        // SAFETY: flock on a descriptor we own; it only blocks this thread.
        let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
        if rc != 0 {
            return Err(io(format!("locking {}", path.display()))(
                std::io::Error::last_os_error(),
            ));
        }
        Ok(Lock(f))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // SAFETY: unlocking a descriptor we own.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}
