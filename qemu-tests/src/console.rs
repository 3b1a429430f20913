//! What a boot printed, and the assertions tests make on it.

use std::fmt::Write as _;
use std::process::ExitStatus;
use std::time::Duration;

/// The outcome of one boot.
#[derive(Debug, Clone)]
pub struct BootLog {
    /// Everything the serial console printed.
    pub console: String,
    /// QEMU's own stderr.
    pub qemu_stderr: String,
    /// QEMU's exit status; `None` if it was killed at the deadline.
    pub status: Option<ExitStatus>,
    /// Wall time of the boot.
    pub elapsed: Duration,
    /// The QEMU command line (for failure messages).
    pub command: String,
}

/// Every phase of a non-strict boot that mounts a verified `/vendor` and execs the rc
/// interpreter, in order: the partition is found (and its vbmeta read) while the
/// first-stage modules still load (`modules` ends when they are joined; the vbmeta is
/// judged after that), and the DICE node is derived while dm-verity and the mount
/// proceed (`dice` ends at the join). A strict boot adds `dice_driver` after `vbmeta`.
pub const VENDOR_BOOT_PHASES: &[&str] = &[
    "start",
    "early_mounts",
    "partition",
    "modules",
    "vbmeta",
    "verity",
    "vendor_mount",
    "dice",
    "vendor_modules",
    "selinux",
    "second_stage",
];

/// A phase line `first_stage: phase=<name> t_ms=<n>` as parsed from the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    /// Phase name.
    pub name: String,
    /// Guest monotonic milliseconds.
    pub t_ms: u64,
}

impl BootLog {
    /// The console lines with the kernel's `[    1.234567] ` timestamp removed.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.console.lines().map(|l| {
            let l = l.trim_end_matches('\r');
            match (l.starts_with('['), l.find("] ")) {
                (true, Some(i)) => &l[i + 2..],
                _ => l,
            }
        })
    }

    /// Whether some line (timestamp removed, trailing blanks ignored) is exactly `line`.
    pub fn has_line(&self, line: &str) -> bool {
        self.lines().any(|l| l.trim_end() == line)
    }

    /// Lines containing `needle`.
    pub fn grep<'a>(&'a self, needle: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.lines().filter(move |l| l.contains(needle))
    }

    /// The kernel's SELinux denial records (`avc:  denied  { … }`), in order.
    pub fn avc_denials(&self) -> Vec<&str> {
        self.grep("avc:  denied").collect()
    }

    /// The phase timeline the first stage printed, in order.
    pub fn phases(&self) -> Vec<Phase> {
        self.lines()
            .filter_map(|l| {
                let rest = &l[l.find("first_stage: phase=")? + "first_stage: phase=".len()..];
                let (name, t) = rest.split_once(" t_ms=")?;
                Some(Phase {
                    name: name.to_owned(),
                    t_ms: t.trim().parse().ok()?,
                })
            })
            .collect()
    }

    /// The `FIRST_STAGE_FATAL` line, if any.
    pub fn fatal(&self) -> Option<&str> {
        self.lines()
            .find_map(|l| l.find("FIRST_STAGE_FATAL ").map(|i| &l[i..]))
    }

    /// Did the guest power off by itself (QEMU exited 0 before the deadline)?
    pub fn powered_off(&self) -> bool {
        self.status.is_some_and(|s| s.success()) && self.console.contains("reboot: Power down")
    }

    /// Did the kernel restart the VM by itself (QEMU, with `-no-reboot`, exits then)?
    /// dm-verity's `restart_on_corruption` ends a boot this way.
    pub fn restarted(&self) -> bool {
        self.status.is_some_and(|s| s.success())
            && self.console.contains("reboot: Restarting system")
    }

    /// Did the kernel panic (e.g. PID 1 exited)?
    pub fn kernel_panicked(&self) -> bool {
        self.console.contains("Kernel panic") || self.console.contains("Attempted to kill init")
    }

    /// A failure report: the assertion, the command and the console tail.
    pub fn report(&self, what: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{what}");
        let _ = writeln!(s, "qemu: {}", self.command);
        let _ = writeln!(s, "status: {:?}, elapsed {:?}", self.status, self.elapsed);
        let tail: Vec<&str> = self.console.lines().rev().take(80).collect();
        let _ = writeln!(s, "---- console (last {} lines) ----", tail.len());
        for l in tail.iter().rev() {
            let _ = writeln!(s, "{l}");
        }
        if !self.qemu_stderr.trim().is_empty() {
            let _ = writeln!(s, "---- qemu stderr ----\n{}", self.qemu_stderr);
        }
        s
    }

    /// Panics unless the console has a line containing `needle`.
    pub fn assert_contains(&self, needle: &str) {
        assert!(
            self.console.contains(needle),
            "{}",
            self.report(&format!("console lacks {needle:?}"))
        );
    }

    /// Panics if the console has a line containing `needle`.
    pub fn assert_lacks(&self, needle: &str) {
        assert!(
            !self.console.contains(needle),
            "{}",
            self.report(&format!("console unexpectedly has {needle:?}"))
        );
    }

    /// The second stage's `INIT_FATAL` line, if any.
    pub fn init_fatal(&self) -> Option<&str> {
        self.lines()
            .find_map(|l| l.find("INIT_FATAL ").map(|i| &l[i..]))
    }

    /// Panics unless the guest powered off cleanly: no fatal line of either stage, no
    /// kernel panic.
    pub fn assert_clean_poweroff(&self) {
        assert!(
            self.fatal().is_none() && self.init_fatal().is_none(),
            "{}",
            self.report(&format!(
                "unexpected fatal: {:?} {:?}",
                self.fatal(),
                self.init_fatal()
            ))
        );
        assert!(!self.kernel_panicked(), "{}", self.report("kernel panic"));
        assert!(self.powered_off(), "{}", self.report("no clean power-off"));
    }

    /// Panics unless the first stage failed with `reason` and then powered off without a
    /// kernel panic. Returns the fatal line.
    pub fn assert_fatal(&self, reason: &str) -> String {
        let line = self.fatal().map(str::to_owned);
        let want = format!("FIRST_STAGE_FATAL reason={reason}");
        assert!(
            line.as_deref().is_some_and(|l| l.starts_with(&want)),
            "{}",
            self.report(&format!("expected {want}, got {line:?}"))
        );
        assert!(!self.kernel_panicked(), "{}", self.report("kernel panic"));
        assert!(
            self.powered_off(),
            "{}",
            self.report("no power-off after the fatal line")
        );
        line.unwrap_or_default()
    }

    /// Panics unless every phase in `names` was printed, in that order, with
    /// non-decreasing times.
    pub fn assert_phases(&self, names: &[&str]) {
        let phases = self.phases();
        let got: Vec<&str> = phases.iter().map(|p| p.name.as_str()).collect();
        let mut it = got.iter();
        for n in names {
            assert!(
                it.any(|g| g == n),
                "{}",
                self.report(&format!("phase {n:?} missing or out of order in {got:?}"))
            );
        }
        assert!(
            phases.windows(2).all(|w| w[0].t_ms <= w[1].t_ms),
            "{}",
            self.report("phase times go backwards")
        );
    }

    /// The phase timeline as a table (for the demo and benchmarks).
    pub fn timeline_table(&self) -> String {
        let mut s = String::new();
        let mut prev: Option<u64> = None;
        for p in self.phases() {
            let delta = prev.map(|t| p.t_ms.saturating_sub(t)).unwrap_or(p.t_ms);
            let _ = writeln!(s, "  {:<18} t={:>6} ms  (+{delta} ms)", p.name, p.t_ms);
            prev = Some(p.t_ms);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(console: &str) -> BootLog {
        BootLog {
            console: console.into(),
            qemu_stderr: String::new(),
            status: None,
            elapsed: Duration::ZERO,
            command: String::new(),
        }
    }

    #[test]
    fn parses_phases_and_fatal() {
        let l = log("[    0.5] first_stage: phase=start t_ms=500\r\n\
                     first_stage: phase=early_mounts t_ms=512\n\
                     [    1.0] FIRST_STAGE_FATAL reason=VENDOR_MOUNT nope\n");
        assert_eq!(
            l.phases(),
            vec![
                Phase {
                    name: "start".into(),
                    t_ms: 500
                },
                Phase {
                    name: "early_mounts".into(),
                    t_ms: 512
                }
            ]
        );
        assert_eq!(
            l.fatal(),
            Some("FIRST_STAGE_FATAL reason=VENDOR_MOUNT nope")
        );
        assert!(!l.powered_off());
    }
}
