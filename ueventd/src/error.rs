//! Error types: one enum for the daemon and block-device helpers ([`UeventdError`]), one
//! for uevent messages ([`UeventError`]) and one record type for ueventd.rc problems
//! ([`ConfigError`], which never stops the other lines from being parsed).

use std::fmt;
use std::io;
use std::path::PathBuf;

/// A problem in a ueventd.rc file. The line is 1-based; 0 means the file as a whole
/// (for example, it could not be read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file (or the `origin` given to [`crate::parse_config`]).
    pub file: String,
    /// 1-based line of the offending directive; 0 for the whole file.
    pub line: usize,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Why a uevent message was rejected by [`crate::parse_uevent`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UeventError {
    /// The message is empty.
    #[error("empty uevent message")]
    Empty,
    /// The message reaches the size limit (such messages are truncated by the socket).
    #[error("uevent message of {len} bytes reaches the {max}-byte limit")]
    TooLarge {
        /// Length of the message.
        len: usize,
        /// The limit ([`crate::UEVENT_MSG_MAX`]).
        max: usize,
    },
    /// The last byte is not NUL.
    #[error("uevent message is not NUL-terminated")]
    NotNulTerminated,
    /// The first field is not `ACTION@DEVPATH`.
    #[error("uevent header {0:?} is not ACTION@DEVPATH")]
    BadHeader(String),
    /// The action is not one the kernel sends.
    #[error("unknown uevent action {0:?}")]
    UnknownAction(String),
    /// DEVPATH is not an absolute, normalised sysfs path.
    #[error("invalid DEVPATH {0:?}")]
    BadDevpath(String),
    /// A field is not `KEY=VALUE`.
    #[error("uevent field {0:?} has no '='")]
    NoEquals(String),
    /// A known key appeared twice.
    #[error("duplicate uevent key {0}")]
    Duplicate(&'static str),
    /// A field's value is not UTF-8.
    #[error("uevent field {0} is not UTF-8")]
    NotUtf8(String),
    /// A numeric field is not a plain decimal number in range.
    #[error("uevent field {key} has a bad number {value:?}")]
    BadNumber {
        /// The key.
        key: &'static str,
        /// The value as received.
        value: String,
    },
    /// `ACTION=` or `DEVPATH=` disagrees with the header.
    #[error("uevent {key}={value:?} disagrees with the header")]
    HeaderMismatch {
        /// The key.
        key: &'static str,
        /// The value of the field.
        value: String,
    },
    /// Only one of MAJOR and MINOR is present.
    #[error("uevent has only one of MAJOR and MINOR")]
    HalfDevice,
}

/// Errors of the daemon, the block-device helpers and the applet.
#[derive(Debug, thiserror::Error)]
pub enum UeventdError {
    /// A filesystem or device operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// The operation (`mknod`, `read`, …).
        op: &'static str,
        /// The path it was applied to.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Two block devices carry the same partition name (DESIGN §6).
    #[error("partition name {partname:?} is ambiguous: carried by {}", devices.join(", "))]
    Ambiguous {
        /// The partition name asked for.
        partname: String,
        /// The block devices that carry it.
        devices: Vec<String>,
    },
    /// A sysfs `uevent` file is malformed.
    #[error("{path}:{line}: {message}")]
    BadSysfsUevent {
        /// The file.
        path: PathBuf,
        /// 1-based line (0 for the file as a whole).
        line: usize,
        /// What was wrong.
        message: String,
    },
    /// A name from a uevent or from sysfs cannot be used as a path.
    #[error("unsafe {what} {name:?}")]
    UnsafeName {
        /// What the name is (`DEVNAME`, `block device name`, …).
        what: &'static str,
        /// The name.
        name: String,
    },
    /// A symlink already exists and points somewhere else; it was left alone.
    #[error("{link} already links to {existing}, not {wanted}")]
    LinkConflict {
        /// The link.
        link: PathBuf,
        /// What it points to.
        existing: PathBuf,
        /// What we wanted it to point to.
        wanted: PathBuf,
    },
    /// A uevent message was malformed.
    #[error("bad uevent: {0}")]
    Uevent(#[from] UeventError),
    /// The uevent socket failed.
    #[error("uevent socket: {op}: {source}")]
    Socket {
        /// The failing call.
        op: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Setting a property failed.
    #[error("setting property {name}={value}: {message}")]
    Property {
        /// Property name.
        name: String,
        /// Value.
        value: String,
        /// Reason given by the property service.
        message: String,
    },
}

impl UeventdError {
    /// Builds an [`UeventdError::Io`].
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        UeventdError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
