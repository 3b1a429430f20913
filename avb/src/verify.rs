//! Hash and RSA PKCS#1 v1.5 signature checks of a vbmeta blob (SHA-256/SHA-512 ×
//! RSA-2048/4096/8192), done the way libavb does: the stored hash must equal
//! H(header ‖ auxiliary block), and the raw RSA public operation on the signature
//! must give exactly `00 01 FF… 00 DigestInfo(hash)`.

use openssl::rsa::Padding;

use crate::algorithm::{Algorithm, HashAlgorithm};
use crate::error::AvbError;
use crate::key::PublicKey;

/// DER DigestInfo prefix for SHA-256 (RFC 8017 §9.2 note 1).
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];
/// DER DigestInfo prefix for SHA-512.
const SHA512_DIGEST_INFO: [u8; 19] = [
    0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05,
    0x00, 0x04, 0x40,
];

/// The EMSA-PKCS1-v1_5 encoded message for `digest` under `alg`: what the raw RSA
/// private operation signs and the public operation must reproduce.
pub fn pkcs1_v15_encode(alg: Algorithm, digest: &[u8]) -> Result<Vec<u8>, AvbError> {
    let (hash, info) = match alg.hash() {
        Some(HashAlgorithm::Sha256) => (HashAlgorithm::Sha256, &SHA256_DIGEST_INFO),
        Some(HashAlgorithm::Sha512) => (HashAlgorithm::Sha512, &SHA512_DIGEST_INFO),
        None => return Err(AvbError::Unsigned),
    };
    if digest.len() != hash.digest_len() {
        return Err(AvbError::AlgorithmSizeMismatch {
            what: "hash_size",
            got: digest.len() as u64,
            want: hash.digest_len() as u64,
            algorithm: alg.name(),
        });
    }
    let total = alg.signature_len();
    let fill = total
        .checked_sub(3 + info.len() + digest.len())
        .ok_or_else(|| AvbError::Crypto("modulus too small for digest".into()))?;
    let mut em = Vec::with_capacity(total);
    em.extend_from_slice(&[0x00, 0x01]);
    em.resize(2 + fill, 0xff);
    em.push(0x00);
    em.extend_from_slice(info);
    em.extend_from_slice(digest);
    Ok(em)
}

/// Checks `signature` over `digest` with `key` (sizes must match `alg`).
pub fn verify_signature(
    alg: Algorithm,
    key: &PublicKey,
    signature: &[u8],
    digest: &[u8],
) -> Result<(), AvbError> {
    if key.bits() != alg.key_bits() {
        return Err(AvbError::AlgorithmSizeMismatch {
            what: "public key modulus bits",
            got: u64::from(key.bits()),
            want: u64::from(alg.key_bits()),
            algorithm: alg.name(),
        });
    }
    if signature.len() != alg.signature_len() {
        return Err(AvbError::AlgorithmSizeMismatch {
            what: "signature_size",
            got: signature.len() as u64,
            want: alg.signature_len() as u64,
            algorithm: alg.name(),
        });
    }
    let expected = pkcs1_v15_encode(alg, digest)?;
    let mut out = vec![0u8; signature.len()];
    // A signature >= n makes OpenSSL fail; that is simply a bad signature.
    let n = key
        .rsa()
        .public_decrypt(signature, &mut out, Padding::NONE)
        .map_err(|_| AvbError::SignatureMismatch)?;
    if n != expected.len() || !openssl::memcmp::eq(&out[..n], &expected) {
        return Err(AvbError::SignatureMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::encode_public_key;
    use openssl::rsa::Rsa;

    #[test]
    fn encoding_matches_avbtool_padding_lengths() {
        // avbtool: 0x00 0x01, then 0xff × (k - 3 - 19 - hlen), 0x00, DigestInfo, hash.
        let em = pkcs1_v15_encode(Algorithm::Sha256Rsa2048, &[7u8; 32]).unwrap();
        assert_eq!(em.len(), 256);
        assert_eq!(em.iter().filter(|&&b| b == 0xff).count(), 202);
        let em = pkcs1_v15_encode(Algorithm::Sha512Rsa4096, &[7u8; 64]).unwrap();
        assert_eq!(&em[..2], &[0x00, 0x01]);
        assert_eq!(em[2..].iter().take_while(|&&b| b == 0xff).count(), 426);
        assert!(pkcs1_v15_encode(Algorithm::Sha512Rsa4096, &[7u8; 32]).is_err());
        assert_eq!(
            pkcs1_v15_encode(Algorithm::None, &[]),
            Err(AvbError::Unsigned)
        );
    }

    #[test]
    fn verify_good_and_bad() {
        let rsa = Rsa::generate(2048).unwrap();
        let key = PublicKey::from_blob(&encode_public_key(&rsa).unwrap()).unwrap();
        let alg = Algorithm::Sha256Rsa2048;
        let digest = HashAlgorithm::Sha256.digest(&[b"hello"]);
        let em = pkcs1_v15_encode(alg, &digest).unwrap();
        let mut sig = vec![0u8; 256];
        rsa.private_encrypt(&em, &mut sig, Padding::NONE).unwrap();
        verify_signature(alg, &key, &sig, &digest).unwrap();
        let mut bad = sig.clone();
        bad[100] ^= 1;
        assert_eq!(
            verify_signature(alg, &key, &bad, &digest),
            Err(AvbError::SignatureMismatch)
        );
        assert_eq!(
            verify_signature(alg, &key, &[0xff; 256], &digest),
            Err(AvbError::SignatureMismatch)
        );
        assert!(verify_signature(alg, &key, &sig[..255], &digest).is_err());
        assert!(verify_signature(Algorithm::Sha256Rsa4096, &key, &sig, &digest).is_err());
        // Same key, other hash: encoding differs, so it must not verify.
        let d512 = HashAlgorithm::Sha512.digest(&[b"hello"]);
        assert!(verify_signature(Algorithm::Sha512Rsa2048, &key, &sig, &d512).is_err());
    }
}
