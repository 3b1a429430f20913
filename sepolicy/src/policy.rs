//! Loading the policy and the enforcing mode, through selinuxfs.
//!
//! - The kernel takes the whole policy in one `write` to `<selinuxfs>/load`
//!   (a partial write is not a partial load: we report it as an error).
//! - `<selinuxfs>/enforce` takes `1` or `0`.
//! - "SELinux active" means a policy is loaded. `initial_contexts/kernel`
//!   exists from mount time; before a policy is loaded it reads as the
//!   initial SID's name (`kernel`), afterwards as a full context
//!   (`u:r:kernel:s0`). So: `enforce` readable (selinuxfs is mounted) and
//!   the kernel initial context contains a `:`.
//! - Which mode a boot runs in is the boot's decision (`boot_config`'s
//!   `BootConfig::selinux_mode`: enforcing unless a debuggable boot asks for
//!   permissive); this module only applies it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;

use crate::error::SepolicyError;

/// Writes `policy` to `<selinuxfs>/load` in a single `write`.
pub fn load_policy(selinuxfs: &Path, policy: &[u8]) -> Result<(), SepolicyError> {
    if policy.is_empty() {
        return Err(SepolicyError::EmptyPolicy);
    }
    let path = selinuxfs.join("load");
    let error = |source| SepolicyError::PolicyLoad {
        path: path.clone(),
        source,
    };
    let mut file = OpenOptions::new().write(true).open(&path).map_err(error)?;
    let written = file.write(policy).map_err(error)?;
    if written != policy.len() {
        return Err(SepolicyError::PolicyShortWrite {
            path,
            written,
            len: policy.len(),
        });
    }
    Ok(())
}

/// Writes `1` (enforcing) or `0` (permissive) to `<selinuxfs>/enforce`.
pub fn set_enforce(selinuxfs: &Path, enforcing: bool) -> Result<(), SepolicyError> {
    let path = selinuxfs.join("enforce");
    let value: &[u8] = if enforcing { b"1" } else { b"0" };
    OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|mut f| f.write_all(value))
        .map_err(|source| SepolicyError::SetEnforce { path, source })
}

/// Whether a policy is loaded (see the module documentation).
pub fn selinux_active(selinuxfs: &Path) -> bool {
    let read_small = |rel: &str| -> Option<Vec<u8>> {
        let mut data = Vec::new();
        File::open(selinuxfs.join(rel))
            .ok()?
            .take(4096)
            .read_to_end(&mut data)
            .ok()?;
        Some(data)
    };
    read_small("enforce").is_some()
        && read_small("initial_contexts/kernel").is_some_and(|c| c.contains(&b':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selinuxfs(kernel_context: Option<&[u8]>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("enforce"), b"0").expect("write");
        std::fs::write(dir.path().join("load"), b"").expect("write");
        if let Some(ctx) = kernel_context {
            std::fs::create_dir(dir.path().join("initial_contexts")).expect("mkdir");
            std::fs::write(dir.path().join("initial_contexts/kernel"), ctx).expect("write");
        }
        dir
    }

    #[test]
    fn load_policy_writes_the_whole_blob() {
        let fs = selinuxfs(None);
        let policy: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        load_policy(fs.path(), &policy).expect("load");
        assert_eq!(std::fs::read(fs.path().join("load")).expect("read"), policy);
        assert!(matches!(
            load_policy(fs.path(), b""),
            Err(SepolicyError::EmptyPolicy)
        ));
        let missing = fs.path().join("nope");
        assert!(matches!(
            load_policy(&missing, b"x"),
            Err(SepolicyError::PolicyLoad { .. })
        ));
    }

    #[test]
    fn set_enforce_writes_one_or_zero() {
        let fs = selinuxfs(None);
        set_enforce(fs.path(), true).expect("enforce");
        assert_eq!(
            std::fs::read(fs.path().join("enforce")).expect("read"),
            b"1"
        );
        set_enforce(fs.path(), false).expect("permissive");
        assert_eq!(
            std::fs::read(fs.path().join("enforce")).expect("read"),
            b"0"
        );
        assert!(matches!(
            set_enforce(&fs.path().join("nope"), true),
            Err(SepolicyError::SetEnforce { .. })
        ));
    }

    #[test]
    fn active_only_with_a_loaded_policy() {
        assert!(!selinux_active(Path::new("/nonexistent/selinuxfs")));
        assert!(!selinux_active(selinuxfs(None).path()));
        assert!(!selinux_active(selinuxfs(Some(b"kernel\0")).path()));
        assert!(selinux_active(selinuxfs(Some(b"u:r:kernel:s0\0")).path()));
        let no_enforce = selinuxfs(Some(b"u:r:kernel:s0"));
        std::fs::remove_file(no_enforce.path().join("enforce")).expect("rm");
        assert!(!selinux_active(no_enforce.path()));
    }
}
