//! The harness's error type.

use std::io;

/// What went wrong preparing or running a guest.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// An I/O operation on a named path failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// An external command failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// The tail of its stderr.
        stderr: String,
    },
    /// Something the harness needs is not available.
    #[error("{0}")]
    Missing(String),
    /// Building the initramfs failed.
    #[error("initramfs: {0}")]
    Initramfs(#[from] initramfs::ArchiveError),
    /// The guest did not do what was expected in time.
    #[error("timed out after {secs} s waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        secs: u64,
    },
}

/// Wraps an `io::Error` with a description.
pub fn io(what: impl Into<String>) -> impl FnOnce(io::Error) -> HarnessError {
    let what = what.into();
    move |source| HarnessError::Io { what, source }
}

/// Runs a command to completion; a non-zero status is an error carrying its stderr.
pub fn run(cmd: &mut std::process::Command) -> Result<std::process::Output, HarnessError> {
    let line = format!("{cmd:?}");
    let out = cmd.output().map_err(io(format!("running {line}")))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: String = stderr
            .lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n");
        return Err(HarnessError::Command {
            command: line,
            status: out.status.to_string(),
            stderr: tail,
        });
    }
    Ok(out)
}
