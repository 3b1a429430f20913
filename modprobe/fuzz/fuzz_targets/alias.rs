//! Fuzzes the modules.alias parser, alias normalisation and glob matching of each
//! pattern against the other patterns (as names).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use modprobe::glob::fnmatch;
use modprobe::name::normalize_alias;
use modprobe::parse::{parse_alias, MAX_REPORTED_PROBLEMS};

fuzz_target!(|data: &[u8]| {
    let path = Path::new("modules.alias");
    let parsed = parse_alias(path, data);
    assert!(parsed.problems.len() <= MAX_REPORTED_PROBLEMS);
    let entries = &parsed.entries;
    for a in entries.iter().take(64) {
        let Some(pattern) = normalize_alias(&a.pattern) else {
            continue;
        };
        for b in entries.iter().take(64) {
            let _ = fnmatch(&pattern, &b.pattern);
        }
        // A pattern without metacharacters matches itself.
        if !pattern.contains(['*', '?', '[', '\\']) {
            assert!(fnmatch(&pattern, &pattern));
        }
    }
});
