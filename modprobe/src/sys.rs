//! The crate's only system calls, each behind a safe one-line wrapper: opening a module
//! file, `finit_module`, `delete_module`, and the page size.

use std::ffi::CStr;
use std::os::fd::OwnedFd;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{open, OFlag};
use nix::kmod::{delete_module, finit_module, DeleteModuleFlags, ModuleInitFlags};
use nix::sys::stat::Mode;

/// `MODULE_INIT_COMPRESSED_FILE` from `<linux/module.h>` (Linux ≥ 5.17): the file is
/// compressed and the kernel decompresses it.
const MODULE_INIT_COMPRESSED_FILE: u32 = 4;

/// Opens a module file read-only, refusing symbolic links (AOSP opens with `O_NOFOLLOW`).
pub(crate) fn open_module(path: &Path) -> Result<OwnedFd, Errno> {
    retry_eintr(|| {
        open(
            path,
            OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
    })
}

/// `finit_module(fd, params, flags)`; `compressed` asks the kernel to decompress.
pub(crate) fn init_module_fd(fd: &OwnedFd, params: &CStr, compressed: bool) -> Result<(), Errno> {
    let flags = if compressed {
        ModuleInitFlags::from_bits_retain(MODULE_INIT_COMPRESSED_FILE)
    } else {
        ModuleInitFlags::empty()
    };
    retry_eintr(|| finit_module(fd, params, flags))
}

/// `delete_module(name, O_NONBLOCK)`: fails with `EWOULDBLOCK` instead of waiting while
/// the module is in use (AOSP and kmod use the same flag).
pub(crate) fn remove_module(name: &CStr) -> Result<(), Errno> {
    retry_eintr(|| delete_module(name, DeleteModuleFlags::O_NONBLOCK))
}

/// The system page size in bytes.
pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions; it only reads a configuration value.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096)
}

/// Repeats a call interrupted by a signal (bounded, so a signal storm cannot hang us).
fn retry_eintr<T>(mut call: impl FnMut() -> Result<T, Errno>) -> Result<T, Errno> {
    let mut attempts = 0;
    loop {
        match call() {
            Err(Errno::EINTR) if attempts < 100 => attempts += 1,
            other => return other,
        }
    }
}
