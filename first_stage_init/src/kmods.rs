//! The first stage's two module passes: the initramfs's first-stage modules (virtio,
//! dm, dm-verity, …) before looking for disks, and the vendor's modules after `/vendor`
//! is mounted. Each pass is one dependency-ordered, parallel `modprobe -a` of a
//! `modules.load` list through the `modprobe` crate, with AOSP's blocklist applied.

use std::path::Path;

use boot_config::BootConfig;
use log::Level;
use modprobe::{LoadReport, ModuleDb, ModuleLoader, PlanOptions};

use crate::fatal::{Fatal, Reason};

/// Worker threads for a pass: one per CPU the boot may use, at least 2, at most 8. (The
/// affinity mask alone: `std::thread::available_parallelism` also reads the cgroup
/// files for a CPU quota, about 10 ms on the boot's critical path under TCG, and PID 1
/// has none.)
pub fn threads() -> usize {
    crate::sys::cpus_allowed().unwrap_or(2).clamp(2, 8)
}

/// The outcome of one pass.
#[derive(Debug, Default)]
pub struct Pass {
    /// What the executor did.
    pub report: LoadReport,
    /// Requested names that could not be planned (a dependency cycle), with the reason;
    /// everything else was still loaded.
    pub unplanned: Vec<(String, String)>,
}

impl Pass {
    /// True if every requested module loaded (or was legitimately skipped).
    pub fn is_success(&self) -> bool {
        self.report.is_success() && self.unplanned.is_empty()
    }

    /// The names of what failed: failed modules and unplannable names.
    pub fn failed_names(&self) -> Vec<&str> {
        self.report
            .failed
            .iter()
            .map(|f| f.module.as_str())
            .chain(self.unplanned.iter().map(|(n, _)| n.as_str()))
            .collect()
    }
}

/// A planned pass: what to load, in which order, and what could not be planned.
#[derive(Debug)]
pub struct Prepared {
    plan: modprobe::Plan,
    unplanned: Vec<(String, String)>,
    warnings: Vec<String>,
}

impl Prepared {
    /// The plan: every module to load, in load order.
    pub fn plan(&self) -> &modprobe::Plan {
        &self.plan
    }

    /// Requested names that could not be planned, with the reason.
    pub fn unplanned(&self) -> &[(String, String)] {
        &self.unplanned
    }

    /// The warnings logged while reading `modules.*` and planning (`modules: …`).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Loads the planned modules in one parallel pass.
    pub fn execute(self, loader: &dyn ModuleLoader) -> Pass {
        Pass {
            report: modprobe::execute(&self.plan, loader, threads()),
            unplanned: self.unplanned,
        }
    }
}

/// Loads every module named in `dir/modules.load` (with dependencies, soft dependencies,
/// options and blocklist from `dir`): [`prepare`], then [`Prepared::execute`].
pub fn load_pass(
    dir: &Path,
    loader: &dyn ModuleLoader,
    extra_params: Vec<(String, String)>,
) -> Result<Pass, String> {
    Ok(prepare(dir, extra_params)?.execute(loader))
}

/// Reads `dir/modules.load` and the `modules.*` files of `dir` and plans the pass. A
/// dependency cycle excludes only the names that lead into it: everything else is still
/// planned (DESIGN §5: load everything that can load, report every failure). `Err` means
/// the pass could not start at all (unreadable or malformed `modules.*`).
pub fn prepare(dir: &Path, extra_params: Vec<(String, String)>) -> Result<Prepared, String> {
    let list = dir.join("modules.load");
    let names = modprobe::read_load_list(&list).map_err(|e| e.to_string())?;
    let db = ModuleDb::load(dir).map_err(|e| e.to_string())?;
    let mut warnings: Vec<String> = names
        .problem_lines(&list)
        .iter()
        .chain(db.warnings())
        .map(|w| format!("modules: {w}"))
        .collect();
    let names = names.entries;
    let mut refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let opts = PlanOptions {
        blocklist: true,
        extra_params,
    };
    let mut unplanned = Vec::new();
    let plan = match db.plan(&refs, &opts) {
        Ok(p) => p,
        Err(whole) => {
            // Find the names that cannot be planned on their own and drop them.
            refs.retain(|n| match db.plan(&[n], &opts) {
                Ok(_) => true,
                Err(e) => {
                    unplanned.push(((*n).to_owned(), e.to_string()));
                    false
                }
            });
            if unplanned.is_empty() {
                return Err(whole.to_string());
            }
            db.plan(&refs, &opts).map_err(|e| e.to_string())?
        }
    };
    warnings.extend(plan.warnings.iter().map(|w| format!("modules: {w}")));
    for w in &warnings {
        log::warn!("{w}");
    }
    Ok(Prepared {
        plan,
        unplanned,
        warnings,
    })
}

/// The directory of a pass's `modules.load` under `lib` (`/lib/modules` or
/// `/vendor/lib/modules`): flat (Android) or per-release (depmod) layout, as
/// [`modprobe::first_stage_module_dir`] chooses for `release`. `Err` is the line logged
/// when there is no `modules.load` (nothing to load).
pub fn pass_dir(pass_name: &str, lib: &Path, release: &str) -> Result<std::path::PathBuf, String> {
    let dir = modprobe::first_stage_module_dir(lib, release);
    if dir.join("modules.load").exists() {
        Ok(dir)
    } else {
        Err(format!(
            "modules pass={pass_name}: no {}/modules.load",
            dir.display()
        ))
    }
}

/// What a finished first-stage pass leaves to report: `None` if everything loaded,
/// else the detail of the `MODULE_LOAD` fatal error.
pub fn first_stage_problem(pass: &Pass) -> Option<String> {
    (!pass.is_success()).then(|| {
        format!(
            "first-stage modules failed: {}",
            pass.failed_names().join(" ")
        )
    })
}

/// The line a debuggable boot logs when it goes on after a first-stage module failure.
pub const GOING_ON: &str =
    "modules pass=first_stage: going on (debuggable boot, no vendor partition)";

/// What a first-stage module failure (`problem`) means for the boot: fatal
/// (`MODULE_LOAD`) on a normal boot and whenever `/vendor` needs the modules (`needed`),
/// else the boot goes on (`Ok(true)`: log [`GOING_ON`]). `Ok(false)`: nothing failed.
pub fn first_stage_verdict(
    problem: Option<&str>,
    cfg: &BootConfig,
    needed: bool,
) -> Result<bool, Fatal> {
    match problem {
        Some(detail) if needed || !cfg.debuggable => {
            Err(Fatal::new(Reason::ModuleLoad, detail.to_owned()))
        }
        Some(_) => Ok(true),
        None => Ok(false),
    }
}

/// How many of a pass's slowest modules the log names.
const SLOWEST_SHOWN: usize = 5;

/// Logs a pass's outcome: one summary line, one line per failure, unplannable name or
/// skip, the slowest modules with their load times, and the dependency chain that
/// bounded the pass.
pub fn log_report(pass_name: &str, pass: &Pass) {
    let r = &pass.report;
    log::info!(
        "{} ms={}",
        counts_line(pass_name, pass),
        r.elapsed.as_millis()
    );
    for (level, line) in problem_lines(pass_name, pass) {
        log::log!(level, "{line}");
    }
    let mut slow: Vec<_> = r.timings.iter().collect();
    slow.sort_by_key(|t| std::cmp::Reverse(t.duration));
    for t in slow.into_iter().take(SLOWEST_SHOWN) {
        log::info!("modules pass={pass_name} slowest: {t}");
    }
    if !r.critical_path.modules.is_empty() {
        log::info!("modules pass={pass_name} critical_path {}", r.critical_path);
    }
}

/// The summary of a pass without its duration: `modules pass=<name> loaded=<n>
/// already=<n> failed=<n> skipped=<n> builtin=<n>` (the log line adds ` ms=<n>`).
pub fn counts_line(pass_name: &str, pass: &Pass) -> String {
    let r = &pass.report;
    format!(
        "modules pass={pass_name} loaded={} already={} failed={} skipped={} builtin={}",
        r.loaded.len(),
        r.already_loaded.len(),
        r.failed.len() + pass.unplanned.len(),
        r.skipped.len(),
        r.builtin.len(),
    )
}

/// One line per failed module, unplannable name and skipped module, with its level.
pub fn problem_lines(pass_name: &str, pass: &Pass) -> Vec<(Level, String)> {
    let r = &pass.report;
    let failed = r.failed.iter().map(|f| {
        (
            Level::Error,
            format!("modules pass={pass_name} failed: {f}"),
        )
    });
    let unplanned = pass.unplanned.iter().map(|(name, why)| {
        (
            Level::Error,
            format!("modules pass={pass_name} failed: {name}: not loaded: {why}"),
        )
    });
    let skipped = r.skipped.iter().map(|(m, why)| {
        (
            Level::Warn,
            format!("modules pass={pass_name} skipped: {m}: {why}"),
        )
    });
    failed.chain(unplanned).chain(skipped).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use modprobe::testing::RecordingLoader;
    use std::fs;

    #[test]
    fn loads_the_list_in_dependency_order() {
        let d = tempfile::tempdir().unwrap();
        for m in ["a.ko", "b.ko", "c.ko"] {
            fs::write(d.path().join(m), m).unwrap();
        }
        fs::write(d.path().join("modules.dep"), "a.ko: b.ko\nb.ko:\nc.ko:\n").unwrap();
        fs::write(d.path().join("modules.load"), "a.ko\nc.ko\n").unwrap();
        fs::write(d.path().join("modules.blocklist"), "blocklist c\n").unwrap();
        let l = RecordingLoader::new();
        let p = load_pass(d.path(), &l, Vec::new()).unwrap();
        assert_eq!(p.report.loaded, ["b", "a"]);
        assert_eq!(p.report.skipped.len(), 1);
        assert!(p.is_success());
    }

    #[test]
    fn a_cycle_excludes_only_what_leads_into_it() {
        let d = tempfile::tempdir().unwrap();
        for m in ["a.ko", "b.ko", "c.ko", "d.ko"] {
            fs::write(d.path().join(m), m).unwrap();
        }
        // a needs b needs a; c needs d.
        fs::write(
            d.path().join("modules.dep"),
            "a.ko: b.ko\nb.ko: a.ko\nc.ko: d.ko\nd.ko:\n",
        )
        .unwrap();
        fs::write(d.path().join("modules.load"), "a.ko\nc.ko\n").unwrap();
        let l = RecordingLoader::new();
        let p = load_pass(d.path(), &l, Vec::new()).unwrap();
        assert_eq!(p.report.loaded, ["d", "c"]);
        assert_eq!(p.unplanned.len(), 1);
        assert_eq!(p.unplanned[0].0, "a");
        assert!(p.unplanned[0].1.contains("cycle"), "{:?}", p.unplanned);
        assert!(!p.is_success());
        assert_eq!(p.failed_names(), ["a"]);
    }

    #[test]
    fn the_verdict_on_a_first_stage_failure_follows_the_boot() {
        use boot_config::DtProperty;
        let cfg = |c: &str| BootConfig::from_parts(c, "", false, DtProperty::Absent);
        let normal = cfg("");
        let debuggable = cfg("androidboot.microdroid.debuggable=1");
        assert!(!first_stage_verdict(None, &normal, true).unwrap());
        let e = first_stage_verdict(Some("x failed"), &normal, false).unwrap_err();
        assert_eq!(
            (e.reason, e.detail.as_str()),
            (Reason::ModuleLoad, "x failed")
        );
        assert!(first_stage_verdict(Some("x"), &debuggable, true).is_err());
        assert!(first_stage_verdict(Some("x"), &debuggable, false).unwrap());
    }

    #[test]
    fn report_lines_name_each_problem() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("b.ko"), "b").unwrap();
        fs::write(
            d.path().join("modules.dep"),
            "a.ko: b.ko\nb.ko:\nc.ko: a.ko\n",
        )
        .unwrap();
        fs::write(d.path().join("modules.load"), "c.ko\n").unwrap();
        let l = RecordingLoader::new();
        l.fail("b", modprobe::LoadErrno::finit(modprobe::Errno::ENOEXEC));
        let p = load_pass(d.path(), &l, Vec::new()).unwrap();
        assert_eq!(
            counts_line("vendor", &p),
            "modules pass=vendor loaded=0 already=0 failed=1 skipped=2 builtin=0"
        );
        let lines: Vec<String> = problem_lines("vendor", &p)
            .into_iter()
            .map(|(_, l)| l)
            .collect();
        assert!(
            lines[0].starts_with("modules pass=vendor failed: b ("),
            "{lines:?}"
        );
        assert_eq!(
            lines[1],
            "modules pass=vendor skipped: a: dependency b did not load"
        );
        assert_eq!(
            first_stage_problem(&p).unwrap(),
            "first-stage modules failed: b"
        );
        assert!(pass_dir("vendor", d.path(), "6.1").is_ok());
        let none = tempfile::tempdir().unwrap();
        let e = pass_dir("vendor", none.path(), "6.1").unwrap_err();
        assert!(
            e.starts_with("modules pass=vendor: no ") && e.ends_with("/modules.load"),
            "{e}"
        );
    }

    #[test]
    fn missing_list_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        assert!(load_pass(d.path(), &RecordingLoader::new(), Vec::new()).is_err());
    }
}
