//! The expected root digest from the device tree
//! (`/avf/vendor_hashtree_descriptor_root_digest`).
//!
//! The host writes lowercase ASCII hex without a NUL. We accept exactly that: 64
//! characters (a sha256 root) or 128 (sha512), `0-9a-f` only, and tolerate exactly one
//! trailing NUL because dtc-produced blobs NUL-terminate string properties.

use crate::error::DigestError;

/// Accepted digest lengths in hex characters (sha256, sha512).
pub const DIGEST_HEX_LENGTHS: [usize; 2] = [64, 128];

/// Validates the raw property value and returns the hex string (without NUL).
pub fn parse_expected_digest(raw: &[u8]) -> Result<String, DigestError> {
    let body = raw.strip_suffix(&[0]).unwrap_or(raw);
    if body.is_empty() {
        return Err(DigestError::Empty);
    }
    if !DIGEST_HEX_LENGTHS.contains(&body.len()) {
        return Err(DigestError::WrongLength { len: body.len() });
    }
    if let Some((offset, &byte)) = body
        .iter()
        .enumerate()
        .find(|(_, &c)| !matches!(c, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(DigestError::NotLowerHex { offset, byte });
    }
    // Every byte is ASCII hex, so this is valid UTF-8.
    Ok(body.iter().map(|&c| char::from(c)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn accepts() {
        assert_eq!(parse_expected_digest(D.as_bytes()).unwrap(), D);
        let mut with_nul = D.as_bytes().to_vec();
        with_nul.push(0);
        assert_eq!(parse_expected_digest(&with_nul).unwrap(), D);
        let long = D.repeat(2);
        assert_eq!(parse_expected_digest(long.as_bytes()).unwrap(), long);
    }

    #[test]
    fn rejects() {
        assert_eq!(parse_expected_digest(b""), Err(DigestError::Empty));
        assert_eq!(parse_expected_digest(b"\0"), Err(DigestError::Empty));
        assert_eq!(
            parse_expected_digest(&D.as_bytes()[..63]),
            Err(DigestError::WrongLength { len: 63 })
        );
        let mut two_nuls = D.as_bytes().to_vec();
        two_nuls.extend([0, 0]);
        assert_eq!(
            parse_expected_digest(&two_nuls),
            Err(DigestError::WrongLength { len: 65 })
        );
        let upper = D.to_uppercase();
        assert_eq!(
            parse_expected_digest(upper.as_bytes()),
            Err(DigestError::NotLowerHex {
                offset: 10,
                byte: b'A'
            })
        );
        let mut inner_nul = D.as_bytes().to_vec();
        inner_nul[5] = 0;
        assert_eq!(
            parse_expected_digest(&inner_nul),
            Err(DigestError::NotLowerHex { offset: 5, byte: 0 })
        );
        assert_eq!(
            parse_expected_digest(&[b'g'; 64]),
            Err(DigestError::NotLowerHex {
                offset: 0,
                byte: b'g'
            })
        );
        assert_eq!(DigestError::Empty.reason(), "VENDOR_DIGEST_MALFORMED");
    }
}
