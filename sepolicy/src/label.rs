//! Labelling files from file_contexts, like `restorecon`.
//!
//! The label of a file is its `security.selinux` extended attribute. All
//! attribute access goes through [`XattrOps`]: [`SystemXattr`] calls
//! `lgetxattr`/`lsetxattr`, [`FakeXattr`] records calls for tests. As
//! restorecon does, a file is looked up with its `lstat` mode, a file with
//! no context (or `<<none>>`) is left alone, a file whose label already
//! equals the wanted one is not written, symlinks are labelled themselves
//! (never followed) and a recursive walk does not descend into directories
//! on another filesystem (the mount point itself is labelled: fts'
//! `FTS_XDEV`). When SELinux is not active, labelling is a logged no-op.
//!
//! Paths are *logical* absolute paths (what file_contexts names); the
//! [`Labeler`] maps them under a physical root (`/` in the guest) so tests
//! can run on fixture trees. Paths must be canonical: absolute, no `.` or
//! `..` (callers pass the paths they created; we do not resolve symlinks).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{CStr, OsString};
use std::fmt;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use crate::error::SepolicyError;
use crate::file_contexts::FileContexts;
use crate::sys;

/// The extended attribute holding a file's SELinux label.
pub const XATTR_NAME_SELINUX: &CStr = c"security.selinux";
/// How many failures a [`RestoreconReport`] keeps (all are counted).
const MAX_RECORDED_FAILURES: usize = 16;

/// Access to the `security.selinux` attribute of a file, never following a
/// final symlink.
pub trait XattrOps {
    /// The raw attribute value, `None` if the file has none.
    fn get(&self, path: &Path) -> io::Result<Option<Vec<u8>>>;
    /// Sets the raw attribute value.
    fn set(&self, path: &Path, value: &[u8]) -> io::Result<()>;
}

/// The real attribute calls (`lgetxattr`/`lsetxattr`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemXattr;

impl XattrOps for SystemXattr {
    fn get(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        sys::lgetxattr(path, XATTR_NAME_SELINUX)
    }

    fn set(&self, path: &Path, value: &[u8]) -> io::Result<()> {
        sys::lsetxattr(path, XATTR_NAME_SELINUX, value)
    }
}

/// An in-memory [`XattrOps`] that records every `set`, for tests.
#[derive(Debug, Default)]
pub struct FakeXattr {
    state: Mutex<FakeState>,
}

#[derive(Debug, Default)]
struct FakeState {
    labels: BTreeMap<PathBuf, Vec<u8>>,
    sets: Vec<(PathBuf, Vec<u8>)>,
    failing: BTreeSet<PathBuf>,
}

impl FakeXattr {
    /// An empty fake: no file has a label.
    pub fn new() -> FakeXattr {
        FakeXattr::default()
    }

    /// Gives `path` the raw label `value`.
    pub fn with_label(self, path: impl Into<PathBuf>, value: &[u8]) -> FakeXattr {
        self.lock().labels.insert(path.into(), value.to_vec());
        self
    }

    /// Makes `set` on `path` fail with `EACCES`.
    pub fn failing_on(self, path: impl Into<PathBuf>) -> FakeXattr {
        self.lock().failing.insert(path.into());
        self
    }

    /// The current raw label of `path`.
    pub fn label(&self, path: &Path) -> Option<Vec<u8>> {
        self.lock().labels.get(path).cloned()
    }

    /// Every successful `set` call, in order.
    pub fn sets(&self) -> Vec<(PathBuf, Vec<u8>)> {
        self.lock().sets.clone()
    }

    fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl XattrOps for FakeXattr {
    fn get(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        Ok(self.lock().labels.get(path).cloned())
    }

    fn set(&self, path: &Path, value: &[u8]) -> io::Result<()> {
        let mut state = self.lock();
        if state.failing.contains(path) {
            return Err(io::Error::from_raw_os_error(libc::EACCES));
        }
        state.labels.insert(path.to_path_buf(), value.to_vec());
        state.sets.push((path.to_path_buf(), value.to_vec()));
        Ok(())
    }
}

/// One label change made (or, in a dry run, that would be made).
#[derive(Debug, Clone, Copy)]
pub struct Relabel<'r> {
    /// The logical path.
    pub path: &'r Path,
    /// The previous label (trailing NULs removed), if any.
    pub old: Option<&'r [u8]>,
    /// The new label.
    pub new: &'r str,
    /// False in a dry run.
    pub applied: bool,
}

/// A file restorecon could not handle.
#[derive(Debug)]
pub struct LabelFailure {
    /// The logical path.
    pub path: PathBuf,
    /// What failed.
    pub error: io::Error,
}

/// What a restorecon pass did.
#[derive(Debug, Default)]
pub struct RestoreconReport {
    /// Files looked at.
    pub examined: usize,
    /// Files whose label was written (or would be, in a dry run).
    pub relabeled: usize,
    /// Files already carrying the wanted label.
    pub unchanged: usize,
    /// Files with no context (no match or `<<none>>`), left alone.
    pub no_context: usize,
    /// Directories on another filesystem, labelled but not descended into.
    pub not_descended: usize,
    /// Mount points left alone (neither labelled nor descended into) by a
    /// labeler that skips mounts ([`Labeler::with_skip_mounts`]).
    pub mounts_skipped: usize,
    /// Files that failed.
    pub failed: usize,
    /// The first failures (at most 16).
    pub failures: Vec<LabelFailure>,
    /// SELinux was not active: nothing was done.
    pub inactive: bool,
}

impl RestoreconReport {
    fn record_failure(&mut self, path: PathBuf, error: io::Error) {
        log::warn!("restorecon: {}: {error}", path.display());
        self.failed += 1;
        if self.failures.len() < MAX_RECORDED_FAILURES {
            self.failures.push(LabelFailure { path, error });
        }
    }
}

impl fmt::Display for RestoreconReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.inactive {
            return write!(f, "SELinux not active, nothing labelled");
        }
        write!(
            f,
            "{} examined, {} relabelled, {} unchanged, {} without context, {} failed",
            self.examined, self.relabeled, self.unchanged, self.no_context, self.failed
        )?;
        if self.mounts_skipped > 0 {
            write!(f, ", {} mount points skipped", self.mounts_skipped)?;
        }
        if let Some(first) = self.failures.first() {
            write!(f, " (first: {}: {})", first.path.display(), first.error)?;
        }
        Ok(())
    }
}

/// The outcome for one file.
enum Step<'c> {
    NoContext,
    Unchanged,
    Relabeled { old: Option<Vec<u8>>, new: &'c str },
}

/// Labels files from a [`FileContexts`].
pub struct Labeler<'a> {
    /// The specs to label from.
    pub contexts: &'a FileContexts,
    /// Attribute access.
    pub ops: &'a dyn XattrOps,
    /// Whether SELinux is active; when false labelling is a logged no-op.
    pub active: bool,
    /// Physical root under which logical paths live (`/` in the guest).
    pub root: PathBuf,
    /// Report changes without writing them.
    pub dry_run: bool,
    /// In a recursive walk, leave other filesystems' mount points alone
    /// instead of labelling them.
    pub skip_mounts: bool,
}

impl<'a> Labeler<'a> {
    /// An active labeler on the real root that writes labels.
    pub fn new(contexts: &'a FileContexts, ops: &'a dyn XattrOps) -> Labeler<'a> {
        Labeler {
            contexts,
            ops,
            active: true,
            root: PathBuf::from("/"),
            dry_run: false,
            skip_mounts: false,
        }
    }

    /// Sets whether SELinux is active (see [`crate::selinux_active`]).
    pub fn with_active(mut self, active: bool) -> Labeler<'a> {
        self.active = active;
        self
    }

    /// Sets the physical root logical paths are resolved under.
    pub fn with_root(mut self, root: impl Into<PathBuf>) -> Labeler<'a> {
        self.root = root.into();
        self
    }

    /// Sets dry-run mode (nothing is written).
    pub fn with_dry_run(mut self, dry_run: bool) -> Labeler<'a> {
        self.dry_run = dry_run;
        self
    }

    /// In recursive walks, leave the mount points of other filesystems alone
    /// (for labelling a root filesystem whose mounts are labelled by their
    /// own rules: procfs, a read-only `/vendor`).
    pub fn with_skip_mounts(mut self, skip: bool) -> Labeler<'a> {
        self.skip_mounts = skip;
        self
    }

    /// Labels `path` (and, if `recursive`, everything below it on the same
    /// filesystem). Every file is attempted; if any failed the error
    /// carries the full report.
    pub fn restorecon(
        &self,
        path: &Path,
        recursive: bool,
    ) -> Result<RestoreconReport, SepolicyError> {
        self.restorecon_with(path, recursive, &mut |_| {})
    }

    /// [`Labeler::restorecon`], calling `observer` for every change.
    pub fn restorecon_with(
        &self,
        path: &Path,
        recursive: bool,
        observer: &mut dyn FnMut(&Relabel<'_>),
    ) -> Result<RestoreconReport, SepolicyError> {
        check_logical(path)?;
        let mut report = RestoreconReport::default();
        if !self.active {
            log::info!("SELinux not active: not labelling {}", path.display());
            report.inactive = true;
            return Ok(report);
        }
        let physical = self.physical(path);
        let meta = fs::symlink_metadata(&physical).map_err(|source| SepolicyError::Label {
            path: path.to_path_buf(),
            source,
        })?;
        let top_dev = meta.dev();
        let mut stack = vec![(path.to_path_buf(), physical, meta)];
        while let Some((logical, physical, meta)) = stack.pop() {
            if self.skip_mounts && meta.dev() != top_dev {
                report.mounts_skipped += 1;
                continue;
            }
            report.examined += 1;
            match self.label_one(&logical, &physical, meta.mode()) {
                Ok(Step::NoContext) => report.no_context += 1,
                Ok(Step::Unchanged) => report.unchanged += 1,
                Ok(Step::Relabeled { old, new }) => {
                    report.relabeled += 1;
                    observer(&Relabel {
                        path: &logical,
                        old: old.as_deref(),
                        new,
                        applied: !self.dry_run,
                    });
                }
                Err(error) => report.record_failure(logical.clone(), error),
            }
            if !recursive || !meta.file_type().is_dir() {
                continue;
            }
            if meta.dev() != top_dev {
                report.not_descended += 1;
                continue;
            }
            match sorted_children(&physical) {
                Ok(names) => {
                    for name in names.into_iter().rev() {
                        let child = physical.join(&name);
                        match fs::symlink_metadata(&child) {
                            Ok(m) => stack.push((logical.join(&name), child, m)),
                            Err(error) => report.record_failure(logical.join(&name), error),
                        }
                    }
                }
                Err(error) => report.record_failure(logical.clone(), error),
            }
        }
        log::debug!("restorecon {}: {report}", path.display());
        if report.failed > 0 {
            return Err(SepolicyError::Restorecon {
                path: path.to_path_buf(),
                report: Box::new(report),
            });
        }
        Ok(report)
    }

    /// Labels a node just created with type `mode` (its `st_mode`), e.g. a
    /// device node made by ueventd or a directory made by `mkdir`.
    pub fn label_new(&self, path: &Path, mode: u32) -> Result<(), SepolicyError> {
        check_logical(path)?;
        if !self.active {
            log::debug!("SELinux not active: not labelling {}", path.display());
            return Ok(());
        }
        let physical = self.physical(path);
        self.label_one(path, &physical, mode)
            .map(|_| ())
            .map_err(|source| SepolicyError::Label {
                path: path.to_path_buf(),
                source,
            })
    }

    fn physical(&self, logical: &Path) -> PathBuf {
        match logical.strip_prefix("/") {
            Ok(rel) if self.root != Path::new("/") => self.root.join(rel),
            _ => logical.to_path_buf(),
        }
    }

    fn label_one(&self, logical: &Path, physical: &Path, mode: u32) -> io::Result<Step<'a>> {
        let contexts: &'a FileContexts = self.contexts;
        let Some(wanted) = contexts.lookup_mode(logical.as_os_str().as_bytes(), mode) else {
            return Ok(Step::NoContext);
        };
        let current = self.ops.get(physical)?;
        let current = current.map(|mut value| {
            while value.last() == Some(&0) {
                value.pop();
            }
            value
        });
        if current.as_deref() == Some(wanted.as_bytes()) {
            return Ok(Step::Unchanged);
        }
        if !self.dry_run {
            // libselinux writes the context with its terminating NUL.
            let mut value = Vec::with_capacity(wanted.len() + 1);
            value.extend_from_slice(wanted.as_bytes());
            value.push(0);
            self.ops.set(physical, &value)?;
            log::debug!("labelled {} {wanted}", logical.display());
        }
        Ok(Step::Relabeled {
            old: current,
            new: wanted,
        })
    }
}

/// Whether `path` is absolute with no `.` or `..` component.
pub(crate) fn is_canonical(path: &Path) -> bool {
    let bytes = path.as_os_str().as_bytes();
    bytes.first() == Some(&b'/')
        && bytes
            .split(|&b| b == b'/')
            .all(|seg| seg != b"." && seg != b"..")
}

/// Rejects relative paths and `.`/`..` components.
fn check_logical(path: &Path) -> Result<(), SepolicyError> {
    if is_canonical(path) {
        Ok(())
    } else {
        Err(SepolicyError::BadPath {
            path: path.to_path_buf(),
        })
    }
}

fn sorted_children(dir: &Path) -> io::Result<Vec<OsString>> {
    let mut names = fs::read_dir(dir)?
        .map(|entry| entry.map(|e| e.file_name()))
        .collect::<io::Result<Vec<_>>>()?;
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests;
