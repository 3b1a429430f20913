//! The Microdroid vendor node: inputs as AVF derives them, a golden `dice_chain.raw`,
//! cross-checked with the verifier and by recomputing every measured field.

use std::os::unix::fs::PermissionsExt;

use dice_vendor::dice::attestation_key;
use dice_vendor::vendor::{vendor_config_descriptor, COMPONENT_NAME};
use dice_vendor::{
    derive_and_write, derive_vendor_node, main_flow, sample_handover, vendor_node_inputs,
    verify_chain_bytes, Config, DiceChainRaw, DiceError, Handover, Mode, ParentKind,
    VendorMeasurement,
};
use openssl::sha::sha512;

const KEY_BLOB: &[u8] = include_bytes!("../testdata/vendor/vbmeta_pubkey.bin");
const ROOT_DIGEST_HEX: &str = include_str!("../testdata/vendor/root_digest.hex");
const GOLDEN: &[u8] = include_bytes!("../testdata/vendor/dice_chain.raw");
const SAMPLE_CHAIN: &[u8] =
    include_bytes!("../testdata/dice-vectors/v5_aosp_sample_step3/expected_chain.cbor");

fn root_digest() -> Vec<u8> {
    avb::from_hex(ROOT_DIGEST_HEX.trim()).unwrap()
}

#[test]
fn inputs_follow_avf() {
    let digest = root_digest();
    let m = VendorMeasurement {
        public_key_blob: KEY_BLOB,
        root_digest: &digest,
        rollback_index: 3,
    };
    let input = vendor_node_inputs(&m);
    assert_eq!(input.code_hash, sha512(&digest));
    assert_eq!(input.authority_hash, sha512(KEY_BLOB));
    assert_eq!(input.mode, Mode::Normal);
    assert_eq!(input.hidden, [0; 64]);
    assert_eq!(input.code_descriptor, None);
    assert_eq!(input.authority_descriptor, None);
    // {-70002: "Microdroid vendor", -70005: 3}
    let mut expected = vec![0xa2, 0x3a, 0x00, 0x01, 0x11, 0x71, 0x71];
    expected.extend_from_slice(b"Microdroid vendor");
    expected.extend([0x3a, 0x00, 0x01, 0x11, 0x74, 0x03]);
    assert_eq!(input.config, Config::Descriptor(expected));
    // The security version is written even when zero, and as a full uint when large.
    assert!(vendor_config_descriptor(0).ends_with(&[0x3a, 0x00, 0x01, 0x11, 0x74, 0x00]));
    assert!(vendor_config_descriptor(u64::MAX)
        .ends_with(&[0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
}

#[test]
fn golden_dice_chain_raw() {
    let parent = Handover::parse(&sample_handover().unwrap()).unwrap();
    let digest = root_digest();
    let m = VendorMeasurement {
        public_key_blob: KEY_BLOB,
        root_digest: &digest,
        rollback_index: 3,
    };
    let node = derive_vendor_node(&parent, &m).unwrap();
    assert_eq!(&node.to_bytes()[..], GOLDEN);

    // Cross-check 1: the verifier accepts it (signatures, linkage, leaf key = CDI_Attest key).
    let summary = verify_chain_bytes(GOLDEN).unwrap();
    assert!(summary.has_cdis);
    assert_eq!(summary.nodes.len(), 4);
    let vendor = &summary.nodes[3];
    // Cross-check 2: recompute every measured field.
    assert_eq!(vendor.component_name.as_deref(), Some(COMPONENT_NAME));
    assert_eq!(vendor.component_version, None);
    assert_eq!(vendor.security_version, Some(3));
    assert_eq!(vendor.mode, Mode::Normal);
    assert_eq!(vendor.code_hash, sha512(&digest));
    assert_eq!(vendor.authority_hash, sha512(KEY_BLOB));
    assert_eq!(vendor.config_descriptor, vendor_config_descriptor(3));
    assert_eq!(vendor.profile_name.as_deref(), Some("android.16"));
    // The parent's entries are copied raw: the chain starts with the sample chain's entries.
    let raw = DiceChainRaw::from_bytes(GOLDEN).unwrap();
    assert_eq!(raw.bcc[0], 0x85);
    assert_eq!(&raw.bcc[1..SAMPLE_CHAIN.len()], &SAMPLE_CHAIN[1..]);
    // The CDIs are the main flow's, and the leaf key is the one derived from CDI_Attest.
    let next = main_flow(&parent, &vendor_node_inputs(&m)).unwrap();
    assert_eq!(next.cdi_attest(), &*raw.cdi_attest);
    assert_eq!(next.cdi_seal(), &*raw.cdi_seal);
    assert_eq!(
        attestation_key(&raw.cdi_attest).unwrap().public_key(),
        &vendor.subject_public_key
    );
    // The node is not debuggable-dependent and differs from the parent's CDIs.
    assert_ne!(raw.cdi_attest, parent.cdi_attest().to_owned().into());
}

#[test]
fn different_measurements_give_different_nodes() {
    let parent = Handover::parse(&sample_handover().unwrap()).unwrap();
    let digest = root_digest();
    let base = VendorMeasurement {
        public_key_blob: KEY_BLOB,
        root_digest: &digest,
        rollback_index: 3,
    };
    let a = derive_vendor_node(&parent, &base).unwrap();
    let b = derive_vendor_node(
        &parent,
        &VendorMeasurement {
            rollback_index: 4,
            ..base
        },
    )
    .unwrap();
    let c = derive_vendor_node(
        &parent,
        &VendorMeasurement {
            root_digest: &digest[1..],
            ..base
        },
    )
    .unwrap();
    let d = derive_vendor_node(
        &parent,
        &VendorMeasurement {
            public_key_blob: &KEY_BLOB[1..],
            ..base
        },
    )
    .unwrap();
    for other in [&b, &c, &d] {
        assert_ne!(a.cdi_attest, other.cdi_attest);
    }
    // The seal CDI covers authority, mode and hidden only: a new root digest or rollback
    // index keeps it, a new key changes it.
    assert_eq!(a.cdi_seal, b.cdi_seal);
    assert_eq!(a.cdi_seal, c.cdi_seal);
    assert_ne!(a.cdi_seal, d.cdi_seal);
}

#[test]
fn missing_key_or_digest_is_an_error() {
    let parent = Handover::parse(&sample_handover().unwrap()).unwrap();
    let digest = root_digest();
    let no_key = VendorMeasurement {
        public_key_blob: &[],
        root_digest: &digest,
        rollback_index: 0,
    };
    let err = derive_vendor_node(&parent, &no_key).unwrap_err();
    assert!(matches!(err, DiceError::Measurement(_)));
    assert_eq!(err.reason(), "DICE_DERIVE");
    let no_digest = VendorMeasurement {
        public_key_blob: KEY_BLOB,
        root_digest: &[],
        rollback_index: 0,
    };
    assert!(matches!(
        derive_vendor_node(&parent, &no_digest),
        Err(DiceError::Measurement(_))
    ));
}

#[test]
fn derive_and_write_with_the_sample_parent() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dice_chain.raw");
    let digest = root_digest();
    let m = VendorMeasurement {
        public_key_blob: KEY_BLOB,
        root_digest: &digest,
        rollback_index: 3,
    };
    let kind = derive_and_write(&dir.path().join("open-dice0"), false, &m, &out).unwrap();
    assert_eq!(kind, ParentKind::Sample);
    assert_eq!(std::fs::read(&out).unwrap(), GOLDEN);
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn derive_and_write_strict_without_driver_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("dice_chain.raw");
    let digest = root_digest();
    let m = VendorMeasurement {
        public_key_blob: KEY_BLOB,
        root_digest: &digest,
        rollback_index: 3,
    };
    let err = derive_and_write(&dir.path().join("open-dice0"), true, &m, &out).unwrap_err();
    assert_eq!(err.reason(), "DICE_DRIVER_MISSING");
    assert!(!out.exists());
}

#[cfg(target_endian = "little")]
#[test]
fn derive_and_write_from_a_device_file_wipes_before_writing() {
    // See tests/source.rs for the layout of the stand-in file: the v1 parent's CDIs and
    // a minimal chain `[h'', h'']` (the driver path requires a chain; its entries are
    // copied, not checked, by the main flow).
    let v1_parent = include_bytes!("../testdata/dice-vectors/v1_new_chain/parent_handover.cbor");
    let dir = tempfile::tempdir().unwrap();
    let device = dir.path().join("open-dice0");
    let mut bytes = vec![0xbb, 0, 0, 0, 0, 0, 0, 0, 0x03];
    bytes.extend_from_slice(&v1_parent[1..]);
    bytes.extend_from_slice(&[0x03, 0x82, 0x40, 0x40]);
    bytes.resize(0xbb, 0);
    std::fs::write(&device, &bytes).unwrap();
    let parent = Handover::parse(&bytes).unwrap();
    let out = dir.path().join("dice_chain.raw");
    let digest = root_digest();
    let m = VendorMeasurement {
        public_key_blob: KEY_BLOB,
        root_digest: &digest,
        rollback_index: 3,
    };
    assert_eq!(
        derive_and_write(&device, true, &m, &out).unwrap(),
        ParentKind::Device
    );
    assert_eq!(&std::fs::read(&device).unwrap()[..4], b"wipe");
    let expected = derive_vendor_node(&parent, &m).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), &expected.to_bytes()[..]);
    let raw = DiceChainRaw::from_bytes(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(
        &raw.bcc[..3],
        &[0x83, 0x40, 0x40],
        "the parent's entries, then ours"
    );
}
