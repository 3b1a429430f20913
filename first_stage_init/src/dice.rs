//! The Microdroid vendor DICE node, derived in-process from the on-disk vbmeta *before*
//! dm-verity is set up (as AOSP does), into `/microdroid_resources/dice_chain.raw` on a
//! private tmpfs (DESIGN §1, §4.2).

use std::path::Path;

use avb::{HashtreeDescriptor, VerifiedVbmeta};
use dice_vendor::{ParentKind, VendorMeasurement};

use crate::fatal::{Fatal, Reason};

/// The tmpfs the payload manager reads the chain from (mounted by the early mounts).
pub const RESOURCES_DIR: &str = "/microdroid_resources";
/// The output file inside it.
pub const CHAIN_FILE: &str = "dice_chain.raw";
/// The DICE driver node.
pub const DRIVER: &str = "/dev/open-dice0";

/// The vendor node's measurement: the vbmeta key, the hashtree root digest and the
/// rollback index (the same structures the verity step uses).
pub fn measurement<'a>(
    vbmeta: &'a VerifiedVbmeta,
    desc: &'a HashtreeDescriptor,
) -> VendorMeasurement<'a> {
    VendorMeasurement::from_vbmeta(vbmeta, desc)
}

/// Derives the node from the driver's handover (or, without a driver and without strict
/// boot, AOSP's sample chain) and writes `dice_chain.raw`; the driver is wiped.
pub fn derive(
    driver: &Path,
    strict_boot: bool,
    m: &VendorMeasurement<'_>,
    output: &Path,
) -> Result<ParentKind, Fatal> {
    dice_vendor::derive_and_write(driver, strict_boot, m, output).map_err(|e| {
        let reason = Reason::from_token(e.reason()).unwrap_or(Reason::DiceDerive);
        Fatal::new(reason, e.to_string())
    })
}
