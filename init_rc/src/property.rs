//! The in-memory property store: AOSP's naming rules, `ro.*` write-once, the value length
//! limit for non-`ro.*` properties, and the initial `ro.boot.*` values imported from the
//! kernel command line and bootconfig.
//!
//! **Ours:** the store is bounded (at most [`MAX_PROPERTIES`] entries, names of at most
//! [`MAX_NAME_LEN`] bytes, `ro.*` values of at most [`MAX_RO_VALUE_LEN`] bytes) so a client
//! of the property socket cannot make PID 1 allocate without limit.

use std::collections::BTreeMap;

use boot_config::BootConfig;

/// AOSP's `PROP_VALUE_MAX`: non-`ro.*` values must be shorter than this.
pub const PROP_VALUE_MAX: usize = 92;
/// Bound on the number of properties.
pub const MAX_PROPERTIES: usize = 8192;
/// Bound on a property name's length.
pub const MAX_NAME_LEN: usize = 1024;
/// Bound on an `ro.*` value's length (the wire protocol's string limit).
pub const MAX_RO_VALUE_LEN: usize = 0xffff;

/// AOSP `ExportKernelBootProps`: `(source, destination, default)`; an empty default
/// means "not set unless the source is".
pub const KERNEL_BOOT_PROPS: &[(&str, &str, &str)] = &[
    ("ro.boot.serialno", "ro.serialno", ""),
    ("ro.boot.mode", "ro.bootmode", "unknown"),
    ("ro.boot.baseband", "ro.baseband", "unknown"),
    ("ro.boot.bootloader", "ro.bootloader", "unknown"),
    ("ro.boot.hardware", "ro.hardware", "unknown"),
    ("ro.boot.revision", "ro.revision", "0"),
];

/// Why a set was refused; each maps to a `PROP_ERROR_*` code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropError {
    /// Illegal name.
    InvalidName,
    /// Value too long.
    InvalidValue,
    /// `ro.*` already set.
    ReadOnly,
    /// The store is full.
    Full,
}

impl PropError {
    /// Human-readable reason.
    pub fn reason(self) -> &'static str {
        match self {
            PropError::InvalidName => "illegal property name",
            PropError::InvalidValue => "value too long",
            PropError::ReadOnly => "read-only property already set",
            PropError::Full => "too many properties",
        }
    }
}

/// AOSP's `IsLegalPropertyName`: non-empty, no leading/trailing/double dots, only
/// `[A-Za-z0-9_.:@-]`. **Ours:** also at most [`MAX_NAME_LEN`] bytes.
pub fn is_legal_name(name: &str) -> bool {
    let b = name.as_bytes();
    if b.is_empty() || b.len() > MAX_NAME_LEN || b[0] == b'.' || b[b.len() - 1] == b'.' {
        return false;
    }
    if name.contains("..") {
        return false;
    }
    b.iter()
        .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-' | b'@' | b':'))
}

/// The property store.
#[derive(Debug, Clone, Default)]
pub struct PropertyStore {
    map: BTreeMap<String, String>,
}

impl PropertyStore {
    /// An empty store.
    pub fn new() -> PropertyStore {
        PropertyStore::default()
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    /// Sets `name` to `value` under AOSP's rules.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), PropError> {
        if !is_legal_name(name) {
            return Err(PropError::InvalidName);
        }
        let ro = name.starts_with("ro.");
        if (!ro && value.len() >= PROP_VALUE_MAX) || value.len() > MAX_RO_VALUE_LEN {
            return Err(PropError::InvalidValue);
        }
        let full = self.map.len() >= MAX_PROPERTIES;
        match self.map.get_mut(name) {
            Some(_) if ro => Err(PropError::ReadOnly),
            Some(v) => {
                value.clone_into(v);
                Ok(())
            }
            None if full => Err(PropError::Full),
            None => {
                self.map.insert(name.to_string(), value.to_string());
                Ok(())
            }
        }
    }

    /// Imports `androidboot.<x>=<v>` from the command line, then bootconfig, as
    /// `ro.boot.<x>` (AOSP `ProcessKernelCmdline`, `ProcessBootconfig`: the command line
    /// wins, `ro.*` is write-once). Returns the number of properties set.
    pub fn import_kernel_params(&mut self, boot: &BootConfig) -> usize {
        boot.cmdline_params
            .iter()
            .chain(&boot.bootconfig)
            .filter(|(k, v)| self.import_boot(k, v))
            .count()
    }

    /// AOSP `ExportKernelBootProps`: `ro.boot.*` values (or defaults) become the
    /// properties the rest of the system reads (`ro.hardware`, `ro.bootmode`, …).
    pub fn export_kernel_boot_props(&mut self) {
        for (src, dst, default) in KERNEL_BOOT_PROPS {
            let value = self.get(src).unwrap_or(default).to_string();
            if value.is_empty() {
                continue;
            }
            if let Err(e) = self.set(dst, &value) {
                log::error!("init: cannot set {dst}={value}: {}", e.reason());
            }
        }
    }

    fn import_boot(&mut self, key: &str, value: &str) -> bool {
        match key.strip_prefix("androidboot.") {
            Some(rest) if !rest.is_empty() => {
                let name = format!("ro.boot.{rest}");
                match self.set(&name, value) {
                    Ok(()) => true,
                    Err(e) => {
                        log::debug!("init: kernel parameter {key} not imported: {}", e.reason());
                        false
                    }
                }
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_boot_props_are_exported() {
        let mut p = PropertyStore::new();
        p.set("ro.boot.hardware", "virt").unwrap();
        p.set("ro.boot.mode", "normal").unwrap();
        p.export_kernel_boot_props();
        assert_eq!(p.get("ro.hardware"), Some("virt"));
        assert_eq!(p.get("ro.bootmode"), Some("normal"));
        assert_eq!(p.get("ro.baseband"), Some("unknown"));
        assert_eq!(p.get("ro.revision"), Some("0"));
        assert_eq!(p.get("ro.serialno"), None);
    }

    #[test]
    fn names() {
        for ok in ["a", "ro.boot.x", "init.svc.ueventd", "a-b_c@d:e", "A.9"] {
            assert!(is_legal_name(ok), "{ok}");
        }
        for bad in ["", ".a", "a.", "a..b", "a b", "a/b", "a=b", "ü"] {
            assert!(!is_legal_name(bad), "{bad}");
        }
        assert!(!is_legal_name(&"a".repeat(MAX_NAME_LEN + 1)));
    }

    #[test]
    fn ro_is_write_once_and_lengths() {
        let mut p = PropertyStore::new();
        p.set("ro.x", "1").unwrap();
        assert_eq!(p.set("ro.x", "2"), Err(PropError::ReadOnly));
        assert_eq!(p.get("ro.x"), Some("1"));
        p.set("sys.x", "1").unwrap();
        p.set("sys.x", "2").unwrap();
        assert_eq!(p.get("sys.x"), Some("2"));
        assert_eq!(
            p.set("sys.y", &"v".repeat(92)),
            Err(PropError::InvalidValue)
        );
        p.set("sys.y", &"v".repeat(91)).unwrap();
        p.set("ro.long", &"v".repeat(500)).unwrap();
        assert_eq!(
            p.set("ro.huge", &"v".repeat(MAX_RO_VALUE_LEN + 1)),
            Err(PropError::InvalidValue)
        );
        assert_eq!(p.set("bad..name", "1"), Err(PropError::InvalidName));
    }

    #[test]
    fn store_is_bounded() {
        let mut p = PropertyStore::new();
        for i in 0..MAX_PROPERTIES {
            p.set(&format!("p.{i}"), "v").unwrap();
        }
        assert_eq!(p.set("one.more", "v"), Err(PropError::Full));
        p.set("p.0", "changed").unwrap();
    }

    #[test]
    fn kernel_params() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("cmdline"),
            "console=ttyAMA0 androidboot.hardware=virt androidboot.a=b=c androidboot.debuggable=1 panic=-1\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join("bootconfig"),
            "androidboot.hardware = \"other\"\nandroidboot.boot_devices = \"10000.pci\", \"x\"\nandroidboot.mode = \"normal\"\nkernel.x = \"y\"\nbroken line\n",
        )
        .unwrap();
        let mut p = PropertyStore::new();
        assert_eq!(p.import_kernel_params(&BootConfig::read(d.path())), 5);
        assert_eq!(p.get("ro.boot.hardware"), Some("virt"));
        assert_eq!(p.get("ro.boot.debuggable"), Some("1"));
        // Split at the first `=` (fs_mgr), as AOSP imports it.
        assert_eq!(p.get("ro.boot.a"), Some("b=c"));
        // boot_devices keeps its spaces (fs_mgr's special case).
        assert_eq!(p.get("ro.boot.boot_devices"), Some("10000.pci, x"));
        assert_eq!(p.get("ro.boot.mode"), Some("normal"));
        // Missing files are fine.
        let mut q = PropertyStore::new();
        assert_eq!(
            q.import_kernel_params(&BootConfig::read(&d.path().join("nope"))),
            0
        );
    }
}
