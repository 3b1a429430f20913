//! The tree of an initramfs before it is written: files, directories, symlinks and
//! device nodes keyed by their path inside the image.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use flate2::{Compression, GzBuilder};

use crate::newc;

/// One node of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A directory with its permission bits.
    Dir {
        /// Permission bits (e.g. `0o755`).
        mode: u32,
    },
    /// A regular file.
    File {
        /// Permission bits.
        mode: u32,
        /// Contents.
        data: Vec<u8>,
    },
    /// A symbolic link.
    Symlink {
        /// Link target as stored.
        target: String,
    },
    /// A character device node.
    CharDev {
        /// Permission bits.
        mode: u32,
        /// Device major number.
        major: u32,
        /// Device minor number.
        minor: u32,
    },
}

/// Errors building an archive.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// A path that is empty, relative-escaping or not UTF-8.
    #[error("invalid archive path {0:?}: use an absolute path without `..`")]
    InvalidPath(String),
    /// A path was added twice with different contents, or under a non-directory.
    #[error("conflicting entry at {0}")]
    Conflict(String),
    /// Reading a host file or writing the output.
    #[error("{path}: {source}")]
    Io {
        /// The host path involved.
        path: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ArchiveError + '_ {
    move |source| ArchiveError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// An initramfs tree. Paths are stored without the leading `/`.
#[derive(Debug, Clone, Default)]
pub struct Archive {
    entries: BTreeMap<String, Entry>,
}

/// Normalises `/a/b` or `a/b` to `a/b`, rejecting `..`, `.` and empty paths.
fn normalise(path: &str) -> Result<String, ArchiveError> {
    let mut parts = Vec::new();
    for c in Path::new(path).components() {
        match c {
            Component::RootDir => {}
            Component::Normal(p) => match p.to_str() {
                Some(s) => parts.push(s),
                None => return Err(ArchiveError::InvalidPath(path.to_owned())),
            },
            _ => return Err(ArchiveError::InvalidPath(path.to_owned())),
        }
    }
    if parts.is_empty() {
        return Err(ArchiveError::InvalidPath(path.to_owned()));
    }
    Ok(parts.join("/"))
}

impl Archive {
    /// An empty archive holding only `/dev/console` (char 5:1), which the kernel opens as
    /// PID 1's stdin/stdout/stderr before any filesystem is mounted.
    pub fn new() -> Archive {
        let mut a = Archive::default();
        // Cannot fail: fixed, valid paths on an empty tree.
        let _ = a.add_char_dev("/dev/console", 0o600, 5, 1);
        a
    }

    /// Every entry, sorted by path.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The entry at `path`, if any.
    pub fn get(&self, path: &str) -> Option<&Entry> {
        normalise(path).ok().and_then(|p| self.entries.get(&p))
    }

    /// Removes the entry at `path` (not what is below it) and returns it.
    pub fn remove(&mut self, path: &str) -> Option<Entry> {
        normalise(path).ok().and_then(|p| self.entries.remove(&p))
    }

    fn insert(&mut self, path: &str, entry: Entry) -> Result<(), ArchiveError> {
        let key = normalise(path)?;
        // Create missing parents as 0755 directories; refuse a parent that is not one.
        let mut parent = String::new();
        for part in key
            .split('/')
            .collect::<Vec<_>>()
            .split_last()
            .map(|x| x.1)
            .unwrap_or(&[])
        {
            if !parent.is_empty() {
                parent.push('/');
            }
            parent.push_str(part);
            match self.entries.get(&parent) {
                None => {
                    self.entries
                        .insert(parent.clone(), Entry::Dir { mode: 0o755 });
                }
                Some(Entry::Dir { .. }) => {}
                Some(_) => return Err(ArchiveError::Conflict(parent)),
            }
        }
        match self.entries.get(&key) {
            None => {
                self.entries.insert(key, entry);
                Ok(())
            }
            // Re-adding a directory (possibly with another mode) updates its mode.
            Some(Entry::Dir { .. }) if matches!(entry, Entry::Dir { .. }) => {
                self.entries.insert(key, entry);
                Ok(())
            }
            Some(existing) if *existing == entry => Ok(()),
            Some(_) => Err(ArchiveError::Conflict(key)),
        }
    }

    /// Adds an entry as it is (parents are created as needed).
    pub fn insert_entry(&mut self, path: &str, entry: Entry) -> Result<(), ArchiveError> {
        self.insert(path, entry)
    }

    /// Adds (or re-modes) a directory.
    pub fn add_dir(&mut self, path: &str, mode: u32) -> Result<(), ArchiveError> {
        self.insert(
            path,
            Entry::Dir {
                mode: mode & 0o7777,
            },
        )
    }

    /// Adds a regular file.
    pub fn add_file(&mut self, path: &str, mode: u32, data: Vec<u8>) -> Result<(), ArchiveError> {
        self.insert(
            path,
            Entry::File {
                mode: mode & 0o7777,
                data,
            },
        )
    }

    /// Adds a symbolic link `path` → `target`.
    pub fn add_symlink(&mut self, path: &str, target: &str) -> Result<(), ArchiveError> {
        self.insert(
            path,
            Entry::Symlink {
                target: target.to_owned(),
            },
        )
    }

    /// Adds a character device node.
    pub fn add_char_dev(
        &mut self,
        path: &str,
        mode: u32,
        major: u32,
        minor: u32,
    ) -> Result<(), ArchiveError> {
        self.insert(
            path,
            Entry::CharDev {
                mode: mode & 0o7777,
                major,
                minor,
            },
        )
    }

    /// Adds a host file at `dest` with the host file's permission bits.
    pub fn add_host_file(&mut self, dest: &str, src: &Path) -> Result<(), ArchiveError> {
        let meta = fs::metadata(src).map_err(io_err(src))?;
        let data = fs::read(src).map_err(io_err(src))?;
        self.add_file(dest, meta.permissions().mode(), data)
    }

    /// Adds the host directory `src` recursively under `dest`: directories, regular files
    /// (with their permission bits) and symlinks (kept as links). Other file types are an
    /// error.
    pub fn add_host_tree(&mut self, dest: &str, src: &Path) -> Result<(), ArchiveError> {
        let meta = fs::symlink_metadata(src).map_err(io_err(src))?;
        self.add_dir(dest, meta.permissions().mode())?;
        let mut children: Vec<PathBuf> = fs::read_dir(src)
            .map_err(io_err(src))?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(io_err(src))?;
        children.sort();
        for child in children {
            let Some(name) = child.file_name().and_then(|n| n.to_str()) else {
                return Err(ArchiveError::InvalidPath(child.display().to_string()));
            };
            let d = format!("{}/{name}", dest.trim_end_matches('/'));
            let m = fs::symlink_metadata(&child).map_err(io_err(&child))?;
            if m.file_type().is_symlink() {
                let t = fs::read_link(&child).map_err(io_err(&child))?;
                let t = t
                    .to_str()
                    .ok_or_else(|| ArchiveError::InvalidPath(child.display().to_string()))?
                    .to_owned();
                self.add_symlink(&d, &t)?;
            } else if m.is_dir() {
                self.add_host_tree(&d, &child)?;
            } else if m.is_file() {
                self.add_host_file(&d, &child)?;
            } else {
                return Err(ArchiveError::Io {
                    path: child.display().to_string(),
                    source: io::Error::new(io::ErrorKind::Unsupported, "unsupported file type"),
                });
            }
        }
        Ok(())
    }

    /// The uncompressed newc cpio bytes.
    pub fn to_cpio(&self) -> Vec<u8> {
        newc::write(self.entries())
    }

    /// The gzip-compressed newc cpio bytes (no file name, mtime 0).
    pub fn to_cpio_gz(&self) -> Vec<u8> {
        let cpio = self.to_cpio();
        let mut gz = GzBuilder::new()
            .mtime(0)
            .operating_system(3)
            .write(Vec::new(), Compression::best());
        // Writing into a Vec cannot fail.
        let _ = gz.write_all(&cpio);
        gz.finish().unwrap_or_default()
    }

    /// Writes the image to `out`, gzip-compressed if `gzip`.
    pub fn write_to(&self, out: &Path, gzip: bool) -> Result<(), ArchiveError> {
        let bytes = if gzip {
            self.to_cpio_gz()
        } else {
            self.to_cpio()
        };
        fs::write(out, bytes).map_err(io_err(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_are_created_and_sorted() {
        let mut a = Archive::new();
        a.add_file("/system/bin/x", 0o755, b"x".to_vec()).unwrap();
        a.add_symlink("/init", "/system/bin/x").unwrap();
        let paths: Vec<&str> = a.entries().map(|(p, _)| p).collect();
        assert_eq!(
            paths,
            [
                "dev",
                "dev/console",
                "init",
                "system",
                "system/bin",
                "system/bin/x"
            ]
        );
    }

    #[test]
    fn rejects_bad_paths_and_conflicts() {
        let mut a = Archive::new();
        assert!(matches!(
            a.add_dir("/", 0o755),
            Err(ArchiveError::InvalidPath(_))
        ));
        assert!(matches!(
            a.add_dir("/a/../b", 0o755),
            Err(ArchiveError::InvalidPath(_))
        ));
        a.add_file("/f", 0o644, b"1".to_vec()).unwrap();
        a.add_file("/f", 0o644, b"1".to_vec()).unwrap();
        assert!(matches!(
            a.add_file("/f", 0o644, b"2".to_vec()),
            Err(ArchiveError::Conflict(_))
        ));
        assert!(matches!(
            a.add_file("/f/g", 0o644, vec![]),
            Err(ArchiveError::Conflict(_))
        ));
        // A file is replaced by removing it first.
        assert!(matches!(a.remove("/f"), Some(Entry::File { .. })));
        assert_eq!(a.remove("/f"), None);
        a.add_file("/f", 0o644, b"2".to_vec()).unwrap();
    }

    #[test]
    fn host_tree_keeps_modes_and_links() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("etc")).unwrap();
        fs::write(dir.path().join("etc/x.rc"), "on init\n").unwrap();
        fs::set_permissions(
            dir.path().join("etc/x.rc"),
            fs::Permissions::from_mode(0o640),
        )
        .unwrap();
        std::os::unix::fs::symlink("etc/x.rc", dir.path().join("link")).unwrap();
        let mut a = Archive::new();
        a.add_host_tree("/vendor", dir.path()).unwrap();
        assert_eq!(
            a.get("/vendor/etc/x.rc"),
            Some(&Entry::File {
                mode: 0o640,
                data: b"on init\n".to_vec()
            })
        );
        assert_eq!(
            a.get("/vendor/link"),
            Some(&Entry::Symlink {
                target: "etc/x.rc".into()
            })
        );
    }

    #[test]
    fn gzip_is_reproducible() {
        let mut a = Archive::new();
        a.add_file("/init", 0o755, vec![7; 10000]).unwrap();
        assert_eq!(a.to_cpio_gz(), a.clone().to_cpio_gz());
        let gz = a.to_cpio_gz();
        let mut d = flate2::read::GzDecoder::new(&gz[..]);
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut d, &mut out).unwrap();
        assert_eq!(out, a.to_cpio());
    }
}
