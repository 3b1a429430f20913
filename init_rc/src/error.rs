//! The crate's error type: one enum for every failure the interpreter, the OS layer and the
//! property-service client can report. Messages name what was wrong (path, property,
//! service or argument) so one log line is enough to act on.

use std::io;

/// Every error `init_rc` reports.
#[derive(Debug, thiserror::Error)]
pub enum RcError {
    /// A filesystem or system call on `path` failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// The operation, e.g. `mkdir`.
        op: &'static str,
        /// The path (or other object) it was applied to.
        path: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A program could not be started (missing, not executable, …).
    #[error("cannot execute {path}: {source}")]
    Exec {
        /// The program path.
        path: String,
        /// Why `execve` (or the setup before it) failed.
        #[source]
        source: io::Error,
    },
    /// A program was not started: its SELinux domain cannot be entered.
    #[error("not started: {0}")]
    Refused(String),
    /// A command argument is invalid once expanded (bad mode, unknown user, …).
    #[error("{0}")]
    Invalid(String),
    /// `${…}` expansion failed.
    #[error("cannot expand '{text}': {reason}")]
    Expand {
        /// The text being expanded.
        text: String,
        /// What went wrong.
        reason: String,
    },
    /// A command names a service that does not exist.
    #[error("service '{0}' not found")]
    NoService(String),
    /// A property-service message was malformed or truncated.
    #[error("property service protocol: {0}")]
    Protocol(String),
    /// The property service answered with a non-zero result code.
    #[error("property service rejected '{name}' with code 0x{code:x}")]
    Rejected {
        /// The property name.
        name: String,
        /// The `PROP_ERROR_*` code.
        code: u32,
    },
    /// `wait <path>` timed out.
    #[error("timed out waiting for {0}")]
    Timeout(String),
}

impl RcError {
    /// Builds an [`RcError::Io`].
    pub fn io(op: &'static str, path: impl std::fmt::Display, source: io::Error) -> Self {
        RcError::Io {
            op,
            path: path.to_string(),
            source,
        }
    }
}
