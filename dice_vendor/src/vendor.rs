//! The Microdroid vendor DICE node (AVF `guest/derive_microdroid_vendor_dice_node`).
//!
//! Inputs: authority hash = SHA-512 of the vbmeta public key blob (AvbRSAPublicKeyHeader
//! format), code hash = SHA-512 of the hashtree descriptor's raw root digest, config
//! descriptor `{-70002: "Microdroid vendor", -70005: rollback_index}`, mode normal (the
//! vendor node never affects debuggability), hidden all zero.

use std::path::Path;

use avb::{HashtreeDescriptor, VerifiedVbmeta};

use crate::config_descriptor::ConfigValues;
use crate::crypto::sha512;
use crate::dice::{Config, InputValues, Mode, HIDDEN_SIZE};
use crate::dice_chain_raw::DiceChainRaw;
use crate::error::DiceError;
use crate::handover::{main_flow, Handover};
use crate::source::open_parent;

/// The vendor node's component name.
pub const COMPONENT_NAME: &str = "Microdroid vendor";

/// What the vendor node measures, taken from the vendor partition's vbmeta.
#[derive(Debug, Clone, Copy)]
pub struct VendorMeasurement<'a> {
    /// The vbmeta's public key blob (AvbRSAPublicKeyHeader ‖ n ‖ rr).
    pub public_key_blob: &'a [u8],
    /// The raw root digest of the `microdroid-vendor` hashtree descriptor.
    pub root_digest: &'a [u8],
    /// The vbmeta's rollback index (the node's security version).
    pub rollback_index: u64,
}

impl<'a> VendorMeasurement<'a> {
    /// The measurement the guest takes (DESIGN §4.2): the vbmeta's key blob and rollback
    /// index and the root digest of `desc`, the hashtree descriptor the guest checked
    /// against the host's digest.
    pub fn from_vbmeta(vbmeta: &'a VerifiedVbmeta, desc: &'a HashtreeDescriptor) -> Self {
        VendorMeasurement {
            public_key_blob: vbmeta.public_key_blob(),
            root_digest: &desc.root_digest,
            rollback_index: vbmeta.rollback_index(),
        }
    }
}

/// The vendor node's configuration descriptor.
pub fn vendor_config_descriptor(rollback_index: u64) -> Vec<u8> {
    ConfigValues {
        component_name: Some(COMPONENT_NAME.to_owned()),
        security_version: Some(rollback_index),
        ..ConfigValues::default()
    }
    .encode()
}

/// The DICE inputs of the vendor node.
pub fn vendor_node_inputs(m: &VendorMeasurement<'_>) -> InputValues {
    InputValues {
        code_hash: sha512(m.root_digest),
        config: Config::Descriptor(vendor_config_descriptor(m.rollback_index)),
        authority_hash: sha512(m.public_key_blob),
        code_descriptor: None,
        authority_descriptor: None,
        mode: Mode::Normal,
        hidden: [0; HIDDEN_SIZE],
    }
}

/// Derives the vendor node from `parent`: the node's CDIs and the parent's chain extended by
/// the vendor certificate. An empty key blob or root digest (no key / no hashtree
/// descriptor) is an error, as in AVF.
pub fn derive_vendor_node(
    parent: &Handover,
    m: &VendorMeasurement<'_>,
) -> Result<DiceChainRaw, DiceError> {
    if m.public_key_blob.is_empty() {
        return Err(DiceError::Measurement("vbmeta has no public key"));
    }
    if m.root_digest.is_empty() {
        return Err(DiceError::Measurement("vbmeta has no hashtree root digest"));
    }
    let (cdi_attest, cdi_seal, chain) = main_flow(parent, &vendor_node_inputs(m))?.into_parts();
    // The main flow always returns a chain.
    Ok(DiceChainRaw {
        cdi_attest,
        cdi_seal,
        bcc: chain.unwrap_or_default(),
    })
}

/// Which parent the vendor node was derived from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParentKind {
    /// The open-dice driver.
    Device,
    /// AOSP's sample chain (non-strict boot without a driver).
    Sample,
}

/// The whole first-stage step: open the parent ([`open_parent`]), derive the vendor node,
/// wipe the driver, then write `output` atomically with mode 0600 (AVF's order: the driver
/// is wiped before the output is written). On any error the driver is still wiped.
pub fn derive_and_write(
    device_path: &Path,
    strict_boot: bool,
    m: &VendorMeasurement<'_>,
    output: &Path,
) -> Result<ParentKind, DiceError> {
    let parent = open_parent(device_path, strict_boot)?;
    let kind = if parent.is_sample() {
        ParentKind::Sample
    } else {
        ParentKind::Device
    };
    let node = derive_vendor_node(parent.handover(), m)?;
    parent.release()?;
    node.write_atomic(output)?;
    Ok(kind)
}
