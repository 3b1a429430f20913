//! Helpers shared by the integration tests: fixture paths and throw-away module trees.

use std::fs;
use std::path::PathBuf;

use modprobe::{ModuleDb, Plan, PlanOptions};

/// `testdata/<name>` of this crate.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

/// The Android-layout fixture.
pub fn flat() -> ModuleDb {
    ModuleDb::load(&fixture("flat")).expect("flat fixture loads")
}

/// The depmod-layout fixture.
pub fn depmod_dir() -> PathBuf {
    fixture("depmod/lib/modules/6.1.0-test")
}

/// A temporary module directory containing `files` (name, contents).
pub fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, contents) in files {
        fs::write(dir.path().join(name), contents).expect("write fixture file");
    }
    dir
}

/// Module names of a plan, in order.
pub fn names(plan: &Plan) -> Vec<&str> {
    plan.modules.iter().map(|m| m.name.as_str()).collect()
}

/// Plans `wanted` with default options.
pub fn plan(db: &ModuleDb, wanted: &[&str]) -> Plan {
    db.plan(wanted, &PlanOptions::default()).expect("plan")
}

/// Plans `wanted` with the blocklist on.
pub fn plan_blocklist(db: &ModuleDb, wanted: &[&str]) -> Plan {
    let opts = PlanOptions {
        blocklist: true,
        ..PlanOptions::default()
    };
    db.plan(wanted, &opts).expect("plan")
}

/// Asserts that every module comes after its `deps` and `after` entries.
pub fn assert_valid_order(plan: &Plan) {
    for (i, m) in plan.modules.iter().enumerate() {
        for &d in m.deps.iter().chain(&m.after) {
            assert!(d < i, "{} (#{i}) must come after #{d}", m.name);
        }
    }
}
