//! Fuzzes the modprobe command-line parser: arguments are NUL-separated.
#![no_main]

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use libfuzzer_sys::fuzz_target;
use modprobe::parse_args;

fuzz_target!(|data: &[u8]| {
    let args: Vec<OsString> = data
        .split(|&b| b == 0)
        .map(|a| OsString::from_vec(a.to_vec()))
        .collect();
    if let Ok(parsed) = parse_args(&args) {
        assert!((1..=256).contains(&parsed.jobs));
        assert!(parsed.params.iter().all(|p| p.contains('=')));
        assert!(parsed.modules.iter().all(|m| !m.contains('=')));
    }
});
