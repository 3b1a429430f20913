//! The strict-boot rules for the vendor descriptor (DESIGN §9, **Ours**): the named
//! hashtree descriptor must be the first one and must not ask for `check_at_most_once`.

mod common;

use std::io::Cursor;

use avb::{
    build_vbmeta, read_vbmeta_from_partition, Algorithm, AvbError, AvbFooter, Descriptor,
    HashtreeDescriptor, VbmetaOptions, VerifiedVbmeta, HASHTREE_FLAG_CHECK_AT_MOST_ONCE,
};
use common::{key, NAME};

fn desc(name: &str, flags: u32) -> HashtreeDescriptor {
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

/// A signed partition whose vbmeta holds `descriptors`, after 132 blocks of data + tree.
fn partition(descriptors: Vec<HashtreeDescriptor>) -> VerifiedVbmeta {
    let k = key(2048);
    let blob = build_vbmeta(&VbmetaOptions {
        algorithm: Algorithm::Sha256Rsa2048,
        key: Some(&k),
        descriptors: descriptors.into_iter().map(Descriptor::Hashtree).collect(),
        required_libavb_version_minor: 1,
        ..Default::default()
    })
    .unwrap();
    let mut p = vec![0u8; 132 * 4096];
    let vbmeta_offset = p.len() as u64;
    p.extend_from_slice(&blob);
    p.resize(p.len().div_ceil(4096) * 4096 + 4096, 0);
    let f = AvbFooter {
        version_major: 1,
        version_minor: 0,
        original_image_size: 129 * 4096,
        vbmeta_offset,
        vbmeta_size: blob.len() as u64,
    };
    let n = p.len();
    p[n - 64..].copy_from_slice(&f.to_bytes());
    read_vbmeta_from_partition(&mut Cursor::new(&p), p.len() as u64).unwrap()
}

#[test]
fn the_only_descriptor_without_flags_is_accepted() {
    let v = partition(vec![desc(NAME, 0)]);
    assert_eq!(
        v.strict_hashtree_descriptor(NAME).unwrap(),
        v.hashtree_descriptor(NAME).unwrap()
    );
}

#[test]
fn check_at_most_once_is_refused_under_strict_boot_only() {
    let v = partition(vec![desc(NAME, HASHTREE_FLAG_CHECK_AT_MOST_ONCE)]);
    // The non-strict lookup takes it (dm-verity's table then carries check_at_most_once).
    assert!(v.hashtree_descriptor(NAME).is_ok());
    let e = v.strict_hashtree_descriptor(NAME).unwrap_err();
    assert_eq!(e, AvbError::CheckAtMostOnce(NAME.into()));
    assert_eq!(e.reason(), "VBMETA_INVALID");
    assert!(e.to_string().contains("check_at_most_once"), "{e}");
}

#[test]
fn the_named_descriptor_must_be_the_first() {
    let v = partition(vec![desc("system", 0), desc(NAME, 0)]);
    assert!(v.hashtree_descriptor(NAME).is_ok());
    let e = v.strict_hashtree_descriptor(NAME).unwrap_err();
    assert_eq!(
        e,
        AvbError::NotFirstHashtree {
            first: "system".into(),
            wanted: NAME.into()
        }
    );
    assert_eq!(e.reason(), "VBMETA_INVALID");
    // Named first, then another: fine.
    let v = partition(vec![desc(NAME, 0), desc("system", 0)]);
    assert!(v.strict_hashtree_descriptor(NAME).is_ok());
    // Two with the name: the first of them is the one both steps use.
    let v = partition(vec![
        desc(NAME, 0),
        desc(NAME, HASHTREE_FLAG_CHECK_AT_MOST_ONCE),
    ]);
    assert_eq!(v.strict_hashtree_descriptor(NAME).unwrap().flags, 0);
}

#[test]
fn a_missing_descriptor_is_still_not_found() {
    let v = partition(vec![desc("system", 0)]);
    assert_eq!(
        v.strict_hashtree_descriptor(NAME).unwrap_err(),
        AvbError::HashtreeNotFound(NAME.into())
    );
}
