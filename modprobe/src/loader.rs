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

    /// The real system calls on inputs that cannot load or unload anything: a file that
    /// is not a module, and a module name that cannot exist. Whatever the host allows,
    /// the errno must be one finit_module/delete_module can return here, with a
    /// step-specific message.
    #[test]
    fn real_syscalls_reject_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage.ko");
        let mut bytes = b"\x7fELF".to_vec();
        bytes.resize(256, 0);
        std::fs::write(&garbage, bytes).unwrap();
        let err = KernelLoader.load(&garbage, "").unwrap_err();
        assert_eq!(err.op, SysOp::FinitModule);
        // ENOSYS: no module support (e.g. this CI VM); EPERM: no CAP_SYS_MODULE or
        // modules disabled; ENOEXEC: not a valid ELF module; EKEYREJECTED: unsigned
        // under signature enforcement.
        let allowed = [
            Errno::ENOSYS,
            Errno::EPERM,
            Errno::ENOEXEC,
            Errno::EKEYREJECTED,
        ];
        assert!(allowed.contains(&err.as_errno()), "{err}");
        assert_ne!(
            err.meaning(),
            err.as_errno().desc(),
            "specific message for {err}"
        );

        let err = KernelLoader
            .unload("modprobe_selftest_no_such_module")
            .unwrap_err();
        assert_eq!(err.op, SysOp::DeleteModule);
        let allowed = [Errno::ENOSYS, Errno::EPERM, Errno::ENOENT];
        assert!(allowed.contains(&err.as_errno()), "{err}");
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
