//! Hand-made corrupt partitions: every footer, header, key, signature and descriptor
//! field broken in turn, each rejected with the matching error (and reason token).

mod common;

use std::io::Cursor;

use avb::{
    build_vbmeta, read_vbmeta_from_partition, sign_vbmeta_in_place, Algorithm, AvbError,
    Descriptor, HashtreeDescriptor, SigningKey, VbmetaOptions, VerifiedVbmeta,
};
use common::{build_image, content, hashtree_desc, key, partition_with, NAME};

struct Img {
    bytes: Vec<u8>,
    vb: usize,
    vb_size: usize,
    key: SigningKey,
}

fn base() -> Img {
    let k = key(2048);
    let (_d, _p, info, bytes) =
        build_image(&content(130 * 4096, 9), Algorithm::Sha256Rsa2048, &k, None);
    Img {
        bytes,
        vb: info.vbmeta_offset as usize,
        vb_size: info.vbmeta_size as usize,
        key: k,
    }
}

impl Img {
    fn read(&self) -> Result<VerifiedVbmeta, AvbError> {
        read_vbmeta_from_partition(&mut Cursor::new(&self.bytes), self.bytes.len() as u64)
    }
    fn footer(&self) -> usize {
        self.bytes.len() - 64
    }
    fn put32(&mut self, off: usize, v: u32) {
        self.bytes[off..off + 4].copy_from_slice(&v.to_be_bytes());
    }
    fn put64(&mut self, off: usize, v: u64) {
        self.bytes[off..off + 8].copy_from_slice(&v.to_be_bytes());
    }
    fn get64(&self, off: usize) -> u64 {
        u64::from_be_bytes(self.bytes[off..off + 8].try_into().unwrap())
    }
    /// vbmeta header field offsets.
    fn hdr(&self, field: usize) -> usize {
        self.vb + field
    }
    fn aux(&self) -> usize {
        self.vb + 256 + self.get64(self.hdr(12)) as usize
    }
    fn resign(&mut self) {
        let (vb, n) = (self.vb, self.vb_size);
        sign_vbmeta_in_place(&mut self.bytes[vb..vb + n], &self.key).unwrap();
    }
}

fn expect(img: &Img, check: impl Fn(&AvbError) -> bool, what: &str) {
    match img.read() {
        Ok(_) => panic!("{what}: accepted"),
        Err(e) => {
            assert!(check(&e), "{what}: wrong error {e:?}");
            assert_eq!(e.reason(), "VBMETA_INVALID", "{what}");
            assert!(!e.to_string().is_empty());
        }
    }
}

macro_rules! case {
    ($what:expr, $pat:pat, |$img:ident| $body:block) => {{
        let mut $img = base();
        $body
        expect(&$img, |e| matches!(e, $pat), $what);
    }};
}

#[test]
fn base_image_is_valid() {
    base().read().unwrap();
}

#[test]
fn footer_fields() {
    let b = base();
    let r = read_vbmeta_from_partition(&mut Cursor::new(&b.bytes), 63);
    assert_eq!(r.unwrap_err(), AvbError::PartitionTooSmall(63));
    // Partition longer than the data: the footer read runs off the end.
    let r = read_vbmeta_from_partition(&mut Cursor::new(&b.bytes), b.bytes.len() as u64 + 4096);
    assert!(matches!(r, Err(AvbError::Io { .. })), "{r:?}");
    // Truncated footer (device shorter than the size it reports).
    let short = &b.bytes[..b.bytes.len() - 32];
    let r = read_vbmeta_from_partition(&mut Cursor::new(short), b.bytes.len() as u64);
    assert!(matches!(r, Err(AvbError::Io { .. })), "{r:?}");
    // Partition one byte short: no footer where expected.
    let r = read_vbmeta_from_partition(&mut Cursor::new(&b.bytes), b.bytes.len() as u64 - 1);
    assert!(matches!(r, Err(AvbError::FooterMagic(_))), "{r:?}");

    case!("footer magic", AvbError::FooterMagic(_), |i| {
        let f = i.footer();
        i.bytes[f + 3] = b'g';
    });
    case!(
        "footer major",
        AvbError::FooterVersion { major: 2, .. },
        |i| {
            let f = i.footer();
            i.put32(f + 4, 2);
        }
    );
    case!(
        "footer major 0",
        AvbError::FooterVersion { major: 0, .. },
        |i| {
            let f = i.footer();
            i.put32(f + 4, 0);
        }
    );
    case!(
        "footer minor",
        AvbError::FooterVersion { minor: 1, .. },
        |i| {
            let f = i.footer();
            i.put32(f + 8, 1);
        }
    );
    for size in [0u64, 255, 64 * 1024 + 1, u64::MAX] {
        case!("vbmeta_size", AvbError::VbmetaSize { .. }, |i| {
            let f = i.footer();
            i.put64(f + 28, size);
        });
    }
    case!(
        "vbmeta_offset overflow",
        AvbError::FooterRange { .. },
        |i| {
            let f = i.footer();
            i.put64(f + 20, u64::MAX - 10);
        }
    );
    case!(
        "vbmeta overlaps footer",
        AvbError::FooterRange { .. },
        |i| {
            let f = i.footer();
            let size = i.vb_size as u64;
            i.put64(f + 20, f as u64 - size + 1);
        }
    );
    case!(
        "original_image_size",
        AvbError::FooterRange {
            field: "original_image_size",
            ..
        },
        |i| {
            let f = i.footer();
            let vb = i.vb as u64;
            i.put64(f + 12, vb + 1);
        }
    );
    case!("vbmeta_offset off by one", AvbError::VbmetaMagic(_), |i| {
        let f = i.footer();
        let vb = i.vb as u64;
        i.put64(f + 20, vb + 1);
    });
    case!(
        "vbmeta_size too small for blocks",
        AvbError::BlocksExceedVbmeta { .. },
        |i| {
            let f = i.footer();
            i.put64(f + 28, 256 + 320);
        }
    );
    // Accepted: a larger vbmeta_size (trailing padding) and non-zero reserved bytes,
    // both of which libavb ignores.
    let mut i = base();
    let f = i.footer();
    i.put64(f + 28, i.vb_size as u64 + 64);
    i.bytes[f + 40] = 0xee;
    i.read().unwrap();
}

#[test]
fn header_fields() {
    case!("vbmeta magic", AvbError::VbmetaMagic(_), |i| {
        let o = i.hdr(0);
        i.bytes[o] = b'X';
    });
    for (major, minor) in [(0u32, 0u32), (2, 0), (1, 4), (1, u32::MAX)] {
        case!("libavb version", AvbError::UnsupportedVersion { .. }, |i| {
            let (a, b) = (i.hdr(4), i.hdr(8));
            i.put32(a, major);
            i.put32(b, minor);
        });
    }
    let mut i = base();
    let o = i.hdr(8);
    i.put32(o, 3);
    i.resign();
    assert_eq!(i.read().unwrap().header().required_libavb_version_minor, 3);

    case!(
        "release string",
        AvbError::ReleaseStringNotTerminated,
        |i| {
            let o = i.hdr(128 + 47);
            i.bytes[o] = b'x';
        }
    );
    case!(
        "auth size alignment",
        AvbError::BlockAlignment { .. },
        |i| {
            let o = i.hdr(12);
            let v = i.get64(o);
            i.put64(o, v + 1);
        }
    );
    case!("aux size alignment", AvbError::BlockAlignment { .. }, |i| {
        let o = i.hdr(20);
        let v = i.get64(o);
        i.put64(o, v + 8);
    });
    case!(
        "auth size overflow",
        AvbError::BlocksExceedVbmeta { .. },
        |i| {
            let o = i.hdr(12);
            i.put64(o, !63);
        }
    );
    case!(
        "aux size past blob",
        AvbError::BlocksExceedVbmeta { .. },
        |i| {
            let o = i.hdr(20);
            let v = i.get64(o);
            i.put64(o, v + 64);
        }
    );
    let out = |what: &'static str| move |e: &AvbError| matches!(e, AvbError::OutOfBlock { what: w, .. } if *w == what);
    for (what, field, value) in [
        ("hash", 32usize, 320u64),
        ("hash", 32, u64::MAX),
        ("hash", 40, u64::MAX),
        ("signature", 48, 65),
        ("signature", 56, u64::MAX - 10),
        ("public key", 64, 10_000),
        ("public key", 72, u64::MAX),
        ("descriptors", 96, u64::MAX),
        ("descriptors", 104, 10_000),
    ] {
        let mut i = base();
        let o = i.hdr(field);
        i.put64(o, value);
        expect(&i, out(what), what);
    }
    let mut i = base();
    let (a, b) = (i.hdr(80), i.hdr(88));
    i.put64(a, 10_000);
    i.put64(b, 1);
    expect(&i, out("public key metadata"), "pkmd");
}

#[test]
fn algorithm_and_sizes() {
    for t in [7u32, 8, 0xffff_ffff] {
        case!("unknown algorithm", AvbError::UnknownAlgorithm(_), |i| {
            let o = i.hdr(28);
            i.put32(o, t);
        });
    }
    case!(
        "wrong key size for algorithm",
        AvbError::AlgorithmSizeMismatch { .. },
        |i| {
            let o = i.hdr(28);
            i.put32(o, 2);
        }
    );
    case!(
        "sha512 with a 32-byte hash",
        AvbError::AlgorithmSizeMismatch {
            what: "hash_size",
            ..
        },
        |i| {
            let o = i.hdr(28);
            i.put32(o, 4);
        }
    );
    for (what, field, delta) in [
        ("hash_size", 40usize, -1i64),
        ("signature_size", 56, -1),
        ("public_key_size", 72, -1),
        ("public_key_size", 72, 8),
    ] {
        let mut i = base();
        let o = i.hdr(field);
        let v = i.get64(o);
        i.put64(o, v.wrapping_add_signed(delta));
        expect(
            &i,
            |e| matches!(e, AvbError::AlgorithmSizeMismatch { what: w, .. } if *w == what),
            what,
        );
    }
}

#[test]
fn unsigned_vbmeta_is_its_own_error() {
    let mut i = base();
    let o = i.hdr(28);
    i.put32(o, 0);
    let e = i.read().unwrap_err();
    assert_eq!(e, AvbError::Unsigned);
    assert_eq!(e.reason(), "VBMETA_UNSIGNED");

    // A genuinely unsigned blob as avbtool --algorithm NONE makes it.
    let blob = build_vbmeta(&VbmetaOptions {
        algorithm: Algorithm::None,
        ..Default::default()
    })
    .unwrap();
    let img = partition_with(&blob, 4096, 4096);
    assert_eq!(read(&img).unwrap_err(), AvbError::Unsigned);
}

#[test]
fn hash_and_signature() {
    case!("flipped signature byte", AvbError::SignatureMismatch, |i| {
        let o = i.vb + 256 + 32 + 100;
        i.bytes[o] ^= 0x01;
    });
    case!("signature >= modulus", AvbError::SignatureMismatch, |i| {
        let o = i.vb + 256 + 32;
        i.bytes[o..o + 256].fill(0xff);
    });
    case!("flipped stored hash", AvbError::HashMismatch, |i| {
        let o = i.vb + 256;
        i.bytes[o] ^= 0x80;
    });
    case!("flipped rollback index", AvbError::HashMismatch, |i| {
        let o = i.hdr(119);
        i.bytes[o] ^= 0x01;
    });
    case!(
        "flipped header reserved byte",
        AvbError::HashMismatch,
        |i| {
            let o = i.hdr(200);
            i.bytes[o] ^= 0x01;
        }
    );
    case!("flipped descriptor byte", AvbError::HashMismatch, |i| {
        let o = i.aux() + 200;
        i.bytes[o] ^= 0x01;
    });
    case!("flipped key byte", AvbError::HashMismatch, |i| {
        let o = i.aux() + 264 + 100;
        i.bytes[o] ^= 0x01;
    });
    // Padding after the signature is neither hashed nor signed (as in libavb).
    let mut i = base();
    let o = i.vb + 256 + 32 + 256 + 10;
    i.bytes[o] = 0x42;
    i.read().unwrap();
    // Re-signed with another key but still embedding the original key.
    let mut i = base();
    i.key = SigningKey::generate(2048).unwrap();
    i.resign();
    expect(
        &i,
        |e| matches!(e, AvbError::SignatureMismatch),
        "other key",
    );
}

#[test]
fn key_blob() {
    // Key is at the start of aux + descriptors_size.
    let key_off = |i: &Img| i.aux() + i.get64(i.hdr(64)) as usize;
    for (what, delta_off, patch) in [
        ("n0inv", 4usize, 0x01u8),
        ("rr", 8 + 256 + 255, 0x01),
        ("modulus low bit", 8 + 255, 0x01),
    ] {
        let mut i = base();
        let o = key_off(&i) + delta_off;
        i.bytes[o] ^= patch;
        i.resign();
        expect(&i, |e| matches!(e, AvbError::KeyMalformed(_)), what);
    }
    let mut i = base();
    let o = key_off(&i);
    i.put32(o, 4096);
    i.resign();
    expect(
        &i,
        |e| matches!(e, AvbError::KeyMalformed(_)),
        "key_num_bits",
    );
    // A different valid key: parses, but the signature was not made with it.
    let mut i = base();
    let other = SigningKey::generate(2048)
        .unwrap()
        .public_key_blob()
        .unwrap();
    let o = key_off(&i);
    i.bytes[o..o + other.len()].copy_from_slice(&other);
    i.resign();
    expect(
        &i,
        |e| matches!(e, AvbError::SignatureMismatch),
        "swapped key",
    );
}

#[test]
fn descriptor_framing_is_signed_but_still_checked() {
    for (what, field_off, value) in [
        ("nbf overflow", 8usize, u64::MAX - 7),
        ("nbf not multiple of 8", 8, 244),
        ("nbf past area", 8, 256),
        ("nbf below fixed part", 8, 8),
        ("salt_len huge", 16 + 88, 0xffff_ffff_0000_0000),
    ] {
        let mut i = base();
        let o = i.aux() + field_off;
        i.put64(o, value);
        i.resign();
        expect(&i, |e| matches!(e, AvbError::Descriptor { .. }), what);
    }
}

fn read(p: &[u8]) -> Result<VerifiedVbmeta, AvbError> {
    read_vbmeta_from_partition(&mut Cursor::new(p), p.len() as u64)
}

fn good_desc() -> HashtreeDescriptor {
    hashtree_desc(NAME, 0)
}

fn signed_with(desc: HashtreeDescriptor) -> Vec<u8> {
    let k = key(2048);
    let blob = build_vbmeta(&VbmetaOptions {
        algorithm: Algorithm::Sha256Rsa2048,
        key: Some(&k),
        descriptors: vec![Descriptor::Hashtree(desc)],
        ..Default::default()
    })
    .unwrap();
    partition_with(&blob, 132 * 4096, 129 * 4096)
}

#[test]
fn hashtree_descriptor_values() {
    read(&signed_with(good_desc()))
        .unwrap()
        .hashtree_descriptor(NAME)
        .unwrap();
    type Mutation = fn(&mut HashtreeDescriptor);
    let bad: Vec<(&str, Mutation)> = vec![
        ("sha1", |d| {
            d.hash_algorithm = "sha1".into();
            d.root_digest = vec![2; 20];
        }),
        ("digest len vs sha256", |d| d.root_digest = vec![2; 20]),
        ("digest len vs sha512", |d| {
            d.hash_algorithm = "sha512".into()
        }),
        ("salt too long", |d| d.salt = vec![0; 300]),
        ("verity version 0", |d| d.dm_verity_version = 0),
        ("block size 1000", |d| d.data_block_size = 1000),
        ("hash block 256", |d| d.hash_block_size = 256),
        ("image not block multiple", |d| d.image_size += 512),
        ("tree inside data", |d| d.tree_offset = 4096),
        ("tree misaligned", |d| d.tree_offset += 1),
        ("tree size wrong", |d| d.tree_size = 4096),
        ("tree_offset overflow", |d| d.tree_offset = u64::MAX - 4095),
        ("fec roots without fec", |d| d.fec_num_roots = 2),
        ("fec overlapping tree", |d| {
            d.fec_num_roots = 2;
            d.fec_size = 4096;
            d.fec_offset = d.tree_offset;
        }),
    ];
    for (what, f) in bad {
        let mut d = good_desc();
        f(&mut d);
        let e = read(&signed_with(d)).unwrap_err();
        assert!(matches!(e, AvbError::Hashtree { .. }), "{what}: {e:?}");
        assert_eq!(e.reason(), "VBMETA_INVALID");
    }
}

#[test]
fn fec_needs_equal_data_and_hash_block_sizes() {
    // 1024-byte hash blocks: 129 data blocks need 5 + 1 hash blocks.
    let mut d = good_desc();
    d.hash_block_size = 1024;
    d.tree_size = 6 * 1024;
    read(&signed_with(d.clone())).unwrap();
    // The same geometry with FEC after the tree: Linux refuses it ("Block sizes must
    // match to use FEC"), so the descriptor checks do too.
    d.fec_num_roots = 2;
    d.fec_size = 4096;
    d.fec_offset = 131 * 4096;
    let e = read(&signed_with(d)).unwrap_err();
    assert!(matches!(e, AvbError::Hashtree { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("FEC needs data_block_size 4096 equal to hash_block_size 1024"),
        "{e}"
    );
}

#[test]
fn hashtree_placement_against_footer() {
    // The partition's vbmeta sits at 132 * 4096; a tree that ends past it is refused.
    let mut d = good_desc();
    d.tree_offset = 131 * 4096;
    let v = read(&signed_with(d)).unwrap();
    let e = v.hashtree_descriptor(NAME).unwrap_err();
    assert!(e.to_string().contains("past vbmeta_offset"), "{e}");
    let mut d = good_desc();
    d.fec_num_roots = 2;
    d.fec_size = 8192;
    d.fec_offset = 132 * 4096;
    let v = read(&signed_with(d)).unwrap();
    assert!(v
        .hashtree_descriptor(NAME)
        .unwrap_err()
        .to_string()
        .contains("FEC"));
    let mut d = good_desc();
    d.image_size = 4096;
    d.tree_offset = 4096;
    d.tree_size = 0;
    let v = read(&signed_with(d)).unwrap();
    let e = v.hashtree_descriptor(NAME).unwrap_err();
    assert!(e.to_string().contains("original_image_size"), "{e}");
    assert!(matches!(
        v.hashtree_descriptor("other"),
        Err(AvbError::HashtreeNotFound(_))
    ));
}
