//! Fuzzes the command-line and bootconfig parsers with arbitrary bytes (split at the
//! first NUL: command line before, bootconfig after) and checks the decisions' invariants:
//! strict boot never takes "debuggable" from the command line, a normal boot is always
//! enforcing, and `/vendor` is asked for only by the exact command-line word.
#![no_main]

use boot_config::{BootConfig, DtProperty, DEBUGGABLE_KEY, MOUNT_VENDOR_FLAG};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (cl, bc) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let cl = String::from_utf8_lossy(cl);
    let bc = String::from_utf8_lossy(bc);
    for strict in [false, true] {
        let c = BootConfig::from_parts(&cl, &bc, strict, DtProperty::Absent);
        for (k, _) in &c.cmdline_params {
            assert!(!k.contains('"'), "quote left in key {k:?}");
        }
        for (k, v) in &c.bootconfig {
            assert!(!k.is_empty() && !k.contains('\n') && !v.contains('\n'));
        }
        if strict && c.bootconfig_get(DEBUGGABLE_KEY).is_none() {
            assert!(!c.debuggable);
        }
        if !c.debuggable {
            assert!(c.selinux_mode().enforcing);
        }
        if c.mount_vendor {
            assert!(c.cmdline_get(MOUNT_VENDOR_FLAG).is_some());
        }
        let _ = c.boot_devices();
        let _ = c.describe();
    }
});
