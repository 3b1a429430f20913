//! A minimal GPT disk writer: protective MBR, primary header + 128-entry table at LBA 1–33,
//! backup table + header at the end, CRC32s, partitions starting on 1 MiB boundaries.
//! Each partition is exactly as large as its image (so an AVB footer stays in the
//! partition's last 64 bytes) and named so Linux reports `PARTNAME=<name>`. GUIDs are
//! derived from the names, so the same inputs give the same disk.

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::error::{io_err, Error, Result};

/// Sector size.
pub const SECTOR: u64 = 512;
/// Partition start alignment.
pub const ALIGNMENT: u64 = 1 << 20;
/// Number of partition entries in the table.
const NUM_ENTRIES: u64 = 128;
/// Size of one partition entry.
const ENTRY_SIZE: u64 = 128;
/// Sectors of one partition table (128 × 128 bytes).
const TABLE_SECTORS: u64 = NUM_ENTRIES * ENTRY_SIZE / SECTOR;
/// "Linux filesystem data" partition type, 0FC63DAF-8483-4772-8E79-3D69D8477DE4.
pub const LINUX_FS_TYPE: &str = "0fc63daf-8483-4772-8e79-3d69d8477de4";

/// Where a partition landed on the disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionPlacement {
    /// Partition name (GPT name, kernel PARTNAME).
    pub name: String,
    /// 1-based partition number (`vda1`, ...).
    pub number: u32,
    /// First sector.
    pub first_lba: u64,
    /// Last sector (inclusive).
    pub last_lba: u64,
    /// Byte offset on the disk.
    pub offset_bytes: u64,
    /// Byte size (= the image size).
    pub size_bytes: u64,
    /// Unique partition GUID (lowercase, hyphenated), as in `PARTUUID=`.
    pub partition_guid: String,
}

/// A name-derived, RFC 4122 version-4-shaped GUID (16 bytes in display order).
fn derived_guid(label: &str) -> [u8; 16] {
    let d = openssl::sha::sha256(label.as_bytes());
    let mut g = [0u8; 16];
    g.copy_from_slice(&d[..16]);
    g[6] = (g[6] & 0x0f) | 0x40;
    g[8] = (g[8] & 0x3f) | 0x80;
    g
}

fn guid_string(g: &[u8; 16]) -> String {
    let h = avb::to_hex(g);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// GPT's on-disk GUID encoding: the first three fields little-endian.
fn guid_disk_bytes(g: &[u8; 16]) -> [u8; 16] {
    let mut b = *g;
    b[..4].reverse();
    b[4..6].reverse();
    b[6..8].reverse();
    b
}

fn parse_guid(s: &str) -> [u8; 16] {
    let bytes = avb::from_hex(&s.replace('-', "")).unwrap_or_default();
    let mut g = [0u8; 16];
    if bytes.len() == 16 {
        g.copy_from_slice(&bytes);
    }
    g
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 36
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
}

struct Entry {
    type_guid: [u8; 16],
    guid: [u8; 16],
    first: u64,
    last: u64,
    name: String,
}

fn encode_entries(entries: &[Entry]) -> Vec<u8> {
    let mut t = vec![0u8; (NUM_ENTRIES * ENTRY_SIZE) as usize];
    for (e, slot) in entries.iter().zip(t.chunks_exact_mut(ENTRY_SIZE as usize)) {
        slot[..16].copy_from_slice(&guid_disk_bytes(&e.type_guid));
        slot[16..32].copy_from_slice(&guid_disk_bytes(&e.guid));
        slot[32..40].copy_from_slice(&e.first.to_le_bytes());
        slot[40..48].copy_from_slice(&e.last.to_le_bytes());
        for (i, u) in e.name.encode_utf16().take(36).enumerate() {
            slot[56 + 2 * i..58 + 2 * i].copy_from_slice(&u.to_le_bytes());
        }
    }
    t
}

struct HeaderFields {
    current: u64,
    backup: u64,
    first_usable: u64,
    last_usable: u64,
    disk_guid: [u8; 16],
    entries_lba: u64,
    entries_crc: u32,
}

fn encode_header(h: &HeaderFields) -> Vec<u8> {
    let mut b = vec![0u8; SECTOR as usize];
    b[..8].copy_from_slice(b"EFI PART");
    b[8..12].copy_from_slice(&0x0001_0000u32.to_le_bytes());
    b[12..16].copy_from_slice(&92u32.to_le_bytes());
    b[24..32].copy_from_slice(&h.current.to_le_bytes());
    b[32..40].copy_from_slice(&h.backup.to_le_bytes());
    b[40..48].copy_from_slice(&h.first_usable.to_le_bytes());
    b[48..56].copy_from_slice(&h.last_usable.to_le_bytes());
    b[56..72].copy_from_slice(&guid_disk_bytes(&h.disk_guid));
    b[72..80].copy_from_slice(&h.entries_lba.to_le_bytes());
    b[80..84].copy_from_slice(&(NUM_ENTRIES as u32).to_le_bytes());
    b[84..88].copy_from_slice(&(ENTRY_SIZE as u32).to_le_bytes());
    b[88..92].copy_from_slice(&h.entries_crc.to_le_bytes());
    let crc = crc32fast::hash(&b[..92]);
    b[16..20].copy_from_slice(&crc.to_le_bytes());
    b
}

fn protective_mbr(total_sectors: u64) -> Vec<u8> {
    let mut m = vec![0u8; SECTOR as usize];
    let p = &mut m[446..462];
    p[1..4].copy_from_slice(&[0x00, 0x02, 0x00]);
    p[4] = 0xee;
    p[5..8].copy_from_slice(&[0xff, 0xff, 0xff]);
    p[8..12].copy_from_slice(&1u32.to_le_bytes());
    let size = u32::try_from(total_sectors - 1).unwrap_or(u32::MAX);
    p[12..16].copy_from_slice(&size.to_le_bytes());
    m[510] = 0x55;
    m[511] = 0xaa;
    m
}

/// Writes a GPT disk image at `out` holding each `(name, image)` in order, starting at
/// 1 MiB and each on a 1 MiB boundary. Images must be a multiple of 512 bytes.
pub fn make_gpt_disk(out: &Path, partitions: &[(&str, &Path)]) -> Result<Vec<PartitionPlacement>> {
    if partitions.is_empty() || partitions.len() > NUM_ENTRIES as usize {
        return Err(Error::Invalid(format!(
            "{} partitions (need 1..=128)",
            partitions.len()
        )));
    }
    let align = ALIGNMENT / SECTOR;
    let mut next = align;
    let mut entries = Vec::new();
    let mut placements = Vec::new();
    for (i, (name, image)) in partitions.iter().enumerate() {
        if !valid_name(name) {
            return Err(Error::Invalid(format!(
                "partition name {name:?} must be 1-36 characters of [A-Za-z0-9_.-]"
            )));
        }
        if partitions[..i].iter().any(|(n, _)| n == name) {
            return Err(Error::Invalid(format!("duplicate partition name {name:?}")));
        }
        let size = std::fs::metadata(image)
            .map_err(io_err(format!("stat {}", image.display())))?
            .len();
        if size == 0 || size % SECTOR != 0 {
            return Err(Error::Invalid(format!(
                "{} is {size} bytes, not a positive multiple of 512",
                image.display()
            )));
        }
        let first = next;
        let last = first + size / SECTOR - 1;
        let guid = derived_guid(&format!("partition:{name}"));
        placements.push(PartitionPlacement {
            name: name.to_string(),
            number: i as u32 + 1,
            first_lba: first,
            last_lba: last,
            offset_bytes: first * SECTOR,
            size_bytes: size,
            partition_guid: guid_string(&guid),
        });
        entries.push(Entry {
            type_guid: parse_guid(LINUX_FS_TYPE),
            guid,
            first,
            last,
            name: name.to_string(),
        });
        next = (last + 1).div_ceil(align) * align;
    }
    // Room for the backup table and header after the last partition, then round the disk
    // up to the alignment.
    let total = (next + TABLE_SECTORS + 1).div_ceil(align) * align;
    let last_lba = total - 1;
    let table = encode_entries(&entries);
    let entries_crc = crc32fast::hash(&table);
    let disk_guid = derived_guid(&format!(
        "disk:{}",
        partitions
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(",")
    ));
    let fields = |current, backup, entries_lba| HeaderFields {
        current,
        backup,
        first_usable: 2 + TABLE_SECTORS,
        last_usable: last_lba - TABLE_SECTORS - 1,
        disk_guid,
        entries_lba,
        entries_crc,
    };
    let primary = encode_header(&fields(1, last_lba, 2));
    let backup_table_lba = last_lba - TABLE_SECTORS;
    let backup = encode_header(&fields(last_lba, 1, backup_table_lba));

    let mut f = File::create(out).map_err(io_err(format!("creating {}", out.display())))?;
    let w = |f: &File, lba: u64, data: &[u8]| {
        f.write_all_at(data, lba * SECTOR)
            .map_err(io_err(format!("writing {}", out.display())))
    };
    f.set_len(total * SECTOR)
        .map_err(io_err(format!("sizing {}", out.display())))?;
    w(&f, 0, &protective_mbr(total))?;
    w(&f, 1, &primary)?;
    w(&f, 2, &table)?;
    w(&f, backup_table_lba, &table)?;
    w(&f, last_lba, &backup)?;
    for (p, (_, image)) in placements.iter().zip(partitions) {
        let mut src = File::open(image).map_err(io_err(format!("opening {}", image.display())))?;
        f.seek(SeekFrom::Start(p.offset_bytes))
            .map_err(io_err(format!("seeking {}", out.display())))?;
        std::io::copy(&mut src, &mut f).map_err(io_err(format!("copying {}", image.display())))?;
    }
    f.sync_all()
        .map_err(io_err(format!("syncing {}", out.display())))?;
    Ok(placements)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_encoding() {
        let g = parse_guid(LINUX_FS_TYPE);
        assert_eq!(guid_string(&g), LINUX_FS_TYPE);
        assert_eq!(
            guid_disk_bytes(&g)[..8],
            [0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47]
        );
        let d = derived_guid("x");
        assert_eq!(d[6] >> 4, 4);
        assert_eq!(d[8] >> 6, 2);
        assert_eq!(derived_guid("x"), d);
    }

    #[test]
    fn names() {
        assert!(valid_name("microdroid-vendor"));
        assert!(!valid_name(""));
        assert!(!valid_name("a b"));
        assert!(!valid_name(&"a".repeat(37)));
    }
}
