//! The vbmeta signing algorithms (`AvbAlgorithmType`) and the hash tree hash functions.

use std::fmt;
use std::str::FromStr;

use openssl::sha::{Sha256, Sha512};

/// `AvbAlgorithmType`: how the vbmeta blob is hashed and signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// 0: not signed. Parsed only to report [`crate::AvbError::Unsigned`]; never built.
    None,
    /// 1
    Sha256Rsa2048,
    /// 2
    Sha256Rsa4096,
    /// 3
    Sha256Rsa8192,
    /// 4
    Sha512Rsa2048,
    /// 5
    Sha512Rsa4096,
    /// 6
    Sha512Rsa8192,
}

/// All signing algorithms (excluding NONE), in `algorithm_type` order.
pub const SIGNING_ALGORITHMS: [Algorithm; 6] = [
    Algorithm::Sha256Rsa2048,
    Algorithm::Sha256Rsa4096,
    Algorithm::Sha256Rsa8192,
    Algorithm::Sha512Rsa2048,
    Algorithm::Sha512Rsa4096,
    Algorithm::Sha512Rsa8192,
];

impl Algorithm {
    /// Maps an on-disk `algorithm_type`; `None` for values we do not implement
    /// (including libavb's newer ML-DSA types).
    pub fn from_type(t: u32) -> Option<Self> {
        Some(match t {
            0 => Algorithm::None,
            1 => Algorithm::Sha256Rsa2048,
            2 => Algorithm::Sha256Rsa4096,
            3 => Algorithm::Sha256Rsa8192,
            4 => Algorithm::Sha512Rsa2048,
            5 => Algorithm::Sha512Rsa4096,
            6 => Algorithm::Sha512Rsa8192,
            _ => return None,
        })
    }

    /// The on-disk `algorithm_type`.
    pub fn type_id(self) -> u32 {
        match self {
            Algorithm::None => 0,
            Algorithm::Sha256Rsa2048 => 1,
            Algorithm::Sha256Rsa4096 => 2,
            Algorithm::Sha256Rsa8192 => 3,
            Algorithm::Sha512Rsa2048 => 4,
            Algorithm::Sha512Rsa4096 => 5,
            Algorithm::Sha512Rsa8192 => 6,
        }
    }

    /// avbtool's name, e.g. `SHA256_RSA4096`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::None => "NONE",
            Algorithm::Sha256Rsa2048 => "SHA256_RSA2048",
            Algorithm::Sha256Rsa4096 => "SHA256_RSA4096",
            Algorithm::Sha256Rsa8192 => "SHA256_RSA8192",
            Algorithm::Sha512Rsa2048 => "SHA512_RSA2048",
            Algorithm::Sha512Rsa4096 => "SHA512_RSA4096",
            Algorithm::Sha512Rsa8192 => "SHA512_RSA8192",
        }
    }

    /// The hash over header ‖ auxiliary block (`None` for NONE).
    pub fn hash(self) -> Option<HashAlgorithm> {
        match self {
            Algorithm::None => None,
            Algorithm::Sha256Rsa2048 | Algorithm::Sha256Rsa4096 | Algorithm::Sha256Rsa8192 => {
                Some(HashAlgorithm::Sha256)
            }
            _ => Some(HashAlgorithm::Sha512),
        }
    }

    /// RSA modulus size in bits (0 for NONE).
    pub fn key_bits(self) -> u32 {
        match self {
            Algorithm::None => 0,
            Algorithm::Sha256Rsa2048 | Algorithm::Sha512Rsa2048 => 2048,
            Algorithm::Sha256Rsa4096 | Algorithm::Sha512Rsa4096 => 4096,
            Algorithm::Sha256Rsa8192 | Algorithm::Sha512Rsa8192 => 8192,
        }
    }

    /// Stored hash size in bytes.
    pub fn hash_len(self) -> usize {
        self.hash().map_or(0, HashAlgorithm::digest_len)
    }

    /// Signature size in bytes (= modulus size).
    pub fn signature_len(self) -> usize {
        (self.key_bits() / 8) as usize
    }

    /// Size of the `AvbRSAPublicKeyHeader` blob: 8 + 2 × modulus bytes (0 for NONE).
    pub fn public_key_len(self) -> usize {
        if self.key_bits() == 0 {
            0
        } else {
            8 + 2 * self.signature_len()
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        SIGNING_ALGORITHMS
            .iter()
            .chain(std::iter::once(&Algorithm::None))
            .copied()
            .find(|a| a.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown algorithm {s:?} (expected e.g. SHA256_RSA4096)"))
    }
}

/// Hash functions used for hash trees and vbmeta hashing. sha1 and blake2b are
/// deliberately not supported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// SHA-256 (the hash avbtool and veritysetup use by default).
    Sha256,
    /// SHA-512.
    Sha512,
}

impl HashAlgorithm {
    /// Parses the descriptor's `hash_algorithm` text (`sha256` / `sha512`, exact).
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "sha256" => Some(HashAlgorithm::Sha256),
            "sha512" => Some(HashAlgorithm::Sha512),
            _ => None,
        }
    }

    /// The name as stored in descriptors and dm-verity tables.
    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::Sha512 => "sha512",
        }
    }

    /// Digest length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha512 => 64,
        }
    }

    /// One-shot digest of the concatenation of `parts`.
    pub fn digest(self, parts: &[&[u8]]) -> Vec<u8> {
        let mut h = Hasher::new(self);
        for p in parts {
            h.update(p);
        }
        h.finish()
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for HashAlgorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        HashAlgorithm::from_name(s).ok_or_else(|| format!("unknown hash {s:?} (sha256 or sha512)"))
    }
}

/// A cloneable incremental hasher (cloning a salted context avoids rehashing the salt).
#[derive(Clone)]
pub(crate) enum Hasher {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl Hasher {
    pub(crate) fn new(a: HashAlgorithm) -> Self {
        match a {
            HashAlgorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            HashAlgorithm::Sha512 => Hasher::Sha512(Sha512::new()),
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    /// Finishes into `out` (which must be at least the digest length; extra bytes untouched).
    pub(crate) fn finish_into(self, out: &mut [u8]) {
        match self {
            Hasher::Sha256(h) => {
                let d = h.finish();
                if let Some(o) = out.get_mut(..d.len()) {
                    o.copy_from_slice(&d);
                }
            }
            Hasher::Sha512(h) => {
                let d = h.finish();
                if let Some(o) = out.get_mut(..d.len()) {
                    o.copy_from_slice(&d);
                }
            }
        }
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        match self {
            Hasher::Sha256(h) => h.finish().to_vec(),
            Hasher::Sha512(h) => h.finish().to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_table() {
        for (i, a) in SIGNING_ALGORITHMS.iter().enumerate() {
            assert_eq!(a.type_id() as usize, i + 1);
            assert_eq!(Algorithm::from_type(a.type_id()), Some(*a));
            assert_eq!(a.name().parse::<Algorithm>(), Ok(*a));
        }
        assert_eq!(Algorithm::from_type(7), None);
        assert_eq!(Algorithm::Sha512Rsa8192.public_key_len(), 8 + 2048);
        assert_eq!(Algorithm::Sha256Rsa2048.signature_len(), 256);
        assert_eq!(Algorithm::Sha512Rsa4096.hash_len(), 64);
        assert_eq!(Algorithm::None.public_key_len(), 0);
        assert!("RSA".parse::<Algorithm>().is_err());
    }

    #[test]
    fn hashes() {
        assert_eq!(
            crate::to_hex(&HashAlgorithm::Sha256.digest(&[b"a", b"bc"])),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(HashAlgorithm::Sha512.digest(&[b"abc"]).len(), 64);
        assert_eq!(HashAlgorithm::from_name("sha1"), None);
        assert_eq!(HashAlgorithm::from_name("SHA256"), None);
    }
}
