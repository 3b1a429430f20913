//! The parallel executor with the recording fake loader: dependency order under
//! threads, no module submitted twice, failures skip only their dependents, EEXIST is
//! success, soft dependencies are best effort.

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use modprobe::testing::{Event, RecordingLoader};
use modprobe::{
    execute, read_load_list, LoadErrno, ModuleDb, Plan, PlannedModule, SkipReason, SysOp,
};
use nix::errno::Errno;

use crate::common::{fixture, flat, names, plan, plan_blocklist};

fn first_stage_plan(db: &ModuleDb) -> Plan {
    let list = read_load_list(&fixture("flat/modules.load")).unwrap();
    let wanted: Vec<&str> = list.iter().map(String::as_str).collect();
    plan(db, &wanted)
}

/// Checks, from the recorded events, that every module started only after each of its
/// `deps` and `after` modules had finished.
fn assert_order_respected(plan: &Plan, events: &[Event]) {
    let pos = |e: &Event| events.iter().position(|x| x == e);
    for m in &plan.modules {
        let Some(start) = pos(&Event::Start(m.name.clone())) else {
            continue;
        };
        for &d in m.deps.iter().chain(&m.after) {
            let dep = &plan.modules[d].name;
            if let Some(end) = pos(&Event::End(dep.clone())) {
                assert!(end < start, "{} started before {dep} finished", m.name);
            }
        }
    }
}

#[test]
fn one_thread_loads_in_plan_order() {
    let db = flat();
    let p = first_stage_plan(&db);
    let loader = RecordingLoader::new();
    let report = execute(&p, &loader, 1);
    assert!(report.is_success(), "{report}");
    assert_eq!(loader.loaded_names(), names(&p));
    assert_eq!(report.loaded, names(&p));
    assert!(report.failed.is_empty() && report.skipped.is_empty());
    assert_eq!(loader.max_in_flight(), 1);
    let call = &loader.loads()[8];
    assert_eq!(call.name, "snd_dummy");
    assert_eq!(call.path, fixture("flat").join("snd-dummy.ko"));
    assert_eq!(call.params, "index=2");
    assert_eq!(report.to_string(), "");
}

#[test]
fn threads_respect_dependencies_and_never_duplicate() {
    let db = flat();
    let mut all: Vec<String> = db.modules().map(|m| m.name.clone()).collect();
    all.sort();
    let wanted: Vec<&str> = all.iter().map(String::as_str).collect();
    let p = plan(&db, &wanted);
    for threads in [2, 3, 4, 8, 64] {
        let loader = RecordingLoader::new();
        let report = execute(&p, &loader, threads);
        assert!(report.is_success(), "{report}");
        assert_order_respected(&p, &loader.events());
        assert!(loader.overlapping().is_empty());
        assert!(loader.max_in_flight() <= threads);
        let mut loaded = loader.loaded_names();
        loaded.sort();
        let before = loaded.len();
        loaded.dedup();
        assert_eq!(before, loaded.len(), "a module was submitted twice");
        assert_eq!(loaded.len(), p.modules.len());
        // The report is in plan order whatever the interleaving.
        assert_eq!(report.loaded, names(&p));
    }
}

#[test]
fn independent_modules_really_run_concurrently() {
    let db = flat();
    // foo and virtio_ring are independent; loading foo waits until virtio_ring started.
    let p = plan(&db, &["foo", "virtio_ring"]);
    let started = Arc::new((Mutex::new(false), Condvar::new()));
    let gate = Arc::clone(&started);
    let loader = RecordingLoader::with_hook(Box::new(move |name| {
        let (flag, cv) = &*gate;
        let mut seen = flag.lock().unwrap();
        if name == "virtio_ring" {
            *seen = true;
            cv.notify_all();
        } else {
            // Only a deadlock guard: a correct executor gets here in microseconds.
            let (seen, timeout) = cv
                .wait_timeout_while(seen, Duration::from_secs(120), |s| !*s)
                .unwrap();
            assert!(!timeout.timed_out() && *seen, "virtio_ring never started");
        }
    }));
    let report = execute(&p, &loader, 2);
    assert!(report.is_success());
    assert_eq!(loader.max_in_flight(), 2);
}

#[test]
fn a_failure_skips_only_its_dependents() {
    let db = flat();
    let p = first_stage_plan(&db);
    let loader = RecordingLoader::new();
    loader.fail("virtio", LoadErrno::finit(Errno::ENOEXEC));
    for threads in [1, 4] {
        let report = execute(&p, &loader, threads);
        assert!(!report.is_success());
        assert_eq!(
            report.loaded,
            vec![
                "virtio_ring",
                "virtio_pci_modern_dev",
                "virtio_pci_legacy_dev",
                "soundcore",
                "snd",
                "snd_dummy"
            ]
        );
        assert_eq!(report.failed.len(), 1);
        let f = &report.failed[0];
        assert_eq!(f.module, "virtio");
        assert_eq!(f.path, fixture("flat").join("virtio.ko"));
        assert_eq!(f.errno, LoadErrno::finit(Errno::ENOEXEC));
        assert!(!f.soft);
        assert!(
            f.message
                .starts_with("finit_module: ENOEXEC (Exec format error"),
            "{}",
            f.message
        );
        assert_eq!(
            report.skipped,
            vec![
                (
                    "virtio_blk".to_owned(),
                    SkipReason::DependencyFailed("virtio".into())
                ),
                (
                    "virtio_pci".to_owned(),
                    SkipReason::DependencyFailed("virtio".into())
                )
            ]
        );
        let text = report.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("failed: virtio ("));
        assert!(lines[0].contains("virtio.ko): finit_module: ENOEXEC (Exec format error"));
        assert_eq!(
            lines[1],
            "skipped: virtio_blk: dependency virtio did not load"
        );
    }
}

#[test]
fn transitive_dependents_name_the_root_failure() {
    let db = flat();
    let p = plan(&db, &["virtio_blk"]);
    let loader = RecordingLoader::new();
    loader.fail("virtio_ring", LoadErrno::open(Errno::ENOENT));
    let report = execute(&p, &loader, 2);
    assert_eq!(report.failed[0].module, "virtio_ring");
    assert!(report.failed[0]
        .message
        .contains("the module file is missing"));
    assert_eq!(
        report.skipped,
        vec![
            (
                "virtio".to_owned(),
                SkipReason::DependencyFailed("virtio_ring".into())
            ),
            (
                "virtio_blk".to_owned(),
                SkipReason::DependencyFailed("virtio_ring".into())
            )
        ]
    );
    assert_eq!(loader.loaded_names(), vec!["virtio_ring"]);
}

#[test]
fn already_loaded_is_success() {
    let db = flat();
    let p = plan(&db, &["virtio_blk"]);
    let loader = RecordingLoader::new();
    loader.fail("virtio", LoadErrno::finit(Errno::EEXIST));
    let report = execute(&p, &loader, 3);
    assert!(report.is_success(), "{report}");
    assert_eq!(report.already_loaded, vec!["virtio"]);
    assert_eq!(report.loaded, vec!["virtio_ring", "virtio_blk"]);
}

#[test]
fn soft_dependencies_are_best_effort() {
    let db = flat();
    let p = plan(&db, &["with_pre"]);
    let loader = RecordingLoader::new();
    loader.fail("pre_a", LoadErrno::finit(Errno::EINVAL));
    loader.fail("pre_dep", LoadErrno::finit(Errno::ENOMEM));
    let report = execute(&p, &loader, 2);
    assert!(report.is_success(), "{report}");
    assert!(report.loaded.contains(&"with_pre".to_owned()));
    assert_eq!(report.failed.len(), 2);
    assert!(report.failed.iter().all(|f| f.soft));
    assert_eq!(
        report.skipped,
        vec![(
            "pre_b".to_owned(),
            SkipReason::DependencyFailed("pre_dep".into())
        )]
    );
    assert!(report
        .to_string()
        .contains("failed: soft dependency pre_a ("));
    assert_order_respected(&p, &loader.events());

    // The module itself failing fails the pass; its post: soft dependency still loads.
    let loader = RecordingLoader::new();
    loader.fail("with_pre", LoadErrno::finit(Errno::EINVAL));
    let report = execute(&p, &loader, 1);
    assert!(!report.is_success());
    assert!(report.loaded.contains(&"post_a".to_owned()));
}

#[test]
fn blocklisted_dependency_fails_the_pass_blocklisted_module_does_not() {
    let db = flat();
    let loader = RecordingLoader::new();
    let report = execute(&plan_blocklist(&db, &["blocked", "foo"]), &loader, 2);
    assert!(report.is_success());
    assert_eq!(
        report.skipped,
        vec![("blocked".to_owned(), SkipReason::Blocklisted)]
    );
    let report = execute(&plan_blocklist(&db, &["needs_blocked", "foo"]), &loader, 2);
    assert!(!report.is_success());
    assert_eq!(report.loaded, vec!["foo"]);
    assert_eq!(
        report.to_string(),
        "skipped: needs_blocked: depends on blocklisted module blocked\n"
    );
}

#[test]
fn unknown_names_are_failures_builtins_are_not() {
    let db = flat();
    let loader = RecordingLoader::new();
    let report = execute(&plan(&db, &["nope", "ext4", "foo"]), &loader, 1);
    assert!(!report.is_success());
    assert_eq!(report.builtin, vec!["ext4"]);
    assert_eq!(report.loaded, vec!["foo"]);
    let f = &report.failed[0];
    assert_eq!(f.module, "nope");
    assert_eq!(f.errno.op, SysOp::Resolve);
    assert_eq!(
        f.to_string(),
        "nope: lookup: ENOENT (not found in modules.dep, modules.alias or modules.builtin)"
    );
    assert!(execute(&plan(&db, &["ext4"]), &loader, 1).is_success());
}

#[test]
fn empty_plan_and_zero_threads() {
    let loader = RecordingLoader::new();
    let report = execute(&Plan::default(), &loader, 0);
    assert!(report.is_success());
    assert!(loader.loads().is_empty());
    let db = flat();
    let report = execute(&plan(&db, &["bar"]), &loader, 0);
    assert_eq!(report.loaded, vec!["foo", "bar"]);
}

fn module(name: &str, deps: Vec<usize>, after: Vec<usize>) -> PlannedModule {
    PlannedModule {
        name: name.to_owned(),
        path: PathBuf::from(format!("/m/{name}.ko")),
        params: String::new(),
        deps,
        after,
        soft: false,
        size: 0,
    }
}

#[test]
fn hand_made_plans_cannot_hang_or_duplicate() {
    // A repeated name, a forward dependency, an out-of-range one, a self-reference.
    let p = Plan {
        modules: vec![
            module("a", vec![], vec![]),
            module("a", vec![], vec![]),
            module("b", vec![3], vec![]),
            module("c", vec![99], vec![]),
            module("d", vec![], vec![3, 50]),
        ],
        ..Plan::default()
    };
    let loader = RecordingLoader::new();
    let report = execute(&p, &loader, 4);
    assert!(loader.overlapping().is_empty());
    assert_eq!(report.loaded, vec!["a", "a", "d"]);
    assert_eq!(
        report.skipped,
        vec![
            (
                "b".to_owned(),
                SkipReason::DependencyFailed("#3 (not earlier in the plan)".into())
            ),
            (
                "c".to_owned(),
                SkipReason::DependencyFailed("#99 (not earlier in the plan)".into())
            )
        ]
    );
    // The repeated module was only started after the first attempt finished.
    let events = loader.events();
    let starts: Vec<usize> = (0..events.len())
        .filter(|&i| events[i] == Event::Start("a".into()))
        .collect();
    let first_end = events.iter().position(|e| *e == Event::End("a".into()));
    assert_eq!(starts.len(), 2);
    assert!(first_end.is_some_and(|end| end < starts[1]));
}
