//! Foundation boots: each architecture boots the bare first stage to a clean power-off
//! with the phase timeline and no fatal line.

use qemu_tests::{guest, kernel, vm::VmConfig, Arch};

fn boot_bare(arch: Arch) -> qemu_tests::console::BootLog {
    let k = kernel::obtain(arch).expect("kernel");
    let dir = tempfile::tempdir().expect("tempdir");
    let initrd = dir.path().join("initramfs.img");
    guest::base_initramfs(arch, &k)
        .expect("initramfs")
        .write_to(&initrd, true)
        .expect("write initramfs");
    VmConfig::new(&k, &initrd).boot().expect("boot")
}

#[test]
fn aarch64_boots_to_clean_poweroff() {
    let log = boot_bare(Arch::Aarch64);
    log.assert_phases(&["start", "early_mounts", "poweroff"]);
    log.assert_clean_poweroff();
}

#[test]
fn x86_64_boots_to_clean_poweroff() {
    let log = boot_bare(Arch::X86_64);
    log.assert_phases(&["start", "early_mounts", "poweroff"]);
    log.assert_clean_poweroff();
}
