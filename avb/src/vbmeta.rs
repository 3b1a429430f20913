//! The vbmeta blob: the 256-byte `AvbVBMetaImageHeader`, the authentication block (hash
//! and signature) and the auxiliary block (descriptors, public key, key metadata), with
//! libavb's checks in libavb's order plus a few stricter ones (documented on
//! [`verify_vbmeta`]).

use crate::algorithm::Algorithm;
use crate::bytes::{be_u32, be_u64, slice};
use crate::descriptor::{parse_descriptors, Descriptor};
use crate::error::AvbError;
use crate::key::PublicKey;
use crate::verify::verify_signature;

/// Size of `AvbVBMetaImageHeader`.
pub const HEADER_SIZE: usize = 256;
/// vbmeta magic.
pub const VBMETA_MAGIC: &[u8; 4] = b"AVB0";
/// libavb major version we implement.
pub const AVB_VERSION_MAJOR: u32 = 1;
/// Newest libavb minor version whose images we accept (libavb/avbtool 1.3).
pub const AVB_VERSION_MINOR: u32 = 3;
/// Size of the release string field (NUL-terminated).
pub const RELEASE_STRING_SIZE: usize = 48;
/// vbmeta header flag: hashtree disabled (reported, never honoured: we always set up dm-verity).
pub const VBMETA_FLAG_HASHTREE_DISABLED: u32 = 1 << 0;
/// vbmeta header flag: verification disabled (reported, never honoured).
pub const VBMETA_FLAG_VERIFICATION_DISABLED: u32 = 1 << 1;

/// A parsed `AvbVBMetaImageHeader` (big-endian on disk).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VbmetaHeader {
    /// required_libavb_version_major.
    pub required_libavb_version_major: u32,
    /// required_libavb_version_minor.
    pub required_libavb_version_minor: u32,
    /// Size of the authentication block.
    pub authentication_data_block_size: u64,
    /// Size of the auxiliary block.
    pub auxiliary_data_block_size: u64,
    /// Raw algorithm_type.
    pub algorithm_type: u32,
    /// Hash offset in the authentication block.
    pub hash_offset: u64,
    /// Hash size.
    pub hash_size: u64,
    /// Signature offset in the authentication block.
    pub signature_offset: u64,
    /// Signature size.
    pub signature_size: u64,
    /// Public key offset in the auxiliary block.
    pub public_key_offset: u64,
    /// Public key size.
    pub public_key_size: u64,
    /// Public key metadata offset in the auxiliary block.
    pub public_key_metadata_offset: u64,
    /// Public key metadata size.
    pub public_key_metadata_size: u64,
    /// Descriptors offset in the auxiliary block.
    pub descriptors_offset: u64,
    /// Descriptors size.
    pub descriptors_size: u64,
    /// Rollback index.
    pub rollback_index: u64,
    /// `VBMETA_FLAG_*` bits.
    pub flags: u32,
    /// Rollback index location.
    pub rollback_index_location: u32,
    /// The 48-byte release string field, verbatim.
    pub release_string: [u8; RELEASE_STRING_SIZE],
}

impl VbmetaHeader {
    /// Decodes the fixed header fields (magic and length checked; nothing else).
    pub fn parse(b: &[u8]) -> Result<Self, AvbError> {
        let mut magic = [0u8; 4];
        if let Some(m) = b.get(..4) {
            magic.copy_from_slice(m);
        }
        if &magic != VBMETA_MAGIC {
            return Err(AvbError::VbmetaMagic(magic));
        }
        if b.len() < HEADER_SIZE {
            return Err(AvbError::Truncated {
                what: "vbmeta header",
                need: HEADER_SIZE as u64,
                have: b.len() as u64,
            });
        }
        let u32_at = |o| be_u32(b, o).unwrap_or(0);
        let u64_at = |o| be_u64(b, o).unwrap_or(0);
        let mut release_string = [0u8; RELEASE_STRING_SIZE];
        release_string.copy_from_slice(&b[128..128 + RELEASE_STRING_SIZE]);
        Ok(VbmetaHeader {
            required_libavb_version_major: u32_at(4),
            required_libavb_version_minor: u32_at(8),
            authentication_data_block_size: u64_at(12),
            auxiliary_data_block_size: u64_at(20),
            algorithm_type: u32_at(28),
            hash_offset: u64_at(32),
            hash_size: u64_at(40),
            signature_offset: u64_at(48),
            signature_size: u64_at(56),
            public_key_offset: u64_at(64),
            public_key_size: u64_at(72),
            public_key_metadata_offset: u64_at(80),
            public_key_metadata_size: u64_at(88),
            descriptors_offset: u64_at(96),
            descriptors_size: u64_at(104),
            rollback_index: u64_at(112),
            flags: u32_at(120),
            rollback_index_location: u32_at(124),
            release_string,
        })
    }

    /// Serializes the header (reserved bytes zero).
    pub fn to_bytes(&self) -> [u8; HEADER_SIZE] {
        let mut b = [0u8; HEADER_SIZE];
        b[..4].copy_from_slice(VBMETA_MAGIC);
        let mut put32 = |o: usize, v: u32| b[o..o + 4].copy_from_slice(&v.to_be_bytes());
        put32(4, self.required_libavb_version_major);
        put32(8, self.required_libavb_version_minor);
        put32(28, self.algorithm_type);
        put32(120, self.flags);
        put32(124, self.rollback_index_location);
        for (o, v) in [
            (12, self.authentication_data_block_size),
            (20, self.auxiliary_data_block_size),
            (32, self.hash_offset),
            (40, self.hash_size),
            (48, self.signature_offset),
            (56, self.signature_size),
            (64, self.public_key_offset),
            (72, self.public_key_size),
            (80, self.public_key_metadata_offset),
            (88, self.public_key_metadata_size),
            (96, self.descriptors_offset),
            (104, self.descriptors_size),
            (112, self.rollback_index),
        ] {
            b[o..o + 8].copy_from_slice(&v.to_be_bytes());
        }
        b[128..128 + RELEASE_STRING_SIZE].copy_from_slice(&self.release_string);
        b
    }

    /// The release string up to its NUL (lossy UTF-8).
    pub fn release_string(&self) -> String {
        let end = self
            .release_string
            .iter()
            .position(|&c| c == 0)
            .unwrap_or(RELEASE_STRING_SIZE);
        String::from_utf8_lossy(&self.release_string[..end]).into_owned()
    }
}

/// A vbmeta blob whose hash and signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vbmeta {
    /// The header.
    pub header: VbmetaHeader,
    /// The signing algorithm (never NONE).
    pub algorithm: Algorithm,
    /// The embedded public key blob (`AvbRSAPublicKeyHeader` ‖ n ‖ rr).
    pub public_key: Vec<u8>,
    /// The public key metadata blob (usually empty).
    pub public_key_metadata: Vec<u8>,
    /// The descriptors, in order.
    pub descriptors: Vec<Descriptor>,
}

fn inside(
    what: &'static str,
    offset: u64,
    size: u64,
    block: &'static str,
    block_size: u64,
) -> Result<(), AvbError> {
    match offset.checked_add(size) {
        Some(end) if end <= block_size => Ok(()),
        _ => Err(AvbError::OutOfBlock {
            what,
            offset,
            size,
            block,
            block_size,
        }),
    }
}

/// Parses and verifies a vbmeta blob (`blob` = the `vbmeta_size` bytes the footer
/// points at). Checks, in order (libavb's `avb_vbmeta_image_verify` order):
/// magic; length ≥ 256; required libavb version 1.0..=1.3; release string
/// NUL-terminated; auth/aux block sizes multiples of 64; 256 + auth + aux ≤ blob
/// length without overflow; hash and signature inside the authentication block; public
/// key, key metadata and (stricter than libavb) descriptors inside the auxiliary block;
/// algorithm NONE → [`AvbError::Unsigned`]; unknown algorithm; hash, signature and key
/// sizes equal to the algorithm's; stored hash = H(header ‖ aux); key blob valid;
/// RSA PKCS#1 v1.5 signature valid; descriptors well-formed.
pub fn verify_vbmeta(blob: &[u8]) -> Result<Vbmeta, AvbError> {
    let h = VbmetaHeader::parse(blob)?;
    if h.required_libavb_version_major != AVB_VERSION_MAJOR
        || h.required_libavb_version_minor > AVB_VERSION_MINOR
    {
        return Err(AvbError::UnsupportedVersion {
            major: h.required_libavb_version_major,
            minor: h.required_libavb_version_minor,
            supported_minor: AVB_VERSION_MINOR,
        });
    }
    if h.release_string[RELEASE_STRING_SIZE - 1] != 0 {
        return Err(AvbError::ReleaseStringNotTerminated);
    }
    let auth_size = h.authentication_data_block_size;
    let aux_size = h.auxiliary_data_block_size;
    for (what, size) in [
        ("authentication_data_block_size", auth_size),
        ("auxiliary_data_block_size", aux_size),
    ] {
        if size % 64 != 0 {
            return Err(AvbError::BlockAlignment { what, size });
        }
    }
    let total = (HEADER_SIZE as u64)
        .checked_add(auth_size)
        .and_then(|t| t.checked_add(aux_size));
    if total.is_none_or(|t| t > blob.len() as u64) {
        return Err(AvbError::BlocksExceedVbmeta {
            auth: auth_size,
            aux: aux_size,
            available: blob.len() as u64,
        });
    }
    const AUTH: &str = "authentication";
    const AUX: &str = "auxiliary";
    inside("hash", h.hash_offset, h.hash_size, AUTH, auth_size)?;
    inside(
        "signature",
        h.signature_offset,
        h.signature_size,
        AUTH,
        auth_size,
    )?;
    inside(
        "public key",
        h.public_key_offset,
        h.public_key_size,
        AUX,
        aux_size,
    )?;
    if h.public_key_metadata_size > 0 {
        inside(
            "public key metadata",
            h.public_key_metadata_offset,
            h.public_key_metadata_size,
            AUX,
            aux_size,
        )?;
    }
    inside(
        "descriptors",
        h.descriptors_offset,
        h.descriptors_size,
        AUX,
        aux_size,
    )?;

    let algorithm = match Algorithm::from_type(h.algorithm_type) {
        Some(Algorithm::None) => return Err(AvbError::Unsigned),
        Some(a) => a,
        None => return Err(AvbError::UnknownAlgorithm(h.algorithm_type)),
    };
    let hash = algorithm.hash().ok_or(AvbError::Unsigned)?;
    for (what, got, want) in [
        ("hash_size", h.hash_size, algorithm.hash_len()),
        (
            "signature_size",
            h.signature_size,
            algorithm.signature_len(),
        ),
        (
            "public_key_size",
            h.public_key_size,
            algorithm.public_key_len(),
        ),
    ] {
        if got != want as u64 {
            return Err(AvbError::AlgorithmSizeMismatch {
                what,
                got,
                want: want as u64,
                algorithm: algorithm.name(),
            });
        }
    }

    // All ranges were checked above; `slice` re-checks instead of indexing.
    let bad = || AvbError::Truncated {
        what: "vbmeta blocks",
        need: total.unwrap_or(u64::MAX),
        have: blob.len() as u64,
    };
    let auth = slice(blob, HEADER_SIZE as u64, auth_size).ok_or_else(bad)?;
    let aux = slice(blob, HEADER_SIZE as u64 + auth_size, aux_size).ok_or_else(bad)?;
    let stored_hash = slice(auth, h.hash_offset, h.hash_size).ok_or_else(bad)?;
    let signature = slice(auth, h.signature_offset, h.signature_size).ok_or_else(bad)?;
    let key_blob = slice(aux, h.public_key_offset, h.public_key_size).ok_or_else(bad)?;
    let key_metadata = if h.public_key_metadata_size > 0 {
        slice(
            aux,
            h.public_key_metadata_offset,
            h.public_key_metadata_size,
        )
        .ok_or_else(bad)?
    } else {
        &[]
    };
    let descriptors_area = slice(aux, h.descriptors_offset, h.descriptors_size).ok_or_else(bad)?;

    let computed = hash.digest(&[&blob[..HEADER_SIZE], aux]);
    if !openssl::memcmp::eq(&computed, stored_hash) {
        return Err(AvbError::HashMismatch);
    }
    let key = PublicKey::from_blob(key_blob)?;
    verify_signature(algorithm, &key, signature, &computed)?;
    let descriptors = parse_descriptors(descriptors_area)?;
    Ok(Vbmeta {
        header: h,
        algorithm,
        public_key: key_blob.to_vec(),
        public_key_metadata: key_metadata.to_vec(),
        descriptors,
    })
}
