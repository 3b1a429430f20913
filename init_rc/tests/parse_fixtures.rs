//! Parses AOSP's own rc files (`tests/fixtures/aosp/`: Microdroid's `init.rc` and every
//! rc file of AOSP's `system/core/rootdir`), a fixture reproducing the constructs of
//! AOSP's `rootdir/init.rc`, our own `rootdir/init.rc`, and a malformed file; runs the
//! verifier on them.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use init_rc::parser::{Config, DiagKind, Parser};
use init_rc::property::PropertyStore;
use init_rc::verify::verify_to;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

fn parse(name: &str) -> Config {
    let props = PropertyStore::new();
    let mut p = Parser::without_imports(&props);
    assert!(p.parse_file(&fixture(name)), "{name} readable");
    p.finish()
}

fn unsupported(c: &Config) -> BTreeSet<String> {
    c.diagnostics
        .iter()
        .filter(|d| d.kind == DiagKind::Unsupported)
        .map(|d| d.message.clone())
        .collect()
}

#[test]
fn aosp_constructs_parse_without_syntax_errors() {
    let c = parse("tests/fixtures/aosp_constructs.rc");
    let syntax: Vec<String> = c
        .diagnostics
        .iter()
        .filter(|d| d.kind == DiagKind::Syntax)
        .map(|d| d.to_string())
        .collect();
    assert!(syntax.is_empty(), "{syntax:#?}");
    let want: BTreeSet<String> = [
        "bootchart",
        "class_reset_post_data",
        "class_start_post_data",
        "enter_default_mount_ns",
        "ifup",
        "init_user0",
        "installkey",
        "load_persist_props",
        "parse_apex_configs",
        "sysclktz",
    ]
    .map(String::from)
    .into();
    assert_eq!(unsupported(&c), want);
    assert_eq!(c.services.len(), 3);
    assert_eq!(c.actions.len(), 16);
    let console = c.services.iter().find(|s| s.name == "console").unwrap();
    assert_eq!(
        (console.uid, console.gid, console.groups.clone()),
        (2000, 2000, vec![1007, 3009])
    );
}

#[test]
fn microdroid_init_rc_parses_cleanly() {
    let c = parse("tests/fixtures/aosp/microdroid.init.rc");
    // perform_apex_config and mark_post_data are accepted (logged once as not applicable).
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
    let names: Vec<&str> = c.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["apexd-vm", "ueventd", "console", "init_debug_policy"]
    );
    let ueventd = &c.services[1];
    assert!(ueventd.critical.is_some());
    assert_eq!(ueventd.seclabel.as_deref(), Some("u:r:ueventd:s0"));
    assert_eq!(ueventd.capabilities.unwrap().count_ones(), 12);
}

#[test]
fn zygote_critical_window_expands() {
    let c = parse("tests/fixtures/aosp/init.zygote64.rc");
    assert_eq!(c.syntax_errors(), 0, "{:#?}", c.diagnostics);
    // `window=${zygote.critical_window.minute:-off}`: unset, so `off`: not critical.
    assert!(c.services[0].critical.is_none());
    assert_eq!(
        unsupported(&c),
        ["priority", "writepid"].map(String::from).into()
    );
}

#[test]
fn our_init_rc_is_clean() {
    let c = parse("rootdir/init.rc");
    assert!(c.diagnostics.is_empty(), "{:#?}", c.diagnostics);
    let ueventd = c.services.iter().find(|s| s.name == "ueventd").unwrap();
    assert_eq!(ueventd.args, ["/system/bin/ueventd"]);
    assert_eq!(ueventd.classes, ["core"]);
    let early = c
        .actions
        .iter()
        .find(|a| a.trigger.to_string() == "early-init")
        .unwrap();
    let cmds: Vec<String> = early.commands.iter().map(|c| c.args.join(" ")).collect();
    assert!(cmds.contains(&"start ueventd".to_string()));
    assert!(cmds.contains(&"wait_for_prop ro.cold_boot_done true".to_string()));
}

#[test]
fn malformed_reports_file_and_line() {
    let c = parse("tests/fixtures/malformed.rc");
    let got: Vec<(u32, DiagKind)> = c.diagnostics.iter().map(|d| (d.line, d.kind)).collect();
    use DiagKind::{Syntax as S, Unsupported as U};
    assert_eq!(
        got,
        [
            (1, S),  // command before any section
            (2, S),  // on without trigger
            (4, S),  // && &&
            (6, S),  // setprop arity
            (7, S),  // chmod arity
            (8, S),  // exec without command
            (9, U),  // unknown command
            (11, S), // service without name/program
            (13, S), // unknown user
            (14, S), // bad socket type
            (15, U), // unsupported option
            (16, S), // duplicate service
            (17, S), // import with two arguments
            (19, S), // line after import
            (21, S), // unterminated quote
        ],
        "{:#?}",
        c.diagnostics
    );
    let text: Vec<String> = c.diagnostics.iter().map(|d| d.to_string()).collect();
    assert!(text[6].starts_with("unsupported command 'frobnicate' at "));
    assert!(text[6].ends_with("malformed.rc:9"));
    assert!(text[0].contains("malformed.rc:1: "));
    // The good lines survived.
    assert_eq!(c.actions.len(), 1);
    assert_eq!(c.actions[0].commands.len(), 1);
    assert_eq!(c.services.len(), 1);
}

fn verify(files: &[&str]) -> (i32, String) {
    let args: Vec<OsString> = files.iter().map(|f| fixture(f).into_os_string()).collect();
    let mut out = Vec::new();
    let code = verify_to(&args, &mut out);
    (code, String::from_utf8(out).unwrap())
}

#[test]
fn verifier_exit_status() {
    let (code, out) = verify(&[
        "tests/fixtures/aosp/microdroid.init.rc",
        "tests/fixtures/aosp/init.zygote64.rc",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("0 syntax error(s), 2 unsupported"), "{out}");
    let (code, out) = verify(&["tests/fixtures/aosp_constructs.rc"]);
    assert_eq!(code, 0, "{out}");
    // The same service defined in two files is a duplicate: a syntax error.
    let (code, out) = verify(&["tests/fixtures/aosp/microdroid.init.rc", "rootdir/init.rc"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("init.rc:71: ignored duplicate definition of service 'ueventd'"),
        "{out}"
    );
    let (code, out) = verify(&["tests/fixtures/malformed.rc"]);
    assert_eq!(code, 1);
    assert!(out.contains("syntax error at "), "{out}");
    assert!(out.contains("'frobnicate'") && out.contains("(not an AOSP keyword we know)"));
    assert!(out.contains("13 syntax error(s), 2 unsupported"), "{out}");
    let (code, _) = verify(&["tests/fixtures/does-not-exist.rc"]);
    assert_eq!(code, 1);
    assert_eq!(verify_to(&[], &mut Vec::new()), 2);
}

/// Every rc file of AOSP's `system/core/rootdir` (and Microdroid's `init.rc`), each on
/// its own as AOSP verifies them: no syntax error, and every keyword we do not act on is
/// one AOSP has (no "not an AOSP keyword we know").
#[test]
fn every_aosp_rootdir_rc_file_verifies() {
    let dir = fixture("tests/fixtures/aosp");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rc"))
        .collect();
    files.sort();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "init-debug.rc",
            "init-mmd-prop.rc",
            "init.boringssl.zygote64.rc",
            "init.boringssl.zygote64_32.rc",
            "init.no_zygote.rc",
            "init.rc",
            "init.usb.configfs.rc",
            "init.usb.rc",
            "init.zygote32.rc",
            "init.zygote64.rc",
            "init.zygote64_32.rc",
            "microdroid.init.rc",
        ]
    );
    for f in &files {
        let mut out = Vec::new();
        let code = verify_to(&[f.clone().into_os_string()], &mut out);
        let out = String::from_utf8(out).unwrap();
        assert_eq!(code, 0, "{}:\n{out}", f.display());
        assert!(out.contains(": 0 syntax error(s), "), "{out}");
        assert!(!out.contains("not an AOSP keyword"), "{out}");
    }
    // AOSP's init.rc: what we parse but do not act on.
    let c = parse("tests/fixtures/aosp/init.rc");
    assert_eq!(
        unsupported(&c),
        [
            "bootchart",
            "enter_default_mount_ns",
            "ifup",
            "init_user0",
            "installkey",
            "load_exports",
            "load_persist_props",
            "reboot_on_failure",
            "remount_userdata",
            "sysclktz",
            "verity_update_state",
        ]
        .map(String::from)
        .into()
    );
    assert_eq!((c.actions.len(), c.services.len()), (43, 6));
}

#[test]
fn host_binary_verifies() {
    let bin = env!("CARGO_BIN_EXE_init_rc");
    let ok = std::process::Command::new(bin)
        .arg("verify")
        .arg(fixture("rootdir/init.rc"))
        .output()
        .unwrap();
    assert!(ok.status.success(), "{ok:?}");
    let bad = std::process::Command::new(bin)
        .arg("verify")
        .arg(fixture("tests/fixtures/malformed.rc"))
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&bad.stdout);
    assert!(
        stdout.contains("malformed.rc:21: unterminated quoted string"),
        "{stdout}"
    );
}
