//! The signed vendor image: ext4 of a directory plus avbtool-style hashtree footer, and
//! reading back what the host needs (root digest, key, rollback index, layout).

use std::path::{Path, PathBuf};

use avb::{Algorithm, HashAlgorithm, HashtreeFooterOptions, SigningKey};

use crate::error::{io_err, Error, Result};
use crate::ext4::{build_ext4_labelled, Labels};

/// The GPT/AVB partition name AVF uses for the vendor image.
pub const DEFAULT_PARTITION_NAME: &str = "microdroid-vendor";

/// How to build a vendor image.
#[derive(Debug, Clone)]
pub struct VendorImageOptions {
    /// Partition name in the hashtree descriptor (default `microdroid-vendor`).
    pub partition_name: String,
    /// Hash tree salt; `None` = random (avbtool's default).
    pub salt: Option<Vec<u8>>,
    /// PEM RSA private key.
    pub key_pem: PathBuf,
    /// Signing algorithm; `None` = SHA256 with the key's size (e.g. SHA256_RSA4096).
    pub algorithm: Option<Algorithm>,
    /// vbmeta rollback index.
    pub rollback_index: u64,
    /// ext4 size; `None` = content + margin.
    pub ext4_size: Option<u64>,
    /// Partition size; `None` = just large enough.
    pub partition_size: Option<u64>,
    /// Hashing threads (0 = all cores).
    pub threads: usize,
    /// Label every file from this file_contexts (as mounted at `/vendor`), like AOSP's
    /// e2fsdroid; `None` writes no labels.
    pub file_contexts: Option<PathBuf>,
    /// Set the hashtree descriptor's `check_at_most_once` flag (avbtool
    /// `--check_at_most_once`).
    pub check_at_most_once: bool,
}

impl VendorImageOptions {
    /// Defaults (name `microdroid-vendor`, random salt, SHA256 + key size, index 0).
    pub fn new(key_pem: impl Into<PathBuf>) -> Self {
        VendorImageOptions {
            partition_name: DEFAULT_PARTITION_NAME.to_string(),
            salt: None,
            key_pem: key_pem.into(),
            algorithm: None,
            rollback_index: 0,
            ext4_size: None,
            partition_size: None,
            threads: 0,
            file_contexts: None,
            check_at_most_once: false,
        }
    }
}

/// Everything the host needs about a built (or read) vendor image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorImageInfo {
    /// Partition name of the hashtree descriptor.
    pub partition_name: String,
    /// Lowercase hex root digest: the DT `vendor_hashtree_descriptor_root_digest` value.
    pub root_digest_hex: String,
    /// Root digest bytes.
    pub root_digest: Vec<u8>,
    /// Hash tree hash (`sha256`).
    pub hash_algorithm: String,
    /// Bytes covered by dm-verity (the ext4 image rounded up to a block).
    pub image_size: u64,
    /// ext4 image size before the footer was added.
    pub original_image_size: u64,
    /// Total partition (file) size.
    pub partition_size: u64,
    /// The AVB public key blob embedded in vbmeta (what DICE hashes).
    pub public_key_blob: Vec<u8>,
    /// vbmeta signing algorithm.
    pub algorithm: Algorithm,
    /// vbmeta rollback index.
    pub rollback_index: u64,
    /// Hash tree salt.
    pub salt: Vec<u8>,
    /// Hash tree offset.
    pub tree_offset: u64,
    /// Hash tree size.
    pub tree_size: u64,
    /// vbmeta blob offset.
    pub vbmeta_offset: u64,
    /// vbmeta blob size.
    pub vbmeta_size: u64,
}

/// Builds `out` = ext4(`src_dir`) ‖ hash tree ‖ signed vbmeta ‖ footer, then reads it
/// back and verifies it, returning what was read.
pub fn build_vendor_image(
    src_dir: &Path,
    out: &Path,
    opts: &VendorImageOptions,
) -> Result<VendorImageInfo> {
    let key = SigningKey::from_pem_file(&opts.key_pem)?;
    let algorithm = match opts.algorithm {
        Some(a) => a,
        None => format!("SHA256_RSA{}", key.bits())
            .parse()
            .map_err(Error::Invalid)?,
    };
    let contexts = match &opts.file_contexts {
        Some(p) => {
            let text = std::fs::read(p).map_err(io_err(format!("reading {}", p.display())))?;
            let origin = p.display().to_string();
            Some(
                sepolicy::FileContexts::parse_bytes(&text, &origin)
                    .into_result()
                    .map_err(|e| Error::Invalid(e.to_string()))?,
            )
        }
        None => None,
    };
    let labels = contexts.as_ref().map(|contexts| Labels {
        contexts,
        mount_point: "/vendor",
    });
    build_ext4_labelled(src_dir, out, opts.ext4_size, labels.as_ref())?;
    avb::add_hashtree_footer(
        out,
        &HashtreeFooterOptions {
            partition_size: opts.partition_size,
            partition_name: opts.partition_name.clone(),
            salt: opts.salt.clone(),
            hash_algorithm: HashAlgorithm::Sha256,
            algorithm,
            key: Some(&key),
            rollback_index: opts.rollback_index,
            check_at_most_once: opts.check_at_most_once,
            threads: opts.threads,
            ..Default::default()
        },
    )?;
    read_vendor_image(out, &opts.partition_name)
}

/// Reads and verifies an image's footer and vbmeta and returns its details for the
/// hashtree descriptor named `partition_name`.
pub fn read_vendor_image(path: &Path, partition_name: &str) -> Result<VendorImageInfo> {
    let mut f = std::fs::File::open(path).map_err(io_err(format!("opening {}", path.display())))?;
    let v = avb::read_vbmeta_from_device(&mut f)?;
    let h = v.hashtree_descriptor(partition_name)?;
    Ok(VendorImageInfo {
        partition_name: h.partition_name.clone(),
        root_digest_hex: avb::to_hex(&h.root_digest),
        root_digest: h.root_digest.clone(),
        hash_algorithm: h.hash_algorithm.clone(),
        image_size: h.image_size,
        original_image_size: v.footer().original_image_size,
        partition_size: v.partition_size(),
        public_key_blob: v.public_key_blob().to_vec(),
        algorithm: v.algorithm(),
        rollback_index: v.rollback_index(),
        salt: h.salt.clone(),
        tree_offset: h.tree_offset,
        tree_size: h.tree_size,
        vbmeta_offset: v.footer().vbmeta_offset,
        vbmeta_size: v.footer().vbmeta_size,
    })
}
