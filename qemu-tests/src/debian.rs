//! Debian packages for the guest (busybox for test probes, kmod and dmsetup for the
//! baseline benchmark): fetched with `apt-get download` for the guest's architecture and
//! unpacked with `dpkg-deb -x` into the cache, never installed on the host.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{io, run, HarnessError};
use crate::{cache, Arch};

/// `pkg` qualified for `arch` (`busybox-static:arm64`; amd64 is the host's own).
pub fn qualified(pkg: &str, arch: Arch) -> String {
    match arch {
        Arch::Aarch64 => format!("{pkg}:arm64"),
        Arch::X86_64 => pkg.to_owned(),
    }
}

/// The candidate version apt would download for `pkg` on `arch`.
pub fn candidate(pkg: &str, arch: Arch) -> Result<String, HarnessError> {
    let q = qualified(pkg, arch);
    let out = run(Command::new("apt-cache").args(["policy", &q]))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Candidate:"))
        .map(str::trim)
        .find(|v| *v != "(none)")
        .map(str::to_owned)
        .ok_or_else(|| HarnessError::Missing(format!("apt has no candidate for {q}")))
}

/// Downloads the `.deb` of `pkg=version` for `arch` into the existing directory `dir`
/// and returns its path.
pub fn download(pkg: &str, version: &str, arch: Arch, dir: &Path) -> Result<PathBuf, HarnessError> {
    let spec = format!("{}={version}", qualified(pkg, arch));
    eprintln!("qemu-tests: downloading {spec}");
    run(Command::new("apt-get")
        .args(["download", "-q", &spec])
        .current_dir(dir))?;
    fs::read_dir(dir)
        .map_err(io(format!("listing {}", dir.display())))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .ok_or_else(|| HarnessError::Missing(format!("apt-get download left no .deb for {spec}")))
}

/// Downloads `pkg=version` for `arch` and unpacks it into `dest` (atomically: `dest`
/// appears only once complete).
pub fn unpack(pkg: &str, version: &str, arch: Arch, dest: &Path) -> Result<(), HarnessError> {
    let work = dest.with_extension("partial");
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).map_err(io(format!("creating {}", work.display())))?;
    let deb = download(pkg, version, arch, &work)?;
    let root = work.join("root");
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root))?;
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent).map_err(io(format!("creating {}", parent.display())))?;
    }
    let _ = fs::remove_dir_all(dest);
    fs::rename(&root, dest).map_err(io(format!("moving into {}", dest.display())))?;
    let _ = fs::remove_dir_all(&work);
    Ok(())
}

/// The unpacked root of `pkg` for `arch`, fetched once and cached under
/// `packages/<arch>/<pkg>_<version>/`. When apt cannot answer, a cached copy is used.
pub fn fetch(pkg: &str, arch: Arch) -> Result<PathBuf, HarnessError> {
    let dir = cache::root().join("packages").join(arch.debian());
    let version = match candidate(pkg, arch) {
        Ok(v) => v,
        Err(e) => {
            let prefix = format!("{pkg}_");
            let mut cached: Vec<String> = fs::read_dir(&dir)
                .into_iter()
                .flatten()
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.starts_with(&prefix) && !n.ends_with(".partial"))
                .collect();
            cached.sort();
            match cached.pop() {
                Some(n) => return Ok(dir.join(n)),
                None => return Err(e),
            }
        }
    };
    let dest = dir.join(format!("{pkg}_{version}"));
    let _lock = cache::Lock::take(&cache::root().join(".lock"))?;
    if !dest.exists() {
        unpack(pkg, &version, arch, &dest)?;
    }
    Ok(dest)
}

/// The static busybox binary for `arch` (used by test vendor images as a probe).
pub fn busybox(arch: Arch) -> Result<PathBuf, HarnessError> {
    let root = fetch("busybox-static", arch)?;
    let p = root.join("bin/busybox");
    if p.exists() {
        Ok(p)
    } else {
        Err(HarnessError::Missing(format!("{} missing", p.display())))
    }
}
