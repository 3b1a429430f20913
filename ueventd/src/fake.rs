//! [`FakeDeviceOps`]: a recording [`DeviceOps`] for tests. Mutations are recorded in
//! order and applied to an in-memory overlay (nodes, directories, symlinks, removals);
//! reads see the overlay first and fall back to the real filesystem, so a fixture `/sys`
//! tree in a temporary directory can be read while nothing is really created, chowned
//! or written. Writes to files are recorded (and kept per path) but not performed. Like
//! the real operations, `chmod`, `chown`, `write_file` and `copy_into` refuse a symlink
//! (overlay or real) with `ELOOP`.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::ops::{DeviceOps, DirEntry, EntryKind, NodeKind, ProgramOutput};

/// One recorded operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// [`DeviceOps::mknod`].
    Mknod {
        /// Node path.
        path: PathBuf,
        /// Char or block.
        kind: NodeKind,
        /// Permission bits.
        mode: u32,
        /// Major number.
        major: u32,
        /// Minor number.
        minor: u32,
    },
    /// [`DeviceOps::chmod`].
    Chmod {
        /// Path.
        path: PathBuf,
        /// Mode.
        mode: u32,
    },
    /// [`DeviceOps::chown`].
    Chown {
        /// Path.
        path: PathBuf,
        /// Owner.
        uid: u32,
        /// Group.
        gid: u32,
    },
    /// [`DeviceOps::lchown`].
    Lchown {
        /// Path.
        path: PathBuf,
        /// Owner.
        uid: u32,
        /// Group.
        gid: u32,
    },
    /// [`DeviceOps::symlink`].
    Symlink {
        /// Link target.
        target: PathBuf,
        /// The link.
        link: PathBuf,
    },
    /// [`DeviceOps::unlink`].
    Unlink {
        /// Path.
        path: PathBuf,
    },
    /// One directory created by [`DeviceOps::mkdir_p`].
    Mkdir {
        /// Path.
        path: PathBuf,
        /// Mode.
        mode: u32,
    },
    /// [`DeviceOps::write_file`].
    Write {
        /// Path.
        path: PathBuf,
        /// Data written.
        data: Vec<u8>,
    },
    /// [`DeviceOps::copy_into`].
    Copy {
        /// Source file.
        src: PathBuf,
        /// Destination file.
        dst: PathBuf,
        /// Bytes copied.
        bytes: u64,
    },
    /// [`DeviceOps::run_program`].
    Run {
        /// Command line.
        argv: Vec<String>,
        /// User.
        uid: u32,
        /// Group.
        gid: u32,
        /// Extra environment.
        env: Vec<(String, String)>,
    },
}

/// An entry of the in-memory overlay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FakeEntry {
    /// A directory.
    Dir {
        /// Mode.
        mode: u32,
    },
    /// A device node.
    Node {
        /// Char or block.
        kind: NodeKind,
        /// Permission bits.
        mode: u32,
        /// Major.
        major: u32,
        /// Minor.
        minor: u32,
        /// Owner.
        uid: u32,
        /// Group.
        gid: u32,
    },
    /// A symbolic link.
    Symlink {
        /// Target.
        target: PathBuf,
    },
}

#[derive(Default)]
struct State {
    ops: Vec<Op>,
    entries: BTreeMap<PathBuf, FakeEntry>,
    removed: BTreeSet<PathBuf>,
    written: BTreeMap<PathBuf, Vec<u8>>,
    failures: Vec<(&'static str, PathBuf)>,
    program: Option<ProgramOutput>,
    inline: bool,
}

/// The recording fake. Clones share state.
#[derive(Clone, Default)]
pub struct FakeDeviceOps {
    state: Arc<Mutex<State>>,
}

impl FakeDeviceOps {
    /// An empty fake (firmware loading runs on a thread, see [`Self::set_inline`]).
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// All operations so far, in order.
    pub fn ops(&self) -> Vec<Op> {
        self.lock().ops.clone()
    }

    /// Forgets the recorded operations (the overlay stays).
    pub fn clear_ops(&self) {
        self.lock().ops.clear();
    }

    /// The overlay entry at `path`.
    pub fn entry(&self, path: &Path) -> Option<FakeEntry> {
        self.lock().entries.get(path).cloned()
    }

    /// All bytes written to `path` (by `write_file` and `copy_into`), concatenated.
    pub fn written(&self, path: &Path) -> Vec<u8> {
        self.lock().written.get(path).cloned().unwrap_or_default()
    }

    /// The data of each `write_file` call to `path`, in order.
    pub fn writes_to(&self, path: &Path) -> Vec<Vec<u8>> {
        self.lock()
            .ops
            .iter()
            .filter_map(|op| match op {
                Op::Write { path: p, data } if p == path => Some(data.clone()),
                _ => None,
            })
            .collect()
    }

    /// Pretends a node already exists (as devtmpfs would have made it).
    pub fn add_node(&self, path: &Path, kind: NodeKind, mode: u32, major: u32, minor: u32) {
        self.lock().entries.insert(
            path.to_path_buf(),
            FakeEntry::Node {
                kind,
                mode,
                major,
                minor,
                uid: 0,
                gid: 0,
            },
        );
    }

    /// Makes operation `op` (`"mknod"`, `"write_file"`, `"copy_into"`, …) on `path` fail
    /// with `PermissionDenied`.
    pub fn fail(&self, op: &'static str, path: &Path) {
        self.lock().failures.push((op, path.to_path_buf()));
    }

    /// What [`DeviceOps::run_program`] returns (by default it fails with `NotFound`).
    pub fn set_program_output(&self, output: ProgramOutput) {
        self.lock().program = Some(output);
    }

    /// With `true`, [`DeviceOps::shared`] returns `None` and firmware loads inline.
    pub fn set_inline(&self, inline: bool) {
        self.lock().inline = inline;
    }
}

impl State {
    fn check_fail(&self, op: &'static str, path: &Path) -> io::Result<()> {
        if self.failures.iter().any(|(o, p)| *o == op && p == path) {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("injected {op} failure"),
            ));
        }
        Ok(())
    }

    fn exists(&self, path: &Path) -> bool {
        self.entries.contains_key(path)
            || (!self.removed.contains(path) && fs::symlink_metadata(path).is_ok())
    }

    fn is_dir(&self, path: &Path) -> bool {
        match self.entries.get(path) {
            Some(FakeEntry::Dir { .. }) => true,
            Some(_) => false,
            None => !self.removed.contains(path) && path.is_dir(),
        }
    }

    fn parent_is_dir(&self, path: &Path) -> io::Result<()> {
        match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() && !self.is_dir(parent) => {
                Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{} missing", parent.display()),
                ))
            }
            _ => Ok(()),
        }
    }

    fn is_symlink(&self, path: &Path) -> bool {
        match self.entries.get(path) {
            Some(e) => matches!(e, FakeEntry::Symlink { .. }),
            None => {
                !self.removed.contains(path)
                    && fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
            }
        }
    }

    /// The real operations' answer to a final symlink: `ELOOP`, nothing changed.
    fn refuse_symlink(&self, path: &Path) -> io::Result<()> {
        if self.is_symlink(path) {
            return Err(io::Error::from_raw_os_error(libc::ELOOP));
        }
        Ok(())
    }

    fn must_exist(&self, path: &Path) -> io::Result<()> {
        if self.exists(path) {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::NotFound,
                path.display().to_string(),
            ))
        }
    }
}

impl DeviceOps for FakeDeviceOps {
    fn mknod(
        &self,
        path: &Path,
        kind: NodeKind,
        mode: u32,
        major: u32,
        minor: u32,
    ) -> io::Result<()> {
        let mut st = self.lock();
        st.check_fail("mknod", path)?;
        st.ops.push(Op::Mknod {
            path: path.to_path_buf(),
            kind,
            mode,
            major,
            minor,
        });
        if st.exists(path) {
            return Err(io::Error::from(io::ErrorKind::AlreadyExists));
        }
        st.parent_is_dir(path)?;
        st.removed.remove(path);
        st.entries.insert(
            path.to_path_buf(),
            FakeEntry::Node {
                kind,
                mode,
                major,
                minor,
                uid: 0,
                gid: 0,
            },
        );
        Ok(())
    }

    fn chmod(&self, path: &Path, mode: u32) -> io::Result<()> {
        let mut st = self.lock();
        st.check_fail("chmod", path)?;
        st.ops.push(Op::Chmod {
            path: path.to_path_buf(),
            mode,
        });
        st.must_exist(path)?;
        st.refuse_symlink(path)?;
        match st.entries.get_mut(path) {
            Some(FakeEntry::Node { mode: m, .. }) | Some(FakeEntry::Dir { mode: m }) => *m = mode,
            _ => {}
        }
        Ok(())
    }

    fn chown(&self, path: &Path, uid: u32, gid: u32) -> io::Result<()> {
        let mut st = self.lock();
        st.check_fail("chown", path)?;
        st.ops.push(Op::Chown {
            path: path.to_path_buf(),
            uid,
            gid,
        });
        st.must_exist(path)?;
        st.refuse_symlink(path)?;
        if let Some(FakeEntry::Node { uid: u, gid: g, .. }) = st.entries.get_mut(path) {
            *u = uid;
            *g = gid;
        }
        Ok(())
    }

    fn lchown(&self, path: &Path, uid: u32, gid: u32) -> io::Result<()> {
        let mut st = self.lock();
        st.check_fail("lchown", path)?;
        st.ops.push(Op::Lchown {
            path: path.to_path_buf(),
            uid,
            gid,
        });
        st.must_exist(path)
    }

    fn symlink(&self, target: &Path, link: &Path) -> io::Result<()> {
        let mut st = self.lock();
        st.check_fail("symlink", link)?;
        st.ops.push(Op::Symlink {
            target: target.to_path_buf(),
            link: link.to_path_buf(),
        });
        if st.exists(link) {
            return Err(io::Error::from(io::ErrorKind::AlreadyExists));
        }
        st.parent_is_dir(link)?;
        st.removed.remove(link);
        st.entries.insert(
            link.to_path_buf(),
            FakeEntry::Symlink {
                target: target.to_path_buf(),
            },
        );
        Ok(())
    }

    fn unlink(&self, path: &Path) -> io::Result<()> {
        let mut st = self.lock();
        st.check_fail("unlink", path)?;
        st.ops.push(Op::Unlink {
            path: path.to_path_buf(),
        });
        if st.is_dir(path) {
            return Err(io::Error::other("is a directory"));
        }
        if st.entries.remove(path).is_some() {
            return Ok(());
        }
        st.must_exist(path)?;
        st.removed.insert(path.to_path_buf());
        Ok(())
    }

    fn mkdir_p(&self, path: &Path, mode: u32) -> io::Result<Vec<PathBuf>> {
        let mut st = self.lock();
        st.check_fail("mkdir_p", path)?;
        let mut missing: Vec<PathBuf> = Vec::new();
        for anc in path.ancestors() {
            if anc.as_os_str().is_empty() || st.is_dir(anc) {
                break;
            }
            if st.exists(anc) {
                return Err(io::Error::other(format!(
                    "{} is not a directory",
                    anc.display()
                )));
            }
            missing.push(anc.to_path_buf());
        }
        missing.reverse();
        for dir in &missing {
            st.ops.push(Op::Mkdir {
                path: dir.clone(),
                mode,
            });
            st.removed.remove(dir);
            st.entries.insert(dir.clone(), FakeEntry::Dir { mode });
        }
        Ok(missing)
    }

    fn write_file(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        let mut st = self.lock();
        st.check_fail("write_file", path)?;
        st.ops.push(Op::Write {
            path: path.to_path_buf(),
            data: data.to_vec(),
        });
        st.must_exist(path)?;
        st.refuse_symlink(path)?;
        st.written
            .entry(path.to_path_buf())
            .or_default()
            .extend_from_slice(data);
        Ok(())
    }

    fn copy_into(&self, src: &Path, dst: &Path) -> io::Result<u64> {
        let data = fs::read(src)?;
        let mut st = self.lock();
        st.check_fail("copy_into", dst)?;
        st.must_exist(dst)?;
        st.refuse_symlink(dst)?;
        let bytes = data.len() as u64;
        st.ops.push(Op::Copy {
            src: src.to_path_buf(),
            dst: dst.to_path_buf(),
            bytes,
        });
        st.written
            .entry(dst.to_path_buf())
            .or_default()
            .extend_from_slice(&data);
        Ok(bytes)
    }

    fn read_file(&self, path: &Path, limit: usize) -> io::Result<Vec<u8>> {
        {
            let st = self.lock();
            st.check_fail("read_file", path)?;
            if st.removed.contains(path) || st.entries.contains_key(path) {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    "not a regular file",
                ));
            }
        }
        crate::sys::RealDeviceOps.read_file(path, limit)
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<DirEntry>> {
        let st = self.lock();
        st.check_fail("read_dir", path)?;
        if !st.is_dir(path) {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                path.display().to_string(),
            ));
        }
        let mut out: BTreeMap<OsString, EntryKind> = BTreeMap::new();
        if !st.entries.contains_key(path) {
            if let Ok(real) = crate::sys::RealDeviceOps.read_dir(path) {
                for e in real {
                    if !st.removed.contains(&path.join(&e.name)) {
                        out.insert(e.name, e.kind);
                    }
                }
            }
        }
        for (p, entry) in st.entries.range(path.to_path_buf()..) {
            if !p.starts_with(path) {
                break;
            }
            if p.parent() == Some(path) {
                if let Some(name) = p.file_name() {
                    let kind = match entry {
                        FakeEntry::Dir { .. } => EntryKind::Dir,
                        FakeEntry::Symlink { .. } => EntryKind::Symlink,
                        FakeEntry::Node { .. } => EntryKind::Other,
                    };
                    out.insert(name.to_os_string(), kind);
                }
            }
        }
        Ok(out
            .into_iter()
            .map(|(name, kind)| DirEntry { name, kind })
            .collect())
    }

    fn read_link(&self, path: &Path) -> io::Result<PathBuf> {
        let st = self.lock();
        match st.entries.get(path) {
            Some(FakeEntry::Symlink { target }) => Ok(target.clone()),
            Some(_) => Err(io::Error::new(io::ErrorKind::InvalidInput, "not a symlink")),
            None if st.removed.contains(path) => Err(io::Error::from(io::ErrorKind::NotFound)),
            None => fs::read_link(path),
        }
    }

    fn exists(&self, path: &Path) -> bool {
        self.lock().exists(path)
    }

    fn run_program(
        &self,
        argv: &[String],
        uid: u32,
        gid: u32,
        env: &[(&str, &str)],
    ) -> io::Result<ProgramOutput> {
        let mut st = self.lock();
        st.ops.push(Op::Run {
            argv: argv.to_vec(),
            uid,
            gid,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        });
        st.program
            .clone()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no program in the fake"))
    }

    fn shared(&self) -> Option<Arc<dyn DeviceOps>> {
        if self.lock().inline {
            None
        } else {
            Some(Arc::new(self.clone()))
        }
    }
}
