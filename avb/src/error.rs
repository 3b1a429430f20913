//! The crate's error types and their mapping to the guest's stable reason tokens.

use thiserror::Error;

/// Reason token for an unsigned vbmeta (algorithm NONE).
pub const REASON_VBMETA_UNSIGNED: &str = "VBMETA_UNSIGNED";
/// Reason token for every other footer / vbmeta / descriptor / signature problem.
pub const REASON_VBMETA_INVALID: &str = "VBMETA_INVALID";
/// Reason token for a malformed device-tree digest property.
pub const REASON_VENDOR_DIGEST_MALFORMED: &str = "VENDOR_DIGEST_MALFORMED";

/// Everything that can go wrong while reading, verifying or building AVB metadata.
///
/// Offsets in messages are byte offsets inside the named structure (footer, vbmeta blob,
/// descriptor area), so a failure can be located in a hex dump.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum AvbError {
    /// Reading or writing the partition/image failed.
    #[error("I/O error on {what}: {message}")]
    Io {
        /// What was being read or written.
        what: &'static str,
        /// The OS error text.
        message: String,
    },
    /// The partition cannot even hold the 64-byte footer.
    #[error("partition size {0} is smaller than the 64-byte AVB footer")]
    PartitionTooSmall(u64),
    /// The last 64 bytes do not start with `AVBf`.
    #[error("footer magic is {0:02x?}, expected \"AVBf\"")]
    FooterMagic([u8; 4]),
    /// The footer version is not 1.0.
    #[error("unsupported footer version {major}.{minor} (supported: 1.0)")]
    FooterVersion {
        /// version_major field.
        major: u32,
        /// version_minor field.
        minor: u32,
    },
    /// `vbmeta_size` in the footer is below the header size or above the cap.
    #[error("footer vbmeta_size {size} is outside {min}..={max}")]
    VbmetaSize {
        /// The size found.
        size: u64,
        /// Smallest accepted (the 256-byte header).
        min: u64,
        /// Largest accepted ([`crate::VBMETA_MAX_SIZE`]).
        max: u64,
    },
    /// A footer field points outside the partition or overlaps the footer.
    #[error("footer {field} = {value} is out of range (limit {limit})")]
    FooterRange {
        /// Field name.
        field: &'static str,
        /// Its value (or the computed end).
        value: u64,
        /// The bound it violates.
        limit: u64,
    },
    /// A structure is shorter than its fixed part or its declared length.
    #[error("truncated {what}: need {need} bytes, have {have}")]
    Truncated {
        /// Which structure.
        what: &'static str,
        /// Bytes needed.
        need: u64,
        /// Bytes available.
        have: u64,
    },
    /// The vbmeta blob does not start with `AVB0`.
    #[error("vbmeta magic is {0:02x?}, expected \"AVB0\"")]
    VbmetaMagic([u8; 4]),
    /// required_libavb_version is not 1.x with x <= what we implement.
    #[error("vbmeta requires libavb {major}.{minor}, we implement 1.0..=1.{supported_minor}")]
    UnsupportedVersion {
        /// required_libavb_version_major.
        major: u32,
        /// required_libavb_version_minor.
        minor: u32,
        /// The newest minor we accept.
        supported_minor: u32,
    },
    /// The 48-byte release string's last byte is not NUL.
    #[error("vbmeta release_string (header offset 128) is not NUL-terminated")]
    ReleaseStringNotTerminated,
    /// An authentication/auxiliary block size is not a multiple of 64.
    #[error("{what} {size} is not a multiple of 64")]
    BlockAlignment {
        /// Field name.
        what: &'static str,
        /// Its value.
        size: u64,
    },
    /// header + auth + aux overflows or exceeds the vbmeta blob.
    #[error("vbmeta blocks (256 + {auth} + {aux}) exceed the {available}-byte vbmeta blob")]
    BlocksExceedVbmeta {
        /// authentication_data_block_size.
        auth: u64,
        /// auxiliary_data_block_size.
        aux: u64,
        /// vbmeta_size.
        available: u64,
    },
    /// An (offset, size) pair does not lie entirely inside its block.
    #[error("{what} (offset {offset}, size {size}) is not inside the {block} block of {block_size} bytes")]
    OutOfBlock {
        /// Which item.
        what: &'static str,
        /// Its offset inside the block.
        offset: u64,
        /// Its size.
        size: u64,
        /// "authentication" or "auxiliary".
        block: &'static str,
        /// The block's size.
        block_size: u64,
    },
    /// algorithm_type is NONE: the vbmeta carries no signature.
    #[error("vbmeta is unsigned (algorithm_type 0 = NONE)")]
    Unsigned,
    /// algorithm_type is not one we know.
    #[error("unknown or unsupported vbmeta algorithm_type {0}")]
    UnknownAlgorithm(u32),
    /// A size field disagrees with the algorithm.
    #[error("{what} is {got} bytes but {algorithm} needs {want}")]
    AlgorithmSizeMismatch {
        /// Which field.
        what: &'static str,
        /// Value found.
        got: u64,
        /// Value required.
        want: u64,
        /// Algorithm name.
        algorithm: &'static str,
    },
    /// The embedded AvbRSAPublicKeyHeader blob is malformed.
    #[error("malformed public key blob: {0}")]
    KeyMalformed(String),
    /// The stored hash does not equal the hash of header ‖ auxiliary block.
    #[error("vbmeta hash mismatch (stored hash != hash of header and auxiliary block)")]
    HashMismatch,
    /// The RSA PKCS#1 v1.5 signature does not verify with the embedded key.
    #[error("vbmeta signature does not verify with the embedded public key")]
    SignatureMismatch,
    /// A descriptor is malformed.
    #[error("descriptor at descriptor-area offset {offset}: {reason}")]
    Descriptor {
        /// Offset of the descriptor's tag inside the descriptors area.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A hashtree descriptor's values are inconsistent or unsupported.
    #[error("hashtree descriptor for {partition:?}: {reason}")]
    Hashtree {
        /// The descriptor's partition name.
        partition: String,
        /// What is wrong.
        reason: String,
    },
    /// No hashtree descriptor names the requested partition.
    #[error("no hashtree descriptor for partition {0:?}")]
    HashtreeNotFound(String),
    /// Strict boot: the first hashtree descriptor (the one AVF's DICE step measures) is
    /// not the one dm-verity would use.
    #[error(
        "the first hashtree descriptor is for {first:?}, not {wanted:?}: under strict boot \
         the descriptor DICE measures must be the one dm-verity uses"
    )]
    NotFirstHashtree {
        /// The partition the first hashtree descriptor names.
        first: String,
        /// The partition asked for.
        wanted: String,
    },
    /// Strict boot: the hashtree descriptor asks for `check_at_most_once`.
    #[error(
        "hashtree descriptor for {0:?} asks for check_at_most_once, refused under strict boot \
         (the host could serve a block differently on a later read)"
    )]
    CheckAtMostOnce(String),
    /// An OpenSSL operation failed.
    #[error("crypto error: {0}")]
    Crypto(String),
    /// Building an image failed (bad options, image too large, ...).
    #[error("cannot build: {0}")]
    Build(String),
}

impl AvbError {
    /// The guest's stable reason token: `VBMETA_UNSIGNED` for algorithm NONE,
    /// `VBMETA_INVALID` for everything else.
    pub fn reason(&self) -> &'static str {
        match self {
            AvbError::Unsigned => REASON_VBMETA_UNSIGNED,
            _ => REASON_VBMETA_INVALID,
        }
    }

    pub(crate) fn io(what: &'static str, e: &std::io::Error) -> Self {
        AvbError::Io {
            what,
            message: e.to_string(),
        }
    }

    pub(crate) fn crypto(e: &openssl::error::ErrorStack) -> Self {
        AvbError::Crypto(e.to_string())
    }
}

/// Why the device-tree `vendor_hashtree_descriptor_root_digest` value was rejected.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DigestError {
    /// The property is empty (or a lone NUL).
    #[error("digest property is empty")]
    Empty,
    /// Not 64 (sha256) or 128 (sha512) characters (after removing one trailing NUL).
    #[error("digest property has {len} characters, expected 64 or 128")]
    WrongLength {
        /// Length without the tolerated trailing NUL.
        len: usize,
    },
    /// A byte that is not `0-9` or `a-f`.
    #[error("digest property byte {byte:#04x} at offset {offset} is not lowercase hex")]
    NotLowerHex {
        /// Offset of the offending byte.
        offset: usize,
        /// The byte.
        byte: u8,
    },
}

impl DigestError {
    /// The guest's stable reason token: always `VENDOR_DIGEST_MALFORMED`.
    pub fn reason(&self) -> &'static str {
        REASON_VENDOR_DIGEST_MALFORMED
    }
}
