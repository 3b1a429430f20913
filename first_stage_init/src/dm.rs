//! Device-mapper through its ioctl interface on `/dev/mapper/control` (no dmsetup, no
//! libdevmapper): the `struct dm_ioctl` buffers for DM_DEV_CREATE, DM_TABLE_LOAD,
//! DM_DEV_SUSPEND (resume) and DM_DEV_REMOVE, built and checked here; the ioctl call
//! itself is in [`crate::sys`].
//!
//! Layout (linux/dm-ioctl.h, interface version 4): a 312-byte `struct dm_ioctl` header
//! (`version[3]`, `data_size`, `data_start`, `target_count`, `open_count`, `flags`,
//! `event_nr`, `padding`, `dev`, `name[128]`, `uuid[129]`, `data[7]`), followed for
//! DM_TABLE_LOAD by one 40-byte `struct dm_target_spec` (`sector_start`, `length`,
//! `status`, `next`, `target_type[16]`) and the NUL-terminated parameter string, padded
//! to 8 bytes.

use std::fmt;

/// `sizeof(struct dm_ioctl)`.
pub const DM_IOCTL_SIZE: usize = 312;
/// `sizeof(struct dm_target_spec)`.
pub const DM_TARGET_SPEC_SIZE: usize = 40;
/// `DM_NAME_LEN`.
pub const DM_NAME_LEN: usize = 128;
/// `DM_UUID_LEN`.
pub const DM_UUID_LEN: usize = 129;
/// The interface version we speak (4.0.0: the kernel accepts any 4.x minor).
pub const DM_VERSION: [u32; 3] = [4, 0, 0];

/// `DM_READONLY_FLAG`.
pub const DM_READONLY_FLAG: u32 = 1 << 0;
/// `DM_SUSPEND_FLAG` (absent in a DM_DEV_SUSPEND request = resume).
pub const DM_SUSPEND_FLAG: u32 = 1 << 1;

/// The device-mapper commands we use (the `nr` of `_IOWR(0xfd, nr, struct dm_ioctl)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// DM_DEV_CREATE.
    DevCreate = 3,
    /// DM_DEV_REMOVE.
    DevRemove = 4,
    /// DM_DEV_SUSPEND (suspend or resume).
    DevSuspend = 6,
    /// DM_TABLE_LOAD.
    TableLoad = 9,
}

impl Command {
    /// The ioctl request number: `_IOWR(DM_IOCTL=0xfd, nr, struct dm_ioctl)`.
    pub fn request(self) -> u64 {
        const IOC_READ_WRITE: u64 = 3;
        (IOC_READ_WRITE << 30) | ((DM_IOCTL_SIZE as u64) << 16) | (0xfd << 8) | self as u64
    }
}

/// A device-mapper target line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// First sector.
    pub start_sector: u64,
    /// Length in 512-byte sectors.
    pub length_sectors: u64,
    /// Target type (`verity`).
    pub target_type: String,
    /// The target's parameter string.
    pub params: String,
}

/// A request that cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// Name or uuid too long or containing NUL.
    #[error("device-mapper {field} {value:?} is empty, too long or contains NUL")]
    BadString {
        /// `name`, `uuid` or `target_type`.
        field: &'static str,
        /// The offending value.
        value: String,
    },
    /// The request does not fit the header's 32-bit `data_size`.
    #[error("device-mapper request of {size} bytes is too large")]
    TooLarge {
        /// The bytes the request needs.
        size: usize,
    },
}

fn put_u32(buf: &mut [u8], at: usize, v: u32) {
    buf[at..at + 4].copy_from_slice(&v.to_ne_bytes());
}

fn put_u64(buf: &mut [u8], at: usize, v: u64) {
    buf[at..at + 8].copy_from_slice(&v.to_ne_bytes());
}

fn get_u32(buf: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&buf[at..at + 4]);
    u32::from_ne_bytes(b)
}

fn get_u64(buf: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[at..at + 8]);
    u64::from_ne_bytes(b)
}

fn put_str(
    buf: &mut [u8],
    at: usize,
    cap: usize,
    field: &'static str,
    s: &str,
    allow_empty: bool,
) -> Result<(), EncodeError> {
    // The field must keep a terminating NUL.
    if s.len() >= cap || s.contains('\0') || (!allow_empty && s.is_empty()) {
        return Err(EncodeError::BadString {
            field,
            value: s.to_owned(),
        });
    }
    buf[at..at + s.len()].copy_from_slice(s.as_bytes());
    Ok(())
}

const OFF_DATA_SIZE: usize = 12;
const OFF_DATA_START: usize = 16;
const OFF_TARGET_COUNT: usize = 20;
const OFF_FLAGS: usize = 28;
const OFF_DEV: usize = 40;
const OFF_NAME: usize = 48;
const OFF_UUID: usize = OFF_NAME + DM_NAME_LEN;

/// A `struct dm_ioctl` request buffer (with room for the kernel's reply).
///
/// The buffer is private: the only way to hand it to the kernel is
/// [`crate::sys::dm_ioctl`], which stamps `data_size` from the buffer's own length right
/// before the call, so safe code cannot make the kernel read or write past it.
///
/// ```compile_fail
/// let mut r = first_stage_init::dm::Request::create("x", "").unwrap();
/// r.as_mut_bytes()[12] = 0xff; // no mutable access to the raw header
/// ```
///
/// ```compile_fail
/// let control = std::fs::File::open("/dev/mapper/control").unwrap();
/// let mut buf = [0u8; 16];
/// // A bare byte buffer is not a request.
/// first_stage_init::sys::dm_ioctl(&control, first_stage_init::dm::Command::DevCreate, &mut buf);
/// ```
pub struct Request {
    buf: Vec<u8>,
}

impl Request {
    fn header(name: &str, uuid: &str, flags: u32, extra: usize) -> Result<Request, EncodeError> {
        // Leave room for the kernel to write status back into the data area.
        let size = DM_IOCTL_SIZE + extra.max(1024);
        let data_size = u32::try_from(size).map_err(|_| EncodeError::TooLarge { size })?;
        let mut buf = vec![0u8; size];
        for (i, v) in DM_VERSION.iter().enumerate() {
            put_u32(&mut buf, i * 4, *v);
        }
        put_u32(&mut buf, OFF_DATA_SIZE, data_size);
        put_u32(&mut buf, OFF_DATA_START, DM_IOCTL_SIZE as u32);
        put_u32(&mut buf, OFF_FLAGS, flags);
        put_str(&mut buf, OFF_NAME, DM_NAME_LEN, "name", name, false)?;
        put_str(&mut buf, OFF_UUID, DM_UUID_LEN, "uuid", uuid, true)?;
        Ok(Request { buf })
    }

    /// DM_DEV_CREATE of an empty device `name` (with `uuid`, may be empty).
    pub fn create(name: &str, uuid: &str) -> Result<Request, EncodeError> {
        Request::header(name, uuid, 0, 0)
    }

    /// DM_TABLE_LOAD of one target into the inactive table of `name`.
    pub fn load_table(name: &str, target: &Target, readonly: bool) -> Result<Request, EncodeError> {
        let params_len = target.params.len() + 1;
        let spec_len = (DM_TARGET_SPEC_SIZE + params_len).next_multiple_of(8);
        let flags = if readonly { DM_READONLY_FLAG } else { 0 };
        let mut r = Request::header(name, "", flags, spec_len)?;
        put_u32(&mut r.buf, OFF_TARGET_COUNT, 1);
        if target.params.contains('\0') {
            return Err(EncodeError::BadString {
                field: "params",
                value: target.params.clone(),
            });
        }
        let s = DM_IOCTL_SIZE;
        put_u64(&mut r.buf, s, target.start_sector);
        put_u64(&mut r.buf, s + 8, target.length_sectors);
        // status (s + 16) stays 0; `next` is the offset to the following spec, or the
        // end of this one for the last spec.
        put_u32(&mut r.buf, s + 20, spec_len as u32);
        put_str(
            &mut r.buf,
            s + 24,
            16,
            "target_type",
            &target.target_type,
            false,
        )?;
        let p = s + DM_TARGET_SPEC_SIZE;
        r.buf[p..p + target.params.len()].copy_from_slice(target.params.as_bytes());
        Ok(r)
    }

    /// DM_DEV_SUSPEND without DM_SUSPEND_FLAG: makes the loaded table live.
    pub fn resume(name: &str) -> Result<Request, EncodeError> {
        Request::header(name, "", 0, 0)
    }

    /// DM_DEV_REMOVE of `name`.
    pub fn remove(name: &str) -> Result<Request, EncodeError> {
        Request::header(name, "", 0, 0)
    }

    /// The buffer for the kernel, its `data_size` field set to the buffer's length (the
    /// kernel reads and writes at most `data_size` bytes). Only [`crate::sys::dm_ioctl`]
    /// uses it, immediately.
    pub(crate) fn kernel_buffer(&mut self) -> &mut [u8] {
        // The constructors keep the length within u32 (checked in `header`).
        let len = u32::try_from(self.buf.len()).unwrap_or(u32::MAX);
        put_u32(&mut self.buf, OFF_DATA_SIZE, len);
        &mut self.buf
    }

    /// The raw request bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The `dev` field the kernel returned (huge-encoded dev_t) as (major, minor).
    pub fn dev(&self) -> (u32, u32) {
        decode_dev(get_u64(&self.buf, OFF_DEV))
    }

    /// The `flags` field (after the call: what the kernel reported).
    pub fn flags(&self) -> u32 {
        get_u32(&self.buf, OFF_FLAGS)
    }
}

/// Decodes the kernel's `huge_encode_dev` dev_t into (major, minor).
pub fn decode_dev(dev: u64) -> (u32, u32) {
    let major = ((dev >> 8) & 0xfff) as u32;
    let minor = ((dev & 0xff) | ((dev >> 12) & 0xfff00)) as u32;
    (major, minor)
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "dm_ioctl request ({} bytes)", self.buf.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioctl_numbers_match_the_kernel_header() {
        // _IOWR(0xfd, 3, struct dm_ioctl) with sizeof == 312 (0x138).
        assert_eq!(Command::DevCreate.request(), 0xc138_fd03);
        assert_eq!(Command::DevRemove.request(), 0xc138_fd04);
        assert_eq!(Command::DevSuspend.request(), 0xc138_fd06);
        assert_eq!(Command::TableLoad.request(), 0xc138_fd09);
    }

    #[test]
    fn table_load_layout() {
        let t = Target {
            start_sector: 0,
            length_sectors: 2048,
            target_type: "verity".into(),
            params: "1 254:1 254:1 4096 4096 256 256 sha256 ab cd 0".into(),
        };
        let r = Request::load_table("vendor-verity", &t, true).unwrap();
        let b = r.bytes();
        assert_eq!(get_u32(b, 0), 4);
        assert_eq!(get_u32(b, OFF_DATA_SIZE) as usize, b.len());
        assert_eq!(get_u32(b, OFF_DATA_START) as usize, DM_IOCTL_SIZE);
        assert_eq!(get_u32(b, OFF_TARGET_COUNT), 1);
        assert_eq!(get_u32(b, OFF_FLAGS), DM_READONLY_FLAG);
        assert_eq!(&b[OFF_NAME..OFF_NAME + 14], b"vendor-verity\0");
        let s = DM_IOCTL_SIZE;
        assert_eq!(get_u64(b, s + 8), 2048);
        let next = get_u32(b, s + 20) as usize;
        assert_eq!(next % 8, 0);
        assert!(next > DM_TARGET_SPEC_SIZE + t.params.len());
        assert_eq!(&b[s + 24..s + 31], b"verity\0");
        let p = &b[s + 40..s + 40 + t.params.len() + 1];
        assert_eq!(&p[..t.params.len()], t.params.as_bytes());
        assert_eq!(p[t.params.len()], 0);
    }

    #[test]
    fn the_kernel_buffer_always_carries_its_own_length() {
        let t = Target {
            start_sector: 0,
            length_sectors: 8,
            target_type: "verity".into(),
            params: "p".repeat(5000),
        };
        for mut r in [
            Request::create("a", "u").unwrap(),
            Request::load_table("a", &t, true).unwrap(),
            Request::resume("a").unwrap(),
            Request::remove("a").unwrap(),
        ] {
            let len = r.bytes().len();
            assert!(len >= DM_IOCTL_SIZE + 1024);
            let buf = r.kernel_buffer();
            assert_eq!(get_u32(buf, OFF_DATA_SIZE) as usize, len);
            assert_eq!(buf.len(), len);
        }
    }

    #[test]
    fn rejects_bad_names() {
        assert!(Request::create("", "").is_err());
        assert!(Request::create(&"x".repeat(128), "").is_err());
        assert!(Request::create("a\0b", "").is_err());
        assert!(Request::create(&"x".repeat(127), &"u".repeat(128)).is_ok());
        let t = Target {
            start_sector: 0,
            length_sectors: 1,
            target_type: "a-very-long-target-type".into(),
            params: String::new(),
        };
        assert!(Request::load_table("v", &t, true).is_err());
    }

    #[test]
    fn decodes_huge_dev() {
        // huge_encode_dev: minor's low byte, 12 bits of major, then minor's high bits.
        assert_eq!(decode_dev(0xfe00), (254, 0));
        let enc = |ma: u64, mi: u64| (mi & 0xff) | ((ma & 0xfff) << 8) | ((mi & !0xff) << 12);
        assert_eq!(decode_dev(enc(253, 300)), (253, 300));
    }
}

/// A device-mapper step that failed.
#[derive(Debug, thiserror::Error)]
pub enum DmError {
    /// The request could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The kernel refused a command.
    #[error("{cmd:?} {name}: {source}")]
    Ioctl {
        /// The command.
        cmd: Command,
        /// The device name.
        name: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// Creates device `name` with one `target`, makes it live, and returns its
/// (major, minor). On any failure after creation the half-made device is removed again.
pub fn create_device(
    p: &dyn crate::platform::Platform,
    dev_root: &std::path::Path,
    name: &str,
    uuid: &str,
    target: &Target,
    readonly: bool,
) -> Result<(u32, u32), DmError> {
    let ioctl = |cmd: Command, req: &mut Request| {
        p.dm(dev_root, cmd, req).map_err(|source| DmError::Ioctl {
            cmd,
            name: name.to_owned(),
            source,
        })
    };
    let mut create = Request::create(name, uuid)?;
    ioctl(Command::DevCreate, &mut create)?;
    let made = (|| {
        let mut load = Request::load_table(name, target, readonly)?;
        ioctl(Command::TableLoad, &mut load)?;
        let mut resume = Request::resume(name)?;
        ioctl(Command::DevSuspend, &mut resume)?;
        Ok::<_, DmError>(resume.dev())
    })();
    if made.is_err() {
        remove_device(p, dev_root, name);
    }
    made
}

/// Removes device `name` after a failed setup (DM_DEV_REMOVE); a failure to remove is
/// logged, as the setup's own error is the one to report.
pub fn remove_device(p: &dyn crate::platform::Platform, dev_root: &std::path::Path, name: &str) {
    let removed = Request::remove(name)
        .map_err(|e| e.to_string())
        .and_then(|mut rm| {
            p.dm(dev_root, Command::DevRemove, &mut rm)
                .map_err(|e| e.to_string())
        });
    if let Err(e) = removed {
        log::warn!("removing half-made device-mapper device {name}: {e}");
    }
}

#[cfg(test)]
mod create_tests {
    use super::*;
    use crate::platform::{Op, Recorder};
    use std::path::Path;

    fn target() -> Target {
        Target {
            start_sector: 0,
            length_sectors: 8,
            target_type: "verity".into(),
            params: "x".into(),
        }
    }

    #[test]
    fn create_load_resume() {
        let r = Recorder::default();
        create_device(&r, Path::new("/dev"), "vendor-verity", "", &target(), true).unwrap();
        let cmds: Vec<Command> = r
            .take()
            .into_iter()
            .filter_map(|o| match o {
                Op::Dm(c, _) => Some(c),
                _ => None,
            })
            .collect();
        assert_eq!(
            cmds,
            [Command::DevCreate, Command::TableLoad, Command::DevSuspend]
        );
    }

    #[test]
    fn failed_load_removes_the_device() {
        let r = Recorder {
            fail_dm: vec![Command::TableLoad],
            ..Default::default()
        };
        let e =
            create_device(&r, Path::new("/dev"), "vendor-verity", "", &target(), true).unwrap_err();
        assert!(
            e.to_string().starts_with("TableLoad vendor-verity: "),
            "{e}"
        );
        let cmds: Vec<Command> = r
            .take()
            .into_iter()
            .filter_map(|o| match o {
                Op::Dm(c, _) => Some(c),
                _ => None,
            })
            .collect();
        assert_eq!(
            cmds,
            [Command::DevCreate, Command::TableLoad, Command::DevRemove]
        );
    }
}
