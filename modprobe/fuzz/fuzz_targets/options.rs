//! Fuzzes the modules.options parser.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use modprobe::parse::parse_options;

fuzz_target!(|data: &[u8]| {
    for e in parse_options(Path::new("modules.options"), data).entries {
        assert!(!e.module.is_empty());
        assert_eq!(e.params.matches('"').count() % 2, 0);
        assert!(!e.params.contains('\t'));
    }
});
