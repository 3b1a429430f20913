//! AVB (Android Verified Boot) for the Microdroid vendor partition: the AvbFooter and
//! vbmeta formats (libavb 1.3), signature verification with OpenSSL (SHA-256/SHA-512 ×
//! RSA-2048/4096/8192, PKCS#1 v1.5), descriptor parsing, the device-tree digest value,
//! the dm-verity table AOSP builds, dm-verity hash trees, checking an image's data and
//! tree against its descriptor like `avbtool verify_image` (naming the first corrupted
//! block as dm-verity does), and (host side) building and signing images like
//! `avbtool add_hashtree_footer` and setting a property in an image's footer vbmeta.
//!
//! Guest-safe: parsing never panics on any input, all arithmetic on untrusted values is
//! checked, and reads are bounded (footer 64 bytes, vbmeta ≤ [`VBMETA_MAX_SIZE`]).
//!
//! ```no_run
//! # fn main() -> Result<(), avb::AvbError> {
//! let mut dev = std::fs::File::open("/dev/block/by-name/microdroid-vendor")
//!     .map_err(|e| avb::AvbError::Io { what: "open", message: e.to_string() })?;
//! let vbmeta = avb::read_vbmeta_from_device(&mut dev)?;
//! let desc = vbmeta.hashtree_descriptor("microdroid-vendor")?;
//! let target = avb::verity_table(desc, "/dev/block/vda1", "/dev/block/vda1")?;
//! println!("{} {} {} {}", target.start_sector, target.length_sectors, target.target_type, target.params);
//! # Ok(()) }
//! ```

mod algorithm;
mod build;
mod bytes;
mod descriptor;
mod digest;
mod error;
mod footer;
mod hashtree;
mod key;
mod partition;
mod resign;
mod vbmeta;
mod verify;
mod verify_image;
mod verity;

pub use algorithm::{Algorithm, HashAlgorithm, SIGNING_ALGORITHMS};
pub use build::{
    add_hashtree_footer, build_vbmeta, sign_vbmeta_in_place, HashtreeFooterInfo,
    HashtreeFooterOptions, SigningKey, VbmetaOptions, DEFAULT_RELEASE_STRING, IMAGE_BLOCK_SIZE,
    MAX_FOOTER_SIZE, MAX_VBMETA_SIZE,
};
pub use bytes::{from_hex, to_hex};
pub use descriptor::{
    parse_descriptors, tag, ChainPartitionDescriptor, Descriptor, HashDescriptor,
    HashtreeDescriptor, KernelCmdlineDescriptor, PropertyDescriptor, DM_VERITY_VERSION,
    HASHTREE_DESCRIPTOR_SIZE, HASHTREE_FLAG_CHECK_AT_MOST_ONCE, HASHTREE_FLAG_DO_NOT_USE_AB,
    MAX_SALT_SIZE,
};
pub use digest::{parse_expected_digest, DIGEST_HEX_LENGTHS};
pub use error::{
    AvbError, DigestError, REASON_VBMETA_INVALID, REASON_VBMETA_UNSIGNED,
    REASON_VENDOR_DIGEST_MALFORMED,
};
pub use footer::{
    AvbFooter, FOOTER_MAGIC, FOOTER_SIZE, FOOTER_VERSION_MAJOR, FOOTER_VERSION_MINOR,
};
pub use hashtree::{
    compute_hashtree, compute_hashtree_file, tree_geometry, HashTree, TreeGeometry,
};
pub use key::{encode_public_key, PublicKey};
pub use partition::{
    read_vbmeta_from_device, read_vbmeta_from_partition, VerifiedVbmeta, VBMETA_MAX_SIZE,
};
pub use resign::{set_footer_property, PropertyUpdate, MICRODROID_VENDOR_ROOT_DIGEST_PROPERTY};
pub use vbmeta::{
    verify_vbmeta, Vbmeta, VbmetaHeader, AVB_VERSION_MAJOR, AVB_VERSION_MINOR, HEADER_SIZE,
    VBMETA_FLAG_HASHTREE_DISABLED, VBMETA_FLAG_VERIFICATION_DISABLED, VBMETA_MAGIC,
};
pub use verify::{pkcs1_v15_encode, verify_signature};
pub use verify_image::{verify_hashtree, CorruptBlock, HashtreeCheck};
pub use verity::{verity_table, VerityTarget, SECTOR_SIZE};
