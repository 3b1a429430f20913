//! The QEMU boot harness every end-to-end test stands on.
//!
//! * [`kernel`] obtains real Debian cloud kernels (vmlinuz + module tree) with
//!   `apt-get download`, resolving the version from the `linux-image-cloud-*`
//!   metapackages, and caches them outside the repository.
//! * [`guest`] builds the static guest PID 1 for an architecture and assembles the
//!   initramfs exactly as the tests (and `cargo xtask artifacts`) boot it.
//! * [`vm`] boots QEMU (TCG), streams the serial console, enforces timeouts, drives the
//!   monitor, and returns what the guest printed.
//! * [`scenario`] describes one test guest (vendor image, disks, device tree, extra
//!   files) and builds it into real artifacts.
//! * [`console`] holds the assertions tests make on a boot log.
//! * [`faults`] attaches misbehaving disks (I/O errors, throttling) for fault injection.
//! * [`explain`] runs `vendor_image explain` on a booted guest's own inputs.

pub mod baseline;
pub mod bench;
pub mod boot_image;
pub mod cache;
pub mod console;
pub mod debian;
pub mod demo;
pub mod elf;
pub mod error;
pub mod explain;
pub mod faults;
pub mod guest;
pub mod kernel;
pub mod modules;
pub mod opendice;
pub mod scenario;
pub mod selinux;
pub mod vm;

pub use error::HarnessError;

/// The two guest architectures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arch {
    /// `aarch64` (`-M virt`, device tree, the full vendor flow).
    Aarch64,
    /// `x86_64` (`-M pc`, no device tree in Debian's kernel).
    X86_64,
}

impl Arch {
    /// Both architectures.
    pub const ALL: [Arch; 2] = [Arch::Aarch64, Arch::X86_64];

    /// The Rust target triple of the guest binary.
    pub fn triple(self) -> &'static str {
        match self {
            Arch::Aarch64 => "aarch64-unknown-linux-gnu",
            Arch::X86_64 => "x86_64-unknown-linux-gnu",
        }
    }

    /// Debian's architecture name.
    pub fn debian(self) -> &'static str {
        match self {
            Arch::Aarch64 => "arm64",
            Arch::X86_64 => "amd64",
        }
    }

    /// The name used on command lines and in paths.
    pub fn name(self) -> &'static str {
        match self {
            Arch::Aarch64 => "aarch64",
            Arch::X86_64 => "x86_64",
        }
    }

    /// Parses `aarch64`/`arm64` or `x86_64`/`amd64`.
    pub fn parse(s: &str) -> Option<Arch> {
        match s {
            "aarch64" | "arm64" => Some(Arch::Aarch64),
            "x86_64" | "amd64" => Some(Arch::X86_64),
            _ => None,
        }
    }

    /// The serial console device the kernel writes to.
    pub fn console(self) -> &'static str {
        match self {
            Arch::Aarch64 => "ttyAMA0",
            Arch::X86_64 => "ttyS0",
        }
    }
}

/// The workspace root (this crate's parent directory).
pub fn workspace_root() -> std::path::PathBuf {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}
