//! The library's error type.

use thiserror::Error;

/// Everything that can fail while building images, disks and device trees.
#[derive(Debug, Error)]
pub enum Error {
    /// AVB parsing, verification or building failed.
    #[error(transparent)]
    Avb(#[from] avb::AvbError),
    /// A file operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, with the path.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// An external tool (mke2fs, debugfs) failed.
    #[error("{tool} failed ({status}): {stderr}")]
    Tool {
        /// The tool.
        tool: &'static str,
        /// Its exit status.
        status: String,
        /// Its standard error.
        stderr: String,
    },
    /// The device tree could not be parsed or written.
    #[error("device tree: {0}")]
    Dtb(String),
    /// A bad argument (partition name, size, path...).
    #[error("invalid input: {0}")]
    Invalid(String),
}

/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Wraps an I/O error with context.
pub(crate) fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let context = context.into();
    move |source| Error::Io { context, source }
}
