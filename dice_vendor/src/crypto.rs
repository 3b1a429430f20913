//! OpenSSL primitives of the Android profile: SHA-512, HKDF-SHA512 and Ed25519.
//!
//! Private key material only ever exists in [`Zeroizing`] buffers here and inside OpenSSL's
//! own key objects (which OpenSSL clears when they are freed).

use openssl::md::Md;
use openssl::pkey::{Id, PKey, Private};
use openssl::pkey_ctx::PkeyCtx;
use openssl::sign::{Signer, Verifier};
use zeroize::Zeroizing;

use crate::error::DiceError;

/// Size of an Ed25519 public key.
pub const PUBLIC_KEY_SIZE: usize = 32;
/// Size of an Ed25519 signature.
pub const SIGNATURE_SIZE: usize = 64;

/// SHA-512 of `data`.
pub fn sha512(data: &[u8]) -> [u8; 64] {
    openssl::sha::sha512(data)
}

/// HKDF-SHA512 (extract and expand) filling `out`.
pub fn hkdf_sha512(out: &mut [u8], ikm: &[u8], salt: &[u8], info: &[u8]) -> Result<(), DiceError> {
    let run = |out: &mut [u8]| -> Result<(), openssl::error::ErrorStack> {
        let mut ctx = PkeyCtx::new_id(Id::HKDF)?;
        ctx.derive_init()?;
        ctx.set_hkdf_md(Md::sha512())?;
        ctx.set_hkdf_key(ikm)?;
        ctx.set_hkdf_salt(salt)?;
        ctx.add_hkdf_info(info)?;
        ctx.derive(Some(out))?;
        Ok(())
    };
    run(out).map_err(|e| DiceError::derive("HKDF-SHA512", e))
}

/// An Ed25519 key pair derived from a 32-byte seed.
pub struct SigningKey {
    pkey: PKey<Private>,
    public: [u8; PUBLIC_KEY_SIZE],
}

impl SigningKey {
    /// The key pair whose private key is `seed` (RFC 8032 "private key").
    pub fn from_seed(seed: &Zeroizing<[u8; 32]>) -> Result<SigningKey, DiceError> {
        let pkey = PKey::private_key_from_raw_bytes(&seed[..], Id::ED25519)
            .map_err(|e| DiceError::derive("Ed25519 key from seed", e))?;
        let raw = pkey
            .raw_public_key()
            .map_err(|e| DiceError::derive("Ed25519 public key", e))?;
        let public =
            <[u8; PUBLIC_KEY_SIZE]>::try_from(raw.as_slice()).map_err(|_| DiceError::Derive {
                what: "Ed25519 public key",
                detail: format!("unexpected length {}", raw.len()),
            })?;
        Ok(SigningKey { pkey, public })
    }

    /// The raw public key.
    pub fn public_key(&self) -> &[u8; PUBLIC_KEY_SIZE] {
        &self.public
    }

    /// An Ed25519 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> Result<[u8; SIGNATURE_SIZE], DiceError> {
        let mut sig = [0u8; SIGNATURE_SIZE];
        let run = |sig: &mut [u8]| -> Result<usize, openssl::error::ErrorStack> {
            Signer::new_without_digest(&self.pkey)?.sign_oneshot(sig, message)
        };
        match run(&mut sig) {
            Ok(SIGNATURE_SIZE) => Ok(sig),
            Ok(n) => Err(DiceError::Derive {
                what: "Ed25519 sign",
                detail: format!("unexpected signature length {n}"),
            }),
            Err(e) => Err(DiceError::derive("Ed25519 sign", e)),
        }
    }
}

/// Whether `signature` is a valid Ed25519 signature of `message` by `public_key`.
pub fn ed25519_verify(
    public_key: &[u8; PUBLIC_KEY_SIZE],
    message: &[u8],
    signature: &[u8],
) -> bool {
    let run = || -> Result<bool, openssl::error::ErrorStack> {
        let pkey = PKey::public_key_from_raw_bytes(public_key, Id::ED25519)?;
        let mut verifier = Verifier::new_without_digest(&pkey)?;
        verifier.verify_oneshot(signature, message)
    };
    // OpenSSL reports some malformed signatures as errors rather than `false`.
    run().unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hkdf_rfc5869_style_known_answer() {
        // HKDF-SHA512 over RFC 5869 test case 1 inputs; the expected value was computed
        // with Python's `cryptography` package.
        let ikm = [0x0bu8; 22];
        let salt: Vec<u8> = (0x00..=0x0c).collect();
        let info: Vec<u8> = (0xf0..=0xf9).collect();
        let mut okm = [0u8; 42];
        hkdf_sha512(&mut okm, &ikm, &salt, &info).unwrap();
        assert_eq!(
            avb::to_hex(&okm),
            "832390086cda71fb47625bb5ceb168e4c8e26a1a16ed34d9fc7fe92c1481579338da362cb8d9f925d7cb"
        );
    }

    #[test]
    fn sign_and_verify() {
        let key = SigningKey::from_seed(&Zeroizing::new([7u8; 32])).unwrap();
        let sig = key.sign(b"message").unwrap();
        assert!(ed25519_verify(key.public_key(), b"message", &sig));
        assert!(!ed25519_verify(key.public_key(), b"messagf", &sig));
        assert!(!ed25519_verify(key.public_key(), b"message", &sig[..63]));
    }
}
