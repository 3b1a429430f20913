//! Build → read back → check every field, for every signing algorithm.

mod common;

use std::io::Cursor;

use avb::{
    compute_hashtree, read_vbmeta_from_device, read_vbmeta_from_partition, verity_table, Algorithm,
    AvbError, Descriptor, HashAlgorithm, HashtreeFooterOptions, SIGNING_ALGORITHMS,
};
use common::{build_image, content, key, NAME};

#[test]
fn every_algorithm_round_trips() {
    let data = content(201 * 4096, 1);
    for alg in SIGNING_ALGORITHMS {
        let k = key(alg.key_bits());
        let (_d, _p, info, bytes) = build_image(&data, alg, &k, None);
        let v = read_vbmeta_from_partition(&mut Cursor::new(&bytes), bytes.len() as u64)
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(v.algorithm(), alg);
        assert_eq!(v.rollback_index(), 7);
        assert_eq!(v.public_key_blob(), k.public_key_blob().unwrap().as_slice());
        assert_eq!(v.public_key_blob(), info.public_key_blob.as_slice());
        assert_eq!(v.public_key_blob().len(), alg.public_key_len());
        assert_eq!(v.header().release_string(), "avbtool 1.3.0");
        assert_eq!(v.header().required_libavb_version_minor, 0);
        let f = v.footer();
        assert_eq!(f.original_image_size, data.len() as u64);
        assert_eq!(f.vbmeta_offset, info.vbmeta_offset);
        assert_eq!(f.vbmeta_size, info.vbmeta_size);
        assert_eq!(v.partition_size(), bytes.len() as u64);
        assert_eq!(v.descriptors().len(), 1);
        let h = v.hashtree_descriptor(NAME).unwrap();
        assert_eq!(h, &info.descriptor);
        assert_eq!(Some(h), v.first_hashtree_descriptor());
        assert_eq!(h.image_size, 201 * 4096);
        assert_eq!(h.tree_offset, 201 * 4096);
        assert_eq!(h.tree_size, 3 * 4096);
        assert_eq!(h.salt, vec![0x5a; 32]);
        assert_eq!(h.hash_algorithm, "sha256");
        let mut padded = data.clone();
        padded.resize(201 * 4096, 0);
        let tree = compute_hashtree(&padded, 4096, &h.salt, HashAlgorithm::Sha256, 1).unwrap();
        assert_eq!(h.root_digest, tree.root_digest);
        let t0 = h.tree_offset as usize;
        assert_eq!(&bytes[t0..t0 + tree.tree.len()], tree.tree.as_slice());
        assert_eq!(&bytes[..data.len()], data.as_slice());
        assert!(bytes[data.len()..t0].iter().all(|&b| b == 0));
        // Layout: tree, vbmeta right after the (4096-padded) tree, footer block last.
        assert_eq!(info.vbmeta_offset, t0 as u64 + 3 * 4096);
        assert_eq!(bytes.len() as u64 % 4096, 0);
        assert_eq!(
            bytes.len() as u64,
            info.vbmeta_offset + info.vbmeta_size.div_ceil(4096) * 4096 + 4096
        );
        let t = verity_table(h, "/dev/vda1", "/dev/vda1").unwrap();
        assert_eq!(t.length_sectors, 201 * 8);
        assert!(t
            .params
            .starts_with("1 /dev/vda1 /dev/vda1 4096 4096 201 201 sha256 "));
        assert!(matches!(
            v.hashtree_descriptor("system"),
            Err(AvbError::HashtreeNotFound(_))
        ));
        let again = read_vbmeta_from_device(&mut Cursor::new(&bytes)).unwrap();
        assert_eq!(again, v);
    }
}

#[test]
fn explicit_partition_size_places_footer_at_end() {
    // Not a multiple of 4096: padded to 65 blocks, original size kept in the footer.
    let data = content(64 * 4096 + 100, 2);
    let k = key(2048);
    let ps = 4 * 1024 * 1024;
    let (_d, _p, info, bytes) = build_image(&data, Algorithm::Sha256Rsa2048, &k, Some(ps));
    assert_eq!(bytes.len() as u64, ps);
    assert_eq!(info.partition_size, ps);
    assert_eq!(&bytes[bytes.len() - 64..bytes.len() - 60], b"AVBf");
    let v = read_vbmeta_from_partition(&mut Cursor::new(&bytes), ps).unwrap();
    assert_eq!(v.hashtree_descriptor(NAME).unwrap().image_size, 65 * 4096);
    assert_eq!(v.footer().original_image_size, data.len() as u64);
    assert!(bytes[data.len()..65 * 4096].iter().all(|&b| b == 0));
    // Too small a partition is refused like avbtool does.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.img");
    std::fs::write(&p, &data).unwrap();
    let e = avb::add_hashtree_footer(
        &p,
        &HashtreeFooterOptions {
            partition_size: Some(64 * 4096 + 16 * 4096),
            partition_name: NAME.into(),
            key: Some(&k),
            algorithm: Algorithm::Sha256Rsa2048,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(matches!(e, AvbError::Build(_)), "{e}");
}

#[test]
fn adding_twice_is_idempotent_and_options_are_honoured() {
    let data = content(10 * 4096, 3);
    let k = key(2048);
    let (_d, path, info, first) = build_image(&data, Algorithm::Sha512Rsa2048, &k, None);
    let again = avb::add_hashtree_footer(
        &path,
        &HashtreeFooterOptions {
            partition_name: NAME.into(),
            salt: Some(vec![0x5a; 32]),
            algorithm: Algorithm::Sha512Rsa2048,
            key: Some(&k),
            rollback_index: 7,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(again, info);
    assert_eq!(std::fs::read(&path).unwrap(), first);
    // Random salt, sha512 tree, check_at_most_once, rollback location.
    let opts = HashtreeFooterOptions {
        partition_name: NAME.into(),
        hash_algorithm: HashAlgorithm::Sha512,
        algorithm: Algorithm::Sha256Rsa2048,
        key: Some(&k),
        check_at_most_once: true,
        rollback_index_location: 1,
        ..Default::default()
    };
    let info = avb::add_hashtree_footer(&path, &opts).unwrap();
    assert_eq!(info.original_image_size, data.len() as u64);
    assert_eq!(info.descriptor.salt.len(), 64);
    assert_eq!(info.descriptor.root_digest.len(), 64);
    let bytes = std::fs::read(&path).unwrap();
    let v = read_vbmeta_from_device(&mut Cursor::new(&bytes)).unwrap();
    assert_eq!(v.header().required_libavb_version_minor, 2);
    assert_eq!(v.header().rollback_index_location, 1);
    let h = v.hashtree_descriptor(NAME).unwrap();
    assert_eq!(h.flags, avb::HASHTREE_FLAG_CHECK_AT_MOST_ONCE);
    assert!(verity_table(h, "a", "b")
        .unwrap()
        .params
        .ends_with(" 3 restart_on_corruption ignore_zero_blocks check_at_most_once"));
    match &v.descriptors()[0] {
        Descriptor::Hashtree(d) => assert_eq!(d.hash_algorithm, "sha512"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn single_block_image_has_no_tree() {
    let data = content(4096, 4);
    let k = key(2048);
    let (_d, _p, info, bytes) = build_image(&data, Algorithm::Sha256Rsa2048, &k, None);
    assert_eq!(info.descriptor.tree_size, 0);
    assert_eq!(info.vbmeta_offset, 4096);
    let v = read_vbmeta_from_device(&mut Cursor::new(&bytes)).unwrap();
    let h = v.hashtree_descriptor(NAME).unwrap();
    assert_eq!(
        h.root_digest,
        HashAlgorithm::Sha256.digest(&[&h.salt, &data])
    );
}

#[test]
fn pem_formats_and_key_mismatch() {
    let k = key(2048);
    let pkcs1 = k.to_pem().unwrap();
    assert!(pkcs1.starts_with(b"-----BEGIN RSA PRIVATE KEY-----"));
    let again = avb::SigningKey::from_pem(&pkcs1).unwrap();
    assert_eq!(
        again.public_key_blob().unwrap(),
        k.public_key_blob().unwrap()
    );
    assert!(avb::SigningKey::from_pem(b"not a key").is_err());
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.img");
    std::fs::write(&p, content(4096, 5)).unwrap();
    let e = avb::add_hashtree_footer(
        &p,
        &HashtreeFooterOptions {
            partition_name: NAME.into(),
            algorithm: Algorithm::Sha256Rsa4096,
            key: Some(&k),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("2048-bit key cannot sign SHA256_RSA4096"),
        "{e}"
    );
    let unaligned = dir.path().join("y.img");
    std::fs::write(&unaligned, content(4097, 5)).unwrap();
    assert!(avb::add_hashtree_footer(
        &unaligned,
        &HashtreeFooterOptions {
            partition_name: NAME.into(),
            algorithm: Algorithm::Sha256Rsa2048,
            key: Some(&k),
            ..Default::default()
        },
    )
    .is_err());
}
