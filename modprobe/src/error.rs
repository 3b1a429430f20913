//! The crate's error type: everything that can go wrong while reading a modules
//! directory or building a load plan. Loading failures are not errors of this type;
//! they are collected per module in a [`crate::LoadReport`].

use std::path::PathBuf;

/// Why reading module metadata or planning a load failed.
#[derive(Debug, thiserror::Error)]
pub enum ModprobeError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The directory has no `modules.dep`, the one file that must exist.
    #[error("{dir}: no modules.dep (not a module directory, or depmod was not run)")]
    MissingModulesDep {
        /// The module directory.
        dir: PathBuf,
    },
    /// A metadata file is larger than we are willing to read into memory.
    #[error("{path}: file is {size} bytes, larger than the {limit}-byte limit")]
    FileTooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A malformed line in one of the `modules.*` files.
    #[error("{path}:{line}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with the line.
        message: String,
    },
    /// No module directory was given to [`crate::ModuleDb::load_dirs`].
    #[error("no module directory given")]
    NoDirectories,
    /// Hard dependencies form a cycle. The list starts and ends with the same module.
    #[error("dependency cycle: {}", .cycle.join(" -> "))]
    Cycle {
        /// The modules on the cycle, first repeated at the end.
        cycle: Vec<String>,
    },
}

impl ModprobeError {
    /// Builds a [`ModprobeError::Parse`].
    pub(crate) fn parse(path: &std::path::Path, line: usize, message: impl Into<String>) -> Self {
        ModprobeError::Parse {
            path: path.to_path_buf(),
            line,
            message: message.into(),
        }
    }
}
