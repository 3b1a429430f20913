//! Property tests: glob matching agrees with glibc's `fnmatch(3)`; plans of random module
//! graphs are valid; the executor's skips are exactly the dependents of failures;
//! parsers never panic.

use std::collections::HashSet;
use std::ffi::CString;
use std::path::Path;

use modprobe::glob::fnmatch;
use modprobe::testing::RecordingLoader;
use modprobe::{execute, parse, LoadErrno, ModuleDb, PlanOptions};
use nix::errno::Errno;
use proptest::prelude::*;

use crate::common::{assert_valid_order, tree};

fn libc_fnmatch(pattern: &str, s: &str) -> bool {
    let p = CString::new(pattern).unwrap();
    let s = CString::new(s).unwrap();
    // SAFETY: both arguments are valid NUL-terminated strings that outlive the call.
    unsafe { libc::fnmatch(p.as_ptr(), s.as_ptr(), 0) == 0 }
}

/// A random module graph: module i may depend on modules with larger indices (so it is
/// acyclic), plus random soft dependencies (which may form cycles) and a blocklist.
#[derive(Debug, Clone)]
struct Graph {
    deps: Vec<Vec<usize>>,
    pre: Vec<(usize, usize)>,
    post: Vec<(usize, usize)>,
    blocked: Vec<usize>,
}

fn graph() -> impl Strategy<Value = Graph> {
    (2usize..24).prop_flat_map(|n| {
        (
            prop::collection::vec(prop::collection::vec(0..n, 0..4), n),
            prop::collection::vec((0..n, 0..n), 0..6),
            prop::collection::vec((0..n, 0..n), 0..6),
            prop::collection::vec(0..n, 0..3),
        )
            .prop_map(move |(raw, pre, post, blocked)| Graph {
                deps: raw
                    .into_iter()
                    .enumerate()
                    .map(|(i, ds)| {
                        let mut ds: Vec<usize> = ds.into_iter().filter(|&d| d > i).collect();
                        ds.sort_unstable();
                        ds.dedup();
                        ds
                    })
                    .collect(),
                pre,
                post,
                blocked,
            })
    })
}

fn write_graph(g: &Graph) -> tempfile::TempDir {
    let mut dep = String::new();
    for (i, ds) in g.deps.iter().enumerate() {
        dep.push_str(&format!("m{i}.ko:"));
        for d in ds {
            dep.push_str(&format!(" m{d}.ko"));
        }
        dep.push('\n');
    }
    let mut soft = String::new();
    for (a, b) in &g.pre {
        soft.push_str(&format!("softdep m{a} pre: m{b}\n"));
    }
    for (a, b) in &g.post {
        soft.push_str(&format!("softdep m{a} post: m{b}\n"));
    }
    let block: String = g
        .blocked
        .iter()
        .map(|b| format!("blocklist m{b}\n"))
        .collect();
    tree(&[
        ("modules.dep", &dep),
        ("modules.softdep", &soft),
        ("modules.blocklist", &block),
    ])
}

/// Hard closure of module `i`.
fn closure(g: &Graph, i: usize) -> HashSet<usize> {
    let mut seen = HashSet::new();
    let mut todo = vec![i];
    while let Some(m) = todo.pop() {
        for &d in &g.deps[m] {
            if seen.insert(d) {
                todo.push(d);
            }
        }
    }
    seen
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn glob_agrees_with_glibc(
        pattern in "[ab*?\\[\\]!^\\-\\\\]{0,8}|[ab]{0,2}\\[(:alpha:|:digit:|a-b|!a|\\])\\][ab*]{0,3}",
        s in "[ab\\-\\]\\[!^*?\\\\0-9]{0,6}",
    ) {
        prop_assert_eq!(fnmatch(&pattern, &s), libc_fnmatch(&pattern, &s), "pattern {:?} string {:?}", pattern, s);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_graphs_give_valid_plans(g in graph(), blocklist in any::<bool>()) {
        let dir = write_graph(&g);
        let db = ModuleDb::load(dir.path()).unwrap();
        let all: Vec<String> = (0..g.deps.len()).map(|i| format!("m{i}")).collect();
        let wanted: Vec<&str> = all.iter().map(String::as_str).collect();
        let opts = PlanOptions { blocklist, ..PlanOptions::default() };
        let plan = db.plan(&wanted, &opts).unwrap();
        assert_valid_order(&plan);
        let placed: Vec<&str> = plan.modules.iter().map(|m| m.name.as_str()).collect();
        let unique: HashSet<&str> = placed.iter().copied().collect();
        prop_assert_eq!(unique.len(), placed.len(), "a module is planned twice");
        let blocked: HashSet<usize> = g.blocked.iter().copied().collect();
        for i in 0..g.deps.len() {
            let name = format!("m{i}");
            let skip = blocklist
                && (blocked.contains(&i) || closure(&g, i).iter().any(|d| blocked.contains(d)));
            prop_assert_eq!(
                plan.skipped.iter().any(|(n, _)| *n == name),
                skip,
                "{} skipped?", name
            );
            if !skip {
                let at = plan.index_of(&name).unwrap();
                prop_assert!(!plan.modules[at].soft);
                for d in closure(&g, i) {
                    let di = plan.index_of(&format!("m{d}")).unwrap();
                    prop_assert!(di < at);
                }
            }
        }
    }

    #[test]
    fn skips_are_exactly_the_dependents_of_failures(g in graph(), fail in prop::collection::vec(0usize..24, 0..4), threads in 1usize..5) {
        let dir = write_graph(&Graph { pre: vec![], post: vec![], blocked: vec![], ..g.clone() });
        let db = ModuleDb::load(dir.path()).unwrap();
        let all: Vec<String> = (0..g.deps.len()).map(|i| format!("m{i}")).collect();
        let wanted: Vec<&str> = all.iter().map(String::as_str).collect();
        let plan = db.plan(&wanted, &PlanOptions::default()).unwrap();
        let loader = RecordingLoader::new();
        let failing: HashSet<usize> = fail.into_iter().filter(|&f| f < g.deps.len()).collect();
        for f in &failing {
            loader.fail(&format!("m{f}"), LoadErrno::finit(Errno::EINVAL));
        }
        let report = execute(&plan, &loader, threads);
        prop_assert!(loader.overlapping().is_empty());
        for i in 0..g.deps.len() {
            let name = format!("m{i}");
            // A module whose dependency failed is not even attempted.
            let expect_skip = closure(&g, i).iter().any(|d| failing.contains(d));
            let expect_fail = failing.contains(&i) && !expect_skip;
            prop_assert_eq!(report.skipped.iter().any(|(n, _)| *n == name), expect_skip, "{}", name);
            prop_assert_eq!(report.failed.iter().any(|f| f.module == name), expect_fail);
            prop_assert_eq!(report.loaded.contains(&name), !expect_fail && !expect_skip);
        }
        prop_assert_eq!(report.is_success(), failing.is_empty());
    }

    #[test]
    fn parsers_never_panic(text in "(?s).{0,200}", bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let p = Path::new("f");
        for input in [text.as_bytes(), &bytes] {
            let _ = parse::parse_dep(p, input);
            let _ = parse::parse_alias(p, input);
            let _ = parse::parse_softdep(p, input);
            let _ = parse::parse_options(p, input);
            let _ = parse::parse_blocklist(p, input);
            let _ = parse::parse_load_list(p, input);
            let _ = parse::parse_builtin(p, input);
        }
        let _ = modprobe::cmdline_module_params(&text);
        let _ = fnmatch(&text, "abc");
    }
}
