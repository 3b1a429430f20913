//! Reading and verifying the vbmeta of a partition with an AVB footer, reading only the
//! footer (last 64 bytes) and the vbmeta blob it points at.

use std::io::{Read, Seek, SeekFrom};

use crate::algorithm::Algorithm;
use crate::descriptor::{Descriptor, HashtreeDescriptor, HASHTREE_FLAG_CHECK_AT_MOST_ONCE};
use crate::error::AvbError;
use crate::footer::{AvbFooter, FOOTER_SIZE};
use crate::vbmeta::{verify_vbmeta, Vbmeta, VbmetaHeader, HEADER_SIZE};

/// Largest vbmeta blob we read (libavb's `VBMETA_MAX_SIZE`, 64 KiB).
pub const VBMETA_MAX_SIZE: u64 = 64 * 1024;

/// A partition's footer and its verified vbmeta.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedVbmeta {
    partition_size: u64,
    footer: AvbFooter,
    vbmeta: Vbmeta,
}

impl VerifiedVbmeta {
    /// The embedded public key blob (`AvbRSAPublicKeyHeader` ‖ n ‖ rr) the signature
    /// verified with; this is what DICE hashes as the authority.
    pub fn public_key_blob(&self) -> &[u8] {
        &self.vbmeta.public_key
    }

    /// The public key metadata blob (usually empty).
    pub fn public_key_metadata(&self) -> &[u8] {
        &self.vbmeta.public_key_metadata
    }

    /// The vbmeta rollback index.
    pub fn rollback_index(&self) -> u64 {
        self.vbmeta.header.rollback_index
    }

    /// The signing algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.vbmeta.algorithm
    }

    /// All descriptors, in order.
    pub fn descriptors(&self) -> &[Descriptor] {
        &self.vbmeta.descriptors
    }

    /// The vbmeta header.
    pub fn header(&self) -> &VbmetaHeader {
        &self.vbmeta.header
    }

    /// The footer (original_image_size, vbmeta_offset, vbmeta_size).
    pub fn footer(&self) -> &AvbFooter {
        &self.footer
    }

    /// The partition size the footer was read against.
    pub fn partition_size(&self) -> u64 {
        self.partition_size
    }

    /// The first hashtree descriptor, whatever its name (what AVF's DICE step uses).
    pub fn first_hashtree_descriptor(&self) -> Option<&HashtreeDescriptor> {
        self.vbmeta.descriptors.iter().find_map(|d| match d {
            Descriptor::Hashtree(h) => Some(h),
            _ => None,
        })
    }

    /// The first hashtree descriptor named `partition_name`, after checking that its data,
    /// tree and FEC lie in this partition before the vbmeta blob:
    /// `original_image_size ≤ image_size ≤ tree_offset`, `tree_offset + tree_size ≤
    /// vbmeta_offset`, and with FEC `fec_offset + fec_size ≤ vbmeta_offset`.
    pub fn hashtree_descriptor(
        &self,
        partition_name: &str,
    ) -> Result<&HashtreeDescriptor, AvbError> {
        let h = self
            .vbmeta
            .descriptors
            .iter()
            .find_map(|d| match d {
                Descriptor::Hashtree(h) if h.partition_name == partition_name => Some(h),
                _ => None,
            })
            .ok_or_else(|| AvbError::HashtreeNotFound(partition_name.to_string()))?;
        let err = |reason: String| AvbError::Hashtree {
            partition: h.partition_name.clone(),
            reason,
        };
        let limit = self.footer.vbmeta_offset;
        if self.footer.original_image_size > h.image_size {
            return Err(err(format!(
                "image_size {} is smaller than the footer's original_image_size {}",
                h.image_size, self.footer.original_image_size
            )));
        }
        let tree_end = h.tree_end()?;
        if tree_end > limit {
            return Err(err(format!(
                "hash tree ends at {tree_end}, past vbmeta_offset {limit}"
            )));
        }
        if h.fec_size > 0 {
            let fec_end = h.fec_end()?;
            if fec_end > limit {
                return Err(err(format!(
                    "FEC ends at {fec_end}, past vbmeta_offset {limit}"
                )));
            }
        }
        Ok(h)
    }
}

impl VerifiedVbmeta {
    /// [`VerifiedVbmeta::hashtree_descriptor`] with the rules of a strict (protected) boot
    /// (DESIGN §9, **Ours**): the descriptor must also be the *first* hashtree descriptor
    /// (AVF's DICE step measures the first one, dm-verity uses the named one: they must be
    /// the same), and it must not ask for `check_at_most_once`.
    pub fn strict_hashtree_descriptor(
        &self,
        partition_name: &str,
    ) -> Result<&HashtreeDescriptor, AvbError> {
        let named = self.hashtree_descriptor(partition_name)?;
        match self.first_hashtree_descriptor() {
            Some(first) if std::ptr::eq(first, named) => {}
            first => {
                return Err(AvbError::NotFirstHashtree {
                    first: first.map(|d| d.partition_name.clone()).unwrap_or_default(),
                    wanted: partition_name.to_owned(),
                })
            }
        }
        if named.flags & HASHTREE_FLAG_CHECK_AT_MOST_ONCE != 0 {
            return Err(AvbError::CheckAtMostOnce(named.partition_name.clone()));
        }
        Ok(named)
    }
}

fn read_exact_at<R: Read + Seek>(
    r: &mut R,
    offset: u64,
    buf: &mut [u8],
    what: &'static str,
) -> Result<(), AvbError> {
    r.seek(SeekFrom::Start(offset))
        .map_err(|e| AvbError::io(what, &e))?;
    r.read_exact(buf).map_err(|e| AvbError::io(what, &e))
}

/// Reads the footer in the last 64 bytes of a `partition_size`-byte partition, then the
/// vbmeta blob it points at (at most [`VBMETA_MAX_SIZE`] bytes), and verifies it with
/// [`verify_vbmeta`]. Footer checks: magic, version 1.0, `256 ≤ vbmeta_size ≤ 64 KiB`,
/// `vbmeta_offset + vbmeta_size ≤ partition_size − 64`, `original_image_size ≤
/// vbmeta_offset`.
pub fn read_vbmeta_from_partition<R: Read + Seek>(
    r: &mut R,
    partition_size: u64,
) -> Result<VerifiedVbmeta, AvbError> {
    let footer_offset = partition_size
        .checked_sub(FOOTER_SIZE as u64)
        .ok_or(AvbError::PartitionTooSmall(partition_size))?;
    let mut fb = [0u8; FOOTER_SIZE];
    read_exact_at(r, footer_offset, &mut fb, "AVB footer")?;
    let footer = AvbFooter::parse(&fb)?;
    if footer.vbmeta_size < HEADER_SIZE as u64 || footer.vbmeta_size > VBMETA_MAX_SIZE {
        return Err(AvbError::VbmetaSize {
            size: footer.vbmeta_size,
            min: HEADER_SIZE as u64,
            max: VBMETA_MAX_SIZE,
        });
    }
    let vbmeta_end = footer.vbmeta_offset.checked_add(footer.vbmeta_size);
    if vbmeta_end.is_none_or(|e| e > footer_offset) {
        return Err(AvbError::FooterRange {
            field: "vbmeta_offset + vbmeta_size",
            value: vbmeta_end.unwrap_or(u64::MAX),
            limit: footer_offset,
        });
    }
    if footer.original_image_size > footer.vbmeta_offset {
        return Err(AvbError::FooterRange {
            field: "original_image_size",
            value: footer.original_image_size,
            limit: footer.vbmeta_offset,
        });
    }
    // vbmeta_size <= 64 KiB, so this allocation is bounded.
    let mut blob = vec![0u8; footer.vbmeta_size as usize];
    read_exact_at(r, footer.vbmeta_offset, &mut blob, "vbmeta")?;
    let vbmeta = verify_vbmeta(&blob)?;
    Ok(VerifiedVbmeta {
        partition_size,
        footer,
        vbmeta,
    })
}

/// [`read_vbmeta_from_partition`] with the partition size taken from seeking to the end
/// (what a block device reports).
pub fn read_vbmeta_from_device<R: Read + Seek>(r: &mut R) -> Result<VerifiedVbmeta, AvbError> {
    let size = r
        .seek(SeekFrom::End(0))
        .map_err(|e| AvbError::io("partition size", &e))?;
    read_vbmeta_from_partition(r, size)
}
