//! The Android-profile CBOR certificate: COSE_Key, CWT claims and COSE_Sign1, written token
//! by token in open-dice's order (`src/cbor_cert_op.c`) with the writer in [`crate::cbor`].

use crate::cbor::writer::Writer;
use crate::crypto::SigningKey;
use crate::dice::{self, Config, InputValues, HASH_SIZE};
use crate::error::DiceError;

/// The profile name written into every certificate.
pub const PROFILE_NAME: &str = "android.16";

/// CWT claim labels (RFC 8392 and the Open Profile for DICE).
pub mod label {
    /// Issuer.
    pub const ISS: i64 = 1;
    /// Subject.
    pub const SUB: i64 = 2;
    /// Code hash.
    pub const CODE_HASH: i64 = -4670545;
    /// Code descriptor.
    pub const CODE_DESCRIPTOR: i64 = -4670546;
    /// Configuration hash.
    pub const CONFIG_HASH: i64 = -4670547;
    /// Configuration descriptor (or the inline configuration value).
    pub const CONFIG_DESCRIPTOR: i64 = -4670548;
    /// Authority hash.
    pub const AUTHORITY_HASH: i64 = -4670549;
    /// Authority descriptor.
    pub const AUTHORITY_DESCRIPTOR: i64 = -4670550;
    /// Mode.
    pub const MODE: i64 = -4670551;
    /// Subject public key (a serialized COSE_Key).
    pub const SUBJECT_PUBLIC_KEY: i64 = -4670552;
    /// Key usage.
    pub const KEY_USAGE: i64 = -4670553;
    /// Profile name.
    pub const PROFILE_NAME: i64 = -4670554;
}

/// RFC 5280 keyCertSign, the only key usage DICE certificates carry.
pub const KEY_USAGE_CERT_SIGN: u8 = 0x20;

/// The protected header `{1: -8}` (alg: EdDSA).
pub const PROTECTED_HEADER: [u8; 3] = [0xa1, 0x01, 0x27];

/// The COSE_Key `{1: 1 (OKP), 3: -8 (EdDSA), 4: [2 (verify)], -1: 6 (Ed25519), -2: x}`.
pub fn encode_public_key(public_key: &[u8; 32]) -> Vec<u8> {
    let mut w = Writer::new();
    w.map(5);
    w.int(1);
    w.int(1);
    w.int(3);
    w.int(-8);
    w.int(4);
    w.array(1);
    w.int(2);
    w.int(-1);
    w.int(6);
    w.int(-2);
    w.bstr(public_key);
    w.into_vec()
}

fn non_empty(d: &Option<Vec<u8>>) -> Option<&[u8]> {
    d.as_deref().filter(|d| !d.is_empty())
}

/// The CWT payload, claims in open-dice's emitted order.
fn encode_cwt(input: &InputValues, issuer: &str, subject: &str, subject_key: &[u8]) -> Vec<u8> {
    let code_descriptor = non_empty(&input.code_descriptor);
    let authority_descriptor = non_empty(&input.authority_descriptor);
    // iss, sub, code hash, config (descriptor or inline value), authority hash, mode,
    // subject key, key usage, profile name; plus the optional claims.
    let pairs = 9
        + u64::from(code_descriptor.is_some())
        + u64::from(matches!(input.config, Config::Descriptor(_)))
        + u64::from(authority_descriptor.is_some());

    let mut w = Writer::new();
    w.map(pairs);
    w.int(label::ISS);
    w.tstr(issuer);
    w.int(label::SUB);
    w.tstr(subject);
    w.int(label::CODE_HASH);
    w.bstr(&input.code_hash);
    if let Some(d) = code_descriptor {
        w.int(label::CODE_DESCRIPTOR);
        w.bstr(d);
    }
    match &input.config {
        Config::Descriptor(d) => {
            let hash: [u8; HASH_SIZE] = crate::crypto::sha512(d);
            w.int(label::CONFIG_DESCRIPTOR);
            w.bstr(d);
            w.int(label::CONFIG_HASH);
            w.bstr(&hash);
        }
        Config::Inline(v) => {
            w.int(label::CONFIG_DESCRIPTOR);
            w.bstr(v);
        }
    }
    w.int(label::AUTHORITY_HASH);
    w.bstr(&input.authority_hash);
    if let Some(d) = authority_descriptor {
        w.int(label::AUTHORITY_DESCRIPTOR);
        w.bstr(d);
    }
    w.int(label::MODE);
    w.bstr(&[input.mode.as_u8()]);
    w.int(label::SUBJECT_PUBLIC_KEY);
    w.bstr(subject_key);
    w.int(label::KEY_USAGE);
    w.bstr(&[KEY_USAGE_CERT_SIGN]);
    w.int(label::PROFILE_NAME);
    w.tstr(PROFILE_NAME);
    w.into_vec()
}

/// The COSE Sig_structure `["Signature1", protected, h'', payload]`.
pub fn signature_input(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut w = Writer::new();
    w.array(4);
    w.tstr("Signature1");
    w.bstr(protected);
    w.bstr(&[]);
    w.bstr(payload);
    w.into_vec()
}

/// The certificate for `subject`'s public key, issued and signed by `authority`: an
/// untagged COSE_Sign1 `[h'a10127', {}, bstr(CWT), signature]`.
pub fn generate(
    subject: &SigningKey,
    authority: &SigningKey,
    input: &InputValues,
) -> Result<Vec<u8>, DiceError> {
    let subject_id = dice::certificate_id_hex(subject.public_key())?;
    let authority_id = dice::certificate_id_hex(authority.public_key())?;
    let subject_key = encode_public_key(subject.public_key());
    let payload = encode_cwt(input, &authority_id, &subject_id, &subject_key);
    let signature = authority.sign(&signature_input(&PROTECTED_HEADER, &payload))?;

    let mut w = Writer::new();
    w.array(4);
    w.bstr(&PROTECTED_HEADER);
    w.map(0);
    w.bstr(&payload);
    w.bstr(&signature);
    Ok(w.into_vec())
}
