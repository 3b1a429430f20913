//! The boot's inputs from the host: the kernel command line, bootconfig and the device
//! tree values under `/proc/device-tree` (DESIGN §2, §7).

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::Path;

/// The DT property with the expected vendor hashtree root digest.
pub const VENDOR_DIGEST_PROP: &str = "device-tree/avf/vendor_hashtree_descriptor_root_digest";
/// The DT property whose presence means strict boot.
pub const STRICT_BOOT_PROP: &str = "device-tree/chosen/avf,strict-boot";
/// The command-line flag that requests the vendor partition (AOSP).
pub const MOUNT_VENDOR_FLAG: &str = "androidboot.microdroid.mount_vendor";
/// Largest DT value we read (a digest is 64 or 128 bytes; anything larger is malformed
/// and is reported as such, not read in full).
pub const MAX_DT_VALUE: u64 = 4096;

/// What the host told the guest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BootConfig {
    /// `/proc/cmdline`.
    pub cmdline: String,
    /// `androidboot.*` keys from bootconfig, then the command line (later wins).
    pub androidboot: BTreeMap<String, String>,
    /// `/chosen/avf,strict-boot` is present.
    pub strict_boot: bool,
    /// The raw `/avf/vendor_hashtree_descriptor_root_digest` value, if present.
    pub vendor_digest: Option<Vec<u8>>,
}

impl BootConfig {
    /// Reads everything from `proc_root` (normally `/proc`). Missing files mean "not
    /// set" (x86_64 has no device tree at all).
    pub fn read(proc_root: &Path) -> BootConfig {
        let cmdline = fs::read_to_string(proc_root.join("cmdline"))
            .unwrap_or_default()
            .trim()
            .to_owned();
        let bootconfig = fs::read_to_string(proc_root.join("bootconfig")).unwrap_or_default();
        let mut androidboot = BTreeMap::new();
        let pairs = init_rc::property::parse_bootconfig(&bootconfig)
            .into_iter()
            .chain(init_rc::property::parse_cmdline(&cmdline));
        for (k, v) in pairs {
            if k.starts_with("androidboot.") {
                androidboot.insert(k, v);
            }
        }
        BootConfig {
            cmdline,
            androidboot,
            strict_boot: proc_root.join(STRICT_BOOT_PROP).exists(),
            vendor_digest: read_bounded(&proc_root.join(VENDOR_DIGEST_PROP)),
        }
    }

    /// Whether `key` is set to `1` or `true`.
    pub fn flag(&self, key: &str) -> bool {
        matches!(
            self.androidboot.get(key).map(String::as_str),
            Some("1" | "true")
        )
    }
}

fn read_bounded(path: &Path) -> Option<Vec<u8>> {
    let f = fs::File::open(path).ok()?;
    let mut v = Vec::new();
    f.take(MAX_DT_VALUE + 1).read_to_end(&mut v).ok()?;
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fixture_proc() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        fs::write(
            p.join("cmdline"),
            "console=ttyAMA0 androidboot.microdroid.mount_vendor=1 androidboot.selinux=permissive\n",
        )
        .unwrap();
        fs::write(
            p.join("bootconfig"),
            "androidboot.boot_devices = \"10000.pci\"\n",
        )
        .unwrap();
        fs::create_dir_all(p.join("device-tree/avf")).unwrap();
        fs::create_dir_all(p.join("device-tree/chosen")).unwrap();
        fs::write(p.join(VENDOR_DIGEST_PROP), b"ab\0").unwrap();
        fs::write(p.join(STRICT_BOOT_PROP), b"").unwrap();
        let c = BootConfig::read(p);
        assert!(c.flag(MOUNT_VENDOR_FLAG));
        assert!(!c.flag("androidboot.selinux"));
        assert_eq!(c.androidboot["androidboot.selinux"], "permissive");
        assert_eq!(c.androidboot["androidboot.boot_devices"], "10000.pci");
        assert!(c.strict_boot);
        assert_eq!(c.vendor_digest.as_deref(), Some(&b"ab\0"[..]));
    }

    #[test]
    fn nothing_present_means_nothing_set() {
        let d = tempfile::tempdir().unwrap();
        let c = BootConfig::read(d.path());
        assert_eq!(c, BootConfig::default());
    }

    #[test]
    fn oversized_dt_value_is_read_bounded() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir_all(d.path().join("device-tree/avf")).unwrap();
        fs::write(d.path().join(VENDOR_DIGEST_PROP), vec![b'a'; 1 << 20]).unwrap();
        let c = BootConfig::read(d.path());
        assert_eq!(
            c.vendor_digest.map(|v| v.len()),
            Some(MAX_DT_VALUE as usize + 1)
        );
    }
}
