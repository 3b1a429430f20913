//! What the host told the guest, read once and decided once.
//!
//! The inputs are the kernel command line (`/proc/cmdline`, from the host), bootconfig
//! (`/proc/bootconfig`, which travels in the measured initrd) and two device-tree values
//! (`/avf/vendor_hashtree_descriptor_root_digest` and `/chosen/avf,strict-boot`). They are
//! parsed as AOSP's `fs_mgr` does ([`cmdline`], [`bootconfig`]) and turn into the
//! decisions every later step uses, so the first stage, SELinux, the rc interpreter and
//! the host's `explain` cannot disagree (DESIGN §2, §9):
//!
//! * **strict boot**: `/chosen/avf,strict-boot` exists (pvmfw sets it on protected VMs);
//! * **debuggable**: `androidboot.microdroid.debuggable=1` in bootconfig; without strict
//!   boot, the command line may say it too (under strict boot the command line is the
//!   host's word and does not count);
//! * **mount /vendor**: the command-line word `androidboot.microdroid.mount_vendor=1`
//!   (AOSP `ReadFirstStageFstabMicrodroid`; bootconfig is not consulted);
//! * **boot devices**: `androidboot.boot_devices` as `fs_mgr` `GetBootDevices` reads it;
//! * **SELinux mode**: enforcing unless the boot is debuggable and
//!   `androidboot.selinux=permissive` is on the command line or in bootconfig.
//!
//! Reading never fails: a missing file means "not set" (x86_64 guests have no device
//! tree), and a device-tree value that exists but cannot be read is kept as
//! [`DtProperty::Unreadable`] for the caller to refuse.

pub mod bootconfig;
pub mod cmdline;
pub mod dt;

use std::fs::File;
use std::io::Read;
use std::path::Path;

pub use dt::DtProperty;

/// The DT property with the expected vendor hashtree root digest (under the proc root).
pub const VENDOR_DIGEST_PROP: &str = "device-tree/avf/vendor_hashtree_descriptor_root_digest";
/// The DT property whose presence means strict boot (under the proc root).
pub const STRICT_BOOT_PROP: &str = "device-tree/chosen/avf,strict-boot";
/// The command-line flag that requests the vendor partition (AOSP).
pub const MOUNT_VENDOR_FLAG: &str = "androidboot.microdroid.mount_vendor";
/// The key that makes a boot debuggable (AVF `bootconfig.debuggable`).
pub const DEBUGGABLE_KEY: &str = "androidboot.microdroid.debuggable";
/// The key naming the devices whose partitions get by-name links.
pub const BOOT_DEVICES_KEY: &str = "androidboot.boot_devices";
/// The older single-device form of [`BOOT_DEVICES_KEY`].
pub const BOOT_DEVICE_KEY: &str = "androidboot.boot_device";
/// The key that asks for permissive SELinux.
pub const SELINUX_KEY: &str = "androidboot.selinux";
/// Largest DT value read (a digest is 64 or 128 bytes; anything larger is malformed and
/// is reported as such, not read in full).
pub const MAX_DT_VALUE: u64 = 4096;
/// Bound on what is read of `/proc/cmdline` and `/proc/bootconfig`.
pub const MAX_KERNEL_PARAMS: u64 = 1 << 20;

/// Where a setting came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `/proc/bootconfig`.
    Bootconfig,
    /// `/proc/cmdline`.
    Cmdline,
}

impl Source {
    /// `bootconfig` or `the command line`.
    pub fn name(self) -> &'static str {
        match self {
            Source::Bootconfig => "bootconfig",
            Source::Cmdline => "the command line",
        }
    }
}

/// The SELinux mode a boot must run in, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelinuxMode {
    /// Enforcing (true) or permissive.
    pub enforcing: bool,
    /// One sentence for the boot log.
    pub why: String,
}

/// The host's inputs and the decisions made from them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BootConfig {
    /// `/proc/cmdline`, trimmed (invalid UTF-8 replaced).
    pub cmdline: String,
    /// The command line's `(key, value)` pairs ([`cmdline::parse`]).
    pub cmdline_params: Vec<(String, String)>,
    /// Bootconfig's `(key, value)` pairs ([`bootconfig::parse`]).
    pub bootconfig: Vec<(String, String)>,
    /// `/chosen/avf,strict-boot` is present.
    pub strict_boot: bool,
    /// The boot is debuggable ([`BootConfig::debuggable_source`] says why).
    pub debuggable: bool,
    /// The command line asks for `/vendor`.
    pub mount_vendor: bool,
    /// The `/avf/vendor_hashtree_descriptor_root_digest` property.
    pub vendor_digest: DtProperty,
}

impl BootConfig {
    /// Reads everything from `proc_root` (normally `/proc`).
    pub fn read(proc_root: &Path) -> BootConfig {
        let cmdline = read_text(&proc_root.join("cmdline"));
        let bootconfig = read_text(&proc_root.join("bootconfig"));
        BootConfig::from_parts(
            &cmdline,
            &bootconfig,
            dt::flag(&proc_root.join(STRICT_BOOT_PROP)),
            dt::read(&proc_root.join(VENDOR_DIGEST_PROP), MAX_DT_VALUE),
        )
    }

    /// Decides from given inputs (the text of `/proc/cmdline` and `/proc/bootconfig`).
    pub fn from_parts(
        cmdline: &str,
        bootconfig: &str,
        strict_boot: bool,
        vendor_digest: DtProperty,
    ) -> BootConfig {
        let cmdline = cmdline.trim().to_owned();
        let mut c = BootConfig {
            cmdline_params: cmdline::parse(&cmdline),
            cmdline,
            bootconfig: bootconfig::parse(bootconfig),
            strict_boot,
            debuggable: false,
            mount_vendor: false,
            vendor_digest,
        };
        c.debuggable = c.debuggable_source().is_some();
        c.mount_vendor = c
            .cmdline_params
            .iter()
            .any(|(k, v)| k == MOUNT_VENDOR_FLAG && v == "1");
        c
    }

    /// The first value of `key` on the command line (AOSP `GetKernelCmdline`).
    pub fn cmdline_get(&self, key: &str) -> Option<&str> {
        cmdline::get(&self.cmdline_params, key)
    }

    /// The first value of `key` in bootconfig (AOSP `GetBootconfig`).
    pub fn bootconfig_get(&self, key: &str) -> Option<&str> {
        cmdline::get(&self.bootconfig, key)
    }

    /// `key` from bootconfig, else from the command line (AOSP `fs_mgr_get_boot_config`,
    /// whose device-tree and property sources Microdroid does not use).
    pub fn get(&self, key: &str) -> Option<(&str, Source)> {
        self.bootconfig_get(key)
            .map(|v| (v, Source::Bootconfig))
            .or_else(|| self.cmdline_get(key).map(|v| (v, Source::Cmdline)))
    }

    /// Where `androidboot.microdroid.debuggable=1` was found, if the boot is debuggable:
    /// bootconfig decides when it has the key; the command line counts only without
    /// strict boot (DESIGN §9).
    pub fn debuggable_source(&self) -> Option<Source> {
        let (value, source) = match self.bootconfig_get(DEBUGGABLE_KEY) {
            Some(v) => (v, Source::Bootconfig),
            None if !self.strict_boot => (self.cmdline_get(DEBUGGABLE_KEY)?, Source::Cmdline),
            None => return None,
        };
        (value == "1").then_some(source)
    }

    /// The devices whose partitions get `/dev/block/by-name` links, as `fs_mgr`
    /// `GetBootDevices`: bootconfig's `boot_devices` (or `boot_device`) split at spaces,
    /// each with a trailing comma removed; else the command line's `boot_devices` split at
    /// commas; else every `boot_device` of the command line. `None`: none of these keys
    /// is set, no restriction.
    pub fn boot_devices(&self) -> Option<Vec<String>> {
        let list: Vec<String> = if let Some(v) = self
            .bootconfig_get(BOOT_DEVICES_KEY)
            .or_else(|| self.bootconfig_get(BOOT_DEVICE_KEY))
        {
            v.split(' ')
                .map(|d| d.strip_suffix(',').unwrap_or(d).to_owned())
                .collect()
        } else if let Some(v) = self.cmdline_get(BOOT_DEVICES_KEY) {
            v.split(',').map(str::to_owned).collect()
        } else {
            let all: Vec<String> = self
                .cmdline_params
                .iter()
                .filter(|(k, _)| k == BOOT_DEVICE_KEY)
                .map(|(_, v)| v.clone())
                .collect();
            if all.is_empty() {
                return None;
            }
            all
        };
        // A key that is set but names nothing restricts to nothing, as in AOSP.
        Some(list.into_iter().filter(|d| !d.is_empty()).collect())
    }

    /// The SELinux mode (DESIGN §9, AOSP `selinux.cpp` `IsEnforcing`): permissive only
    /// when the boot is debuggable and `androidboot.selinux=permissive` is on the command
    /// line or in bootconfig; a normal boot is enforcing whatever it asks.
    pub fn selinux_mode(&self) -> SelinuxMode {
        let asked = [Source::Cmdline, Source::Bootconfig].into_iter().find(|s| {
            let v = match s {
                Source::Cmdline => self.cmdline_get(SELINUX_KEY),
                Source::Bootconfig => self.bootconfig_get(SELINUX_KEY),
            };
            v == Some("permissive")
        });
        match (asked, self.debuggable) {
            (Some(s), true) => SelinuxMode {
                enforcing: false,
                why: format!(
                    "{SELINUX_KEY}=permissive from {} on a debuggable boot",
                    s.name()
                ),
            },
            (Some(s), false) => SelinuxMode {
                enforcing: true,
                why: format!(
                    "{SELINUX_KEY}=permissive from {} ignored: not a debuggable boot",
                    s.name()
                ),
            },
            (None, _) => SelinuxMode {
                enforcing: true,
                why: "the default".to_owned(),
            },
        }
    }

    /// One line for the boot log: strict, debuggable (and why), vendor requested.
    pub fn describe(&self) -> String {
        format!(
            "strict_boot={} debuggable={}{} mount_vendor={}",
            self.strict_boot,
            self.debuggable,
            self.debuggable_source()
                .map(|s| format!(" (from {})", s.name()))
                .unwrap_or_default(),
            self.mount_vendor
        )
    }
}

/// The text of a bounded kernel file (missing or unreadable: empty; invalid UTF-8 is
/// replaced, so one bad byte cannot hide the rest of the command line).
fn read_text(path: &Path) -> String {
    let mut v = Vec::new();
    if let Ok(f) = File::open(path) {
        if let Err(e) = f.take(MAX_KERNEL_PARAMS).read_to_end(&mut v) {
            log::warn!("{}: {e}", path.display());
        }
    }
    String::from_utf8_lossy(&v).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn cfg(cmdline: &str, bootconfig: &str, strict: bool) -> BootConfig {
        BootConfig::from_parts(cmdline, bootconfig, strict, DtProperty::Absent)
    }

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
            "androidboot.boot_devices = \"10000.pci\"\nandroidboot.microdroid.debuggable = \"1\"\n",
        )
        .unwrap();
        fs::create_dir_all(p.join("device-tree/avf")).unwrap();
        fs::create_dir_all(p.join("device-tree/chosen")).unwrap();
        fs::write(p.join(VENDOR_DIGEST_PROP), b"ab\0").unwrap();
        fs::write(p.join(STRICT_BOOT_PROP), b"").unwrap();
        let c = BootConfig::read(p);
        assert!(c.mount_vendor && c.strict_boot && c.debuggable);
        assert_eq!(c.debuggable_source(), Some(Source::Bootconfig));
        assert_eq!(c.cmdline_get(SELINUX_KEY), Some("permissive"));
        assert_eq!(c.boot_devices(), Some(vec!["10000.pci".to_owned()]));
        assert_eq!(c.vendor_digest, DtProperty::Present(b"ab\0".to_vec()));
        assert!(!c.selinux_mode().enforcing);
    }

    #[test]
    fn nothing_present_means_nothing_set() {
        let d = tempfile::tempdir().unwrap();
        let c = BootConfig::read(d.path());
        assert_eq!(c, BootConfig::default());
        assert!(c.selinux_mode().enforcing);
    }

    #[test]
    fn non_utf8_command_line_keeps_its_other_words() {
        let d = tempfile::tempdir().unwrap();
        let mut line = b"a=\xff\xfe androidboot.microdroid.mount_vendor=1 ".to_vec();
        line.extend_from_slice(&[0xc3, b' ', b'\n']);
        fs::write(d.path().join("cmdline"), line).unwrap();
        assert!(BootConfig::read(d.path()).mount_vendor);
    }

    #[test]
    fn mount_vendor_is_a_whole_command_line_word() {
        assert!(cfg("x androidboot.microdroid.mount_vendor=1", "", false).mount_vendor);
        assert!(cfg("\"androidboot.microdroid.mount_vendor=1\"", "", false).mount_vendor);
        for no in [
            "androidboot.microdroid.mount_vendor=10",
            "androidboot.microdroid.mount_vendor=0",
            "xandroidboot.microdroid.mount_vendor=1",
            "foo=\"androidboot.microdroid.mount_vendor=1\"",
            "",
        ] {
            assert!(!cfg(no, "", false).mount_vendor, "{no}");
        }
        // Bootconfig is not consulted (AOSP reads /proc/cmdline only).
        assert!(!cfg("", "androidboot.microdroid.mount_vendor = \"1\"", false).mount_vendor);
    }

    #[test]
    fn debuggable_matrix() {
        let bc1 = "androidboot.microdroid.debuggable = \"1\"";
        let bc0 = "androidboot.microdroid.debuggable = \"0\"";
        let cl1 = "androidboot.microdroid.debuggable=1";
        // (cmdline, bootconfig, strict) -> debuggable
        for (cl, bc, strict, want) in [
            ("", "", false, false),
            ("", bc1, false, true),
            ("", bc1, true, true),
            (cl1, "", false, true),
            // Under strict boot the host's command line does not count.
            (cl1, "", true, false),
            // Bootconfig decides when it has the key.
            (cl1, bc0, false, false),
            ("androidboot.microdroid.debuggable=true", "", false, false),
        ] {
            assert_eq!(
                cfg(cl, bc, strict).debuggable,
                want,
                "{cl:?} {bc:?} {strict}"
            );
        }
        assert_eq!(
            cfg(cl1, "", false).describe(),
            "strict_boot=false debuggable=true (from the command line) mount_vendor=false"
        );
    }

    #[test]
    fn selinux_mode_matrix() {
        let dbg = "androidboot.microdroid.debuggable=1";
        let m = cfg("androidboot.selinux=permissive", "", false).selinux_mode();
        assert!(m.enforcing);
        assert!(
            m.why.contains("ignored: not a debuggable boot"),
            "{}",
            m.why
        );
        let m = cfg(&format!("{dbg} androidboot.selinux=permissive"), "", false).selinux_mode();
        assert!(!m.enforcing);
        assert!(m.why.contains("from the command line"), "{}", m.why);
        let m = cfg(dbg, "androidboot.selinux = \"permissive\"", false).selinux_mode();
        assert!(!m.enforcing);
        assert!(m.why.contains("from bootconfig"), "{}", m.why);
        assert!(
            cfg(&format!("{dbg} androidboot.selinux=enforcing"), "", false)
                .selinux_mode()
                .enforcing
        );
    }

    #[test]
    fn boot_devices_as_fs_mgr() {
        assert_eq!(cfg("", "", false).boot_devices(), None);
        assert_eq!(
            cfg("", "androidboot.boot_devices = \"a.pci\", \"b,c\"", false).boot_devices(),
            Some(vec!["a.pci".to_owned(), "b,c".to_owned()])
        );
        assert_eq!(
            cfg("androidboot.boot_devices=x,y", "", false).boot_devices(),
            Some(vec!["x".to_owned(), "y".to_owned()])
        );
        // Bootconfig wins over the command line.
        assert_eq!(
            cfg(
                "androidboot.boot_devices=x",
                "androidboot.boot_device = \"z\"",
                false
            )
            .boot_devices(),
            Some(vec!["z".to_owned()])
        );
        assert_eq!(
            cfg(
                "androidboot.boot_device=p androidboot.boot_device=q",
                "",
                false
            )
            .boot_devices(),
            Some(vec!["p".to_owned(), "q".to_owned()])
        );
        assert_eq!(
            cfg("androidboot.boot_devices=", "", false).boot_devices(),
            Some(Vec::new())
        );
    }
}
