//! The open-dice stand-in: a small kernel module of ours (`qemu-tests/opendice/`) with
//! the user ABI of Linux's open-dice driver, so the first stage's real device path
//! (`/dev/open-dice0`: read the size, mmap, parse, derive, wipe) runs in QEMU although
//! Debian's kernels are built without `CONFIG_OPEN_DICE`.
//!
//! * [`module`] builds the module for the guest kernel (arm64 only: the region is
//!   described by the device tree) against Debian's own headers — `linux-headers-<release>`
//!   (arm64), `linux-headers-<abi>-common` (all) and `linux-kbuild-<major.minor>` (the
//!   host's build tools), all at the kernel's package version, unpacked into one tree —
//!   with `aarch64-linux-gnu-` (gcc 12, as the kernel). The `.ko` is cached under
//!   [`crate::cache::root`]`/opendice/` keyed by kernel release, package version and a
//!   hash of the module source. It is unsigned: the kernel has `MODULE_SIG` without
//!   `MODULE_SIG_FORCE`, so it loads and taints the kernel.
//! * [`add_module`] makes it a first-stage module of an initramfs (`/lib/modules`,
//!   `modules.load`, the Android-form `modules.dep`).
//! * [`install`] does everything for a [`Guest`]: the module, a `/reserved-memory`
//!   `dice@…` node (`compatible = "google,open-dice"`, `no-map`) near the top of guest
//!   RAM, and QEMU's generic loader putting the handover bytes there.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use initramfs::{Archive, Entry};

use crate::error::{io, run, HarnessError};
use crate::kernel::Kernel;
use crate::scenario::Guest;
use crate::{cache, debian, workspace_root, Arch};

/// The module's file name (in the initramfs's `/lib/modules`).
pub const MODULE_FILE: &str = "open_dice_standin.ko";
/// The console line the module prints after each wipe (followed by ` <n> bytes`).
pub const WIPED_LINE: &str = "open-dice stand-in: wiped";
/// The device node the guest sees.
pub const DEVICE: &str = "/dev/open-dice0";
/// The source files, relative to [`source_dir`]; all of them go into the cache key.
pub const SOURCES: &[&str] = &["Kbuild", "open_dice_standin.c"];

/// End of guest RAM for the harness's `-M virt -m 512` (RAM starts at `0x4000_0000`).
pub const GUEST_RAM_END: u64 = 0x6000_0000;
/// Size of the reserved DICE region (page-aligned, as the driver requires).
pub const REGION_SIZE: u64 = 0x1_0000;
/// Base of the reserved DICE region: the last [`REGION_SIZE`] bytes of guest RAM, far
/// above the kernel, the initrd and the DTB QEMU places at the bottom of RAM.
pub const REGION_BASE: u64 = GUEST_RAM_END - REGION_SIZE;

// The driver requires a page-aligned region; it must lie inside guest RAM.
const _: () = assert!(
    REGION_BASE.is_multiple_of(4096)
        && REGION_SIZE.is_multiple_of(4096)
        && REGION_BASE >= 0x4000_0000
);

/// The module source directory (`qemu-tests/opendice`).
pub fn source_dir() -> PathBuf {
    workspace_root().join("qemu-tests/opendice")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A short hash of the module sources (the cache key's last part).
pub fn source_hash() -> Result<String, HarnessError> {
    let mut all = Vec::new();
    for name in SOURCES {
        let p = source_dir().join(name);
        let data = fs::read(&p).map_err(io(format!("read {}", p.display())))?;
        all.extend_from_slice(name.as_bytes());
        all.push(0);
        all.extend_from_slice(&(data.len() as u64).to_le_bytes());
        all.extend_from_slice(&data);
    }
    Ok(hex(&dice_vendor::crypto::sha512(&all)[..8]))
}

/// The Debian package names of the headers for `kernel`: the flavour's headers, the
/// common headers and the kbuild tools.
pub fn header_packages(kernel: &Kernel) -> Result<[String; 3], HarnessError> {
    let flavour = format!("-cloud-{}", kernel.arch.debian());
    let abi = kernel.release.strip_suffix(&flavour).ok_or_else(|| {
        HarnessError::Missing(format!(
            "kernel release {:?} does not end in {flavour:?}",
            kernel.release
        ))
    })?;
    let mut nums = abi.split('.');
    let series = match (nums.next(), nums.next()) {
        (Some(major), Some(minor)) => format!("{major}.{minor}"),
        _ => {
            return Err(HarnessError::Missing(format!(
                "kernel release {:?} has no major.minor",
                kernel.release
            )))
        }
    };
    Ok([
        format!("linux-headers-{}", kernel.release),
        format!("linux-headers-{abi}-common"),
        format!("linux-kbuild-{series}"),
    ])
}

fn cache_dir() -> PathBuf {
    cache::root().join("opendice")
}

/// The kernel's build tree (`…/usr/src/linux-headers-<release>`), unpacked from the three
/// packages of [`header_packages`] into one root (their symlinks are relative to it) and
/// cached. The flavour Makefile's absolute `include /usr/src/…` is pointed into the
/// unpacked root. The caller holds the cache lock of [`module`].
fn headers(kernel: &Kernel) -> Result<PathBuf, HarnessError> {
    if kernel.arch != Arch::Aarch64 {
        return Err(HarnessError::Missing(
            "the open-dice stand-in is built for aarch64 guests only".into(),
        ));
    }
    let root = cache_dir()
        .join("headers")
        .join(format!("{}_{}", kernel.release, kernel.package_version));
    let build = root
        .join("usr/src")
        .join(format!("linux-headers-{}", kernel.release));
    let done = root.join(".complete");
    if done.exists() {
        return Ok(build);
    }
    let staging = root.with_extension("partial");
    let _ = fs::remove_dir_all(&staging);
    let merged = staging.join("root");
    fs::create_dir_all(&merged).map_err(io(format!("creating {}", merged.display())))?;
    let [flavour, common, kbuild] = header_packages(kernel)?;
    // The flavour's headers are for the guest; the common headers are `Architecture:
    // all`; the kbuild tools run on the host.
    for (pkg, arch) in [
        (&flavour, Arch::Aarch64),
        (&common, Arch::X86_64),
        (&kbuild, Arch::X86_64),
    ] {
        let dest = staging.join(pkg.as_str());
        debian::unpack(pkg, &kernel.package_version, arch, &dest)?;
        let mut src = dest.into_os_string();
        src.push("/.");
        run(Command::new("cp").arg("-a").arg(&src).arg(&merged))?;
    }
    let _ = fs::remove_dir_all(&root);
    fs::rename(&merged, &root).map_err(io(format!("moving into {}", root.display())))?;
    let makefile = build.join("Makefile");
    let text = fs::read_to_string(&makefile).map_err(io(format!("read {}", makefile.display())))?;
    let fixed = text.replace(
        "include /usr/src/",
        &format!("include {}/", root.join("usr/src").display()),
    );
    if fixed == text {
        return Err(HarnessError::Missing(format!(
            "{} has no `include /usr/src/…` line to point at the unpacked headers",
            makefile.display()
        )));
    }
    fs::write(&makefile, fixed).map_err(io(format!("write {}", makefile.display())))?;
    let _ = fs::remove_dir_all(&staging);
    fs::write(&done, b"").map_err(io(format!("write {}", done.display())))?;
    Ok(build)
}

/// Builds (or finds cached) the stand-in module for `kernel` and returns the `.ko`
/// (debug info stripped).
pub fn module(kernel: &Kernel) -> Result<PathBuf, HarnessError> {
    static BUILT: OnceLock<Mutex<Vec<(String, PathBuf)>>> = OnceLock::new();
    let built = BUILT.get_or_init(|| Mutex::new(Vec::new()));
    let mut built = built.lock().unwrap_or_else(|e| e.into_inner());
    let key = format!(
        "{}_{}-{}",
        kernel.release,
        kernel.package_version,
        source_hash()?
    );
    if let Some((_, p)) = built.iter().find(|(k, _)| *k == key) {
        return Ok(p.clone());
    }
    let out_dir = cache_dir().join(&key);
    let ko = out_dir.join(MODULE_FILE);
    {
        let _lock = cache::Lock::take(&cache_dir().join(".lock"))?;
        if !ko.exists() {
            let tree = headers(kernel)?;
            let work = tempfile::tempdir().map_err(io("module build tempdir"))?;
            for name in SOURCES {
                let src = source_dir().join(name);
                fs::copy(&src, work.path().join(name))
                    .map_err(io(format!("copy {}", src.display())))?;
            }
            eprintln!("qemu-tests: building {MODULE_FILE} for {}", kernel.release);
            run(Command::new("make")
                .arg("-C")
                .arg(&tree)
                .arg(format!("M={}", work.path().display()))
                .args(["ARCH=arm64", "CROSS_COMPILE=aarch64-linux-gnu-", "modules"])
                .env_remove("MAKEFLAGS")
                .env_remove("MFLAGS"))?;
            fs::create_dir_all(&out_dir).map_err(io(format!("creating {}", out_dir.display())))?;
            let partial = out_dir.join(format!("{MODULE_FILE}.partial"));
            run(Command::new("aarch64-linux-gnu-strip")
                .arg("--strip-debug")
                .arg("-o")
                .arg(&partial)
                .arg(work.path().join(MODULE_FILE)))?;
            fs::rename(&partial, &ko).map_err(io(format!("moving into {}", ko.display())))?;
        }
    }
    built.push((key, ko.clone()));
    Ok(ko)
}

fn file_text(a: &Archive, path: &str) -> Result<String, HarnessError> {
    match a.get(path) {
        Some(Entry::File { data, .. }) => String::from_utf8(data.clone())
            .map_err(|_| HarnessError::Missing(format!("{path} in the initramfs is not UTF-8"))),
        Some(_) => Err(HarnessError::Missing(format!(
            "{path} in the initramfs is not a regular file"
        ))),
        None => Ok(String::new()),
    }
}

fn with_line(text: String, line: &str) -> Vec<u8> {
    let mut t = text;
    if !t.is_empty() && !t.ends_with('\n') {
        t.push('\n');
    }
    t.push_str(line);
    t.push('\n');
    t.into_bytes()
}

/// Adds `ko` to the initramfs's first-stage modules: `/lib/modules/<file>`, a line in
/// `modules.load` (last, so it loads after the base modules) and an Android-form
/// `modules.dep` line without dependencies.
pub fn add_module(a: &mut Archive, ko: &Path) -> Result<(), HarnessError> {
    let name = ko
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| HarnessError::Missing(format!("bad module path {}", ko.display())))?
        .to_owned();
    let load = file_text(a, "/lib/modules/modules.load")?;
    let dep = file_text(a, "/lib/modules/modules.dep")?;
    a.add_host_file(&format!("/lib/modules/{name}"), ko)?;
    for (path, text, line) in [
        ("/lib/modules/modules.load", load, name.clone()),
        ("/lib/modules/modules.dep", dep, format!("{name}:")),
    ] {
        replace_file(a, path, with_line(text, &line))?;
    }
    Ok(())
}

/// Replaces the file at `path` (an [`Archive`] refuses to overwrite an entry with other
/// contents, so the archive is rebuilt without it).
fn replace_file(a: &mut Archive, path: &str, data: Vec<u8>) -> Result<(), HarnessError> {
    let key = path.trim_start_matches('/');
    let mut out = Archive::new();
    for (p, e) in a.entries() {
        if p != key {
            out.insert_entry(p, e.clone())?;
        }
    }
    out.add_file(path, 0o644, data)?;
    *a = out;
    Ok(())
}

/// Where the stand-in's region is and what it holds.
#[derive(Debug, Clone)]
pub struct DiceRegion {
    /// Guest-physical base address.
    pub base: u64,
    /// Size in bytes (page-aligned).
    pub size: u64,
    /// The handover bytes loaded at `base` (the rest of the region is zero).
    pub handover: Vec<u8>,
}

fn be_cells(values: &[u64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

/// Gives `g` an open-dice device holding `handover`: the stand-in module as a
/// first-stage module, the `/reserved-memory/dice@<base>` node, and QEMU's generic
/// loader writing `handover` at [`REGION_BASE`] (the file is kept in `g.work`).
pub fn install(g: &mut Guest, handover: &[u8]) -> Result<DiceRegion, HarnessError> {
    if handover.len() as u64 > REGION_SIZE {
        return Err(HarnessError::Missing(format!(
            "a {}-byte handover does not fit the {REGION_SIZE}-byte DICE region",
            handover.len()
        )));
    }
    let ko = module(&g.kernel)?;
    add_module(&mut g.initramfs, &ko)?;
    // `#address-cells`/`#size-cells` of 2, as the root's: `reg` is two u64 cells pairs.
    g.dt_property("/reserved-memory", "#address-cells", &2u32.to_be_bytes());
    g.dt_property("/reserved-memory", "#size-cells", &2u32.to_be_bytes());
    g.dt_property("/reserved-memory", "ranges", b"");
    let node = format!("/reserved-memory/dice@{REGION_BASE:x}");
    g.dt_property(&node, "compatible", b"google,open-dice\0");
    g.dt_property(&node, "reg", &be_cells(&[REGION_BASE, REGION_SIZE]));
    g.dt_property(&node, "no-map", b"");
    let file = g.work.path().join("dice-handover.bin");
    fs::write(&file, handover).map_err(io(format!("write {}", file.display())))?;
    g.qemu_args.push("-device".into());
    g.qemu_args.push(format!(
        "loader,file={},addr={REGION_BASE:#x},force-raw=on",
        file.display()
    ));
    Ok(DiceRegion {
        base: REGION_BASE,
        size: REGION_SIZE,
        handover: handover.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_lists_gain_one_line() {
        let mut a = Archive::new();
        a.add_file(
            "/lib/modules/modules.load",
            0o644,
            b"virtio_blk.ko\n".to_vec(),
        )
        .unwrap();
        a.add_file(
            "/lib/modules/modules.dep",
            0o644,
            b"virtio_blk.ko: virtio_ring.ko\n".to_vec(),
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ko = dir.path().join(MODULE_FILE);
        fs::write(&ko, b"\x7fELF").unwrap();
        add_module(&mut a, &ko).unwrap();
        assert_eq!(
            file_text(&a, "/lib/modules/modules.load").unwrap(),
            "virtio_blk.ko\nopen_dice_standin.ko\n"
        );
        assert_eq!(
            file_text(&a, "/lib/modules/modules.dep").unwrap(),
            "virtio_blk.ko: virtio_ring.ko\nopen_dice_standin.ko:\n"
        );
        assert!(matches!(
            a.get("/lib/modules/open_dice_standin.ko"),
            Some(Entry::File { .. })
        ));
    }
}
