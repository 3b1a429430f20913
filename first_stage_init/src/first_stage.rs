//! The first stage, in boot order (ARCHITECTURE.md walks through it):
//!
//! 1. `start`, `early_mounts`: `/proc`, `/sys`, devtmpfs `/dev`, the
//!    `/microdroid_resources` tmpfs; logging moves to `/dev/kmsg`;
//! 2. `partition`: the `microdroid-vendor` block device (on `androidboot.boot_devices`
//!    when set) and its by-name link, looked for while the first-stage modules load;
//! 3. `modules`: the initramfs's first-stage modules (`/lib/modules/modules.load`), on a
//!    thread of their own since the early mounts, joined here; the partition is then
//!    confirmed the only one;
//! 4. `vbmeta`: footer, vbmeta and signature (read during step 3); root digest against
//!    the device tree (under strict boot also: the first hashtree descriptor, no
//!    `check_at_most_once`);
//! 5. `dice_driver` (strict boot only): up to 10 s for `/dev/open-dice0`;
//! 6. `verity`, `vendor_mount`: `BLKROSET` on the partition, dm-verity over it, ext4
//!    read-only on `/vendor`, while on another thread
//! 7. `dice`: the Microdroid vendor DICE node is derived into `dice_chain.raw` (joined
//!    here, the driver wiped, before any vendor module);
//! 8. `vendor_modules`: one `modprobe -a` pass over the vendor's `modules.load`
//!    (`/vendor/lib/modules`, or its `<release>` subdirectory in depmod's layout);
//! 9. `selinux`: policy load (required), the boot's mode, labels for the initramfs
//!    (`/system/bin/init` becomes `init_exec`), `/dev` and `/microdroid_resources`;
//! 10. `second_stage`: exec the rc interpreter (or power off if there is none); the
//!     policy's transition on `init_exec` moves PID 1 from `kernel` to `init`.
//!
//! The host's inputs are read once, after the early mounts, into a
//! [`boot_config::BootConfig`] whose decisions (strict, debuggable, `/vendor` wanted, boot
//! devices) every step uses. Steps 2 and 4–8 run only when the host asked for a vendor
//! partition (DESIGN §2), step 5 also on a strict boot without one (as AOSP); a failed
//! step 3 is fatal on a normal boot or when the vendor needs it. The concurrency changes
//! no outcome: a failure is reported in the boot's
//! dependency order (modules, partition, vbmeta, DICE, dm-verity, mount) whichever
//! thread saw it first. Each step returns `Result<_, Fatal>`; [`run`] turns an error
//! into the `FIRST_STAGE_FATAL` line and a power-off.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::thread::ScopedJoinHandle;
use std::time::{Duration, Instant};

use avb::HashtreeDescriptor;
use boot_config::BootConfig;
use log::LevelFilter;
use ueventd::socket::DEFAULT_RCVBUF;
use ueventd::{BlockDevice, BootDevices, UeventSocket, UeventSource};

use crate::fatal::{self, Fatal, Reason};
use crate::mounts::{self, EARLY_MOUNTS};
use crate::platform::{Kernel, Platform};
use crate::timeline::Timeline;
use crate::vendor::{self, ModulePass, VendorPlan};
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

    /// Where the first-stage modules are and the parameters they get from the command
    /// line (read here, before the boot's decisions are made, so the pass can start at
    /// once); `None` if there is no `modules.load` (nothing to load).
    fn first_stage_job(&self) -> Option<ModuleJob> {
        let lib = self.layout.path("/lib/modules");
        let dir = kmods::pass_dir("first_stage", &lib, self.kernel_release().trim())
            .inspect_err(|line| log::info!("{line}"))
            .ok()?;
        let cmdline = std::fs::read(self.layout.path("/proc/cmdline")).unwrap_or_default();
        Some(ModuleJob {
            dir,
            cmdline: String::from_utf8_lossy(&cmdline).into_owned(),
        })
    }

    /// Waits for the first-stage module pass (once), logs it and marks `modules`. Its
    /// failure is fatal on a normal boot (AOSP: only debuggable boots may go on) and
    /// whenever a vendor partition is wanted (the modules are what reaches it).
    fn finish_modules(
        &mut self,
        cfg: &BootConfig,
        modules: &mut FirstStageModules<'_, '_>,
        needed: bool,
    ) -> Result<(), Fatal> {
        if modules.joined.is_none() {
            let problem = match modules.handle.take().map(|h| h.join()) {
                Some(Ok(Some(Ok(p)))) => {
                    kmods::log_report("first_stage", &p);
                    kmods::first_stage_problem(&p)
                }
                Some(Ok(Some(Err(e)))) => {
                    log::error!("modules pass=first_stage: {e}");
                    Some(e)
                }
                Some(Ok(None)) | None => None,
                Some(Err(_)) => Some("the first-stage module thread panicked".to_owned()),
            };
            self.mark("modules");
            modules.joined = Some(problem);
        }
        let problem = modules.joined.as_ref().and_then(Option::as_deref);
        if kmods::first_stage_verdict(problem, cfg, needed)? && !modules.excused {
            modules.excused = true;
            log::warn!("{}", kmods::GOING_ON);
        }
        Ok(())
    }

    /// A vendor step's failure, unless the first-stage modules failed: that comes first in
    /// the boot's dependency order (it is what the step needed), so it is reported instead.
    fn modules_first<T>(
        &mut self,
        cfg: &BootConfig,
        modules: &mut FirstStageModules<'_, '_>,
        step: Result<T, Fatal>,
    ) -> Result<T, Fatal> {
        step.map_err(|f| match self.finish_modules(cfg, modules, true) {
            Err(m) => m,
            Ok(()) => f,
        })
    }

    /// Strict boot: the DICE driver must appear (from the first-stage modules) within
    /// [`dice::DRIVER_TIMEOUT`]; marks `dice_driver` when the wait ends either way.
    fn wait_for_dice_driver(&mut self) -> Result<(), Fatal> {
        let waited = dice::wait_for_driver(&self.layout.path(dice::DRIVER), dice::DRIVER_TIMEOUT);
        self.mark("dice_driver");
        let waited = waited?;
        log::info!(
            "dice: {} present (strict boot), waited {} ms",
            dice::DRIVER,
            waited.as_millis()
        );
        Ok(())
    }

    /// Steps 3–7: the verified vendor partition, its DICE node and its modules. The
    /// partition is looked for and its vbmeta read while the first-stage modules still
    /// load (the disk needs only virtio; device-mapper is needed from dm-verity on), and
    /// judged once they are in and the partition is confirmed the only one; the DICE node
    /// is derived while dm-verity and the mount proceed, and is joined (parent wiped,
    /// output written) before any vendor module loads. Failures are reported in the
    /// boot's dependency order: modules, partition, vbmeta, DICE, dm-verity, mount.
    fn vendor(
        &mut self,
        cfg: &BootConfig,
        expected_digest: &str,
        modules: &mut FirstStageModules<'_, '_>,
        mut uevents: Option<UeventSocket>,
    ) -> Result<(), Fatal> {
        let sys_root = self.layout.path("/sys");
        let dev_root = self.layout.path("/dev");
        let boot_devices = BootDevices::from_list(cfg.boot_devices());
        let found = vendor::wait_for_partition(
            &sys_root,
            &boot_devices,
            vendor::PARTITION_TIMEOUT,
            &|| modules.state(),
            &mut |limit| wait_for_uevent(uevents.as_mut(), limit),
        );
        drop(uevents);
        let dev = self.modules_first(cfg, modules, found)?;
        let made = vendor::create_nodes(self.platform.device_ops(), &dev_root, &dev);
        let node = self.modules_first(cfg, modules, made)?;
        log::info!("vendor: {} is /dev/block/{}", node.display(), dev.name);
        self.mark("partition");

        // The vbmeta is read and its signature checked while the modules may still load;
        // its outcome counts only after theirs and after the partition is confirmed.
        let vbmeta = vendor::read_vbmeta(&node);
        self.finish_modules(cfg, modules, true)?;
        vendor::confirm_partition(&sys_root, &boot_devices, &dev)?;
        let vbmeta = vbmeta?;
        let desc = vendor::check_digest(&vbmeta, expected_digest, cfg.strict_boot)?;
        log::info!("{}", vendor::vbmeta_line(&vbmeta));
        self.mark("vbmeta");

        if cfg.strict_boot {
            self.wait_for_dice_driver()?;
        }

        let out = self.layout.path(dice::RESOURCES_DIR).join(dice::CHAIN_FILE);
        let driver = self.layout.path(dice::DRIVER);
        let m = dice::measurement(&vbmeta, desc);
        let strict = cfg.strict_boot;
        let (derived, mounted) = std::thread::scope(|s| {
            let derivation = s.spawn(|| dice::derive(&driver, strict, &m, &out));
            // The vendor pass is planned (its `modules.*` read from /vendor) while the
            // derivation may still run; nothing loads before the join.
            let mounted = self
                .verity_and_mount(&dev_root, &node, &dev, desc)
                .map(|()| self.prepare_vendor_modules(cfg));
            (derivation.join(), mounted)
        });
        let kind = derived
            .unwrap_or_else(|_| Err(Fatal::new(Reason::Panic, "the DICE thread panicked")))?;
        let vendor_pass = mounted?;
        log::info!(
            "dice: \"Microdroid vendor\" node written to {} (parent: {kind:?})",
            out.display()
        );
        self.mark("dice");

        match vendor_pass {
            Some(Ok(prepared)) => {
                let pass = prepared.execute(self.platform.module_loader());
                kmods::log_report("vendor", &pass);
            }
            // A failed vendor pass is logged and the boot goes on (DESIGN §5).
            Some(Err(e)) => log::error!("modules pass=vendor: {e}"),
            None => {}
        }
        self.mark("vendor_modules");
        Ok(())
    }

    /// Plans the vendor's module pass: `/vendor/lib/modules` in the flat (Android) or
    /// per-release (depmod) layout, chosen as for the first stage. `None` when there is
    /// no `modules.load`.
    fn prepare_vendor_modules(&self, cfg: &BootConfig) -> Option<Result<kmods::Prepared, String>> {
        let lib = self.layout.path("/vendor/lib/modules");
        let dir = kmods::pass_dir("vendor", &lib, self.kernel_release().trim())
            .inspect_err(|line| log::info!("{line}"))
            .ok()?;
        Some(kmods::prepare(
            &dir,
            modprobe::cmdline_module_params(&cfg.cmdline),
        ))
    }

    /// `BLKROSET` on the raw partition, dm-verity over it, ext4 read-only on `/vendor`.
    fn verity_and_mount(
        &mut self,
        dev_root: &Path,
        node: &Path,
        dev: &BlockDevice,
        desc: &HashtreeDescriptor,
    ) -> Result<(), Fatal> {
        vendor::make_read_only(self.platform, node)?;
        let mapper = vendor::setup_verity(self.platform, dev_root, dev, desc)?;
        self.mark("verity");
        vendor::mount(self.platform, &mapper, &self.layout.path("/vendor"))?;
        log::info!("vendor: {} mounted read-only on /vendor", mapper.display());
        self.mark("vendor_mount");
        Ok(())
    }

    /// Runs every step in order and says what comes next.
    pub fn run(&mut self) -> Result<Next, Fatal> {
        self.mark("start");
        self.early_mounts()?;
        // The first-stage modules need only the initramfs and the command line: their
        // pass starts on its own thread now, while the boot's decisions are made and the
        // vendor steps that do not need every module run. The uevent socket is opened
        // right after the thread starts, while it reads and plans its `modules.*` (tens of
        // ms before the first module loads), so the disk's uevents are queued for the
        // partition search; the search also scans sysfs, so a uevent the socket missed
        // is never lost.
        let job = self.first_stage_job();
        let loader = self.platform.module_loader();
        let done = OnceLock::new();
        let mut cfg = BootConfig::default();
        std::thread::scope(|s| -> Result<(), Fatal> {
            let handle = s.spawn(|| {
                let outcome = job.map(|j| {
                    let params = modprobe::cmdline_module_params(j.cmdline.trim());
                    kmods::load_pass(&j.dir, loader, params)
                });
                let ok = match &outcome {
                    None => true,
                    Some(Ok(p)) => p.is_success(),
                    Some(Err(_)) => false,
                };
                let _ = done.set((Instant::now(), ok));
                outcome
            });
            let uevents = UeventSocket::open(DEFAULT_RCVBUF)
                .inspect_err(|e| {
                    log::warn!("no uevent socket ({e}): the partition search polls sysfs")
                })
                .ok();
            let mut modules = FirstStageModules {
                handle: Some(handle),
                done: &done,
                joined: None,
                excused: false,
            };
            cfg = BootConfig::read(&self.layout.path("/proc"));
            let plan = vendor::plan(&cfg)?;
            log::info!("{}", vendor::boot_line(&cfg, &plan));
            match &plan {
                VendorPlan::Mount { expected_digest } => {
                    self.vendor(&cfg, expected_digest, &mut modules, uevents)
                }
                VendorPlan::Skip { why } => {
                    drop(uevents);
                    log::info!("{}", vendor::skip_line(why));
                    self.finish_modules(&cfg, &mut modules, false)?;
                    if cfg.strict_boot {
                        self.wait_for_dice_driver()?;
                    }
                    Ok(())
                }
            }
        })?;
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

/// The first-stage modules to load: their directory, and the command line their
/// parameters come from.
struct ModuleJob {
    dir: PathBuf,
    cmdline: String,
}

/// What the module thread returns: `None` when there was nothing to load.
type ModuleOutcome = Option<Result<kmods::Pass, String>>;

/// The first-stage module pass running on its own thread.
struct FirstStageModules<'scope, 'env> {
    handle: Option<ScopedJoinHandle<'scope, ModuleOutcome>>,
    /// Set by the thread as it ends: when, and whether everything loaded.
    done: &'env OnceLock<(Instant, bool)>,
    /// After the join: the failure, if any.
    joined: Option<Option<String>>,
    /// The "going on" warning was logged.
    excused: bool,
}

impl FirstStageModules<'_, '_> {
    /// Where the pass stands, for the partition search.
    fn state(&self) -> ModulePass {
        match self.done.get() {
            None => ModulePass::Loading,
            Some((at, true)) => ModulePass::Loaded(*at),
            Some((_, false)) => ModulePass::Failed,
        }
    }
}

/// Blocks for at most `limit` or until the kernel sends a uevent, then drains what is
/// pending (the caller rescans sysfs; the events only say "look again"). Without a
/// socket, sleeps a short while.
fn wait_for_uevent(socket: Option<&mut UeventSocket>, limit: Duration) {
    let Some(socket) = socket else {
        std::thread::sleep(limit.min(Duration::from_millis(5)));
        return;
    };
    match socket.wait_timeout(Some(limit)) {
        Ok(true) => while let Ok(Some(_)) = socket.try_recv() {},
        Ok(false) => {}
        Err(e) => {
            log::warn!("vendor: uevent socket: {e}");
            std::thread::sleep(limit.min(Duration::from_millis(5)));
        }
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
