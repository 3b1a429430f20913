//! SELinux for test guests: the test policy compiled at test time with Debian's
//! `checkpolicy`, file_contexts checked against it with `sefcontext_compile -p`, and the
//! kernel command line that selects SELinux. (Vendor images are labelled at build time
//! by `vendor_image` from a file_contexts: `VendorOptions::file_contexts`.)
//!
//! The policy source is `qemu-tests/testdata/selinux/policy.conf` (see its header for
//! what it contains); the first stage loads it from `/sepolicy` in the initramfs.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{io, run, HarnessError};
use crate::scenario::Guest;
use crate::workspace_root;

/// The policy version we compile: what AOSP builds (Linux 6.1 accepts 15..=33).
pub const POLICY_VERSION: u32 = 30;

/// Where the first stage looks for the compiled policy.
pub const GUEST_POLICY_PATH: &str = "/sepolicy";

/// Kernel command line words that make SELinux the major LSM (Debian's kernels default
/// to AppArmor). Debian builds without `CONFIG_SECURITY_SELINUX_BOOTPARAM`, so the
/// kernel passes `selinux=1` on to init, which ignores it; it is kept because it is the
/// conventional pair and harmless.
pub const KERNEL_ARGS: [&str; 2] = ["security=selinux", "selinux=1"];

/// The test data directory of the SELinux tests.
pub fn testdata() -> PathBuf {
    workspace_root().join("qemu-tests/testdata/selinux")
}

/// The test policy's source.
pub fn policy_source() -> PathBuf {
    testdata().join("policy.conf")
}

/// Compiles `src` (checkpolicy's policy.conf language) into a binary MLS policy at
/// `out`, with `handle_unknown allow`, and returns its bytes.
pub fn compile_policy(src: &Path, out: &Path) -> Result<Vec<u8>, HarnessError> {
    run(Command::new("checkpolicy")
        .args(["-M", "-U", "allow", "-c", &POLICY_VERSION.to_string(), "-o"])
        .arg(out)
        .arg(src))
    .map_err(|e| match e {
        HarnessError::Io { what, source } if source.kind() == std::io::ErrorKind::NotFound => {
            HarnessError::Missing(format!(
                "{what}: checkpolicy is not installed (Debian package `checkpolicy`)"
            ))
        }
        other => other,
    })?;
    fs::read(out).map_err(io(format!("read {}", out.display())))
}

/// Checks that every context in the file_contexts text `fc` is valid in the binary
/// `policy` (`sefcontext_compile -p`, from Debian's `selinux-utils`). `work` is a
/// scratch directory.
pub fn check_file_contexts(policy: &Path, fc: &str, work: &Path) -> Result<(), HarnessError> {
    let src = work.join("check_file_contexts");
    fs::write(&src, fc).map_err(io(format!("write {}", src.display())))?;
    let out = work.join("check_file_contexts.bin");
    run(Command::new("sefcontext_compile")
        .arg("-p")
        .arg(policy)
        .arg("-o")
        .arg(&out)
        .arg(&src))
    .map(|_| ())
}

/// How the guest should run SELinux.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `androidboot.selinux=permissive`.
    Permissive,
    /// No `androidboot.selinux`: the first stage's default, enforcing.
    Enforcing,
}

/// Puts `policy` at `/sepolicy` in the guest's initramfs and adds the kernel arguments
/// for SELinux in `mode`.
pub fn enable(g: &mut Guest, policy: Vec<u8>, mode: Mode) -> Result<(), HarnessError> {
    g.initramfs.add_file(GUEST_POLICY_PATH, 0o644, policy)?;
    g.append.extend(KERNEL_ARGS.iter().map(|s| s.to_string()));
    if mode == Mode::Permissive {
        g.append.push("androidboot.selinux=permissive".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_policy_compiles_and_knows_every_plat_label() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("sepolicy");
        let bytes = compile_policy(&policy_source(), &out).unwrap();
        // A binary policy starts with the SELinux magic, little-endian.
        assert_eq!(bytes.get(..4), Some(&0xf97c_ff8cu32.to_le_bytes()[..]));
        let plat = fs::read_to_string(
            workspace_root().join("rootdir/system/etc/selinux/plat_file_contexts"),
        )
        .unwrap();
        check_file_contexts(&out, &plat, dir.path()).unwrap();
        // And the check has teeth: an unknown type is refused.
        let bad = "/x u:object_r:no_such_type:s0\n";
        assert!(check_file_contexts(&out, bad, dir.path()).is_err());
    }
}
