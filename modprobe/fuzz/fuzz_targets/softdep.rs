//! Fuzzes the modules.softdep parser.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use modprobe::parse::{decode, parse_softdep};

fuzz_target!(|data: &[u8]| {
    let path = Path::new("modules.softdep");
    if let Ok(text) = decode(path, data) {
        if let Ok(entries) = parse_softdep(path, text) {
            for e in entries {
                assert!(!e.module.is_empty());
                assert!(e
                    .pre
                    .iter()
                    .chain(&e.post)
                    .all(|n| n != "pre:" && n != "post:"));
            }
        }
    }
});
