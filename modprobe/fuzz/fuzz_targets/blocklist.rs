//! Fuzzes the modules.blocklist and modules.builtin parsers.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use modprobe::parse::{parse_blocklist, parse_builtin};

fuzz_target!(|data: &[u8]| {
    let path = Path::new("modules.blocklist");
    let entries = parse_blocklist(path, data).entries;
    assert!(entries.iter().all(|e| !e.module.is_empty()));
    let names = parse_builtin(path, data).entries;
    assert!(names.iter().all(|n| !n.is_empty()));
});
