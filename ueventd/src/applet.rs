//! The `ueventd` applet of the multi-call PID 1 binary:
//!
//! ```text
//! ueventd [--config PATH]... [--dev-root DIR] [--sys-root DIR] [--proc-root DIR]
//! ```
//!
//! Without `--config` it reads `/system/etc/ueventd.rc`, then `/vendor/etc/ueventd.rc`
//! and `/odm/etc/ueventd.rc` if present. `androidboot.boot_devices` (bootconfig, else the
//! command line, read under the proc root) restricts by-name links to those devices. It never returns while healthy; exit status 1
//! means the uevent socket failed, 2 a usage error.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::block::BootDevices;
use crate::config::parse_config_files;
use crate::daemon::{ModaliasHandler, NodeLabeler, PropertySetter, Ueventd};
use crate::sys::RealDeviceOps;

/// The system configuration, always read.
pub const SYSTEM_CONFIG: &str = "/system/etc/ueventd.rc";
/// Partner configurations read after it, in order, when they exist (a VM without a
/// vendor partition has none).
pub const PARTNER_CONFIGS: [&str; 2] = ["/vendor/etc/ueventd.rc", "/odm/etc/ueventd.rc"];

/// The integration points the multi-call binary provides.
pub struct Hooks {
    /// Property service (for `ro.cold_boot_done`).
    pub props: Box<dyn PropertySetter>,
    /// SELinux labeller.
    pub labeler: Box<dyn NodeLabeler>,
    /// Module loader for `modalias_handling enabled`.
    pub modalias: Option<Box<dyn ModaliasHandler>>,
}

/// Parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Args {
    pub(crate) configs: Vec<PathBuf>,
    pub(crate) dev_root: PathBuf,
    pub(crate) sys_root: PathBuf,
    pub(crate) proc_root: PathBuf,
}

const USAGE: &str =
    "usage: ueventd [--config PATH]... [--dev-root DIR] [--sys-root DIR] [--proc-root DIR]";

/// Parses `args` (without the program name). `Err(None)` means `--help`.
pub(crate) fn parse_args(args: &[OsString]) -> Result<Args, Option<String>> {
    let mut configs = Vec::new();
    let mut dev_root = PathBuf::from("/dev");
    let mut sys_root = PathBuf::from("/sys");
    let mut proc_root = PathBuf::from("/proc");
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let Some(text) = arg.to_str() else {
            return Err(Some(format!("unexpected argument {arg:?}")));
        };
        if text == "-h" || text == "--help" {
            return Err(None);
        }
        let (flag, inline) = match text.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(OsString::from(v))),
            _ => (text, None),
        };
        if !matches!(
            flag,
            "--config" | "--dev-root" | "--sys-root" | "--proc-root"
        ) {
            return Err(Some(format!("unexpected argument {text:?}")));
        }
        let value = match inline {
            Some(v) => v,
            None => it
                .next()
                .cloned()
                .ok_or_else(|| Some(format!("{flag} needs a value")))?,
        };
        if value.is_empty() {
            return Err(Some(format!("{flag} needs a value")));
        }
        let value = PathBuf::from(value);
        match flag {
            "--config" => configs.push(value),
            "--dev-root" => dev_root = value,
            "--proc-root" => proc_root = value,
            _ => sys_root = value,
        }
    }
    if configs.is_empty() {
        configs.push(PathBuf::from(SYSTEM_CONFIG));
        configs.extend(
            PARTNER_CONFIGS
                .iter()
                .map(PathBuf::from)
                .filter(|p| p.exists()),
        );
    }
    Ok(Args {
        configs,
        dev_root,
        sys_root,
        proc_root,
    })
}

/// Entry point for `argv[0] == "ueventd"`: `args` is the full argv (program name first).
pub fn applet_main(args: &[OsString], hooks: Hooks) -> i32 {
    let args = match parse_args(args.get(1..).unwrap_or_default()) {
        Ok(a) => a,
        Err(None) => {
            println!("{USAGE}");
            return 0;
        }
        Err(Some(msg)) => {
            eprintln!("ueventd: {msg}\n{USAGE}");
            return 2;
        }
    };
    log::info!("ueventd: started, configuration {:?}", args.configs);
    #[cfg(feature = "test-hooks")]
    if std::fs::read_to_string("/proc/cmdline").is_ok_and(|c| {
        c.split_whitespace()
            .any(|w| w == "test_hooks.ueventd_panic")
    }) {
        panic!("test hook: test_hooks.ueventd_panic is on the kernel command line");
    }
    let (config, errors) = parse_config_files(&args.configs);
    for e in &errors {
        log::warn!("ueventd: {e}");
    }
    let ops = RealDeviceOps;
    let boot_devices =
        BootDevices::from_list(boot_config::BootConfig::read(&args.proc_root).boot_devices());
    if let BootDevices::Only(list) = &boot_devices {
        log::info!("ueventd: by-name links only on androidboot.boot_devices={list:?}");
    }
    let mut daemon = Ueventd::new(
        config,
        args.dev_root,
        args.sys_root,
        &ops,
        hooks.props.as_ref(),
        hooks.labeler.as_ref(),
        hooks.modalias.as_deref(),
    );
    daemon.boot_devices = boot_devices;
    match daemon.run() {
        Ok(never) => match never {},
        Err(e) => {
            log::error!("ueventd: {e}");
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn parses_flags() {
        let a = parse_args(&os(&[
            "--config",
            "/a.rc",
            "--config=/b.rc",
            "--dev-root",
            "/tmp/dev",
            "--sys-root=/tmp/sys",
            "--proc-root",
            "/tmp/proc",
        ]))
        .unwrap();
        assert_eq!(
            a.configs,
            vec![PathBuf::from("/a.rc"), PathBuf::from("/b.rc")]
        );
        assert_eq!(a.dev_root, PathBuf::from("/tmp/dev"));
        assert_eq!(a.sys_root, PathBuf::from("/tmp/sys"));
        assert_eq!(a.proc_root, PathBuf::from("/tmp/proc"));
    }

    #[test]
    fn defaults() {
        let a = parse_args(&[]).unwrap();
        assert_eq!(a.configs[0], PathBuf::from(SYSTEM_CONFIG));
        // Partner files are read only when they exist (none on the build host).
        for c in &a.configs[1..] {
            assert!(c.exists(), "{}", c.display());
        }
        assert_eq!(a.dev_root, PathBuf::from("/dev"));
        assert_eq!(a.sys_root, PathBuf::from("/sys"));
        assert_eq!(a.proc_root, PathBuf::from("/proc"));
    }

    #[test]
    fn errors() {
        assert_eq!(parse_args(&os(&["--help"])), Err(None));
        assert!(matches!(parse_args(&os(&["--config"])), Err(Some(_))));
        assert!(matches!(parse_args(&os(&["--config="])), Err(Some(_))));
        assert!(matches!(parse_args(&os(&["--frob"])), Err(Some(_))));
        assert!(matches!(parse_args(&os(&["extra"])), Err(Some(_))));
    }

    #[test]
    fn bad_usage_exits_2() {
        struct P;
        impl PropertySetter for P {
            fn set(&self, _: &str, _: &str) -> Result<(), String> {
                Ok(())
            }
            fn get(&self, _: &str) -> Option<String> {
                None
            }
        }
        let hooks = Hooks {
            props: Box::new(P),
            labeler: Box::new(crate::NoopLabeler),
            modalias: None,
        };
        assert_eq!(applet_main(&os(&["ueventd", "--bogus"]), hooks), 2);
    }
}
