//! `AvbFooter`: the 64 bytes at the very end of a partition that locate the vbmeta blob.

use crate::bytes::{be_u32, be_u64};
use crate::error::AvbError;

/// Size of the footer in bytes.
pub const FOOTER_SIZE: usize = 64;
/// Footer magic.
pub const FOOTER_MAGIC: &[u8; 4] = b"AVBf";
/// The footer major version we implement (libavb `AVB_FOOTER_VERSION_MAJOR`).
pub const FOOTER_VERSION_MAJOR: u32 = 1;
/// The footer minor version we implement and write (libavb `AVB_FOOTER_VERSION_MINOR`).
pub const FOOTER_VERSION_MINOR: u32 = 0;

/// A parsed `AvbFooter` (all integers big-endian on disk; reserved bytes ignored on read,
/// written as zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AvbFooter {
    /// Footer major version (1).
    pub version_major: u32,
    /// Footer minor version (0).
    pub version_minor: u32,
    /// Size of the image before the hash tree, vbmeta and footer were added.
    pub original_image_size: u64,
    /// Offset of the vbmeta blob from the start of the partition.
    pub vbmeta_offset: u64,
    /// Size of the vbmeta blob (header + auth block + aux block).
    pub vbmeta_size: u64,
}

impl AvbFooter {
    /// Parses and checks magic and version. Minor versions other than 0 are rejected:
    /// libavb ignores the footer minor, but no avbtool writes anything but 1.0 and we
    /// prefer to refuse what we have not seen.
    pub fn parse(b: &[u8]) -> Result<Self, AvbError> {
        if b.len() < FOOTER_SIZE {
            return Err(AvbError::Truncated {
                what: "AVB footer",
                need: FOOTER_SIZE as u64,
                have: b.len() as u64,
            });
        }
        let mut magic = [0u8; 4];
        magic.copy_from_slice(&b[..4]);
        if &magic != FOOTER_MAGIC {
            return Err(AvbError::FooterMagic(magic));
        }
        let field32 = |off| be_u32(b, off).unwrap_or(0);
        let field64 = |off| be_u64(b, off).unwrap_or(0);
        let f = AvbFooter {
            version_major: field32(4),
            version_minor: field32(8),
            original_image_size: field64(12),
            vbmeta_offset: field64(20),
            vbmeta_size: field64(28),
        };
        if f.version_major != FOOTER_VERSION_MAJOR || f.version_minor > FOOTER_VERSION_MINOR {
            return Err(AvbError::FooterVersion {
                major: f.version_major,
                minor: f.version_minor,
            });
        }
        Ok(f)
    }

    /// Serializes the footer (reserved bytes zero).
    pub fn to_bytes(&self) -> [u8; FOOTER_SIZE] {
        let mut b = [0u8; FOOTER_SIZE];
        b[..4].copy_from_slice(FOOTER_MAGIC);
        b[4..8].copy_from_slice(&self.version_major.to_be_bytes());
        b[8..12].copy_from_slice(&self.version_minor.to_be_bytes());
        b[12..20].copy_from_slice(&self.original_image_size.to_be_bytes());
        b[20..28].copy_from_slice(&self.vbmeta_offset.to_be_bytes());
        b[28..36].copy_from_slice(&self.vbmeta_size.to_be_bytes());
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> AvbFooter {
        AvbFooter {
            version_major: 1,
            version_minor: 0,
            original_image_size: 0x1234,
            vbmeta_offset: 0x5000,
            vbmeta_size: 0x440,
        }
    }

    #[test]
    fn round_trip() {
        let f = sample();
        let b = f.to_bytes();
        assert_eq!(&b[..4], b"AVBf");
        assert_eq!(b[36..], [0u8; 28]);
        assert_eq!(AvbFooter::parse(&b), Ok(f));
    }

    #[test]
    fn rejects_magic_version_truncation() {
        let mut b = sample().to_bytes();
        b[0] = b'X';
        assert!(matches!(
            AvbFooter::parse(&b),
            Err(AvbError::FooterMagic(_))
        ));
        let mut b = sample().to_bytes();
        b[7] = 2;
        assert!(matches!(
            AvbFooter::parse(&b),
            Err(AvbError::FooterVersion { major: 2, .. })
        ));
        let mut b = sample().to_bytes();
        b[11] = 1;
        assert!(matches!(
            AvbFooter::parse(&b),
            Err(AvbError::FooterVersion { minor: 1, .. })
        ));
        let b = sample().to_bytes();
        assert!(matches!(
            AvbFooter::parse(&b[..63]),
            Err(AvbError::Truncated { .. })
        ));
    }
}
