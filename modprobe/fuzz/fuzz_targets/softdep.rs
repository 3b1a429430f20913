//! Fuzzes the modules.softdep parser.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use modprobe::parse::parse_softdep;

fuzz_target!(|data: &[u8]| {
    for e in parse_softdep(Path::new("modules.softdep"), data).entries {
        assert!(!e.module.is_empty());
        assert!(e
            .pre
            .iter()
            .chain(&e.post)
            .all(|n| n != "pre:" && n != "post:"));
    }
});
