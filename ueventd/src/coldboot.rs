//! The coldboot walk (AOSP `UeventListener::RegenerateUevents`): for `/sys/class`,
//! `/sys/block` and `/sys/devices` in that order, visit each directory depth-first,
//! its own `uevent` file before its subdirectories, never following symlinks and
//! skipping names that start with `.`. **Ours:** subdirectories are visited in name
//! order (AOSP uses `readdir` order), each directory at most once, and at most
//! [`MAX_COLDBOOT_DIRS`] directories.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::ops::{DeviceOps, EntryKind};

/// The sysfs trees walked, in order.
pub const COLDBOOT_ROOTS: [&str; 3] = ["class", "block", "devices"];
/// Upper bound on directories visited.
pub const MAX_COLDBOOT_DIRS: usize = 1 << 20;

/// What a coldboot did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColdbootReport {
    /// Directories visited.
    pub dirs_visited: usize,
    /// `uevent` files `add` was written to.
    pub uevent_writes: usize,
    /// Writes that failed.
    pub write_errors: usize,
    /// Uevents handled.
    pub events_handled: usize,
    /// Uevents whose handling reported an error.
    pub event_errors: usize,
    /// Messages dropped (not from the kernel, malformed, too large, overrun).
    pub dropped: usize,
    /// The walk stopped at [`MAX_COLDBOOT_DIRS`].
    pub truncated: bool,
    /// Wall time.
    pub elapsed: Duration,
}

/// A lazy pre-order walk yielding the `uevent` files to poke.
pub(crate) struct ColdbootWalk {
    roots: Vec<PathBuf>,
    stack: Vec<PathBuf>,
    seen: HashSet<PathBuf>,
    pub(crate) visited: usize,
    pub(crate) truncated: bool,
}

impl ColdbootWalk {
    pub(crate) fn new(sys_root: &Path) -> Self {
        ColdbootWalk {
            roots: COLDBOOT_ROOTS
                .iter()
                .rev()
                .map(|r| sys_root.join(r))
                .collect(),
            stack: Vec::new(),
            seen: HashSet::new(),
            visited: 0,
            truncated: false,
        }
    }

    /// The next `uevent` file, in walk order.
    pub(crate) fn next_file(&mut self, ops: &dyn DeviceOps) -> Option<PathBuf> {
        loop {
            let dir = match self.stack.pop() {
                Some(d) => d,
                None => self.roots.pop()?,
            };
            if !self.seen.insert(dir.clone()) {
                continue;
            }
            if self.visited >= MAX_COLDBOOT_DIRS {
                self.truncated = true;
                self.stack.clear();
                self.roots.clear();
                return None;
            }
            self.visited += 1;
            let Ok(entries) = ops.read_dir(&dir) else {
                continue;
            };
            let mut subdirs: Vec<PathBuf> = Vec::new();
            let mut has_uevent = false;
            for e in entries {
                let name = e.name.to_string_lossy();
                if e.kind == EntryKind::File && name == "uevent" {
                    has_uevent = true;
                } else if e.kind == EntryKind::Dir && !name.starts_with('.') {
                    subdirs.push(dir.join(&e.name));
                }
            }
            subdirs.sort();
            self.stack.extend(subdirs.into_iter().rev());
            if has_uevent {
                return Some(dir.join("uevent"));
            }
        }
    }
}
