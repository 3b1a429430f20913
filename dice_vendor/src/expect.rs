//! Reference values: the "Microdroid vendor" node a vendor image will produce, computed
//! from the image with the guest's own code (the measurement of
//! [`VendorMeasurement::from_vbmeta`] over the vbmeta [`avb::read_vbmeta_from_device`]
//! verifies, and [`vendor_node_inputs`]), without booting. A relying party's allowlist
//! entry, and the source of a [`crate::policy`] for the node.

use std::fs::File;
use std::path::{Path, PathBuf};

use avb::AvbError;

use crate::dice::{Config, Mode, HASH_SIZE};
use crate::error::DiceError;
use crate::vendor::{vendor_node_inputs, VendorMeasurement, COMPONENT_NAME};

/// The hashtree descriptor the guest uses (its GPT partition name).
pub const VENDOR_PARTITION: &str = "microdroid-vendor";

/// Why an image's expected node could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum ExpectError {
    /// The image could not be opened or its vbmeta does not verify (the guest would stop
    /// with `VBMETA_INVALID` / `VBMETA_UNSIGNED`).
    #[error("{}: {source}", path.display())]
    Image {
        /// The image.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: AvbError,
    },
    /// The measurement lacks a key or digest.
    #[error(transparent)]
    Dice(#[from] DiceError),
}

/// The fields of a DICE node a relying party checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedNode {
    /// Component name (config descriptor −70002).
    pub component_name: String,
    /// Code hash.
    pub code_hash: [u8; HASH_SIZE],
    /// Authority hash.
    pub authority_hash: [u8; HASH_SIZE],
    /// Security version (−70005).
    pub security_version: u64,
    /// The config descriptor bytes.
    pub config_descriptor: Vec<u8>,
    /// Mode.
    pub mode: Mode,
}

impl ExpectedNode {
    /// The vendor node for measurement `m` (an empty key or digest is an error, as in
    /// the guest's derivation).
    pub fn vendor(m: &VendorMeasurement<'_>) -> Result<ExpectedNode, DiceError> {
        if m.public_key_blob.is_empty() {
            return Err(DiceError::Measurement("vbmeta has no public key"));
        }
        if m.root_digest.is_empty() {
            return Err(DiceError::Measurement("vbmeta has no hashtree root digest"));
        }
        let inputs = vendor_node_inputs(m);
        let Config::Descriptor(config_descriptor) = inputs.config else {
            return Err(DiceError::Measurement(
                "the vendor node has an inline config",
            ));
        };
        Ok(ExpectedNode {
            component_name: COMPONENT_NAME.to_owned(),
            code_hash: inputs.code_hash,
            authority_hash: inputs.authority_hash,
            security_version: m.rollback_index,
            config_descriptor,
            mode: inputs.mode,
        })
    }

    /// One JSON object: `component_name`, `code_hash`, `authority_hash` and
    /// `config_descriptor` (lowercase hex strings), `security_version` (integer), `mode`
    /// (`"normal"`, `"debug"`, `"maintenance"` or `"not-initialized"`).
    pub fn to_json(&self) -> String {
        format!(
            "{{\"component_name\":{},\"code_hash\":\"{}\",\"authority_hash\":\"{}\",\
             \"security_version\":{},\"config_descriptor\":\"{}\",\"mode\":\"{}\"}}",
            json_string(&self.component_name),
            avb::to_hex(&self.code_hash),
            avb::to_hex(&self.authority_hash),
            self.security_version,
            avb::to_hex(&self.config_descriptor),
            self.mode.name()
        )
    }
}

/// `s` as a JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Reads and verifies the vbmeta of the vendor image at `path` as the guest does and
/// returns the node it will derive.
pub fn expected_vendor_node(path: &Path) -> Result<ExpectedNode, ExpectError> {
    let image = |source| ExpectError::Image {
        path: path.to_owned(),
        source,
    };
    let mut f = File::open(path).map_err(|e| {
        image(AvbError::Io {
            what: "vendor image",
            message: e.to_string(),
        })
    })?;
    let vbmeta = avb::read_vbmeta_from_device(&mut f).map_err(image)?;
    let desc = vbmeta
        .hashtree_descriptor(VENDOR_PARTITION)
        .map_err(image)?;
    Ok(ExpectedNode::vendor(&VendorMeasurement::from_vbmeta(
        &vbmeta, desc,
    ))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::sha512;
    use crate::handover::Handover;
    use crate::vendor::derive_vendor_node;
    use crate::verify::verify_chain_bytes;

    #[test]
    fn expected_node_equals_the_derived_one() {
        let m = VendorMeasurement {
            public_key_blob: &[1, 2, 3],
            root_digest: &[4; 32],
            rollback_index: 7,
        };
        let e = ExpectedNode::vendor(&m).unwrap();
        assert_eq!(e.code_hash, sha512(&[4; 32]));
        assert_eq!(e.authority_hash, sha512(&[1, 2, 3]));
        let parent = Handover::parse(&crate::source::sample_handover().unwrap()).unwrap();
        let raw = derive_vendor_node(&parent, &m).unwrap();
        let chain = verify_chain_bytes(&raw.to_bytes()).unwrap();
        let leaf = chain.nodes.last().unwrap();
        assert_eq!(
            leaf.component_name.as_deref(),
            Some(e.component_name.as_str())
        );
        assert_eq!(leaf.code_hash, e.code_hash);
        assert_eq!(leaf.authority_hash, e.authority_hash);
        assert_eq!(leaf.security_version, Some(7));
        assert_eq!(leaf.config_descriptor, e.config_descriptor);
        assert_eq!(leaf.mode, e.mode);
        let json = e.to_json();
        assert!(json.starts_with("{\"component_name\":\"Microdroid vendor\",\"code_hash\":\""));
        assert!(json.ends_with(",\"security_version\":7,\"config_descriptor\":\"a23a00011171714d6963726f64726f69642076656e646f723a0001117407\",\"mode\":\"normal\"}"), "{json}");
    }

    #[test]
    fn refuses_empty_measurements_and_bad_images() {
        let m = VendorMeasurement {
            public_key_blob: &[],
            root_digest: &[1],
            rollback_index: 0,
        };
        assert!(ExpectedNode::vendor(&m).is_err());
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.img");
        std::fs::write(&p, [0u8; 4096]).unwrap();
        let e = expected_vendor_node(&p).unwrap_err().to_string();
        assert!(e.contains("footer magic"), "{e}");
        assert!(expected_vendor_node(&d.path().join("missing")).is_err());
        assert_eq!(json_string("a\"b\\\n"), "\"a\\\"b\\\\\\u000a\"");
    }
}
