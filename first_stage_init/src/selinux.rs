//! SELinux in the first stage, as AOSP's `selinux_setup` on Microdroid: load the
//! initramfs's compiled policy (`/sepolicy`), set the mode the boot decided
//! ([`BootConfig::selinux_mode`]: enforcing, or permissive on a debuggable boot that asks
//! for it), and label what the first stage made and the initramfs itself, so that
//! exec'ing `/system/bin/init` moves PID 1 from `kernel` to `init` by the policy's
//! transition on `init_exec`.
//!
//! A policy is required on every boot: a missing one is `SELINUX_POLICY_MISSING`, a
//! present one that cannot be loaded `SELINUX_POLICY_LOAD` (fail closed). A debuggable
//! boot is no exception: AOSP's init has no SELinux-off path either; permissive mode is
//! the debuggable boot's way to see what the policy would deny.

use std::path::Path;

use boot_config::BootConfig;
use nix::mount::MsFlags;
use sepolicy::{FileContexts, Labeler, SystemXattr};

use crate::fatal::{Fatal, Reason};
use crate::platform::Platform;

/// Where the compiled policy sits in the initramfs.
pub const POLICY: &str = "/sepolicy";
/// Where selinuxfs is mounted.
pub const SELINUXFS: &str = "/sys/fs/selinux";

/// Loads the policy at `root/sepolicy` and sets the boot's mode; logs one line with the
/// mode and why.
pub fn load(p: &dyn Platform, root: &Path, cfg: &BootConfig) -> Result<(), Fatal> {
    let policy_path = root.join(POLICY.trim_start_matches('/'));
    if !policy_path.exists() {
        return Err(Fatal::new(
            Reason::SelinuxPolicyMissing,
            format!("no SELinux policy at {POLICY}; every boot needs one (a debuggable boot may run it permissive)"),
        ));
    }
    let fail = |what: String| Fatal::new(Reason::SelinuxPolicyLoad, what);
    let policy = std::fs::read(&policy_path)
        .map_err(|e| fail(format!("reading {}: {e}", policy_path.display())))?;
    let selinuxfs = root.join(SELINUXFS.trim_start_matches('/'));
    match p.mount(
        "selinuxfs",
        &selinuxfs,
        "selinuxfs",
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        None,
    ) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {}
        Err(e) => {
            return Err(fail(format!(
                "mount selinuxfs on {SELINUXFS}: {e} (is the kernel booted with \
                 security=selinux selinux=1?)"
            )))
        }
    }
    sepolicy::load_policy(&selinuxfs, &policy).map_err(|e| fail(e.to_string()))?;
    let mode = cfg.selinux_mode();
    sepolicy::set_enforce(&selinuxfs, mode.enforcing).map_err(|e| fail(e.to_string()))?;
    log::info!(
        "selinux: policy loaded ({} bytes); {}: {}",
        policy.len(),
        if mode.enforcing {
            "enforcing"
        } else {
            "permissive"
        },
        mode.why
    );
    Ok(())
}

/// The file_contexts of the running system (plat from the initramfs, vendor from
/// `/vendor`), with every rejected line logged, each line prefixed with `who` (the
/// applet, for processes whose logger adds no tag). `None` when there are none.
pub fn file_contexts(root: &Path, who: &str) -> Option<FileContexts> {
    let files = sepolicy::android_file_contexts_paths(root);
    if files.is_empty() {
        return None;
    }
    match FileContexts::load_android(&files) {
        Ok(outcome) => {
            for e in outcome.errors.iter() {
                log::warn!("{who}selinux: {e}");
            }
            Some(outcome.contexts)
        }
        Err(e) => {
            log::error!("{who}selinux: cannot read file_contexts: {e}");
            None
        }
    }
}

/// Labels, from the system's file_contexts, the initramfs's own files (the root
/// filesystem, not the filesystems mounted on it: `/system/bin/init` becomes
/// `init_exec`, the entry point of the `init` domain) and then `paths` recursively
/// (what the first stage made in `/dev` and `/microdroid_resources`). Failures are
/// logged: labels are enforced by the policy, not by the boot.
pub fn restorecon(root: &Path, paths: &[&str]) {
    let Some(fc) = file_contexts(root, "") else {
        log::warn!("selinux: no file_contexts; nothing labelled");
        return;
    };
    let ops = SystemXattr;
    let labeler = Labeler::new(&fc, &ops).with_root(root);
    let report =
        |path: &str, r: Result<sepolicy::RestoreconReport, sepolicy::SepolicyError>| match r {
            Ok(r) => log::info!("selinux: restorecon {path}: {r}"),
            Err(e) => log::error!("selinux: restorecon {path}: {e}"),
        };
    let rootfs = Labeler::new(&fc, &ops)
        .with_root(root)
        .with_skip_mounts(true);
    report("/", rootfs.restorecon(Path::new("/"), true));
    for path in paths {
        report(path, labeler.restorecon(Path::new(path), true));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::{Op, Recorder};
    use boot_config::DtProperty;

    fn cfg(cmdline: &str) -> BootConfig {
        BootConfig::from_parts(cmdline, "", false, DtProperty::Absent)
    }

    /// A root with `/sepolicy` (if given) and a stand-in selinuxfs.
    fn root(policy: Option<&[u8]>) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let fs = d.path().join("sys/fs/selinux");
        std::fs::create_dir_all(&fs).unwrap();
        std::fs::write(fs.join("load"), b"").unwrap();
        std::fs::write(fs.join("enforce"), b"").unwrap();
        if let Some(p) = policy {
            std::fs::write(d.path().join("sepolicy"), p).unwrap();
        }
        d
    }

    #[test]
    fn a_missing_policy_is_fatal_on_every_boot() {
        for cmdline in [
            "",
            "androidboot.microdroid.debuggable=1 androidboot.selinux=permissive",
        ] {
            let d = root(None);
            let p = Recorder::default();
            let e = load(&p, d.path(), &cfg(cmdline)).unwrap_err();
            assert_eq!(e.reason, Reason::SelinuxPolicyMissing, "{cmdline}");
            assert!(e.detail.contains("no SELinux policy at /sepolicy"), "{e}");
            assert!(p.take().is_empty(), "nothing mounted");
        }
    }

    #[test]
    fn the_policy_is_loaded_and_the_boot_decides_the_mode() {
        for (cmdline, enforce) in [
            ("", b"1"),
            // A normal boot ignores the request.
            ("androidboot.selinux=permissive", b"1"),
            (
                "androidboot.microdroid.debuggable=1 androidboot.selinux=permissive",
                b"0",
            ),
        ] {
            let d = root(Some(b"policy bytes"));
            let p = Recorder::default();
            load(&p, d.path(), &cfg(cmdline)).unwrap();
            let fs = d.path().join("sys/fs/selinux");
            assert_eq!(std::fs::read(fs.join("load")).unwrap(), b"policy bytes");
            assert_eq!(
                std::fs::read(fs.join("enforce")).unwrap(),
                enforce,
                "{cmdline}"
            );
            assert!(matches!(&p.take()[..], [Op::Mount(s, t, ..)] if s == "selinuxfs" && *t == fs));
        }
    }

    #[test]
    fn selinuxfs_that_cannot_be_mounted_is_a_load_failure() {
        let d = root(Some(b"p"));
        let p = Recorder {
            fail_mounts: vec![d.path().join("sys/fs/selinux")],
            ..Default::default()
        };
        let e = load(&p, d.path(), &cfg("")).unwrap_err();
        assert_eq!(e.reason, Reason::SelinuxPolicyLoad);
        assert!(e.detail.contains("security=selinux selinux=1"), "{e}");
    }
}
