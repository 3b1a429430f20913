//! SELinux in the first stage: load a compiled policy if the initramfs has one
//! (`/sepolicy`), set enforcing per the command line, and label what the first stage
//! made. A present policy that cannot load is fatal (fail closed); no policy means
//! SELinux stays off and labelling is a logged no-op.

use std::path::{Path, PathBuf};

use nix::mount::MsFlags;
use sepolicy::{FileContexts, Labeler, SystemXattr};

use crate::fatal::{Fatal, Reason};
use crate::platform::Platform;

/// Where the compiled policy sits in the initramfs.
pub const POLICY: &str = "/sepolicy";
/// Where selinuxfs is mounted.
pub const SELINUXFS: &str = "/sys/fs/selinux";

/// Loads the policy at `root/sepolicy` if present. Returns whether SELinux is now active.
pub fn load(p: &dyn Platform, root: &Path, cmdline: &str) -> Result<bool, Fatal> {
    let policy_path = root.join(POLICY.trim_start_matches('/'));
    if !policy_path.exists() {
        log::info!("selinux: no policy at {POLICY}; SELinux stays off");
        return Ok(false);
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
    let enforcing = sepolicy::selinux_enforcing_from_cmdline(cmdline);
    sepolicy::set_enforce(&selinuxfs, enforcing).map_err(|e| fail(e.to_string()))?;
    log::info!(
        "selinux: policy loaded ({} bytes), {}",
        policy.len(),
        if enforcing { "enforcing" } else { "permissive" }
    );
    Ok(true)
}

/// The file_contexts of the running system (plat from the initramfs, vendor from
/// `/vendor`), with every rejected line logged, each line prefixed with `who` (the
/// applet, for processes whose logger adds no tag). `None` when there are none.
pub fn file_contexts(root: &Path, who: &str) -> Option<FileContexts> {
    let files: Vec<PathBuf> = sepolicy::android_file_contexts_paths(root);
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

/// Labels `paths` recursively from the system's file_contexts (a no-op when SELinux is
/// off). Failures are logged: labels are enforced by the policy, not by the boot.
pub fn restorecon(root: &Path, active: bool, paths: &[&str]) {
    if !active {
        log::debug!("selinux: off, not labelling {paths:?}");
        return;
    }
    let Some(fc) = file_contexts(root, "") else {
        log::warn!("selinux: active but no file_contexts; nothing labelled");
        return;
    };
    let ops = SystemXattr;
    let labeler = Labeler::new(&fc, &ops).with_root(root);
    for path in paths {
        match labeler.restorecon(Path::new(path), true) {
            Ok(r) => log::info!("selinux: restorecon {path}: {r}"),
            Err(e) => log::error!("selinux: restorecon {path}: {e}"),
        }
    }
}
