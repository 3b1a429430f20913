//! The strict-boot rules for the vendor descriptor (DESIGN §9, **Ours**): the named
//! hashtree descriptor must be the first one and must not ask for `check_at_most_once`.

mod common;

use std::io::Cursor;

use avb::{
    build_vbmeta, read_vbmeta_from_partition, Algorithm, AvbError, Descriptor, HashtreeDescriptor,
    VbmetaOptions, VerifiedVbmeta, HASHTREE_FLAG_CHECK_AT_MOST_ONCE,
};
use common::{hashtree_desc, key, partition_with, NAME};

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
    let p = partition_with(&blob, 132 * 4096, 129 * 4096);
    read_vbmeta_from_partition(&mut Cursor::new(&p), p.len() as u64).unwrap()
}

#[test]
fn the_only_descriptor_without_flags_is_accepted() {
    let v = partition(vec![hashtree_desc(NAME, 0)]);
    assert_eq!(
        v.strict_hashtree_descriptor(NAME).unwrap(),
        v.hashtree_descriptor(NAME).unwrap()
    );
}

#[test]
fn check_at_most_once_is_refused_under_strict_boot_only() {
    let v = partition(vec![hashtree_desc(NAME, HASHTREE_FLAG_CHECK_AT_MOST_ONCE)]);
    // The non-strict lookup takes it (dm-verity's table then carries check_at_most_once).
    assert!(v.hashtree_descriptor(NAME).is_ok());
    let e = v.strict_hashtree_descriptor(NAME).unwrap_err();
    assert_eq!(e, AvbError::CheckAtMostOnce(NAME.into()));
    assert_eq!(e.reason(), "VBMETA_INVALID");
    assert!(e.to_string().contains("check_at_most_once"), "{e}");
}

#[test]
fn the_named_descriptor_must_be_the_first() {
    let v = partition(vec![hashtree_desc("system", 0), hashtree_desc(NAME, 0)]);
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
    let v = partition(vec![hashtree_desc(NAME, 0), hashtree_desc("system", 0)]);
    assert!(v.strict_hashtree_descriptor(NAME).is_ok());
    // Two with the name: the first of them is the one both steps use.
    let v = partition(vec![
        hashtree_desc(NAME, 0),
        hashtree_desc(NAME, HASHTREE_FLAG_CHECK_AT_MOST_ONCE),
    ]);
    assert_eq!(v.strict_hashtree_descriptor(NAME).unwrap().flags, 0);
}

#[test]
fn a_missing_descriptor_is_still_not_found() {
    let v = partition(vec![hashtree_desc("system", 0)]);
    assert_eq!(
        v.strict_hashtree_descriptor(NAME).unwrap_err(),
        AvbError::HashtreeNotFound(NAME.into())
    );
}
