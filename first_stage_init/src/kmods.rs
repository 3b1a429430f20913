//! The first stage's two module passes: the initramfs's first-stage modules (virtio,
//! dm, dm-verity, …) before looking for disks, and the vendor's modules after `/vendor`
//! is mounted. Each pass is one dependency-ordered, parallel `modprobe -a` of a
//! `modules.load` list through the `modprobe` crate, with AOSP's blocklist applied.

use std::path::Path;

use modprobe::{LoadReport, ModuleDb, ModuleLoader, PlanOptions};

/// Worker threads for a pass: one per CPU, at least 2, at most 8.
pub fn threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(2, 8)
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
}

impl Prepared {
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
    for w in db.warnings() {
        log::warn!("modules: {w}");
    }
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
    for w in &plan.warnings {
        log::warn!("modules: {w}");
    }
    Ok(Prepared { plan, unplanned })
}

/// How many of a pass's slowest modules the log names.
const SLOWEST_SHOWN: usize = 5;

/// Logs a pass's outcome: one summary line, one line per failure, unplannable name or
/// skip, the slowest modules with their load times, and the dependency chain that
/// bounded the pass.
pub fn log_report(pass_name: &str, pass: &Pass) {
    let r = &pass.report;
    log::info!(
        "modules pass={pass_name} loaded={} already={} failed={} skipped={} builtin={} ms={}",
        r.loaded.len(),
        r.already_loaded.len(),
        r.failed.len() + pass.unplanned.len(),
        r.skipped.len(),
        r.builtin.len(),
        r.elapsed.as_millis()
    );
    for f in &r.failed {
        log::error!("modules pass={pass_name} failed: {f}");
    }
    for (name, why) in &pass.unplanned {
        log::error!("modules pass={pass_name} failed: {name}: not loaded: {why}");
    }
    for (m, why) in &r.skipped {
        log::warn!("modules pass={pass_name} skipped: {m}: {why}");
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
    fn missing_list_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        assert!(load_pass(d.path(), &RecordingLoader::new(), Vec::new()).is_err());
    }
}
