//! Shared helpers for the avb integration tests: test keys and image builders.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

use avb::{add_hashtree_footer, Algorithm, HashtreeFooterInfo, HashtreeFooterOptions, SigningKey};

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
