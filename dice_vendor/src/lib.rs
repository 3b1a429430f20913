//! Android-profile DICE for the Microdroid guest: derive the vendor node, read and write the
//! handover and `dice_chain.raw` formats, and verify DICE chains.
//!
//! The derivation reproduces open-dice's `DiceAndroidHandoverMainFlow` byte for byte
//! (profile name `"android.16"`), on OpenSSL (SHA-512, HKDF-SHA512, Ed25519).
//!
//! Typical guest use (PID 1, first stage):
//!
//! ```no_run
//! use std::path::Path;
//! use dice_vendor::{derive_and_write, VendorMeasurement};
//! # fn run(key_blob: &[u8], root_digest: &[u8], rollback_index: u64, strict: bool) -> Result<(), dice_vendor::DiceError> {
//! let m = VendorMeasurement { public_key_blob: key_blob, root_digest, rollback_index };
//! derive_and_write(
//!     Path::new("/dev/open-dice0"),
//!     strict,
//!     &m,
//!     Path::new("/microdroid_resources/dice_chain.raw"),
//! )?;
//! # Ok(()) }
//! ```
//!
//! Modules: [`cbor`] (writer, open-dice reader, canonical check), `crypto` (OpenSSL),
//! [`dice`] (CDI/key/ID derivation), [`cert`] (the CWT certificate),
//! [`config_descriptor`], [`handover`] (handover format and the chain-extending main
//! flow), [`vendor`], [`dice_chain_raw`], [`source`] (driver / sample parent), [`verify`]
//! (chain verifier), [`expect`] (a vendor image's expected node), [`policy`] (DICE
//! policies on verified chains), [`next`] (the payload manager's next step) and
//! [`mod@bench`].

pub mod bench;
pub mod cbor;
pub mod cert;
pub mod config_descriptor;
pub mod crypto;
pub mod dice;
pub mod dice_chain_raw;
mod error;
pub mod expect;
pub mod handover;
pub mod next;
pub mod policy;
mod sample;
pub mod source;
mod sys;
pub mod vendor;
pub mod verify;

pub use bench::{bench, BenchReport};
pub use config_descriptor::ConfigValues;
pub use dice::{Config, InputValues, Mode};
pub use dice_chain_raw::DiceChainRaw;
pub use error::DiceError;
pub use expect::{expected_vendor_node, ExpectedNode};
pub use handover::{main_flow, Handover, HandoverError, MAX_CHAIN_ENTRIES};
pub use policy::{verify_with_policy, Policy, PolicyError};
pub use source::{open_parent, sample_handover, OpenDiceRegion, ParentSource, MAX_REGION_SIZE};
pub use vendor::{
    derive_and_write, derive_vendor_node, vendor_node_inputs, ParentKind, VendorMeasurement,
};
pub use verify::{inspect_chain_bytes, verify_chain_bytes, ChainSummary, NodeSummary, VerifyError};
