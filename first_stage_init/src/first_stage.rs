//! The first stage, in boot order. Each step returns `Result<_, Fatal>`; [`run`] turns an
//! error into the `FIRST_STAGE_FATAL` line and a power-off.

use std::path::{Path, PathBuf};

use log::LevelFilter;

use crate::fatal::{self, Fatal, Reason};
use crate::mounts::{self, EARLY_MOUNTS};
use crate::platform::{Kernel, Platform};
use crate::timeline::Timeline;
use crate::{logger, sys};

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

    fn mark(&mut self, phase: &'static str) {
        self.timeline.mark(phase, sys::monotonic());
    }

    /// Mounts `/proc`, `/sys` and `/dev`, then moves logging to `/dev/kmsg`.
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

    /// Runs every step in order.
    pub fn run(&mut self) -> Result<(), Fatal> {
        self.mark("start");
        self.early_mounts()?;
        Ok(())
    }
}

/// The PID 1 entry: runs the first stage and powers off; never returns.
pub fn run() -> ! {
    fatal::install_panic_hook();
    logger::init("first_stage", LevelFilter::Info);
    let mut boot = Boot::new(&Kernel, Layout::guest());
    if let Err(f) = boot.run() {
        fatal::die(&f);
    }
    boot.mark("poweroff");
    power_off()
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

/// True if `path` names an existing file (helper for optional inputs).
pub fn exists(path: &Path) -> bool {
    path.symlink_metadata().is_ok()
}
