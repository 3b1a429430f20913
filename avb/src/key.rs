//! The `AvbRSAPublicKeyHeader` key blob: `key_num_bits` u32 ‖ `n0inv` u32 ‖ n ‖ rr
//! (big-endian, each number `key_num_bits / 8` bytes), converted to and from OpenSSL RSA keys.
//!
//! Parsing is strict: besides the sizes, `n0inv` (−n⁻¹ mod 2³²) and `rr` (2^(2·bits) mod n)
//! must be the values derived from `n`, the modulus must have exactly `key_num_bits`
//! bits, and it must be odd. libavb's Montgomery code depends on those values, so a
//! blob that libavb would mis-verify is never accepted here.

use openssl::bn::{BigNum, BigNumContext};
use openssl::pkey::{HasPublic, Public};
use openssl::rsa::{Rsa, RsaRef};

use crate::bytes::be_u32;
use crate::error::AvbError;

/// The only public exponent AVB supports.
pub const RSA_EXPONENT: u32 = 65537;

/// Key sizes libavb accepts.
pub const SUPPORTED_KEY_BITS: [u32; 3] = [2048, 4096, 8192];

fn malformed(msg: impl Into<String>) -> AvbError {
    AvbError::KeyMalformed(msg.into())
}

/// −n⁻¹ mod 2³² from the low 32 bits of an odd modulus (Newton iteration).
fn n0inv(n_low: u32) -> u32 {
    let mut inv: u32 = 1;
    for _ in 0..5 {
        inv = inv.wrapping_mul(2u32.wrapping_sub(n_low.wrapping_mul(inv)));
    }
    inv.wrapping_neg()
}

/// `rr` = 2^(2·bits) mod n, as `bits / 8` big-endian bytes.
fn rr_bytes(n: &BigNum, bits: u32, ctx: &mut BigNumContext) -> Result<Vec<u8>, AvbError> {
    let mut r = BigNum::from_u32(1).map_err(|e| AvbError::crypto(&e))?;
    let mut shifted = BigNum::new().map_err(|e| AvbError::crypto(&e))?;
    let shift = i32::try_from(bits.saturating_mul(2)).map_err(|_| malformed("key too large"))?;
    shifted
        .lshift(&r, shift)
        .map_err(|e| AvbError::crypto(&e))?;
    r.nnmod(&shifted, n, ctx)
        .map_err(|e| AvbError::crypto(&e))?;
    let len = i32::try_from(bits / 8).map_err(|_| malformed("key too large"))?;
    r.to_vec_padded(len).map_err(|e| AvbError::crypto(&e))
}

/// Encodes an RSA public key (exponent 65537, 2048/4096/8192 bits) as an AVB key blob.
pub fn encode_public_key<T: HasPublic>(rsa: &RsaRef<T>) -> Result<Vec<u8>, AvbError> {
    if rsa.e().to_vec() != RSA_EXPONENT.to_be_bytes()[1..] {
        return Err(malformed("public exponent is not 65537"));
    }
    let bits = u32::try_from(rsa.n().num_bits()).map_err(|_| malformed("bad modulus"))?;
    if !SUPPORTED_KEY_BITS.contains(&bits) {
        return Err(malformed(format!(
            "{bits}-bit modulus (need 2048, 4096 or 8192)"
        )));
    }
    let nbytes = i32::try_from(bits / 8).map_err(|_| malformed("bad modulus"))?;
    let n = rsa
        .n()
        .to_vec_padded(nbytes)
        .map_err(|e| AvbError::crypto(&e))?;
    let low = n
        .len()
        .checked_sub(4)
        .and_then(|o| be_u32(&n, o))
        .unwrap_or(0);
    let mut ctx = BigNumContext::new().map_err(|e| AvbError::crypto(&e))?;
    let n_bn = rsa.n().to_owned().map_err(|e| AvbError::crypto(&e))?;
    let rr = rr_bytes(&n_bn, bits, &mut ctx)?;
    let mut out = Vec::with_capacity(8 + 2 * n.len());
    out.extend_from_slice(&bits.to_be_bytes());
    out.extend_from_slice(&n0inv(low).to_be_bytes());
    out.extend_from_slice(&n);
    out.extend_from_slice(&rr);
    Ok(out)
}

/// A validated AVB public key blob.
#[derive(Debug)]
pub struct PublicKey {
    bits: u32,
    rsa: Rsa<Public>,
}

impl PublicKey {
    /// Parses and fully validates a key blob (see the module docs).
    pub fn from_blob(blob: &[u8]) -> Result<Self, AvbError> {
        let bits = be_u32(blob, 0).ok_or_else(|| malformed("shorter than its 8-byte header"))?;
        let n0 = be_u32(blob, 4).ok_or_else(|| malformed("shorter than its 8-byte header"))?;
        if !SUPPORTED_KEY_BITS.contains(&bits) {
            return Err(malformed(format!(
                "key_num_bits {bits} (need 2048, 4096 or 8192)"
            )));
        }
        let nbytes = (bits / 8) as usize;
        let want = 8 + 2 * nbytes;
        if blob.len() != want {
            return Err(malformed(format!(
                "{} bytes but a {bits}-bit key blob is {want}",
                blob.len()
            )));
        }
        let n_be = &blob[8..8 + nbytes];
        let rr_be = &blob[8 + nbytes..];
        let n = BigNum::from_slice(n_be).map_err(|e| AvbError::crypto(&e))?;
        if u32::try_from(n.num_bits()).ok() != Some(bits) {
            return Err(malformed(format!(
                "modulus has {} significant bits, header says {bits}",
                n.num_bits()
            )));
        }
        let low = be_u32(n_be, nbytes - 4).unwrap_or(0);
        if low & 1 == 0 {
            return Err(malformed("modulus is even"));
        }
        if n0inv(low) != n0 {
            return Err(malformed("n0inv does not match the modulus"));
        }
        let mut ctx = BigNumContext::new().map_err(|e| AvbError::crypto(&e))?;
        if rr_bytes(&n, bits, &mut ctx)? != rr_be {
            return Err(malformed("rr does not equal 2^(2*bits) mod n"));
        }
        let e = BigNum::from_u32(RSA_EXPONENT).map_err(|e| AvbError::crypto(&e))?;
        let rsa = Rsa::from_public_components(n, e).map_err(|e| AvbError::crypto(&e))?;
        Ok(PublicKey { bits, rsa })
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// The OpenSSL key.
    pub fn rsa(&self) -> &Rsa<Public> {
        &self.rsa
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n0inv_is_negative_inverse() {
        for n in [1u32, 3, 0xffff_ffff, 0x1234_5679, 65537] {
            assert_eq!(n.wrapping_mul(n0inv(n)), u32::MAX, "n={n:#x}");
        }
    }

    #[test]
    fn encode_then_parse() {
        let rsa = Rsa::generate(2048).unwrap();
        let blob = encode_public_key(&rsa).unwrap();
        assert_eq!(blob.len(), 8 + 512);
        assert_eq!(&blob[..4], &2048u32.to_be_bytes());
        let pk = PublicKey::from_blob(&blob).unwrap();
        assert_eq!(pk.bits(), 2048);
        assert_eq!(pk.rsa().n().to_vec(), rsa.n().to_vec());
    }

    #[test]
    fn rejects_malformed() {
        let rsa = Rsa::generate(2048).unwrap();
        let blob = encode_public_key(&rsa).unwrap();
        let check = |b: &[u8], what: &str| {
            let e = PublicKey::from_blob(b).unwrap_err();
            assert!(matches!(e, AvbError::KeyMalformed(_)), "{what}: {e:?}");
        };
        check(&blob[..7], "short header");
        check(&blob[..blob.len() - 1], "short blob");
        let mut b = blob.clone();
        b.push(0);
        check(&b, "long blob");
        let mut b = blob.clone();
        b[..4].copy_from_slice(&1024u32.to_be_bytes());
        check(&b, "bits");
        let mut b = blob.clone();
        b[..4].copy_from_slice(&4096u32.to_be_bytes());
        check(&b, "bits vs size");
        let mut b = blob.clone();
        b[4] ^= 1;
        check(&b, "n0inv");
        let mut b = blob.clone();
        let last = b.len() - 1;
        b[last] ^= 1;
        check(&b, "rr");
        let mut b = blob.clone();
        b[8] = 0;
        check(&b, "top bit");
        let mut b = blob.clone();
        b[8 + 255] &= 0xfe;
        check(&b, "even");
    }

    #[test]
    fn rejects_other_exponents() {
        let e = BigNum::from_u32(3).unwrap();
        let rsa = Rsa::generate_with_e(2048, &e).unwrap();
        assert!(encode_public_key(&rsa).is_err());
        assert!(encode_public_key(&Rsa::generate(1024).unwrap()).is_err());
    }
}
