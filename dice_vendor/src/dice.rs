//! The DICE main flow of the Android profile (open-dice `src/dice.c` with the CBOR
//! certificate of `src/cbor_cert_op.c`): CDI, key and ID derivation.

use zeroize::Zeroizing;

use crate::cert;
use crate::crypto::{self, SigningKey};
use crate::error::DiceError;

/// Size of a CDI.
pub const CDI_SIZE: usize = 32;
/// Size of a hash input (SHA-512).
pub const HASH_SIZE: usize = 64;
/// Size of the hidden input.
pub const HIDDEN_SIZE: usize = 64;
/// Size of an inline configuration value.
pub const INLINE_CONFIG_SIZE: usize = 64;
/// Size of a certificate ID.
pub const ID_SIZE: usize = 20;

/// open-dice `kAsymSalt`: the salt of the private-key-seed KDF.
const ASYM_SALT: [u8; 64] = [
    0x63, 0xb6, 0xa0, 0x4d, 0x2c, 0x07, 0x7f, 0xc1, 0x0f, 0x63, 0x9f, 0x21, 0xda, 0x79, 0x38, 0x44,
    0x35, 0x6c, 0xc2, 0xb0, 0xb4, 0x41, 0xb3, 0xa7, 0x71, 0x24, 0x03, 0x5c, 0x03, 0xf8, 0xe1, 0xbe,
    0x60, 0x35, 0xd3, 0x1f, 0x28, 0x28, 0x21, 0xa7, 0x45, 0x0a, 0x02, 0x22, 0x2a, 0xb1, 0xb3, 0xcf,
    0xf1, 0x67, 0x9b, 0x05, 0xab, 0x1c, 0xa5, 0xd1, 0xaf, 0xfb, 0x78, 0x9c, 0xcd, 0x2b, 0x0b, 0x3b,
];

/// open-dice `kIdSalt`: the salt of the certificate-ID KDF.
const ID_SALT: [u8; 64] = [
    0xdb, 0xdb, 0xae, 0xbc, 0x80, 0x20, 0xda, 0x9f, 0xf0, 0xdd, 0x5a, 0x24, 0xc8, 0x3a, 0xa5, 0xa5,
    0x42, 0x86, 0xdf, 0xc2, 0x63, 0x03, 0x1e, 0x32, 0x9b, 0x4d, 0xa1, 0x48, 0x43, 0x06, 0x59, 0xfe,
    0x62, 0xcd, 0xb5, 0xb7, 0xe1, 0xe0, 0x0f, 0xc6, 0x80, 0x30, 0x67, 0x11, 0xeb, 0x44, 0x4a, 0xf7,
    0x72, 0x09, 0x35, 0x94, 0x96, 0xfc, 0xff, 0x1d, 0xb9, 0x52, 0x0b, 0xa5, 0x1c, 0x7b, 0x29, 0xea,
];

/// A CDI, zeroized on drop.
pub type Cdi = Zeroizing<[u8; CDI_SIZE]>;

/// The DICE mode input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Not initialized (0).
    NotInitialized,
    /// Normal (1).
    Normal,
    /// Debug (2).
    Debug,
    /// Maintenance (3).
    Maintenance,
}

impl Mode {
    /// The mode byte.
    pub fn as_u8(self) -> u8 {
        match self {
            Mode::NotInitialized => 0,
            Mode::Normal => 1,
            Mode::Debug => 2,
            Mode::Maintenance => 3,
        }
    }

    /// The mode for a mode byte, if it is one of the four defined values.
    pub fn from_u8(value: u8) -> Option<Mode> {
        match value {
            0 => Some(Mode::NotInitialized),
            1 => Some(Mode::Normal),
            2 => Some(Mode::Debug),
            3 => Some(Mode::Maintenance),
            _ => None,
        }
    }

    /// The mode named `name` ([`Mode::name`]).
    pub fn from_name(name: &str) -> Option<Mode> {
        [
            Mode::NotInitialized,
            Mode::Normal,
            Mode::Debug,
            Mode::Maintenance,
        ]
        .into_iter()
        .find(|m| m.name() == name)
    }

    /// Lower-case name (`normal`, `debug`, …).
    pub fn name(self) -> &'static str {
        match self {
            Mode::NotInitialized => "not-initialized",
            Mode::Normal => "normal",
            Mode::Debug => "debug",
            Mode::Maintenance => "maintenance",
        }
    }
}

/// The configuration input: a descriptor (hashed with SHA-512) or a 64-byte inline value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Config {
    /// A configuration descriptor (normally the CBOR map of
    /// [`ConfigValues`](crate::ConfigValues)).
    Descriptor(Vec<u8>),
    /// An inline 64-byte configuration value.
    Inline([u8; INLINE_CONFIG_SIZE]),
}

/// All inputs of one DICE derivation step.
///
/// An empty descriptor (`Some(vec![])`) is the same as `None`, as in open-dice, whose
/// descriptors are pointer + size.
#[derive(Clone)]
pub struct InputValues {
    /// Hash of the code.
    pub code_hash: [u8; HASH_SIZE],
    /// The configuration input.
    pub config: Config,
    /// Hash of the authority (signing key).
    pub authority_hash: [u8; HASH_SIZE],
    /// Optional code descriptor, copied into the certificate.
    pub code_descriptor: Option<Vec<u8>>,
    /// Optional authority descriptor, copied into the certificate.
    pub authority_descriptor: Option<Vec<u8>>,
    /// The mode.
    pub mode: Mode,
    /// The hidden input (mixed into both CDIs, never disclosed).
    pub hidden: [u8; HIDDEN_SIZE],
}

impl std::fmt::Debug for InputValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputValues")
            .field("code_hash", &avb::to_hex(&self.code_hash))
            .field("config", &self.config)
            .field("authority_hash", &avb::to_hex(&self.authority_hash))
            .field("code_descriptor", &self.code_descriptor)
            .field("authority_descriptor", &self.authority_descriptor)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl InputValues {
    /// The 64-byte configuration input: SHA-512 of the descriptor, or the inline value.
    pub fn config_input(&self) -> [u8; INLINE_CONFIG_SIZE] {
        match &self.config {
            Config::Descriptor(d) => crypto::sha512(d),
            Config::Inline(v) => *v,
        }
    }
}

/// The two CDIs of one layer.
pub struct CdiValues {
    /// CDI_Attest.
    pub cdi_attest: Cdi,
    /// CDI_Seal.
    pub cdi_seal: Cdi,
}

/// The private key seed derived from a CDI_Attest (`KDF(32, CDI_Attest, kAsymSalt, "Key Pair")`).
pub fn private_key_seed(cdi_attest: &[u8; CDI_SIZE]) -> Result<Zeroizing<[u8; 32]>, DiceError> {
    let mut seed = Zeroizing::new([0u8; 32]);
    crypto::hkdf_sha512(&mut seed[..], cdi_attest, &ASYM_SALT, b"Key Pair")?;
    Ok(seed)
}

/// The attestation key pair of a layer whose CDI_Attest is `cdi_attest`.
pub fn attestation_key(cdi_attest: &[u8; CDI_SIZE]) -> Result<SigningKey, DiceError> {
    SigningKey::from_seed(&private_key_seed(cdi_attest)?)
}

/// The certificate ID of a public key (`KDF(20, key, kIdSalt, "ID")`, top bit cleared).
pub fn certificate_id(public_key: &[u8]) -> Result<[u8; ID_SIZE], DiceError> {
    let mut id = [0u8; ID_SIZE];
    crypto::hkdf_sha512(&mut id, public_key, &ID_SALT, b"ID")?;
    id[0] &= 0x7f;
    Ok(id)
}

/// The certificate ID as written in `iss`/`sub`: 40 lowercase hex characters.
pub fn certificate_id_hex(public_key: &[u8]) -> Result<String, DiceError> {
    Ok(avb::to_hex(&certificate_id(public_key)?))
}

/// The next layer's CDIs (open-dice `DiceMainFlow`, without the certificate).
pub fn next_cdis(
    cdi_attest: &[u8; CDI_SIZE],
    cdi_seal: &[u8; CDI_SIZE],
    input: &InputValues,
) -> Result<CdiValues, DiceError> {
    // code ‖ config ‖ authority ‖ mode ‖ hidden; the sealing hash covers the last three.
    const AUTHORITY_OFFSET: usize = 2 * HASH_SIZE;
    let mut buffer = Zeroizing::new([0u8; 3 * HASH_SIZE + 1 + HIDDEN_SIZE]);
    buffer[..HASH_SIZE].copy_from_slice(&input.code_hash);
    buffer[HASH_SIZE..AUTHORITY_OFFSET].copy_from_slice(&input.config_input());
    buffer[AUTHORITY_OFFSET..AUTHORITY_OFFSET + HASH_SIZE].copy_from_slice(&input.authority_hash);
    buffer[AUTHORITY_OFFSET + HASH_SIZE] = input.mode.as_u8();
    buffer[AUTHORITY_OFFSET + HASH_SIZE + 1..].copy_from_slice(&input.hidden);

    let attest_hash = Zeroizing::new(crypto::sha512(&buffer[..]));
    let seal_hash = Zeroizing::new(crypto::sha512(&buffer[AUTHORITY_OFFSET..]));

    let mut next = CdiValues {
        cdi_attest: Zeroizing::new([0u8; CDI_SIZE]),
        cdi_seal: Zeroizing::new([0u8; CDI_SIZE]),
    };
    crypto::hkdf_sha512(
        &mut next.cdi_attest[..],
        cdi_attest,
        &attest_hash[..],
        b"CDI_Attest",
    )?;
    crypto::hkdf_sha512(
        &mut next.cdi_seal[..],
        cdi_seal,
        &seal_hash[..],
        b"CDI_Seal",
    )?;
    Ok(next)
}

/// One DICE step: the next CDIs and the certificate for the next layer's attestation key,
/// signed with the current layer's key (open-dice `DiceMainFlow`).
pub fn main_flow_certificate(
    cdi_attest: &[u8; CDI_SIZE],
    cdi_seal: &[u8; CDI_SIZE],
    input: &InputValues,
) -> Result<(CdiValues, Vec<u8>), DiceError> {
    let next = next_cdis(cdi_attest, cdi_seal, input)?;
    let authority = attestation_key(cdi_attest)?;
    let subject = attestation_key(&next.cdi_attest)?;
    let certificate = cert::generate(&subject, &authority, input)?;
    Ok((next, certificate))
}
