//! Deterministic ext4 images from a directory, with e2fsprogs' `mke2fs -d`.
//!
//! e2fsprogs 1.47.0 (bookworm) does not read `SOURCE_DATE_EPOCH`, but it honours
//! `E2FSPROGS_FAKE_TIME` (non-zero) for the superblock times and inode creation times.
//! `mke2fs -d` copies atime/mtime/ctime and uid/gid from the source files, so after
//! mke2fs one `debugfs -w` session sets those to the fixed time and to 0:0 for every
//! inode. Together with a fixed UUID, hash seed, no journal and no resize inode, two
//! builds of the same tree are byte-identical. The fixed time is `SOURCE_DATE_EPOCH`
//! when set (and > 0), else [`DEFAULT_EPOCH`]. Not normalised: permissions (kept from
//! the source, as they matter) and directory-entry order, which follows the source
//! file system's `readdir` order.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{io_err, Error, Result};

/// File-system UUID and directory hash seed of every image.
pub const FS_UUID: &str = "6d696372-6f64-4072-8f69-642d76656e64";
/// Timestamp used when `SOURCE_DATE_EPOCH` is unset (2001-09-09T01:46:40Z).
pub const DEFAULT_EPOCH: u64 = 1_000_000_000;
/// ext4 block size used.
pub const EXT4_BLOCK_SIZE: u64 = 4096;

/// What the source tree contains (paths relative to the root, sorted, with their
/// `st_mode`).
struct Tree {
    paths: Vec<(String, u32)>,
    data_blocks: u64,
}

/// SELinux labels to write into the image at build time, as AOSP's e2fsdroid does:
/// every inode gets the `security.selinux` of its path under `mount_point` in
/// `contexts` (nothing if no spec matches, or `<<none>>`).
pub struct Labels<'a> {
    /// The file_contexts to label from (e.g. the vendor's `vendor_file_contexts`).
    pub contexts: &'a sepolicy::FileContexts,
    /// Where the image is mounted in the guest (`/vendor`).
    pub mount_point: &'a str,
}

fn scan(root: &Path) -> Result<Tree> {
    let mut paths = Vec::new();
    let mut data_blocks = 0u64;
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = root.join(&rel);
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .map_err(io_err(format!("reading {}", dir.display())))?
            .collect::<std::io::Result<_>>()
            .map_err(io_err(format!("reading {}", dir.display())))?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let rel_path = rel.join(e.file_name());
            let text = rel_path
                .to_str()
                .filter(|s| !s.contains(['"', '\n', '\\']))
                .ok_or_else(|| {
                    Error::Invalid(format!(
                        "file name {:?} must be UTF-8 without quotes, backslashes or newlines",
                        rel_path
                    ))
                })?
                .to_string();
            let meta = std::fs::symlink_metadata(e.path())
                .map_err(io_err(format!("stat {}", rel_path.display())))?;
            data_blocks += meta.len().div_ceil(EXT4_BLOCK_SIZE) + 1;
            if meta.is_dir() {
                stack.push(rel_path);
            }
            paths.push((text, std::os::unix::fs::MetadataExt::mode(&meta)));
        }
    }
    paths.sort();
    Ok(Tree { paths, data_blocks })
}

fn epoch() -> u64 {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|&t| t > 0)
        .unwrap_or(DEFAULT_EPOCH)
}

/// Runs a tool to completion; returns its standard error.
pub(crate) fn run(tool: &'static str, cmd: &mut Command, stdin: Option<&str>) -> Result<String> {
    let mut child = cmd
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(io_err(format!("running {tool}")))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        use std::io::Write;
        pipe.write_all(text.as_bytes())
            .map_err(io_err(format!("writing to {tool}")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(io_err(format!("waiting for {tool}")))?;
    if !out.status.success() {
        return Err(Error::Tool {
            tool,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The automatic image size for a tree: 5/4 of its data blocks (one extra block per
/// entry) plus 2 MiB of file-system metadata, rounded up to 1 MiB, at least 4 MiB.
fn auto_size(tree: &Tree) -> u64 {
    let data = tree.data_blocks.saturating_mul(EXT4_BLOCK_SIZE);
    let size = data.saturating_add(data / 4).saturating_add(2 << 20);
    size.div_ceil(1 << 20).saturating_mul(1 << 20).max(4 << 20)
}

/// Builds an ext4 image of `dir` at `out` (overwritten). `size_bytes` must be a multiple
/// of 4096; `None` picks content + margin (see the module docs for determinism).
pub fn build_ext4(dir: &Path, out: &Path, size_bytes: Option<u64>) -> Result<()> {
    build_ext4_labelled(dir, out, size_bytes, None)
}

/// [`build_ext4`], also writing SELinux labels from `labels` into every inode.
pub fn build_ext4_labelled(
    dir: &Path,
    out: &Path,
    size_bytes: Option<u64>,
    labels: Option<&Labels<'_>>,
) -> Result<()> {
    let tree = scan(dir)?;
    let size = match size_bytes {
        Some(s) if s % EXT4_BLOCK_SIZE == 0 && s > 0 => s,
        Some(s) => {
            return Err(Error::Invalid(format!(
                "ext4 size {s} is not a positive multiple of 4096"
            )))
        }
        None => auto_size(&tree),
    };
    let file = std::fs::File::create(out).map_err(io_err(format!("creating {}", out.display())))?;
    file.set_len(size)
        .map_err(io_err(format!("sizing {}", out.display())))?;
    drop(file);
    let fake_time = epoch().to_string();
    let inodes = (tree.paths.len() as u64 + 32).max(64);
    run(
        "mke2fs",
        Command::new("mke2fs")
            .env("E2FSPROGS_FAKE_TIME", &fake_time)
            .args(["-q", "-F", "-t", "ext4", "-b", "4096", "-m", "0", "-I", "256"])
            .args(["-N", &inodes.to_string()])
            .args(["-O", "^has_journal,^resize_inode,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize"])
            .args(["-U", FS_UUID, "-L", "vendor"])
            .arg("-E")
            .arg(format!("hash_seed={FS_UUID},root_owner=0:0,nodiscard"))
            .arg("-d")
            .arg(dir)
            .arg(out)
            .arg(format!("{}k", size / 1024)),
        None,
    )
    .map(drop)?;
    let mut script = String::new();
    let root_mode = std::os::unix::fs::MetadataExt::mode(
        &std::fs::metadata(dir).map_err(io_err(format!("stat {}", dir.display())))?,
    );
    let targets = [
        ("/".to_string(), root_mode),
        ("/lost+found".to_string(), 0o040700),
    ]
    .into_iter()
    .chain(tree.paths.iter().map(|(p, m)| (format!("/{p}"), *m)));
    // Label values go through files (debugfs `ea_set -f`), one per distinct context,
    // each NUL-terminated as libselinux writes them.
    let label_dir = tempfile::tempdir().map_err(io_err("label scratch directory".to_string()))?;
    let mut label_files: std::collections::BTreeMap<String, PathBuf> = Default::default();
    for (p, mode) in targets {
        for field in ["atime", "mtime", "ctime", "crtime"] {
            let _ = writeln!(script, "sif \"{p}\" {field} {fake_time}");
        }
        let _ = writeln!(script, "sif \"{p}\" uid 0");
        let _ = writeln!(script, "sif \"{p}\" gid 0");
        let Some(l) = labels else { continue };
        let guest_path = format!(
            "{}{}",
            l.mount_point.trim_end_matches('/'),
            p.trim_end_matches('/')
        );
        let guest_path = if guest_path.is_empty() {
            "/".to_string()
        } else {
            guest_path
        };
        let Some(ctx) = l.contexts.lookup_mode(guest_path.as_bytes(), mode) else {
            continue;
        };
        let n = label_files.len();
        let file = match label_files.get(ctx) {
            Some(f) => f.clone(),
            None => {
                let f = label_dir.path().join(format!("label{n}"));
                let mut v = ctx.as_bytes().to_vec();
                v.push(0);
                std::fs::write(&f, v).map_err(io_err(format!("writing {}", f.display())))?;
                label_files.insert(ctx.to_string(), f.clone());
                f
            }
        };
        let _ = writeln!(
            script,
            "ea_set -f \"{}\" \"{p}\" security.selinux",
            file.display()
        );
    }
    let stderr = run(
        "debugfs",
        Command::new("debugfs")
            .env("E2FSPROGS_FAKE_TIME", &fake_time)
            .args(["-w", "-f", "-"])
            .arg(out),
        Some(&script),
    )?;
    // debugfs exits 0 even when a command fails; anything but its banner is an error.
    let problems: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("debugfs "))
        .collect();
    if !problems.is_empty() {
        return Err(Error::Tool {
            tool: "debugfs",
            status: "command errors".into(),
            stderr: problems.join("; "),
        });
    }
    Ok(())
}

/// What [`extract`] copied out of an image, and what it did not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extracted {
    /// Requested paths the image does not have.
    pub missing: Vec<String>,
    /// Symbolic links found (image path, target): removed from the copy, so nothing on
    /// the host is reached through them.
    pub symlinks: Vec<(String, String)>,
    /// Other complaints of debugfs (one line each).
    pub notes: Vec<String>,
}

/// Copies the directories `paths` (absolute, in the image) of the ext4 image `img` into
/// `dest` without mounting it (`debugfs -R "rdump …"`): `/etc` becomes `dest/etc`.
/// Symbolic links are removed from the copy and listed. An image debugfs cannot open is
/// an error.
pub fn extract(img: &Path, paths: &[&str], dest: &Path) -> Result<Extracted> {
    let mut request = String::from("rdump");
    for p in paths {
        if p.chars().any(|c| c.is_whitespace() || c == '"') {
            return Err(Error::Invalid(format!("path {p:?} has blanks or quotes")));
        }
        request.push(' ');
        request.push_str(p);
    }
    request.push_str(&format!(" {}", dest.display()));
    let stderr = run(
        "debugfs",
        Command::new("debugfs").arg("-R").arg(&request).arg(img),
        None,
    )?;
    let mut out = Extracted::default();
    for line in stderr.lines().map(str::trim) {
        if line.is_empty() || line.starts_with("debugfs ") {
            continue;
        }
        if line.contains("while trying to open") || line.contains("Bad magic number") {
            return Err(Error::Tool {
                tool: "debugfs",
                status: "cannot open the ext4 image".into(),
                stderr: line.to_owned(),
            });
        }
        match line.strip_suffix(": File not found by ext2_lookup") {
            Some(p) if paths.contains(&p) => out.missing.push(p.to_owned()),
            _ => out.notes.push(line.to_owned()),
        }
    }
    let mut stack = vec![dest.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let Ok(t) = e.file_type() else { continue };
            if t.is_symlink() {
                let target = std::fs::read_link(&p)
                    .map(|t| t.display().to_string())
                    .unwrap_or_default();
                let inside = p.strip_prefix(dest).unwrap_or(&p);
                out.symlinks
                    .push((format!("/{}", inside.display()), target));
                std::fs::remove_file(&p).map_err(io_err(format!("removing {}", p.display())))?;
            } else if t.is_dir() {
                stack.push(p);
            }
        }
    }
    out.symlinks.sort();
    Ok(out)
}
