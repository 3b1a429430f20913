//! SELinux for test guests: the test policy compiled at test time with Debian's
//! `checkpolicy`, file_contexts checked against it with `sefcontext_compile -p`, the
//! kernel command line that selects SELinux, and host-side labels for vendor trees
//! (`mke2fs -d` copies `security.selinux` attributes into the image, so a labelled tree
//! boots with those labels on `/vendor`).
//!
//! The policy source is `qemu-tests/testdata/selinux/policy.conf` (see its header for
//! what it contains); the first stage loads it from `/sepolicy` in the initramfs.

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
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

/// Sets `security.selinux` to `label` on `root` and everything below it (symlinks
/// themselves, not their targets). Needs `CAP_SYS_ADMIN` on the host.
pub fn label_tree(root: &Path, label: &str) -> Result<(), HarnessError> {
    let mut value = label.as_bytes().to_vec();
    value.push(0);
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        lsetxattr_selinux(&path, &value)?;
        let meta = fs::symlink_metadata(&path).map_err(io(format!("lstat {}", path.display())))?;
        if meta.is_dir() {
            for entry in fs::read_dir(&path).map_err(io(format!("list {}", path.display())))? {
                stack.push(
                    entry
                        .map_err(io(format!("list {}", path.display())))?
                        .path(),
                );
            }
        }
    }
    Ok(())
}

fn lsetxattr_selinux(path: &Path, value: &[u8]) -> Result<(), HarnessError> {
    let what = || format!("lsetxattr security.selinux {}", path.display());
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| HarnessError::Missing(format!("{}: NUL in path", what())))?;
    // SAFETY: both strings are NUL-terminated and `value` is readable for its length;
    // flags 0 means create or replace.
    let rc = unsafe {
        libc::lsetxattr(
            c_path.as_ptr(),
            c"security.selinux".as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EPERM) {
        return Err(HarnessError::Missing(format!(
            "{}: {err} (setting security.* attributes needs CAP_SYS_ADMIN on the host)",
            what()
        )));
    }
    Err(HarnessError::Io {
        what: what(),
        source: err,
    })
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

    #[test]
    fn label_tree_labels_files_dirs_and_links() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("t");
        fs::create_dir_all(root.join("etc")).unwrap();
        fs::write(root.join("etc/f"), b"x").unwrap();
        std::os::unix::fs::symlink("/nowhere", root.join("l")).unwrap();
        match label_tree(&root, "u:object_r:vendor_file:s0") {
            Ok(()) => {}
            Err(HarnessError::Missing(m)) => return eprintln!("skipping: {m}"),
            Err(e) => panic!("{e}"),
        }
        for p in ["", "etc", "etc/f", "l"] {
            let path = CString::new(root.join(p).as_os_str().as_bytes()).unwrap();
            let mut buf = [0u8; 64];
            // SAFETY: NUL-terminated strings; `buf` is writable for its length.
            let n = unsafe {
                libc::lgetxattr(
                    path.as_ptr(),
                    c"security.selinux".as_ptr(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                )
            };
            assert_eq!(
                &buf[..usize::try_from(n).unwrap()],
                b"u:object_r:vendor_file:s0\0",
                "{p}"
            );
        }
    }
}
