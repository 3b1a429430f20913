//! Fuzzes the modules.dep parser (any bytes: bad lines, non-UTF-8 ones included, are
//! reported with their line number and skipped).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use modprobe::parse::parse_dep;
use modprobe::ModprobeError;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("modules.dep");
    let parsed = parse_dep(path, data);
    let lines = data.split(|&b| b == b'\n').count();
    for e in &parsed.entries {
        assert!(!e.name.is_empty());
        assert!((1..=lines).contains(&e.line));
    }
    for p in &parsed.problems {
        assert!(matches!(p, ModprobeError::Parse { line, .. } if (1..=lines).contains(line)));
    }
});
