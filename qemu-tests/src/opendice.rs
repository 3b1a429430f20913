//! Linux's own open-dice driver (`drivers/misc/open-dice.c`) for the test guests: Debian's
//! kernels are built without `CONFIG_OPEN_DICE`, so the driver is built here as GKI builds
//! it (`CONFIG_OPEN_DICE=m`) and shipped as a first-stage module.
//!
//! * [`source`] extracts `drivers/misc/open-dice.c` from Debian's `linux-source-<major.minor>`
//!   package at the booted kernel's package version (the same source tree the kernel was
//!   built from), streaming the `.deb` through `tar` so only that file is written, and
//!   caches it under [`crate::cache::root`]`/opendice/source/`.
//! * [`module`] builds it out of tree (our `qemu-tests/opendice/Kbuild`) against Debian's
//!   own headers — `linux-headers-<release>` (arm64), `linux-headers-<abi>-common` (all)
//!   and `linux-kbuild-<major.minor>` (the host's build tools), all at the kernel's package
//!   version, unpacked into one tree — with `aarch64-linux-gnu-` (gcc 12, as the kernel).
//!   The `.ko` is cached under `opendice/` keyed by kernel release, package version and a
//!   hash of the Kbuild and the source. It is unsigned: the kernel has `MODULE_SIG` without
//!   `MODULE_SIG_FORCE`, so it loads and taints the kernel.
//! * [`add_module`] makes it a first-stage module of an initramfs (`/lib/modules`,
//!   `modules.load`, the Android-form `modules.dep`).
//! * [`install`] / [`install_sized`] do everything for a [`Guest`]: the module, a
//!   `/reserved-memory` `dice@…` node (`compatible = "google,open-dice"`, `no-map`) at the
//!   top of guest RAM, and QEMU's generic loader putting the handover bytes there.
//! * [`boot_and_read_region`] boots such a guest with QEMU kept alive after the guest
//!   powers off (`-no-shutdown`) and reads the region back through the monitor (`xp`).
//!
//! arm64 only: the region is described by the device tree.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use initramfs::{Archive, Entry};

use crate::console::BootLog;
use crate::error::{io, run, HarnessError};
use crate::kernel::Kernel;
use crate::scenario::Guest;
use crate::{cache, debian, workspace_root, Arch};

/// The module's file name (in the initramfs's `/lib/modules`).
pub const MODULE_FILE: &str = "open-dice.ko";
/// The driver source inside the Linux tree.
pub const DRIVER_SOURCE: &str = "drivers/misc/open-dice.c";
/// The device node the guest sees.
pub const DEVICE: &str = "/dev/open-dice0";

/// End of guest RAM for the harness's `-M virt -m 512` (RAM starts at `0x4000_0000`).
pub const GUEST_RAM_END: u64 = 0x6000_0000;
/// Default size of the reserved DICE region (page-aligned, as the driver requires).
pub const REGION_SIZE: u64 = 0x1_0000;

/// The directory of our Kbuild (`qemu-tests/opendice`).
pub fn kbuild_dir() -> PathBuf {
    workspace_root().join("qemu-tests/opendice")
}

/// `6.1` of `6.1.0-57-cloud-arm64`.
fn series(kernel: &Kernel) -> Result<String, HarnessError> {
    let mut nums = kernel.release.split(['.', '-']);
    match (nums.next(), nums.next()) {
        (Some(major), Some(minor)) => Ok(format!("{major}.{minor}")),
        _ => Err(HarnessError::Missing(format!(
            "kernel release {:?} has no major.minor",
            kernel.release
        ))),
    }
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
    Ok([
        format!("linux-headers-{}", kernel.release),
        format!("linux-headers-{abi}-common"),
        format!("linux-kbuild-{}", series(kernel)?),
    ])
}

fn cache_dir() -> PathBuf {
    cache::root().join("opendice")
}

fn arm64_only(kernel: &Kernel) -> Result<(), HarnessError> {
    if kernel.arch == Arch::Aarch64 {
        Ok(())
    } else {
        Err(HarnessError::Missing(
            "the open-dice module is built for aarch64 guests only".into(),
        ))
    }
}

/// The kernel's build tree (`…/usr/src/linux-headers-<release>`), unpacked from the three
/// packages of [`header_packages`] into one root (their symlinks are relative to it) and
/// cached. The flavour Makefile's absolute `include /usr/src/…` is pointed into the
/// unpacked root. The caller holds the cache lock of [`module`].
fn headers(kernel: &Kernel) -> Result<PathBuf, HarnessError> {
    arm64_only(kernel)?;
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

/// `drivers/misc/open-dice.c` of the kernel's own source (Debian's
/// `linux-source-<major.minor>` at the kernel's package version), extracted once into the
/// cache: the `.deb` (about 140 MB) is downloaded into a temporary directory and streamed
/// through `tar`, so only the one file is written. The caller holds the cache lock of
/// [`module`].
pub fn source(kernel: &Kernel) -> Result<PathBuf, HarnessError> {
    let series = series(kernel)?;
    let pkg = format!("linux-source-{series}");
    let dir = cache_dir()
        .join("source")
        .join(format!("{pkg}_{}", kernel.package_version));
    let file = dir.join(DRIVER_SOURCE);
    if file.exists() {
        return Ok(file);
    }
    let work = tempfile::tempdir().map_err(io("linux-source tempdir"))?;
    // `Architecture: all`: the host's own architecture names it.
    let deb = debian::download(&pkg, &kernel.package_version, Arch::X86_64, work.path())?;
    let staging = dir.with_extension("partial");
    let _ = fs::remove_dir_all(&staging);
    fs::create_dir_all(&staging).map_err(io(format!("creating {}", staging.display())))?;
    run(Command::new("bash")
        .arg("-c")
        .arg(
            r#"set -o pipefail; dpkg-deb --fsys-tarfile "$1" | tar -xO "./usr/src/$2.tar.xz" | tar -xJ -C "$3" --strip-components=1 "$2/$4""#,
        )
        .arg("extract-linux-source")
        .arg(&deb)
        .arg(&pkg)
        .arg(&staging)
        .arg(DRIVER_SOURCE))?;
    if !staging.join(DRIVER_SOURCE).exists() {
        return Err(HarnessError::Missing(format!(
            "{pkg} {} has no {DRIVER_SOURCE}",
            kernel.package_version
        )));
    }
    let _ = fs::remove_dir_all(&dir);
    fs::rename(&staging, &dir).map_err(io(format!("moving into {}", dir.display())))?;
    Ok(file)
}

/// A short hash of the module's build inputs: our Kbuild and the driver source.
fn input_hash(driver: &Path) -> Result<String, HarnessError> {
    let mut all = Vec::new();
    for p in [kbuild_dir().join("Kbuild"), driver.to_path_buf()] {
        let data = fs::read(&p).map_err(io(format!("read {}", p.display())))?;
        all.extend_from_slice(&(data.len() as u64).to_le_bytes());
        all.extend_from_slice(&data);
    }
    Ok(avb::to_hex(&dice_vendor::crypto::sha512(&all)[..8]))
}

/// Builds (or finds cached) the open-dice module for `kernel` and returns the `.ko`
/// (debug info stripped).
pub fn module(kernel: &Kernel) -> Result<PathBuf, HarnessError> {
    static BUILT: OnceLock<Mutex<Vec<(String, PathBuf)>>> = OnceLock::new();
    let built = BUILT.get_or_init(|| Mutex::new(Vec::new()));
    let mut built = built.lock().unwrap_or_else(|e| e.into_inner());
    let release_key = format!("{}_{}", kernel.release, kernel.package_version);
    if let Some((_, p)) = built.iter().find(|(k, _)| *k == release_key) {
        return Ok(p.clone());
    }
    arm64_only(kernel)?;
    let _lock = cache::Lock::take(&cache_dir().join(".lock"))?;
    let driver = source(kernel)?;
    let out_dir = cache_dir().join(format!("{release_key}-{}", input_hash(&driver)?));
    let ko = out_dir.join(MODULE_FILE);
    if !ko.exists() {
        let tree = headers(kernel)?;
        let work = tempfile::tempdir().map_err(io("module build tempdir"))?;
        let kbuild = kbuild_dir().join("Kbuild");
        fs::copy(&kbuild, work.path().join("Kbuild"))
            .map_err(io(format!("copy {}", kbuild.display())))?;
        fs::copy(&driver, work.path().join("open-dice.c"))
            .map_err(io(format!("copy {}", driver.display())))?;
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
    built.push((release_key, ko.clone()));
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

/// Where the DICE region is and what it holds.
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

/// [`install_sized`] with the default [`REGION_SIZE`].
pub fn install(g: &mut Guest, handover: &[u8]) -> Result<DiceRegion, HarnessError> {
    install_sized(g, handover, REGION_SIZE)
}

/// Gives `g` an open-dice device over a `size`-byte region (page-aligned, at the top of
/// guest RAM) holding `handover`: the driver as a first-stage module, the
/// `/reserved-memory/dice@<base>` node, and QEMU's generic loader writing `handover` at
/// the base (the file is kept in `g.work`).
pub fn install_sized(
    g: &mut Guest,
    handover: &[u8],
    size: u64,
) -> Result<DiceRegion, HarnessError> {
    let base = GUEST_RAM_END.saturating_sub(size);
    if size == 0 || !size.is_multiple_of(4096) || base < 0x4800_0000 {
        return Err(HarnessError::Missing(format!(
            "a DICE region of {size:#x} bytes is not page-aligned or does not fit above the \
             kernel in guest RAM"
        )));
    }
    if handover.len() as u64 > size {
        return Err(HarnessError::Missing(format!(
            "a {}-byte handover does not fit the {size}-byte DICE region",
            handover.len()
        )));
    }
    let ko = module(&g.kernel)?;
    add_module(&mut g.initramfs, &ko)?;
    // `#address-cells`/`#size-cells` of 2, as the root's: `reg` is two u64 cells pairs.
    g.dt_property("/reserved-memory", "#address-cells", &2u32.to_be_bytes());
    g.dt_property("/reserved-memory", "#size-cells", &2u32.to_be_bytes());
    g.dt_property("/reserved-memory", "ranges", b"");
    let node = format!("/reserved-memory/dice@{base:x}");
    g.dt_property(&node, "compatible", b"google,open-dice\0");
    g.dt_property(&node, "reg", &be_cells(&[base, size]));
    g.dt_property(&node, "no-map", b"");
    let file = g.work.path().join("dice-handover.bin");
    fs::write(&file, handover).map_err(io(format!("write {}", file.display())))?;
    g.qemu_args.push("-device".into());
    g.qemu_args.push(format!(
        "loader,file={},addr={base:#x},force-raw=on",
        file.display()
    ));
    Ok(DiceRegion {
        base,
        size,
        handover: handover.to_vec(),
    })
}

/// Boots `g` with QEMU kept alive after the guest powers off (`-no-shutdown`, a monitor
/// socket), reads the DICE region from guest memory through the monitor (`xp`) once the
/// guest has stopped, then quits QEMU. Returns the boot log and the region's bytes.
pub fn boot_and_read_region(
    g: &Guest,
    region: &DiceRegion,
) -> Result<(BootLog, Vec<u8>), HarnessError> {
    let mut vm = g.vm()?;
    vm.no_shutdown = true;
    vm.monitor = Some(g.work.path().join("dice-monitor.sock"));
    let mut running = vm.spawn()?;
    let stopped = running.wait_until_stopped();
    let bytes = match &stopped {
        Ok(()) => running.read_phys(region.base, region.size),
        Err(_) => Ok(Vec::new()),
    };
    // `quit` ends QEMU with status 0, as a power-off without `-no-shutdown` would.
    let _ = running.monitor("quit");
    let log = running.wait()?;
    if let Err(e) = stopped {
        return Err(HarnessError::Missing(
            log.report(&format!("the guest did not stop: {e}")),
        ));
    }
    Ok((log, bytes?))
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
            "virtio_blk.ko\nopen-dice.ko\n"
        );
        assert_eq!(
            file_text(&a, "/lib/modules/modules.dep").unwrap(),
            "virtio_blk.ko: virtio_ring.ko\nopen-dice.ko:\n"
        );
        assert!(matches!(
            a.get("/lib/modules/open-dice.ko"),
            Some(Entry::File { .. })
        ));
    }
}
