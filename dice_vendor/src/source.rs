//! Where the parent handover comes from: the open-dice driver (`/dev/open-dice0`) or, when
//! it is absent and boot is not strict, AOSP's sample chain.
//!
//! The driver protocol (Linux `drivers/misc/open-dice.c`, AVF `libs/dice/driver`):
//! `read()` returns the region size as a native-endian `u64`; the region is mapped
//! read-only and private from offset 0 and holds the handover (trailing bytes ignored);
//! writing anything (AVF writes `wipe`) makes the driver zero the region. Here the mapping
//! and the wipe are owned by an RAII guard: whatever path is taken after the device was
//! opened — parse failure, derivation failure, panic-free early return or success — the
//! region is unmapped and the driver wiped exactly once.

use std::fs::File;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use crate::error::DiceError;
use crate::handover::{Handover, HandoverError};
use crate::sys::{self, Mapping};

/// The driver node the guest uses.
pub const DEFAULT_DEVICE: &str = "/dev/open-dice0";

/// Largest region accepted. The real region is a few pages (a handover is two CDIs and a
/// chain of a handful of certificates of a few hundred bytes each); 1 MiB bounds what a
/// hostile host can make PID 1 map and copy.
pub const MAX_REGION_SIZE: u64 = 1 << 20;

/// Unmaps the region and wipes the driver, once.
struct RegionGuard {
    path: PathBuf,
    mapping: Option<Mapping>,
    released: bool,
}

impl RegionGuard {
    fn release(&mut self) -> Result<(), DiceError> {
        if std::mem::replace(&mut self.released, true) {
            return Ok(());
        }
        drop(self.mapping.take());
        sys::write_wipe(&self.path).map_err(|source| DiceError::Driver {
            path: self.path.clone(),
            what: "write wipe",
            source,
        })
    }
}

impl Drop for RegionGuard {
    fn drop(&mut self) {
        if let Err(e) = self.release() {
            log::warn!("{e}");
        }
    }
}

/// The driver's region, parsed. Dropping it (or [`OpenDiceRegion::release`]) unmaps the
/// region and writes `wipe` to the driver.
pub struct OpenDiceRegion {
    guard: RegionGuard,
    handover: Handover,
}

impl std::fmt::Debug for OpenDiceRegion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenDiceRegion")
            .field("path", &self.guard.path)
            .field("handover", &self.handover)
            .finish()
    }
}

impl OpenDiceRegion {
    /// Opens the driver at `path`: reads the region size, maps the region and parses the
    /// handover (copied into owned, zeroize-on-drop buffers). A regular file works as a
    /// stand-in: its first eight bytes are read as the size, then its first `size` bytes
    /// are mapped; the size must not exceed the file.
    pub fn open(path: &Path) -> Result<OpenDiceRegion, DiceError> {
        let driver = |what: &'static str| {
            move |source| DiceError::Driver {
                path: path.to_path_buf(),
                what,
                source,
            }
        };
        let mut file = File::open(path).map_err(driver("open"))?;
        // From here on every exit unmaps and wipes.
        let mut guard = RegionGuard {
            path: path.to_path_buf(),
            mapping: None,
            released: false,
        };
        let size = sys::read_region_size(&mut file).map_err(driver("read region size"))?;
        let metadata = file.metadata().map_err(driver("fstat"))?;
        let limit = if metadata.is_file() {
            metadata.len().min(MAX_REGION_SIZE)
        } else {
            MAX_REGION_SIZE
        };
        let len = usize::try_from(size)
            .ok()
            .filter(|_| size <= limit)
            .and_then(NonZeroUsize::new)
            .ok_or(HandoverError::RegionSize { size, limit })?;
        let mapping = guard
            .mapping
            .insert(Mapping::map_readonly(&file, len).map_err(driver("mmap"))?);
        let handover = Handover::parse(mapping.bytes())?;
        Ok(OpenDiceRegion { guard, handover })
    }

    /// The parsed handover.
    pub fn handover(&self) -> &Handover {
        &self.handover
    }

    /// Unmaps the region and wipes the driver, reporting a failed wipe.
    pub fn release(mut self) -> Result<(), DiceError> {
        self.guard.release()
    }
}

/// The parent of the vendor node.
#[derive(Debug)]
pub enum ParentSource {
    /// The driver's handover (wiped when released or dropped).
    Device(OpenDiceRegion),
    /// AOSP's sample chain (non-strict boot without a driver).
    Sample(Handover),
}

impl ParentSource {
    /// The parent handover.
    pub fn handover(&self) -> &Handover {
        match self {
            ParentSource::Device(region) => region.handover(),
            ParentSource::Sample(handover) => handover,
        }
    }

    /// Whether this is the sample fallback.
    pub fn is_sample(&self) -> bool {
        matches!(self, ParentSource::Sample(_))
    }

    /// Finishes with the parent: for the device, unmaps and wipes (reporting a failed wipe).
    pub fn release(self) -> Result<(), DiceError> {
        match self {
            ParentSource::Device(region) => region.release(),
            ParentSource::Sample(_) => Ok(()),
        }
    }
}

/// Opens the parent handover: the driver at `device_path` when it exists (its handover
/// must carry a DICE chain: [`HandoverError::NoChain`]); otherwise an error under strict
/// boot ([`DiceError::DriverMissing`]) or the sample chain with a warning.
pub fn open_parent(device_path: &Path, strict_boot: bool) -> Result<ParentSource, DiceError> {
    let exists = device_path
        .try_exists()
        .map_err(|source| DiceError::Driver {
            path: device_path.to_path_buf(),
            what: "stat",
            source,
        })?;
    if exists {
        let region = OpenDiceRegion::open(device_path)?;
        // As AVF's `DiceDriver::derive` ("bcc is none"): a parent without a chain is
        // refused, not made the root of a new one. Dropping the region wipes it.
        if region.handover().chain().is_none() {
            return Err(HandoverError::NoChain.into());
        }
        return Ok(ParentSource::Device(region));
    }
    if strict_boot {
        return Err(DiceError::DriverMissing {
            path: device_path.to_path_buf(),
        });
    }
    log::warn!(
        "{} is absent and boot is not strict: using the AOSP sample DICE chain (not a real attestation)",
        device_path.display()
    );
    Ok(ParentSource::Sample(
        crate::sample::sample_handover_parsed()?
    ))
}

/// The encoded handover of AOSP's sample chain (equal to known-answer vector v5 step 3).
pub fn sample_handover() -> Result<Vec<u8>, DiceError> {
    Ok(crate::sample::sample_handover_parsed()?.to_bytes().to_vec())
}
