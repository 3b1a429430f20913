//! The first stage, in boot order (ARCHITECTURE.md walks through it):
//!
//! 1. `start`, `early_mounts`: `/proc`, `/sys`, devtmpfs `/dev`, the
//!    `/microdroid_resources` tmpfs; logging moves to `/dev/kmsg`;
//! 2. `modules`: the initramfs's first-stage modules (`/lib/modules/modules.load`);
//! 3. `partition`: the `microdroid-vendor` block device and its by-name link;
//! 4. `vbmeta`: footer, vbmeta and signature; root digest against the device tree;
//! 5. `dice`: the Microdroid vendor DICE node into `dice_chain.raw`;
//! 6. `verity`, `vendor_mount`: dm-verity over the partition, ext4 read-only on `/vendor`;
//! 7. `vendor_modules`: one `modprobe -a` pass over the vendor's `modules.load`
//!    (`/vendor/lib/modules`, or its `<release>` subdirectory in depmod's layout);
//! 8. `selinux`: policy load (required), the boot's mode, labels for the initramfs
//!    (`/system/bin/init` becomes `init_exec`), `/dev` and `/microdroid_resources`;
//! 9. `second_stage`: exec the rc interpreter (or power off if there is none); the
//!    policy's transition on `init_exec` moves PID 1 from `kernel` to `init`.
//!
//! The host's inputs are read once, after the early mounts, into a
//! [`boot_config::BootConfig`] whose decisions (strict, debuggable, `/vendor` wanted) every
//! step uses. Steps 3–7 run only when the host asked for a vendor partition (DESIGN §2),
//! and a failed step 2 is fatal on a normal boot or when the vendor needs it. Each step
//! returns `Result<_, Fatal>`; [`run`] turns an error into the `FIRST_STAGE_FATAL` line
//! and a power-off.

use std::path::{Path, PathBuf};

use boot_config::BootConfig;
use log::LevelFilter;

use crate::fatal::{self, Fatal, Reason};
use crate::mounts::{self, EARLY_MOUNTS};
use crate::platform::{Kernel, Platform};
use crate::timeline::Timeline;
use crate::vendor::{self, VendorPlan};
use crate::{dice, kmods, logger, selinux, sys};

/// The rc interpreter's main file: if the initramfs has it, the first stage execs the
/// second stage.
pub const INIT_RC: &str = "/system/etc/init/hw/init.rc";
/// The multi-call binary under its second-stage name.
pub const SECOND_STAGE: &str = "/system/bin/init";

/// Where the first stage finds things. Everything is under `root` so tests can point it
/// at a fixture tree.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The filesystem root (`/` in the guest).
    pub root: PathBuf,
}

impl Layout {
    /// The guest's real layout.
    pub fn guest() -> Layout {
        Layout {
            root: PathBuf::from("/"),
        }
    }

    /// An absolute guest path under the root.
    pub fn path(&self, p: &str) -> PathBuf {
        mounts::under(&self.root, p)
    }
}

/// What the first stage ends with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Exec the second stage.
    SecondStage,
    /// No rc interpreter in the initramfs: power off.
    PowerOff,
}

/// State of one first-stage boot.
pub struct Boot<'a> {
    platform: &'a dyn Platform,
    layout: Layout,
    timeline: Timeline,
}

impl<'a> Boot<'a> {
    /// A boot over `platform` and `layout`.
    pub fn new(platform: &'a dyn Platform, layout: Layout) -> Boot<'a> {
        Boot {
            platform,
            layout,
            timeline: Timeline::default(),
        }
    }

    /// Marks the end of a phase now.
    pub fn mark(&mut self, phase: &'static str) {
        self.timeline.mark(phase, sys::monotonic());
    }

    /// Mounts the early filesystems, then moves logging to `/dev/kmsg`.
    pub fn early_mounts(&mut self) -> Result<(), Fatal> {
        mounts::apply(self.platform, &self.layout.root, EARLY_MOUNTS)
            .map_err(|e| Fatal::new(Reason::EarlyMount, e.to_string()))?;
        match logger::attach_kmsg(&self.layout.path("/dev/kmsg")) {
            Ok(()) => {
                // Userspace kmsg writes are rate limited (10 lines / 5 s) by default;
                // the boot log is our interface, so lift the limit as Android does.
                let knob = self.layout.path("/proc/sys/kernel/printk_devkmsg");
                if let Err(e) = self.platform.write_file(&knob, b"on\n") {
                    log::warn!("cannot lift the kmsg rate limit ({}): {e}", knob.display());
                }
            }
            Err(e) => log::warn!("cannot open /dev/kmsg, logging to the console: {e}"),
        }
        self.mark("early_mounts");
        Ok(())
    }

    /// `uname -r`, from procfs.
    fn kernel_release(&self) -> String {
        std::fs::read_to_string(self.layout.path("/proc/sys/kernel/osrelease")).unwrap_or_default()
    }

    /// Loads the initramfs's first-stage modules. Their failure is fatal on a normal boot
    /// (AOSP: only debuggable boots may go on) and whenever a vendor partition is wanted
    /// (they are what reaches it).
    pub fn first_stage_modules(&mut self, cfg: &BootConfig, needed: bool) -> Result<(), Fatal> {
        let lib = self.layout.path("/lib/modules");
        let dir = modprobe::first_stage_module_dir(&lib, self.kernel_release().trim());
        if !dir.join("modules.load").exists() {
            log::info!(
                "modules pass=first_stage: no {}/modules.load",
                dir.display()
            );
            self.mark("modules");
            return Ok(());
        }
        let params = modprobe::cmdline_module_params(&cfg.cmdline);
        let outcome = kmods::load_pass(&dir, self.platform.module_loader(), params);
        let problem = match &outcome {
            Ok(p) => {
                kmods::log_report("first_stage", p);
                (!p.is_success())
                    .then(|| format!("first-stage modules failed: {}", p.failed_names().join(" ")))
            }
            Err(e) => {
                log::error!("modules pass=first_stage: {e}");
                Some(e.clone())
            }
        };
        self.mark("modules");
        match problem {
            Some(detail) if needed || !cfg.debuggable => {
                Err(Fatal::new(Reason::ModuleLoad, detail))
            }
            Some(_) => {
                log::warn!(
                    "modules pass=first_stage: going on (debuggable boot, no vendor partition)"
                );
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Steps 3–7: the verified vendor partition, its DICE node and its modules.
    pub fn vendor(&mut self, cfg: &BootConfig, expected_digest: &str) -> Result<(), Fatal> {
        let sys_root = self.layout.path("/sys");
        let dev_root = self.layout.path("/dev");
        let dev = vendor::wait_for_partition(&sys_root, vendor::PARTITION_TIMEOUT)?;
        let node = vendor::create_nodes(self.platform.device_ops(), &dev_root, &dev)?;
        log::info!("vendor: {} is /dev/block/{}", node.display(), dev.name);
        self.mark("partition");

        let vbmeta = vendor::read_vbmeta(&node)?;
        let desc = vendor::check_digest(&vbmeta, expected_digest)?;
        log::info!(
            "vendor: vbmeta {} signed, rollback_index={}, root digest matches the device tree",
            vbmeta.algorithm().name(),
            vbmeta.rollback_index()
        );
        self.mark("vbmeta");

        let out = self.layout.path(dice::RESOURCES_DIR).join(dice::CHAIN_FILE);
        let m = dice::measurement(&vbmeta, desc);
        let kind = dice::derive(&self.layout.path(dice::DRIVER), cfg.strict_boot, &m, &out)?;
        log::info!(
            "dice: \"Microdroid vendor\" node written to {} (parent: {kind:?})",
            out.display()
        );
        self.mark("dice");

        let mapper = vendor::setup_verity(self.platform, &dev_root, &dev, desc)?;
        self.mark("verity");
        vendor::mount(self.platform, &mapper, &self.layout.path("/vendor"))?;
        log::info!("vendor: {} mounted read-only on /vendor", mapper.display());
        self.mark("vendor_mount");

        // Flat (Android) or per-release (depmod) layout, chosen as for the first stage.
        let dir = modprobe::first_stage_module_dir(
            &self.layout.path("/vendor/lib/modules"),
            self.kernel_release().trim(),
        );
        if dir.join("modules.load").exists() {
            let params = modprobe::cmdline_module_params(&cfg.cmdline);
            match kmods::load_pass(&dir, self.platform.module_loader(), params) {
                Ok(p) => kmods::log_report("vendor", &p),
                // A failed vendor pass is logged and the boot goes on (DESIGN §5).
                Err(e) => log::error!("modules pass=vendor: {e}"),
            }
        } else {
            log::info!("modules pass=vendor: no {}/modules.load", dir.display());
        }
        self.mark("vendor_modules");
        Ok(())
    }

    /// Runs every step in order and says what comes next.
    pub fn run(&mut self) -> Result<Next, Fatal> {
        self.mark("start");
        self.early_mounts()?;
        let cfg = BootConfig::read(&self.layout.path("/proc"));
        let plan = vendor::plan(&cfg)?;
        log::info!(
            "boot: {} vendor={}",
            cfg.describe(),
            match &plan {
                VendorPlan::Skip { .. } => "none",
                VendorPlan::Mount { .. } => "requested",
            }
        );
        self.first_stage_modules(&cfg, matches!(plan, VendorPlan::Mount { .. }))?;
        match &plan {
            VendorPlan::Mount { expected_digest } => self.vendor(&cfg, expected_digest)?,
            VendorPlan::Skip { why } => log::info!("vendor: booting without /vendor: {why}"),
        }
        selinux::load(self.platform, &self.layout.root, &cfg)?;
        selinux::restorecon(&self.layout.root, &["/dev", dice::RESOURCES_DIR]);
        self.mark("selinux");
        log_memory(&self.layout.path("/proc/self"));
        Ok(if self.layout.path(INIT_RC).exists() {
            Next::SecondStage
        } else {
            Next::PowerOff
        })
    }
}

/// A `<key>: <n> kB` field of a procfs file (`/proc/<pid>/status`, `smaps_rollup`).
pub fn proc_kb(file: &Path, key: &str) -> Option<u64> {
    std::fs::read_to_string(file)
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()
}

/// Logs `memory: VmHWM=<a> kB Rss=<b> kB`. `VmHWM` is the kernel's peak counter, but
/// with split RSS counting (Linux < 6.2) each thread keeps up to 64 page-fault events
/// unsynced, so it can lag far behind (12 kB for a 4.7 MiB binary has been seen);
/// `smaps_rollup`'s `Rss` walks the page tables, so it is exact, but only for now.
/// The peak is at least the larger of the two.
fn log_memory(proc_self: &Path) {
    let hwm = proc_kb(&proc_self.join("status"), "VmHWM");
    let rss = proc_kb(&proc_self.join("smaps_rollup"), "Rss");
    let show = |v: Option<u64>| v.map_or_else(|| "?".to_owned(), |k| k.to_string());
    log::info!("memory: VmHWM={} kB Rss={} kB", show(hwm), show(rss));
}

/// The PID 1 entry: runs the first stage, then execs the second stage or powers off;
/// never returns.
pub fn run() -> ! {
    fatal::install_panic_hook();
    logger::init("first_stage", LevelFilter::Info);
    let mut boot = Boot::new(&Kernel, Layout::guest());
    let next = match boot.run() {
        Ok(n) => n,
        Err(f) => fatal::die(&f),
    };
    match next {
        Next::SecondStage => {
            boot.mark("second_stage");
            let err = sys::execv(Path::new(SECOND_STAGE), &["init", "second_stage"]);
            fatal::die(&Fatal::new(
                Reason::SecondStageExec,
                format!("exec {SECOND_STAGE}: {err}"),
            ))
        }
        Next::PowerOff => {
            log::info!("no {INIT_RC}: powering off");
            boot.mark("poweroff");
            power_off()
        }
    }
}

/// Clean power-off: sync, `reboot(RB_POWER_OFF)`; never returns.
pub fn power_off() -> ! {
    sys::sync();
    let err = sys::power_off();
    fatal::die(&Fatal::new(
        Reason::Panic,
        format!("reboot(RB_POWER_OFF) failed: {err}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_proc_kb_fields() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("status");
        std::fs::write(
            &p,
            "Name:\tinit\nVmHWM:\t    2280 kB\nVmRSS:\t 100 kB\nRssAnon:\t 7 kB\n",
        )
        .unwrap();
        assert_eq!(proc_kb(&p, "VmHWM"), Some(2280));
        assert_eq!(proc_kb(&p, "VmRSS"), Some(100));
        // A key is a whole field name, not a prefix of one.
        assert_eq!(proc_kb(&p, "Rss"), None);
        assert_eq!(proc_kb(&p, "Name"), None);
        assert_eq!(proc_kb(&d.path().join("none"), "VmHWM"), None);
        let r = d.path().join("smaps_rollup");
        std::fs::write(
            &r,
            "00400000-7ffc [rollup]\nRss:                3968 kB\nPss:  3000 kB\n",
        )
        .unwrap();
        assert_eq!(proc_kb(&r, "Rss"), Some(3968));
    }
}
