//! The privileged part: inserting and removing modules, behind the [`ModuleLoader`]
//! trait so that planning and execution can be tested with
//! [`crate::testing::RecordingLoader`].

use std::ffi::CString;
use std::path::Path;

use nix::errno::Errno;

use crate::errno::LoadErrno;
use crate::name::is_compressed_module;
use crate::sys;

/// Inserts and removes kernel modules. Shared by the executor's worker threads.
pub trait ModuleLoader: Sync {
    /// Inserts the module file at `path` with parameter string `params`.
    /// `Err` with [`LoadErrno::is_already_loaded`] means the module was already loaded.
    fn load(&self, path: &Path, params: &str) -> Result<(), LoadErrno>;
    /// Removes the loaded module `name` (canonical name).
    fn unload(&self, name: &str) -> Result<(), LoadErrno>;
}

/// The real loader: `open(path, O_RDONLY|O_NOFOLLOW|O_CLOEXEC)` then
/// `finit_module(fd, params, 0)` (with `MODULE_INIT_COMPRESSED_FILE` for `.ko.xz`,
/// `.ko.zst`, `.ko.gz`), and `delete_module(name, O_NONBLOCK)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct KernelLoader;

impl ModuleLoader for KernelLoader {
    fn load(&self, path: &Path, params: &str) -> Result<(), LoadErrno> {
        // A NUL cannot be passed to the kernel; it would silently truncate the parameters.
        let params = CString::new(params).map_err(|_| LoadErrno::finit(Errno::EINVAL))?;
        let fd = sys::open_module(path).map_err(LoadErrno::open)?;
        let compressed = path.to_str().is_some_and(is_compressed_module);
        sys::init_module_fd(&fd, &params, compressed).map_err(LoadErrno::finit)
    }

    fn unload(&self, name: &str) -> Result<(), LoadErrno> {
        let name = CString::new(name).map_err(|_| LoadErrno::delete(Errno::EINVAL))?;
        sys::remove_module(&name).map_err(LoadErrno::delete)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errno::SysOp;

    #[test]
    fn missing_file_is_an_open_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = KernelLoader
            .load(&dir.path().join("missing.ko"), "")
            .unwrap_err();
        assert_eq!(err.op, SysOp::Open);
        assert_eq!(err.as_errno(), Errno::ENOENT);
    }

    #[test]
    fn symlinks_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.ko");
        std::fs::write(&target, b"not a module").unwrap();
        let link = dir.path().join("link.ko");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = KernelLoader.load(&link, "").unwrap_err();
        assert_eq!(err, LoadErrno::open(Errno::ELOOP));
    }

    #[test]
    fn nul_in_params_is_rejected_before_any_syscall() {
        let err = KernelLoader
            .load(Path::new("/nonexistent.ko"), "a\0b")
            .unwrap_err();
        assert_eq!(err, LoadErrno::finit(Errno::EINVAL));
        let err = KernelLoader.unload("a\0b").unwrap_err();
        assert_eq!(err, LoadErrno::delete(Errno::EINVAL));
    }
}
