//! ueventd.rc parser tests: every directive, AOSP's own parser test cases, malformed
//! lines with their line numbers, imports, user/group names and numbers, size suffixes.

use std::fs;
use std::path::{Path, PathBuf};

use ueventd::{
    parse_config, parse_config_files, ConfigError, DevnameSource, Permissions, Subsystem,
    UeventdConfig,
};

fn parse_ok(text: &str) -> UeventdConfig {
    let (config, errors) = parse_config(text, "test.rc");
    assert!(errors.is_empty(), "unexpected errors: {errors:?}");
    config
}

fn error_lines(errors: &[ConfigError]) -> Vec<usize> {
    errors.iter().map(|e| e.line).collect()
}

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

#[test]
fn empty_file() {
    assert_eq!(parse_ok(""), UeventdConfig::default());
    assert_eq!(
        parse_ok("\n\n# only a comment\n   \n"),
        UeventdConfig::default()
    );
}

#[test]
fn subsystems() {
    let c = parse_ok(
        r"
subsystem test_devname
    devname uevent_devname

subsystem test_devpath_no_dirname
    devname uevent_devpath

subsystem test_devname2
    devname uevent_devname

subsystem test_devpath_dirname
    devname uevent_devpath
    dirname /dev/graphics

subsystem test_sys_name
    devname sys_name
    dirname /dev/x/y

subsystem defaults_only
",
    );
    let expect = |name: &str, devname, dirname: &str| Subsystem {
        name: name.into(),
        devname,
        dirname: dirname.into(),
    };
    assert_eq!(
        c.subsystems,
        vec![
            expect("test_devname", DevnameSource::UeventDevname, "/dev"),
            expect(
                "test_devpath_no_dirname",
                DevnameSource::UeventDevpath,
                "/dev"
            ),
            expect("test_devname2", DevnameSource::UeventDevname, "/dev"),
            expect(
                "test_devpath_dirname",
                DevnameSource::UeventDevpath,
                "/dev/graphics"
            ),
            expect("test_sys_name", DevnameSource::SysName, "/dev/x/y"),
            expect("defaults_only", DevnameSource::UeventDevname, "/dev"),
        ]
    );
}

#[test]
fn permissions_with_names_and_options() {
    let c = parse_ok(
        r"
/dev/rtc0                 0640   system     system
/dev/graphics/*           0660   root       graphics
/dev/*/test               0660   root       system
/dev/numeric              0604   1234       5678

/sys/devices/platform/trusty.*      trusty_version    0440  root   log
/sys/devices/virtual/input/input    enable            0660  root   input
/sys/devices/virtual/*/input        poll_delay        0660  root   input    no_fnm_pathname
",
    );
    let dev: Vec<(&str, u32, u32, u32, bool, bool)> = c
        .dev_permissions
        .iter()
        .map(|p| {
            (
                p.pattern.as_str(),
                p.mode,
                p.uid,
                p.gid,
                p.pattern.is_prefix(),
                p.pattern.is_glob(),
            )
        })
        .collect();
    assert_eq!(
        dev,
        vec![
            ("/dev/rtc0", 0o640, 1000, 1000, false, false),
            ("/dev/graphics/*", 0o660, 0, 1003, true, false),
            ("/dev/*/test", 0o660, 0, 1000, false, true),
            ("/dev/numeric", 0o604, 1234, 5678, false, false),
        ]
    );
    let sys: Vec<(&str, &str, u32, u32, u32)> = c
        .sysfs_permissions
        .iter()
        .map(|p| {
            (
                p.pattern.as_str(),
                p.attribute.as_str(),
                p.mode,
                p.uid,
                p.gid,
            )
        })
        .collect();
    assert_eq!(
        sys,
        vec![
            (
                "/sys/devices/platform/trusty.*",
                "trusty_version",
                0o440,
                0,
                1007
            ),
            ("/sys/devices/virtual/input/input", "enable", 0o660, 0, 1004),
            ("/sys/devices/virtual/*/input", "poll_delay", 0o660, 0, 1004),
        ]
    );
    // no_fnm_pathname lets `*` cross `/`.
    assert!(c.sysfs_permissions[2]
        .pattern
        .matches("/sys/devices/virtual/a/b/input"));
    assert!(!c.dev_permissions[2].matches("/dev/a/b/test"));
}

#[test]
fn firmware_directories_accumulate() {
    let c = parse_ok("firmware_directories /first/ /second /third\nfirmware_directories /more\n");
    assert_eq!(
        c.firmware_directories,
        ["/first/", "/second", "/third", "/more"]
    );
}

#[test]
fn external_firmware_handlers() {
    let c = parse_ok(
        r#"
external_firmware_handler devpath root handler_path
external_firmware_handler /devices/path/firmware/something001.bin system /vendor/bin/firmware_handler.sh
external_firmware_handler /devices/path/firmware/something002.bin radio "/vendor/bin/firmware_handler.sh --has --arguments"
external_firmware_handler /devices/path/firmware/* root "/vendor/bin/firmware_handler.sh"
external_firmware_handler /devices/path/*/firmware/something*.bin radio "/vendor/bin/firmware_handler.sh"
external_firmware_handler /devices/path/firmware/something003.bin system system /vendor/bin/firmware_handler.sh
"#,
    );
    let got: Vec<(&str, u32, u32, &str)> = c
        .external_firmware_handlers
        .iter()
        .map(|h| (h.devpath.as_str(), h.uid, h.gid, h.handler.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("devpath", 0, 0, "handler_path"),
            (
                "/devices/path/firmware/something001.bin",
                1000,
                0,
                "/vendor/bin/firmware_handler.sh"
            ),
            (
                "/devices/path/firmware/something002.bin",
                1001,
                0,
                "/vendor/bin/firmware_handler.sh --has --arguments"
            ),
            (
                "/devices/path/firmware/*",
                0,
                0,
                "/vendor/bin/firmware_handler.sh"
            ),
            (
                "/devices/path/*/firmware/something*.bin",
                1001,
                0,
                "/vendor/bin/firmware_handler.sh"
            ),
            (
                "/devices/path/firmware/something003.bin",
                1000,
                1000,
                "/vendor/bin/firmware_handler.sh"
            ),
        ]
    );
    let h = &c.external_firmware_handlers;
    assert!(h[3].devpath.is_prefix());
    assert!(h[3].devpath.matches("/devices/path/firmware/any/thing"));
    // fnmatch without FNM_PATHNAME: `*` crosses `/`.
    assert!(h[4]
        .devpath
        .matches("/devices/path/a/b/firmware/something9.bin"));
}

#[test]
fn duplicate_external_firmware_handler_keeps_the_first() {
    let (c, errors) = parse_config(
        "external_firmware_handler devpath root handler_path\n\
         external_firmware_handler devpath root handler_path2\n",
        "dup.rc",
    );
    assert_eq!(c.external_firmware_handlers.len(), 1);
    assert_eq!(c.external_firmware_handlers[0].handler, "handler_path");
    assert_eq!(error_lines(&errors), [2]);
    assert_eq!(errors[0].file, "dup.rc");
}

#[test]
fn rcvbuf_sizes_and_suffixes() {
    let c = parse_ok("uevent_socket_rcvbuf_size 8k\nuevent_socket_rcvbuf_size 8M\n");
    assert_eq!(c.uevent_socket_rcvbuf_size, Some(8 << 20));
    for (text, want) in [
        ("16M", 16 << 20),
        ("256K", 256 << 10),
        ("1024", 1024),
        ("1m", 1 << 20),
    ] {
        let c = parse_ok(&format!("uevent_socket_rcvbuf_size {text}\n"));
        assert_eq!(c.uevent_socket_rcvbuf_size, Some(want), "{text}");
    }
}

#[test]
fn enabled_disabled_lines_last_wins() {
    let c = parse_ok(
        "modalias_handling enabled\nparallel_restorecon enabled\nmodalias_handling disabled\n",
    );
    assert!(!c.modalias_handling);
    assert!(c.parallel_restorecon);
    let c = parse_ok(
        "parallel_restorecon enabled\nmodalias_handling enabled\nparallel_restorecon disabled\n",
    );
    assert!(c.modalias_handling);
    assert!(!c.parallel_restorecon);
}

#[test]
fn parallel_restorecon_dirs() {
    let c = parse_ok("parallel_restorecon_dir /sys\nparallel_restorecon_dir /sys/devices\n");
    assert_eq!(c.parallel_restorecon_dirs, ["/sys", "/sys/devices"]);
}

#[test]
fn all_together() {
    let c = parse_ok(
        r"

/dev/rtc0                 0640   system     system
firmware_directories /first/ /second /third
/sys/devices/platform/trusty.*      trusty_version        0440  root   log

subsystem test_devname
    devname uevent_devname

/dev/graphics/*           0660   root       graphics

subsystem test_devpath_no_dirname
    devname uevent_devpath

/sys/devices/virtual/input/input   enable      0660  root   input

## this is a comment

subsystem test_devname2
## another comment
    devname uevent_devname

subsystem test_devpath_dirname
    devname uevent_devpath
    dirname /dev/graphics

/dev/*/test               0660   root       system
/sys/devices/virtual/*/input   poll_delay  0660  root   input    no_fnm_pathname
firmware_directories /more

external_firmware_handler /devices/path/firmware/firmware001.bin root /vendor/bin/touch.sh

uevent_socket_rcvbuf_size 6M
modalias_handling enabled
parallel_restorecon enabled

parallel_restorecon_dir /sys
parallel_restorecon_dir /sys/devices

#ending comment
",
    );
    assert_eq!(c.subsystems.len(), 4);
    assert_eq!(c.subsystems[3].dirname, "/dev/graphics");
    assert_eq!(c.dev_permissions.len(), 3);
    assert_eq!(c.sysfs_permissions.len(), 3);
    assert_eq!(
        c.firmware_directories,
        ["/first/", "/second", "/third", "/more"]
    );
    assert_eq!(c.external_firmware_handlers.len(), 1);
    assert_eq!(c.uevent_socket_rcvbuf_size, Some(6 << 20));
    assert!(c.modalias_handling && c.parallel_restorecon);
    assert_eq!(c.parallel_restorecon_dirs, ["/sys", "/sys/devices"]);
}

/// AOSP's `ParseErrors` test: every line is ill-formed, so nothing is parsed; we also
/// check that each one is reported with its line number.
#[test]
fn aosp_parse_errors() {
    let text = r"

/dev/rtc0                 badmode   baduidbad     system
/dev/rtc0                 0640   baduidbad     system
/dev/rtc0                 0640   system     baduidbad
firmware_directories #no directory listed
/sys/devices/platform/trusty.*      trusty_version        badmode  root   log
/sys/devices/platform/trusty.*      trusty_version        0440  baduidbad   log
/sys/devices/platform/trusty.*      trusty_version        0440  root   baduidbad
/sys/devices/platform/trusty.*      trusty_version        0440  root   root    bad_option

uevent_socket_rcvbuf_size blah

subsystem #no name

modalias_handling
modalias_handling enabled enabled
modalias_handling blah

parallel_restorecon
parallel_restorecon enabled enabled
parallel_restorecon blah

external_firmware_handler
external_firmware_handler blah blah
external_firmware_handler blah blah blah blah

parallel_restorecon_dir
parallel_restorecon_dir /sys /sys/devices

";
    let (c, errors) = parse_config(text, "errors.rc");
    // `modalias_handling enabled enabled` etc. leave the defaults alone.
    assert_eq!(c, UeventdConfig::default());
    assert_eq!(
        error_lines(&errors),
        [3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16, 17, 18, 20, 21, 22, 24, 25, 26, 28, 29]
    );
    for e in &errors {
        assert!(
            e.to_string()
                .starts_with(&format!("errors.rc:{}: ", e.line)),
            "{e}"
        );
    }
}

#[test]
fn more_malformed_lines_do_not_stop_parsing() {
    let text = "\
/dev/ok1 0600 root root
/dev/toofew 0600 root
/dev/toomany 0600 root root no_fnm_pathname extra
/dev/mode 0999 root root
/dev/mode 10000 root root
/dev/mode -0600 root root
/dev/user 0600 Root root
/sys/x ../escape 0600 root root
/sys/x /abs 0600 root root
/sys/short attr 0600 root
uevent_socket_rcvbuf_size 16X
uevent_socket_rcvbuf_size 16 M
uevent_socket_rcvbuf_size 99999999999999999999999
frobnicate the widget
/dev
subsystem a b
    devname uevent_devname
subsystem good
    devname uevent_nope
    dirname relative
    dirname /etc/x
    dirname /dev/../etc
    dirname /dev/a b
    bogus keyword
subsystem good
    devname uevent_devpath
/dev/ok2 0600 root root
import
import a b
/dev/ok3 \"06\"00 root root
";
    let (c, errors) = parse_config(text, "m.rc");
    let ok: Vec<&str> = c
        .dev_permissions
        .iter()
        .map(|p| p.pattern.as_str())
        .collect();
    assert_eq!(ok, ["/dev/ok1", "/dev/ok2", "/dev/ok3"]);
    assert_eq!(c.dev_permissions[2].mode, 0o600);
    assert_eq!(c.subsystems.len(), 1);
    assert_eq!(c.subsystems[0].name, "good");
    assert_eq!(c.subsystems[0].devname, DevnameSource::UeventDevname);
    assert_eq!(c.uevent_socket_rcvbuf_size, None);
    assert_eq!(
        error_lines(&errors),
        [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 19, 20, 21, 22, 23, 24, 25, 28, 29]
    );
    let messages: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
    assert!(messages[0].contains("4 or 5 entries"), "{messages:?}");
    assert!(messages.iter().any(|m| m.contains("invalid uid 'Root'")));
    assert!(messages
        .iter()
        .any(|m| m.contains("invalid section keyword 'frobnicate'")));
    assert!(messages
        .iter()
        .any(|m| m.contains("duplicate subsystem entry 'good'")));
}

#[test]
fn keywords_must_match_exactly() {
    let (c, errors) = parse_config(
        "firmware_directoriesX /a\nmodalias_handlingz enabled\n",
        "k",
    );
    assert_eq!(c, UeventdConfig::default());
    assert_eq!(error_lines(&errors), [1, 2]);
}

#[test]
fn tokenizer_features_in_directives() {
    let c = parse_ok(
        "/dev/with\\ space 0600 root root\n\
         /dev/cont \\\n     0640 \\\n     system system\n\
         /dev/\"quoted name\" 0600 root root # trailing comment\n\
         /dev/hash#inside 0600 root root\n",
    );
    let names: Vec<&str> = c
        .dev_permissions
        .iter()
        .map(|p| p.pattern.as_str())
        .collect();
    // `\ ` is an unknown escape: the space is copied into the token.
    assert_eq!(
        names,
        [
            "/dev/with space",
            "/dev/cont",
            "/dev/quoted name",
            "/dev/hash#inside"
        ]
    );
    assert_eq!(c.dev_permissions[1].mode, 0o640);
}

#[test]
fn error_line_numbers_follow_continuations() {
    let (_, errors) = parse_config("a \\\n b \\\n c\nbad line\n", "l");
    assert_eq!(error_lines(&errors), [1, 4]);
}

#[test]
fn unterminated_quote_is_reported() {
    let (c, errors) = parse_config("/dev/a 0600 root root\n/dev/\"b 0600 root root\n", "q");
    assert_eq!(c.dev_permissions.len(), 1);
    assert_eq!(error_lines(&errors), [2]);
}

#[test]
fn parse_config_records_imports_without_following_them() {
    let c = parse_ok("import /nonexistent/a.rc\nimport /nonexistent/dir\n/dev/x 0600 root root\n");
    assert_eq!(
        c.imports,
        [
            PathBuf::from("/nonexistent/a.rc"),
            PathBuf::from("/nonexistent/dir")
        ]
    );
    assert_eq!(c.dev_permissions.len(), 1);
}

#[test]
fn import_section_rejects_stray_lines() {
    let (c, errors) = parse_config("import /x.rc\n    devname uevent_devname\n", "i");
    assert_eq!(c.imports.len(), 1);
    assert_eq!(error_lines(&errors), [2]);
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

#[test]
fn files_imports_are_parsed_after_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sub = d.join("more.rc");
    let conf_d = d.join("conf.d");
    write(
        &d.join("main.rc"),
        &format!(
            "/dev/first 0600 root root\nimport {}\nimport {}\n/dev/second 0600 root root\n",
            sub.display(),
            conf_d.display()
        ),
    );
    write(&sub, "/dev/imported 0600 root root\n");
    write(&conf_d.join("b.rc"), "/dev/dir_b 0600 root root\n");
    write(&conf_d.join("a.rc"), "/dev/dir_a 0600 root root\n");
    // Not recursive: a nested directory is ignored.
    write(&conf_d.join("nested/c.rc"), "/dev/nested 0600 root root\n");
    write(&d.join("vendor.rc"), "/dev/vendor 0600 root root\n");
    let (c, errors) = parse_config_files(&[d.join("main.rc"), d.join("vendor.rc")]);
    assert!(errors.is_empty(), "{errors:?}");
    let names: Vec<&str> = c
        .dev_permissions
        .iter()
        .map(|p| p.pattern.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "/dev/first",
            "/dev/second",
            "/dev/imported",
            "/dev/dir_a",
            "/dev/dir_b",
            "/dev/vendor"
        ]
    );
}

#[test]
fn import_cycles_and_missing_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = d.join("a.rc");
    let b = d.join("b.rc");
    write(
        &a,
        &format!("/dev/a 0600 root root\nimport {}\n", b.display()),
    );
    write(
        &b,
        &format!("/dev/b 0600 root root\n\nimport {}\n", a.display()),
    );
    let missing = d.join("missing.rc");
    let (c, errors) = parse_config_files(&[a.clone(), missing.clone()]);
    let names: Vec<&str> = c
        .dev_permissions
        .iter()
        .map(|p| p.pattern.as_str())
        .collect();
    assert_eq!(names, ["/dev/a", "/dev/b"]);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(
        (errors[0].file.as_str(), errors[0].line),
        (b.to_str().unwrap(), 3)
    );
    assert!(errors[0].message.contains("cycle"));
    assert_eq!(
        (errors[1].file.as_str(), errors[1].line),
        (missing.to_str().unwrap(), 0)
    );
}

#[test]
fn deep_import_chains_are_cut() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for i in 0..40 {
        write(
            &d.join(format!("{i}.rc")),
            &format!(
                "/dev/n{i} 0600 root root\nimport {}\n",
                d.join(format!("{}.rc", i + 1)).display()
            ),
        );
    }
    let (c, errors) = parse_config_files(&[d.join("0.rc")]);
    assert_eq!(c.dev_permissions.len(), ueventd::config::MAX_IMPORT_DEPTH);
    assert_eq!(errors.len(), 1);
    assert!(errors[0].message.contains("deeper"));
}

#[test]
fn non_utf8_file_is_reported_and_still_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("x.rc");
    fs::write(&f, b"/dev/\xff 0600 root root\n/dev/ok 0600 root root\n").unwrap();
    let (c, errors) = parse_config_files(&[f]);
    assert_eq!(c.dev_permissions.len(), 2);
    assert_eq!(error_lines(&errors), [0]);
}

#[test]
fn huge_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("big.rc");
    let line = "/dev/x 0600 root root\n";
    let n = (ueventd::config::MAX_CONFIG_FILE_BYTES as usize) / line.len() + 2;
    fs::write(&f, line.repeat(n)).unwrap();
    let (c, errors) = parse_config_files(&[f]);
    assert!(c.dev_permissions.is_empty());
    assert_eq!(error_lines(&errors), [0]);
}

#[test]
fn system_then_vendor_fixture_files() {
    let (c, errors) =
        parse_config_files(&[testdata("system_ueventd.rc"), testdata("vendor_ueventd.rc")]);
    // The only problem: the system file imports a directory that is not there.
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].line, 30);
    assert!(errors[0].file.ends_with("testdata/system_ueventd.rc"));
    assert!(errors[0]
        .message
        .contains("cannot import /vendor/etc/ueventd.rc.d"));
    assert_eq!(c.uevent_socket_rcvbuf_size, Some(16 << 20));
    assert!(c.modalias_handling, "vendor overrides system");
    assert_eq!(
        c.firmware_directories,
        [
            "/etc/firmware/",
            "/vendor/firmware/",
            "/vendor/lib/firmware"
        ]
    );
    assert_eq!(c.subsystems.len(), 2);
    // Last match wins across files.
    let rtc = c.device_permissions("/dev/rtc0", &[]).unwrap();
    assert_eq!((rtc.mode, rtc.uid, rtc.gid), (0o660, 1000, 1001));
    let null = c.device_permissions("/dev/null", &[]).unwrap();
    assert_eq!(null.mode, 0o666);
    assert!(c.device_permissions("/dev/unknown", &[]).is_none());
    let tty = c.device_permissions("/dev/ttyS0", &[]).unwrap();
    assert_eq!((tty.mode, tty.gid), (0o620, 5));
    let vendor = c
        .device_permissions(
            "/dev/block/vda2",
            &["/dev/block/by-name/microdroid-vendor".into()],
        )
        .unwrap();
    assert_eq!((vendor.mode, vendor.gid), (0o640, 1000));
}

#[test]
fn permissions_constructor_matches_parser() {
    let c = parse_ok("/dev/a* 0600 root root no_fnm_pathname\n");
    assert_eq!(
        c.dev_permissions[0],
        Permissions::new("/dev/a*", 0o600, 0, 0, true)
    );
}
