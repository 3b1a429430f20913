//! Real Debian cloud kernels for the guests.
//!
//! The version is resolved from the `linux-image-cloud-<arch>` metapackage (never
//! hard-coded: it moves with Debian security updates), the matching
//! `linux-image-<release>-unsigned` package is fetched with `apt-get download`, unpacked
//! with `dpkg-deb -x`, and `depmod` is run on its module tree (Debian generates
//! `modules.dep` in the package's postinst, so the .deb does not carry it). The result is
//! cached under [`crate::cache::root`]`/kernels/<release>_<package version>/` and reused.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use crate::error::{io, run, HarnessError};
use crate::{cache, debian, Arch};

/// An unpacked kernel package.
#[derive(Debug, Clone)]
pub struct Kernel {
    /// Its architecture.
    pub arch: Arch,
    /// `uname -r`, e.g. `6.1.0-57-cloud-arm64`.
    pub release: String,
    /// The Debian package version, e.g. `6.1.192-3`.
    pub package_version: String,
    /// The unpacked package root (holds `boot/` and `lib/modules/`).
    pub root: PathBuf,
}

impl Kernel {
    /// The kernel image QEMU boots.
    pub fn vmlinuz(&self) -> PathBuf {
        self.root
            .join("boot")
            .join(format!("vmlinuz-{}", self.release))
    }

    /// `lib/modules/<release>` (with `modules.dep` generated).
    pub fn modules_dir(&self) -> PathBuf {
        self.root.join("lib/modules").join(&self.release)
    }

    /// The kernel's build configuration.
    pub fn config(&self) -> PathBuf {
        self.root
            .join("boot")
            .join(format!("config-{}", self.release))
    }
}

/// Resolves the current kernel release from the metapackage with `apt-cache`.
pub fn resolve(arch: Arch) -> Result<(String, String), HarnessError> {
    let meta = debian::qualified(&format!("linux-image-cloud-{}", arch.debian()), arch);
    let out = run(Command::new("apt-cache").args(["depends", &meta]))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let prefix = "linux-image-";
    let suffix = format!("-cloud-{}", arch.debian());
    let release = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Depends:"))
        .map(|d| d.trim().trim_end_matches(":arm64"))
        .filter_map(|d| d.strip_prefix(prefix))
        .find(|r| r.ends_with(&suffix))
        .map(str::to_owned)
        .ok_or_else(|| {
            HarnessError::Missing(format!(
                "{meta} has no linux-image dependency (run `apt-get update`?):\n{text}"
            ))
        })?;
    let version = debian::candidate(&format!("linux-image-{release}-unsigned"), arch)?;
    Ok((release, version))
}

fn kernels_dir() -> PathBuf {
    cache::root().join("kernels")
}

/// The newest kernel of `arch` already in the cache, if any (used when apt cannot answer).
fn newest_cached(arch: Arch) -> Option<(String, String)> {
    let suffix = format!("-cloud-{}", arch.debian());
    let mut found: Vec<(String, String)> = fs::read_dir(kernels_dir())
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|n| {
            let (r, v) = n.split_once('_')?;
            r.ends_with(&suffix).then(|| (r.to_owned(), v.to_owned()))
        })
        .collect();
    found.sort();
    found.pop()
}

fn unpack(arch: Arch, release: &str, version: &str, dest: &Path) -> Result<(), HarnessError> {
    let pkg = format!("linux-image-{release}-unsigned");
    let staging = dest.with_extension("unpacked");
    debian::unpack(&pkg, version, arch, &staging)?;
    run(Command::new("depmod").arg("-b").arg(&staging).arg(release))?;
    let _ = fs::remove_dir_all(dest);
    fs::rename(&staging, dest).map_err(io(format!("moving kernel into {}", dest.display())))
}

/// The current Debian cloud kernel for `arch`, downloading it on first use.
pub fn obtain(arch: Arch) -> Result<Kernel, HarnessError> {
    static DONE: OnceLock<Mutex<Vec<Kernel>>> = OnceLock::new();
    let done = DONE.get_or_init(|| Mutex::new(Vec::new()));
    let mut done = done.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(k) = done.iter().find(|k| k.arch == arch) {
        return Ok(k.clone());
    }
    let (release, version) = match resolve(arch) {
        Ok(rv) => rv,
        Err(e) => match newest_cached(arch) {
            Some(rv) => {
                eprintln!("qemu-tests: apt cannot resolve the kernel ({e}); using cached {rv:?}");
                rv
            }
            None => return Err(e),
        },
    };
    let dir = kernels_dir();
    fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
    let dest = dir.join(format!("{release}_{version}"));
    {
        let _lock = cache::Lock::take(&cache::root().join(".lock"))?;
        if !dest
            .join("lib/modules")
            .join(&release)
            .join("modules.dep")
            .exists()
        {
            unpack(arch, &release, &version, &dest)?;
        }
    }
    let k = Kernel {
        arch,
        release,
        package_version: version,
        root: dest,
    };
    if !k.vmlinuz().exists() {
        return Err(HarnessError::Missing(format!(
            "{} is missing from the cached package",
            k.vmlinuz().display()
        )));
    }
    done.push(k.clone());
    Ok(k)
}
