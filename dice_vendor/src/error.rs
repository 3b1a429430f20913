//! The crate's error type and the stable reason tokens the guest reports.

use std::io;
use std::path::PathBuf;

use crate::handover::HandoverError;

/// Everything that can go wrong while obtaining, deriving or writing DICE artifacts.
///
/// Messages never contain CDIs or private keys.
#[derive(Debug, thiserror::Error)]
pub enum DiceError {
    /// The DICE driver node is absent and strict boot forbids the sample fallback.
    #[error("DICE driver {} is absent and strict boot forbids the sample chain", path.display())]
    DriverMissing {
        /// The device path that was looked for.
        path: PathBuf,
    },
    /// The driver node exists but could not be opened, read, mapped or wiped.
    #[error("DICE driver {}: {what}: {source}", path.display())]
    Driver {
        /// The device path.
        path: PathBuf,
        /// The step that failed.
        what: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The parent handover (or the chain inside it) is malformed.
    #[error("invalid DICE handover: {0}")]
    HandoverInvalid(#[from] HandoverError),
    /// The vendor measurement lacks something the derivation needs.
    #[error("invalid vendor measurement: {0}")]
    Measurement(&'static str),
    /// A cryptographic primitive failed.
    #[error("DICE derivation failed: {what}: {detail}")]
    Derive {
        /// The operation that failed.
        what: &'static str,
        /// OpenSSL's error text.
        detail: String,
    },
    /// Writing the output file failed.
    #[error("writing {}: {what}: {source}", path.display())]
    Output {
        /// The file (or directory) being written.
        path: PathBuf,
        /// The step that failed.
        what: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// A `dice_chain.raw` file is malformed.
    #[error("invalid dice_chain.raw: {0}")]
    ChainRawInvalid(String),
}

impl DiceError {
    /// The stable upper-case token the guest prints in
    /// `FIRST_STAGE_FATAL reason=<TOKEN> <detail>`.
    ///
    /// | variant | token |
    /// | --- | --- |
    /// | `DriverMissing` | `DICE_DRIVER_MISSING` |
    /// | `Driver`, `HandoverInvalid` | `DICE_HANDOVER_INVALID` |
    /// | `Measurement`, `Derive` | `DICE_DERIVE` |
    /// | `Output`, `ChainRawInvalid` | `DICE_OUTPUT` |
    pub fn reason(&self) -> &'static str {
        match self {
            DiceError::DriverMissing { .. } => "DICE_DRIVER_MISSING",
            DiceError::Driver { .. } | DiceError::HandoverInvalid(_) => "DICE_HANDOVER_INVALID",
            DiceError::Measurement(_) | DiceError::Derive { .. } => "DICE_DERIVE",
            DiceError::Output { .. } | DiceError::ChainRawInvalid(_) => "DICE_OUTPUT",
        }
    }

    pub(crate) fn derive(what: &'static str, e: openssl::error::ErrorStack) -> DiceError {
        DiceError::Derive {
            what,
            detail: e.to_string(),
        }
    }
}
