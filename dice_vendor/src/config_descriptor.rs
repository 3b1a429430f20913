//! The Android configuration descriptor (open-dice `DiceAndroidFormatConfigDescriptor`).

use crate::cbor::writer::Writer;

/// Configuration descriptor labels.
pub mod label {
    /// Component name (tstr).
    pub const COMPONENT_NAME: i64 = -70002;
    /// Component version (uint; some producers write a tstr).
    pub const COMPONENT_VERSION: i64 = -70003;
    /// Resettable (null).
    pub const RESETTABLE: i64 = -70004;
    /// Security version (uint).
    pub const SECURITY_VERSION: i64 = -70005;
    /// RKP VM marker (null).
    pub const RKP_VM_MARKER: i64 = -70006;
}

/// The values of an Android configuration descriptor; unset fields are omitted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigValues {
    /// Component name.
    pub component_name: Option<String>,
    /// Component version.
    pub component_version: Option<u64>,
    /// Whether the component is resettable (a factory reset changes its hidden input).
    pub resettable: bool,
    /// Security version.
    pub security_version: Option<u64>,
    /// Whether the component is an RKP VM.
    pub rkp_vm_marker: bool,
}

impl ConfigValues {
    /// The CBOR map, keys in open-dice's order: −70002, −70003, −70004, −70005, −70006.
    pub fn encode(&self) -> Vec<u8> {
        let pairs = u64::from(self.component_name.is_some())
            + u64::from(self.component_version.is_some())
            + u64::from(self.resettable)
            + u64::from(self.security_version.is_some())
            + u64::from(self.rkp_vm_marker);
        let mut w = Writer::new();
        w.map(pairs);
        if let Some(name) = &self.component_name {
            w.int(label::COMPONENT_NAME);
            w.tstr(name);
        }
        if let Some(version) = self.component_version {
            w.int(label::COMPONENT_VERSION);
            w.uint(version);
        }
        if self.resettable {
            w.int(label::RESETTABLE);
            w.null();
        }
        if let Some(version) = self.security_version {
            w.int(label::SECURITY_VERSION);
            w.uint(version);
        }
        if self.rkp_vm_marker {
            w.int(label::RKP_VM_MARKER);
            w.null();
        }
        w.into_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_open_dice_examples() {
        // The v1 vector's descriptor: {name "ABL", version 1, resettable, security version 10}.
        let abl = ConfigValues {
            component_name: Some("ABL".into()),
            component_version: Some(1),
            resettable: true,
            security_version: Some(10),
            rkp_vm_marker: false,
        };
        assert_eq!(
            avb::to_hex(&abl.encode()),
            "a43a000111716341424c3a00011172013a00011173f63a000111740a"
        );
        // v2: all five fields, multi-byte integers.
        let all = ConfigValues {
            component_name: Some("AVB-with-a-longer-name".into()),
            component_version: Some(305419896),
            resettable: true,
            security_version: Some(4294967301),
            rkp_vm_marker: true,
        };
        assert_eq!(
            avb::to_hex(&all.encode()),
            "a53a00011171764156422d776974682d612d6c6f6e6765722d6e616d653a000111721a123456783a00011173f63a000111741b00000001000000053a00011175f6"
        );
        assert_eq!(ConfigValues::default().encode(), [0xa0]);
    }
}
