//! Fuzzes the kernel command line module-parameter parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modprobe::cmdline_module_params;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for (module, param) in cmdline_module_params(text) {
        assert!(!module.is_empty());
        assert!(param.contains('='));
    }
});
