//! Helpers shared by the oracle tests: finding `matchpathcon`, running it,
//! splitting its output, and a small deterministic PRNG.

#![allow(dead_code)] // each test binary uses a subset

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `matchpathcon` from Debian's selinux-utils, if installed.
pub fn find_matchpathcon() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/sbin", "/usr/bin"].map(PathBuf::from));
    dirs.into_iter()
        .map(|d| d.join("matchpathcon"))
        .find(|p| p.is_file())
}

/// Runs `program [prefix...] -f fc [-m mode] -- paths...` and returns stdout.
pub fn run_lookup(
    program: &Path,
    prefix: &[&str],
    fc: &Path,
    mode: Option<&str>,
    paths: &[Vec<u8>],
) -> Vec<u8> {
    let mut cmd = Command::new(program);
    cmd.args(prefix).arg("-f").arg(fc);
    if let Some(m) = mode {
        cmd.arg("-m").arg(m);
    }
    cmd.arg("--")
        .args(paths.iter().map(|p| OsStr::from_bytes(p)));
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", program.display()));
    assert!(
        out.status.success(),
        "{} failed: {}",
        program.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The path as matchpathcon prints and looks it up: one trailing `/` dropped.
pub fn printed(path: &[u8]) -> &[u8] {
    if path.len() > 1 && path.last() == Some(&b'/') {
        &path[..path.len() - 1]
    } else {
        path
    }
}

/// Splits `PATH\tCONTEXT\n` lines, walking the known paths in order (a
/// path may itself contain a newline). `None` marks a path whose line is
/// missing (a failed lookup printed to stderr instead).
pub fn split_output(out: &[u8], paths: &[Vec<u8>]) -> Vec<Option<Vec<u8>>> {
    let mut pos = 0;
    paths
        .iter()
        .map(|p| {
            let mut head = printed(p).to_vec();
            head.push(b'\t');
            if !out[pos..].starts_with(&head) {
                return None;
            }
            let start = pos + head.len();
            let end = out[start..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(out.len(), |n| start + n);
            pos = (end + 1).min(out.len());
            Some(out[start..end].to_vec())
        })
        .collect()
}

/// xorshift64*: deterministic, good enough to generate test inputs.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}
