//! SELinux for the guests: the policy compiled from its sources in `sepolicy/policy/`
//! (platform and vendor parts) with Debian's `checkpolicy`, file_contexts checked against
//! it with `sefcontext_compile -p`, the kernel command line that selects SELinux, and the
//! tests' instruments.
//!
//! Every guest boots with a policy (a normal boot without one is fatal): the *shipped*
//! policy (platform + vendor) is what `cargo xtask artifacts` puts at `/sepolicy`; test
//! guests and the demo add one module, `testdata/selinux/test_probe.te`, whose domain
//! runs the tests' busybox probes ([`instrument`]).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use initramfs::Archive;

use crate::error::{io, run, HarnessError};
use crate::scenario::Guest;
use crate::workspace_root;

/// The policy version we compile: what AOSP builds (Linux 6.1 accepts 15..=33).
pub const POLICY_VERSION: u32 = 30;

/// Where the first stage looks for the compiled policy.
pub const GUEST_POLICY_PATH: &str = "/sepolicy";

/// Where the platform's file_contexts sits in the guest.
pub const GUEST_PLAT_FILE_CONTEXTS: &str = "/system/etc/selinux/plat_file_contexts";

/// Kernel command line words that make SELinux the major LSM (Debian's kernels default
/// to AppArmor). Debian builds without `CONFIG_SECURITY_SELINUX_BOOTPARAM`, so the
/// kernel passes `selinux=1` on to init, which ignores it; it is kept because it is the
/// conventional pair and harmless.
pub const KERNEL_ARGS: [&str; 2] = ["security=selinux", "selinux=1"];

/// The words that make a boot debuggable and ask for permissive SELinux (Debian's
/// kernels have no bootconfig, so both go on the command line).
pub const PERMISSIVE_ARGS: [&str; 2] = [
    "androidboot.microdroid.debuggable=1",
    "androidboot.selinux=permissive",
];

/// Set (to anything) to boot every test guest debuggable and permissive, so a policy
/// gap shows as `avc: denied … permissive=1` records instead of failures: for auditing
/// the policy against a test (tests that assert enforcing then fail, as they should).
pub const AUDIT_ENV: &str = "QEMU_TESTS_SELINUX_AUDIT";

/// The policy's sources: `platform/` and `vendor/`.
pub fn policy_dir() -> PathBuf {
    workspace_root().join("sepolicy/policy")
}

/// The shipped vendor file_contexts (labels the vendor image, merged at boot).
pub fn vendor_file_contexts() -> PathBuf {
    policy_dir().join("vendor/file_contexts")
}

/// The test data directory of the SELinux tests.
pub fn testdata() -> PathBuf {
    workspace_root().join("qemu-tests/testdata/selinux")
}

/// The platform files that open the policy, in the order checkpolicy's grammar wants.
const HEAD: &[&str] = &[
    "security_classes",
    "initial_sids",
    "access_vectors",
    "mls",
    "attributes",
    "roles",
];
/// The platform files that close it.
const TAIL: &[&str] = &["users", "initial_sid_contexts", "fs_use", "genfs_contexts"];

fn read(path: &Path) -> Result<String, HarnessError> {
    fs::read_to_string(path).map_err(io(format!("read {}", path.display())))
}

/// The `*.te` files of `dir`, sorted.
fn te_files(dir: &Path) -> Result<Vec<PathBuf>, HarnessError> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(io(format!("read {}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "te"))
        .collect();
    v.sort();
    Ok(v)
}

/// The whole policy in checkpolicy's language: the platform's head, every `.te` of the
/// platform, then of the vendor, then `extra` modules, then the platform's tail.
pub fn policy_conf(extra: &[PathBuf]) -> Result<String, HarnessError> {
    let platform = policy_dir().join("platform");
    let mut files: Vec<PathBuf> = HEAD.iter().map(|f| platform.join(f)).collect();
    files.extend(te_files(&platform)?);
    files.extend(te_files(&policy_dir().join("vendor"))?);
    files.extend(extra.iter().cloned());
    files.extend(TAIL.iter().map(|f| platform.join(f)));
    let mut conf = String::new();
    for f in files {
        conf.push_str(&format!("\n# ---- {} ----\n", f.display()));
        conf.push_str(&read(&f)?);
    }
    Ok(conf)
}

/// Compiles `conf` (checkpolicy's policy.conf language) into a binary MLS policy at
/// `out`, with `handle_unknown allow`, and returns its bytes.
pub fn compile(conf: &str, out: &Path) -> Result<Vec<u8>, HarnessError> {
    let src = out.with_extension("conf");
    fs::write(&src, conf).map_err(io(format!("write {}", src.display())))?;
    run(Command::new("checkpolicy")
        .args(["-M", "-U", "allow", "-c", &POLICY_VERSION.to_string(), "-o"])
        .arg(out)
        .arg(&src))
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

/// A compiled policy and the extra modules it was compiled with.
type Compiled = (Vec<PathBuf>, Vec<u8>);

/// Compiles the policy with `extra` modules once per process and returns the bytes.
fn cached(extra: &[PathBuf]) -> Result<Vec<u8>, HarnessError> {
    static BUILT: OnceLock<Mutex<Vec<Compiled>>> = OnceLock::new();
    let built = BUILT.get_or_init(|| Mutex::new(Vec::new()));
    let mut built = built.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, bytes)) = built.iter().find(|(e, _)| e == extra) {
        return Ok(bytes.clone());
    }
    let dir = tempfile::tempdir().map_err(io("policy tempdir"))?;
    let bytes = compile(&policy_conf(extra)?, &dir.path().join("sepolicy"))?;
    built.push((extra.to_vec(), bytes.clone()));
    Ok(bytes)
}

/// The shipped policy: platform and vendor.
pub fn shipped_policy() -> Result<Vec<u8>, HarnessError> {
    cached(&[])
}

/// The tests' module: the `test_probe` domain of their busybox probes.
pub fn test_module() -> PathBuf {
    testdata().join("test_probe.te")
}

/// The shipped policy plus [`test_module`].
pub fn test_policy() -> Result<Vec<u8>, HarnessError> {
    cached(&[test_module()])
}

/// The file_contexts lines that put the tests' busybox copies in `test_probe`.
pub fn test_file_contexts() -> Result<String, HarnessError> {
    read(&testdata().join("test_file_contexts"))
}

/// The file_contexts vendor images of the tests are labelled from by default: the
/// shipped vendor file plus [`test_file_contexts`].
pub fn test_vendor_file_contexts() -> Result<String, HarnessError> {
    Ok(read(&vendor_file_contexts())? + &test_file_contexts()?)
}

/// Puts the shipped policy at `/sepolicy` (the guest's initramfs as shipped).
pub fn install_shipped(a: &mut Archive) -> Result<(), HarnessError> {
    a.add_file(GUEST_POLICY_PATH, 0o644, shipped_policy()?)?;
    Ok(())
}

/// Makes a shipped initramfs a test guest's: the policy with [`test_module`], and the
/// plat file_contexts with [`test_file_contexts`].
pub fn instrument(a: &mut Archive) -> Result<(), HarnessError> {
    a.remove(GUEST_POLICY_PATH);
    a.add_file(GUEST_POLICY_PATH, 0o644, test_policy()?)?;
    let plat = read(
        &workspace_root()
            .join("rootdir")
            .join(GUEST_PLAT_FILE_CONTEXTS.trim_start_matches('/')),
    )?;
    a.remove(GUEST_PLAT_FILE_CONTEXTS);
    a.add_file(
        GUEST_PLAT_FILE_CONTEXTS,
        0o644,
        (plat + &test_file_contexts()?).into_bytes(),
    )?;
    Ok(())
}

/// Makes `g` a debuggable boot that asks for permissive SELinux.
pub fn permissive(g: &mut Guest) {
    g.append
        .extend(PERMISSIVE_ARGS.iter().map(|s| s.to_string()));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policies_compile_and_know_every_label_they_ship() {
        let dir = tempfile::tempdir().unwrap();
        let shipped = dir.path().join("shipped");
        let bytes = shipped_policy().unwrap();
        // A binary policy starts with the SELinux magic, little-endian.
        assert_eq!(bytes.get(..4), Some(&0xf97c_ff8cu32.to_le_bytes()[..]));
        fs::write(&shipped, &bytes).unwrap();
        let plat =
            read(&workspace_root().join("rootdir/system/etc/selinux/plat_file_contexts")).unwrap();
        check_file_contexts(&shipped, &plat, dir.path()).unwrap();
        check_file_contexts(
            &shipped,
            &read(&vendor_file_contexts()).unwrap(),
            dir.path(),
        )
        .unwrap();
        // The tests' labels are the test module's, not the shipped policy's.
        assert!(check_file_contexts(&shipped, &test_file_contexts().unwrap(), dir.path()).is_err());
        let test = dir.path().join("test");
        fs::write(&test, test_policy().unwrap()).unwrap();
        check_file_contexts(&test, &test_vendor_file_contexts().unwrap(), dir.path()).unwrap();
        // And the check has teeth: an unknown type is refused.
        let bad = "/x u:object_r:no_such_type:s0\n";
        assert!(check_file_contexts(&shipped, bad, dir.path()).is_err());
    }
}
