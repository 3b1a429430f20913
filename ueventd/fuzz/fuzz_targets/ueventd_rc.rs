//! Fuzzes the ueventd.rc parser (tokenizer, directives, user names, sizes) and the path
//! matching of whatever lines it accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (config, errors) = ueventd::parse_config(&text, "fuzz.rc");
    for e in &errors {
        let _ = e.to_string();
    }
    // Match the parsed patterns against a few paths and against the text itself.
    let probes = [
        "/dev/null",
        "/dev/block/vda1",
        "/dev/input/event0",
        "/dev/a/b/c",
        &text,
    ];
    for p in probes {
        let _ = config.device_permissions(p, &[p.to_string()]);
        for s in &config.sysfs_permissions {
            let _ = s.matches_with_subsystem(p, "input");
        }
        for h in &config.external_firmware_handlers {
            let _ = h.devpath.matches(p);
        }
    }
    let _ = config.subsystem("input");
    // A device-line pattern (ueventd's AOSP rules over the shared fnmatch): first line is
    // the pattern, the rest the path.
    if let Some((pattern, rest)) = text.split_once('\n') {
        for no_fnm_pathname in [false, true] {
            let _ = ueventd::PathPattern::new(pattern, no_fnm_pathname).matches(rest);
        }
    }
});
