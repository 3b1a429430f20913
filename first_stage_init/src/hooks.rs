//! Glue between the applets the multi-call binary serves: ueventd sets properties
//! through the rc interpreter's property service (also to end the boot when it panics),
//! both label through the sepolicy crate, and ueventd's modalias requests load through
//! the modprobe crate.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use modprobe::{KernelLoader, ModuleDb, PlanOptions};
use sepolicy::{FileContexts, KernelDomainOps, Labeler, SystemXattr};

use crate::{kmods, oom, selinux, sys};

/// The property service socket (init_rc's).
pub const PROPERTY_SOCKET: &str = "/dev/socket/property_service";
/// Where vendor modules live (modalias lookups).
pub const VENDOR_MODULES: &str = "/vendor/lib/modules";

/// What ueventd's panic hook sets `sys.powerctl` to.
pub const UEVENTD_PANIC_POWERCTL: &str = "shutdown,ueventd-panic";

/// ueventd's panic hook. AOSP's ueventd ends the boot on a fatal error
/// (`InitFatalReboot`: a reboot to the bootloader); ours prints
/// `INIT_FATAL reason=PANIC ueventd: <message>` to the kernel log (without the logger,
/// whose lock the panic may hold), syncs, and asks init to power off through
/// `sys.powerctl` (ueventd has no CAP_SYS_BOOT; init then stops, unmounts and powers off
/// as for any shutdown). If init cannot be reached the process aborts, and init's rules
/// for a crashed critical service apply.
pub fn install_ueventd_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        kmsg_or_stderr(&init_rc::second_stage::panic_line(&format!(
            "ueventd: {info}"
        )));
        sys::sync();
        if let Err(e) = init_rc::set_property(
            Path::new(PROPERTY_SOCKET),
            "sys.powerctl",
            UEVENTD_PANIC_POWERCTL,
        ) {
            kmsg_or_stderr(&format!("ueventd: could not ask init to power off: {e}"));
        }
    }));
}

/// Writes `line` to the kernel log on a fresh descriptor, or to stderr if that fails.
fn kmsg_or_stderr(line: &str) {
    if !oom::write_kmsg(line.as_bytes()) {
        eprintln!("{line}");
    }
}

/// ueventd → property service.
pub struct PropertyClient {
    /// Socket path.
    pub socket: PathBuf,
}

impl ueventd::PropertySetter for PropertyClient {
    fn set(&self, name: &str, value: &str) -> Result<(), String> {
        init_rc::set_property(&self.socket, name, value).map_err(|e| e.to_string())
    }

    fn get(&self, name: &str) -> Option<String> {
        init_rc::get_property(&self.socket, name).ok().flatten()
    }
}

/// SELinux labels from the system's file_contexts, if SELinux is active.
pub struct ContextLabels {
    root: PathBuf,
    contexts: Option<FileContexts>,
}

impl ContextLabels {
    /// Loads the file_contexts under `root` when SELinux is active there; `who` prefixes
    /// the log lines (`init: `, `ueventd: `).
    pub fn load(root: &Path, who: &str) -> ContextLabels {
        let active =
            sepolicy::selinux_active(&root.join(selinux::SELINUXFS.trim_start_matches('/')));
        ContextLabels {
            root: root.to_owned(),
            contexts: if active {
                selinux::file_contexts(root, who)
            } else {
                None
            },
        }
    }

    fn with<R>(&self, f: impl FnOnce(&Labeler<'_>) -> R) -> Option<R> {
        let fc = self.contexts.as_ref()?;
        let ops = SystemXattr;
        let l = Labeler::new(fc, &ops).with_root(&self.root);
        Some(f(&l))
    }
}

impl ueventd::NodeLabeler for ContextLabels {
    fn label(&self, path: &Path, mode: u32) {
        match self.with(|l| l.label_new(path, mode)) {
            Some(Err(e)) => log::warn!("ueventd: label {}: {e}", path.display()),
            Some(Ok(())) => {}
            None => log::debug!("ueventd: SELinux off, not labelling {}", path.display()),
        }
    }
}

impl init_rc::Labeler for ContextLabels {
    fn selinux_active(&self) -> bool {
        self.contexts.is_some()
    }

    fn restorecon(&mut self, path: &Path, recursive: bool) -> Result<(), String> {
        match self.with(|l| l.restorecon(path, recursive)) {
            Some(r) => r.map(|_| ()).map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }

    fn exec_domain(
        &self,
        who: &str,
        program: &Path,
        seclabel: Option<&str>,
    ) -> Result<Option<String>, String> {
        if self.contexts.is_none() {
            return Ok(None);
        }
        let ops = KernelDomainOps::new(
            &self.root.join(selinux::SELINUXFS.trim_start_matches('/')),
            &self.root.join("proc"),
        );
        sepolicy::exec_domain(&ops, who, program, seclabel)
            .map(Some)
            .map_err(|e| e.to_string())
    }
}

/// ueventd's `modalias_handling`: load the vendor module(s) an alias names.
pub struct VendorModalias {
    dir: PathBuf,
    db: OnceLock<Option<ModuleDb>>,
}

impl VendorModalias {
    /// Resolves aliases against `dir/modules.alias`.
    pub fn new(dir: &Path) -> VendorModalias {
        VendorModalias {
            dir: dir.to_owned(),
            db: OnceLock::new(),
        }
    }
}

impl ueventd::ModaliasHandler for VendorModalias {
    fn handle(&self, modalias: &str) -> Result<(), String> {
        let db = self
            .db
            .get_or_init(|| ModuleDb::load(&self.dir).ok())
            .as_ref()
            .ok_or_else(|| format!("no module database in {}", self.dir.display()))?;
        let plan = db
            .plan(
                &[modalias],
                &PlanOptions {
                    blocklist: true,
                    extra_params: Vec::new(),
                },
            )
            .map_err(|e| e.to_string())?;
        if plan.modules.is_empty() {
            return Ok(());
        }
        let report = modprobe::execute(&plan, &KernelLoader, kmods::threads());
        if report.is_success() {
            Ok(())
        } else {
            Err(report.to_string().trim_end().replace('\n', "; "))
        }
    }
}
