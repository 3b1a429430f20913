//! Host-side image building: signing keys, vbmeta serialization and signing, and
//! `add_hashtree_footer` with avbtool's layout:
//!
//! `image (rounded up to 4096) ‖ hash tree (padded to 4096) ‖ vbmeta (padded to 4096)
//! ‖ zeros ‖ one 4096-byte block ending in the 64-byte AvbFooter`
//!
//! With an explicit partition size the footer block is the partition's last block and
//! the image must fit in `partition_size − (max tree size + 64 KiB + 4 KiB)` as avbtool
//! computes it; without one the partition ends right after the footer block. FEC is not
//! generated. The guest never calls this module (the linker drops it from PID 1).

use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;

use openssl::pkey::Private;
use openssl::rsa::{Padding, Rsa};
use zeroize::Zeroizing;

use crate::algorithm::{Algorithm, HashAlgorithm};
use crate::bytes::{round_up, slice};
use crate::descriptor::{
    Descriptor, HashtreeDescriptor, DM_VERITY_VERSION, HASHTREE_FLAG_CHECK_AT_MOST_ONCE,
};
use crate::error::AvbError;
use crate::footer::{AvbFooter, FOOTER_SIZE, FOOTER_VERSION_MAJOR, FOOTER_VERSION_MINOR};
use crate::hashtree::{compute_hashtree_file, tree_geometry};
use crate::key::{encode_public_key, SUPPORTED_KEY_BITS};
use crate::vbmeta::{VbmetaHeader, AVB_VERSION_MAJOR, HEADER_SIZE, RELEASE_STRING_SIZE};
use crate::verify::pkcs1_v15_encode;

/// The release string avbtool 1.3.0 writes.
pub const DEFAULT_RELEASE_STRING: &str = "avbtool 1.3.0";
/// avbtool's allowance for the vbmeta blob when sizing a partition.
pub const MAX_VBMETA_SIZE: u64 = 64 * 1024;
/// avbtool's allowance for the footer block.
pub const MAX_FOOTER_SIZE: u64 = 4096;
/// avbtool's image block size (padding unit of every appended region).
pub const IMAGE_BLOCK_SIZE: u64 = 4096;

/// An RSA private key for signing vbmeta (exponent 65537; 2048, 4096 or 8192 bits).
pub struct SigningKey {
    rsa: Rsa<Private>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({} bits)", self.bits())
    }
}

impl SigningKey {
    fn checked(rsa: Rsa<Private>) -> Result<Self, AvbError> {
        let key = SigningKey { rsa };
        // Validates exponent and size.
        encode_public_key(&key.rsa)?;
        Ok(key)
    }

    /// Loads a PEM private key (PKCS#1 `RSA PRIVATE KEY` or PKCS#8 `PRIVATE KEY`).
    pub fn from_pem(pem: &[u8]) -> Result<Self, AvbError> {
        let rsa = Rsa::private_key_from_pem(pem).map_err(|e| AvbError::crypto(&e))?;
        Self::checked(rsa)
    }

    /// Reads a PEM private key file (the file contents are wiped from memory after parsing).
    pub fn from_pem_file(path: &Path) -> Result<Self, AvbError> {
        let mut pem = Zeroizing::new(Vec::new());
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_end(&mut pem))
            .map_err(|e| AvbError::io("private key file", &e))?;
        Self::from_pem(&pem)
    }

    /// Generates a fresh key of `bits` bits (2048, 4096 or 8192).
    pub fn generate(bits: u32) -> Result<Self, AvbError> {
        if !SUPPORTED_KEY_BITS.contains(&bits) {
            return Err(AvbError::Build(format!(
                "key size {bits} (need 2048, 4096 or 8192)"
            )));
        }
        let rsa = Rsa::generate(bits).map_err(|e| AvbError::crypto(&e))?;
        Self::checked(rsa)
    }

    /// The key as PKCS#1 PEM, in a buffer wiped on drop.
    pub fn to_pem(&self) -> Result<Zeroizing<Vec<u8>>, AvbError> {
        self.rsa
            .private_key_to_pem()
            .map(Zeroizing::new)
            .map_err(|e| AvbError::crypto(&e))
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> u32 {
        self.rsa.n().num_bits().unsigned_abs()
    }

    /// The AVB public key blob (what vbmeta embeds and DICE hashes).
    pub fn public_key_blob(&self) -> Result<Vec<u8>, AvbError> {
        encode_public_key(&self.rsa)
    }

    /// Raw RSA private operation over the PKCS#1 v1.5 encoding of `digest`.
    fn sign_digest(&self, alg: Algorithm, digest: &[u8]) -> Result<Vec<u8>, AvbError> {
        if self.bits() != alg.key_bits() {
            return Err(AvbError::Build(format!(
                "{}-bit key cannot sign {alg}",
                self.bits()
            )));
        }
        let em = pkcs1_v15_encode(alg, digest)?;
        let mut sig = vec![0u8; alg.signature_len()];
        let n = self
            .rsa
            .private_encrypt(&em, &mut sig, Padding::NONE)
            .map_err(|e| AvbError::crypto(&e))?;
        sig.truncate(n);
        Ok(sig)
    }
}

/// What to put in a vbmeta blob.
#[derive(Debug)]
pub struct VbmetaOptions<'a> {
    /// Signing algorithm; NONE builds an unsigned blob (as avbtool can).
    pub algorithm: Algorithm,
    /// The key (required unless NONE).
    pub key: Option<&'a SigningKey>,
    /// Descriptors, serialized in order.
    pub descriptors: Vec<Descriptor>,
    /// Rollback index.
    pub rollback_index: u64,
    /// Header flags.
    pub flags: u32,
    /// Rollback index location.
    pub rollback_index_location: u32,
    /// required_libavb_version_minor.
    pub required_libavb_version_minor: u32,
    /// Release string (at most 47 bytes).
    pub release_string: String,
    /// Public key metadata blob (normally empty).
    pub public_key_metadata: Vec<u8>,
}

impl Default for VbmetaOptions<'_> {
    fn default() -> Self {
        VbmetaOptions {
            algorithm: Algorithm::Sha256Rsa4096,
            key: None,
            descriptors: Vec::new(),
            rollback_index: 0,
            flags: 0,
            rollback_index_location: 0,
            required_libavb_version_minor: 0,
            release_string: DEFAULT_RELEASE_STRING.to_string(),
            public_key_metadata: Vec::new(),
        }
    }
}

fn to_u64(n: usize) -> u64 {
    n as u64
}

/// Builds a vbmeta blob exactly as avbtool's `_generate_vbmeta_blob`: auxiliary block =
/// descriptors ‖ public key ‖ key metadata padded to 64; authentication block = hash ‖
/// signature padded to 64; then hashed and signed.
pub fn build_vbmeta(opts: &VbmetaOptions<'_>) -> Result<Vec<u8>, AvbError> {
    let alg = opts.algorithm;
    let mut encoded = Vec::new();
    for d in &opts.descriptors {
        encoded.extend(d.to_bytes()?);
    }
    let key_blob = match (alg, opts.key) {
        (Algorithm::None, _) => Vec::new(),
        (_, Some(k)) => k.public_key_blob()?,
        (_, None) => return Err(AvbError::Build(format!("{alg} needs a key"))),
    };
    let rs = opts.release_string.as_bytes();
    if rs.len() >= RELEASE_STRING_SIZE {
        return Err(AvbError::Build(
            "release string longer than 47 bytes".into(),
        ));
    }
    let mut release_string = [0u8; RELEASE_STRING_SIZE];
    release_string[..rs.len()].copy_from_slice(rs);

    let aux_used = encoded.len() + key_blob.len() + opts.public_key_metadata.len();
    let aux_size =
        round_up(to_u64(aux_used), 64).ok_or_else(|| AvbError::Build("too big".into()))?;
    let auth_used = alg.hash_len() + alg.signature_len();
    let auth_size =
        round_up(to_u64(auth_used), 64).ok_or_else(|| AvbError::Build("too big".into()))?;
    let header = VbmetaHeader {
        required_libavb_version_major: AVB_VERSION_MAJOR,
        required_libavb_version_minor: opts.required_libavb_version_minor,
        authentication_data_block_size: auth_size,
        auxiliary_data_block_size: aux_size,
        algorithm_type: alg.type_id(),
        hash_offset: 0,
        hash_size: to_u64(alg.hash_len()),
        signature_offset: to_u64(alg.hash_len()),
        signature_size: to_u64(alg.signature_len()),
        public_key_offset: to_u64(encoded.len()),
        public_key_size: to_u64(key_blob.len()),
        public_key_metadata_offset: to_u64(encoded.len() + key_blob.len()),
        public_key_metadata_size: to_u64(opts.public_key_metadata.len()),
        descriptors_offset: 0,
        descriptors_size: to_u64(encoded.len()),
        rollback_index: opts.rollback_index,
        flags: opts.flags,
        rollback_index_location: opts.rollback_index_location,
        release_string,
    };
    let mut blob = Vec::with_capacity(HEADER_SIZE + (auth_size + aux_size) as usize);
    blob.extend_from_slice(&header.to_bytes());
    blob.resize(HEADER_SIZE + auth_size as usize, 0);
    blob.extend_from_slice(&encoded);
    blob.extend_from_slice(&key_blob);
    blob.extend_from_slice(&opts.public_key_metadata);
    blob.resize(HEADER_SIZE + (auth_size + aux_size) as usize, 0);
    if alg != Algorithm::None {
        let key = opts
            .key
            .ok_or_else(|| AvbError::Build(format!("{alg} needs a key")))?;
        sign_vbmeta_in_place(&mut blob, key)?;
    }
    Ok(blob)
}

/// (Re)computes the hash and signature of a vbmeta blob in place, trusting its header's
/// algorithm, block sizes and hash/signature offsets (all bounds-checked). Used by
/// [`build_vbmeta`] and by tests that craft headers with odd-but-signed values.
pub fn sign_vbmeta_in_place(blob: &mut [u8], key: &SigningKey) -> Result<(), AvbError> {
    let h = VbmetaHeader::parse(blob)?;
    let alg = Algorithm::from_type(h.algorithm_type)
        .ok_or(AvbError::UnknownAlgorithm(h.algorithm_type))?;
    let hash = alg.hash().ok_or(AvbError::Unsigned)?;
    let auth_start = HEADER_SIZE as u64;
    let aux_start = auth_start
        .checked_add(h.authentication_data_block_size)
        .ok_or_else(|| AvbError::Build("auth block size overflows".into()))?;
    let aux = slice(blob, aux_start, h.auxiliary_data_block_size)
        .ok_or_else(|| AvbError::Build("aux block outside blob".into()))?;
    let digest = hash.digest(&[&blob[..HEADER_SIZE], aux]);
    let sig = key.sign_digest(alg, &digest)?;
    let mut put = |off: u64, data: &[u8]| -> Result<(), AvbError> {
        let start = auth_start
            .checked_add(off)
            .and_then(|s| usize::try_from(s).ok())
            .ok_or_else(|| AvbError::Build("offset overflows".into()))?;
        let dst = start
            .checked_add(data.len())
            .and_then(|end| blob.get_mut(start..end))
            .ok_or_else(|| AvbError::Build("hash/signature outside blob".into()))?;
        dst.copy_from_slice(data);
        Ok(())
    };
    put(h.hash_offset, &digest)?;
    put(h.signature_offset, &sig)?;
    Ok(())
}

/// Options for [`add_hashtree_footer`] (the subset of avbtool's that we need).
#[derive(Debug)]
pub struct HashtreeFooterOptions<'a> {
    /// Partition size; `None` = just large enough (avbtool `--partition_size 0`).
    pub partition_size: Option<u64>,
    /// Partition name stored in the descriptor.
    pub partition_name: String,
    /// Salt; `None` = random, as long as the digest (avbtool's default).
    pub salt: Option<Vec<u8>>,
    /// Tree hash (sha256 by default).
    pub hash_algorithm: HashAlgorithm,
    /// Data and hash block size (4096 by default).
    pub block_size: u32,
    /// vbmeta signing algorithm.
    pub algorithm: Algorithm,
    /// Signing key.
    pub key: Option<&'a SigningKey>,
    /// Rollback index.
    pub rollback_index: u64,
    /// Rollback index location (> 0 requires libavb 1.2).
    pub rollback_index_location: u32,
    /// vbmeta header flags.
    pub flags: u32,
    /// Set the descriptor's CHECK_AT_MOST_ONCE flag (requires libavb 1.1).
    pub check_at_most_once: bool,
    /// Release string.
    pub release_string: String,
    /// Hashing threads (0 = all cores).
    pub threads: usize,
}

impl Default for HashtreeFooterOptions<'_> {
    fn default() -> Self {
        HashtreeFooterOptions {
            partition_size: None,
            partition_name: String::new(),
            salt: None,
            hash_algorithm: HashAlgorithm::Sha256,
            block_size: 4096,
            algorithm: Algorithm::Sha256Rsa4096,
            key: None,
            rollback_index: 0,
            rollback_index_location: 0,
            flags: 0,
            check_at_most_once: false,
            release_string: DEFAULT_RELEASE_STRING.to_string(),
            threads: 0,
        }
    }
}

/// Where [`add_hashtree_footer`] put everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashtreeFooterInfo {
    /// Image size before anything was appended.
    pub original_image_size: u64,
    /// The hashtree descriptor written (image_size, tree_offset, salt, root digest...).
    pub descriptor: HashtreeDescriptor,
    /// Offset of the vbmeta blob.
    pub vbmeta_offset: u64,
    /// Size of the vbmeta blob.
    pub vbmeta_size: u64,
    /// Final partition (file) size.
    pub partition_size: u64,
    /// The embedded public key blob.
    pub public_key_blob: Vec<u8>,
}

fn build_err(msg: impl Into<String>) -> AvbError {
    AvbError::Build(msg.into())
}

/// Appends a hash tree, a signed vbmeta blob and an AvbFooter to the image at `path`,
/// like `avbtool add_hashtree_footer` (an existing footer is first removed by truncating
/// to its `original_image_size`, so the operation is repeatable).
pub fn add_hashtree_footer(
    path: &Path,
    opts: &HashtreeFooterOptions<'_>,
) -> Result<HashtreeFooterInfo, AvbError> {
    let bs = opts.block_size;
    if !bs.is_power_of_two() || !(512..=65536).contains(&bs) {
        return Err(build_err(format!(
            "block size {bs} is not a power of two in 512..=65536"
        )));
    }
    if let Some(ps) = opts.partition_size {
        if ps % IMAGE_BLOCK_SIZE != 0 {
            return Err(build_err(format!(
                "partition size {ps} is not a multiple of 4096"
            )));
        }
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| AvbError::io("image", &e))?;
    let io = |e: std::io::Error| AvbError::io("image", &e);
    let mut size = file.metadata().map_err(io)?.len();
    if opts.partition_size.is_none() && size % IMAGE_BLOCK_SIZE != 0 {
        return Err(build_err(format!(
            "image size {size} is not a multiple of 4096"
        )));
    }
    if size >= FOOTER_SIZE as u64 {
        let mut tail = [0u8; FOOTER_SIZE];
        file.read_exact_at(&mut tail, size - FOOTER_SIZE as u64)
            .map_err(io)?;
        if let Ok(old) = AvbFooter::parse(&tail) {
            if old.original_image_size <= size {
                size = old.original_image_size;
                file.set_len(size).map_err(io)?;
            }
        }
    }
    let original_image_size = size;
    let unit = u64::from(bs).max(IMAGE_BLOCK_SIZE);
    let image_size = round_up(size, unit).ok_or_else(|| build_err("image too large"))?;
    if image_size == 0 {
        return Err(build_err("image is empty"));
    }
    let hash = opts.hash_algorithm;
    if let Some(ps) = opts.partition_size {
        let max_tree = tree_geometry(ps.div_ceil(u64::from(bs)).max(1), bs, hash)
            .ok_or_else(|| build_err("partition too large"))?
            .tree_size;
        let max_image = ps
            .checked_sub(max_tree + MAX_VBMETA_SIZE + MAX_FOOTER_SIZE)
            .ok_or_else(|| {
                build_err(format!("partition size {ps} is too small for the metadata"))
            })?;
        if image_size > max_image {
            return Err(build_err(format!(
                "image size {image_size} exceeds the maximum {max_image} for a {ps}-byte partition"
            )));
        }
    }
    file.set_len(image_size).map_err(io)?;
    let salt = match &opts.salt {
        Some(s) => s.clone(),
        None => {
            let mut s = vec![0u8; hash.digest_len()];
            openssl::rand::rand_bytes(&mut s).map_err(|e| AvbError::crypto(&e))?;
            s
        }
    };
    let tree = compute_hashtree_file(&file, image_size, bs, &salt, hash, opts.threads)?;
    let tree_offset = image_size;
    let tree_size = tree.tree.len() as u64;
    let mut tree_bytes = tree.tree;
    let padded_tree =
        round_up(tree_size, IMAGE_BLOCK_SIZE).ok_or_else(|| build_err("tree too large"))?;
    tree_bytes.resize(padded_tree as usize, 0);
    file.write_all_at(&tree_bytes, tree_offset).map_err(io)?;

    let mut flags = 0;
    let mut minor = 0;
    if opts.check_at_most_once {
        flags |= HASHTREE_FLAG_CHECK_AT_MOST_ONCE;
        minor = 1;
    }
    if opts.rollback_index_location > 0 {
        minor = 2;
    }
    let descriptor = HashtreeDescriptor {
        dm_verity_version: DM_VERITY_VERSION,
        image_size,
        tree_offset,
        tree_size,
        data_block_size: bs,
        hash_block_size: bs,
        fec_num_roots: 0,
        fec_offset: 0,
        fec_size: 0,
        hash_algorithm: hash.name().to_string(),
        partition_name: opts.partition_name.clone(),
        salt,
        root_digest: tree.root_digest,
        flags,
    };
    descriptor.validate()?;
    let vbmeta = build_vbmeta(&VbmetaOptions {
        algorithm: opts.algorithm,
        key: opts.key,
        descriptors: vec![Descriptor::Hashtree(descriptor.clone())],
        rollback_index: opts.rollback_index,
        flags: opts.flags,
        rollback_index_location: opts.rollback_index_location,
        required_libavb_version_minor: minor,
        release_string: opts.release_string.clone(),
        public_key_metadata: Vec::new(),
    })?;
    let vbmeta_offset = tree_offset + padded_tree;
    let vbmeta_size = vbmeta.len() as u64;
    let mut padded_vbmeta = vbmeta;
    let vbmeta_end = vbmeta_offset
        + round_up(vbmeta_size, IMAGE_BLOCK_SIZE).ok_or_else(|| build_err("vbmeta too large"))?;
    padded_vbmeta.resize((vbmeta_end - vbmeta_offset) as usize, 0);
    file.write_all_at(&padded_vbmeta, vbmeta_offset)
        .map_err(io)?;

    let partition_size = match opts.partition_size {
        Some(ps) => ps,
        None => vbmeta_end + IMAGE_BLOCK_SIZE,
    };
    if partition_size < vbmeta_end + IMAGE_BLOCK_SIZE {
        return Err(build_err(format!(
            "partition size {partition_size} too small"
        )));
    }
    let footer = AvbFooter {
        version_major: FOOTER_VERSION_MAJOR,
        version_minor: FOOTER_VERSION_MINOR,
        original_image_size,
        vbmeta_offset,
        vbmeta_size,
    };
    file.set_len(partition_size).map_err(io)?;
    file.write_all_at(&footer.to_bytes(), partition_size - FOOTER_SIZE as u64)
        .map_err(io)?;
    file.sync_all().map_err(io)?;
    let public_key_blob = match opts.key {
        Some(k) if opts.algorithm != Algorithm::None => k.public_key_blob()?,
        _ => Vec::new(),
    };
    Ok(HashtreeFooterInfo {
        original_image_size,
        descriptor,
        vbmeta_offset,
        vbmeta_size,
        partition_size,
        public_key_blob,
    })
}
