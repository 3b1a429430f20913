//! Reader and verifier of DICE chains for payload managers and host tests.
//!
//! Accepts a bare chain `[COSE_Key, COSE_Sign1 …]`, a handover `{1, 2, 3: chain}` or a
//! `dice_chain.raw`, detected from the top-level item. [`inspect_chain_bytes`] decodes every
//! node and checks the encoding; [`verify_chain_bytes`] also checks, for every certificate,
//! the Ed25519 signature against the previous node's key, `iss` against the previous node
//! (the root key's ID for the first certificate), `sub` = ID(subject key), config hash =
//! SHA-512(config descriptor) when both are present, key usage = keyCertSign, and — when the
//! input carries CDIs — that the last subject key is the one derived from CDI_Attest.
//!
//! Encoding: every item, including those nested in byte strings (protected header, CWT,
//! subject COSE_Key, config descriptor), must pass [`crate::cbor::canonical::check`] before
//! `coset` parses it, so the COSE libraries only ever see well-formed, bounded input.
//!
//! Nodes are numbered by their index in the chain array: 0 is the root public key, 1 the
//! first certificate, and so on.

use coset::cbor::value::Value;
use coset::cwt::{ClaimName, ClaimsSet};
use coset::{iana, Algorithm, CborSerializable, CoseKey, CoseSign1, KeyType, Label};
use zeroize::Zeroizing;

use crate::cbor::canonical;
use crate::cbor::reader::Reader;
use crate::cbor::Major;
use crate::cert::{label, KEY_USAGE_CERT_SIGN};
use crate::config_descriptor::label as config_label;
use crate::crypto::{ed25519_verify, sha512, PUBLIC_KEY_SIZE};
use crate::dice::{attestation_key, certificate_id_hex, Cdi, Mode};
use crate::dice_chain_raw::DiceChainRaw;
use crate::handover::{chain_entries, Handover};

/// What kind of file was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// A bare DICE chain.
    Chain,
    /// An Android DICE handover.
    Handover,
    /// A `dice_chain.raw` file.
    DiceChainRaw,
}

/// A component version: an unsigned integer, or text as some producers write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComponentVersion {
    /// An integer version.
    Int(u64),
    /// A text version.
    Text(String),
}

impl std::fmt::Display for ComponentVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ComponentVersion::Int(v) => write!(f, "{v}"),
            ComponentVersion::Text(t) => write!(f, "{t:?}"),
        }
    }
}

/// One certificate of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSummary {
    /// Component name (config descriptor −70002).
    pub component_name: Option<String>,
    /// Component version (−70003).
    pub component_version: Option<ComponentVersion>,
    /// Security version (−70005).
    pub security_version: Option<u64>,
    /// Resettable flag (−70004).
    pub resettable: bool,
    /// RKP VM marker (−70006).
    pub rkp_vm_marker: bool,
    /// Mode.
    pub mode: Mode,
    /// Code hash (empty when absent).
    pub code_hash: Vec<u8>,
    /// Authority hash (empty when absent).
    pub authority_hash: Vec<u8>,
    /// Config descriptor (or inline config value; empty when absent).
    pub config_descriptor: Vec<u8>,
    /// Profile name.
    pub profile_name: Option<String>,
    /// Issuer (`iss`).
    pub issuer: String,
    /// Subject (`sub`).
    pub subject: String,
    /// The certified Ed25519 public key.
    pub subject_public_key: [u8; PUBLIC_KEY_SIZE],
}

fn prefix(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        "-".to_owned()
    } else {
        let shown = bytes.get(..8).unwrap_or(bytes);
        format!("{}…", avb::to_hex(shown))
    }
}

impl NodeSummary {
    /// One line for `dice_vendor show`.
    pub fn show_line(&self, index: usize) -> String {
        let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".to_owned());
        format!(
            "node {index}: name={} version={} security_version={} mode={} code={} authority={} profile={}",
            or_dash(self.component_name.as_ref().map(|n| format!("{n:?}"))),
            or_dash(self.component_version.as_ref().map(ToString::to_string)),
            or_dash(self.security_version.map(|v| v.to_string())),
            self.mode.name(),
            prefix(&self.code_hash),
            prefix(&self.authority_hash),
            or_dash(self.profile_name.as_ref().map(|p| format!("{p:?}"))),
        )
    }
}

/// The decoded (and, from [`verify_chain_bytes`], verified) chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainSummary {
    /// What the input was.
    pub kind: InputKind,
    /// The root public key (chain entry 0).
    pub root_public_key: [u8; PUBLIC_KEY_SIZE],
    /// The certificates, in chain order (`nodes[0]` is chain entry 1).
    pub nodes: Vec<NodeSummary>,
    /// Whether the input carried CDIs (handover or dice_chain.raw).
    pub has_cdis: bool,
}

/// The check that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Structure: wrong types, missing fields, not a chain/handover/dice_chain.raw.
    Format,
    /// Canonical (deterministic, minimal) CBOR encoding.
    Encoding,
    /// Signature by the previous node's key.
    Signature,
    /// `iss` against the previous node.
    Issuer,
    /// `sub` against the ID of the subject key.
    Subject,
    /// Config hash against the config descriptor.
    ConfigHash,
    /// Key usage is keyCertSign.
    KeyUsage,
    /// The leaf key is the one derived from CDI_Attest.
    LeafKey,
}

impl Check {
    /// A short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Check::Format => "format",
            Check::Encoding => "canonical encoding",
            Check::Signature => "signature",
            Check::Issuer => "issuer",
            Check::Subject => "subject ID",
            Check::ConfigHash => "config hash",
            Check::KeyUsage => "key usage",
            Check::LeafKey => "leaf key",
        }
    }
}

/// A failed check, naming the node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {} check failed: {detail}", where_(*.node, .component.as_deref()), check.name())]
pub struct VerifyError {
    /// Chain index of the node (0 = root key); `None` for the file or the chain as a whole.
    pub node: Option<usize>,
    /// The node's component name, when known.
    pub component: Option<String>,
    /// The check that failed.
    pub check: Check,
    /// What exactly is wrong.
    pub detail: String,
}

fn where_(node: Option<usize>, component: Option<&str>) -> String {
    match (node, component) {
        (None, _) => "file".to_owned(),
        (Some(0), _) => "node 0 (root key)".to_owned(),
        (Some(i), Some(name)) => format!("node {i} ({name:?})"),
        (Some(i), None) => format!("node {i}"),
    }
}

fn file_error(check: Check, detail: impl Into<String>) -> VerifyError {
    VerifyError {
        node: None,
        component: None,
        check,
        detail: detail.into(),
    }
}

fn node_error(node: usize, check: Check, detail: impl Into<String>) -> VerifyError {
    VerifyError {
        node: Some(node),
        component: None,
        check,
        detail: detail.into(),
    }
}

/// Everything needed to check one certificate.
struct DecodedCert {
    summary: NodeSummary,
    tbs: Vec<u8>,
    signature: Vec<u8>,
    config_hash: Option<Vec<u8>>,
    key_usage: Option<Vec<u8>>,
}

struct Decoded {
    kind: InputKind,
    root: [u8; PUBLIC_KEY_SIZE],
    certs: Vec<DecodedCert>,
    cdi_attest: Option<Cdi>,
}

/// Decodes `bytes` and checks its encoding, without cryptographic or linkage checks.
pub fn inspect_chain_bytes(bytes: &[u8]) -> Result<ChainSummary, VerifyError> {
    Ok(summary(decode(bytes)?))
}

/// Decodes and fully verifies `bytes` (see the module documentation).
pub fn verify_chain_bytes(bytes: &[u8]) -> Result<ChainSummary, VerifyError> {
    let decoded = decode(bytes)?;
    check_chain(&decoded)?;
    Ok(summary(decoded))
}

fn summary(d: Decoded) -> ChainSummary {
    ChainSummary {
        kind: d.kind,
        root_public_key: d.root,
        has_cdis: d.cdi_attest.is_some(),
        nodes: d.certs.into_iter().map(|c| c.summary).collect(),
    }
}

fn check_chain(d: &Decoded) -> Result<(), VerifyError> {
    let mut prev_key = d.root;
    let mut prev_subject: Option<&String> = None;
    for (i, cert) in d.certs.iter().enumerate() {
        let node = i + 1;
        let fail = |check, detail: String| VerifyError {
            node: Some(node),
            component: cert.summary.component_name.clone(),
            check,
            detail,
        };
        if !ed25519_verify(&prev_key, &cert.tbs, &cert.signature) {
            let signer = if node == 1 {
                "the root key".to_owned()
            } else {
                format!("node {}'s subject key", node - 1)
            };
            return Err(fail(
                Check::Signature,
                format!("Ed25519 signature does not verify with {signer}"),
            ));
        }
        let expected_issuer = match &prev_subject {
            Some(subject) => Ok::<String, VerifyError>((*subject).clone()),
            None => certificate_id_hex(&prev_key).map_err(|e| {
                fail(
                    Check::Issuer,
                    format!("cannot derive the root key's ID: {e}"),
                )
            }),
        }?;
        if cert.summary.issuer != expected_issuer {
            let of = if node == 1 {
                "the root key's ID".to_owned()
            } else {
                format!("node {}'s sub", node - 1)
            };
            return Err(fail(
                Check::Issuer,
                format!(
                    "iss {:?} is not {of} {expected_issuer:?}",
                    cert.summary.issuer
                ),
            ));
        }
        let subject_id = certificate_id_hex(&cert.summary.subject_public_key).map_err(|e| {
            fail(
                Check::Subject,
                format!("cannot derive the subject key's ID: {e}"),
            )
        })?;
        if cert.summary.subject != subject_id {
            return Err(fail(
                Check::Subject,
                format!(
                    "sub {:?} is not the subject key's ID {subject_id:?}",
                    cert.summary.subject
                ),
            ));
        }
        if let Some(hash) = &cert.config_hash {
            if !cert.summary.config_descriptor.is_empty()
                && sha512(&cert.summary.config_descriptor)[..] != hash[..]
            {
                return Err(fail(
                    Check::ConfigHash,
                    "config hash is not SHA-512 of the config descriptor".to_owned(),
                ));
            }
        }
        match cert.key_usage.as_deref() {
            Some([KEY_USAGE_CERT_SIGN]) => {}
            Some(other) => {
                return Err(fail(
                    Check::KeyUsage,
                    format!(
                        "key usage is h'{}', expected h'20' (keyCertSign)",
                        avb::to_hex(other)
                    ),
                ))
            }
            None => {
                return Err(fail(
                    Check::KeyUsage,
                    "key usage claim is missing".to_owned(),
                ))
            }
        }
        prev_key = cert.summary.subject_public_key;
        prev_subject = Some(&cert.summary.subject);
    }
    if let Some(cdi) = &d.cdi_attest {
        let node = d.certs.len();
        let component = d
            .certs
            .last()
            .and_then(|c| c.summary.component_name.clone());
        let derived = attestation_key(cdi).map_err(|e| VerifyError {
            node: Some(node),
            component: component.clone(),
            check: Check::LeafKey,
            detail: format!("cannot derive the key from CDI_Attest: {e}"),
        })?;
        if derived.public_key() != &prev_key {
            return Err(VerifyError {
                node: Some(node),
                component,
                check: Check::LeafKey,
                detail: "the last subject key is not the key derived from CDI_Attest".to_owned(),
            });
        }
    }
    Ok(())
}

/// Where the chain sits inside a bare chain or handover file (for attributing encoding errors).
fn chain_range(bytes: &[u8], kind: InputKind) -> Option<std::ops::Range<usize>> {
    let mut r = Reader::new(bytes);
    if kind == InputKind::Handover {
        r.read_map().ok()?;
        for _ in 0..2 {
            r.read_int().ok()?;
            r.read_bstr().ok()?;
        }
        if r.read_int().ok()? != 3 {
            return None;
        }
    } else if kind != InputKind::Chain {
        return None;
    }
    let start = r.offset();
    r.skip().ok()?;
    Some(start..r.offset())
}

fn detect(bytes: &[u8]) -> Result<InputKind, VerifyError> {
    let r = Reader::new(bytes);
    let head = r
        .peek_head()
        .map_err(|e| file_error(Check::Format, format!("not CBOR: {e}")))?;
    match head.major {
        Major::Array => Ok(InputKind::Chain),
        Major::Map => {
            let first_key = crate::cbor::reader::head_at(bytes, head.size).map(|h| h.major);
            match first_key {
                Ok(Major::Uint) | Ok(Major::Nint) => Ok(InputKind::Handover),
                Ok(Major::Tstr) => Ok(InputKind::DiceChainRaw),
                _ => Err(file_error(
                    Check::Format,
                    "a map whose first key is neither an integer (handover) nor text (dice_chain.raw)",
                )),
            }
        }
        other => Err(file_error(
            Check::Format,
            format!("top-level item is a {other}; expected a chain (array), a handover or a dice_chain.raw (map)"),
        )),
    }
}

fn decode(bytes: &[u8]) -> Result<Decoded, VerifyError> {
    let kind = detect(bytes)?;
    // File-level encoding; errors inside the chain are reported below, per node.
    if let Err(e) = canonical::check(bytes) {
        if !chain_range(bytes, kind).is_some_and(|r| r.contains(&e.offset)) {
            return Err(file_error(Check::Encoding, e.to_string()));
        }
    }
    let (chain, cdi_attest): (Vec<u8>, Option<Cdi>) = match kind {
        InputKind::Chain => (bytes.to_vec(), None),
        InputKind::Handover => {
            let handover =
                Handover::parse(bytes).map_err(|e| file_error(Check::Format, e.to_string()))?;
            let chain = handover
                .chain()
                .ok_or_else(|| {
                    file_error(
                        Check::Format,
                        "the handover carries no DICE chain (no key 3)",
                    )
                })?
                .to_vec();
            (chain, Some(Zeroizing::new(*handover.cdi_attest())))
        }
        InputKind::DiceChainRaw => {
            let raw = DiceChainRaw::from_bytes(bytes)
                .map_err(|e| file_error(Check::Format, e.to_string()))?;
            let DiceChainRaw {
                cdi_attest, bcc, ..
            } = raw;
            (bcc, Some(cdi_attest))
        }
    };
    let (root, certs) = decode_chain(&chain)?;
    Ok(Decoded {
        kind,
        root,
        certs,
        cdi_attest,
    })
}

fn decode_chain(chain: &[u8]) -> Result<([u8; PUBLIC_KEY_SIZE], Vec<DecodedCert>), VerifyError> {
    let entries = chain_entries(chain).map_err(|e| file_error(Check::Format, e.to_string()))?;
    if let Err(e) = canonical::check(chain) {
        let base = chain.as_ptr() as usize;
        let node = entries.iter().position(|entry| {
            let start = entry.as_ptr() as usize - base;
            (start..start + entry.len()).contains(&e.offset)
        });
        let detail = format!("{} (offset in the chain)", e);
        return Err(match node {
            Some(i) => node_error(i, Check::Encoding, detail),
            None => file_error(Check::Encoding, format!("DICE chain: {detail}")),
        });
    }
    let mut entries = entries.into_iter();
    let root_entry = entries.next().unwrap_or_default();
    let root = parse_ed25519_key(root_entry).map_err(|e| node_error(0, Check::Format, e))?;
    let certs = entries
        .enumerate()
        .map(|(i, entry)| decode_cert(entry, i + 1))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((root, certs))
}

/// The raw key of an Ed25519 COSE_Key (kty OKP, crv Ed25519, alg EdDSA if present).
fn parse_ed25519_key(bytes: &[u8]) -> Result<[u8; PUBLIC_KEY_SIZE], String> {
    let key = CoseKey::from_slice(bytes).map_err(|e| format!("not a COSE_Key: {e}"))?;
    if key.kty != KeyType::Assigned(iana::KeyType::OKP) {
        return Err(format!("COSE_Key kty is {:?}, expected OKP (1)", key.kty));
    }
    if let Some(alg) = &key.alg {
        if *alg != Algorithm::Assigned(iana::Algorithm::EdDSA) {
            return Err(format!("COSE_Key alg is {alg:?}, expected EdDSA (-8)"));
        }
    }
    let param = |l: i64| {
        key.params
            .iter()
            .find(|(label, _)| *label == Label::Int(l))
            .map(|(_, v)| v)
    };
    match param(-1) {
        Some(Value::Integer(crv)) if i128::from(*crv) == 6 => {}
        other => return Err(format!("COSE_Key crv is {other:?}, expected Ed25519 (6)")),
    }
    match param(-2) {
        Some(Value::Bytes(x)) => <[u8; PUBLIC_KEY_SIZE]>::try_from(x.as_slice())
            .map_err(|_| format!("COSE_Key x is {} bytes, expected 32", x.len())),
        other => Err(format!("COSE_Key x is {other:?}, expected a 32-byte bstr")),
    }
}

fn claim_name(l: i64) -> &'static str {
    match l {
        label::CODE_HASH => "code hash",
        label::CODE_DESCRIPTOR => "code descriptor",
        label::CONFIG_HASH => "config hash",
        label::CONFIG_DESCRIPTOR => "config descriptor",
        label::AUTHORITY_HASH => "authority hash",
        label::AUTHORITY_DESCRIPTOR => "authority descriptor",
        label::MODE => "mode",
        label::SUBJECT_PUBLIC_KEY => "subject public key",
        label::KEY_USAGE => "key usage",
        label::PROFILE_NAME => "profile name",
        _ => "claim",
    }
}

fn decode_cert(entry: &[u8], node: usize) -> Result<DecodedCert, VerifyError> {
    let format = |detail: String| node_error(node, Check::Format, detail);
    let encoding = |what: &str, e: canonical::EncodingError| {
        node_error(node, Check::Encoding, format!("{what}: {e}"))
    };

    let sign1 = CoseSign1::from_slice(entry)
        .map_err(|e| format(format!("not an untagged COSE_Sign1: {e}")))?;
    let protected = sign1.protected.original_data.as_deref().unwrap_or_default();
    canonical::check(protected).map_err(|e| encoding("protected header", e))?;
    if sign1.protected.header.alg != Some(Algorithm::Assigned(iana::Algorithm::EdDSA)) {
        return Err(format(format!(
            "protected header alg is {:?}, expected EdDSA (-8)",
            sign1.protected.header.alg
        )));
    }
    let payload = sign1
        .payload
        .as_deref()
        .ok_or_else(|| format("COSE_Sign1 has no payload".to_owned()))?;
    canonical::check(payload).map_err(|e| encoding("CWT payload", e))?;
    let claims = ClaimsSet::from_slice(payload).map_err(|e| format(format!("CWT payload: {e}")))?;
    let issuer = claims
        .issuer
        .clone()
        .ok_or_else(|| format("CWT has no iss".to_owned()))?;
    let subject = claims
        .subject
        .clone()
        .ok_or_else(|| format("CWT has no sub".to_owned()))?;

    let mut bytes_claims: Vec<(i64, Vec<u8>)> = Vec::new();
    let mut mode = None;
    let mut profile_name = None;
    for (name, value) in claims.rest {
        let ClaimName::PrivateUse(l) = name else {
            continue;
        };
        match (l, value) {
            (label::MODE, Value::Bytes(b)) => {
                let byte = match b.as_slice() {
                    [m] => *m,
                    _ => return Err(format(format!("mode is {} bytes, expected 1", b.len()))),
                };
                mode = Some(
                    Mode::from_u8(byte)
                        .ok_or_else(|| format(format!("mode {byte} is not 0..=3")))?,
                );
            }
            (label::MODE, Value::Integer(i)) => {
                let m = u8::try_from(i128::from(i)).ok().and_then(Mode::from_u8);
                mode =
                    Some(m.ok_or_else(|| format(format!("mode {} is not 0..=3", i128::from(i))))?);
            }
            (label::PROFILE_NAME, Value::Text(t)) => profile_name = Some(t),
            (label::PROFILE_NAME, _) => {
                return Err(format("profile name must be a text string".to_owned()))
            }
            (
                l @ (label::CODE_HASH
                | label::CODE_DESCRIPTOR
                | label::CONFIG_HASH
                | label::CONFIG_DESCRIPTOR
                | label::AUTHORITY_HASH
                | label::AUTHORITY_DESCRIPTOR
                | label::SUBJECT_PUBLIC_KEY
                | label::KEY_USAGE),
                Value::Bytes(b),
            ) => bytes_claims.push((l, b)),
            (
                l @ (label::CODE_HASH
                | label::CODE_DESCRIPTOR
                | label::CONFIG_HASH
                | label::CONFIG_DESCRIPTOR
                | label::AUTHORITY_HASH
                | label::AUTHORITY_DESCRIPTOR
                | label::SUBJECT_PUBLIC_KEY
                | label::KEY_USAGE
                | label::MODE),
                _,
            ) => {
                return Err(format(format!(
                    "claim {l} ({}) has the wrong type",
                    claim_name(l)
                )))
            }
            _ => {}
        }
    }
    let mut take = |l: i64| {
        bytes_claims
            .iter()
            .position(|(k, _)| *k == l)
            .map(|i| bytes_claims.swap_remove(i).1)
    };
    let subject_key_bytes = take(label::SUBJECT_PUBLIC_KEY)
        .ok_or_else(|| format("CWT has no subject public key (-4670552)".to_owned()))?;
    canonical::check(&subject_key_bytes).map_err(|e| encoding("subject public key", e))?;
    let subject_public_key = parse_ed25519_key(&subject_key_bytes)
        .map_err(|e| format(format!("subject public key: {e}")))?;
    let code_hash = take(label::CODE_HASH).unwrap_or_default();
    let authority_hash = take(label::AUTHORITY_HASH).unwrap_or_default();
    let config_descriptor = take(label::CONFIG_DESCRIPTOR).unwrap_or_default();
    let config_hash = take(label::CONFIG_HASH);
    let key_usage = take(label::KEY_USAGE);
    let mode = mode.ok_or_else(|| format("CWT has no mode (-4670551)".to_owned()))?;

    let mut summary = NodeSummary {
        component_name: None,
        component_version: None,
        security_version: None,
        resettable: false,
        rkp_vm_marker: false,
        mode,
        code_hash,
        authority_hash,
        config_descriptor,
        profile_name,
        issuer,
        subject,
        subject_public_key,
    };
    // With a config hash the descriptor is a descriptor (a CBOR map); without, an inline value.
    if config_hash.is_some() && !summary.config_descriptor.is_empty() {
        canonical::check(&summary.config_descriptor)
            .map_err(|e| encoding("config descriptor", e))?;
        read_config_descriptor(&mut summary)
            .map_err(|e| format(format!("config descriptor: {e}")))?;
    }
    let tbs = sign1.tbs_data(b"");
    Ok(DecodedCert {
        summary,
        tbs,
        signature: sign1.signature,
        config_hash,
        key_usage,
    })
}

fn read_config_descriptor(s: &mut NodeSummary) -> Result<(), String> {
    let descriptor = std::mem::take(&mut s.config_descriptor);
    let result = (|| {
        let mut r = Reader::new(&descriptor);
        let pairs = r.read_map().map_err(|e| e.to_string())?;
        for _ in 0..pairs {
            // Non-integer keys are not Android fields; skip them with their values.
            let key = match r.read_int() {
                Ok(k) => Some(k),
                Err(_) => {
                    r.skip().map_err(|e| e.to_string())?;
                    None
                }
            };
            let value_head = r.peek_head().map_err(|e| e.to_string())?;
            let text = |r: &mut Reader<'_>, what: &str| -> Result<String, String> {
                let t = r
                    .read_tstr()
                    .map_err(|_| format!("{what} must be a text string"))?;
                String::from_utf8(t.to_vec()).map_err(|_| format!("{what} is not UTF-8"))
            };
            let null = |r: &mut Reader<'_>, what: &str| -> Result<bool, String> {
                match r.rest().first() {
                    Some(0xf6) => r.skip().map(|_| true).map_err(|e| e.to_string()),
                    _ => Err(format!("{what} must be null")),
                }
            };
            match key {
                Some(config_label::COMPONENT_NAME) => {
                    s.component_name = Some(text(&mut r, "component name")?)
                }
                Some(config_label::COMPONENT_VERSION) => {
                    s.component_version = Some(match value_head.major {
                        Major::Uint => {
                            ComponentVersion::Int(r.read_uint().map_err(|e| e.to_string())?)
                        }
                        _ => ComponentVersion::Text(text(&mut r, "component version")?),
                    })
                }
                Some(config_label::RESETTABLE) => s.resettable = null(&mut r, "resettable")?,
                Some(config_label::SECURITY_VERSION) => {
                    s.security_version =
                        Some(r.read_uint().map_err(|_| {
                            "security version must be an unsigned integer".to_owned()
                        })?)
                }
                Some(config_label::RKP_VM_MARKER) => {
                    s.rkp_vm_marker = null(&mut r, "RKP VM marker")?
                }
                _ => {
                    r.skip().map_err(|e| e.to_string())?;
                }
            }
        }
        Ok(())
    })();
    s.config_descriptor = descriptor;
    result
}
