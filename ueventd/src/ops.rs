//! The privileged and filesystem operations ueventd performs, behind [`DeviceOps`] so
//! the logic runs on fixture trees without root. The real implementation is
//! [`crate::RealDeviceOps`] (in `sys`); the recording fake is [`crate::FakeDeviceOps`].

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Character or block device node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    /// `S_IFCHR`.
    Char,
    /// `S_IFBLK`.
    Block,
}

impl NodeKind {
    /// The `S_IF*` file-type bits.
    pub fn type_bits(self) -> u32 {
        match self {
            NodeKind::Char => libc::S_IFCHR,
            NodeKind::Block => libc::S_IFBLK,
        }
    }
}

/// `S_IFDIR`, for labelling created directories.
pub const S_IFDIR: u32 = libc::S_IFDIR;
/// `S_IFLNK`, for labelling created symlinks.
pub const S_IFLNK: u32 = libc::S_IFLNK;

/// What a directory entry is (not following symlinks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// Regular file.
    File,
    /// Directory.
    Dir,
    /// Symbolic link.
    Symlink,
    /// Anything else (device node, socket, …).
    Other,
}

/// One directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// File name.
    pub name: OsString,
    /// Its type, from `lstat`.
    pub kind: EntryKind,
}

/// What a program run by [`DeviceOps::run_program`] produced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProgramOutput {
    /// True when it exited with status 0.
    pub success: bool,
    /// Exit status or signal, for logs.
    pub status: String,
    /// Its standard output.
    pub stdout: Vec<u8>,
    /// Its standard error.
    pub stderr: Vec<u8>,
}

/// Filesystem and privileged operations. Paths are real paths (already below the
/// `dev_root`/`sys_root` given to the daemon). Implementations must be usable from
/// several threads.
pub trait DeviceOps: Send + Sync {
    /// `mknod(path, kind | mode, makedev(major, minor))`; `AlreadyExists` if present.
    fn mknod(
        &self,
        path: &Path,
        kind: NodeKind,
        mode: u32,
        major: u32,
        minor: u32,
    ) -> io::Result<()>;
    /// `chmod` of `path` itself: a symlink there is refused (`ELOOP`), never followed.
    fn chmod(&self, path: &Path, mode: u32) -> io::Result<()>;
    /// `chown` of `path` itself: a symlink there is refused (`ELOOP`), never followed.
    fn chown(&self, path: &Path, uid: u32, gid: u32) -> io::Result<()>;
    /// `lchown` (the link itself).
    fn lchown(&self, path: &Path, uid: u32, gid: u32) -> io::Result<()>;
    /// `symlink(target, link)`; `AlreadyExists` if `link` is present.
    fn symlink(&self, target: &Path, link: &Path) -> io::Result<()>;
    /// `unlink`.
    fn unlink(&self, path: &Path) -> io::Result<()>;
    /// Creates `path` and missing parents with `mode`; returns the directories created,
    /// outermost first.
    fn mkdir_p(&self, path: &Path, mode: u32) -> io::Result<Vec<PathBuf>>;
    /// Opens an existing file write-only (no create, no truncate, a symlink refused) and
    /// writes `data`.
    fn write_file(&self, path: &Path, data: &[u8]) -> io::Result<()>;
    /// Copies the contents of `src` into the existing file `dst` (a symlink refused);
    /// returns the bytes copied.
    fn copy_into(&self, src: &Path, dst: &Path) -> io::Result<u64>;
    /// Reads a whole file of at most `limit` bytes (`InvalidData` if it is longer).
    fn read_file(&self, path: &Path, limit: usize) -> io::Result<Vec<u8>>;
    /// Lists a directory (without `.` and `..`).
    fn read_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>>;
    /// `readlink`.
    fn read_link(&self, path: &Path) -> io::Result<PathBuf>;
    /// Whether `path` exists (`lstat`).
    fn exists(&self, path: &Path) -> bool;
    /// Runs `argv` (no shell) as `uid:gid` with extra environment `env`, waits for it
    /// and captures its output.
    fn run_program(
        &self,
        argv: &[String],
        uid: u32,
        gid: u32,
        env: &[(&str, &str)],
    ) -> io::Result<ProgramOutput>;
    /// A handle that a background thread may own (used for firmware loading). `None`
    /// makes firmware loading run inline.
    fn shared(&self) -> Option<Arc<dyn DeviceOps>>;
}
