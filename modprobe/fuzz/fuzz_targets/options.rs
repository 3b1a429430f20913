//! Fuzzes the modules.options parser.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use modprobe::parse::{decode, parse_options};

fuzz_target!(|data: &[u8]| {
    let path = Path::new("modules.options");
    if let Ok(text) = decode(path, data) {
        if let Ok(entries) = parse_options(path, text) {
            for e in entries {
                assert!(!e.module.is_empty());
                assert_eq!(e.params.matches('"').count() % 2, 0);
                assert!(!e.params.contains('\t'));
            }
        }
    }
});
