//! The kernel hardening AOSP's init applies on every boot (`init/security.cpp`), queued
//! as builtin actions by the interpreter (`init.cpp` `SecondStageMain`):
//!
//! - `SetKptrRestrict`, before `early-init`: `/proc/sys/kernel/kptr_restrict` at the
//!   highest value the kernel takes between 4 and 2 (Linux takes 0..=2, so 2: kernel
//!   pointers are hidden from everyone);
//! - `SetMmapRndBits`, after `early-init` (and its wait for coldboot), before `init`:
//!   `/proc/sys/vm/mmap_rnd_bits` at the kernel's maximum, found as AOSP finds it (write
//!   the architecture's theoretical maximum, read it back, go one lower until a value
//!   sticks): aarch64 from 33 down to 24, riscv64 33 to 24, x86_64 exactly 32 (minus the
//!   page-size shift above 4 KiB). `mmap_rnd_compat_bits` must reach 16 when the system
//!   has a 32-bit ABI (`ro.product.cpu.abilist32` non-empty, AOSP `Has32BitAbi`).
//!
//! Failing either is fatal, as AOSP's `LOG(FATAL)`: `INIT_FATAL reason=KPTR_RESTRICT` or
//! `reason=MMAP_RND_BITS`. **Ours:** without a 32-bit ABI AOSP leaves
//! `mmap_rnd_compat_bits` alone; we raise it to 16 where the file exists too, and only
//! log when that fails.

use std::path::Path;

use crate::platform::Platform;

/// `kptr_restrict` under the procfs root.
pub const KPTR_RESTRICT: &str = "sys/kernel/kptr_restrict";
/// `mmap_rnd_bits` under the procfs root.
pub const MMAP_RND_BITS: &str = "sys/vm/mmap_rnd_bits";
/// `mmap_rnd_compat_bits` under the procfs root.
pub const MMAP_RND_COMPAT_BITS: &str = "sys/vm/mmap_rnd_compat_bits";
/// AOSP's `KPTR_RESTRICT_MINVALUE` and `KPTR_RESTRICT_MAXVALUE`.
pub const KPTR_RESTRICT_RANGE: (u32, u32) = (2, 4);
/// The compat (32-bit) bits AOSP requires.
pub const MMAP_RND_COMPAT: u32 = 16;
/// Largest sysctl file read back.
const MAX_SYSCTL: usize = 64;

/// The CPU architectures AOSP's `SetMmapRndBitsAction` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// arm64.
    Aarch64,
    /// riscv64.
    Riscv64,
    /// x86_64.
    X86_64,
}

impl Arch {
    /// The architecture this binary was built for, if AOSP sets its bits.
    pub fn current() -> Option<Arch> {
        if cfg!(target_arch = "aarch64") {
            Some(Arch::Aarch64)
        } else if cfg!(target_arch = "riscv64") {
            Some(Arch::Riscv64)
        } else if cfg!(target_arch = "x86_64") {
            Some(Arch::X86_64)
        } else {
            None
        }
    }

    /// `(start, min)` for `mmap_rnd_bits`: the value tried first and the lowest accepted.
    pub fn mmap_rnd_bits(self, page_size: usize) -> (u32, u32) {
        match self {
            Arch::Aarch64 | Arch::Riscv64 => (33, 24),
            Arch::X86_64 => {
                let shift = page_size.max(4096).trailing_zeros().saturating_sub(12);
                let bits = 32u32.saturating_sub(shift);
                (bits, bits)
            }
        }
    }

    /// Whether AOSP also sets the compat bits on this architecture.
    fn has_compat(self) -> bool {
        !matches!(self, Arch::Riscv64)
    }
}

/// AOSP `SetHighestAvailableOptionValue`: the file must be readable; then `max`, `max -
/// 1`, … `min` are written (a write the kernel refuses is not an error) until one reads
/// back. Returns the value that stuck.
pub fn set_highest(p: &mut dyn Platform, path: &Path, min: u32, max: u32) -> Result<u32, String> {
    let read = |p: &mut dyn Platform| -> Result<String, String> {
        let data = p
            .read_file(path, MAX_SYSCTL, false)
            .map_err(|e| format!("cannot open for reading: {e}"))?;
        Ok(String::from_utf8_lossy(&data).trim().to_owned())
    };
    read(p)?;
    for value in (min..=max).rev() {
        let text = value.to_string();
        if let Err(e) = p.write_file(path, format!("{text}\n").as_bytes()) {
            log::debug!("init: {} refused {text}: {e}", path.display());
        }
        if read(p)? == text {
            return Ok(value);
        }
    }
    Err(format!(
        "unable to set minimum option value {min} in {}",
        path.display()
    ))
}

/// AOSP `SetKptrRestrictAction`.
pub fn set_kptr_restrict(p: &mut dyn Platform, proc_root: &Path) -> Result<u32, String> {
    let (min, max) = KPTR_RESTRICT_RANGE;
    set_highest(p, &proc_root.join(KPTR_RESTRICT), min, max)
        .map_err(|e| format!("unable to set adequate kptr_restrict value: {e}"))
}

/// What `SetMmapRndBits` set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MmapRnd {
    /// `mmap_rnd_bits`.
    pub bits: u32,
    /// `mmap_rnd_compat_bits`, when set.
    pub compat_bits: Option<u32>,
}

/// AOSP `SetMmapRndBitsAction` for `arch` (`None`: an architecture AOSP does not know,
/// fatal as in AOSP).
pub fn set_mmap_rnd_bits(
    p: &mut dyn Platform,
    proc_root: &Path,
    arch: Option<Arch>,
    has_32bit_abi: bool,
) -> Result<MmapRnd, String> {
    let fail = |e: String| format!("unable to set adequate mmap entropy value: {e}");
    let arch = arch.ok_or_else(|| fail("unknown architecture".into()))?;
    let (start, min) = arch.mmap_rnd_bits(p.page_size());
    let bits = set_highest(p, &proc_root.join(MMAP_RND_BITS), min, start).map_err(fail)?;
    let compat = proc_root.join(MMAP_RND_COMPAT_BITS);
    let compat_bits = if !arch.has_compat() {
        None
    } else if has_32bit_abi {
        Some(set_highest(p, &compat, MMAP_RND_COMPAT, MMAP_RND_COMPAT).map_err(fail)?)
    } else if p.exists(&compat) {
        match set_highest(p, &compat, MMAP_RND_COMPAT, MMAP_RND_COMPAT) {
            Ok(v) => Some(v),
            Err(e) => {
                log::warn!("init: mmap_rnd_compat_bits left as it is (no 32-bit ABI): {e}");
                None
            }
        }
    } else {
        None
    };
    Ok(MmapRnd { bits, compat_bits })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::FakePlatform;
    use std::path::PathBuf;

    fn proc() -> PathBuf {
        PathBuf::from("/proc")
    }

    #[test]
    fn bits_per_architecture() {
        assert_eq!(Arch::Aarch64.mmap_rnd_bits(4096), (33, 24));
        assert_eq!(Arch::Aarch64.mmap_rnd_bits(16384), (33, 24));
        assert_eq!(Arch::Riscv64.mmap_rnd_bits(4096), (33, 24));
        assert_eq!(Arch::X86_64.mmap_rnd_bits(4096), (32, 32));
        assert_eq!(Arch::X86_64.mmap_rnd_bits(16384), (30, 30));
        assert_eq!(Arch::X86_64.mmap_rnd_bits(65536), (28, 28));
    }

    #[test]
    fn kptr_restrict_takes_the_highest_the_kernel_accepts() {
        let mut p = FakePlatform::new();
        assert_eq!(set_kptr_restrict(&mut p, &proc()), Ok(2));
        assert_eq!(
            p.writes_to("/proc/sys/kernel/kptr_restrict"),
            ["4\n", "3\n", "2\n"]
        );
        // A kernel that stops at 1 is fatal.
        let mut p = FakePlatform::new();
        p.sysctl("/proc/sys/kernel/kptr_restrict", 0, 0..=1);
        let e = set_kptr_restrict(&mut p, &proc()).unwrap_err();
        assert!(
            e.contains("kptr_restrict") && e.contains("minimum option value 2"),
            "{e}"
        );
        // So is a kernel without the file.
        let mut p = FakePlatform::new();
        p.files.remove(Path::new("/proc/sys/kernel/kptr_restrict"));
        let e = set_kptr_restrict(&mut p, &proc()).unwrap_err();
        assert!(e.contains("cannot open for reading"), "{e}");
    }

    #[test]
    fn mmap_rnd_bits_at_the_kernels_maximum() {
        // Debian's arm64 kernel: 18..=33 (48-bit VA, 4 KiB pages); compat 11..=16.
        let mut p = FakePlatform::new();
        let got = set_mmap_rnd_bits(&mut p, &proc(), Some(Arch::Aarch64), false).unwrap();
        assert_eq!(
            got,
            MmapRnd {
                bits: 33,
                compat_bits: Some(16)
            }
        );
        // A 39-bit VA kernel stops at 24: still accepted.
        p.sysctl("/proc/sys/vm/mmap_rnd_bits", 18, 18..=24);
        let got = set_mmap_rnd_bits(&mut p, &proc(), Some(Arch::Aarch64), false).unwrap();
        assert_eq!(got.bits, 24);
        assert_eq!(p.writes_to("/proc/sys/vm/mmap_rnd_bits").len(), 1 + 10);
        // Below AOSP's minimum: fatal.
        p.sysctl("/proc/sys/vm/mmap_rnd_bits", 18, 18..=23);
        let e = set_mmap_rnd_bits(&mut p, &proc(), Some(Arch::Aarch64), false).unwrap_err();
        assert!(
            e.starts_with("unable to set adequate mmap entropy value"),
            "{e}"
        );
        // x86_64 must reach exactly 32.
        let mut p = FakePlatform::new();
        p.sysctl("/proc/sys/vm/mmap_rnd_bits", 28, 28..=31);
        assert!(set_mmap_rnd_bits(&mut p, &proc(), Some(Arch::X86_64), false).is_err());
        assert!(set_mmap_rnd_bits(&mut p, &proc(), None, false).is_err());
    }

    #[test]
    fn compat_bits_required_only_with_a_32_bit_abi() {
        let mut p = FakePlatform::new();
        p.sysctl("/proc/sys/vm/mmap_rnd_compat_bits", 8, 8..=15);
        let got = set_mmap_rnd_bits(&mut p, &proc(), Some(Arch::X86_64), false).unwrap();
        assert_eq!(
            got,
            MmapRnd {
                bits: 32,
                compat_bits: None
            }
        );
        assert!(set_mmap_rnd_bits(&mut p, &proc(), Some(Arch::X86_64), true).is_err());
        // No compat file at all (a kernel without CONFIG_COMPAT).
        let mut p = FakePlatform::new();
        p.files
            .remove(Path::new("/proc/sys/vm/mmap_rnd_compat_bits"));
        let got = set_mmap_rnd_bits(&mut p, &proc(), Some(Arch::Aarch64), false).unwrap();
        assert_eq!(got.compat_bits, None);
        assert!(set_mmap_rnd_bits(&mut p, &proc(), Some(Arch::Aarch64), true).is_err());
        // riscv64 has none.
        let mut p = FakePlatform::new();
        let got = set_mmap_rnd_bits(&mut p, &proc(), Some(Arch::Riscv64), true).unwrap();
        assert_eq!(got.compat_bits, None);
    }
}
