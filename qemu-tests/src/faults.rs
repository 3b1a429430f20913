//! Disks that misbehave, for the fault-injection boots (`tests/faults.rs`): a disk whose
//! reads of chosen sectors fail with `EIO` (QEMU's `blkdebug` driver), a disk throttled
//! to a byte rate (QEMU's block throttling), and a vendor GPT disk built but not yet
//! attached (to attach it in one of those ways, or to hot-plug it).
//!
//! The drives go on the QEMU command line after the guest's ordinary disks
//! ([`Guest::qemu_args`]), each as a `virtio-blk-pci` device.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use vendor_image::{PartitionPlacement, VendorImageInfo};

use crate::error::{io, HarnessError};
use crate::scenario::{Guest, VendorOptions, VendorTree};

/// A signed vendor image on a GPT disk of its own, not attached to the guest.
#[derive(Debug, Clone)]
pub struct VendorDisk {
    /// The raw GPT disk image.
    pub disk: PathBuf,
    /// The image facts (offsets inside the partition).
    pub info: VendorImageInfo,
    /// Where the `microdroid-vendor` partition sits on the disk.
    pub partition: PartitionPlacement,
}

impl VendorDisk {
    /// The disk sector (512 bytes) holding byte `offset` of the partition.
    pub fn sector_of(&self, offset: u64) -> u64 {
        (self.partition.offset_bytes + offset) / 512
    }
}

/// Builds the vendor image of `tree` (at `work/vendor.img`), puts it on a GPT disk at
/// `work/<name>-disk.img` and its digest in the device tree, without attaching the disk.
pub fn vendor_disk(
    g: &mut Guest,
    tree: &VendorTree,
    opts: &VendorOptions,
    name: &str,
) -> Result<VendorDisk, HarnessError> {
    let (img, info) = g.build_vendor(tree, opts)?;
    let disk = g.work.path().join(format!("{name}-disk.img"));
    let placements = vendor_image::make_gpt_disk(
        &disk,
        &[(vendor_image::DEFAULT_PARTITION_NAME, img.as_path())],
    )
    .map_err(|e| HarnessError::Missing(format!("vendor GPT disk: {e}")))?;
    let partition = placements
        .into_iter()
        .next()
        .ok_or_else(|| HarnessError::Missing("vendor GPT disk has no partition".into()))?;
    g.vendor_digest(info.root_digest_hex.as_bytes());
    Ok(VendorDisk {
        disk,
        info,
        partition,
    })
}

/// A `-drive` id not used yet on this guest's extra arguments.
fn next_drive_id(g: &Guest, prefix: &str) -> String {
    let n = g.qemu_args.iter().filter(|a| *a == "-drive").count();
    format!("{prefix}{n}")
}

fn attach(g: &mut Guest, drive: String, id: &str) {
    g.qemu_args.extend([
        "-drive".to_owned(),
        drive,
        "-device".to_owned(),
        format!("virtio-blk-pci,drive={id}"),
    ]);
}

/// Attaches `disk` read-only through `blkdebug`: every read that touches one of
/// `sectors` fails with `EIO`, every time (the guest sees an I/O error from its virtio
/// disk, QEMU's default `rerror=report`). Returns the rules file it wrote.
pub fn attach_with_eio(
    g: &mut Guest,
    disk: &Path,
    sectors: &[u64],
) -> Result<PathBuf, HarnessError> {
    let id = next_drive_id(g, "eio");
    let rules = g.work.path().join(format!("{id}.blkdebug"));
    let mut text = String::new();
    for sector in sectors {
        // blkdebug's rule format: one [inject-error] section per failing sector.
        let _ = write!(
            text,
            "[inject-error]\nevent = \"read_aio\"\nerrno = \"5\"\nsector = \"{sector}\"\nonce = \"off\"\n\n"
        );
    }
    std::fs::write(&rules, text).map_err(io(format!("write {}", rules.display())))?;
    let drive = format!(
        "file=blkdebug:{}:{},format=raw,if=none,id={id},readonly=on",
        rules.display(),
        disk.display()
    );
    attach(g, drive, &id);
    Ok(rules)
}

/// Attaches `disk` read-only, throttled to `bytes_per_second` (reads and writes
/// together).
pub fn attach_throttled(g: &mut Guest, disk: &Path, bytes_per_second: u64) {
    let id = next_drive_id(g, "slow");
    let drive = format!(
        "file={},format=raw,if=none,id={id},readonly=on,throttling.bps-total={bytes_per_second}",
        disk.display()
    );
    attach(g, drive, &id);
}
