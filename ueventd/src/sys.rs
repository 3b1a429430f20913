//! The only module that talks to the kernel: [`RealDeviceOps`] (nodes, ownership, files,
//! programs) and the NETLINK_KOBJECT_UEVENT socket primitives. Everything goes through
//! `std` or `nix` safe wrappers; there is no `unsafe` here. `chmod`, `chown` and writes
//! never follow a final symlink (a link planted where a node or sysfs attribute is
//! expected is refused with `ELOOP`).

use std::fs;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{
    bind, recvmsg, setsockopt, socket, sockopt, AddressFamily, ControlMessageOwned, MsgFlags,
    NetlinkAddr, SockFlag, SockProtocol, SockType, UnixCredentials,
};
use nix::sys::stat::{mknod, Mode, SFlag};

use crate::ops::{DeviceOps, DirEntry, EntryKind, NodeKind, ProgramOutput};

/// The real operations (run as root in the guest).
#[derive(Debug, Clone, Copy, Default)]
pub struct RealDeviceOps;

fn nix_err(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

impl DeviceOps for RealDeviceOps {
    fn mknod(
        &self,
        path: &Path,
        kind: NodeKind,
        mode: u32,
        major: u32,
        minor: u32,
    ) -> io::Result<()> {
        let sflag = match kind {
            NodeKind::Char => SFlag::S_IFCHR,
            NodeKind::Block => SFlag::S_IFBLK,
        };
        let perm = Mode::from_bits_truncate(mode as libc::mode_t);
        mknod(path, sflag, perm, libc::makedev(major, minor)).map_err(nix_err)
    }

    fn chmod(&self, path: &Path, mode: u32) -> io::Result<()> {
        let (_fd, proc_path) = open_no_symlink(path)?;
        fs::set_permissions(proc_path, fs::Permissions::from_mode(mode))
    }

    fn chown(&self, path: &Path, uid: u32, gid: u32) -> io::Result<()> {
        let (_fd, proc_path) = open_no_symlink(path)?;
        std::os::unix::fs::chown(proc_path, Some(uid), Some(gid))
    }

    fn lchown(&self, path: &Path, uid: u32, gid: u32) -> io::Result<()> {
        std::os::unix::fs::lchown(path, Some(uid), Some(gid))
    }

    fn symlink(&self, target: &Path, link: &Path) -> io::Result<()> {
        std::os::unix::fs::symlink(target, link)
    }

    fn unlink(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn mkdir_p(&self, path: &Path, mode: u32) -> io::Result<Vec<PathBuf>> {
        let mut missing: Vec<&Path> = path
            .ancestors()
            .take_while(|a| !a.as_os_str().is_empty() && fs::symlink_metadata(a).is_err())
            .collect();
        missing.reverse();
        let mut created = Vec::new();
        for dir in missing {
            match fs::DirBuilder::new().mode(mode).create(dir) {
                Ok(()) => {
                    // Exact mode whatever the umask.
                    self.chmod(dir, mode)?;
                    created.push(dir.to_path_buf());
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        if !path.is_dir() {
            return Err(io::Error::other(format!(
                "{} is not a directory",
                path.display()
            )));
        }
        Ok(created)
    }

    fn write_file(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)?
            .write_all(data)
    }

    fn copy_into(&self, src: &Path, dst: &Path) -> io::Result<u64> {
        let mut from = fs::File::open(src)?;
        let mut to = fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(dst)?;
        io::copy(&mut from, &mut to)
    }

    fn read_file(&self, path: &Path, limit: usize) -> io::Result<Vec<u8>> {
        let file = fs::File::open(path)?;
        let mut data = Vec::new();
        let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
        file.take(cap).read_to_end(&mut data)?;
        if data.len() > limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is larger than {limit} bytes", path.display()),
            ));
        }
        Ok(data)
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(path)? {
            let entry = entry?;
            let ft = entry.file_type()?;
            let kind = if ft.is_symlink() {
                EntryKind::Symlink
            } else if ft.is_dir() {
                EntryKind::Dir
            } else if ft.is_file() {
                EntryKind::File
            } else {
                EntryKind::Other
            };
            out.push(DirEntry {
                name: entry.file_name(),
                kind,
            });
        }
        Ok(out)
    }

    fn read_link(&self, path: &Path) -> io::Result<PathBuf> {
        fs::read_link(path)
    }

    fn exists(&self, path: &Path) -> bool {
        fs::symlink_metadata(path).is_ok()
    }

    fn run_program(
        &self,
        argv: &[String],
        uid: u32,
        gid: u32,
        env: &[(&str, &str)],
    ) -> io::Result<ProgramOutput> {
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty command"))?;
        let out = Command::new(program)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .gid(gid)
            .uid(uid)
            .output()?;
        Ok(ProgramOutput {
            success: out.status.success(),
            status: out.status.to_string(),
            stdout: out.stdout,
            stderr: out.stderr,
        })
    }

    fn shared(&self) -> Option<Arc<dyn DeviceOps>> {
        Some(Arc::new(RealDeviceOps))
    }
}

/// Opens `path` itself (`O_PATH|O_NOFOLLOW`, so nothing of a device is opened) and
/// refuses a symlink with `ELOOP`; returns the descriptor and its `/proc/self/fd` path,
/// through which the opened inode (and only it) is changed while the descriptor lives.
fn open_no_symlink(path: &Path) -> io::Result<(fs::File, PathBuf)> {
    let f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_NOFOLLOW)
        .open(path)?;
    if f.metadata()?.file_type().is_symlink() {
        return Err(io::Error::from_raw_os_error(libc::ELOOP));
    }
    let proc_path = PathBuf::from(format!("/proc/self/fd/{}", f.as_raw_fd()));
    Ok((f, proc_path))
}

/// What one `recvmsg` on the uevent socket produced.
pub(crate) struct RawMessage {
    /// Bytes received (may equal the buffer size when truncated).
    pub(crate) len: usize,
    /// The kernel reported truncation.
    pub(crate) truncated: bool,
    /// Sender port id (0 for the kernel), if an address came with the message.
    pub(crate) sender_pid: Option<u32>,
    /// Multicast groups the message was sent to.
    pub(crate) groups: u32,
    /// Uid from SCM_CREDENTIALS, if present.
    pub(crate) cred_uid: Option<u32>,
}

/// Largest value accepted for SO_RCVBUF(FORCE) (the kernel doubles it internally).
const MAX_RCVBUF: usize = (i32::MAX / 2) as usize;

/// Opens a non-blocking NETLINK_KOBJECT_UEVENT socket bound to the kernel's uevent
/// multicast group, with credentials passing on and the receive buffer set with
/// SO_RCVBUFFORCE (falling back to SO_RCVBUF when not permitted).
pub(crate) fn open_uevent_socket(rcvbuf: usize) -> Result<OwnedFd, (&'static str, io::Error)> {
    let fd = socket(
        AddressFamily::Netlink,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        SockProtocol::NetlinkKObjectUEvent,
    )
    .map_err(|e| ("socket", nix_err(e)))?;
    let size = rcvbuf.min(MAX_RCVBUF);
    if let Err(force_err) = setsockopt(&fd, sockopt::RcvBufForce, &size) {
        log::debug!("ueventd: SO_RCVBUFFORCE failed ({force_err}); using SO_RCVBUF");
        setsockopt(&fd, sockopt::RcvBuf, &size).map_err(|e| ("SO_RCVBUF", nix_err(e)))?;
    }
    setsockopt(&fd, sockopt::PassCred, &true).map_err(|e| ("SO_PASSCRED", nix_err(e)))?;
    // Port id 0: the kernel picks a unique one. Group 1: kernel uevents.
    bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 1)).map_err(|e| ("bind", nix_err(e)))?;
    Ok(fd)
}

/// Receives one message into `buf` without blocking; `Ok(None)` when nothing is pending.
pub(crate) fn recv_uevent(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<Option<RawMessage>> {
    loop {
        let mut cmsg = nix::cmsg_space!(UnixCredentials);
        let mut iov = [io::IoSliceMut::new(buf)];
        let res = recvmsg::<NetlinkAddr>(
            fd.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_DONTWAIT,
        );
        let msg = match res {
            Ok(m) => m,
            Err(Errno::EINTR) => continue,
            Err(Errno::EAGAIN) => return Ok(None),
            Err(e) => return Err(nix_err(e)),
        };
        let mut cred_uid = None;
        if let Ok(cmsgs) = msg.cmsgs() {
            for c in cmsgs {
                if let ControlMessageOwned::ScmCredentials(cred) = c {
                    cred_uid = Some(cred.uid());
                }
            }
        }
        return Ok(Some(RawMessage {
            len: msg.bytes,
            truncated: msg.flags.contains(MsgFlags::MSG_TRUNC),
            sender_pid: msg.address.map(|a| a.pid()),
            groups: msg.address.map(|a| a.groups()).unwrap_or(0),
            cred_uid,
        }));
    }
}

/// Waits until the socket is readable: forever with `None`, else at most `timeout`.
/// Returns whether it is readable.
pub(crate) fn wait_readable(fd: &OwnedFd, timeout: Option<Duration>) -> io::Result<bool> {
    let deadline = timeout.map(|t| Instant::now().checked_add(t));
    loop {
        let poll_timeout = match deadline {
            None | Some(None) => PollTimeout::NONE,
            Some(Some(at)) => {
                let left = at.saturating_duration_since(Instant::now());
                // Round up so a short wait does not become a busy loop.
                let ms = left.as_nanos().div_ceil(1_000_000);
                PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
            }
        };
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, poll_timeout) {
            Ok(0) => return Ok(false),
            Ok(_) => return Ok(true),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(nix_err(e)),
        }
    }
}
