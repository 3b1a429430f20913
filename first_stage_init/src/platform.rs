//! The privileged operations the first stage performs, as a trait: [`Kernel`] does them
//! through [`crate::sys`], [`Recorder`] records them so the boot logic can be unit-tested
//! on fixture trees without root.

use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use nix::mount::MsFlags;

use crate::{dm, sys};

/// Privileged side effects of the first stage.
pub trait Platform: Sync {
    /// Creates `path` and its missing parents with `mode`.
    fn mkdir_all(&self, path: &Path, mode: u32) -> io::Result<()>;
    /// `mount(2)`.
    fn mount(
        &self,
        source: &str,
        target: &Path,
        fstype: &str,
        flags: MsFlags,
        data: Option<&str>,
    ) -> io::Result<()>;
    /// Writes `contents` to an existing file (sysctl-style writes).
    fn write_file(&self, path: &Path, contents: &[u8]) -> io::Result<()>;
    /// Creates a block device node.
    fn mknod_block(&self, path: &Path, mode: u32, major: u32, minor: u32) -> io::Result<()>;
    /// Creates a symlink `link` → `target`.
    fn symlink(&self, target: &Path, link: &Path) -> io::Result<()>;
    /// Removes a file, device node or symlink (not a directory).
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Issues one device-mapper command (the control node is under `dev_root`).
    fn dm(&self, dev_root: &Path, cmd: dm::Command, req: &mut dm::Request) -> io::Result<()>;
    /// Makes the block device at `node` read-only in the kernel (`BLKROSET`), as `fs_mgr`
    /// does to a partition before dm-verity goes on top of it.
    fn set_block_read_only(&self, node: &Path) -> io::Result<()>;
    /// Device node operations (ueventd's, shared with the first stage).
    fn device_ops(&self) -> &dyn ueventd::DeviceOps;
    /// Kernel module insertion.
    fn module_loader(&self) -> &dyn modprobe::ModuleLoader;
}

/// The real kernel.
pub struct Kernel;

impl Platform for Kernel {
    fn mkdir_all(&self, path: &Path, mode: u32) -> io::Result<()> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(mode)
            .create(path)
    }

    fn mount(
        &self,
        source: &str,
        target: &Path,
        fstype: &str,
        flags: MsFlags,
        data: Option<&str>,
    ) -> io::Result<()> {
        sys::mount(source, target, fstype, flags, data)
    }

    fn write_file(&self, path: &Path, contents: &[u8]) -> io::Result<()> {
        fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|mut f| io::Write::write_all(&mut f, contents))
    }

    fn mknod_block(&self, path: &Path, mode: u32, major: u32, minor: u32) -> io::Result<()> {
        sys::mknod_block(path, mode, major, minor)
    }

    fn symlink(&self, target: &Path, link: &Path) -> io::Result<()> {
        std::os::unix::fs::symlink(target, link)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn dm(&self, dev_root: &Path, cmd: dm::Command, req: &mut dm::Request) -> io::Result<()> {
        let control = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(dev_root.join("mapper/control"))?;
        sys::dm_ioctl(&control, cmd, req)
    }

    fn set_block_read_only(&self, node: &Path) -> io::Result<()> {
        sys::blkroset(&fs::File::open(node)?)
    }

    fn device_ops(&self) -> &dyn ueventd::DeviceOps {
        &ueventd::RealDeviceOps
    }

    fn module_loader(&self) -> &dyn modprobe::ModuleLoader {
        &modprobe::KernelLoader
    }
}

/// One recorded operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `mkdir_all(path, mode)`.
    Mkdir(PathBuf, u32),
    /// `mount(source, target, fstype, flags bits, data)`.
    Mount(String, PathBuf, String, u64, Option<String>),
    /// `write_file(path, contents)`.
    Write(PathBuf, Vec<u8>),
    /// `mknod_block(path, mode, major, minor)`.
    MknodBlock(PathBuf, u32, u32, u32),
    /// `symlink(target, link)`.
    Symlink(PathBuf, PathBuf),
    /// A device-mapper command with a copy of its request bytes.
    Dm(dm::Command, Vec<u8>),
    /// `remove_file(path)`.
    Remove(PathBuf),
    /// `set_block_read_only(node)`.
    ReadOnly(PathBuf),
}

/// A fake that records every operation and succeeds, except for mounts onto targets
/// listed in `fail_mounts`, device-mapper commands listed in `fail_dm`, and directories,
/// nodes and links made at paths listed in `fail_paths`. Device nodes
/// and module loads go to ueventd's and modprobe's own recording fakes.
#[derive(Default)]
pub struct Recorder {
    /// Device node operations.
    pub devices: ueventd::FakeDeviceOps,
    /// Module loads.
    pub modules: modprobe::testing::RecordingLoader,
    /// What was done, in order.
    pub ops: Mutex<Vec<Op>>,
    /// Mount targets that fail with `EINVAL`.
    pub fail_mounts: Vec<PathBuf>,
    /// Device-mapper commands that fail with `EINVAL`.
    pub fail_dm: Vec<dm::Command>,
    /// Paths whose `mkdir_all`, `mknod_block` or `symlink` (the link) fail with `EACCES`.
    pub fail_paths: Vec<PathBuf>,
}

impl Recorder {
    /// The operations recorded so far.
    pub fn take(&self) -> Vec<Op> {
        self.ops.lock().map(|o| o.clone()).unwrap_or_default()
    }

    fn push(&self, op: Op) {
        if let Ok(mut o) = self.ops.lock() {
            o.push(op);
        }
    }

    fn outcome(&self, path: &Path) -> io::Result<()> {
        if self.fail_paths.iter().any(|p| p == path) {
            return Err(io::Error::from_raw_os_error(libc::EACCES));
        }
        Ok(())
    }
}

impl Platform for Recorder {
    fn mkdir_all(&self, path: &Path, mode: u32) -> io::Result<()> {
        self.push(Op::Mkdir(path.to_owned(), mode));
        self.outcome(path)
    }

    fn mount(
        &self,
        source: &str,
        target: &Path,
        fstype: &str,
        flags: MsFlags,
        data: Option<&str>,
    ) -> io::Result<()> {
        self.push(Op::Mount(
            source.to_owned(),
            target.to_owned(),
            fstype.to_owned(),
            flags.bits(),
            data.map(str::to_owned),
        ));
        if self.fail_mounts.iter().any(|t| t == target) {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        Ok(())
    }

    fn write_file(&self, path: &Path, contents: &[u8]) -> io::Result<()> {
        self.push(Op::Write(path.to_owned(), contents.to_owned()));
        Ok(())
    }

    fn mknod_block(&self, path: &Path, mode: u32, major: u32, minor: u32) -> io::Result<()> {
        self.push(Op::MknodBlock(path.to_owned(), mode, major, minor));
        self.outcome(path)
    }

    fn symlink(&self, target: &Path, link: &Path) -> io::Result<()> {
        self.push(Op::Symlink(target.to_owned(), link.to_owned()));
        self.outcome(link)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.push(Op::Remove(path.to_owned()));
        Ok(())
    }

    fn dm(&self, _dev_root: &Path, cmd: dm::Command, req: &mut dm::Request) -> io::Result<()> {
        self.push(Op::Dm(cmd, req.bytes().to_vec()));
        if self.fail_dm.contains(&cmd) {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        Ok(())
    }

    fn set_block_read_only(&self, node: &Path) -> io::Result<()> {
        self.push(Op::ReadOnly(node.to_owned()));
        Ok(())
    }

    fn device_ops(&self) -> &dyn ueventd::DeviceOps {
        &self.devices
    }

    fn module_loader(&self) -> &dyn modprobe::ModuleLoader {
        &self.modules
    }
}
