//! Fuzzes the whole pipeline on a module directory built from the input: sections
//! separated by NUL are modules.dep, .alias, .softdep, .options, .blocklist, .builtin
//! (given to `ModuleDb::from_contents`, so no file is written).
//! Every module is planned (blocklist on and off) and executed with the fake loader on
//! one thread (threaded execution is covered by the property tests; worker threads'
//! exit races show up as spurious LeakSanitizer reports here); plans must be valid
//! orders, the scheduling priorities must rank every module above the modules that wait
//! for it, and every entry must be accounted for in the report (and timed if loaded).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use modprobe::testing::RecordingLoader;
use modprobe::{execute, Errno, LoadErrno, ModuleDb, PlanOptions};

const FILES: [&str; 6] = [
    "modules.dep",
    "modules.alias",
    "modules.softdep",
    "modules.options",
    "modules.blocklist",
    "modules.builtin",
];

fuzz_target!(|data: &[u8]| {
    let mut sections = data.splitn(FILES.len(), |&b| b == 0);
    let files: Vec<(&str, &[u8])> = FILES
        .iter()
        .map(|&file| (file, sections.next().unwrap_or_default()))
        .collect();
    // In memory: the same reading code as from disk, without six file writes per run.
    let Ok(db) = ModuleDb::from_contents(Path::new("/nonexistent/modules"), &files) else {
        return;
    };
    let mut names: Vec<String> = db.modules().map(|m| m.name.clone()).take(200).collect();
    names.push("alias-probe".into());
    let wanted: Vec<&str> = names.iter().map(String::as_str).collect();
    for blocklist in [false, true] {
        let opts = PlanOptions {
            blocklist,
            extra_params: vec![("alias-probe".into(), "x=1".into())],
        };
        let Ok(plan) = db.plan(&wanted, &opts) else {
            continue;
        };
        let prio = plan.priorities();
        assert_eq!(prio.len(), plan.modules.len());
        for (i, m) in plan.modules.iter().enumerate() {
            assert!(m.deps.iter().chain(&m.after).all(|&d| d < i));
            // A module ranks above everything that waits for it (costs are positive).
            assert!(m
                .deps
                .iter()
                .chain(&m.after)
                .all(|&d| prio[d] > prio[i] || prio[d] == u64::MAX));
        }
        let loader = RecordingLoader::new();
        if let Some(first) = plan.modules.first() {
            loader.fail(&first.name, LoadErrno::finit(Errno::ENOEXEC));
        }
        let report = execute(&plan, &loader, 1);
        assert!(loader.overlapping().is_empty());
        assert_eq!(report.timings.len(), loader.loads().len());
        // The critical path is a chain of plan modules no longer than the pass.
        let chain = &report.critical_path;
        assert!(chain.modules.len() <= plan.modules.len().max(1));
        assert!(chain.total <= report.elapsed);
        assert!(chain.modules.iter().all(|n| plan.index_of(n).is_some()));
        assert_eq!(
            report.loaded.len()
                + report.already_loaded.len()
                + report
                    .failed
                    .iter()
                    .filter(|f| !f.path.as_os_str().is_empty())
                    .count()
                + report.skipped.len(),
            plan.modules.len() + plan.skipped.len()
        );
        let _ = db.removal_plan(&wanted);
    }
});
