//! The parallel executor with the recording fake loader: dependency order under
//! threads, no module submitted twice, failures skip only their dependents, EEXIST is
//! success, soft dependencies are best effort, critical-path-first scheduling with more
//! than one worker, per-module timings and the critical path.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use modprobe::testing::{planned_module as sized, Event, RecordingLoader};
use modprobe::{
    execute, read_load_list, LoadErrno, ModuleDb, Plan, PlannedModule, SkipReason, SysOp,
    PER_MODULE_COST,
};
use nix::errno::Errno;

use crate::common::{fixture, flat, names, plan, plan_blocklist, tree};

fn first_stage_plan(db: &ModuleDb) -> Plan {
    let list = read_load_list(&fixture("flat/modules.load"))
        .unwrap()
        .entries;
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

    // The module itself failing fails the pass, and its post: soft dependency (with the
    // dependency it brought) is not loaded: AOSP loads post: soft dependencies only
    // after their module loaded.
    let loader = RecordingLoader::new();
    loader.fail("with_pre", LoadErrno::finit(Errno::EINVAL));
    let report = execute(&p, &loader, 1);
    assert!(!report.is_success());
    assert!(!report.loaded.contains(&"post_a".to_owned()));
    let skipped: Vec<String> = report
        .skipped
        .iter()
        .filter(|(_, r)| matches!(r, SkipReason::PostSoftDependencyOf(_)))
        .map(|(m, r)| format!("{m}: {r}"))
        .collect();
    assert_eq!(
        skipped,
        [
            "post_dep: post: soft dependency of with_pre, which did not load",
            "post_a: post: soft dependency of with_pre, which did not load"
        ]
    );
}

#[test]
fn a_post_soft_dependency_wanted_otherwise_loads_whatever_its_module_did() {
    let db = flat();
    // post_a requested after with_pre, and post_dep requested before: both unconditional.
    for wanted in [["with_pre", "post_a"], ["post_dep", "with_pre"]] {
        let p = plan(&db, &wanted);
        let loader = RecordingLoader::new();
        loader.fail("with_pre", LoadErrno::finit(Errno::EINVAL));
        let report = execute(&p, &loader, 2);
        let name = wanted.iter().find(|n| **n != "with_pre").unwrap();
        assert!(
            report.loaded.contains(&(*name).to_owned()),
            "{wanted:?}: {report}"
        );
    }
    // Requested as well, post_a and what it needs lose their condition.
    let p = plan(&db, &["with_pre", "post_a"]);
    assert!(p.modules.iter().all(|m| m.post_of.is_none()), "{p:?}");
    let p = plan(&db, &["with_pre"]);
    let gated: Vec<&str> = p
        .modules
        .iter()
        .filter(|m| m.post_of == p.index_of("with_pre"))
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(gated, ["post_dep", "post_a"]);
}

#[test]
fn blocklisted_modules_and_their_dependents_are_skipped_not_failed() {
    let db = flat();
    let loader = RecordingLoader::new();
    let report = execute(&plan_blocklist(&db, &["blocked", "foo"]), &loader, 2);
    assert!(report.is_success());
    assert_eq!(
        report.skipped,
        vec![("blocked".to_owned(), SkipReason::Blocklisted)]
    );
    // AOSP's IsBlocklisted counts a module's dependencies: a skip, logged, not a failure.
    let report = execute(&plan_blocklist(&db, &["needs_blocked", "foo"]), &loader, 2);
    assert!(report.is_success());
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
    sized(name, 0, deps, after)
}

/// The shape of the vendor set's critical path: small independent modules first in plan
/// order, then a small module with a slow init (raid6_pq) that a big one (btrfs) needs.
fn critical_path_plan() -> Plan {
    Plan {
        modules: vec![
            sized("small_a", 10_000, vec![], vec![]),
            sized("small_b", 10_000, vec![], vec![]),
            sized("small_c", 10_000, vec![], vec![]),
            sized("slow_init", 100_000, vec![], vec![]),
            sized("big", 3_000_000, vec![3], vec![]),
            sized("small_d", 10_000, vec![], vec![]),
        ],
        ..Plan::default()
    }
}

/// A loader whose first `n` loads each wait until `n` loads are running at once, so
/// the first `n` modules taken are exactly the first `n` picks of the scheduler.
fn gated_loader(n: usize) -> RecordingLoader {
    let gate = Arc::new((Mutex::new((0usize, 0usize)), Condvar::new()));
    RecordingLoader::with_hook(Box::new(move |_| {
        let (state, cv) = &*gate;
        let mut s = state.lock().unwrap();
        s.0 += 1;
        if s.0 > n {
            return;
        }
        s.1 += 1;
        cv.notify_all();
        // Only a deadlock guard: a correct executor gets here in microseconds.
        let (s, timeout) = cv
            .wait_timeout_while(s, Duration::from_secs(120), |s| s.1 < n)
            .unwrap();
        assert!(
            !timeout.timed_out() && s.1 >= n,
            "only {} loads ran at once",
            s.1
        );
    }))
}

#[test]
fn priorities_follow_the_longest_chain_of_waiting_modules() {
    let p = critical_path_plan();
    let prio = p.priorities();
    let c = PER_MODULE_COST;
    assert_eq!(prio[4], 3_000_000 + c);
    assert_eq!(prio[3], 100_000 + c + 3_000_000 + c);
    assert_eq!(prio[0], 10_000 + c);
    assert!(prio[3] > prio[0] && prio[4] > prio[0]);
}

#[test]
fn two_workers_start_the_critical_path_first() {
    let p = critical_path_plan();
    let loader = gated_loader(2);
    let report = execute(&p, &loader, 2);
    assert!(report.is_success(), "{report}");
    assert_order_respected(&p, &loader.events());
    let starts: Vec<String> = loader
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Start(name) => Some(name),
            Event::End(_) => None,
        })
        .collect();
    // slow_init first (its chain is the longest), then the lowest-index small module;
    // plan order would have started small_a and small_b.
    let mut first_two = starts[..2].to_vec();
    first_two.sort();
    assert_eq!(first_two, ["slow_init", "small_a"]);
    assert_eq!(starts.len(), 6);
    // The report stays in plan order.
    assert_eq!(report.loaded, names(&p));
}

#[test]
fn the_report_names_the_chain_that_bounded_the_pass() {
    // slow_init sleeps 60 ms and big 40 ms; everything else is instant. Whatever the
    // number of workers, the chain is slow_init > big and takes at least 100 ms.
    for threads in [1, 2, 4] {
        let loader = RecordingLoader::with_hook(Box::new(|name| {
            let ms = match name {
                "slow_init" => 60,
                "big" => 40,
                _ => 0,
            };
            std::thread::sleep(Duration::from_millis(ms));
        }));
        let report = execute(&critical_path_plan(), &loader, threads);
        let c = &report.critical_path;
        assert_eq!(c.modules, ["slow_init", "big"], "{threads} thread(s)");
        assert!(c.total >= Duration::from_millis(100), "{c}");
        assert!(c.total <= report.elapsed, "{c} vs {:?}", report.elapsed);
        assert!(c.to_string().ends_with(" chain=slow_init>big"), "{c}");
    }
    // An empty plan has an empty chain.
    let report = execute(&Plan::default(), &RecordingLoader::new(), 2);
    assert!(report.critical_path.modules.is_empty());
    assert_eq!(report.critical_path.to_string(), "ms=0.0 chain=");
}

#[test]
fn one_worker_keeps_plan_order_whatever_the_sizes() {
    let p = critical_path_plan();
    let loader = RecordingLoader::new();
    let report = execute(&p, &loader, 1);
    assert!(report.is_success());
    assert_eq!(loader.loaded_names(), names(&p));
}

#[test]
fn equal_priorities_go_lowest_plan_index_first() {
    // Four independent equal modules on two workers: the first two taken are #0 and #1.
    let p = Plan {
        modules: (0..4)
            .map(|i| sized(&format!("m{i}"), 5, vec![], vec![]))
            .collect(),
        ..Plan::default()
    };
    let loader = gated_loader(2);
    execute(&p, &loader, 2);
    let events = loader.events();
    let mut first_two: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e, Event::Start(_)))
        .take(2)
        .collect();
    first_two.sort_by_key(|e| format!("{e:?}"));
    assert_eq!(
        first_two,
        [&Event::Start("m0".into()), &Event::Start("m1".into())]
    );
}

#[test]
fn timings_cover_every_load_in_start_order() {
    let db = flat();
    let p = first_stage_plan(&db);
    let loader = RecordingLoader::new();
    loader.fail("virtio", LoadErrno::finit(Errno::ENOEXEC));
    let report = execute(&p, &loader, 3);
    // Loaded and failed modules were handed to the loader; skipped ones were not.
    let mut timed: Vec<&str> = report.timings.iter().map(|t| t.module.as_str()).collect();
    let mut called = loader.loaded_names();
    assert_eq!(timed.len(), called.len());
    timed.sort_unstable();
    called.sort();
    assert_eq!(timed, called);
    assert!(report.timings.windows(2).all(|w| w[0].start <= w[1].start));
    assert!(report.timings.iter().all(|t| t.worker < 3));
    assert!(report
        .timings
        .iter()
        .all(|t| t.start + t.duration <= report.elapsed));
    let line = report.timings[0].to_string();
    assert!(line.starts_with("module="), "{line}");
    assert!(line.contains(" start_ms=") && line.contains(" ms=") && line.contains(" worker="));
    assert!(execute(&Plan::default(), &loader, 2).timings.is_empty());
}

#[test]
fn plans_record_module_file_sizes() {
    let dir = tree(&[
        ("modules.dep", "a.ko: b.ko\nb.ko:\nmissing.ko:\n"),
        ("a.ko", "0123456789"),
        ("b.ko", "xyz"),
    ]);
    let db = ModuleDb::load(dir.path()).unwrap();
    let p = plan(&db, &["a", "missing"]);
    let sizes: Vec<(&str, u64)> = p
        .modules
        .iter()
        .map(|m| (m.name.as_str(), m.size))
        .collect();
    assert_eq!(sizes, [("b", 3), ("a", 10), ("missing", 0)]);
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
