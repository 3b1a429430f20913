//! The crate's only OS calls: reading the driver's region size, mapping the region,
//! writing `wipe`, and unmounting `/microdroid_resources` after the payload's node is
//! derived. Each is a small safe wrapper; the two `unsafe` calls are here.

use std::ffi::c_void;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::num::NonZeroUsize;
use std::path::Path;
use std::ptr::NonNull;

use nix::sys::mman::{mmap, munmap, MapFlags, ProtFlags};

/// Reads the native-endian `u64` the open-dice driver returns from `read()`.
pub fn read_region_size(file: &mut File) -> io::Result<u64> {
    let mut size = [0u8; 8];
    file.read_exact(&mut size)?;
    Ok(u64::from_ne_bytes(size))
}

/// Writes `wipe` to the driver (which zeroes its region). The node is opened write-only,
/// without `O_CREAT`/`O_TRUNC`: on a regular file standing in for the device this just
/// overwrites the first four bytes.
pub fn write_wipe(path: &Path) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).open(path)?;
    file.write_all(b"wipe")
}

/// `umount2(path, MNT_DETACH)`.
pub fn umount_detach(path: &Path) -> io::Result<()> {
    nix::mount::umount2(path, nix::mount::MntFlags::MNT_DETACH).map_err(io::Error::from)
}

/// A read-only private mapping, unmapped on drop.
pub struct Mapping {
    addr: NonNull<c_void>,
    len: NonZeroUsize,
}

impl Mapping {
    /// Maps the first `len` bytes of `file` with `PROT_READ`, `MAP_PRIVATE`.
    pub fn map_readonly(file: &File, len: NonZeroUsize) -> io::Result<Mapping> {
        // SAFETY: a fresh mapping at a kernel-chosen address cannot alias any Rust object;
        // it is read-only and only ever exposed as `&[u8]` borrowed from `self`.
        let addr = unsafe {
            mmap(
                None,
                len,
                ProtFlags::PROT_READ,
                MapFlags::MAP_PRIVATE,
                file,
                0,
            )
        }
        .map_err(io::Error::from)?;
        Ok(Mapping { addr, len })
    }

    /// The mapped bytes.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `addr` points to `len` readable bytes mapped by `map_readonly` and kept
        // mapped until `self` is dropped, which the returned borrow cannot outlive.
        unsafe { std::slice::from_raw_parts(self.addr.as_ptr().cast::<u8>(), self.len.get()) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the region was mapped by `map_readonly` and no borrow of it outlives `self`.
        if let Err(e) = unsafe { munmap(self.addr, self.len.get()) } {
            log::warn!("munmap of the DICE region failed: {e}");
        }
    }
}
