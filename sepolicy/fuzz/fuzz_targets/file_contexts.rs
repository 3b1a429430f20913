//! Parses arbitrary bytes as a (platform or partner) file_contexts and
//! looks up fixed paths and paths taken from the input itself.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sepolicy::{FileContexts, FileKind};

const PATHS: &[&[u8]] = &[
    b"/",
    b"//",
    b"",
    b"/dev/null",
    b"/dev/block/vda1",
    b"/vendor/bin/hw/x",
    b"//a//b/",
    b"/data/\xc3\xa9\n",
    b"/system/bin/sh\n",
    b"relative/path",
];

fuzz_target!(|data: &[u8]| {
    let (partner, text) = match data.split_first() {
        Some((flags, rest)) => (flags & 1 == 1, rest),
        None => (false, data),
    };
    let outcome = if partner {
        FileContexts::parse_partner(text, "fuzz_file_contexts")
    } else {
        FileContexts::parse_bytes(text, "fuzz_file_contexts")
    };
    let _ = outcome.errors.to_string();
    let fc = outcome.contexts;
    let from_input = text
        .split(|&b| b == b'\n')
        .take(16)
        .filter_map(|line| line.split(|b| b.is_ascii_whitespace()).find(|f| !f.is_empty()));
    for path in PATHS.iter().copied().chain(from_input) {
        let _ = fc.lookup_bytes(path, None);
        for kind in FileKind::ALL {
            let _ = fc.lookup_bytes(path, Some(kind));
        }
        let _ = fc.lookup_mode(path, 0o030_000);
    }
});
