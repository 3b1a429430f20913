//! Checking an image's data and hash tree against its hashtree descriptor, as
//! `avbtool verify_image` does (recompute the tree from the data, compare the root digest
//! and the stored tree bytes), and naming the first corrupted block the way the kernel's
//! dm-verity names it.
//!
//! dm-verity numbers blocks like this (Linux `drivers/md/dm-verity-target.c`,
//! `verity_handle_err`: `"<dev>: <data|metadata> block <n> is corrupted"`):
//! - a **data** block by its index on the data device in `data_block_size` units;
//! - a **metadata** (hash-tree) block by its index on the hash device in
//!   `hash_block_size` units, counting from the start of the device: the table's
//!   `hash_start` is `tree_offset / hash_block_size` and the top level comes first, so the
//!   top block is `tree_offset / hash_block_size`.
//!
//! The stored tree is walked top down as dm-verity verifies a read: the top block against
//! the descriptor's root digest, every block of a level against its entry in the level
//! above, then every data block against its level-0 entry. The first mismatch in that
//! order is reported; for a single corrupted block it is the block the guest's dm-verity
//! names.

use std::fs::File;
use std::os::unix::fs::FileExt;

use crate::algorithm::{HashAlgorithm, Hasher};
use crate::descriptor::HashtreeDescriptor;
use crate::error::AvbError;
use crate::hashtree::{compute_hashtree_file, tree_geometry, HashTree, TreeGeometry};

/// One corrupted block, numbered as dm-verity numbers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorruptBlock {
    /// A data block whose hash is not its level-0 entry.
    Data {
        /// Index of the data block (`data_block_size` units from the start of the image).
        block: u64,
        /// The hash-tree block holding its entry (hash-device block number).
        hash_block: u64,
    },
    /// A hash-tree block whose hash is not its entry in the level above (or, for the top
    /// block, not the descriptor's root digest).
    Metadata {
        /// The block's number on the hash device (`hash_block_size` units).
        block: u64,
        /// Its level (0 = hashes of data blocks; the highest level is the top block).
        level: usize,
        /// The number of levels in the tree.
        levels: usize,
        /// The first data block it covers.
        first_data_block: u64,
    },
}

impl std::fmt::Display for CorruptBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CorruptBlock::Data { block, hash_block } => write!(
                f,
                "data block {block} is corrupted (its hash is in hash-tree block {hash_block})"
            ),
            CorruptBlock::Metadata {
                block,
                level,
                levels,
                first_data_block,
            } => write!(
                f,
                "metadata block {block} is corrupted (hash-tree level {level} of {levels}, \
                 covering data blocks from {first_data_block})"
            ),
        }
    }
}

/// The outcome of [`verify_hashtree`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashtreeCheck {
    /// The recomputed root digest and tree equal the descriptor's and the stored ones.
    Verified {
        /// The root digest (equal to the descriptor's).
        root_digest: Vec<u8>,
        /// Data blocks hashed.
        data_blocks: u64,
    },
    /// They differ; the first corrupted block in dm-verity's verification order.
    Corrupt {
        /// The recomputed root digest.
        computed_root: Vec<u8>,
        /// The block.
        block: CorruptBlock,
    },
}

fn unsupported(desc: &HashtreeDescriptor, reason: String) -> AvbError {
    AvbError::Hashtree {
        partition: desc.partition_name.clone(),
        reason,
    }
}

/// Recomputes the hash tree of the `desc.image_size` data bytes at the start of `file`
/// and compares it with `desc.root_digest` and the `desc.tree_size` bytes stored at
/// `desc.tree_offset` (`threads` = 0 uses every core). The descriptor must be valid
/// ([`HashtreeDescriptor::validate`]) with equal data and hash block sizes (what avbtool
/// writes). I/O errors (a file shorter than the descriptor says) are errors, not
/// corruption.
pub fn verify_hashtree(
    file: &File,
    desc: &HashtreeDescriptor,
    threads: usize,
) -> Result<HashtreeCheck, AvbError> {
    desc.validate()?;
    if desc.data_block_size != desc.hash_block_size {
        return Err(unsupported(
            desc,
            format!(
                "data_block_size {} differs from hash_block_size {} (not supported here)",
                desc.data_block_size, desc.hash_block_size
            ),
        ));
    }
    let hash = desc.hash()?;
    let computed = compute_hashtree_file(
        file,
        desc.image_size,
        desc.data_block_size,
        &desc.salt,
        hash,
        threads,
    )?;
    let tree_len = usize::try_from(desc.tree_size)
        .map_err(|_| unsupported(desc, "tree_size does not fit in memory".into()))?;
    let mut stored = vec![0u8; tree_len];
    file.read_exact_at(&mut stored, desc.tree_offset)
        .map_err(|e| AvbError::io("hash tree", &e))?;
    if computed.root_digest == desc.root_digest && computed.tree == stored {
        return Ok(HashtreeCheck::Verified {
            root_digest: computed.root_digest,
            data_blocks: computed.data_blocks,
        });
    }
    let geometry = tree_geometry(computed.data_blocks, desc.hash_block_size, hash)
        .ok_or_else(|| unsupported(desc, "hash tree geometry overflows".into()))?;
    let block = locate(desc, hash, &geometry, &computed, &stored)
        .ok_or_else(|| unsupported(desc, "recomputed tree differs but no block does".into()))?;
    Ok(HashtreeCheck::Corrupt {
        computed_root: computed.root_digest,
        block,
    })
}

/// Walks the stored tree top down (see the module documentation) and returns the first
/// block that does not verify.
fn locate(
    desc: &HashtreeDescriptor,
    hash: HashAlgorithm,
    g: &TreeGeometry,
    computed: &HashTree,
    stored: &[u8],
) -> Option<CorruptBlock> {
    let bs = desc.hash_block_size as usize;
    let hash_start = desc.tree_offset / u64::from(desc.hash_block_size);
    let stride = hash.digest_len().next_power_of_two();
    let per_block = (bs / stride) as u64;
    let levels = g.level_sizes.len();
    let mut salted = Hasher::new(hash);
    salted.update(&desc.salt);
    let block_hash = |block: &[u8]| {
        let mut h = salted.clone();
        h.update(block);
        h.finish()
    };
    // Data blocks covered by one block of `level`.
    let span = |level: usize| per_block.saturating_pow(level as u32 + 1);
    if levels == 0 {
        // One data block: its hash is the root digest.
        return (computed.root_digest != desc.root_digest).then_some(CorruptBlock::Data {
            block: 0,
            hash_block: hash_start,
        });
    }
    let metadata = |level: usize, index: u64| CorruptBlock::Metadata {
        block: hash_start + g.level_offsets[level] / bs as u64 + index,
        level,
        levels,
        first_data_block: index * span(level),
    };
    // The top block against the root digest.
    let top = levels - 1;
    let top_off = g.level_offsets[top] as usize;
    if block_hash(&stored[top_off..top_off + bs]) != desc.root_digest {
        return Some(metadata(top, 0));
    }
    // Each lower level's blocks against their entries in the level above.
    for level in (0..top).rev() {
        let off = g.level_offsets[level] as usize;
        let parent = g.level_offsets[level + 1] as usize;
        let blocks = g.level_sizes[level] / bs as u64;
        for i in 0..blocks {
            let start = off + i as usize * bs;
            let entry = parent + i as usize * stride;
            if block_hash(&stored[start..start + bs])[..]
                != stored[entry..entry + hash.digest_len()]
            {
                return Some(metadata(level, i));
            }
        }
    }
    // Data blocks: their recomputed hashes against the stored level 0.
    let level0 = g.level_offsets[0] as usize;
    (0..computed.data_blocks).find_map(|i| {
        let at = level0 + i as usize * stride;
        let range = at..at + hash.digest_len();
        (computed.tree.get(range.clone()) != stored.get(range)).then_some(CorruptBlock::Data {
            block: i,
            hash_block: hash_start + g.level_offsets[0] / bs as u64 + i / per_block,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::{add_hashtree_footer, HashtreeFooterOptions, SigningKey};
    use crate::partition::read_vbmeta_from_device;
    use crate::Algorithm;
    use std::io::Write;

    /// An image of `blocks` 4 KiB data blocks with an avbtool-style footer.
    fn image(blocks: usize) -> (tempfile::NamedTempFile, HashtreeDescriptor) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        let data: Vec<u8> = (0..blocks * 4096).map(|i| (i * 31 % 251) as u8).collect();
        f.write_all(&data).unwrap();
        let key = SigningKey::generate(2048).unwrap();
        let info = add_hashtree_footer(
            f.path(),
            &HashtreeFooterOptions {
                partition_name: "microdroid-vendor".into(),
                algorithm: Algorithm::Sha256Rsa2048,
                key: Some(&key),
                salt: Some(vec![7; 32]),
                ..Default::default()
            },
        )
        .unwrap();
        let mut file = f.reopen().unwrap();
        let v = read_vbmeta_from_device(&mut file).unwrap();
        assert_eq!(v.first_hashtree_descriptor(), Some(&info.descriptor));
        (f, info.descriptor)
    }

    fn flip(f: &tempfile::NamedTempFile, at: u64) {
        let file = f.reopen().unwrap();
        let mut b = [0u8; 1];
        file.read_exact_at(&mut b, at).unwrap();
        b[0] ^= 0x40;
        file.write_all_at(&b, at).unwrap();
    }

    fn check(f: &tempfile::NamedTempFile, d: &HashtreeDescriptor) -> HashtreeCheck {
        verify_hashtree(&f.reopen().unwrap(), d, 2).unwrap()
    }

    fn corrupt(f: &tempfile::NamedTempFile, d: &HashtreeDescriptor) -> CorruptBlock {
        match check(f, d) {
            HashtreeCheck::Corrupt { block, .. } => block,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn intact_image_verifies() {
        let (f, d) = image(300);
        assert_eq!(
            check(&f, &d),
            HashtreeCheck::Verified {
                root_digest: d.root_digest.clone(),
                data_blocks: 300
            }
        );
    }

    #[test]
    fn names_a_corrupted_data_block_like_dm_verity() {
        // 300 blocks: level 0 = 3 blocks, level 1 = 1 block; tree at block 300.
        let (f, d) = image(300);
        flip(&f, 260 * 4096 + 17);
        assert_eq!(
            corrupt(&f, &d),
            CorruptBlock::Data {
                block: 260,
                // Top block 300, level 0 = 301..=303; entry 260 is in its third block.
                hash_block: 303,
            }
        );
        assert_eq!(
            corrupt(&f, &d).to_string(),
            "data block 260 is corrupted (its hash is in hash-tree block 303)"
        );
    }

    #[test]
    fn names_corrupted_tree_blocks_like_dm_verity() {
        let (f, d) = image(300);
        assert_eq!(d.tree_offset, 300 * 4096);
        // The top block (the test matrix's case: tree_offset + 5).
        flip(&f, d.tree_offset + 5);
        let b = corrupt(&f, &d);
        assert_eq!(
            b,
            CorruptBlock::Metadata {
                block: 300,
                level: 1,
                levels: 2,
                first_data_block: 0
            }
        );
        assert!(b.to_string().starts_with("metadata block 300 is corrupted"));
        flip(&f, d.tree_offset + 5);
        // A level-0 block (hash entries of data blocks 128..=255).
        flip(&f, d.tree_offset + 2 * 4096 + 100);
        assert_eq!(
            corrupt(&f, &d),
            CorruptBlock::Metadata {
                block: 302,
                level: 0,
                levels: 2,
                first_data_block: 128
            }
        );
        flip(&f, d.tree_offset + 2 * 4096 + 100);
        // A padding byte of the last level-0 block is tree bytes too.
        flip(&f, d.tree_offset + 4 * 4096 - 1);
        assert!(matches!(
            corrupt(&f, &d),
            CorruptBlock::Metadata { block: 303, .. }
        ));
    }

    #[test]
    fn single_block_image_and_short_file() {
        let (f, d) = image(1);
        assert!(matches!(check(&f, &d), HashtreeCheck::Verified { .. }));
        flip(&f, 5);
        assert_eq!(
            corrupt(&f, &d),
            CorruptBlock::Data {
                block: 0,
                hash_block: 1
            }
        );
        // A descriptor pointing past the end of the file is an I/O error, not corruption.
        let (f, mut d) = image(2);
        d.image_size = 1 << 30;
        d.tree_offset = 1 << 30;
        d.tree_size = tree_geometry(1 << 18, 4096, HashAlgorithm::Sha256)
            .unwrap()
            .tree_size;
        assert!(matches!(
            verify_hashtree(&f.reopen().unwrap(), &d, 1),
            Err(AvbError::Io { .. })
        ));
    }
}
