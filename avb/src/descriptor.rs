//! vbmeta descriptors: the `AvbDescriptor` {tag, num_bytes_following} framing and the
//! property, hashtree, hash, kernel-cmdline and chain-partition bodies, parsed strictly
//! (every length checked against its descriptor, UTF-8 text) and serialized as avbtool
//! does (bodies zero-padded to a multiple of 8).

use crate::algorithm::HashAlgorithm;
use crate::bytes::{be_u32, be_u64, round_up, slice};
use crate::error::AvbError;
use crate::hashtree::tree_geometry;

/// Size of the `AvbDescriptor` framing header.
pub const DESCRIPTOR_HEADER_SIZE: usize = 16;
/// Fixed size of `AvbHashtreeDescriptor` including the framing header.
pub const HASHTREE_DESCRIPTOR_SIZE: usize = 180;
/// Fixed size of `AvbHashDescriptor` including the framing header.
pub const HASH_DESCRIPTOR_SIZE: usize = 132;
/// Fixed size of `AvbPropertyDescriptor` including the framing header.
pub const PROPERTY_DESCRIPTOR_SIZE: usize = 32;
/// Fixed size of `AvbKernelCmdlineDescriptor` including the framing header.
pub const KERNEL_CMDLINE_DESCRIPTOR_SIZE: usize = 24;
/// Fixed size of `AvbChainPartitionDescriptor` including the framing header.
pub const CHAIN_PARTITION_DESCRIPTOR_SIZE: usize = 92;

/// Descriptor tags.
pub mod tag {
    /// Property.
    pub const PROPERTY: u64 = 0;
    /// Hashtree (dm-verity).
    pub const HASHTREE: u64 = 1;
    /// Hash (whole-image digest).
    pub const HASH: u64 = 2;
    /// Kernel command line.
    pub const KERNEL_CMDLINE: u64 = 3;
    /// Chain partition.
    pub const CHAIN_PARTITION: u64 = 4;
}

/// Hashtree flag: partition does not use A/B.
pub const HASHTREE_FLAG_DO_NOT_USE_AB: u32 = 1 << 0;
/// Hashtree flag: verify each block at most once (`check_at_most_once`).
pub const HASHTREE_FLAG_CHECK_AT_MOST_ONCE: u32 = 1 << 1;

/// The only dm-verity on-disk format we accept (1 = salt prepended, as avbtool writes).
pub const DM_VERITY_VERSION: u32 = 1;
/// Largest salt accepted (veritysetup's limit).
pub const MAX_SALT_SIZE: usize = 256;
/// Smallest data/hash block size (one sector).
pub const MIN_BLOCK_SIZE: u32 = 512;
/// Largest data/hash block size accepted.
pub const MAX_BLOCK_SIZE: u32 = 65536;
/// dm-verity FEC parity bytes per codeword: 2..=24 (RS(255, 231..253)).
pub const FEC_ROOTS_RANGE: std::ops::RangeInclusive<u32> = 2..=24;

/// One parsed descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Descriptor {
    /// Tag 0.
    Property(PropertyDescriptor),
    /// Tag 1.
    Hashtree(HashtreeDescriptor),
    /// Tag 2.
    Hash(HashDescriptor),
    /// Tag 3.
    KernelCmdline(KernelCmdlineDescriptor),
    /// Tag 4.
    ChainPartition(ChainPartitionDescriptor),
    /// Any other tag: kept verbatim (libavb skips unknown tags too).
    Unknown {
        /// The tag.
        tag: u64,
        /// The `num_bytes_following` bytes after the framing header.
        data: Vec<u8>,
    },
}

/// `AvbPropertyDescriptor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyDescriptor {
    /// Key (UTF-8, stored NUL-terminated).
    pub key: String,
    /// Value bytes (stored NUL-terminated).
    pub value: Vec<u8>,
}

/// `AvbHashtreeDescriptor`: how dm-verity protects one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashtreeDescriptor {
    /// dm-verity format version (1).
    pub dm_verity_version: u32,
    /// Bytes of data covered by the tree (a multiple of `data_block_size`).
    pub image_size: u64,
    /// Offset of the hash tree in the partition.
    pub tree_offset: u64,
    /// Size of the hash tree.
    pub tree_size: u64,
    /// Data block size.
    pub data_block_size: u32,
    /// Hash block size.
    pub hash_block_size: u32,
    /// Reed–Solomon parity bytes per codeword (0 without FEC).
    pub fec_num_roots: u32,
    /// Offset of the FEC data (0 without FEC).
    pub fec_offset: u64,
    /// Size of the FEC data (0 without FEC).
    pub fec_size: u64,
    /// Hash name, e.g. `sha256`.
    pub hash_algorithm: String,
    /// Partition name (without A/B suffix).
    pub partition_name: String,
    /// Salt prepended to every hashed block.
    pub salt: Vec<u8>,
    /// Root digest of the tree.
    pub root_digest: Vec<u8>,
    /// `HASHTREE_FLAG_*` bits.
    pub flags: u32,
}

/// `AvbHashDescriptor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashDescriptor {
    /// Bytes hashed.
    pub image_size: u64,
    /// Hash name.
    pub hash_algorithm: String,
    /// Partition name.
    pub partition_name: String,
    /// Salt.
    pub salt: Vec<u8>,
    /// Digest (may be empty for persistent digests).
    pub digest: Vec<u8>,
    /// Flags.
    pub flags: u32,
}

/// `AvbKernelCmdlineDescriptor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelCmdlineDescriptor {
    /// Flags.
    pub flags: u32,
    /// Command-line snippet (UTF-8).
    pub kernel_cmdline: String,
}

/// `AvbChainPartitionDescriptor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainPartitionDescriptor {
    /// Rollback index location.
    pub rollback_index_location: u32,
    /// Partition name.
    pub partition_name: String,
    /// Expected public key blob.
    pub public_key: Vec<u8>,
    /// Flags.
    pub flags: u32,
}

/// Error helper bound to one descriptor's offset.
struct At(u64);

impl At {
    fn err(&self, reason: impl Into<String>) -> AvbError {
        AvbError::Descriptor {
            offset: self.0,
            reason: reason.into(),
        }
    }
}

fn utf8(at: &At, what: &str, b: &[u8]) -> Result<String, AvbError> {
    String::from_utf8(b.to_vec()).map_err(|_| at.err(format!("{what} is not valid UTF-8")))
}

/// The text of a fixed 32-byte NUL-padded algorithm field (must contain a NUL).
fn algorithm_field(at: &At, b: &[u8]) -> Result<String, AvbError> {
    let end = b
        .iter()
        .position(|&c| c == 0)
        .ok_or_else(|| at.err("hash_algorithm field is not NUL-terminated"))?;
    utf8(at, "hash_algorithm", &b[..end])
}

/// Splits the variable part `var` into consecutive pieces of the given lengths.
fn take_pieces<'a, const N: usize>(
    at: &At,
    var: &'a [u8],
    lens: [(&str, u64); N],
) -> Result<[&'a [u8]; N], AvbError> {
    let mut out: [&[u8]; N] = [&[]; N];
    let mut off = 0u64;
    let mut total = 0u64;
    for (_, l) in lens.iter() {
        total = total
            .checked_add(*l)
            .ok_or_else(|| at.err("variable-length fields overflow"))?;
    }
    if total > var.len() as u64 {
        let names: Vec<String> = lens.iter().map(|(n, l)| format!("{n}={l}")).collect();
        return Err(at.err(format!(
            "{} need {total} bytes but only {} follow the fixed part",
            names.join(" + "),
            var.len()
        )));
    }
    for (i, (_, l)) in lens.iter().enumerate() {
        out[i] = slice(var, off, *l).ok_or_else(|| at.err("field out of range"))?;
        off += *l;
    }
    Ok(out)
}

fn parse_one(at: &At, tag: u64, d: &[u8]) -> Result<Descriptor, AvbError> {
    // `d` is the whole descriptor including the 16-byte framing header.
    let fixed = |size: usize, name: &str| -> Result<&[u8], AvbError> {
        d.get(size..).ok_or_else(|| {
            at.err(format!(
                "{name} descriptor needs {size} bytes, num_bytes_following gives {}",
                d.len()
            ))
        })
    };
    let u32_at = |o| be_u32(d, o).unwrap_or(0);
    let u64_at = |o| be_u64(d, o).unwrap_or(0);
    Ok(match tag {
        tag::PROPERTY => {
            let var = fixed(PROPERTY_DESCRIPTOR_SIZE, "property")?;
            let key_len = u64_at(16);
            let value_len = u64_at(24);
            let [key, nul1, value, nul2] = take_pieces(
                at,
                var,
                [
                    ("key", key_len),
                    ("NUL", 1),
                    ("value", value_len),
                    ("NUL", 1),
                ],
            )?;
            if nul1 != [0] || nul2 != [0] {
                return Err(at.err("property key or value is not NUL-terminated"));
            }
            Descriptor::Property(PropertyDescriptor {
                key: utf8(at, "property key", key)?,
                value: value.to_vec(),
            })
        }
        tag::HASHTREE => {
            let var = fixed(HASHTREE_DESCRIPTOR_SIZE, "hashtree")?;
            let [name, salt, digest] = take_pieces(
                at,
                var,
                [
                    ("partition_name_len", u64::from(u32_at(104))),
                    ("salt_len", u64::from(u32_at(108))),
                    ("root_digest_len", u64::from(u32_at(112))),
                ],
            )?;
            let h = HashtreeDescriptor {
                dm_verity_version: u32_at(16),
                image_size: u64_at(20),
                tree_offset: u64_at(28),
                tree_size: u64_at(36),
                data_block_size: u32_at(44),
                hash_block_size: u32_at(48),
                fec_num_roots: u32_at(52),
                fec_offset: u64_at(56),
                fec_size: u64_at(64),
                hash_algorithm: algorithm_field(at, d.get(72..104).unwrap_or(&[]))?,
                partition_name: utf8(at, "partition name", name)?,
                salt: salt.to_vec(),
                root_digest: digest.to_vec(),
                flags: u32_at(116),
            };
            h.validate()?;
            Descriptor::Hashtree(h)
        }
        tag::HASH => {
            let var = fixed(HASH_DESCRIPTOR_SIZE, "hash")?;
            let [name, salt, digest] = take_pieces(
                at,
                var,
                [
                    ("partition_name_len", u64::from(u32_at(56))),
                    ("salt_len", u64::from(u32_at(60))),
                    ("digest_len", u64::from(u32_at(64))),
                ],
            )?;
            Descriptor::Hash(HashDescriptor {
                image_size: u64_at(16),
                hash_algorithm: algorithm_field(at, d.get(24..56).unwrap_or(&[]))?,
                partition_name: utf8(at, "partition name", name)?,
                salt: salt.to_vec(),
                digest: digest.to_vec(),
                flags: u32_at(68),
            })
        }
        tag::KERNEL_CMDLINE => {
            let var = fixed(KERNEL_CMDLINE_DESCRIPTOR_SIZE, "kernel cmdline")?;
            let [cmdline] =
                take_pieces(at, var, [("kernel_cmdline_length", u64::from(u32_at(20)))])?;
            Descriptor::KernelCmdline(KernelCmdlineDescriptor {
                flags: u32_at(16),
                kernel_cmdline: utf8(at, "kernel cmdline", cmdline)?,
            })
        }
        tag::CHAIN_PARTITION => {
            let var = fixed(CHAIN_PARTITION_DESCRIPTOR_SIZE, "chain partition")?;
            let [name, key] = take_pieces(
                at,
                var,
                [
                    ("partition_name_len", u64::from(u32_at(20))),
                    ("public_key_len", u64::from(u32_at(24))),
                ],
            )?;
            Descriptor::ChainPartition(ChainPartitionDescriptor {
                rollback_index_location: u32_at(16),
                partition_name: utf8(at, "partition name", name)?,
                public_key: key.to_vec(),
                flags: u32_at(28),
            })
        }
        other => Descriptor::Unknown {
            tag: other,
            data: d.get(DESCRIPTOR_HEADER_SIZE..).unwrap_or(&[]).to_vec(),
        },
    })
}

/// Parses a descriptors area (the `descriptors_size` bytes at `descriptors_offset` of the
/// auxiliary block). Every descriptor must be framed exactly: `num_bytes_following` a
/// multiple of 8 and inside the area; hashtree descriptors are also [validated]
/// (`HashtreeDescriptor::validate`).
pub fn parse_descriptors(area: &[u8]) -> Result<Vec<Descriptor>, AvbError> {
    let mut out = Vec::new();
    let mut off: usize = 0;
    while off < area.len() {
        let at = At(off as u64);
        let rest = &area[off..];
        let (Some(t), Some(nbf)) = (be_u64(rest, 0), be_u64(rest, 8)) else {
            return Err(at.err(format!(
                "only {} bytes left, a descriptor header needs 16",
                rest.len()
            )));
        };
        if nbf % 8 != 0 {
            return Err(at.err(format!("num_bytes_following {nbf} is not a multiple of 8")));
        }
        let total = nbf
            .checked_add(DESCRIPTOR_HEADER_SIZE as u64)
            .filter(|&t| t <= rest.len() as u64)
            .ok_or_else(|| {
                at.err(format!(
                    "num_bytes_following {nbf} runs past the end of the descriptors ({} bytes left)",
                    rest.len()
                ))
            })?;
        // total <= rest.len() so it fits in usize.
        let total = total as usize;
        out.push(parse_one(&at, t, &rest[..total])?);
        off += total;
    }
    Ok(out)
}

impl HashtreeDescriptor {
    fn err(&self, reason: impl Into<String>) -> AvbError {
        AvbError::Hashtree {
            partition: self.partition_name.clone(),
            reason: reason.into(),
        }
    }

    /// The hash function, if it is one we support.
    pub fn hash(&self) -> Result<HashAlgorithm, AvbError> {
        HashAlgorithm::from_name(&self.hash_algorithm).ok_or_else(|| {
            self.err(format!(
                "hash_algorithm {:?} is not supported (sha256 or sha512)",
                self.hash_algorithm
            ))
        })
    }

    /// Number of data blocks (`image_size / data_block_size`).
    pub fn num_data_blocks(&self) -> u64 {
        self.image_size
            .checked_div(u64::from(self.data_block_size))
            .unwrap_or(0)
    }

    /// End of the hash tree (`tree_offset + tree_size`), checked.
    pub fn tree_end(&self) -> Result<u64, AvbError> {
        self.tree_offset
            .checked_add(self.tree_size)
            .ok_or_else(|| self.err("tree_offset + tree_size overflows"))
    }

    /// End of the FEC data (`fec_offset + fec_size`), checked.
    pub fn fec_end(&self) -> Result<u64, AvbError> {
        self.fec_offset
            .checked_add(self.fec_size)
            .ok_or_else(|| self.err("fec_offset + fec_size overflows"))
    }

    /// Checks the descriptor on its own (placement in a partition is checked by
    /// [`crate::VerifiedVbmeta::hashtree_descriptor`]):
    /// dm-verity version 1; hash sha256/sha512; root digest of that length; salt ≤ 256
    /// bytes; block sizes powers of two in 512..=65536; `image_size` a non-zero
    /// multiple of `data_block_size`; `tree_offset` a multiple of `hash_block_size`,
    /// not before `image_size`; `tree_size` exactly what the tree for `image_size`
    /// needs; FEC either absent (all three fields 0) or with equal data and hash block
    /// sizes (Linux refuses FEC otherwise), `fec_num_roots` in 2..=24, `fec_offset` a
    /// multiple of `data_block_size` at or after the tree end.
    pub fn validate(&self) -> Result<(), AvbError> {
        if self.dm_verity_version != DM_VERITY_VERSION {
            return Err(self.err(format!(
                "dm_verity_version {} (only 1 is supported)",
                self.dm_verity_version
            )));
        }
        let hash = self.hash()?;
        if self.root_digest.len() != hash.digest_len() {
            return Err(self.err(format!(
                "root_digest_len {} but {} digests are {} bytes",
                self.root_digest.len(),
                hash,
                hash.digest_len()
            )));
        }
        if self.salt.len() > MAX_SALT_SIZE {
            return Err(self.err(format!(
                "salt_len {} exceeds {MAX_SALT_SIZE}",
                self.salt.len()
            )));
        }
        for (what, bs) in [
            ("data_block_size", self.data_block_size),
            ("hash_block_size", self.hash_block_size),
        ] {
            if !bs.is_power_of_two() || !(MIN_BLOCK_SIZE..=MAX_BLOCK_SIZE).contains(&bs) {
                return Err(self.err(format!(
                    "{what} {bs} is not a power of two in {MIN_BLOCK_SIZE}..={MAX_BLOCK_SIZE}"
                )));
            }
        }
        let dbs = u64::from(self.data_block_size);
        let hbs = u64::from(self.hash_block_size);
        if self.image_size == 0 || !self.image_size.is_multiple_of(dbs) {
            return Err(self.err(format!(
                "image_size {} is not a non-zero multiple of data_block_size {dbs}",
                self.image_size
            )));
        }
        if !self.tree_offset.is_multiple_of(hbs) {
            return Err(self.err(format!(
                "tree_offset {} is not a multiple of hash_block_size {hbs}",
                self.tree_offset
            )));
        }
        if self.tree_offset < self.image_size {
            return Err(self.err(format!(
                "tree_offset {} lies inside the data (image_size {})",
                self.tree_offset, self.image_size
            )));
        }
        let tree_end = self.tree_end()?;
        let geometry = tree_geometry(self.num_data_blocks(), self.hash_block_size, hash)
            .ok_or_else(|| self.err("hash tree size overflows"))?;
        if self.tree_size != geometry.tree_size {
            return Err(self.err(format!(
                "tree_size {} but a tree for {} blocks is {} bytes",
                self.tree_size,
                self.num_data_blocks(),
                geometry.tree_size
            )));
        }
        if self.fec_size == 0 {
            if self.fec_num_roots != 0 || self.fec_offset != 0 {
                return Err(self.err(format!(
                    "fec_size 0 but fec_num_roots {} / fec_offset {} set",
                    self.fec_num_roots, self.fec_offset
                )));
            }
        } else {
            if self.data_block_size != self.hash_block_size {
                // Linux's verity_fec_ctr: "Block sizes must match to use FEC".
                return Err(self.err(format!(
                    "FEC needs data_block_size {} equal to hash_block_size {}",
                    self.data_block_size, self.hash_block_size
                )));
            }
            if !FEC_ROOTS_RANGE.contains(&self.fec_num_roots) {
                return Err(self.err(format!(
                    "fec_num_roots {} is outside 2..=24",
                    self.fec_num_roots
                )));
            }
            if !self.fec_offset.is_multiple_of(dbs) {
                return Err(self.err(format!(
                    "fec_offset {} is not a multiple of data_block_size {dbs}",
                    self.fec_offset
                )));
            }
            if self.fec_offset < tree_end {
                return Err(self.err(format!(
                    "fec_offset {} overlaps the data or hash tree (ends at {tree_end})",
                    self.fec_offset
                )));
            }
            self.fec_end()?;
        }
        Ok(())
    }
}

/// Appends `AvbDescriptor` framing for a body, padding it to 8 as avbtool does.
fn frame(tag: u64, body: &[u8]) -> Vec<u8> {
    let nbf = round_up(body.len() as u64, 8).unwrap_or(body.len() as u64);
    let mut out = Vec::with_capacity(DESCRIPTOR_HEADER_SIZE + body.len() + 8);
    out.extend_from_slice(&tag.to_be_bytes());
    out.extend_from_slice(&nbf.to_be_bytes());
    out.extend_from_slice(body);
    out.resize(DESCRIPTOR_HEADER_SIZE + nbf as usize, 0);
    out
}

fn len_u32(what: &str, n: usize) -> Result<u32, AvbError> {
    u32::try_from(n).map_err(|_| AvbError::Build(format!("{what} too long")))
}

fn algorithm_bytes(name: &str) -> Result<[u8; 32], AvbError> {
    let mut a = [0u8; 32];
    let b = name.as_bytes();
    if b.len() >= a.len() {
        return Err(AvbError::Build(format!(
            "hash algorithm name {name:?} too long"
        )));
    }
    a[..b.len()].copy_from_slice(b);
    Ok(a)
}

impl Descriptor {
    /// The descriptor's tag.
    pub fn tag(&self) -> u64 {
        match self {
            Descriptor::Property(_) => tag::PROPERTY,
            Descriptor::Hashtree(_) => tag::HASHTREE,
            Descriptor::Hash(_) => tag::HASH,
            Descriptor::KernelCmdline(_) => tag::KERNEL_CMDLINE,
            Descriptor::ChainPartition(_) => tag::CHAIN_PARTITION,
            Descriptor::Unknown { tag, .. } => *tag,
        }
    }

    /// Serializes the descriptor exactly as avbtool's `encode()` does.
    pub fn to_bytes(&self) -> Result<Vec<u8>, AvbError> {
        let mut b = Vec::new();
        match self {
            Descriptor::Property(p) => {
                b.extend_from_slice(&(p.key.len() as u64).to_be_bytes());
                b.extend_from_slice(&(p.value.len() as u64).to_be_bytes());
                b.extend_from_slice(p.key.as_bytes());
                b.push(0);
                b.extend_from_slice(&p.value);
                b.push(0);
            }
            Descriptor::Hashtree(h) => {
                b.extend_from_slice(&h.dm_verity_version.to_be_bytes());
                b.extend_from_slice(&h.image_size.to_be_bytes());
                b.extend_from_slice(&h.tree_offset.to_be_bytes());
                b.extend_from_slice(&h.tree_size.to_be_bytes());
                b.extend_from_slice(&h.data_block_size.to_be_bytes());
                b.extend_from_slice(&h.hash_block_size.to_be_bytes());
                b.extend_from_slice(&h.fec_num_roots.to_be_bytes());
                b.extend_from_slice(&h.fec_offset.to_be_bytes());
                b.extend_from_slice(&h.fec_size.to_be_bytes());
                b.extend_from_slice(&algorithm_bytes(&h.hash_algorithm)?);
                b.extend_from_slice(
                    &len_u32("partition name", h.partition_name.len())?.to_be_bytes(),
                );
                b.extend_from_slice(&len_u32("salt", h.salt.len())?.to_be_bytes());
                b.extend_from_slice(&len_u32("root digest", h.root_digest.len())?.to_be_bytes());
                b.extend_from_slice(&h.flags.to_be_bytes());
                b.extend_from_slice(&[0u8; 60]);
                b.extend_from_slice(h.partition_name.as_bytes());
                b.extend_from_slice(&h.salt);
                b.extend_from_slice(&h.root_digest);
            }
            Descriptor::Hash(h) => {
                b.extend_from_slice(&h.image_size.to_be_bytes());
                b.extend_from_slice(&algorithm_bytes(&h.hash_algorithm)?);
                b.extend_from_slice(
                    &len_u32("partition name", h.partition_name.len())?.to_be_bytes(),
                );
                b.extend_from_slice(&len_u32("salt", h.salt.len())?.to_be_bytes());
                b.extend_from_slice(&len_u32("digest", h.digest.len())?.to_be_bytes());
                b.extend_from_slice(&h.flags.to_be_bytes());
                b.extend_from_slice(&[0u8; 60]);
                b.extend_from_slice(h.partition_name.as_bytes());
                b.extend_from_slice(&h.salt);
                b.extend_from_slice(&h.digest);
            }
            Descriptor::KernelCmdline(k) => {
                b.extend_from_slice(&k.flags.to_be_bytes());
                b.extend_from_slice(
                    &len_u32("kernel cmdline", k.kernel_cmdline.len())?.to_be_bytes(),
                );
                b.extend_from_slice(k.kernel_cmdline.as_bytes());
            }
            Descriptor::ChainPartition(c) => {
                b.extend_from_slice(&c.rollback_index_location.to_be_bytes());
                b.extend_from_slice(
                    &len_u32("partition name", c.partition_name.len())?.to_be_bytes(),
                );
                b.extend_from_slice(&len_u32("public key", c.public_key.len())?.to_be_bytes());
                b.extend_from_slice(&c.flags.to_be_bytes());
                b.extend_from_slice(&[0u8; 60]);
                b.extend_from_slice(c.partition_name.as_bytes());
                b.extend_from_slice(&c.public_key);
            }
            Descriptor::Unknown { data, .. } => b.extend_from_slice(data),
        }
        Ok(frame(self.tag(), &b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample_hashtree() -> HashtreeDescriptor {
        // 129 blocks of 4096 with sha256: level 0 = 2 blocks, level 1 = 1 block.
        HashtreeDescriptor {
            dm_verity_version: 1,
            image_size: 129 * 4096,
            tree_offset: 129 * 4096,
            tree_size: 3 * 4096,
            data_block_size: 4096,
            hash_block_size: 4096,
            fec_num_roots: 0,
            fec_offset: 0,
            fec_size: 0,
            hash_algorithm: "sha256".into(),
            partition_name: "microdroid-vendor".into(),
            salt: vec![0xaa; 32],
            root_digest: vec![0x55; 32],
            flags: 0,
        }
    }

    fn all_kinds() -> Vec<Descriptor> {
        vec![
            Descriptor::Property(PropertyDescriptor {
                key: "com.android.build".into(),
                value: b"x".to_vec(),
            }),
            Descriptor::Hashtree(sample_hashtree()),
            Descriptor::Hash(HashDescriptor {
                image_size: 10,
                hash_algorithm: "sha256".into(),
                partition_name: "boot".into(),
                salt: vec![1, 2],
                digest: vec![3; 32],
                flags: 0,
            }),
            Descriptor::KernelCmdline(KernelCmdlineDescriptor {
                flags: 1,
                kernel_cmdline: "quiet".into(),
            }),
            Descriptor::ChainPartition(ChainPartitionDescriptor {
                rollback_index_location: 1,
                partition_name: "system".into(),
                public_key: vec![9; 13],
                flags: 0,
            }),
            Descriptor::Unknown {
                tag: 77,
                data: vec![1; 16],
            },
        ]
    }

    #[test]
    fn round_trip_all_kinds() {
        let mut area = Vec::new();
        for d in all_kinds() {
            let b = d.to_bytes().unwrap();
            assert_eq!(b.len() % 8, 0);
            area.extend(b);
        }
        assert_eq!(parse_descriptors(&area).unwrap(), all_kinds());
        assert_eq!(parse_descriptors(&[]).unwrap(), vec![]);
    }

    #[test]
    fn hashtree_size_matches_avbtool() {
        // avbtool: 180 fixed + 17 name + 32 salt + 32 digest = 261 -> nbf 248 (245 padded).
        let b = Descriptor::Hashtree(sample_hashtree()).to_bytes().unwrap();
        assert_eq!(be_u64(&b, 8), Some(248));
        assert_eq!(b.len(), 264);
    }

    fn framing_err(area: &[u8]) -> String {
        match parse_descriptors(area) {
            Err(AvbError::Descriptor { reason, .. }) => reason,
            other => panic!("expected descriptor error, got {other:?}"),
        }
    }

    #[test]
    fn rejects_bad_framing() {
        let good = Descriptor::Hashtree(sample_hashtree()).to_bytes().unwrap();
        assert!(framing_err(&good[..10]).contains("header needs 16"));
        assert!(framing_err(&good[..good.len() - 8]).contains("runs past"));
        let mut b = good.clone();
        b[8..16].copy_from_slice(&u64::MAX.to_be_bytes());
        assert!(framing_err(&b).contains("not a multiple of 8"));
        b[8..16].copy_from_slice(&(u64::MAX - 7).to_be_bytes());
        assert!(framing_err(&b).contains("runs past"));
        b[8..16].copy_from_slice(&8u64.to_be_bytes());
        let r = framing_err(&b[..24]);
        assert!(r.contains("needs 180"), "{r}");
    }

    #[test]
    fn rejects_bad_lengths_and_text() {
        let good = Descriptor::Hashtree(sample_hashtree()).to_bytes().unwrap();
        for (off, val) in [(104usize, 1000u32), (108, u32::MAX), (112, 1000)] {
            let mut b = good.clone();
            b[off..off + 4].copy_from_slice(&val.to_be_bytes());
            assert!(framing_err(&b).contains("only"), "field at {off}");
        }
        let mut b = good.clone();
        b[180] = 0xff; // partition name byte
        assert!(framing_err(&b).contains("UTF-8"));
        let mut b = good.clone();
        b[72..104].fill(b'a');
        assert!(framing_err(&b).contains("NUL-terminated"));
        let prop = Descriptor::Property(PropertyDescriptor {
            key: "k".into(),
            value: b"v".to_vec(),
        })
        .to_bytes()
        .unwrap();
        let mut b = prop.clone();
        b[33] = b'x'; // key terminator
        assert!(framing_err(&b).contains("NUL"));
        let mut b = prop;
        b[16..24].copy_from_slice(&u64::MAX.to_be_bytes());
        assert!(framing_err(&b).contains("overflow"));
    }

    fn ht_err(f: impl FnOnce(&mut HashtreeDescriptor)) -> String {
        let mut h = sample_hashtree();
        f(&mut h);
        match h.validate() {
            Err(AvbError::Hashtree { reason, .. }) => reason,
            other => panic!("expected hashtree error, got {other:?}"),
        }
    }

    #[test]
    fn hashtree_validation() {
        sample_hashtree().validate().unwrap();
        assert!(ht_err(|h| h.dm_verity_version = 0).contains("dm_verity_version"));
        assert!(ht_err(|h| h.hash_algorithm = "sha1".into()).contains("not supported"));
        assert!(ht_err(|h| h.root_digest.pop().map_or((), |_| ())).contains("root_digest_len"));
        assert!(ht_err(|h| h.hash_algorithm = "sha512".into()).contains("root_digest_len"));
        assert!(ht_err(|h| h.salt = vec![0; 257]).contains("salt_len"));
        assert!(ht_err(|h| h.data_block_size = 4095).contains("power of two"));
        assert!(ht_err(|h| h.hash_block_size = 256).contains("power of two"));
        assert!(ht_err(|h| h.data_block_size = 1 << 17).contains("power of two"));
        assert!(ht_err(|h| h.image_size += 512).contains("multiple of data_block_size"));
        assert!(ht_err(|h| h.image_size = 0).contains("non-zero"));
        assert!(ht_err(|h| h.tree_offset += 512).contains("multiple of hash_block_size"));
        assert!(ht_err(|h| h.tree_offset = 4096).contains("inside the data"));
        assert!(ht_err(|h| h.tree_size += 4096).contains("tree_size"));
        assert!(ht_err(|h| h.tree_offset = u64::MAX - 4095).contains("overflows"));
        assert!(ht_err(|h| h.fec_num_roots = 2).contains("fec_size 0"));
        let fec = |h: &mut HashtreeDescriptor| {
            h.fec_size = 8192;
            h.fec_num_roots = 2;
            h.fec_offset = h.tree_offset + h.tree_size;
        };
        let mut h = sample_hashtree();
        fec(&mut h);
        h.validate().unwrap();
        assert!(ht_err(|h| {
            fec(h);
            h.fec_num_roots = 25;
        })
        .contains("fec_num_roots"));
        assert!(ht_err(|h| {
            fec(h);
            h.fec_offset -= 4096;
        })
        .contains("overlaps"));
        assert!(ht_err(|h| {
            fec(h);
            h.fec_offset += 512;
        })
        .contains("multiple of data_block_size"));
        assert!(ht_err(|h| {
            fec(h);
            h.fec_size = u64::MAX;
        })
        .contains("overflows"));
    }
}
