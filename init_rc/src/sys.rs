//! The OS layer: the real [`Platform`] (processes, cgroups, capabilities, files, mounts,
//! modules, limits, power), the SIGCHLD signalfd, and the property-service socket. Every
//! system call is behind a small safe wrapper here; the `unsafe` is the post-fork setup
//! of a child (cgroup, umask, label, ids, AOSP's `SetCapsForExec`) and the capability
//! system calls it makes.

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::socket::{self, sockopt, AddressFamily, SockFlag, SockType, UnixAddr};
use nix::sys::wait::{WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::error::RcError;
use crate::platform::{ExitStatus, MountSpec, Platform, PowerAction, Rlimit, SpawnSpec};
use crate::service::SocketKind;

/// The real platform.
pub(crate) struct RealPlatform;

impl RealPlatform {
    pub(crate) fn new() -> RealPlatform {
        RealPlatform
    }
}

/// `CLOCK_BOOTTIME` (AOSP's `boot_clock`).
fn boot_time() -> Duration {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_BOOTTIME)
        .map(Duration::from)
        .unwrap_or_default()
}

/// `capset(2)`/`capget(2)` version 3 header.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

/// One 32-bit word of each capability set.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
const CAP_SETPCAP: u32 = 8;

/// Sets this thread's capability sets (64-bit masks).
fn capset(effective: u64, permitted: u64, inheritable: u64) -> io::Result<()> {
    let mut hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let word = |m: u64, i: u32| (m >> (32 * i)) as u32;
    let data = [0, 1].map(|i| CapData {
        effective: word(effective, i),
        permitted: word(permitted, i),
        inheritable: word(inheritable, i),
    });
    // SAFETY: `hdr` and `data` are live, correctly laid out version-3 structures.
    let r = unsafe { libc::syscall(libc::SYS_capset, &mut hdr, data.as_ptr()) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// This thread's `(effective, permitted, inheritable)` sets.
fn capget() -> io::Result<(u64, u64, u64)> {
    let mut hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: `hdr` and `data` are live, correctly laid out version-3 structures.
    let r = unsafe { libc::syscall(libc::SYS_capget, &mut hdr, data.as_mut_ptr()) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    let join = |f: fn(&CapData) -> u32| u64::from(f(&data[0])) | u64::from(f(&data[1])) << 32;
    Ok((
        join(|d| d.effective),
        join(|d| d.permitted),
        join(|d| d.inheritable),
    ))
}

/// `prctl` with integer arguments.
fn prctl(option: libc::c_int, a: libc::c_ulong, b: libc::c_ulong) -> io::Result<libc::c_int> {
    // SAFETY: every option used here takes integer arguments only.
    let r = unsafe { libc::prctl(option, a, b, 0 as libc::c_ulong, 0 as libc::c_ulong) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(r)
}

/// The highest capability the running kernel knows (AOSP `GetLastValidCap`).
fn last_valid_cap() -> u32 {
    let mut cap = 0u32;
    while cap < 63 && prctl(libc::PR_CAPBSET_READ, libc::c_ulong::from(cap + 1), 0).is_ok() {
        cap += 1;
    }
    cap
}

/// Refuses a capability set the kernel cannot apply (AOSP checks this when parsing).
fn check_capabilities(keep: u64) -> Result<u32, RcError> {
    if prctl(
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_IS_SET as libc::c_ulong,
        0,
    )
    .is_err()
    {
        return Err(RcError::Invalid(
            "capabilities requested but the kernel does not support ambient capabilities".into(),
        ));
    }
    let last = last_valid_cap();
    if let Some(n) = (last + 1..64).find(|n| keep & (1 << n) != 0) {
        return Err(RcError::Invalid(format!(
            "capability '{}' is not supported by the kernel (last is {last})",
            crate::service::capability_name(n)
        )));
    }
    Ok(last)
}

/// AOSP `SetCapsForExec`: permitted and inheritable become `keep` (with CAP_SETPCAP
/// effective while the bounding set is cut to `keep`), then every capability of `keep`
/// is raised in the ambient set so it survives `execve`. Async-signal-safe.
fn set_caps_for_exec(keep: u64, last_cap: u32) -> io::Result<()> {
    let setpcap = 1u64 << CAP_SETPCAP;
    capset(setpcap, keep | setpcap, keep)?;
    for cap in (0..=last_cap).filter(|c| keep & (1 << c) == 0) {
        prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(cap), 0)?;
    }
    capset(0, keep, keep)?;
    for cap in (0..=last_cap).filter(|c| keep & (1 << c) != 0) {
        prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
            libc::c_ulong::from(cap),
        )?;
    }
    Ok(())
}

/// AOSP `DropInheritableCaps`. Async-signal-safe.
fn drop_inheritable_caps() -> io::Result<()> {
    let (effective, permitted, _) = capget()?;
    capset(effective, permitted, 0)
}

/// Writes the seclabel a child execs with (`/proc/self/attr/exec`). Async-signal-safe.
fn write_exec_label(label: &CString) -> io::Result<()> {
    // SAFETY: a NUL-terminated constant path; the fd is closed below.
    let fd = unsafe {
        libc::open(
            c"/proc/self/attr/exec".as_ptr(),
            libc::O_WRONLY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let bytes = label.as_bytes();
    // SAFETY: writes `bytes.len()` bytes from a live buffer to the fd opened above.
    let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
    // SAFETY: closes the fd opened above exactly once.
    unsafe { libc::close(fd) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Longest cgroup path a child builds (`<parent>/pid_<pid>/cgroup.procs`).
const CGROUP_PATH_MAX: usize = 512;

/// In the child: creates `<parent>/pid_<own pid>` and moves itself there. No allocation:
/// the path is built in a stack buffer. Async-signal-safe.
fn join_own_cgroup(parent: &[u8]) -> io::Result<()> {
    let mut buf = [0u8; CGROUP_PATH_MAX];
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    let mut digits = [0u8; 12];
    let mut n = pid.unsigned_abs();
    let mut d = digits.len();
    loop {
        d -= 1;
        digits[d] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let mut len = 0;
    for part in [parent, b"/pid_", &digits[d..]] {
        let end = len + part.len();
        if end + b"/cgroup.procs".len() + 1 > buf.len() {
            return Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG));
        }
        buf[len..end].copy_from_slice(part);
        len = end;
    }
    // `buf[len]` is 0: the directory path is NUL-terminated.
    // SAFETY: `buf` holds a NUL-terminated path.
    if unsafe { libc::mkdir(buf.as_ptr().cast(), 0o755) } < 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EEXIST) {
            return Err(e);
        }
    }
    let procs = b"/cgroup.procs";
    buf[len..len + procs.len()].copy_from_slice(procs);
    // SAFETY: `buf` holds a NUL-terminated path (zeros follow it).
    let fd = unsafe { libc::open(buf.as_ptr().cast(), libc::O_WRONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // Writing 0 moves the writing process.
    // SAFETY: writes one byte from a static buffer to the fd opened above.
    let n = unsafe { libc::write(fd, b"0".as_ptr().cast(), 1) };
    // SAFETY: closes the fd opened above exactly once.
    unsafe { libc::close(fd) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn errno_io(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

fn env_key(prefix: &str, name: &str) -> String {
    let mut k = String::from(prefix);
    k.extend(
        name.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }),
    );
    k
}

/// Creates, binds (and maybe listens on) a service socket; returns the fd.
fn create_socket(s: &crate::platform::SocketSpec) -> Result<OwnedFd, RcError> {
    let path = s.path.display().to_string();
    let ty = match s.kind {
        SocketKind::Stream => SockType::Stream,
        SocketKind::Dgram => SockType::Datagram,
        SocketKind::Seqpacket => SockType::SeqPacket,
    };
    let fd = socket::socket(AddressFamily::Unix, ty, SockFlag::SOCK_CLOEXEC, None)
        .map_err(|e| RcError::io("socket", &path, errno_io(e)))?;
    if s.passcred {
        socket::setsockopt(&fd, sockopt::PassCred, &true)
            .map_err(|e| RcError::io("SO_PASSCRED", &path, errno_io(e)))?;
    }
    if let Some(dir) = s.path.parent() {
        // Best effort: the directory usually exists already.
        let _ = std::fs::DirBuilder::new()
            .mode(0o755)
            .recursive(true)
            .create(dir);
    }
    match std::fs::remove_file(&s.path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(RcError::io("unlink", &path, e)),
    }
    let addr =
        UnixAddr::new(&s.path).map_err(|e| RcError::io("socket path", &path, errno_io(e)))?;
    socket::bind(fd.as_raw_fd(), &addr).map_err(|e| RcError::io("bind", &path, errno_io(e)))?;
    if s.listen && ty != SockType::Datagram {
        let backlog =
            socket::Backlog::new(128).map_err(|e| RcError::io("listen", &path, errno_io(e)))?;
        socket::listen(&fd, backlog).map_err(|e| RcError::io("listen", &path, errno_io(e)))?;
    }
    std::os::unix::fs::lchown(&s.path, Some(s.uid), Some(s.gid))
        .map_err(|e| RcError::io("chown", &path, e))?;
    std::fs::set_permissions(&s.path, std::fs::Permissions::from_mode(s.perm))
        .map_err(|e| RcError::io("chmod", &path, e))?;
    Ok(fd)
}

fn open_stdio(path: &Path, write: bool) -> Stdio {
    let f = if write {
        OpenOptions::new().append(true).open(path)
    } else {
        File::open(path)
    };
    match f {
        Ok(f) => Stdio::from(f),
        Err(e) => {
            log::warn!(
                "init: cannot open {} for stdio: {e}; using /dev/null",
                path.display()
            );
            Stdio::null()
        }
    }
}

/// Everything the child needs after fork, prepared before it (no allocation after fork).
struct ChildSetup {
    uid: u32,
    gid: u32,
    groups: Vec<libc::gid_t>,
    seclabel: Option<CString>,
    keep_fds: Vec<RawFd>,
    /// The cgroup directory to create `pid_<pid>` in and join.
    cgroup_parent: Option<Vec<u8>>,
    /// `capabilities` to keep, and the kernel's last capability.
    caps: Option<(u64, u32)>,
}

impl ChildSetup {
    /// Runs in the child between fork and exec: only async-signal-safe calls.
    fn apply(&self) -> io::Result<()> {
        let check = |r: libc::c_int| {
            if r < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(())
            }
        };
        // First, so that nothing the child does escapes its cgroup.
        if let Some(parent) = &self.cgroup_parent {
            join_own_cgroup(parent)?;
        }
        // SAFETY: setsid has no memory effects; failure (already a group leader) is harmless.
        unsafe { libc::setsid() };
        // SAFETY: umask has no preconditions. AOSP's children start with umask 077.
        unsafe { libc::umask(0o077) };
        for &fd in &self.keep_fds {
            // SAFETY: fcntl on an fd we own in this process; clears FD_CLOEXEC so it survives exec.
            check(unsafe { libc::fcntl(fd, libc::F_SETFD, 0) })?;
        }
        if let Some(label) = &self.seclabel {
            write_exec_label(label)?;
        }
        if self.caps.is_some() && self.uid != 0 {
            // Keep the permitted set across the uid change (AOSP: SECBIT_KEEP_CAPS, locked).
            let bits = prctl(libc::PR_GET_SECUREBITS, 0, 0)?;
            let keep = libc::SECBIT_KEEP_CAPS | libc::SECBIT_KEEP_CAPS_LOCKED;
            prctl(libc::PR_SET_SECUREBITS, (bits | keep) as libc::c_ulong, 0)?;
        }
        // SAFETY: geteuid/getgid/getuid have no preconditions.
        let (euid, cur_gid, cur_uid) = unsafe { (libc::geteuid(), libc::getgid(), libc::getuid()) };
        if euid == 0 {
            // SAFETY: the pointer and length describe the live `groups` vector.
            check(unsafe { libc::setgroups(self.groups.len(), self.groups.as_ptr()) })?;
        }
        if self.gid != cur_gid {
            // SAFETY: plain system call with an integer argument.
            check(unsafe { libc::setgid(self.gid) })?;
        }
        if self.uid != cur_uid {
            // SAFETY: plain system call with an integer argument.
            check(unsafe { libc::setuid(self.uid) })?;
        }
        match self.caps {
            Some((keep, last_cap)) => set_caps_for_exec(keep, last_cap)?,
            None if self.uid != 0 => drop_inheritable_caps()?,
            None => {}
        }
        Ok(())
    }
}

impl Platform for RealPlatform {
    fn now(&self) -> Duration {
        boot_time()
    }

    fn spawn(&mut self, spec: &SpawnSpec) -> Result<i32, RcError> {
        let program = spec.path.display().to_string();
        let caps = match spec.capabilities {
            Some(keep) => Some((keep, check_capabilities(keep)?)),
            None => None,
        };
        if let Some(parent) = &spec.cgroup_parent {
            std::fs::DirBuilder::new()
                .mode(0o755)
                .recursive(true)
                .create(parent)
                .map_err(|e| RcError::io("mkdir", parent.display(), e))?;
        }
        let mut keep: Vec<OwnedFd> = Vec::new();
        let mut env = spec.env.clone();
        for f in &spec.files {
            let file = OpenOptions::new()
                .read(f.read)
                .write(f.write)
                .open(&f.path)
                .map_err(|e| RcError::io("open", f.path.display(), e))?;
            let fd: OwnedFd = file.into();
            env.push((
                env_key("ANDROID_FILE_", &f.path.display().to_string()),
                fd.as_raw_fd().to_string(),
            ));
            keep.push(fd);
        }
        for s in &spec.sockets {
            let fd = create_socket(s)?;
            env.push((
                env_key("ANDROID_SOCKET_", &s.name),
                fd.as_raw_fd().to_string(),
            ));
            keep.push(fd);
        }
        let setup = ChildSetup {
            uid: spec.uid,
            gid: spec.gid,
            groups: spec.groups.clone(),
            seclabel: spec
                .seclabel
                .as_deref()
                .map(CString::new)
                .transpose()
                .map_err(|_| RcError::Invalid(format!("seclabel of {program} contains NUL")))?,
            keep_fds: keep.iter().map(|f| f.as_raw_fd()).collect(),
            cgroup_parent: spec
                .cgroup_parent
                .as_ref()
                .map(|p| p.as_os_str().as_encoded_bytes().to_vec()),
            caps,
        };
        let mut cmd = Command::new(&spec.path);
        if let Some(argv0) = spec.args.first() {
            cmd.arg0(argv0);
        }
        cmd.args(spec.args.iter().skip(1))
            .env_clear()
            .envs(env)
            .stdin(open_stdio(&spec.stdio.stdin, false))
            .stdout(open_stdio(&spec.stdio.stdout, true))
            .stderr(open_stdio(&spec.stdio.stdout, true));
        // SAFETY: `apply` only makes async-signal-safe system calls on data prepared
        // before the fork; it allocates nothing and touches no locks.
        unsafe {
            cmd.pre_exec(move || setup.apply());
        }
        let child = cmd.spawn().map_err(|source| RcError::Exec {
            // The domain is named: an exec the policy refuses fails with EACCES.
            path: match &spec.seclabel {
                Some(domain) => format!("{program} in {domain}"),
                None => program,
            },
            source,
        })?;
        // The reaper owns waiting; dropping `Child` neither waits nor kills.
        i32::try_from(child.id()).map_err(|_| RcError::Invalid("pid out of range".into()))
    }

    fn kill(&mut self, pid: i32, signal: i32) -> Result<(), RcError> {
        let sig = Signal::try_from(signal).map_err(|e| RcError::io("kill", pid, errno_io(e)))?;
        match nix::sys::signal::killpg(Pid::from_raw(pid), sig) {
            Ok(()) => Ok(()),
            Err(Errno::ESRCH) => nix::sys::signal::kill(Pid::from_raw(pid), sig)
                .map_err(|e| RcError::io("kill", pid, errno_io(e))),
            Err(e) => Err(RcError::io("kill", pid, errno_io(e))),
        }
    }

    fn kill_cgroup(&mut self, cgroup: &Path, signal: i32) -> Result<(), RcError> {
        let shown = cgroup.display();
        if signal == libc::SIGKILL {
            // cgroup v2 `cgroup.kill` (Linux 5.14): also catches processes forking now.
            match OpenOptions::new()
                .write(true)
                .open(cgroup.join("cgroup.kill"))
                .and_then(|mut f| f.write_all(b"1"))
            {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound && !cgroup.exists() => return Ok(()),
                Err(_) => {}
            }
        }
        let procs = match std::fs::read_to_string(cgroup.join("cgroup.procs")) {
            Ok(p) => p,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(RcError::io("read cgroup.procs of", shown, e)),
        };
        let sig = Signal::try_from(signal).map_err(|e| RcError::io("kill", &shown, errno_io(e)))?;
        for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            match nix::sys::signal::kill(Pid::from_raw(pid), sig) {
                Ok(()) | Err(Errno::ESRCH) => {}
                Err(e) => return Err(RcError::io("kill", pid, errno_io(e))),
            }
        }
        Ok(())
    }

    fn remove_cgroup(&mut self, cgroup: &Path) -> Result<bool, RcError> {
        match std::fs::remove_dir(cgroup) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => Ok(false),
            Err(e) => Err(RcError::io("rmdir", cgroup.display(), e)),
        }
    }

    fn kill_all(&mut self, signal: i32) {
        if getpid() != 1 {
            // Never signal every process of the machine a test runs on.
            log::warn!("init: not PID 1: not signalling every process");
            return;
        }
        if let Ok(sig) = Signal::try_from(signal) {
            let _ = nix::sys::signal::kill(Pid::from_raw(-1), sig);
        }
    }

    fn reap(&mut self) -> Vec<(i32, ExitStatus)> {
        let mut out = Vec::new();
        loop {
            match nix::sys::wait::waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) => {
                    out.push((pid.as_raw(), ExitStatus::Exited(code)))
                }
                Ok(WaitStatus::Signaled(pid, sig, _)) => {
                    out.push((pid.as_raw(), ExitStatus::Signaled(sig as i32)))
                }
                Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => break,
                Ok(_) | Err(Errno::EINTR) => continue,
                Err(e) => {
                    log::error!("init: waitpid: {e}");
                    break;
                }
            }
        }
        out
    }

    fn mkdir(&mut self, path: &Path, mode: u32) -> Result<bool, RcError> {
        match std::fs::DirBuilder::new().mode(mode).create(path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
                    Ok(false)
                } else {
                    Err(RcError::io("mkdir", path.display(), e))
                }
            }
            Err(e) => Err(RcError::io("mkdir", path.display(), e)),
        }
    }

    fn chmod(&mut self, path: &Path, mode: u32) -> Result<(), RcError> {
        chmod_nofollow(path, mode).map_err(|e| RcError::io("chmod", path.display(), e))
    }

    fn chown(&mut self, path: &Path, uid: Option<u32>, gid: Option<u32>) -> Result<(), RcError> {
        std::os::unix::fs::lchown(path, uid, gid)
            .map_err(|e| RcError::io("chown", path.display(), e))
    }

    fn symlink(&mut self, target: &Path, link: &Path) -> Result<(), RcError> {
        std::os::unix::fs::symlink(target, link)
            .map_err(|e| RcError::io("symlink", link.display(), e))
    }

    fn unlink(&mut self, path: &Path) -> Result<(), RcError> {
        std::fs::remove_file(path).map_err(|e| RcError::io("rm", path.display(), e))
    }

    fn rmdir(&mut self, path: &Path) -> Result<(), RcError> {
        std::fs::remove_dir(path).map_err(|e| RcError::io("rmdir", path.display(), e))
    }

    fn write_file(&mut self, path: &Path, data: &[u8]) -> Result<(), RcError> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .and_then(|mut f| f.write_all(data))
            .map_err(|e| RcError::io("write", path.display(), e))
    }

    fn read_file(
        &mut self,
        path: &Path,
        limit: usize,
        copy_source: bool,
    ) -> Result<Vec<u8>, RcError> {
        let err = |e| RcError::io("read", path.display(), e);
        let mut opts = OpenOptions::new();
        opts.read(true);
        if copy_source {
            opts.custom_flags(libc::O_NOFOLLOW);
        }
        let f = opts.open(path).map_err(err)?;
        if copy_source {
            let mode = f.metadata().map_err(err)?.permissions().mode();
            if mode & 0o022 != 0 {
                return Err(RcError::Invalid(format!(
                    "refusing to copy group- or world-writable {}",
                    path.display()
                )));
            }
        }
        let mut data = Vec::new();
        f.take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1))
            .read_to_end(&mut data)
            .map_err(err)?;
        if data.len() > limit {
            return Err(RcError::Invalid(format!(
                "{} is larger than {limit} bytes",
                path.display()
            )));
        }
        Ok(data)
    }

    fn exists(&mut self, path: &Path) -> bool {
        path.exists()
    }

    fn mount(&mut self, m: &MountSpec) -> Result<(), RcError> {
        nix::mount::mount(
            Some(m.source.as_str()),
            &m.target,
            Some(m.fstype.as_str()),
            MsFlags::from_bits_truncate(m.flags),
            m.data.as_deref(),
        )
        .map_err(|e| RcError::io("mount", m.target.display(), errno_io(e)))
    }

    fn umount(&mut self, path: &Path) -> Result<(), RcError> {
        nix::mount::umount2(path, MntFlags::empty())
            .map_err(|e| RcError::io("umount", path.display(), errno_io(e)))
    }

    fn insmod(&mut self, path: &Path, params: &str, force: bool) -> Result<(), RcError> {
        use nix::kmod::{finit_module, ModuleInitFlags};
        let f = File::open(path).map_err(|e| RcError::io("insmod", path.display(), e))?;
        let params = CString::new(params)
            .map_err(|_| RcError::Invalid("module options contain NUL".into()))?;
        let flags = if force {
            ModuleInitFlags::MODULE_INIT_IGNORE_MODVERSIONS
                | ModuleInitFlags::MODULE_INIT_IGNORE_VERMAGIC
        } else {
            ModuleInitFlags::empty()
        };
        match finit_module(&f, &params, flags) {
            Ok(()) | Err(Errno::EEXIST) => Ok(()),
            Err(e) => Err(RcError::io("insmod", path.display(), errno_io(e))),
        }
    }

    fn setrlimit(&mut self, resource: Rlimit, cur: u64, max: u64) -> Result<(), RcError> {
        use nix::sys::resource::Resource as R;
        let r = match resource.0 {
            0 => R::RLIMIT_CPU,
            1 => R::RLIMIT_FSIZE,
            2 => R::RLIMIT_DATA,
            3 => R::RLIMIT_STACK,
            4 => R::RLIMIT_CORE,
            5 => R::RLIMIT_RSS,
            6 => R::RLIMIT_NPROC,
            7 => R::RLIMIT_NOFILE,
            8 => R::RLIMIT_MEMLOCK,
            9 => R::RLIMIT_AS,
            10 => R::RLIMIT_LOCKS,
            11 => R::RLIMIT_SIGPENDING,
            12 => R::RLIMIT_MSGQUEUE,
            13 => R::RLIMIT_NICE,
            14 => R::RLIMIT_RTPRIO,
            15 => R::RLIMIT_RTTIME,
            n => return Err(RcError::Invalid(format!("unknown rlimit resource {n}"))),
        };
        nix::sys::resource::setrlimit(r, cur, max)
            .map_err(|e| RcError::io("setrlimit", resource.0, errno_io(e)))
    }

    fn set_log_level(&mut self, level: log::LevelFilter) {
        log::set_max_level(level);
    }

    fn sync(&mut self) {
        nix::unistd::sync();
    }

    fn power(&mut self, action: &PowerAction) -> RcError {
        use nix::sys::reboot::{reboot, RebootMode};
        if getpid() != 1 {
            // Never power off the machine a test (or a host tool) runs on.
            return RcError::Invalid(format!("not PID 1: not performing {action:?}"));
        }
        let mode = match action {
            PowerAction::PowerOff => RebootMode::RB_POWER_OFF,
            PowerAction::Reboot(_) => RebootMode::RB_AUTOBOOT,
        };
        match reboot(mode) {
            Err(e) => RcError::io("reboot", format!("{mode:?}"), errno_io(e)),
            Ok(never) => match never {},
        }
    }

    fn page_size(&self) -> usize {
        page_size()
    }
}

/// `chmod` without following a final symlink (AOSP `fchmodat(AT_SYMLINK_NOFOLLOW)`, as
/// bionic implements it): the path is opened `O_PATH|O_NOFOLLOW`, a symlink is refused with
/// `ELOOP`, and the inode that was opened is changed through `/proc/self/fd`, so a link
/// planted between the check and the change cannot redirect it.
fn chmod_nofollow(path: &Path, mode: u32) -> io::Result<()> {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_NOFOLLOW)
        .open(path)?;
    if f.metadata()?.file_type().is_symlink() {
        return Err(io::Error::from_raw_os_error(libc::ELOOP));
    }
    std::fs::set_permissions(
        format!("/proc/self/fd/{}", f.as_raw_fd()),
        std::fs::Permissions::from_mode(mode),
    )
}

/// The memory page size.
pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf has no memory effects; _SC_PAGESIZE is always supported.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(n).unwrap_or(4096)
}

/// Writes one line without the logger (whose lock a panic may hold): as PID 1 to the
/// kernel log on a fresh descriptor (the kernel echoes it on the console), otherwise (or
/// if that fails) to stderr.
pub(crate) fn emergency_line(line: &str) {
    if getpid() == 1 {
        if let Ok(mut f) = OpenOptions::new().write(true).open("/dev/kmsg") {
            if f.write_all(format!("<2>{line}\n").as_bytes()).is_ok() {
                return;
            }
        }
    }
    let _ = std::io::stderr().write_all(format!("{line}\n").as_bytes());
}

/// Sets init's own umask (AOSP's init runs with 0, so rc modes are exact).
pub(crate) fn set_umask(mask: u32) {
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
}

/// Mounts the cgroup v2 hierarchy at `dir` unless it is there already (AOSP
/// `SetupCgroups`, `cgroups.json`'s `Cgroups2` entry).
pub(crate) fn mount_cgroup2(dir: &Path) -> Result<(), RcError> {
    if dir.join("cgroup.procs").exists() {
        return Ok(());
    }
    nix::mount::mount(
        Some("none"),
        dir,
        Some("cgroup2"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .map_err(|e| RcError::io("mount cgroup2 on", dir.display(), errno_io(e)))
}

/// Makes this process a child subreaper (so orphans are reaped when not PID 1).
pub(crate) fn become_subreaper() {
    if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
        log::warn!("init: PR_SET_CHILD_SUBREAPER: {e}");
    }
}

/// SIGCHLD delivered through a non-blocking signalfd (the signal is blocked).
pub(crate) struct SignalWatch {
    fd: SignalFd,
}

impl SignalWatch {
    pub(crate) fn new() -> Result<SignalWatch, RcError> {
        let mut mask = SigSet::empty();
        mask.add(Signal::SIGCHLD);
        mask.thread_block()
            .map_err(|e| RcError::io("sigprocmask", "SIGCHLD", errno_io(e)))?;
        let fd = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
            .map_err(|e| RcError::io("signalfd", "SIGCHLD", errno_io(e)))?;
        Ok(SignalWatch { fd })
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Consumes pending notifications (the reaper then calls `waitpid` until empty).
    pub(crate) fn drain(&self) {
        while let Ok(Some(_)) = self.fd.read_signal() {}
    }
}

/// Waits until one of `fds` is readable or `timeout` passes; returns readiness per fd.
pub(crate) fn wait_readable(fds: &[BorrowedFd<'_>], timeout: Option<Duration>) -> Vec<bool> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let mut pfds: Vec<PollFd> = fds
        .iter()
        .map(|fd| PollFd::new(*fd, PollFlags::POLLIN))
        .collect();
    let t = match timeout {
        None => PollTimeout::NONE,
        Some(d) => PollTimeout::try_from(
            d.as_millis()
                .saturating_add(u128::from(d.subsec_nanos() % 1_000_000 != 0)),
        )
        .unwrap_or(PollTimeout::MAX),
    };
    match poll(&mut pfds, t) {
        Ok(_) => pfds
            .iter()
            .map(|p| p.revents().is_some_and(|r| !r.is_empty()))
            .collect(),
        Err(_) => vec![false; fds.len()],
    }
}

/// Pid of this process.
pub(crate) fn getpid() -> i32 {
    nix::unistd::getpid().as_raw()
}

/// Blocks forever (PID 1 must never exit).
pub(crate) fn sleep_forever() -> ! {
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chmod_write_and_mkdir_never_follow_a_planted_symlink() {
        use std::os::unix::fs::symlink;
        let d = tempfile::tempdir().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        let target = d.path().join("secret");
        std::fs::write(&target, b"secret").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        let dir = d.path().join("dir");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let link = d.path().join("planted");
        let dir_link = d.path().join("planted_dir");
        let dangling = d.path().join("dangling");
        symlink(&target, &link).unwrap();
        symlink(&dir, &dir_link).unwrap();
        symlink(d.path().join("created"), &dangling).unwrap();
        let mut p = RealPlatform::new();

        let e = p.chmod(&link, 0o666).unwrap_err().to_string();
        assert!(e.contains("chmod") && e.contains("os error 40"), "{e}");
        assert!(p.chmod(&dir_link, 0o777).is_err());
        assert!(p.write_file(&link, b"pwned").is_err());
        assert!(p.write_file(&dangling, b"pwned").is_err());
        assert!(p.mkdir(&dir_link, 0o777).is_err());
        // lchown: the link's own owner (the same ids here), never the target's.
        let (uid, gid) = (
            nix::unistd::getuid().as_raw(),
            nix::unistd::getgid().as_raw(),
        );
        p.chown(&link, Some(uid), Some(gid)).unwrap();
        assert_eq!(mode(&target), 0o600);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(std::fs::read(&target).unwrap(), b"secret");
        assert!(!d.path().join("created").exists());

        // Real files and directories are changed as asked.
        p.chmod(&target, 0o4640).unwrap();
        assert_eq!(mode(&target), 0o4640);
        p.chmod(&dir, 0o751).unwrap();
        assert_eq!(mode(&dir), 0o751);
    }

    #[test]
    fn capability_sets_are_checked_against_the_kernel() {
        assert!(
            last_valid_cap() >= 37,
            "CAP_AUDIT_READ exists since Linux 3.16"
        );
        let e = check_capabilities(1 << 62).unwrap_err().to_string();
        assert!(e.contains("not supported by the kernel"), "{e}");
        assert!(check_capabilities(1 << 21).is_ok());
    }

    #[test]
    fn spawn_reports_missing_programs_and_reaps() {
        let mut p = RealPlatform::new();
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        std::fs::write(&out, b"").unwrap();
        let spec = |path: &str, args: &[&str]| SpawnSpec {
            path: path.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
            env: vec![("V".into(), "env-ok".into())],
            uid: nix::unistd::getuid().as_raw(),
            gid: nix::unistd::getgid().as_raw(),
            groups: Vec::new(),
            seclabel: None,
            stdio: crate::platform::StdioSpec {
                stdin: "/dev/null".into(),
                stdout: out.clone(),
            },
            files: Vec::new(),
            sockets: Vec::new(),
            cgroup_parent: None,
            capabilities: None,
        };
        let err = p.spawn(&spec("/nonexistent/prog", &["prog"])).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/prog"), "{err}");
        let pid = p
            .spawn(&spec("/bin/sh", &["sh", "-c", "echo $V $(umask); exit 3"]))
            .unwrap();
        let mut got = Vec::new();
        while got.is_empty() {
            wait_readable(&[], Some(Duration::from_millis(5)));
            got = p.reap().into_iter().filter(|(p, _)| *p == pid).collect();
        }
        assert_eq!(got, vec![(pid, ExitStatus::Exited(3))]);
        // Children start with AOSP's umask 077.
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "env-ok 0077\n");
    }
}
