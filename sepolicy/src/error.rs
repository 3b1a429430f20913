//! The crate's error type for file access, policy load and labelling
//! (file_contexts lines have their own [`crate::ParseError`]).

use std::io;
use std::path::PathBuf;

use crate::label::RestoreconReport;

/// Errors of this crate's I/O operations.
#[derive(Debug, thiserror::Error)]
pub enum SepolicyError {
    /// A file could not be read.
    #[error("reading {path}: {source}", path = path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
    /// A file is larger than we are willing to read.
    #[error("{path} is larger than {limit} bytes", path = path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// There is no policy to load.
    #[error("the SELinux policy is empty")]
    EmptyPolicy,
    /// Writing the policy to `<selinuxfs>/load` failed.
    #[error("loading the SELinux policy through {path}: {source}", path = path.display())]
    PolicyLoad {
        /// The `load` file.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
    /// The kernel took only part of the policy.
    #[error("loading the SELinux policy through {path}: short write ({written} of {len} bytes)", path = path.display())]
    PolicyShortWrite {
        /// The `load` file.
        path: PathBuf,
        /// Bytes written.
        written: usize,
        /// Size of the policy.
        len: usize,
    },
    /// Writing `<selinuxfs>/enforce` failed.
    #[error("setting SELinux enforcing mode through {path}: {source}", path = path.display())]
    SetEnforce {
        /// The `enforce` file.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
    /// A path to label is not absolute or has `.`/`..` components.
    #[error("{path}: expected an absolute path without . or .. components", path = path.display())]
    BadPath {
        /// The path.
        path: PathBuf,
    },
    /// Reading or setting the label of one file failed.
    #[error("labelling {path}: {source}", path = path.display())]
    Label {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: io::Error,
    },
    /// A restorecon pass could not label everything; the report has the
    /// counts and the first failures.
    #[error("restorecon {path}: {report}", path = path.display())]
    Restorecon {
        /// The path restorecon started from.
        path: PathBuf,
        /// What was done and what failed.
        report: Box<RestoreconReport>,
    },
    /// An rc `seclabel` that the loaded policy does not know.
    #[error("{who}: seclabel {label} is not a valid context in the loaded policy")]
    InvalidSeclabel {
        /// The service or command.
        who: String,
        /// The seclabel.
        label: String,
    },
    /// A program without `seclabel` whose label has no domain transition from
    /// init's context (AOSP refuses to start it).
    #[error("{who}: {program} ({label}) has no domain transition from {current} \
             (give it a label with a type_transition from init, or a seclabel)", program = program.display())]
    NoTransition {
        /// The service or command.
        who: String,
        /// The program.
        program: PathBuf,
        /// `labelled <context>` or `not labelled`.
        label: String,
        /// init's context.
        current: String,
    },
    /// A kernel query about a domain failed.
    #[error("{who}: {what}: {source}")]
    Domain {
        /// The service or command.
        who: String,
        /// What was being asked.
        what: String,
        /// The failure.
        source: io::Error,
    },
}
