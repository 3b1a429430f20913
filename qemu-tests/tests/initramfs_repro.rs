//! The guest initramfs is reproducible: two builds of the same inputs are identical.

use std::process::Command;

use qemu_tests::{guest, kernel, Arch};

#[test]
fn guest_initramfs_builds_are_bit_identical() {
    for arch in Arch::ALL {
        let k = kernel::obtain(arch).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.img");
        let b = dir.path().join("b.img");
        guest::base_initramfs(arch, &k)
            .unwrap()
            .write_to(&a, true)
            .unwrap();
        guest::base_initramfs(arch, &k)
            .unwrap()
            .write_to(&b, true)
            .unwrap();
        let sum = |p: &std::path::Path| {
            let out = Command::new("sha256sum").arg(p).output().unwrap();
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned()
        };
        let (sa, sb) = (sum(&a), sum(&b));
        eprintln!("{}: initramfs sha256 {sa}", arch.name());
        assert_eq!(sa, sb, "{arch:?} initramfs differs between builds");
        assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    }
}
