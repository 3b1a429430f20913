//! Installing what the workspace needs on a fresh Debian machine: system packages with
//! apt-get (arm64 multiarch for the static aarch64 OpenSSL), the aarch64 Rust target, and
//! cargo-fuzz. Every step checks first and does nothing when already satisfied.

use std::process::Command;

use crate::steps::{cmd, run, Error};

/// Debian packages the build and the tests use, and why.
pub const PACKAGES: &[(&str, &str)] = &[
    ("qemu-system-arm", "boots the aarch64 guests"),
    ("qemu-system-x86", "boots the x86_64 guests"),
    ("gcc-aarch64-linux-gnu", "links the static aarch64 guest"),
    (
        "libc6-dev-arm64-cross",
        "static glibc for the aarch64 guest",
    ),
    ("libssl-dev", "static OpenSSL (x86_64 guest, host tools)"),
    ("libssl-dev:arm64", "static OpenSSL for the aarch64 guest"),
    ("pkg-config", "openssl-sys finds OpenSSL"),
    (
        "e2fsprogs",
        "mke2fs -d builds the vendor ext4 image; debugfs reads it for vendor_image explain",
    ),
    (
        "zstd",
        "vendor_image explain reads .ko.zst modules (xz-utils: .ko.xz)",
    ),
    (
        "cryptsetup-bin",
        "veritysetup: hash tree oracle and benchmark",
    ),
    (
        "kmod",
        "depmod for the kernel module trees; modprobe oracle",
    ),
    (
        "libkmod-dev",
        "libkmod oracle for the modprobe differential test",
    ),
    ("selinux-utils", "matchpathcon: file_contexts oracle"),
    ("checkpolicy", "compiles the test SELinux policy"),
    ("device-tree-compiler", "dtc: device tree checks in tests"),
    ("gdisk", "sgdisk: GPT checks in tests"),
    ("cpio", "cpio: initramfs format check in tests"),
    (
        "make",
        "builds Linux's open-dice driver as a module for the DICE tests and the demo",
    ),
    (
        "xz-utils",
        "tar -J: takes open-dice.c out of Debian's linux-source tarball",
    ),
];

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn privileged(program: &str) -> Command {
    if is_root() {
        Command::new(program)
    } else {
        let mut c = Command::new("sudo");
        c.arg(program);
        c
    }
}

fn installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

/// Installs the missing Debian packages.
pub fn packages() -> Result<(), Error> {
    let arches = Command::new("dpkg")
        .arg("--print-foreign-architectures")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let missing: Vec<&str> = PACKAGES
        .iter()
        .map(|(p, _)| *p)
        .filter(|p| !installed(p))
        .collect();
    let need_arm64 = !arches.lines().any(|a| a.trim() == "arm64");
    if need_arm64 {
        eprintln!("xtask: adding the arm64 dpkg architecture");
        run(privileged("dpkg").args(["--add-architecture", "arm64"]))?;
    }
    // The kernel version is resolved from apt's lists, so they must be current even when
    // nothing is missing; refresh them once a day at most.
    let lists_fresh = Command::new("find")
        .args([
            "/var/lib/apt/lists",
            "-maxdepth",
            "1",
            "-name",
            "*Packages*",
            "-mmin",
            "-1440",
        ])
        .output()
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(false);
    if need_arm64 || !missing.is_empty() || !lists_fresh {
        eprintln!("xtask: apt-get update");
        run(privileged("apt-get").args(["update", "-q"]))?;
    }
    if !missing.is_empty() {
        eprintln!("xtask: installing {}", missing.join(" "));
        run(privileged("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
    }
    Ok(())
}

/// Adds the aarch64 Rust target if the pinned toolchain lacks it.
pub fn rust_targets() -> Result<(), Error> {
    let out = cmd("rustup", &["target", "list", "--installed"])
        .output()
        .map_err(|e| Error(format!("rustup: {e}")))?;
    let have = String::from_utf8_lossy(&out.stdout);
    if !have
        .lines()
        .any(|l| l.trim() == "aarch64-unknown-linux-gnu")
    {
        eprintln!("xtask: rustup target add aarch64-unknown-linux-gnu");
        run(&mut cmd(
            "rustup",
            &["target", "add", "aarch64-unknown-linux-gnu"],
        ))?;
    }
    Ok(())
}

/// Installs cargo-fuzz if it is not on PATH.
pub fn cargo_fuzz() -> Result<(), Error> {
    let ok = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("xtask: cargo install cargo-fuzz");
        run(&mut cmd("cargo", &["install", "--locked", "cargo-fuzz"]))?;
    }
    Ok(())
}

/// Adds the toolchain's `llvm-tools` component (`llvm-cov`, `llvm-profdata` of the same
/// LLVM as rustc, which `cargo fuzz coverage` and the coverage report need).
pub fn llvm_tools() -> Result<(), Error> {
    let out = cmd("rustup", &["component", "list", "--installed"])
        .output()
        .map_err(|e| Error(format!("rustup: {e}")))?;
    if !String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.starts_with("llvm-tools"))
    {
        eprintln!("xtask: rustup component add llvm-tools");
        run(&mut cmd("rustup", &["component", "add", "llvm-tools"]))?;
    }
    Ok(())
}

/// The path of an LLVM tool (`llvm-cov`, `llvm-profdata`) from the `llvm-tools`
/// component: `<sysroot>/lib/rustlib/<host>/bin/<name>`.
pub fn llvm_tool(name: &str) -> Result<std::path::PathBuf, Error> {
    let out = cmd("rustc", &["--print", "sysroot"])
        .output()
        .map_err(|e| Error(format!("rustc --print sysroot: {e}")))?;
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let lib = std::path::Path::new(&sysroot).join("lib/rustlib");
    let found = std::fs::read_dir(&lib)
        .map_err(|e| Error(format!("{}: {e}", lib.display())))?
        .flatten()
        .map(|e| e.path().join("bin").join(name))
        .find(|p| p.exists());
    found.ok_or_else(|| Error(format!("{name} not found under {}", lib.display())))
}

/// Everything `test` and `demo` need.
pub fn all() -> Result<(), Error> {
    packages()?;
    rust_targets()
}
