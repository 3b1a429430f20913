//! Translates arbitrary regexes and checks the compiled matcher (with its
//! literal and prefix shortcuts) against plain regex-lite on the
//! translation. Input: `regex NUL subject`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sepolicy::pattern::{translate, RegexErrorKind, SpecRegex};

fuzz_target!(|data: &[u8]| {
    let (regex, subject) = match data.iter().position(|&b| b == 0) {
        Some(nul) => (&data[..nul], &data[nul + 1..]),
        None => (data, &b"/dev/null"[..]),
    };
    let Ok(regex) = std::str::from_utf8(regex) else {
        return;
    };
    let translated = translate(regex);
    match SpecRegex::new(regex) {
        Ok(compiled) => {
            let pattern = translated.expect("compiled patterns translate");
            let plain = regex_lite::Regex::new(&pattern).expect("translation compiles");
            let mapped: String = subject.iter().map(|&b| char::from(b)).collect();
            assert_eq!(compiled.is_match(subject), plain.is_match(&mapped), "{regex:?} vs {pattern:?}");
        }
        Err(e) => {
            // Only regex-lite's own limits fail after a successful translation.
            if translated.is_ok() {
                assert!(matches!(e.kind, RegexErrorKind::TooComplex(_)), "{regex:?}: {e}");
            }
        }
    }
});
