//! Every syscall the first stage makes, behind small safe wrappers.
//!
//! Nothing outside this module calls `libc`/`nix` for side effects directly, so the
//! privileged surface of PID 1 is in one place. Higher layers reach these through the
//! [`crate::platform::Platform`] trait so unit tests can record instead of act.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

use nix::mount::MsFlags;

/// Milliseconds of `CLOCK_MONOTONIC`, i.e. since the kernel started counting (boot).
pub fn monotonic() -> Duration {
    match nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC) {
        Ok(ts) => Duration::new(
            u64::try_from(ts.tv_sec()).unwrap_or(0),
            u32::try_from(ts.tv_nsec()).unwrap_or(0),
        ),
        // CLOCK_MONOTONIC cannot fail on Linux; a zero keeps logging alive if it ever did.
        Err(_) => Duration::ZERO,
    }
}

/// How many CPUs the caller may run on (`sched_getaffinity`), if the kernel says.
pub fn cpus_allowed() -> Option<usize> {
    let set = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)).ok()?;
    Some(
        (0..nix::sched::CpuSet::count())
            .filter(|&i| set.is_set(i).unwrap_or(false))
            .count(),
    )
}

/// The process id of the caller.
pub fn getpid() -> i32 {
    nix::unistd::getpid().as_raw()
}

/// `mount(2)`.
pub fn mount(
    source: &str,
    target: &Path,
    fstype: &str,
    flags: MsFlags,
    data: Option<&str>,
) -> io::Result<()> {
    nix::mount::mount(Some(source), target, Some(fstype), flags, data).map_err(io::Error::from)
}

/// `sync(2)`: flush every filesystem before powering off.
pub fn sync() {
    nix::unistd::sync();
}

/// `reboot(RB_POWER_OFF)`. Only returns on failure.
pub fn power_off() -> io::Error {
    match nix::sys::reboot::reboot(nix::sys::reboot::RebootMode::RB_POWER_OFF) {
        Ok(never) => match never {},
        Err(e) => io::Error::from(e),
    }
}

/// `reboot(RB_AUTOBOOT)`. Only returns on failure.
pub fn restart() -> io::Error {
    match nix::sys::reboot::reboot(nix::sys::reboot::RebootMode::RB_AUTOBOOT) {
        Ok(never) => match never {},
        Err(e) => io::Error::from(e),
    }
}

/// Blocks the calling thread forever (used only if powering off itself failed).
pub fn halt_forever() -> ! {
    loop {
        // SAFETY: pause(2) has no preconditions; it only suspends the thread.
        unsafe { libc::pause() };
    }
}

/// `execv(2)` of `path` with `args` (args[0] included). Only returns on failure.
pub fn execv(path: &Path, args: &[&str]) -> io::Error {
    let Ok(cpath) = CString::new(path.as_os_str().as_bytes()) else {
        return io::Error::from(io::ErrorKind::InvalidInput);
    };
    let mut cargs = Vec::with_capacity(args.len());
    for a in args {
        match CString::new(*a) {
            Ok(c) => cargs.push(c),
            Err(_) => return io::Error::from(io::ErrorKind::InvalidInput),
        }
    }
    match nix::unistd::execv(&cpath, &cargs) {
        Ok(never) => match never {},
        Err(e) => io::Error::from(e),
    }
}

/// One device-mapper command on an open `/dev/mapper/control`. The request is typed: its
/// buffer is private to [`crate::dm::Request`], at least a `struct dm_ioctl` long, and
/// its `data_size` is set from the buffer's length here, right before the call.
pub fn dm_ioctl(
    control: &File,
    cmd: crate::dm::Command,
    req: &mut crate::dm::Request,
) -> io::Result<()> {
    let buf = req.kernel_buffer();
    // SAFETY: `buf` is a live, writable buffer laid out as `struct dm_ioctl` (at least
    // 312 bytes) whose `data_size` field equals `buf.len()`; the kernel bounds every
    // access by `data_size`, and the request number encodes `sizeof(struct dm_ioctl)`.
    let rc = unsafe {
        libc::ioctl(
            control.as_raw_fd(),
            cmd.request() as libc::Ioctl,
            buf.as_mut_ptr().cast::<libc::c_void>(),
        )
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `mknod(2)` of a block device node.
pub fn mknod_block(path: &Path, mode: u32, major: u32, minor: u32) -> io::Result<()> {
    nix::sys::stat::mknod(
        path,
        nix::sys::stat::SFlag::S_IFBLK,
        nix::sys::stat::Mode::from_bits_truncate(mode),
        nix::sys::stat::makedev(u64::from(major), u64::from(minor)),
    )
    .map_err(io::Error::from)
}

/// `BLKROSET` (`_IO(0x12, 93)`): the block device behind `dev` becomes read-only in the
/// kernel (writes fail with `EPERM`) until cleared.
pub fn blkroset(dev: &File) -> io::Result<()> {
    const BLKROSET: libc::Ioctl = 0x125d;
    let read_only: libc::c_int = 1;
    // SAFETY: BLKROSET reads one `int` through the pointer, which points at a live local.
    let rc = unsafe { libc::ioctl(dev.as_raw_fd(), BLKROSET, std::ptr::from_ref(&read_only)) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}
