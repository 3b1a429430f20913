//! The dm-verity target for a hashtree descriptor, word for word as AOSP's
//! `fs_mgr/libfs_avb/avb_util.cpp` (`ConstructVerityTable`) and `libdm/dm_target.cpp`
//! (`DmTargetVerity::GetParameterString`) build it with the default
//! `androidboot.veritymode=enforcing`:
//!
//! `<version> <data_dev> <hash_dev> <data_block_size> <hash_block_size>
//! <image_size/data_block_size> <tree_offset/hash_block_size> <hash_algorithm>
//! <root_digest_hex> <salt_hex> <N> [use_fec_from_device <hash_dev> fec_roots <r>
//! fec_blocks <fec_offset/dbs> fec_start <fec_offset/dbs>] restart_on_corruption
//! ignore_zero_blocks [check_at_most_once]`
//!
//! `N` counts the optional words. Two deliberate differences from AOSP: an empty salt is
//! written as `-` (the kernel's spelling; AOSP would emit an empty word), and the FEC
//! device is `hash_dev` (AOSP uses the one block device for all three roles).

use crate::bytes::to_hex;
use crate::descriptor::{HashtreeDescriptor, HASHTREE_FLAG_CHECK_AT_MOST_ONCE};
use crate::error::AvbError;

/// Linux sector size.
pub const SECTOR_SIZE: u64 = 512;

/// One device-mapper target line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerityTarget {
    /// First sector (always 0).
    pub start_sector: u64,
    /// Length in 512-byte sectors (`image_size / 512`).
    pub length_sectors: u64,
    /// Target type (always `verity`).
    pub target_type: &'static str,
    /// The parameter string.
    pub params: String,
}

/// Builds the dm-verity target for `desc` (validated again first).
pub fn verity_table(
    desc: &HashtreeDescriptor,
    data_dev: &str,
    hash_dev: &str,
) -> Result<VerityTarget, AvbError> {
    desc.validate()?;
    for dev in [data_dev, hash_dev] {
        if dev.is_empty() || dev.bytes().any(|c| c.is_ascii_whitespace() || c == 0) {
            return Err(AvbError::Hashtree {
                partition: desc.partition_name.clone(),
                reason: format!("device name {dev:?} is empty or contains whitespace"),
            });
        }
    }
    let dbs = u64::from(desc.data_block_size);
    let hbs = u64::from(desc.hash_block_size);
    let salt = if desc.salt.is_empty() {
        "-".to_string()
    } else {
        to_hex(&desc.salt)
    };
    let mut optional: Vec<String> = Vec::new();
    if desc.fec_size > 0 {
        let fec_blocks = desc.fec_offset / dbs;
        optional.extend([
            "use_fec_from_device".to_string(),
            hash_dev.to_string(),
            "fec_roots".to_string(),
            desc.fec_num_roots.to_string(),
            "fec_blocks".to_string(),
            fec_blocks.to_string(),
            "fec_start".to_string(),
            fec_blocks.to_string(),
        ]);
    }
    optional.push("restart_on_corruption".into());
    optional.push("ignore_zero_blocks".into());
    if desc.flags & HASHTREE_FLAG_CHECK_AT_MOST_ONCE != 0 {
        optional.push("check_at_most_once".into());
    }
    let params = format!(
        "{} {} {} {} {} {} {} {} {} {} {} {}",
        desc.dm_verity_version,
        data_dev,
        hash_dev,
        dbs,
        hbs,
        desc.image_size / dbs,
        desc.tree_offset / hbs,
        desc.hash_algorithm,
        to_hex(&desc.root_digest),
        salt,
        optional.len(),
        optional.join(" ")
    );
    Ok(VerityTarget {
        start_sector: 0,
        length_sectors: desc.image_size / SECTOR_SIZE,
        target_type: "verity",
        params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc() -> HashtreeDescriptor {
        HashtreeDescriptor {
            dm_verity_version: 1,
            image_size: 129 * 4096,
            tree_offset: 129 * 4096,
            tree_size: 3 * 4096,
            data_block_size: 4096,
            hash_block_size: 4096,
            fec_num_roots: 0,
            fec_offset: 0,
            fec_size: 0,
            hash_algorithm: "sha256".into(),
            partition_name: "microdroid-vendor".into(),
            salt: vec![0xab, 0xcd],
            root_digest: (0u8..32).collect(),
            flags: 0,
        }
    }

    const ROOT: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn exact_string_without_fec() {
        let t = verity_table(&desc(), "/dev/block/vda1", "/dev/block/vda1").unwrap();
        assert_eq!(t.start_sector, 0);
        assert_eq!(t.length_sectors, 129 * 8);
        assert_eq!(t.target_type, "verity");
        assert_eq!(
            t.params,
            format!(
                "1 /dev/block/vda1 /dev/block/vda1 4096 4096 129 129 sha256 {ROOT} abcd 2 \
                 restart_on_corruption ignore_zero_blocks"
            )
        );
    }

    #[test]
    fn exact_string_with_fec_and_flags_and_empty_salt() {
        let mut d = desc();
        d.fec_num_roots = 2;
        d.fec_offset = d.tree_offset + d.tree_size;
        d.fec_size = 8192;
        d.flags = HASHTREE_FLAG_CHECK_AT_MOST_ONCE;
        d.salt.clear();
        let t = verity_table(&d, "254:0", "254:1").unwrap();
        assert_eq!(
            t.params,
            format!(
                "1 254:0 254:1 4096 4096 129 129 sha256 {ROOT} - 11 use_fec_from_device 254:1 \
                 fec_roots 2 fec_blocks 132 fec_start 132 restart_on_corruption ignore_zero_blocks \
                 check_at_most_once"
            )
        );
    }

    #[test]
    fn rejects_invalid() {
        let mut d = desc();
        d.hash_algorithm = "md5".into();
        assert!(verity_table(&d, "a", "a").is_err());
        assert!(verity_table(&desc(), "a b", "a").is_err());
        assert!(verity_table(&desc(), "a", "").is_err());
    }
}
