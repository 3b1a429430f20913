//! dm-verity hash trees, computed in the layout avbtool and `veritysetup format
//! --no-superblock` produce: every data block hashed as H(salt ‖ block) into level 0,
//! each level's hashes (digest padded to a power of two) packed into hash blocks and
//! zero-padded to a whole block, the next level hashing those blocks, until one block
//! remains; levels are stored top level first. A single-block image has no tree and
//! its root is H(salt ‖ block). The last data block is zero-padded.
//!
//! Work is spread over threads with `std::thread::scope`: each thread hashes a
//! contiguous range of blocks of a level, reusing a context that already absorbed the
//! salt (cloned per block) and reading files in large chunks with positional reads.

use std::fs::File;
use std::os::unix::fs::FileExt;

use crate::algorithm::{HashAlgorithm, Hasher};
use crate::error::AvbError;

/// Bytes read per positional read when hashing a file (per thread).
const READ_CHUNK: usize = 1 << 20;
/// Below this many blocks a level is hashed on the calling thread.
const MIN_BLOCKS_PER_THREAD: u64 = 64;

/// Sizes and placement of the levels of a hash tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeGeometry {
    /// Byte size of each level, level 0 (hashes of data blocks) first.
    pub level_sizes: Vec<u64>,
    /// Offset of each level from the start of the tree (same indexing; the top level is at 0).
    pub level_offsets: Vec<u64>,
    /// Total tree size.
    pub tree_size: u64,
}

/// The geometry of the tree over `data_blocks` blocks, or `None` if it overflows or
/// `data_blocks` is 0. One data block gives an empty tree.
pub fn tree_geometry(
    data_blocks: u64,
    hash_block_size: u32,
    hash: HashAlgorithm,
) -> Option<TreeGeometry> {
    let padded = hash.digest_len().next_power_of_two() as u64;
    let hbs = u64::from(hash_block_size);
    let per_block = hbs.checked_div(padded).filter(|&n| n >= 2)?;
    if data_blocks == 0 {
        return None;
    }
    let mut level_sizes = Vec::new();
    let mut n = data_blocks;
    while n > 1 {
        let blocks = n.div_ceil(per_block);
        level_sizes.push(blocks.checked_mul(hbs)?);
        n = blocks;
    }
    let mut level_offsets = vec![0u64; level_sizes.len()];
    let mut acc = 0u64;
    for i in (0..level_sizes.len()).rev() {
        level_offsets[i] = acc;
        acc = acc.checked_add(level_sizes[i])?;
    }
    Some(TreeGeometry {
        level_sizes,
        level_offsets,
        tree_size: acc,
    })
}

/// A computed hash tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashTree {
    /// The root digest (what the hashtree descriptor and the DT carry).
    pub root_digest: Vec<u8>,
    /// The tree bytes, top level first (empty for a one-block image).
    pub tree: Vec<u8>,
    /// The number of data blocks hashed (the image rounded up to a block).
    pub data_blocks: u64,
}

/// Where level-0 data comes from.
#[derive(Clone, Copy)]
enum Source<'a> {
    Bytes(&'a [u8]),
    File(&'a File, u64),
}

impl Source<'_> {
    fn len(&self) -> u64 {
        match self {
            Source::Bytes(b) => b.len() as u64,
            Source::File(_, l) => *l,
        }
    }
}

fn resolve_threads(threads: usize) -> usize {
    if threads == 0 {
        std::thread::available_parallelism().map_or(1, usize::from)
    } else {
        threads
    }
}

/// Hashes blocks `first..first+count` of `src` into `out` (`count * stride` bytes).
fn hash_range(
    src: Source<'_>,
    first: u64,
    count: u64,
    block_size: usize,
    salted: &Hasher,
    stride: usize,
    out: &mut [u8],
) -> Result<(), AvbError> {
    let len = src.len();
    let bs = block_size as u64;
    match src {
        Source::Bytes(data) => {
            let mut pad = Vec::new();
            for (i, slot) in out.chunks_exact_mut(stride).enumerate() {
                let start = (first + i as u64) * bs;
                let end = start.saturating_add(bs).min(len);
                let block = data.get(start as usize..end as usize).unwrap_or(&[]);
                let mut h = salted.clone();
                if block.len() == block_size {
                    h.update(block);
                } else {
                    pad.clear();
                    pad.extend_from_slice(block);
                    pad.resize(block_size, 0);
                    h.update(&pad);
                }
                h.finish_into(slot);
            }
        }
        Source::File(file, _) => {
            let per_read = (READ_CHUNK / block_size).max(1) as u64;
            let mut buf = vec![0u8; (per_read as usize) * block_size];
            let mut done = 0u64;
            while done < count {
                let n = per_read.min(count - done);
                let start = (first + done) * bs;
                let want = (n * bs).min(len.saturating_sub(start)) as usize;
                let chunk = &mut buf[..(n as usize) * block_size];
                file.read_exact_at(&mut chunk[..want], start)
                    .map_err(|e| AvbError::io("image data", &e))?;
                chunk[want..].fill(0);
                let slots = &mut out[(done as usize) * stride..((done + n) as usize) * stride];
                for (block, slot) in chunk
                    .chunks_exact(block_size)
                    .zip(slots.chunks_exact_mut(stride))
                {
                    let mut h = salted.clone();
                    h.update(block);
                    h.finish_into(slot);
                }
                done += n;
            }
        }
    }
    Ok(())
}

/// Hashes every block of `src` into `out` (`blocks * stride` bytes), on up to `threads` threads.
fn hash_level(
    src: Source<'_>,
    blocks: u64,
    block_size: usize,
    salted: &Hasher,
    stride: usize,
    threads: usize,
    out: &mut [u8],
) -> Result<(), AvbError> {
    let threads = (threads as u64).min(blocks / MIN_BLOCKS_PER_THREAD).max(1);
    if threads == 1 {
        return hash_range(src, 0, blocks, block_size, salted, stride, out);
    }
    let per = blocks.div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = out
            .chunks_mut((per as usize) * stride)
            .enumerate()
            .map(|(i, part)| {
                let first = i as u64 * per;
                let count = (part.len() / stride) as u64;
                s.spawn(move || hash_range(src, first, count, block_size, salted, stride, part))
            })
            .collect();
        handles.into_iter().try_for_each(|h| {
            h.join()
                .map_err(|_| AvbError::Build("hash worker thread panicked".into()))?
        })
    })
}

fn compute(
    src: Source<'_>,
    block_size: u32,
    salt: &[u8],
    hash: HashAlgorithm,
    threads: usize,
) -> Result<HashTree, AvbError> {
    let bs = block_size as usize;
    if !block_size.is_power_of_two() || block_size < 512 {
        return Err(AvbError::Build(format!(
            "block size {block_size} is not a power of two >= 512"
        )));
    }
    let data_blocks = src.len().div_ceil(u64::from(block_size));
    if data_blocks == 0 {
        return Err(AvbError::Build("cannot hash an empty image".into()));
    }
    let geometry = tree_geometry(data_blocks, block_size, hash)
        .ok_or_else(|| AvbError::Build("hash tree size overflows".into()))?;
    let mut salted = Hasher::new(hash);
    salted.update(salt);
    let threads = resolve_threads(threads);
    if geometry.level_sizes.is_empty() {
        let mut root = vec![0u8; hash.digest_len()];
        hash_range(src, 0, 1, bs, &salted, root.len(), &mut root)?;
        return Ok(HashTree {
            root_digest: root,
            tree: Vec::new(),
            data_blocks,
        });
    }
    let tree_len = usize::try_from(geometry.tree_size)
        .map_err(|_| AvbError::Build("hash tree does not fit in memory".into()))?;
    let mut tree = vec![0u8; tree_len];
    let stride = hash.digest_len().next_power_of_two();
    let mut level_blocks = data_blocks;
    for level in 0..geometry.level_sizes.len() {
        let off = geometry.level_offsets[level] as usize;
        let used = (level_blocks as usize) * stride;
        if level == 0 {
            let dst = &mut tree[off..off + used];
            hash_level(src, level_blocks, bs, &salted, stride, threads, dst)?;
        } else {
            let below = geometry.level_offsets[level - 1] as usize;
            let below_len = geometry.level_sizes[level - 1] as usize;
            let (upper, lower) = tree.split_at_mut(below);
            let src_level = Source::Bytes(&lower[..below_len]);
            hash_level(
                src_level,
                level_blocks,
                bs,
                &salted,
                stride,
                threads,
                &mut upper[off..off + used],
            )?;
        }
        level_blocks = geometry.level_sizes[level] / u64::from(block_size);
    }
    // The top level is one block at offset 0.
    let mut h = salted.clone();
    h.update(&tree[..bs]);
    Ok(HashTree {
        root_digest: h.finish(),
        tree,
        data_blocks,
    })
}

/// Computes the tree over `data` (zero-padded to a whole block) with `block_size` data
/// and hash blocks. `threads` = 0 uses every available core.
pub fn compute_hashtree(
    data: &[u8],
    block_size: u32,
    salt: &[u8],
    hash: HashAlgorithm,
    threads: usize,
) -> Result<HashTree, AvbError> {
    compute(Source::Bytes(data), block_size, salt, hash, threads)
}

/// Like [`compute_hashtree`] for the first `len` bytes of `file`, read with positional
/// reads in 1 MiB chunks per thread (the file is not loaded into memory).
pub fn compute_hashtree_file(
    file: &File,
    len: u64,
    block_size: u32,
    salt: &[u8],
    hash: HashAlgorithm,
    threads: usize,
) -> Result<HashTree, AvbError> {
    compute(Source::File(file, len), block_size, salt, hash, threads)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A direct transcription of the level-by-level definition, for cross-checking.
    fn reference(data: &[u8], bs: usize, salt: &[u8], hash: HashAlgorithm) -> (Vec<u8>, Vec<u8>) {
        let hblock = |b: &[u8]| {
            let mut padded = b.to_vec();
            padded.resize(bs, 0);
            hash.digest(&[salt, &padded])
        };
        let mut levels: Vec<Vec<u8>> = Vec::new();
        let mut cur: Vec<u8> = data.to_vec();
        if cur.len() <= bs {
            return (hblock(&cur), Vec::new());
        }
        while cur.len() > bs {
            let mut next = Vec::new();
            for b in cur.chunks(bs) {
                next.extend(hblock(b));
            }
            next.resize(next.len().div_ceil(bs) * bs, 0);
            levels.push(next.clone());
            cur = next;
        }
        let root = hblock(&cur);
        let tree = levels.into_iter().rev().flatten().collect();
        (root, tree)
    }

    #[test]
    fn geometry() {
        let g = tree_geometry(1, 4096, HashAlgorithm::Sha256).unwrap();
        assert_eq!(g.tree_size, 0);
        let g = tree_geometry(128, 4096, HashAlgorithm::Sha256).unwrap();
        assert_eq!(g.level_sizes, vec![4096]);
        let g = tree_geometry(129, 4096, HashAlgorithm::Sha256).unwrap();
        assert_eq!(g.level_sizes, vec![8192, 4096]);
        assert_eq!(g.level_offsets, vec![4096, 0]);
        let g = tree_geometry(129, 4096, HashAlgorithm::Sha512).unwrap();
        assert_eq!(g.level_sizes, vec![12288, 4096]);
        // 256 MiB: 65536 blocks -> 512 + 4 + 1 blocks.
        let g = tree_geometry(65536, 4096, HashAlgorithm::Sha256).unwrap();
        assert_eq!(g.tree_size, 517 * 4096);
        assert!(tree_geometry(0, 4096, HashAlgorithm::Sha256).is_none());
        assert!(tree_geometry(u64::MAX, 4096, HashAlgorithm::Sha256).is_none());
        assert!(tree_geometry(1 << 40, 4096, HashAlgorithm::Sha256).is_some());
        assert!(tree_geometry(10, 64, HashAlgorithm::Sha512).is_none());
    }

    #[test]
    fn matches_reference_for_many_sizes() {
        let data: Vec<u8> = (0..(300 * 512 + 77)).map(|i| (i * 7 % 251) as u8).collect();
        for hash in [HashAlgorithm::Sha256, HashAlgorithm::Sha512] {
            for len in [
                1usize,
                511,
                512,
                513,
                8 * 512,
                17 * 512,
                16 * 512 + 1,
                300 * 512,
                data.len(),
            ] {
                for threads in [1, 3] {
                    let t = compute_hashtree(&data[..len], 512, b"salty", hash, threads).unwrap();
                    let (root, tree) = reference(&data[..len], 512, b"salty", hash);
                    assert_eq!(t.root_digest, root, "len {len} {hash} threads {threads}");
                    assert_eq!(t.tree, tree, "len {len} {hash} threads {threads}");
                }
            }
        }
    }

    #[test]
    fn file_matches_bytes() {
        let data: Vec<u8> = (0..(1000 * 4096 + 5)).map(|i| (i % 253) as u8).collect();
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&data).unwrap();
        let a = compute_hashtree(&data, 4096, &[1, 2, 3], HashAlgorithm::Sha256, 2).unwrap();
        let b = compute_hashtree_file(
            &f,
            data.len() as u64,
            4096,
            &[1, 2, 3],
            HashAlgorithm::Sha256,
            2,
        )
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.data_blocks, 1001);
        let short = compute_hashtree_file(
            &f,
            data.len() as u64 + 1,
            4096,
            &[],
            HashAlgorithm::Sha256,
            1,
        );
        assert!(matches!(short, Err(AvbError::Io { .. })));
    }

    #[test]
    fn rejects_bad_parameters() {
        assert!(compute_hashtree(&[], 4096, &[], HashAlgorithm::Sha256, 1).is_err());
        assert!(compute_hashtree(&[0; 10], 1000, &[], HashAlgorithm::Sha256, 1).is_err());
        assert!(compute_hashtree(&[0; 10], 256, &[], HashAlgorithm::Sha256, 1).is_err());
    }
}
