//! The boundary between the pure interpreter and the OS: the [`Platform`] trait (processes,
//! files, mounts, modules, limits, clock, power), the [`Labeler`] hook for SELinux labels,
//! and the plain-data specs passed across it. `sys::RealPlatform` implements it with
//! system calls; the unit tests use a recording fake with a fake clock.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::RcError;
use crate::service::SocketKind;

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// `exit(code)`.
    Exited(i32),
    /// Killed by this signal.
    Signaled(i32),
}

impl ExitStatus {
    /// The shell-style status: the exit code, or `128 + signal`.
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Exited(c) => c,
            ExitStatus::Signaled(s) => 128i32.saturating_add(s),
        }
    }
}

/// Where a child's stdio goes (paths already resolved by the interpreter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StdioSpec {
    /// File opened read-only as stdin.
    pub stdin: PathBuf,
    /// File opened write-only as stdout and stderr.
    pub stdout: PathBuf,
}

/// A file to open and pass to the child (`file` option): its fd number is published in
/// `ANDROID_FILE_<path with non-alphanumerics as _>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSpec {
    /// Path.
    pub path: PathBuf,
    /// Open for reading.
    pub read: bool,
    /// Open for writing.
    pub write: bool,
}

/// A socket to create and pass to the child (`socket` option): bound at `path`, fd
/// published in `ANDROID_SOCKET_<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketSpec {
    /// Name (for the environment variable).
    pub name: String,
    /// Full path of the socket node.
    pub path: PathBuf,
    /// Socket type.
    pub kind: SocketKind,
    /// Enable `SO_PASSCRED`.
    pub passcred: bool,
    /// Call `listen()` (stream/seqpacket with `+listen`).
    pub listen: bool,
    /// Mode of the node.
    pub perm: u32,
    /// Owner of the node.
    pub uid: u32,
    /// Group of the node.
    pub gid: u32,
}

/// Everything needed to start one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpawnSpec {
    /// Program path.
    pub path: PathBuf,
    /// argv, `args[0]` included.
    pub args: Vec<String>,
    /// The whole environment.
    pub env: Vec<(String, String)>,
    /// User id to switch to.
    pub uid: u32,
    /// Group id to switch to.
    pub gid: u32,
    /// Supplementary groups.
    pub groups: Vec<u32>,
    /// SELinux label to exec with (only set when SELinux is active).
    pub seclabel: Option<String>,
    /// Standard I/O.
    pub stdio: StdioSpec,
    /// Files to pass.
    pub files: Vec<FileSpec>,
    /// Sockets to create and pass.
    pub sockets: Vec<SocketSpec>,
    /// The child creates `pid_<its pid>` under this cgroup v2 directory and moves itself
    /// there before it execs (so nothing it forks escapes); `None` without cgroups.
    pub cgroup_parent: Option<PathBuf>,
    /// `capabilities`: the set to keep (bit `n` = capability `n`), applied as AOSP's
    /// `SetCapsForExec`; a set the kernel cannot give makes the spawn fail.
    pub capabilities: Option<u64>,
}

/// A `mount` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountSpec {
    /// Source (device).
    pub source: String,
    /// Target directory.
    pub target: PathBuf,
    /// Filesystem type.
    pub fstype: String,
    /// `MS_*` flags.
    pub flags: libc::c_ulong,
    /// Filesystem options, if any.
    pub data: Option<String>,
}

/// A resource for `setrlimit`, by its Linux number (`RLIMIT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rlimit(pub u32);

/// A reboot request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PowerAction {
    /// Power off.
    PowerOff,
    /// Reboot (with an optional target, logged only).
    Reboot(String),
}

/// The OS operations the interpreter needs. Paths are absolute guest paths.
pub trait Platform {
    /// Time since boot (`CLOCK_BOOTTIME`, AOSP's `boot_clock`).
    fn now(&self) -> Duration;
    /// Starts a process; the error names the program when it cannot be executed.
    fn spawn(&mut self, spec: &SpawnSpec) -> Result<i32, RcError>;
    /// Sends `signal` to the process group led by `pid` (services run in their own
    /// session), falling back to the process itself.
    fn kill(&mut self, pid: i32, signal: i32) -> Result<(), RcError>;
    /// Sends `signal` to every process of the cgroup v2 directory `cgroup`.
    fn kill_cgroup(&mut self, cgroup: &Path, signal: i32) -> Result<(), RcError>;
    /// Removes the (empty) cgroup `cgroup`: `Ok(false)` while processes are still in it.
    fn remove_cgroup(&mut self, cgroup: &Path) -> Result<bool, RcError>;
    /// Sends `signal` to every process but init (`kill(-1, …)`).
    fn kill_all(&mut self, signal: i32);
    /// Every child that has exited since the last call (non-blocking).
    fn reap(&mut self) -> Vec<(i32, ExitStatus)>;
    /// Creates a directory; `Ok(false)` if a directory already exists there.
    fn mkdir(&mut self, path: &Path, mode: u32) -> Result<bool, RcError>;
    /// `chmod` that never follows a final symlink: a symlink at `path` is refused
    /// (`ELOOP`) and left as it is (AOSP `fchmodat(…, AT_SYMLINK_NOFOLLOW)`).
    fn chmod(&mut self, path: &Path, mode: u32) -> Result<(), RcError>;
    /// `lchown` (a symlink's own owner changes, never its target's); `None` keeps the id.
    fn chown(&mut self, path: &Path, uid: Option<u32>, gid: Option<u32>) -> Result<(), RcError>;
    /// `symlink(target, link)`.
    fn symlink(&mut self, target: &Path, link: &Path) -> Result<(), RcError>;
    /// `unlink`.
    fn unlink(&mut self, path: &Path) -> Result<(), RcError>;
    /// `rmdir`.
    fn rmdir(&mut self, path: &Path) -> Result<(), RcError>;
    /// Writes `data` to `path` (created 0600 if missing, truncated, symlinks not followed).
    fn write_file(&mut self, path: &Path, data: &[u8]) -> Result<(), RcError>;
    /// Reads at most `limit` bytes of `path`. With `copy_source`, refuses symlinks and
    /// group/world-writable files (AOSP's `copy` rules).
    fn read_file(
        &mut self,
        path: &Path,
        limit: usize,
        copy_source: bool,
    ) -> Result<Vec<u8>, RcError>;
    /// True if `path` exists.
    fn exists(&mut self, path: &Path) -> bool;
    /// `mount(2)`.
    fn mount(&mut self, spec: &MountSpec) -> Result<(), RcError>;
    /// `umount(2)`.
    fn umount(&mut self, path: &Path) -> Result<(), RcError>;
    /// `finit_module` of the file at `path`.
    fn insmod(&mut self, path: &Path, params: &str, force: bool) -> Result<(), RcError>;
    /// `setrlimit` for init (inherited by every later child).
    fn setrlimit(&mut self, resource: Rlimit, cur: u64, max: u64) -> Result<(), RcError>;
    /// Changes init's log level.
    fn set_log_level(&mut self, level: log::LevelFilter);
    /// `sync(2)`.
    fn sync(&mut self);
    /// Powers off or reboots. Returns only if that failed (or in a fake).
    fn power(&mut self, action: &PowerAction) -> RcError;
    /// The memory page size (AOSP's `getpagesize()`, for `mmap_rnd_bits` on x86_64);
    /// 4 KiB unless the platform says otherwise.
    fn page_size(&self) -> usize {
        4096
    }
}

/// The SELinux hook the lead wires to the sepolicy crate.
pub trait Labeler {
    /// True when SELinux is active: programs then start in the domain
    /// [`Labeler::exec_domain`] gives, through `/proc/self/attr/exec`.
    fn selinux_active(&self) -> bool;
    /// Restores the label of `path` (recursively when asked) from file_contexts.
    fn restorecon(&mut self, path: &Path, recursive: bool) -> Result<(), String>;
    /// The SELinux domain to start `program` in (`who` names the service or command):
    /// its `seclabel`, else the policy's transition from init's domain, as AOSP's init
    /// computes it before starting anything; `Err` with the reason when there is neither
    /// (AOSP refuses such a program). `Ok(None)` when SELinux is off.
    fn exec_domain(
        &self,
        who: &str,
        program: &Path,
        seclabel: Option<&str>,
    ) -> Result<Option<String>, String> {
        let _ = (who, program, seclabel);
        Ok(None)
    }
}

/// A labeler for systems without SELinux: nothing is active, restorecon does nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoLabeler;

impl Labeler for NoLabeler {
    fn selinux_active(&self) -> bool {
        false
    }

    fn restorecon(&mut self, _path: &Path, _recursive: bool) -> Result<(), String> {
        Ok(())
    }
}

/// Hooks the embedding binary provides.
pub struct Hooks {
    /// SELinux labels.
    pub labeler: Box<dyn Labeler>,
}

impl Default for Hooks {
    fn default() -> Hooks {
        Hooks {
            labeler: Box::new(NoLabeler),
        }
    }
}
