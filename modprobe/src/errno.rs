//! [`LoadErrno`]: which step of loading or removing a module failed, with which errno,
//! and what that errno means for that step (the kernel reuses errnos with step-specific
//! meanings, e.g. `ENOENT` from `open` is a missing file, from `finit_module` an unknown
//! symbol).
//!
//! The `finit_module` table follows the kernel's `load_module()` (Linux 6.1):
//! `ENOEXEC` for a bad ELF, wrong architecture or vermagic mismatch; `EINVAL` for a
//! parameter value the module rejects or a symbol version (modversions) mismatch;
//! `ENOENT` for an unknown symbol; `ENOSPC` for a value too large for its parameter;
//! `EKEYREJECTED` for a bad or (with enforcement) missing signature. An *unknown*
//! parameter name is not an error: the kernel logs "unknown parameter 'x' ignored" and
//! the load succeeds.

use std::fmt;

use nix::errno::Errno;

/// The step that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SysOp {
    /// Looking the name up in the module directory (no system call).
    Resolve,
    /// `open` of the module file.
    Open,
    /// `finit_module`.
    FinitModule,
    /// `delete_module`.
    DeleteModule,
}

impl fmt::Display for SysOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SysOp::Resolve => "lookup",
            SysOp::Open => "open",
            SysOp::FinitModule => "finit_module",
            SysOp::DeleteModule => "delete_module",
        })
    }
}

/// A failed step and its errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LoadErrno {
    /// The failed step.
    pub op: SysOp,
    /// The raw errno value.
    pub errno: i32,
}

impl LoadErrno {
    /// An `open` failure.
    pub fn open(errno: Errno) -> Self {
        LoadErrno {
            op: SysOp::Open,
            errno: errno as i32,
        }
    }

    /// A `finit_module` failure.
    pub fn finit(errno: Errno) -> Self {
        LoadErrno {
            op: SysOp::FinitModule,
            errno: errno as i32,
        }
    }

    /// A `delete_module` failure.
    pub fn delete(errno: Errno) -> Self {
        LoadErrno {
            op: SysOp::DeleteModule,
            errno: errno as i32,
        }
    }

    /// A name that resolves to no module (`ENOENT`).
    pub fn not_found() -> Self {
        LoadErrno {
            op: SysOp::Resolve,
            errno: Errno::ENOENT as i32,
        }
    }

    /// The errno as a [`nix::errno::Errno`].
    pub fn as_errno(&self) -> Errno {
        Errno::from_raw(self.errno)
    }

    /// True for `EEXIST` from `finit_module`: the module is already loaded.
    pub fn is_already_loaded(&self) -> bool {
        self.op == SysOp::FinitModule && self.as_errno() == Errno::EEXIST
    }

    /// The symbolic errno name, e.g. `"ENOEXEC"`.
    pub fn name(&self) -> String {
        match self.as_errno() {
            Errno::UnknownErrno => format!("errno {}", self.errno),
            e => format!("{e:?}"),
        }
    }

    /// What the errno means for this step.
    pub fn meaning(&self) -> &'static str {
        let e = self.as_errno();
        let specific = match self.op {
            SysOp::Resolve => Some("not found in modules.dep, modules.alias or modules.builtin"),
            SysOp::Open => open_meaning(e),
            SysOp::FinitModule => finit_meaning(e),
            SysOp::DeleteModule => delete_meaning(e),
        };
        specific.unwrap_or_else(|| e.desc())
    }
}

fn open_meaning(e: Errno) -> Option<&'static str> {
    Some(match e {
        Errno::ENOENT => "No such file or directory: the module file is missing",
        Errno::EACCES => "Permission denied: the module file cannot be read",
        Errno::ELOOP => "the module file is a symbolic link (refused, opened with O_NOFOLLOW)",
        Errno::ENOTDIR => "a component of the module path is not a directory",
        Errno::ENAMETOOLONG => "the module path is too long",
        Errno::EMFILE | Errno::ENFILE => "too many open files",
        Errno::ENOMEM => "Cannot allocate memory",
        _ => return None,
    })
}

fn finit_meaning(e: Errno) -> Option<&'static str> {
    Some(match e {
        Errno::EEXIST => "File exists: the module is already loaded",
        Errno::ENOEXEC => {
            "Exec format error: not a module for this kernel (wrong architecture, bad ELF, or vermagic mismatch)"
        }
        Errno::EINVAL => {
            "Invalid argument: invalid parameters (a value the module rejects), a symbol version (modversions) mismatch, or a malformed module; see dmesg"
        }
        Errno::ENOENT => {
            "No such file or directory: unknown symbol, a dependency is not loaded (see dmesg)"
        }
        Errno::EPERM => {
            "Operation not permitted: needs CAP_SYS_MODULE, module loading is disabled (kernel.modules_disabled), or the module is blocked by module_blacklist="
        }
        Errno::EACCES => "Permission denied: refused by a security module (LSM)",
        Errno::EKEYREJECTED => {
            "Key was rejected by service: the module signature is invalid, or the module is unsigned and signatures are enforced"
        }
        Errno::ENOKEY => {
            "Required key not available: the module is signed with a key the kernel does not trust"
        }
        Errno::EBADMSG => "Bad message: the module signature is malformed",
        Errno::ENOPKG => "Package not installed: the module signature uses unsupported crypto",
        Errno::ENODATA => "No data available: the module is not signed",
        Errno::EBUSY => {
            "Device or resource busy: the same module is being loaded or unloaded concurrently"
        }
        Errno::ENOMEM => "Cannot allocate memory: not enough memory for the module",
        Errno::ENOSPC => "No space left on device: a parameter value is too large for its parameter",
        Errno::EFBIG => "File too large: the module file exceeds the kernel's size limit",
        Errno::ETXTBSY => "Text file busy: the module file is open for writing",
        Errno::EBADF => "Bad file descriptor: the module file is not open for reading",
        Errno::ENOSYS => "Function not implemented: the kernel has no loadable module support",
        Errno::EOPNOTSUPP => {
            "Operation not supported: compressed module, but the kernel cannot decompress it (CONFIG_MODULE_DECOMPRESS)"
        }
        Errno::EFAULT => "Bad address",
        Errno::EINTR => "Interrupted system call",
        _ => return None,
    })
}

fn delete_meaning(e: Errno) -> Option<&'static str> {
    Some(match e {
        Errno::ENOENT => "No such file or directory: the module is not loaded",
        Errno::EWOULDBLOCK => "the module is in use (by another module or a process)",
        Errno::EBUSY => {
            "Device or resource busy: the module is still initialising or unloading, or cannot be unloaded"
        }
        Errno::EPERM => {
            "Operation not permitted: needs CAP_SYS_MODULE, or module unloading is disabled"
        }
        Errno::ENOSYS => {
            "Function not implemented: the kernel has no module (unloading) support"
        }
        Errno::EFAULT => "Bad address",
        _ => return None,
    })
}

impl fmt::Display for LoadErrno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({})", self.op, self.name(), self.meaning())
    }
}

impl std::error::Error for LoadErrno {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_depend_on_the_step() {
        let open = LoadErrno::open(Errno::ENOENT);
        let init = LoadErrno::finit(Errno::ENOENT);
        assert_eq!(
            open.to_string(),
            "open: ENOENT (No such file or directory: the module file is missing)"
        );
        assert!(init.meaning().contains("unknown symbol"));
        assert_eq!(
            LoadErrno::delete(Errno::ENOENT).meaning(),
            "No such file or directory: the module is not loaded"
        );
    }

    #[test]
    fn every_finit_errno_has_a_specific_message() {
        for e in [
            Errno::EEXIST,
            Errno::ENOEXEC,
            Errno::EINVAL,
            Errno::ENOENT,
            Errno::EPERM,
            Errno::EACCES,
            Errno::EKEYREJECTED,
            Errno::ENOKEY,
            Errno::EBADMSG,
            Errno::ENOPKG,
            Errno::ENODATA,
            Errno::EBUSY,
            Errno::ENOMEM,
            Errno::ENOSPC,
            Errno::EFBIG,
            Errno::ETXTBSY,
            Errno::EBADF,
            Errno::ENOSYS,
            Errno::EOPNOTSUPP,
            Errno::EFAULT,
            Errno::EINTR,
        ] {
            assert!(finit_meaning(e).is_some(), "{e:?}");
        }
        assert!(LoadErrno::finit(Errno::ENOEXEC)
            .meaning()
            .starts_with("Exec format error"));
        assert!(LoadErrno::finit(Errno::EINVAL)
            .meaning()
            .contains("invalid parameters"));
    }

    #[test]
    fn eexist_only_counts_for_finit() {
        assert!(LoadErrno::finit(Errno::EEXIST).is_already_loaded());
        assert!(!LoadErrno::open(Errno::EEXIST).is_already_loaded());
    }

    #[test]
    fn unknown_errno_falls_back() {
        let e = LoadErrno {
            op: SysOp::FinitModule,
            errno: 99999,
        };
        assert_eq!(e.name(), "errno 99999");
        assert!(!e.meaning().is_empty());
        assert_eq!(
            LoadErrno::not_found().to_string(),
            "lookup: ENOENT (not found in modules.dep, modules.alias or modules.builtin)"
        );
    }
}
