//! Differential tests: our `fnmatch` agrees with the C library's (glibc, C locale) with
//! flags 0 and with `FNM_PATHNAME`, on hand-picked cases and random patterns.

use std::ffi::CString;

use fnmatch::{fnmatch, Flags};
use proptest::prelude::*;

/// The C library's answer.
fn libc_fnmatch(pattern: &str, s: &str, pathname: bool) -> bool {
    let p = CString::new(pattern).unwrap();
    let n = CString::new(s).unwrap();
    let flags = if pathname { libc::FNM_PATHNAME } else { 0 };
    // SAFETY: both pointers are valid NUL-terminated strings that outlive the call.
    unsafe { libc::fnmatch(p.as_ptr(), n.as_ptr(), flags) == 0 }
}

fn ours(pattern: &str, s: &str, pathname: bool) -> bool {
    fnmatch(pattern, s, Flags { pathname })
}

fn agree(pattern: &str, text: &str, pathname: bool) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        ours(pattern, text, pathname),
        libc_fnmatch(pattern, text, pathname),
        "pattern {:?} text {:?} pathname {}",
        pattern,
        text,
        pathname
    );
    Ok(())
}

#[test]
fn known_cases_agree_with_libc() {
    let cases = [
        ("/dev/*/test", "/dev/a/test"),
        ("/dev/*/test", "/dev/a/b/test"),
        ("*", "/"),
        ("?", "/"),
        ("[/]", "/"),
        ("[!a]", "/"),
        ("a[", "a["),
        ("a[]", "a]"),
        ("a[]]", "a]"),
        ("a[!]]", "ab"),
        ("a[a-]", "a-"),
        ("a[z-a]", "am"),
        ("a[[:alpha:]]", "ab"),
        ("a[[:alpha:]", "a["),
        ("a[[:nope:]]", "ab"),
        ("a\\", "a\\"),
        ("a\\b", "ab"),
        ("[\\]]", "]"),
        ("[a\\-z]", "-"),
        ("*a*b*c", "xaybzc"),
        ("*/*", "a/b/c"),
        ("a*/b", "ax/b"),
        ("a*/b", "a/x/b"),
        ("*\\/", "a/"),
        ("a\\/b", "a/b"),
        ("*?", "ab/"),
        ("[", "/"),
        (
            "/sys/devices/platform/trusty.*",
            "/sys/devices/platform/trusty.0",
        ),
        (
            "pci:v00001AF4d00001042sv*sd*bc*sc*i*",
            "pci:v00001AF4d00001042sv00001AF4sd00001100bc01sc00i00",
        ),
    ];
    for (p, s) in cases {
        for pathname in [false, true] {
            assert_eq!(
                ours(p, s, pathname),
                libc_fnmatch(p, s, pathname),
                "fnmatch({p:?}, {s:?}, pathname={pathname})"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn agrees_with_libc(
        pattern in "[ab/*?\\[\\]!^\\\\:=.-]{0,12}",
        text in "[ab/\\-\\]\\[!:=.]{0,10}",
        pathname in any::<bool>(),
    ) {
        agree(&pattern, &text, pathname)?;
    }

    #[test]
    fn agrees_with_libc_on_paths(
        pattern in "(/|[a-c]{1,2}|\\*|\\?|\\\\/|\\[[a-c/-]{1,3}\\])+",
        text in "(/|[a-c]{1,3})+",
        pathname in any::<bool>(),
    ) {
        agree(&pattern, &text, pathname)?;
    }

    #[test]
    fn agrees_with_libc_on_classes(
        pattern in "(\\[(!|\\^)?(\\[:(alpha|digit|upper|nope|a-z):\\]|\\[=a=\\]|\\[\\.a\\.\\]|[a-c]|-)*\\]?|\\*|[a-c])+",
        text in "[a-cA-C0-9\\[\\]:.=-]{0,6}",
    ) {
        agree(&pattern, &text, false)?;
    }
}
