//! exploration (temporary)
use qemu_tests::modules::vendor_modules;
use qemu_tests::scenario::{Guest, VendorOptions, VendorTree};
use qemu_tests::Arch;

#[test]
fn explore() {
    let mut g = Guest::new(Arch::Aarch64).unwrap();
    let mut t = VendorTree::new().unwrap();
    t.busybox(Arch::Aarch64).unwrap();
    let m = vendor_modules(&mut t, &g.kernel, &["zram", "loop"]).unwrap();
    eprintln!("modules {m:?}");
    t.file(
        "etc/ueventd.rc",
        0o644,
        b"/dev/block/zram0 0640 system radio\n/dev/loop-control 0604 shell media\n",
    )
    .unwrap();
    t.file("etc/init/probe.rc", 0o644, br#"on init
    exec -- /vendor/bin/busybox sh -c "ls -l /dev /dev/block /dev/block/by-name; ls /sys/class; ls /sys/class/*; cat /proc/cmdline"
"#).unwrap();
    g.vendor(&t, &VendorOptions::default()).unwrap();
    g.shutdown_when_booted().unwrap();
    let log = g.boot().unwrap();
    std::fs::write("/tmp/explore/boot1.log", &log.console).unwrap();
    eprintln!("elapsed {:?}", log.elapsed);
}
