//! Adversarial inputs: missing and malformed files (bad lines reported with file:line and
//! skipped, the rest loaded), cycles, huge and non-UTF-8 files, deep dependency chains.

use std::fs::File;

use modprobe::{ModprobeError, ModuleDb, PlanOptions};

use crate::common::{names, plan, plan_blocklist, tree};

#[test]
fn missing_modules_dep() {
    let dir = tree(&[("modules.alias", "alias a b\n")]);
    let err = ModuleDb::load(dir.path()).unwrap_err();
    assert!(matches!(err, ModprobeError::MissingModulesDep { .. }));
    assert!(err
        .to_string()
        .ends_with("no modules.dep (not a module directory, or depmod was not run)"));
    assert!(matches!(
        ModuleDb::load_dirs(&[]).unwrap_err(),
        ModprobeError::NoDirectories
    ));
    let missing = dir.path().join("nope");
    assert!(matches!(
        ModuleDb::load(&missing).unwrap_err(),
        ModprobeError::MissingModulesDep { .. }
    ));
}

#[test]
fn optional_files_may_be_missing_or_empty() {
    let dir = tree(&[("modules.dep", "")]);
    let db = ModuleDb::load(dir.path()).unwrap();
    assert_eq!(db.modules().count(), 0);
    let p = plan(&db, &["x"]);
    assert_eq!(p.unresolved, vec!["x"]);
    let dir = tree(&[
        ("modules.dep", "a.ko:\n"),
        ("modules.alias", ""),
        ("modules.softdep", "\n\n"),
        ("modules.options", "# only a comment\n"),
        ("modules.blocklist", ""),
        ("modules.builtin", ""),
    ]);
    assert_eq!(ModuleDb::load(dir.path()).unwrap().modules().count(), 1);
}

/// The warnings of loading `files`, without the temporary directory's path.
fn load_warnings(files: &[(&str, &str)]) -> (ModuleDb, Vec<String>) {
    let dir = tree(files);
    let db = ModuleDb::load(dir.path()).unwrap();
    let prefix = format!("{}/", dir.path().display());
    let warnings = db
        .warnings()
        .iter()
        .map(|w| w.replace(&prefix, ""))
        .collect();
    (db, warnings)
}

#[test]
fn a_bad_line_is_reported_and_skipped_the_rest_loads() {
    // As AOSP's libmodprobe: one bad line per file here, each reported with file:line,
    // and everything else in the directory still counts.
    let (db, warnings) = load_warnings(&[
        (
            "modules.dep",
            "a.ko:
b.ko
c.ko: a.ko
",
        ),
        (
            "modules.alias",
            "# x
alias a
alias x-* c
",
        ),
        (
            "modules.softdep",
            "softdep
softdep c pre: a
",
        ),
        (
            "modules.options",
            "options a x=1

options a-b \"\noptions c y=2
",
        ),
        (
            "modules.blocklist",
            "blocklist
blocklist b
",
        ),
        (
            "modules.builtin",
            "kernel/a.ko b
kernel/e.ko
",
        ),
    ]);
    assert_eq!(
        warnings,
        [
            "modules.dep:2: expected `module.ko: dependencies…`; line skipped",
            "modules.alias:2: alias lines must be `alias PATTERN MODULE`, found 2 fields; line skipped",
            "modules.softdep:1: softdep lines must be `softdep MODULE [pre: NAMES…] [post: NAMES…]`; line skipped",
            "modules.options:3: unterminated quote in parameters for a_b; line skipped",
            "modules.blocklist:1: blocklist lines must be `blocklist MODULE`, found 1 fields; line skipped",
            "modules.builtin:1: expected one module path per line, found \"kernel/a.ko b\"; line skipped",
        ]
    );
    let modules: Vec<&str> = db.modules().map(|m| m.name.as_str()).collect();
    assert_eq!(modules, ["a", "c"]);
    assert_eq!(db.options("a"), Some("x=1"));
    assert_eq!(db.options("c"), Some("y=2"));
    assert!(db.is_blocklisted("b") && db.is_builtin("e"));
    assert_eq!(db.softdeps("c").len(), 1);
    let p = plan(&db, &["x-1"]);
    assert_eq!(names(&p), ["a", "c"]);
}

#[test]
fn dyn_options_is_skipped_with_a_line() {
    let (db, warnings) = load_warnings(&[
        (
            "modules.dep",
            "a.ko:
",
        ),
        (
            "modules.options",
            "dyn_options a root /vendor/bin/x
options a y=1
",
        ),
    ]);
    assert_eq!(
        warnings,
        ["modules.options:1: dyn_options (external option handlers) is not supported; line skipped"]
    );
    assert_eq!(db.options("a"), Some("y=1"));
}

#[test]
fn a_second_options_line_keeps_the_first() {
    let (db, warnings) = load_warnings(&[
        (
            "modules.dep",
            "a.ko:
",
        ),
        (
            "modules.options",
            "options a x=1
options a-b z
options a y=2
",
        ),
    ]);
    assert_eq!(
        warnings,
        ["modules.options:3: second options line for a ignored; the first (at modules.options:1) is kept"]
    );
    assert_eq!(db.options("a"), Some("x=1"));
}

#[test]
fn a_module_listed_twice_in_modules_dep_takes_the_later_line() {
    let (db, warnings) = load_warnings(&[(
        "modules.dep",
        "a.ko: b.ko
b.ko:
x/a.ko:
",
    )]);
    assert_eq!(
        warnings,
        ["modules.dep:3: module a already listed at line 1; this line replaces it"]
    );
    assert!(db.module("a").unwrap().deps.is_empty());
}

#[test]
fn options_twice_across_directories() {
    let a = tree(&[
        ("modules.dep", "m.ko:\n"),
        ("modules.options", "options m x=1\n"),
    ]);
    let b = tree(&[
        ("modules.dep", ""),
        ("modules.options", "\noptions m y=2\n"),
    ]);
    let db = ModuleDb::load_dirs(&[a.path().into(), b.path().into()]).unwrap();
    assert_eq!(db.options("m"), Some("x=1"));
    let text = &db.warnings()[0];
    assert!(
        text.contains("modules.options:2: second options line for m ignored; the first (at "),
        "{text}"
    );
    assert!(text.ends_with("modules.options:1) is kept"), "{text}");
}

#[test]
fn unbalanced_alias_bracket_is_a_warning() {
    let dir = tree(&[
        ("modules.dep", "a.ko:\n"),
        ("modules.alias", "alias x[y a\nalias z a\n"),
    ]);
    let db = ModuleDb::load(dir.path()).unwrap();
    assert_eq!(db.warnings().len(), 1);
    assert!(db.warnings()[0].contains("modules.alias:1: ignoring alias \"x[y\""));
    assert_eq!(names(&plan(&db, &["z"])), vec!["a"]);
}

#[test]
fn a_non_utf8_line_is_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("modules.dep"), b"a.ko:\nb\xff.ko:\nc.ko:\n").unwrap();
    let db = ModuleDb::load(dir.path()).unwrap();
    assert_eq!(db.modules().count(), 2);
    assert!(
        db.warnings()[0].ends_with("modules.dep:2: invalid UTF-8; line skipped"),
        "{:?}",
        db.warnings()
    );
}

#[test]
fn huge_file_is_refused_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    let f = File::create(dir.path().join("modules.dep")).unwrap();
    f.set_len(64 * 1024 * 1024).unwrap(); // sparse
    let err = ModuleDb::load(dir.path()).unwrap_err();
    assert!(
        matches!(err, ModprobeError::FileTooLarge { size: 67108864, .. }),
        "{err}"
    );
    assert!(err
        .to_string()
        .contains("larger than the 33554432-byte limit"));
}

#[test]
fn an_unreadable_optional_file_is_reported_and_skipped() {
    let dir = tree(&[
        ("modules.dep", "a.ko:\n"),
        ("modules.options", "options a x=1\n"),
    ]);
    std::fs::create_dir(dir.path().join("modules.alias")).unwrap();
    let db = ModuleDb::load(dir.path()).unwrap();
    assert_eq!(db.options("a"), Some("x=1"));
    assert_eq!(db.warnings().len(), 1);
    assert!(db.warnings()[0].contains("modules.alias"));
    assert!(
        db.warnings()[0].ends_with("; file skipped"),
        "{:?}",
        db.warnings()
    );
    // modules.dep itself must be readable.
    std::fs::remove_file(dir.path().join("modules.dep")).unwrap();
    std::fs::create_dir(dir.path().join("modules.dep")).unwrap();
    assert!(matches!(
        ModuleDb::load(dir.path()).unwrap_err(),
        ModprobeError::Io { .. }
    ));
}

#[test]
fn millions_of_bad_lines_keep_only_a_few_messages() {
    let bad = "x\n".repeat(1_000_000);
    let (db, warnings) = load_warnings(&[("modules.dep", "a.ko:\n"), ("modules.softdep", &bad)]);
    assert_eq!(db.modules().count(), 1);
    assert_eq!(warnings.len(), modprobe::parse::MAX_REPORTED_PROBLEMS + 1);
    assert_eq!(
        warnings.last().unwrap(),
        &format!(
            "modules.softdep: {} more bad lines skipped",
            1_000_000 - modprobe::parse::MAX_REPORTED_PROBLEMS
        )
    );
}

#[test]
fn hard_cycles_are_errors_naming_the_cycle() {
    let dir = tree(&[(
        "modules.dep",
        "a.ko: b.ko\nb.ko: c.ko\nc.ko: a.ko\nd.ko:\ne.ko: e.ko\n",
    )]);
    let db = ModuleDb::load(dir.path()).unwrap();
    let err = db.plan(&["a"], &PlanOptions::default()).unwrap_err();
    assert_eq!(err.to_string(), "dependency cycle: a -> b -> c -> a");
    let err = db.plan(&["d", "b"], &PlanOptions::default()).unwrap_err();
    assert_eq!(err.to_string(), "dependency cycle: b -> c -> a -> b");
    let err = db.plan(&["e"], &PlanOptions::default()).unwrap_err();
    assert_eq!(err.to_string(), "dependency cycle: e -> e");
    // The blocklist check walks dependencies too and reports the same cycle.
    let opts = PlanOptions {
        blocklist: true,
        ..PlanOptions::default()
    };
    let err = db.plan(&["a"], &opts).unwrap_err();
    assert!(
        matches!(err, ModprobeError::Cycle { ref cycle } if cycle.len() == 4),
        "{err}"
    );
    // A cycle elsewhere in modules.dep does not matter.
    assert_eq!(names(&plan(&db, &["d"])), vec!["d"]);
}

#[test]
fn soft_cycles_are_dropped_with_a_warning() {
    let dir = tree(&[
        ("modules.dep", "a.ko:\nb.ko:\nc.ko: a.ko\nd.ko:\n"),
        (
            "modules.softdep",
            "softdep a pre: b\nsoftdep b pre: a\nsoftdep a post: c\nsoftdep d pre: d\n",
        ),
    ]);
    let db = ModuleDb::load(dir.path()).unwrap();
    let p = plan(&db, &["a"]);
    assert_eq!(names(&p), vec!["b", "a", "c"]);
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    assert!(
        p.warnings[0].contains("soft dependency a of b ignored: it would close a dependency cycle")
    );
    let p = plan(&db, &["d"]);
    assert_eq!(names(&p), vec!["d"]);
    assert_eq!(p.warnings.len(), 1);

    // A pre: soft dependency that itself needs the module cannot go first.
    let dir = tree(&[
        ("modules.dep", "a.ko:\nc.ko: a.ko\n"),
        ("modules.softdep", "softdep a pre: c\n"),
    ]);
    let db = ModuleDb::load(dir.path()).unwrap();
    let p = plan(&db, &["a"]);
    assert_eq!(names(&p), vec!["a"]);
    assert!(
        p.warnings[0].contains("it depends on a, which needs a: a dependency cycle"),
        "{:?}",
        p.warnings
    );
}

#[test]
fn deep_chains_do_not_overflow_the_stack() {
    const N: usize = 100_000;
    let mut dep = String::new();
    for i in 0..N {
        if i + 1 < N {
            dep.push_str(&format!("m{i}.ko: m{}.ko\n", i + 1));
        } else {
            dep.push_str(&format!("m{i}.ko:\n"));
        }
    }
    let dir = tree(&[
        ("modules.dep", &dep),
        ("modules.blocklist", "blocklist m99999\n"),
    ]);
    let db = ModuleDb::load(dir.path()).unwrap();
    let p = plan(&db, &["m0"]);
    assert_eq!(p.modules.len(), N);
    assert_eq!(p.modules[0].name, "m99999");
    assert_eq!(p.modules[N - 1].name, "m0");
    // Every module requested, with the blocklist: linear, and each depends on m99999.
    let all: Vec<String> = (0..N).map(|i| format!("m{i}")).collect();
    let wanted: Vec<&str> = all.iter().map(String::as_str).collect();
    let p = plan_blocklist(&db, &wanted);
    assert!(p.modules.is_empty());
    assert_eq!(p.skipped.len(), N);
}

#[test]
fn wide_trees_and_many_aliases() {
    let mut dep = String::from("top.ko:");
    let mut alias = String::new();
    for i in 0..5000 {
        dep.push_str(&format!(" d{i}.ko"));
        alias.push_str(&format!("alias pat{i}-* d{i}\n"));
    }
    dep.push('\n');
    let dir = tree(&[("modules.dep", &dep), ("modules.alias", &alias)]);
    let db = ModuleDb::load(dir.path()).unwrap();
    let p = plan(&db, &["top", "pat4999-x"]);
    assert_eq!(p.modules.len(), 5001);
    assert_eq!(p.modules[0].name, "d4999");
    assert_eq!(p.modules[5000].deps.len(), 5000);
}
