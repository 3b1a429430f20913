//! The domain a program started by init runs in, decided as AOSP's init
//! decides it (`service.cpp` `Service::Start`, `ComputeContextFromExecutable`):
//!
//! - with a `seclabel`, that context: it must be a valid context of the
//!   loaded policy (the kernel checks it when it is written to
//!   `/proc/self/attr/exec`; we check it first through selinuxfs `context`
//!   so the refusal names the service, not a failed fork);
//! - without one, the context the kernel computes for a process created
//!   from init's context and the program's file label (selinuxfs `create`,
//!   libselinux's `security_compute_create`): the policy's
//!   `type_transition`. When that is init's own context, the policy defines
//!   no transition and the program is refused, as AOSP refuses it ("has
//!   incorrect label or no domain transition"), even in permissive mode.
//!
//! Whether the policy then *allows* entering the domain is the kernel's
//! decision at `execve` (`process transition`, `file entrypoint`); in
//! enforcing mode a refusal fails the `execve` with `EACCES` and logs an avc.
//!
//! The kernel side is behind [`DomainOps`] ([`KernelDomainOps`]: procfs,
//! `getxattr`, selinuxfs), so the decision is tested without a kernel.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::SepolicyError;
use crate::label::XATTR_NAME_SELINUX;
use crate::sys;

/// Longest context we read back from the kernel (a context is a few dozen
/// bytes; the kernel's limit is a page).
const MAX_CONTEXT: usize = 4096;

/// What the decision needs from the kernel.
pub trait DomainOps {
    /// The caller's own context (`/proc/self/attr/current`).
    fn current(&self) -> io::Result<String>;
    /// The label of the file `path` names, following symlinks (libselinux
    /// `getfilecon`: `/system/bin/ueventd` is a link to the labelled `/init`);
    /// `None` when it has none.
    fn file_label(&self, path: &Path) -> io::Result<Option<String>>;
    /// Whether `context` is valid in the loaded policy.
    fn valid_context(&self, context: &str) -> io::Result<bool>;
    /// The context of an object of class `class` created by `source` from
    /// (or, for `process`, by executing) an object labelled `target`.
    fn compute_create(&self, source: &str, target: &str, class: &str) -> io::Result<String>;
}

/// The running kernel: `<proc>/self/attr/current`, `getxattr`, and the
/// selinuxfs transaction files `context` and `create`.
#[derive(Debug, Clone)]
pub struct KernelDomainOps {
    /// Where selinuxfs is mounted (`/sys/fs/selinux`).
    pub selinuxfs: PathBuf,
    /// Where procfs is mounted (`/proc`).
    pub proc: PathBuf,
}

impl KernelDomainOps {
    /// The guest's mounts.
    pub fn new(selinuxfs: &Path, proc: &Path) -> KernelDomainOps {
        KernelDomainOps {
            selinuxfs: selinuxfs.to_owned(),
            proc: proc.to_owned(),
        }
    }

    /// One selinuxfs transaction: write `request` to `name`, read the answer
    /// from the start of the same open file (the kernel keeps it there).
    fn transaction(&self, name: &str, request: &[u8]) -> io::Result<Vec<u8>> {
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(self.selinuxfs.join(name))?;
        f.write_all(request)?;
        let mut answer = vec![0u8; MAX_CONTEXT];
        let n = f.read_at(&mut answer, 0)?;
        answer.truncate(n);
        Ok(answer)
    }

    /// The number the loaded policy gives class `class`.
    fn class_index(&self, class: &str) -> io::Result<u16> {
        let path = self.selinuxfs.join("class").join(class).join("index");
        let text = std::fs::read_to_string(&path)?;
        text.trim().parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: not a class number: {text:?}", path.display()),
            )
        })
    }
}

/// A context as the kernel returns it: up to the first NUL or newline.
fn context_text(bytes: &[u8]) -> String {
    let end = bytes
        .iter()
        .position(|&b| b == 0 || b == b'\n')
        .unwrap_or(bytes.len());
    String::from_utf8_lossy(bytes.get(..end).unwrap_or_default()).into_owned()
}

impl DomainOps for KernelDomainOps {
    fn current(&self) -> io::Result<String> {
        let mut bytes = Vec::new();
        File::open(self.proc.join("self/attr/current"))?
            .take(MAX_CONTEXT as u64)
            .read_to_end(&mut bytes)?;
        Ok(context_text(&bytes))
    }

    fn file_label(&self, path: &Path) -> io::Result<Option<String>> {
        Ok(sys::getxattr(path, XATTR_NAME_SELINUX)?.map(|v| context_text(&v)))
    }

    fn valid_context(&self, context: &str) -> io::Result<bool> {
        let mut request = context.as_bytes().to_vec();
        request.push(0);
        match self.transaction("context", &request) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn compute_create(&self, source: &str, target: &str, class: &str) -> io::Result<String> {
        let index = self.class_index(class)?;
        let request = format!("{source} {target} {index}");
        let answer = self.transaction("create", request.as_bytes())?;
        Ok(context_text(&answer))
    }
}

/// The domain `program` is to run in, with `seclabel` if the rc gave one (see
/// the module documentation). `who` names the service or command in errors.
pub fn exec_domain(
    ops: &dyn DomainOps,
    who: &str,
    program: &Path,
    seclabel: Option<&str>,
) -> Result<String, SepolicyError> {
    let kernel = |what: &str, source: io::Error| SepolicyError::Domain {
        who: who.to_owned(),
        what: what.to_owned(),
        source,
    };
    if let Some(label) = seclabel {
        return match ops.valid_context(label) {
            Ok(true) => Ok(label.to_owned()),
            Ok(false) => Err(SepolicyError::InvalidSeclabel {
                who: who.to_owned(),
                label: label.to_owned(),
            }),
            Err(e) => Err(kernel("checking the seclabel", e)),
        };
    }
    let current = ops
        .current()
        .map_err(|e| kernel("reading init's context", e))?;
    let file_label = ops
        .file_label(program)
        .map_err(|e| kernel(&format!("reading the label of {}", program.display()), e))?
        .ok_or_else(|| SepolicyError::NoTransition {
            who: who.to_owned(),
            program: program.to_owned(),
            label: "not labelled".to_owned(),
            current: current.clone(),
        })?;
    let computed = ops
        .compute_create(&current, &file_label, "process")
        .map_err(|e| kernel("computing the domain", e))?;
    if computed == current {
        return Err(SepolicyError::NoTransition {
            who: who.to_owned(),
            program: program.to_owned(),
            label: format!("labelled {file_label}"),
            current,
        });
    }
    Ok(computed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A policy of two transitions, for the decision logic.
    struct FakeKernel {
        labels: BTreeMap<PathBuf, String>,
    }

    impl DomainOps for FakeKernel {
        fn current(&self) -> io::Result<String> {
            Ok("u:r:init:s0".into())
        }
        fn file_label(&self, path: &Path) -> io::Result<Option<String>> {
            Ok(self.labels.get(path).cloned())
        }
        fn valid_context(&self, context: &str) -> io::Result<bool> {
            Ok(["u:r:ueventd:s0", "u:r:vendor_service:s0"].contains(&context))
        }
        fn compute_create(&self, source: &str, target: &str, class: &str) -> io::Result<String> {
            assert_eq!(class, "process");
            Ok(match target {
                "u:object_r:vendor_service_exec:s0" => "u:r:vendor_service:s0",
                "u:object_r:broken:s0" => return Err(io::Error::from_raw_os_error(libc::EINVAL)),
                _ => source,
            }
            .to_owned())
        }
    }

    fn kernel() -> FakeKernel {
        FakeKernel {
            labels: [
                ("/vendor/bin/svc", "u:object_r:vendor_service_exec:s0"),
                ("/system/bin/ueventd", "u:object_r:init_exec:s0"),
                ("/vendor/bin/tool", "u:object_r:vendor_file:s0"),
                ("/x/broken", "u:object_r:broken:s0"),
            ]
            .into_iter()
            .map(|(p, l)| (PathBuf::from(p), l.to_owned()))
            .collect(),
        }
    }

    #[test]
    fn seclabel_is_used_when_valid() {
        let k = kernel();
        let d = exec_domain(
            &k,
            "ueventd",
            Path::new("/system/bin/ueventd"),
            Some("u:r:ueventd:s0"),
        );
        assert_eq!(d.unwrap(), "u:r:ueventd:s0");
        let e = exec_domain(
            &k,
            "svc",
            Path::new("/system/bin/ueventd"),
            Some("u:r:nope:s0"),
        )
        .unwrap_err();
        assert!(matches!(e, SepolicyError::InvalidSeclabel { .. }), "{e}");
        assert_eq!(
            e.to_string(),
            "svc: seclabel u:r:nope:s0 is not a valid context in the loaded policy"
        );
    }

    #[test]
    fn the_policy_transition_is_taken() {
        let d = exec_domain(&kernel(), "svc", Path::new("/vendor/bin/svc"), None);
        assert_eq!(d.unwrap(), "u:r:vendor_service:s0");
    }

    #[test]
    fn no_transition_is_refused_as_aosp_does() {
        let k = kernel();
        for (path, label) in [
            ("/vendor/bin/tool", "labelled u:object_r:vendor_file:s0"),
            ("/system/bin/ueventd", "labelled u:object_r:init_exec:s0"),
            ("/unlabelled", "not labelled"),
        ] {
            let e = exec_domain(&k, "tool", Path::new(path), None).unwrap_err();
            assert!(matches!(e, SepolicyError::NoTransition { .. }), "{e}");
            let text = e.to_string();
            assert!(
                text.starts_with(&format!(
                    "tool: {path} ({label}) has no domain transition from u:r:init:s0"
                )),
                "{text}"
            );
        }
    }

    #[test]
    fn kernel_errors_name_the_step() {
        let e = exec_domain(&kernel(), "b", Path::new("/x/broken"), None).unwrap_err();
        assert!(
            e.to_string().starts_with("b: computing the domain: "),
            "{e}"
        );
    }

    #[test]
    fn kernel_ops_read_fixture_files() {
        let d = tempfile::tempdir().unwrap();
        let ops = KernelDomainOps::new(&d.path().join("selinux"), &d.path().join("proc"));
        std::fs::create_dir_all(d.path().join("proc/self/attr")).unwrap();
        std::fs::write(d.path().join("proc/self/attr/current"), b"u:r:init:s0\0").unwrap();
        assert_eq!(ops.current().unwrap(), "u:r:init:s0");
        std::fs::create_dir_all(d.path().join("selinux/class/process")).unwrap();
        std::fs::write(d.path().join("selinux/class/process/index"), b"2\n").unwrap();
        assert_eq!(ops.class_index("process").unwrap(), 2);
        std::fs::write(d.path().join("selinux/class/process/index"), b"x").unwrap();
        assert!(ops.class_index("process").is_err());
        assert!(ops.class_index("file").is_err());
        assert_eq!(context_text(b"u:r:a:s0\0\0"), "u:r:a:s0");
        assert_eq!(context_text(b"u:r:a:s0\n"), "u:r:a:s0");
        assert_eq!(context_text(b""), "");
    }
}
