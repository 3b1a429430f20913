//! The guest artifacts: the static multi-call PID 1 built for an architecture, and the
//! initramfs assembled around it exactly as the tests boot it (and as
//! `cargo xtask artifacts` writes it for people who bring their own QEMU command line).
//!
//! The initramfs holds `/init` (the binary), `/system/bin/<applet>` links to it, the
//! first-stage modules of the kernel with their dependencies in `/lib/modules`, the
//! system configuration from the repository (`init_rc/rootdir/init.rc` and `rootdir/`),
//! and the compiled SELinux policy at `/sepolicy` (`sepolicy/policy/`).

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use initramfs::Archive;

use crate::error::{run, HarnessError};
use crate::kernel::Kernel;
use crate::{selinux, workspace_root, Arch};

/// The first-stage modules (DESIGN §8): both virtio transports (crosvm attaches disks
/// over PCI; `virtio_mmio` for machines that use it), the block driver, device-mapper
/// and dm-verity. Their dependencies come along.
pub const FIRST_STAGE_MODULES: &[&str] = &[
    "virtio_pci",
    "virtio_mmio",
    "virtio_blk",
    "dm_mod",
    "dm_verity",
];

/// The target directory for guest builds (separate from the host's, so a guest build
/// started from inside `cargo test` never waits on the outer cargo's lock).
pub fn guest_target_dir() -> PathBuf {
    workspace_root().join("target").join("guest")
}

/// Builds (or finds up to date) the release, statically linked guest `/init` for `arch`
/// and returns its path.
pub fn build_init(arch: Arch) -> Result<PathBuf, HarnessError> {
    build_guest_binary(arch, None, &guest_target_dir())
}

/// The test build's target directory: its own, so the shipped binary in
/// [`guest_target_dir`] (what `cargo xtask artifacts` and the size check take) is never
/// replaced by it.
pub fn test_hooks_target_dir() -> PathBuf {
    workspace_root().join("target").join("guest-test-hooks")
}

/// Builds the guest `/init` with the `test-hooks` feature (`init_rc::test_hooks`: a panic
/// or an allocation failure in PID 1 on request, ueventd panicking, the `init_probe`
/// applet). Only the robustness tests boot it; the shipped binary never has it.
pub fn build_init_test_hooks(arch: Arch) -> Result<PathBuf, HarnessError> {
    build_guest_binary(arch, Some("test-hooks"), &test_hooks_target_dir())
}

fn build_guest_binary(
    arch: Arch,
    features: Option<&'static str>,
    target_dir: &std::path::Path,
) -> Result<PathBuf, HarnessError> {
    type Built = Vec<(Arch, Option<&'static str>, PathBuf)>;
    static BUILT: OnceLock<Mutex<Built>> = OnceLock::new();
    let built = BUILT.get_or_init(|| Mutex::new(Vec::new()));
    let mut built = built.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, _, p)) = built.iter().find(|(a, f, _)| *a == arch && *f == features) {
        return Ok(p.clone());
    }
    let triple = arch.triple();
    let flags_var = format!(
        "CARGO_TARGET_{}_RUSTFLAGS",
        triple.to_uppercase().replace('-', "_")
    );
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut c = Command::new(cargo);
    c.current_dir(workspace_root())
        .args([
            "build",
            "--quiet",
            "--release",
            "--package",
            "first_stage_init",
            "--bin",
            "init",
            "--target",
            triple,
        ])
        .env("CARGO_TARGET_DIR", target_dir)
        .env(flags_var, "-C target-feature=+crt-static")
        .env_remove("RUSTFLAGS");
    if let Some(f) = features {
        c.args(["--features", f]);
    }
    run(&mut c)?;
    let path = target_dir.join(triple).join("release").join("init");
    built.push((arch, features, path.clone()));
    Ok(path)
}

/// The guest's initramfs: `/init` and the links to it, the first-stage modules and the
/// system configuration. Tests add their own files before writing it.
pub fn base_initramfs(arch: Arch, kernel: &Kernel) -> Result<Archive, HarnessError> {
    let init = build_init(arch)?;
    let mut a = Archive::new();
    a.add_host_file("/init", &init)?;
    // The names the multi-call binary answers to, linked from /system/bin.
    for name in first_stage_init::multicall::LINKS {
        a.add_symlink(&format!("/system/bin/{name}"), "/init")?;
    }
    initramfs::add_kernel_modules(
        &mut a,
        &kernel.modules_dir(),
        FIRST_STAGE_MODULES,
        "/lib/modules",
    )
    .map_err(|e| HarnessError::Missing(e.to_string()))?;
    let root = workspace_root();
    a.add_host_file(
        "/system/etc/init/hw/init.rc",
        &root.join("init_rc/rootdir/init.rc"),
    )?;
    a.add_host_tree("/system", &root.join("rootdir/system"))?;
    selinux::install_shipped(&mut a)?;
    // Mount points the first stage and the rc files use.
    for d in [
        "/proc",
        "/sys",
        "/dev",
        "/vendor",
        "/microdroid_resources",
        "/data",
        "/mnt",
    ] {
        a.add_dir(d, 0o755)?;
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_binaries_are_static() {
        for arch in Arch::ALL {
            let bytes = std::fs::read(build_init(arch).unwrap()).unwrap();
            let facts = crate::elf::inspect(&bytes).unwrap();
            assert!(!facts.has_interpreter, "{arch:?} /init has PT_INTERP");
            let want = match arch {
                Arch::Aarch64 => 183,
                Arch::X86_64 => 62,
            };
            assert_eq!(facts.machine, want);
        }
    }
}
