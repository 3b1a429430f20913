//! Shared helpers for the avb integration tests: test keys and image builders.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

use avb::{
    add_hashtree_footer, Algorithm, AvbFooter, HashtreeDescriptor, HashtreeFooterInfo,
    HashtreeFooterOptions, SigningKey,
};

pub const NAME: &str = "microdroid-vendor";

pub fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

pub fn key(bits: u32) -> SigningKey {
    SigningKey::from_pem_file(&testdata(&format!("testkey_rsa{bits}.pem"))).unwrap()
}

/// Deterministic pseudo-random content.
pub fn content(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2654435761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

/// Writes `data` to a temp file and adds a hashtree footer; returns the dir guard, the
/// path, the build info and the final file bytes.
pub fn build_image(
    data: &[u8],
    alg: Algorithm,
    key: &SigningKey,
    partition_size: Option<u64>,
) -> (tempfile::TempDir, PathBuf, HashtreeFooterInfo, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vendor.img");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(data)
        .unwrap();
    let info = add_hashtree_footer(
        &path,
        &HashtreeFooterOptions {
            partition_size,
            partition_name: NAME.into(),
            salt: Some(vec![0x5a; 32]),
            algorithm: alg,
            key: Some(key),
            rollback_index: 7,
            ..Default::default()
        },
    )
    .unwrap();
    let bytes = std::fs::read(&path).unwrap();
    (dir, path, info, bytes)
}

/// A valid sha256 hashtree descriptor for `name` over 129 data blocks, the tree right
/// after them (3 blocks), with `flags`.
pub fn hashtree_desc(name: &str, flags: u32) -> HashtreeDescriptor {
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
        partition_name: name.into(),
        salt: vec![1; 32],
        root_digest: vec![2; 32],
        flags,
    }
}

/// A partition: `data_len` zero bytes, `vbmeta`, padding to a block, a footer block with
/// `original` as the original image size.
pub fn partition_with(vbmeta: &[u8], data_len: usize, original: u64) -> Vec<u8> {
    let mut p = vec![0u8; data_len];
    let vb = p.len() as u64;
    p.extend_from_slice(vbmeta);
    p.resize(p.len().div_ceil(4096) * 4096 + 4096, 0);
    let f = AvbFooter {
        version_major: 1,
        version_minor: 0,
        original_image_size: original,
        vbmeta_offset: vb,
        vbmeta_size: vbmeta.len() as u64,
    };
    let n = p.len();
    p[n - 64..].copy_from_slice(&f.to_bytes());
    p
}
