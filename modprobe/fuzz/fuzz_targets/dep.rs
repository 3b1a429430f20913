//! Fuzzes the modules.dep parser (any bytes: UTF-8 check, then lines).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use modprobe::parse::{decode, parse_dep};

fuzz_target!(|data: &[u8]| {
    let path = Path::new("modules.dep");
    if let Ok(text) = decode(path, data) {
        if let Ok(entries) = parse_dep(path, text) {
            for e in entries {
                assert!(!e.name.is_empty());
                assert!(e.line >= 1);
            }
        }
    }
});
