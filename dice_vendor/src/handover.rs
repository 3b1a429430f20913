//! The Android DICE handover `{1: CDI_Attest, 2: CDI_Seal, ? 3: chain}` and the Android
//! main flow that extends the chain (open-dice `src/android.c`).
//!
//! Parsing follows `DiceAndroidHandoverParse` exactly: a map of at least two pairs whose
//! first two are `1: bstr .size 32` and `2: bstr .size 32`; the chain is taken only when the
//! map claims a third pair whose key is the integer 3 — any other third key means "no
//! chain"; bytes after that (further pairs, trailing data) are ignored; non-minimal heads
//! are accepted. The chain itself is only checked for well-formedness here; the main flow
//! then requires an array of at least two entries, as `DiceAndroidMainFlow` does.

use zeroize::Zeroizing;

use crate::cbor::reader::{ReadError, Reader};
use crate::cbor::writer::{encode_exact, Writer};
use crate::cert;
use crate::dice::{self, Cdi, InputValues, CDI_SIZE};
use crate::error::DiceError;

const CDI_ATTEST_LABEL: i64 = 1;
const CDI_SEAL_LABEL: i64 = 2;
const CHAIN_LABEL: i64 = 3;

/// Most entries a DICE chain may have: the root public key and at most 64 certificates.
/// Real chains have fewer than ten; the cap bounds the work and memory a hostile handover
/// can cost (checked on the array head, before any entry is collected).
pub const MAX_CHAIN_ENTRIES: usize = 65;

/// What is wrong with a handover.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandoverError {
    /// A CBOR item could not be read where `field` was expected.
    #[error("{field}: {source}")]
    Cbor {
        /// What was being read.
        field: &'static str,
        /// The reader's error.
        #[source]
        source: ReadError,
    },
    /// The map has fewer than two pairs.
    #[error("handover map has {0} pair(s), at least 2 are required")]
    TooFewPairs(u64),
    /// A key is not the one required at its position.
    #[error("key at byte {offset} is {found}, expected {expected} ({field})")]
    UnexpectedLabel {
        /// The field whose key was expected.
        field: &'static str,
        /// The required key.
        expected: i64,
        /// The key found.
        found: i64,
        /// Offset of the key.
        offset: usize,
    },
    /// A CDI is not 32 bytes.
    #[error("{field} is {len} bytes, expected 32")]
    CdiSize {
        /// Which CDI.
        field: &'static str,
        /// Its length.
        len: usize,
    },
    /// The chain is not an array.
    #[error("DICE chain: {0}")]
    ChainNotArray(ReadError),
    /// The chain has fewer than two entries (root key and at least one certificate).
    #[error("DICE chain has {0} entr(y/ies), at least 2 (root key + certificate) are required")]
    ChainTooShort(u64),
    /// The chain has more entries than [`MAX_CHAIN_ENTRIES`].
    #[error(
        "DICE chain has {count} entries, at most {limit} (root key + 64 certificates) are accepted"
    )]
    ChainTooLong {
        /// The number of entries the array head claims.
        count: u64,
        /// [`MAX_CHAIN_ENTRIES`].
        limit: usize,
    },
    /// The driver's region size is zero or larger than allowed.
    #[error("DICE region size {size} is not in 1..={limit}")]
    RegionSize {
        /// The size the driver reported.
        size: u64,
        /// The largest size accepted.
        limit: u64,
    },
    /// A parent handover from the driver carries no DICE chain. AVF's driver refuses it
    /// ("bcc is none") instead of starting a new chain from its CDI_Attest.
    #[error("the parent handover has no DICE chain (AVF: \"bcc is none\"); a chain is required")]
    NoChain,
    /// The chain array claims more entries than it contains.
    #[error("DICE chain entry {index}: {source}")]
    ChainEntry {
        /// Index of the entry.
        index: u64,
        /// The reader's error.
        #[source]
        source: ReadError,
    },
}

fn cbor(field: &'static str) -> impl FnOnce(ReadError) -> HandoverError {
    move |source| HandoverError::Cbor { field, source }
}

/// A parsed handover. It owns its data: the CDIs live in zeroize-on-drop buffers.
pub struct Handover {
    cdi_attest: Cdi,
    cdi_seal: Cdi,
    chain: Option<Vec<u8>>,
}

impl std::fmt::Debug for Handover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handover")
            .field("cdi_attest", &"<secret>")
            .field("cdi_seal", &"<secret>")
            .field("chain_len", &self.chain.as_ref().map(Vec::len))
            .finish()
    }
}

impl Handover {
    /// A handover from its parts (`chain` is the encoded chain array, if any).
    pub fn new(
        cdi_attest: &[u8; CDI_SIZE],
        cdi_seal: &[u8; CDI_SIZE],
        chain: Option<Vec<u8>>,
    ) -> Handover {
        Handover {
            cdi_attest: Zeroizing::new(*cdi_attest),
            cdi_seal: Zeroizing::new(*cdi_seal),
            chain,
        }
    }

    /// Parses a handover with open-dice's rules (see the module documentation).
    pub fn parse(bytes: &[u8]) -> Result<Handover, DiceError> {
        Ok(Self::parse_inner(bytes)?)
    }

    fn parse_inner(bytes: &[u8]) -> Result<Handover, HandoverError> {
        let mut r = Reader::new(bytes);
        let pairs = r.read_map().map_err(cbor("handover map"))?;
        if pairs < 2 {
            return Err(HandoverError::TooFewPairs(pairs));
        }
        let cdi_attest = read_cdi(&mut r, CDI_ATTEST_LABEL, "CDI_Attest")?;
        let cdi_seal = read_cdi(&mut r, CDI_SEAL_LABEL, "CDI_Seal")?;
        let mut chain = None;
        if pairs >= 3 {
            // A third pair whose key is not an integer, or not 3, means "no chain".
            if let Ok(CHAIN_LABEL) = r.read_int() {
                let item = r.skip().map_err(cbor("DICE chain"))?;
                chain = Some(item.to_vec());
            }
        }
        Ok(Handover {
            cdi_attest,
            cdi_seal,
            chain,
        })
    }

    pub(crate) fn into_parts(self) -> (Cdi, Cdi, Option<Vec<u8>>) {
        (self.cdi_attest, self.cdi_seal, self.chain)
    }

    /// CDI_Attest.
    pub fn cdi_attest(&self) -> &[u8; CDI_SIZE] {
        &self.cdi_attest
    }

    /// CDI_Seal.
    pub fn cdi_seal(&self) -> &[u8; CDI_SIZE] {
        &self.cdi_seal
    }

    /// The encoded DICE chain, if the handover carries one.
    pub fn chain(&self) -> Option<&[u8]> {
        self.chain.as_deref()
    }

    /// The handover encoding `{1: CDI_Attest, 2: CDI_Seal, ? 3: chain}` (the chain copied raw).
    /// The buffer is allocated once at its final size and zeroized on drop.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(encode_exact(|w: &mut Writer| {
            w.map(if self.chain.is_some() { 3 } else { 2 });
            w.int(CDI_ATTEST_LABEL);
            w.bstr(&self.cdi_attest[..]);
            w.int(CDI_SEAL_LABEL);
            w.bstr(&self.cdi_seal[..]);
            if let Some(chain) = &self.chain {
                w.int(CHAIN_LABEL);
                w.raw(chain);
            }
        }))
    }
}

fn read_cdi(r: &mut Reader<'_>, label: i64, field: &'static str) -> Result<Cdi, HandoverError> {
    let offset = r.offset();
    let found = r.read_int().map_err(cbor(field))?;
    if found != label {
        return Err(HandoverError::UnexpectedLabel {
            field,
            expected: label,
            found,
            offset,
        });
    }
    let value = r.read_bstr().map_err(cbor(field))?;
    let array = <&[u8; CDI_SIZE]>::try_from(value).map_err(|_| HandoverError::CdiSize {
        field,
        len: value.len(),
    })?;
    Ok(Zeroizing::new(*array))
}

/// Splits an encoded chain into its entries' bytes (open-dice `DiceAndroidMainFlow` rules:
/// an array of at least two well-formed items), refusing more than [`MAX_CHAIN_ENTRIES`]
/// from the array head on, so nothing grows with a hostile count.
pub(crate) fn chain_entries(chain: &[u8]) -> Result<Vec<&[u8]>, HandoverError> {
    let mut r = Reader::new(chain);
    let count = r.read_array().map_err(HandoverError::ChainNotArray)?;
    if count < 2 || count == u64::MAX {
        return Err(HandoverError::ChainTooShort(count));
    }
    let too_long = HandoverError::ChainTooLong {
        count,
        limit: MAX_CHAIN_ENTRIES,
    };
    let count = usize::try_from(count)
        .ok()
        .filter(|&n| n <= MAX_CHAIN_ENTRIES)
        .ok_or(too_long)?;
    let mut entries = Vec::with_capacity(count);
    for index in 0..count {
        entries.push(r.skip().map_err(|source| HandoverError::ChainEntry {
            index: index as u64,
            source,
        })?);
    }
    Ok(entries)
}

/// The Android main flow (`DiceAndroidHandoverMainFlow`): derives the next CDIs and a
/// certificate, and returns the next handover whose chain is the parent's chain extended by
/// that certificate (entries copied raw, array head re-encoded minimally), or — when the
/// parent has no chain — `[root key from the parent CDI_Attest, certificate]`.
pub fn main_flow(parent: &Handover, input: &InputValues) -> Result<Handover, DiceError> {
    // The leading entries of the new chain: the parent's, or a fresh root key.
    let (existing, root_key) = match parent.chain() {
        Some(chain) => (chain_entries(chain)?, Vec::new()),
        None => {
            let key = dice::attestation_key(parent.cdi_attest())?;
            (Vec::new(), cert::encode_public_key(key.public_key()))
        }
    };
    let (next, certificate) =
        dice::main_flow_certificate(parent.cdi_attest(), parent.cdi_seal(), input)?;

    let count = existing.len() + usize::from(!root_key.is_empty()) + 1;
    let mut head = Writer::new();
    head.array(count as u64);
    let head = head.into_vec();
    let total = head.len()
        + root_key.len()
        + existing.iter().map(|e| e.len()).sum::<usize>()
        + certificate.len();
    let mut chain = Vec::with_capacity(total);
    chain.extend_from_slice(&head);
    chain.extend_from_slice(&root_key);
    for entry in existing {
        chain.extend_from_slice(entry);
    }
    chain.extend_from_slice(&certificate);
    Ok(Handover {
        cdi_attest: next.cdi_attest,
        cdi_seal: next.cdi_seal,
        chain: Some(chain),
    })
}
