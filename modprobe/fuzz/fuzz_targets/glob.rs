//! Fuzzes the glob matcher against glibc's `fnmatch(3)` (flags 0, C locale): input is
//! PATTERN NUL STRING (ASCII only: glibc's C locale has no multibyte characters).
#![no_main]

use std::ffi::CString;

use libfuzzer_sys::fuzz_target;
use modprobe::glob::fnmatch;

fn glibc(pattern: &str, string: &str) -> Option<bool> {
    let p = CString::new(pattern).ok()?;
    let s = CString::new(string).ok()?;
    // SAFETY: both are valid NUL-terminated strings that outlive the call.
    Some(unsafe { libc::fnmatch(p.as_ptr(), s.as_ptr(), 0) } == 0)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (pattern, string) = text.split_once('\0').unwrap_or((text, ""));
    let ours = fnmatch(pattern, string);
    if !pattern.is_ascii() || !string.is_ascii() {
        return;
    }
    if let Some(theirs) = glibc(pattern, string) {
        assert_eq!(ours, theirs, "pattern {pattern:?} string {string:?}");
    }
});
