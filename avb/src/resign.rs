//! Host side: setting a property descriptor in the vbmeta of an image with an AVB footer
//! and re-signing it, as `avbtool add_hashtree_footer --prop NAME:VALUE` leaves it.
//!
//! AOSP's build uses this for the Microdroid vendor image's reference digest: with
//! `MICRODROID_VENDOR_IMAGE_MODULE` set, `build/make/core/Makefile` adds
//! `--prop_from_file com.android.build.microdroid-vendor.root_digest:<file>` to the
//! *host's* `vendor.img` footer arguments, the file holding the output of `avbtool
//! print_partition_digests` for `microdroid_vendor.img` with the `name: ` prefix and the
//! newline removed (the lowercase hex root digest). The bootloader reads the property from
//! the verified vbmeta data and passes it to pvmfw in the reference DT.
//!
//! Everything else in the vbmeta is kept: descriptors (in order; a property with the same
//! key is replaced where it was, otherwise the new one is appended), rollback index and
//! location, flags, required libavb version, release string and key metadata. The blob is
//! written back at the footer's `vbmeta_offset` and the footer's `vbmeta_size` updated;
//! the image's data and hash tree are not touched.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::build::{build_vbmeta, SigningKey, VbmetaOptions};
use crate::descriptor::{Descriptor, PropertyDescriptor};
use crate::error::AvbError;
use crate::footer::{AvbFooter, FOOTER_SIZE};
use crate::partition::{read_vbmeta_from_partition, VBMETA_MAX_SIZE};

/// The property AOSP's build writes into the host `vendor.img` footer.
pub const MICRODROID_VENDOR_ROOT_DIGEST_PROPERTY: &str =
    "com.android.build.microdroid-vendor.root_digest";

/// What [`set_footer_property`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyUpdate {
    /// Whether a property with the same key was replaced (else one was appended).
    pub replaced: bool,
    /// The vbmeta size before.
    pub old_vbmeta_size: u64,
    /// The vbmeta size after.
    pub new_vbmeta_size: u64,
}

/// Sets property `key` = `value` in the footer vbmeta of the image at `path` and re-signs
/// the vbmeta with `key_pem` (its size must fit the image's algorithm). The image's vbmeta
/// must verify first (signed with any key, as the guest accepts); the new blob must fit
/// between `vbmeta_offset` and the footer.
pub fn set_footer_property(
    path: &Path,
    signing_key: &SigningKey,
    key: &str,
    value: &[u8],
) -> Result<PropertyUpdate, AvbError> {
    if key.is_empty() || key.contains('\0') {
        return Err(AvbError::Build(format!(
            "property key {key:?} is empty or has a NUL"
        )));
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| AvbError::io("image", &e))?;
    let size = file
        .metadata()
        .map_err(|e| AvbError::io("image", &e))?
        .len();
    let verified = read_vbmeta_from_partition(&mut &file, size)?;
    let header = verified.header();
    let algorithm = verified.algorithm();
    let mut descriptors = verified.descriptors().to_vec();
    let property = Descriptor::Property(PropertyDescriptor {
        key: key.to_owned(),
        value: value.to_vec(),
    });
    let existing = descriptors
        .iter()
        .position(|d| matches!(d, Descriptor::Property(p) if p.key == key));
    match existing {
        Some(i) => descriptors[i] = property,
        None => descriptors.push(property),
    }
    let blob = build_vbmeta(&VbmetaOptions {
        algorithm,
        key: Some(signing_key),
        descriptors,
        rollback_index: header.rollback_index,
        flags: header.flags,
        rollback_index_location: header.rollback_index_location,
        required_libavb_version_minor: header.required_libavb_version_minor,
        release_string: header.release_string(),
        public_key_metadata: verified.public_key_metadata().to_vec(),
    })?;
    let old = *verified.footer();
    let footer_offset = size - FOOTER_SIZE as u64;
    let new_size = blob.len() as u64;
    if new_size > VBMETA_MAX_SIZE || old.vbmeta_offset + new_size > footer_offset {
        return Err(AvbError::Build(format!(
            "the new vbmeta ({new_size} bytes at {}) does not fit before the footer at {footer_offset}",
            old.vbmeta_offset
        )));
    }
    let io = |e: std::io::Error| AvbError::io("image", &e);
    // Zero what the old blob occupied beyond the new one, then write blob and footer.
    if old.vbmeta_size > new_size {
        let tail = vec![0u8; (old.vbmeta_size - new_size) as usize];
        file.write_all_at(&tail, old.vbmeta_offset + new_size)
            .map_err(io)?;
    }
    file.write_all_at(&blob, old.vbmeta_offset).map_err(io)?;
    let footer = AvbFooter {
        vbmeta_size: new_size,
        ..old
    };
    file.write_all_at(&footer.to_bytes(), footer_offset)
        .map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(PropertyUpdate {
        replaced: existing.is_some(),
        old_vbmeta_size: old.vbmeta_size,
        new_vbmeta_size: new_size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::{add_hashtree_footer, HashtreeFooterOptions};
    use crate::partition::read_vbmeta_from_device;
    use crate::{Algorithm, HEADER_SIZE};
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;
    use openssl::sign::Verifier;
    use std::io::Write;

    fn host_image(key: &SigningKey) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(&vec![0x5a; 8 * 4096]).unwrap();
        add_hashtree_footer(
            f.path(),
            &HashtreeFooterOptions {
                partition_name: "vendor".into(),
                algorithm: Algorithm::Sha256Rsa2048,
                key: Some(key),
                rollback_index: 9,
                rollback_index_location: 2,
                partition_size: Some(1 << 20),
                ..Default::default()
            },
        )
        .unwrap();
        f
    }

    /// Checks the signature with OpenSSL's own PKCS#1 v1.5 verifier (not our code path)
    /// and finds the property by hand in the auxiliary block.
    fn independent_check(path: &Path, pem: &[u8], key: &str, value: &[u8]) {
        let img = std::fs::read(path).unwrap();
        let footer = &img[img.len() - 64..];
        let be64 = |b: &[u8], o: usize| u64::from_be_bytes(b[o..o + 8].try_into().unwrap());
        let (off, size) = (be64(footer, 20) as usize, be64(footer, 28) as usize);
        let vb = &img[off..off + size];
        let auth = be64(vb, 12) as usize;
        let aux = be64(vb, 20) as usize;
        let sig_off = be64(vb, 48) as usize;
        let sig_len = be64(vb, 56) as usize;
        let sig = &vb[HEADER_SIZE + sig_off..HEADER_SIZE + sig_off + sig_len];
        let aux_block = &vb[HEADER_SIZE + auth..HEADER_SIZE + auth + aux];
        let rsa = Rsa::private_key_from_pem(pem).unwrap();
        let pkey = PKey::from_rsa(
            Rsa::from_public_components(rsa.n().to_owned().unwrap(), rsa.e().to_owned().unwrap())
                .unwrap(),
        )
        .unwrap();
        let mut v = Verifier::new(MessageDigest::sha256(), &pkey).unwrap();
        v.update(&vb[..HEADER_SIZE]).unwrap();
        v.update(aux_block).unwrap();
        assert!(v.verify(sig).unwrap(), "OpenSSL rejects the signature");
        // AvbPropertyDescriptor: tag 0, num_bytes_following, key_num_bytes, value_num_bytes,
        // key NUL value NUL, padded to 8.
        let mut want = Vec::new();
        want.extend_from_slice(&(key.len() as u64).to_be_bytes());
        want.extend_from_slice(&(value.len() as u64).to_be_bytes());
        want.extend_from_slice(key.as_bytes());
        want.push(0);
        want.extend_from_slice(value);
        want.push(0);
        let at = aux_block
            .windows(want.len())
            .position(|w| w == want.as_slice())
            .expect("property bytes not in the auxiliary block");
        let following = 16 + key.len() + 1 + value.len() + 1;
        let padded = following.div_ceil(8) * 8;
        assert_eq!(be64(aux_block, at - 16), 0, "tag");
        assert_eq!(
            be64(aux_block, at - 8),
            padded as u64,
            "num_bytes_following"
        );
    }

    #[test]
    fn adds_then_replaces_the_property_and_keeps_the_rest() {
        let key = SigningKey::generate(2048).unwrap();
        let f = host_image(&key);
        let before = read_vbmeta_from_device(&mut f.reopen().unwrap()).unwrap();
        let digest = "ab".repeat(32);
        let prop = MICRODROID_VENDOR_ROOT_DIGEST_PROPERTY;
        let u = set_footer_property(f.path(), &key, prop, digest.as_bytes()).unwrap();
        assert!(!u.replaced);
        assert!(u.new_vbmeta_size > u.old_vbmeta_size);
        let after = read_vbmeta_from_device(&mut f.reopen().unwrap()).unwrap();
        assert_eq!(after.descriptors()[0], before.descriptors()[0]);
        assert_eq!(
            after.descriptors()[1],
            Descriptor::Property(PropertyDescriptor {
                key: prop.into(),
                value: digest.clone().into_bytes()
            })
        );
        assert_eq!(after.rollback_index(), 9);
        assert_eq!(after.header().rollback_index_location, 2);
        assert_eq!(
            after.header().release_string(),
            before.header().release_string()
        );
        assert_eq!(after.public_key_blob(), before.public_key_blob());
        independent_check(f.path(), &key.to_pem().unwrap(), prop, digest.as_bytes());

        let other = "cd".repeat(32);
        let u = set_footer_property(f.path(), &key, prop, other.as_bytes()).unwrap();
        assert!(u.replaced);
        assert_eq!(u.new_vbmeta_size, u.old_vbmeta_size);
        let again = read_vbmeta_from_device(&mut f.reopen().unwrap()).unwrap();
        assert_eq!(again.descriptors().len(), 2);
        independent_check(f.path(), &key.to_pem().unwrap(), prop, other.as_bytes());
    }

    #[test]
    fn refuses_bad_keys_and_unverified_images() {
        let key = SigningKey::generate(2048).unwrap();
        let f = host_image(&key);
        let big = SigningKey::generate(4096).unwrap();
        assert!(set_footer_property(f.path(), &big, "k", b"v").is_err());
        assert!(set_footer_property(f.path(), &key, "", b"v").is_err());
        // A corrupted signature: the image is refused before anything is written.
        let file = f.reopen().unwrap();
        let len = file.metadata().unwrap().len();
        let mut fb = [0u8; 64];
        file.read_exact_at(&mut fb, len - 64).unwrap();
        let off = u64::from_be_bytes(fb[20..28].try_into().unwrap());
        file.write_all_at(&[0xff], off + HEADER_SIZE as u64 + 40)
            .unwrap();
        let image = std::fs::read(f.path()).unwrap();
        assert!(set_footer_property(f.path(), &key, "k", b"v").is_err());
        assert_eq!(std::fs::read(f.path()).unwrap(), image);
    }
}
