//! Fault injection (issue 17): a failing, slow, late or crowded disk, a starved guest,
//! and hostile host inputs, each booted for real on the Debian arm64 kernel. Every case
//! ends in its documented outcome; none in a PID 1 panic or "Attempted to kill init".
//!
//! Disks fail through QEMU's `blkdebug` driver (EIO on chosen sectors) and crawl through
//! its block throttling ([`qemu_tests::faults`]); the hot-plug goes through the HMP
//! monitor on a PCIe root port, as in the ueventd test.

use qemu_tests::console::{BootLog, VENDOR_BOOT_PHASES};
use qemu_tests::faults::{attach_with_eio, vendor_disk};
use qemu_tests::scenario::{ext4_block_offset, Guest, VendorOptions, VendorTree};
use qemu_tests::Arch;

const A64: Arch = Arch::Aarch64;

/// A vendor tree with busybox, an rc file, and the files in `files` (path, size; the
/// contents are the path repeated, so each block is distinct and non-zero).
fn tree(rc: &str, files: &[(&str, usize)]) -> VendorTree {
    let mut t = VendorTree::new().expect("tree");
    t.busybox(A64).expect("busybox");
    t.file("etc/init/faults.rc", 0o644, rc.as_bytes())
        .expect("rc");
    for (path, size) in files {
        let mut data: Vec<u8> = path.bytes().cycle().take(*size).collect();
        data.truncate(*size);
        t.file(path, 0o644, &data).expect("file");
    }
    t
}

fn assert_no_pid1_death(log: &BootLog) {
    assert!(!log.kernel_panicked(), "{}", log.report("kernel panic"));
    log.assert_lacks("Attempted to kill init");
    log.assert_lacks("reason=PANIC");
}

/// EIO on the sector holding the AVB footer: the first stage cannot read it and stops
/// with `VBMETA_INVALID`, naming the error.
#[test]
fn eio_reading_the_footer_is_vbmeta_invalid() {
    let mut g = Guest::new(A64).unwrap();
    let vd = vendor_disk(&mut g, &tree("", &[]), &VendorOptions::default(), "vendor").unwrap();
    let footer = vd.sector_of(vd.info.partition_size - 64);
    attach_with_eio(&mut g, &vd.disk, &[footer]).unwrap();
    let log = g.boot().unwrap();
    let line = log.assert_fatal("VBMETA_INVALID");
    eprintln!("{line}");
    assert!(line.contains("Input/output error (os error 5)"), "{line}");
    assert_no_pid1_death(&log);
}

const AFTER_MOUNT_RC: &str = r#"on early-init
    exec -- /vendor/bin/busybox sh -c "if cat /vendor/etc/data.bin > /dev/null; then echo FAULT_DATA_READ ok; else echo FAULT_DATA_READ failed; fi; if cat /vendor/etc/tree.bin > /dev/null; then echo FAULT_TREE_READ ok; else echo FAULT_TREE_READ failed; fi; echo FAULT_READS_DONE"
"#;

/// EIO, after the mount, on a data block of one file and on a hash-tree block that
/// covers only another file's blocks: the reads through dm-verity fail with EIO in
/// userspace (an I/O error is not corruption, so `restart_on_corruption` does not
/// restart), the rest of the boot goes on and powers off cleanly.
///
/// dm-verity prefetches level-0 hash blocks in clusters of 64 (256 KiB), so the mount's
/// first read brings in hash blocks 0..63 at once: the failing hash block must sit in a
/// later cluster, which needs more than 64 hash blocks (over 32 MiB of data). tree.bin
/// (40 MiB, the last and largest file) provides them.
#[test]
fn eio_after_the_mount_fails_the_read_and_the_boot_goes_on() {
    let mut g = Guest::new(A64).unwrap();
    let t = tree(
        AFTER_MOUNT_RC,
        &[("etc/data.bin", 64 * 1024), ("etc/tree.bin", 40 << 20)],
    );
    let vd = vendor_disk(&mut g, &t, &VendorOptions::default(), "vendor").unwrap();
    let img = g.work.path().join("vendor.img");
    let data_block = ext4_block_offset(&img, "/etc/data.bin", 0).unwrap();
    let blocks = (40 << 20) / 4096;
    let first = ext4_block_offset(&img, "/etc/tree.bin", 0).unwrap() / 4096;
    let last = ext4_block_offset(&img, "/etc/tree.bin", blocks - 1).unwrap() / 4096;
    assert_eq!(last - first, blocks - 1, "tree.bin must be contiguous");
    let geometry =
        avb::tree_geometry(vd.info.image_size / 4096, 4096, avb::HashAlgorithm::Sha256).unwrap();
    // Hash blocks are numbered from the start of the tree; level 0 comes last.
    let level0 = geometry.level_offsets[0] / 4096;
    let leaf = first.div_ceil(128).max(64 - level0.min(64));
    assert!(
        (leaf + 1) * 128 - 1 <= last && level0 + leaf >= 64,
        "leaf {leaf} (level 0 at hash block {level0}) for tree.bin blocks {first}..={last}"
    );
    let leaf_offset = vd.info.tree_offset + (level0 + leaf) * 4096;
    attach_with_eio(
        &mut g,
        &vd.disk,
        &[vd.sector_of(data_block), vd.sector_of(leaf_offset)],
    )
    .unwrap();
    g.shutdown_when_booted().unwrap();
    let log = g.boot().unwrap();
    for line in log.grep("FAULT_").chain(log.grep("I/O error")) {
        eprintln!("{line}");
    }
    log.assert_contains("FAULT_DATA_READ failed");
    log.assert_contains("FAULT_TREE_READ failed");
    log.assert_contains("FAULT_READS_DONE");
    log.assert_phases(VENDOR_BOOT_PHASES);
    assert!(!log.restarted(), "{}", log.report("restarted"));
    assert_no_pid1_death(&log);
    log.assert_clean_poweroff();
}
