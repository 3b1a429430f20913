//! The parent source: a regular file stands in for `/dev/open-dice0` (read the size, map,
//! parse, write `wipe`), the strict-boot error, and the sample fallback.

use std::path::Path;

use dice_vendor::{
    open_parent, sample_handover, DiceError, Handover, HandoverError, OpenDiceRegion,
};

const V1_PARENT: &[u8] =
    include_bytes!("../testdata/dice-vectors/v1_new_chain/parent_handover.cbor");

/// A file whose first eight bytes are both the region size and the start of the handover.
///
/// The real driver returns the size from `read()` and the handover from `mmap()` at offset 0;
/// a regular file gives the same bytes to both. open-dice's reader accepts non-minimal heads,
/// so the map head `bb 00 00 00 00 00 00 00 02` (a 2-pair map with an 8-byte count) reads as
/// the little-endian size 0xbb = 187, which covers the 79-byte handover; the rest is padding
/// (trailing bytes are ignored).
#[cfg(target_endian = "little")]
fn device_file(dir: &Path, pad: u8) -> std::path::PathBuf {
    let mut bytes = vec![0xbb, 0, 0, 0, 0, 0, 0, 0, 0x02];
    bytes.extend_from_slice(&V1_PARENT[1..]);
    bytes.resize(0xbb, pad);
    let path = dir.join("open-dice0");
    std::fs::write(&path, bytes).unwrap();
    path
}

#[cfg(target_endian = "little")]
#[test]
fn regular_file_stand_in_is_read_mapped_parsed_and_wiped() {
    let dir = tempfile::tempdir().unwrap();
    let path = device_file(dir.path(), 0x55);
    let region = OpenDiceRegion::open(&path).unwrap();
    let expected = Handover::parse(V1_PARENT).unwrap();
    assert_eq!(region.handover().cdi_attest(), expected.cdi_attest());
    assert_eq!(region.handover().cdi_seal(), expected.cdi_seal());
    assert_eq!(region.handover().chain(), None);
    // Not wiped until released.
    assert_eq!(std::fs::read(&path).unwrap()[0], 0xbb);
    region.release().unwrap();
    let after = std::fs::read(&path).unwrap();
    assert_eq!(&after[..4], b"wipe");
    assert_eq!(after.len(), 0xbb, "wipe does not truncate or create");
}

/// [`device_file`] with a third pair: a minimal chain `[h'', h'']` (83 bytes in all, so
/// it fits the 187-byte region the map head encodes).
#[cfg(target_endian = "little")]
fn device_file_with_chain(dir: &Path) -> std::path::PathBuf {
    let mut bytes = vec![0xbb, 0, 0, 0, 0, 0, 0, 0, 0x03];
    bytes.extend_from_slice(&V1_PARENT[1..]);
    bytes.extend_from_slice(&[0x03, 0x82, 0x40, 0x40]);
    bytes.resize(0xbb, 0);
    let path = dir.join("open-dice0");
    std::fs::write(&path, bytes).unwrap();
    path
}

#[cfg(target_endian = "little")]
#[test]
fn dropping_the_region_wipes_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = device_file_with_chain(dir.path());
    let parent = open_parent(&path, true).unwrap();
    assert!(!parent.is_sample());
    assert_eq!(parent.handover().chain(), Some(&[0x82, 0x40, 0x40][..]));
    drop(parent);
    assert_eq!(&std::fs::read(&path).unwrap()[..4], b"wipe");
}

/// AVF's driver refuses a parent without a chain ("bcc is none"); so do we, on every
/// boot, and the region is wiped all the same.
#[cfg(target_endian = "little")]
#[test]
fn a_driver_parent_without_a_chain_is_refused_and_wiped() {
    for strict in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let path = device_file(dir.path(), 0);
        let err = open_parent(&path, strict).unwrap_err();
        assert!(
            matches!(err, DiceError::HandoverInvalid(HandoverError::NoChain)),
            "{err}"
        );
        assert_eq!(err.reason(), "DICE_HANDOVER_INVALID");
        assert!(err.to_string().contains("bcc is none"), "{err}");
        assert_eq!(&std::fs::read(&path).unwrap()[..4], b"wipe");
    }
}

#[cfg(target_endian = "little")]
#[test]
fn invalid_region_is_handover_invalid_and_still_wiped() {
    let dir = tempfile::tempdir().unwrap();
    let path = device_file(dir.path(), 0);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[9] = 0x02; // CDI_Attest label 1 → 2
    std::fs::write(&path, &bytes).unwrap();
    let err = OpenDiceRegion::open(&path).unwrap_err();
    assert!(
        matches!(
            err,
            DiceError::HandoverInvalid(HandoverError::UnexpectedLabel { .. })
        ),
        "{err}"
    );
    assert_eq!(err.reason(), "DICE_HANDOVER_INVALID");
    assert_eq!(&std::fs::read(&path).unwrap()[..4], b"wipe");
}

#[test]
fn region_size_is_bounded_by_the_file_and_nonzero() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("open-dice0");
    for (size, file_len) in [(0u64, 64usize), (65, 64), (u64::MAX, 64)] {
        let mut bytes = size.to_ne_bytes().to_vec();
        bytes.resize(file_len, 0);
        std::fs::write(&path, &bytes).unwrap();
        let err = OpenDiceRegion::open(&path).unwrap_err();
        assert!(
            matches!(err, DiceError::HandoverInvalid(HandoverError::RegionSize { size: s, .. }) if s == size),
            "{err}"
        );
        assert_eq!(&std::fs::read(&path).unwrap()[..4], b"wipe");
    }
    // Shorter than the size field.
    std::fs::write(&path, [1, 2, 3]).unwrap();
    let err = OpenDiceRegion::open(&path).unwrap_err();
    assert!(
        matches!(
            err,
            DiceError::Driver {
                what: "read region size",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.reason(), "DICE_HANDOVER_INVALID");
}

#[test]
fn absent_driver_strict_is_driver_missing() {
    let dir = tempfile::tempdir().unwrap();
    let err = open_parent(&dir.path().join("open-dice0"), true).unwrap_err();
    assert!(matches!(err, DiceError::DriverMissing { .. }));
    assert_eq!(err.reason(), "DICE_DRIVER_MISSING");
    assert!(
        !dir.path().join("open-dice0").exists(),
        "the wipe must not create the node"
    );
}

#[test]
fn absent_driver_non_strict_is_the_sample_chain() {
    let dir = tempfile::tempdir().unwrap();
    let parent = open_parent(&dir.path().join("open-dice0"), false).unwrap();
    assert!(parent.is_sample());
    assert_eq!(
        &parent.handover().to_bytes()[..],
        &sample_handover().unwrap()[..]
    );
    parent.release().unwrap();
}

#[test]
fn unreadable_path_is_a_driver_error() {
    let dir = tempfile::tempdir().unwrap();
    // A directory exists but cannot be read as the driver.
    let err = open_parent(dir.path(), true).unwrap_err();
    assert!(matches!(err, DiceError::Driver { .. }), "{err}");
}

#[cfg(target_endian = "little")]
#[test]
fn region_larger_than_one_mib_is_refused_before_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("open-dice0");
    // A file large enough for the size it claims: only the cap can refuse it.
    for (size, accepted) in [
        ((1u64 << 20) + 1, false),
        (16 << 20, false),
        (1 << 20, true),
    ] {
        let mut bytes = size.to_ne_bytes().to_vec();
        bytes.resize(usize::try_from(size).unwrap(), 0);
        std::fs::write(&path, &bytes).unwrap();
        let err = OpenDiceRegion::open(&path).unwrap_err();
        let is_size = matches!(
            err,
            DiceError::HandoverInvalid(HandoverError::RegionSize { size: s, limit }) if s == size && limit == 1 << 20
        );
        // At the cap the size passes and the (zero-padded) content is what fails.
        assert_eq!(is_size, !accepted, "{size}: {err}");
        assert_eq!(&std::fs::read(&path).unwrap()[..4], b"wipe");
    }
}
