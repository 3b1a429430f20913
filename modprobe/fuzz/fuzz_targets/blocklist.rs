//! Fuzzes the modules.blocklist and modules.builtin parsers.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use modprobe::parse::{decode, parse_blocklist, parse_builtin};

fuzz_target!(|data: &[u8]| {
    let path = Path::new("modules.blocklist");
    if let Ok(text) = decode(path, data) {
        if let Ok(entries) = parse_blocklist(path, text) {
            assert!(entries.iter().all(|e| !e.module.is_empty()));
        }
        if let Ok(names) = parse_builtin(path, text) {
            assert!(names.iter().all(|n| !n.is_empty()));
        }
    }
});
