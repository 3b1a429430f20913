//! The Microdroid vendor DICE node, derived in-process with the measurement taken from
//! the on-disk vbmeta *before* dm-verity is set up (as AOSP does), into
//! `/microdroid_resources/dice_chain.raw` on a private tmpfs (DESIGN §1, §4.2); and the
//! strict-boot wait for the driver (AOSP `InitPlatformDevice("open-dice0")`, DESIGN §9).

use std::path::Path;
use std::time::{Duration, Instant};

use avb::{HashtreeDescriptor, VerifiedVbmeta};
use dice_vendor::{ParentKind, VendorMeasurement};

use crate::fatal::{Fatal, Reason};

/// The tmpfs the payload manager reads the chain from (mounted by the early mounts).
pub const RESOURCES_DIR: &str = "/microdroid_resources";
/// The output file inside it.
pub const CHAIN_FILE: &str = "dice_chain.raw";
/// The DICE driver node.
pub const DRIVER: &str = "/dev/open-dice0";
/// How long strict boot waits for the driver node (AOSP: 10 s).
pub const DRIVER_TIMEOUT: Duration = Duration::from_secs(10);

/// Strict boot: waits (polling) up to `timeout` for the driver node at `driver`, which may
/// come from a first-stage module (GKI builds the driver as one). Absent at the end, the
/// boot stops with `DICE_DRIVER_MISSING`: a protected VM never uses the sample chain.
pub fn wait_for_driver(driver: &Path, timeout: Duration) -> Result<Duration, Fatal> {
    let start = Instant::now();
    loop {
        if driver.try_exists().unwrap_or(false) {
            return Ok(start.elapsed());
        }
        if start.elapsed() >= timeout {
            return Err(Fatal::new(
                Reason::DiceDriverMissing,
                format!(
                    "DICE driver {} is absent after {} ms and strict boot forbids the sample chain",
                    driver.display(),
                    timeout.as_millis()
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_wait() {
        let d = tempfile::tempdir().unwrap();
        let node = d.path().join("open-dice0");
        let t = Instant::now();
        let e = wait_for_driver(&node, Duration::from_millis(30)).unwrap_err();
        assert!(t.elapsed() >= Duration::from_millis(30));
        assert_eq!(e.reason, Reason::DiceDriverMissing);
        assert!(e.detail.contains("absent after 30 ms"), "{}", e.detail);
        std::fs::write(&node, b"").unwrap();
        assert!(wait_for_driver(&node, Duration::ZERO).is_ok());
    }
}
