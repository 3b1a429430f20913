//! Fuzzes the modules.load list parser.
#![no_main]

use std::collections::HashSet;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use modprobe::parse::parse_load_list;

fuzz_target!(|data: &[u8]| {
    let names = parse_load_list(Path::new("modules.load"), data).entries;
    let unique: HashSet<&String> = names.iter().collect();
    assert_eq!(unique.len(), names.len());
    assert!(names.iter().all(|n| !n.is_empty() && !n.contains('-')));
});
