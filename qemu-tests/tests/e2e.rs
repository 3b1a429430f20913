//! End to end (issue 9, issues 13–14): the demo boot — strict, with Linux's open-dice
//! driver as a first-stage module; first stage, by-name, DICE vendor node, dm-verity,
//! /vendor, 26 vendor modules in one pass, rc interpreter, ueventd, vendor rc, a vendor
//! service, clean shutdown — enforcing with the shipped SELinux policy and not one denial,
//! PID 1 in `init`, ueventd in `ueventd`, the vendor service in `vendor_service`; the DICE
//! chain brought back and verified on the host and the DICE region read back from guest
//! memory (wiped). `cargo xtask demo` shows this same boot.

use qemu_tests::{demo, Arch};

#[test]
fn demo_boot_is_complete() {
    let d = demo::prepare(Arch::Aarch64).expect("demo guest");
    let (log, region_after) = demo::boot(&d).expect("boot");
    let outcome = demo::check(&d, &log, &region_after).unwrap_or_else(|e| panic!("{e}"));
    // Enforcing, zero denials, the three domains (demo::check_selinux).
    assert_eq!(outcome.selinux.len(), demo::SELINUX_LINES.len());
    assert_eq!(outcome.chain.len(), 5, "{:?}", outcome.chain);
    assert!(outcome.chain[3].contains("name=\"Microdroid vendor\""));
    assert!(outcome.chain[4].contains("name=\"Microdroid payload\""));
    eprintln!(
        "{}{}\n{}",
        log.timeline_table(),
        outcome.vendor_modules,
        outcome.selinux.join("\n")
    );
}
