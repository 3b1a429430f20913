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

/// Loads every module named in `dir/modules.load` (with dependencies, soft dependencies,
/// options and blocklist from `dir`). `Err` means the pass could not even be planned
/// (unreadable or malformed `modules.*`, a dependency cycle).
pub fn load_pass(
    dir: &Path,
    loader: &dyn ModuleLoader,
    extra_params: Vec<(String, String)>,
) -> Result<LoadReport, String> {
    let list = dir.join("modules.load");
    let names = modprobe::read_load_list(&list).map_err(|e| e.to_string())?;
    let db = ModuleDb::load(dir).map_err(|e| e.to_string())?;
    for w in db.warnings() {
        log::warn!("modules: {w}");
    }
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let opts = PlanOptions {
        blocklist: true,
        extra_params,
    };
    let plan = db.plan(&refs, &opts).map_err(|e| e.to_string())?;
    for w in &plan.warnings {
        log::warn!("modules: {w}");
    }
    Ok(modprobe::execute(&plan, loader, threads()))
}

/// Logs a pass's outcome: one summary line, then one line per failure or skip.
pub fn log_report(pass: &str, r: &LoadReport) {
    log::info!(
        "modules pass={pass} loaded={} already={} failed={} skipped={} builtin={} ms={}",
        r.loaded.len(),
        r.already_loaded.len(),
        r.failed.len(),
        r.skipped.len(),
        r.builtin.len(),
        r.elapsed.as_millis()
    );
    for f in &r.failed {
        log::error!("modules pass={pass} failed: {f}");
    }
    for (m, why) in &r.skipped {
        log::warn!("modules pass={pass} skipped: {m}: {why}");
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
        let r = load_pass(d.path(), &l, Vec::new()).unwrap();
        assert_eq!(r.loaded, ["b", "a"]);
        assert_eq!(r.skipped.len(), 1);
        assert!(r.is_success());
    }

    #[test]
    fn missing_list_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        assert!(load_pass(d.path(), &RecordingLoader::new(), Vec::new()).is_err());
    }
}
