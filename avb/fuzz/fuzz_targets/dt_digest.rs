//! Fuzzes the device-tree digest property parser; an accepted value must be 64 or 128
//! lowercase hex characters.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = avb::parse_expected_digest(data) {
        assert!(s.len() == 64 || s.len() == 128);
        assert!(s.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
    }
});
