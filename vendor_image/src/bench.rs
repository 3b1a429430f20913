//! Hash-tree throughput measurement for `cargo xtask bench hashtree`.

use std::path::Path;
use std::time::{Duration, Instant};

use avb::HashAlgorithm;

use crate::error::{io_err, Result};

/// Computes the sha256 tree (4096-byte blocks, all cores) of the file at `path` with
/// `salt`; returns the root digest and the time the computation took (file open and
/// stat excluded).
pub fn bench_hashtree(path: &Path, salt: &[u8]) -> Result<(Vec<u8>, Duration)> {
    bench_hashtree_with(path, salt, 4096, 0)
}

/// [`bench_hashtree`] with an explicit block size and thread count (0 = all cores).
pub fn bench_hashtree_with(
    path: &Path,
    salt: &[u8],
    block_size: u32,
    threads: usize,
) -> Result<(Vec<u8>, Duration)> {
    let f = std::fs::File::open(path).map_err(io_err(format!("opening {}", path.display())))?;
    let len = f
        .metadata()
        .map_err(io_err(format!("stat {}", path.display())))?
        .len();
    let start = Instant::now();
    let tree =
        avb::compute_hashtree_file(&f, len, block_size, salt, HashAlgorithm::Sha256, threads)?;
    Ok((tree.root_digest, start.elapsed()))
}
