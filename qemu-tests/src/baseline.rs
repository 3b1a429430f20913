//! The standard-tools baseline the benchmarks compare against: Debian's own arm64 (or
//! amd64) busybox, kmod (`modprobe`, `insmod`) and `dmsetup` with their shared
//! libraries, in an initramfs whose `/init` is a busybox shell script doing the same job
//! as our first stage (mount, first-stage modules, find the partition, dm-verity with
//! the same table, mount, `modprobe -a` the vendor set). It prints the same phase lines
//! (`first_stage: phase=<name> t_ms=<n>`, from `/proc/uptime`, 10 ms resolution) so
//! both boots are read by the same code.

use std::fs;
use std::path::Path;

use initramfs::Archive;

use crate::error::{io, HarnessError};
use crate::{debian, Arch};

/// The Debian packages of the baseline (binaries and every shared library they need).
pub const PACKAGES: &[&str] = &[
    "busybox-static",
    "kmod",
    "libkmod2",
    "libc6",
    "liblzma5",
    "libzstd1",
    "libssl3",
    "zlib1g",
    "dmsetup",
    "libdevmapper1.02.1",
    "libselinux1",
    "libudev1",
    "libpcre2-8-0",
];

fn multiarch(arch: Arch) -> &'static str {
    match arch {
        Arch::Aarch64 => "aarch64-linux-gnu",
        Arch::X86_64 => "x86_64-linux-gnu",
    }
}

/// Copies `src` (file or symlink) into the archive at `dest`.
fn add_entry(a: &mut Archive, dest: &str, src: &Path) -> Result<(), HarnessError> {
    let m = fs::symlink_metadata(src).map_err(io(format!("stat {}", src.display())))?;
    if m.file_type().is_symlink() {
        let t = fs::read_link(src).map_err(io(format!("readlink {}", src.display())))?;
        a.add_symlink(dest, &t.to_string_lossy())?;
    } else if m.is_file() {
        a.add_host_file(dest, src)?;
    }
    Ok(())
}

/// Adds the standard tools: `/bin/busybox`, `/bin/kmod` with `/sbin/{modprobe,insmod,
/// rmmod,lsmod}` links, `/sbin/dmsetup`, the dynamic loader and every shared library of
/// [`PACKAGES`] (their top-level `lib/<triplet>` files; no plugin directories).
pub fn add_standard_tools(a: &mut Archive, arch: Arch) -> Result<(), HarnessError> {
    let triplet = multiarch(arch);
    for pkg in PACKAGES {
        let root = debian::fetch(pkg, arch)?;
        for libdir in [format!("lib/{triplet}"), format!("usr/lib/{triplet}")] {
            let dir = root.join(&libdir);
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            let mut names: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
            names.sort();
            for p in names {
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
                if let Some(name) = name.filter(|n| n.contains(".so")) {
                    add_entry(a, &format!("/lib/{triplet}/{name}"), &p)?;
                }
            }
        }
        for (dest, src) in [
            ("/bin/busybox", "bin/busybox"),
            ("/bin/kmod", "bin/kmod"),
            ("/sbin/dmsetup", "sbin/dmsetup"),
            ("/lib/ld-linux-aarch64.so.1", "lib/ld-linux-aarch64.so.1"),
            ("/lib64/ld-linux-x86-64.so.2", "lib64/ld-linux-x86-64.so.2"),
        ] {
            let p = root.join(src);
            if p.symlink_metadata().is_ok() {
                add_entry(a, dest, &p)?;
            }
        }
    }
    for tool in ["modprobe", "insmod", "rmmod", "lsmod"] {
        a.add_symlink(&format!("/sbin/{tool}"), "/bin/kmod")?;
    }
    a.add_symlink("/bin/sh", "busybox")?;
    Ok(())
}

/// What the baseline `/init` needs to know (the host computes what our first stage reads
/// from the vbmeta: the baseline has no AVB parser).
pub struct BaselineJob<'a> {
    /// The dm-verity table line (`0 <len> verity …`) with `/dev/block/<part>` devices.
    pub verity_table: &'a str,
    /// The expected digest the DT carries (checked with `cmp`, as the only check a shell
    /// can do).
    pub expected_digest: &'a str,
}

/// The baseline `/init`: the same job as our first stage with standard tools only.
/// `@TABLE@` uses the partition found at run time.
pub fn init_script(job: &BaselineJob<'_>) -> String {
    format!(
        r#"#!/bin/busybox sh
# Baseline first stage, standard tools only (busybox, kmod, dmsetup).
B=/bin/busybox
ms() {{ read up rest < /proc/uptime; echo $(( ${{up%.*}} * 1000 + 10 * 1${{up#*.}} - 1000 )); }}
phase() {{ echo "first_stage: phase=$1 t_ms=$(ms)" > /dev/kmsg; }}
$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
$B mount -t devtmpfs devtmpfs /dev
echo on > /proc/sys/kernel/printk_devkmsg
phase start
phase early_mounts
for m in $($B cat /lib/modules/modules.load); do /sbin/insmod /lib/modules/$m; done
phase modules
part=""
i=0
while [ -z "$part" ] && [ $i -lt 1000 ]; do
  for u in /sys/class/block/*/uevent; do
    if $B grep -qx PARTNAME=microdroid-vendor $u; then part=$($B basename $($B dirname $u)); fi
  done
  [ -z "$part" ] && $B usleep 5000
  i=$((i + 1))
done
[ -z "$part" ] && {{ echo "BASELINE_FATAL no partition" > /dev/kmsg; $B poweroff -f; }}
$B mkdir -p /dev/block/by-name
$B ln -sf /dev/$part /dev/block/$part
$B ln -sf /dev/block/$part /dev/block/by-name/microdroid-vendor
phase partition
digest=$($B cat /proc/device-tree/avf/vendor_hashtree_descriptor_root_digest)
[ "$digest" = "{digest}" ] || {{ echo "BASELINE_FATAL digest" > /dev/kmsg; $B poweroff -f; }}
phase vbmeta
table="$(echo '{table}' | $B sed "s|@PART@|/dev/block/$part|g")"
/sbin/dmsetup create vendor-verity --readonly --noudevsync --table "$table"
/sbin/dmsetup mknodes vendor-verity
phase verity
$B mkdir -p /vendor
$B mount -t ext4 -o ro,noatime,errors=panic /dev/mapper/vendor-verity /vendor
phase vendor_mount
release=$($B uname -r)
/sbin/modprobe -a -d /vendor $($B sed 's/\.ko$//' /vendor/lib/modules/$release/modules.load)
echo "first_stage: modules pass=vendor loaded=$($B wc -l < /proc/modules)" > /dev/kmsg
phase vendor_modules
$B sync
$B poweroff -f
"#,
        digest = job.expected_digest,
        table = job.verity_table,
    )
}
