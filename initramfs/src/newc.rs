//! The newc ("070701", `cpio -H newc`) format the kernel unpacks into rootfs.
//!
//! Each entry is a 110-byte ASCII header of 13 eight-digit hex fields, the NUL-terminated
//! name padded to 4 bytes, then the data padded to 4 bytes; the archive ends with the
//! entry `TRAILER!!!`. See the kernel's `Documentation/driver-api/early-userspace/buffer-format.rst`.

use crate::archive::Entry;

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;
const S_IFCHR: u32 = 0o020000;

/// The mtime of every entry (the epoch: nothing in the image depends on build time).
pub const MTIME: u32 = 0;

struct Header<'a> {
    ino: u32,
    mode: u32,
    nlink: u32,
    rdev: (u32, u32),
    name: &'a str,
    data: &'a [u8],
}

fn pad4(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

fn push_entry(out: &mut Vec<u8>, h: &Header) {
    let namesize = h.name.len() + 1;
    let fields: [u32; 13] = [
        h.ino,
        h.mode,
        0, // uid
        0, // gid
        h.nlink,
        MTIME,
        // Sizes above 4 GiB cannot be represented in newc; our images are far smaller and
        // the builder's inputs are files we read into memory.
        u32::try_from(h.data.len()).unwrap_or(u32::MAX),
        0, // devmajor
        0, // devminor
        h.rdev.0,
        h.rdev.1,
        u32::try_from(namesize).unwrap_or(u32::MAX),
        0, // check
    ];
    out.extend_from_slice(b"070701");
    for f in fields {
        out.extend_from_slice(format!("{f:08x}").as_bytes());
    }
    out.extend_from_slice(h.name.as_bytes());
    out.push(0);
    pad4(out);
    out.extend_from_slice(h.data);
    pad4(out);
}

/// Writes `entries` (already sorted, paths without a leading `/`) and the trailer.
pub fn write<'a>(entries: impl Iterator<Item = (&'a str, &'a Entry)>) -> Vec<u8> {
    let mut out = Vec::new();
    for (index, (name, e)) in entries.enumerate() {
        let ino = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let (mode, nlink, rdev, data): (u32, u32, (u32, u32), &[u8]) = match e {
            Entry::Dir { mode } => (S_IFDIR | mode, 2, (0, 0), &[]),
            Entry::File { mode, data } => (S_IFREG | mode, 1, (0, 0), data),
            Entry::Symlink { target } => (S_IFLNK | 0o777, 1, (0, 0), target.as_bytes()),
            Entry::CharDev { mode, major, minor } => (S_IFCHR | mode, 1, (*major, *minor), &[]),
        };
        push_entry(
            &mut out,
            &Header {
                ino,
                mode,
                nlink,
                rdev,
                name,
                data,
            },
        );
    }
    push_entry(
        &mut out,
        &Header {
            ino: 0,
            mode: 0,
            nlink: 1,
            rdev: (0, 0),
            name: "TRAILER!!!",
            data: &[],
        },
    );
    out
}

#[cfg(test)]
mod tests {
    use crate::Archive;
    use std::process::Command;

    #[test]
    fn layout_of_one_file() {
        let mut a = Archive::default();
        a.add_file("/a", 0o644, b"hello".to_vec()).unwrap();
        let b = a.to_cpio();
        assert_eq!(&b[..6], b"070701");
        // ino 1, mode 0100644, uid, gid, nlink 1, mtime 0, size 5
        assert_eq!(
            &b[6..62],
            b"00000001000081a40000000000000000000000010000000000000005"
        );
        assert_eq!(&b[110..112], b"a\0");
        assert_eq!(&b[112..117], b"hello");
        // The trailer: header (110) + "TRAILER!!!\0" (11) padded to 124, no data.
        assert_eq!(&b[b.len() - 14..b.len() - 3], b"TRAILER!!!\0");
        assert_eq!(b.len() % 4, 0);
    }

    /// GNU cpio (if installed) lists exactly our entries with the right types.
    #[test]
    fn gnu_cpio_reads_it() {
        if Command::new("cpio").arg("--version").output().is_err() {
            eprintln!("SKIPPED: GNU cpio not installed");
            return;
        }
        let mut a = Archive::new();
        a.add_file("/init", 0o755, b"#!x".to_vec()).unwrap();
        a.add_symlink("/bin/sh", "/init").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("i.cpio");
        std::fs::write(&img, a.to_cpio()).unwrap();
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("cpio -itv < {}", img.display()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listing = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = listing.lines().collect();
        assert_eq!(lines.len(), 5, "{listing}");
        assert!(lines[0].starts_with("drwxr-xr-x") && lines[0].ends_with(" bin"));
        assert!(lines[1].starts_with("lrwxrwxrwx") && lines[1].ends_with("bin/sh -> /init"));
        assert!(lines[3].starts_with("crw-------") && lines[3].ends_with("dev/console"));
        assert!(lines[4].starts_with("-rwxr-xr-x") && lines[4].ends_with(" init"));
    }
}
