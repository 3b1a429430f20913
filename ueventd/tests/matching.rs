//! Matching precedence (exact, trailing `*`, fnmatch with `*`/`?` in the middle,
//! FNM_PATHNAME, `no_fnm_pathname`, last line wins, across files, default 0600 root root).
//! The glob itself is tested against the C library's in the `fnmatch` crate.

use ueventd::{parse_config, parse_config_files, PathPattern};

fn mode_of(text: &str, path: &str, links: &[&str]) -> Option<(u32, u32, u32)> {
    let (c, errors) = parse_config(text, "m.rc");
    assert!(errors.is_empty(), "{errors:?}");
    let links: Vec<String> = links.iter().map(|s| s.to_string()).collect();
    c.device_permissions(path, &links)
        .map(|p| (p.mode, p.uid, p.gid))
}

#[test]
fn exact_match() {
    let rc = "/dev/null 0666 root root\n";
    assert_eq!(mode_of(rc, "/dev/null", &[]), Some((0o666, 0, 0)));
    assert_eq!(mode_of(rc, "/dev/null0", &[]), None);
    assert_eq!(mode_of(rc, "/dev/nul", &[]), None);
}

#[test]
fn trailing_star_is_a_prefix_across_slashes() {
    let rc = "/dev/graphics/* 0660 root graphics\n/dev/ashmem* 0666 root root\n";
    assert_eq!(
        mode_of(rc, "/dev/graphics/fb0", &[]),
        Some((0o660, 0, 1003))
    );
    assert_eq!(
        mode_of(rc, "/dev/graphics/a/b", &[]),
        Some((0o660, 0, 1003))
    );
    assert_eq!(mode_of(rc, "/dev/ashmem", &[]), Some((0o666, 0, 0)));
    assert_eq!(
        mode_of(rc, "/dev/ashmem1234-uuid", &[]),
        Some((0o666, 0, 0))
    );
    assert_eq!(mode_of(rc, "/dev/graphics", &[]), None);
}

#[test]
fn fnmatch_in_the_middle_honours_fnm_pathname() {
    let rc = "/dev/*/test 0660 root system\n/dev/tty*[0-9] 0620 root 5\n";
    assert_eq!(mode_of(rc, "/dev/x/test", &[]), Some((0o660, 0, 1000)));
    assert_eq!(mode_of(rc, "/dev/x/y/test", &[]), None);
    assert_eq!(mode_of(rc, "/dev/ttyS0", &[]), Some((0o620, 0, 5)));
    assert_eq!(mode_of(rc, "/dev/ttyS12", &[]), Some((0o620, 0, 5)));
    assert_eq!(mode_of(rc, "/dev/ttyS", &[]), None);
}

#[test]
fn no_fnm_pathname_lets_star_cross_slashes() {
    let rc = "/dev/*/test 0660 root system no_fnm_pathname\n";
    assert_eq!(mode_of(rc, "/dev/x/y/test", &[]), Some((0o660, 0, 1000)));
}

#[test]
fn question_mark_without_star_is_literal() {
    let rc = "/dev/tty? 0666 root root\n";
    assert_eq!(mode_of(rc, "/dev/tty1", &[]), None);
    assert_eq!(mode_of(rc, "/dev/tty?", &[]), Some((0o666, 0, 0)));
}

#[test]
fn last_matching_line_wins() {
    let rc = "/dev/* 0600 root root\n/dev/input/* 0660 root input\n/dev/input/event1 0640 system input\n";
    assert_eq!(
        mode_of(rc, "/dev/input/event1", &[]),
        Some((0o640, 1000, 1004))
    );
    assert_eq!(
        mode_of(rc, "/dev/input/event2", &[]),
        Some((0o660, 0, 1004))
    );
    assert_eq!(mode_of(rc, "/dev/other", &[]), Some((0o600, 0, 0)));
    // A broad line after a specific one overrides it.
    let rc = "/dev/input/event1 0640 system input\n/dev/input/* 0660 root input\n";
    assert_eq!(
        mode_of(rc, "/dev/input/event1", &[]),
        Some((0o660, 0, 1004))
    );
}

#[test]
fn links_match_too() {
    let rc = "/dev/block/by-name/vendor 0640 root system\n/dev/block/vdb 0600 root radio\n";
    assert_eq!(
        mode_of(rc, "/dev/block/vdc", &["/dev/block/by-name/vendor"]),
        Some((0o640, 0, 1000))
    );
    // The node's own line is later, so it wins over the link's.
    assert_eq!(
        mode_of(rc, "/dev/block/vdb", &["/dev/block/by-name/vendor"]),
        Some((0o600, 0, 1001))
    );
}

#[test]
fn default_when_nothing_matches() {
    // None: the caller applies 0600 root root (see tests/devices.rs).
    assert_eq!(mode_of("/dev/a 0666 root root\n", "/dev/b", &[]), None);
    assert_eq!(ueventd::config::DEFAULT_MODE, 0o600);
}

#[test]
fn later_files_override_earlier_ones() {
    let dir = tempfile::tempdir().unwrap();
    let system = dir.path().join("system.rc");
    let vendor = dir.path().join("vendor.rc");
    std::fs::write(
        &system,
        "/dev/rtc0 0640 system system\n/dev/input/* 0660 root input\n",
    )
    .unwrap();
    std::fs::write(&vendor, "/dev/rtc0 0600 root root\n").unwrap();
    let (c, errors) = parse_config_files(&[system, vendor]);
    assert!(errors.is_empty());
    let p = c.device_permissions("/dev/rtc0", &[]).unwrap();
    assert_eq!((p.mode, p.uid, p.gid), (0o600, 0, 0));
    let p = c.device_permissions("/dev/input/event0", &[]).unwrap();
    assert_eq!((p.mode, p.gid), (0o660, 1004));
}

#[test]
fn sysfs_lines_match_subsystem_aliases() {
    let (c, _) = parse_config(
        "/sys/class/input/input* enable 0660 root input\n\
         /sys/bus/usb/devices/* power 0600 system system\n\
         /sys/devices/platform/trusty.* trusty_version 0440 root log\n",
        "s",
    );
    let s = &c.sysfs_permissions;
    // Pattern names the subsystem: /sys/class/<subsystem>/<basename> is tried.
    assert!(s[0].matches_with_subsystem("/sys/devices/virtual/input/input3", "input"));
    assert!(!s[0].matches_with_subsystem("/sys/devices/virtual/input/input3", "misc"));
    assert!(s[1].matches_with_subsystem("/sys/devices/pci0/usb1/1-1", "usb"));
    assert!(s[2].matches_with_subsystem("/sys/devices/platform/trusty.0", "platform"));
    assert!(!s[2].matches_with_subsystem("/sys/devices/platform/other", "platform"));
}

#[test]
fn pattern_edge_cases() {
    assert!(PathPattern::new("*", false).is_prefix());
    assert!(PathPattern::new("*", false).matches("anything/at/all"));
    assert!(PathPattern::new("", false).matches(""));
    assert!(!PathPattern::new("", false).matches("/dev"));
    assert!(PathPattern::new("/dev/**", false).is_glob());
    assert!(!PathPattern::new("/dev/**", false).matches("/dev/a/b"));
    assert!(PathPattern::new("/dev/**", true).matches("/dev/a/b"));
}
