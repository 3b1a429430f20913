//! Adversarial inputs: missing and malformed files (errors name file:line), cycles,
//! huge and non-UTF-8 files, deep dependency chains.

use std::fs::File;

use modprobe::{ModprobeError, ModuleDb, PlanOptions};

use crate::common::{names, plan, plan_blocklist, tree};

fn load_err(files: &[(&str, &str)]) -> String {
    let dir = tree(files);
    let err = ModuleDb::load(dir.path()).unwrap_err();
    // Paths in messages are absolute; keep the part from the file name on.
    let text = err.to_string();
    let prefix = format!("{}/", dir.path().display());
    text.strip_prefix(&prefix).unwrap_or(&text).to_owned()
}

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

#[test]
fn malformed_lines_name_file_and_line() {
    let dep = ("modules.dep", "a.ko:\n");
    assert_eq!(
        load_err(&[("modules.dep", "a.ko:\nb.ko\n")]),
        "modules.dep:2: expected `module.ko: dependencies…`"
    );
    assert_eq!(
        load_err(&[dep, ("modules.alias", "# x\nalias a\n")]),
        "modules.alias:2: alias lines must be `alias PATTERN MODULE`, found 2 fields"
    );
    assert_eq!(
        load_err(&[dep, ("modules.softdep", "softdep a pre: b\nsoftdep\n")]),
        "modules.softdep:2: softdep lines must be `softdep MODULE [pre: NAMES…] [post: NAMES…]`"
    );
    assert_eq!(
        load_err(&[
            dep,
            ("modules.options", "options a x=1\n\noptions a-b \"\n")
        ]),
        "modules.options:3: unterminated quote in parameters for a_b"
    );
    assert_eq!(
        load_err(&[dep, ("modules.options", "dyn_options a /vendor/bin/x\n")]),
        "modules.options:1: dyn_options (external option handlers) is not supported"
    );
    assert_eq!(
        load_err(&[dep, ("modules.blocklist", "blocklist a\nblocklist\n")]),
        "modules.blocklist:2: blocklist lines must be `blocklist MODULE`, found 1 fields"
    );
    assert_eq!(
        load_err(&[dep, ("modules.builtin", "kernel/a.ko b\n")]),
        "modules.builtin:1: expected one module path per line, found \"kernel/a.ko b\""
    );
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
    let err = ModuleDb::load_dirs(&[a.path().into(), b.path().into()]).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("modules.options:2: second options line for m (first at "),
        "{text}"
    );
    assert!(text.ends_with("modules.options:1)"), "{text}");
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
fn non_utf8_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("modules.dep"), b"a.ko:\nb\xff.ko:\n").unwrap();
    let err = ModuleDb::load(dir.path()).unwrap_err().to_string();
    assert!(err.ends_with("modules.dep:2: invalid UTF-8"), "{err}");
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
fn unreadable_file_is_an_io_error() {
    let dir = tree(&[("modules.dep", "")]);
    std::fs::create_dir(dir.path().join("modules.alias")).unwrap();
    let err = ModuleDb::load(dir.path()).unwrap_err();
    assert!(matches!(err, ModprobeError::Io { .. }), "{err}");
    assert!(err.to_string().contains("modules.alias"));
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
