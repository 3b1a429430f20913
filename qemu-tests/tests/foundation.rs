//! Foundation boots: each architecture boots our initramfs on the real Debian kernel,
//! runs the first stage (no vendor partition requested), execs the rc interpreter and
//! powers off cleanly when boot completes, with the phase timeline and no fatal line.

use qemu_tests::{scenario::Guest, Arch};

fn boot(arch: Arch) {
    let mut g = Guest::new(arch).expect("guest");
    g.shutdown_when_booted().expect("rc");
    let log = g.boot().expect("boot");
    log.assert_phases(&[
        "start",
        "early_mounts",
        "modules",
        "selinux",
        "second_stage",
    ]);
    log.assert_contains("booting without /vendor");
    log.assert_contains("init: powerctl shutdown");
    log.assert_clean_poweroff();
    eprintln!(
        "{}: booted and powered off in {:?}\n{}",
        arch.name(),
        log.elapsed,
        log.timeline_table()
    );
}

#[test]
fn aarch64_boots_to_clean_poweroff() {
    boot(Arch::Aarch64);
}

#[test]
fn x86_64_boots_to_clean_poweroff() {
    boot(Arch::X86_64);
}

/// With no rc interpreter in the initramfs the first stage powers off by itself.
#[test]
fn first_stage_alone_powers_off() {
    let mut g = Guest::new(Arch::X86_64).expect("guest");
    g.first_stage_only().expect("strip rc");
    let log = g.boot().expect("boot");
    log.assert_phases(&["start", "early_mounts", "modules", "selinux", "poweroff"]);
    log.assert_clean_poweroff();
}
