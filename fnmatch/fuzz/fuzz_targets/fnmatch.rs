//! Fuzzes `fnmatch` against glibc's `fnmatch(3)` (C locale) with flags 0 and with
//! `FNM_PATHNAME`: input is FLAG PATTERN NUL STRING, FLAG's low bit selecting
//! `FNM_PATHNAME` (ASCII only: glibc's C locale has no multibyte characters).
#![no_main]

use std::ffi::CString;

use fnmatch::{fnmatch, Flags};
use libfuzzer_sys::fuzz_target;

fn glibc(pattern: &str, string: &str, pathname: bool) -> Option<bool> {
    let p = CString::new(pattern).ok()?;
    let s = CString::new(string).ok()?;
    let flags = if pathname { libc::FNM_PATHNAME } else { 0 };
    // SAFETY: both are valid NUL-terminated strings that outlive the call.
    Some(unsafe { libc::fnmatch(p.as_ptr(), s.as_ptr(), flags) } == 0)
}

fuzz_target!(|data: &[u8]| {
    let Some((&flag, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let pathname = flag & 1 == 1;
    let (pattern, string) = text.split_once('\0').unwrap_or((text, ""));
    let ours = fnmatch(pattern, string, Flags { pathname });
    if !pattern.is_ascii() || !string.is_ascii() {
        return;
    }
    if let Some(theirs) = glibc(pattern, string, pathname) {
        assert_eq!(ours, theirs, "pattern {pattern:?} string {string:?} pathname {pathname}");
    }
});
