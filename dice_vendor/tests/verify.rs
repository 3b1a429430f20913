//! The verifier: every vector verifies; tampered chains are rejected naming node and check.

use ciborium::value::Value;
use dice_vendor::cbor::writer::Writer;
use dice_vendor::crypto::SigningKey;
use dice_vendor::dice::attestation_key;
use dice_vendor::verify::{Check, InputKind};
use dice_vendor::{
    cert, inspect_chain_bytes, verify_chain_bytes, DiceChainRaw, Handover, VerifyError,
};
use proptest::prelude::*;

macro_rules! vector {
    ($dir:literal, $file:literal) => {
        include_bytes!(concat!("../testdata/dice-vectors/", $dir, "/", $file))
    };
}

const V1_PARENT: &[u8] = vector!("v1_new_chain", "parent_handover.cbor");
const V2_PARENT: &[u8] = vector!("v2_extend_all_fields", "parent_handover.cbor");
const V3_PARENT: &[u8] = vector!("v3_raw_config_long_fields", "parent_handover.cbor");
const V3_HANDOVER: &[u8] = vector!("v3_raw_config_long_fields", "expected_handover.cbor");
const V3_CHAIN: &[u8] = vector!("v3_raw_config_long_fields", "expected_chain.cbor");

const ALL: [&[u8]; 15] = [
    vector!("v1_new_chain", "expected_handover.cbor"),
    vector!("v1_new_chain", "expected_chain.cbor"),
    vector!("v2_extend_all_fields", "expected_handover.cbor"),
    vector!("v2_extend_all_fields", "expected_chain.cbor"),
    vector!("v2_extend_all_fields", "parent_chain.cbor"),
    V3_HANDOVER,
    V3_CHAIN,
    vector!("v3_raw_config_long_fields", "parent_chain.cbor"),
    vector!("v5_aosp_sample_step1", "expected_handover.cbor"),
    vector!("v5_aosp_sample_step1", "expected_chain.cbor"),
    vector!("v5_aosp_sample_step2", "expected_handover.cbor"),
    vector!("v5_aosp_sample_step2", "expected_chain.cbor"),
    vector!("v5_aosp_sample_step3", "expected_handover.cbor"),
    vector!("v5_aosp_sample_step3", "expected_chain.cbor"),
    vector!("v5_aosp_sample_step3", "parent_chain.cbor"),
];

/// The key that signed certificate `i` (1-based) of the v3 chain.
fn signer(i: usize) -> SigningKey {
    let parent = [V1_PARENT, V2_PARENT, V3_PARENT][i - 1];
    attestation_key(Handover::parse(parent).unwrap().cdi_attest()).unwrap()
}

fn decode(bytes: &[u8]) -> Value {
    ciborium::from_reader(bytes).unwrap()
}

fn encode(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(v, &mut out).unwrap();
    out
}

/// The raw entries of the v3 chain.
fn entries() -> Vec<Vec<u8>> {
    let Value::Array(items) = decode(V3_CHAIN) else {
        panic!()
    };
    let out: Vec<Vec<u8>> = items.iter().map(encode).collect();
    assert_eq!(
        chain(&out),
        V3_CHAIN,
        "ciborium re-encodes the vector exactly"
    );
    out
}

fn chain(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut w = Writer::new();
    w.array(entries.len() as u64);
    for e in entries {
        w.raw(e);
    }
    w.into_vec()
}

fn payload(entry: &[u8]) -> Vec<u8> {
    let Value::Array(parts) = decode(entry) else {
        panic!()
    };
    parts[2].as_bytes().unwrap().clone()
}

/// A certificate for `payload`, signed by `key`, laid out as open-dice does.
fn signed(payload: &[u8], key: &SigningKey) -> Vec<u8> {
    let sig = key
        .sign(&cert::signature_input(&cert::PROTECTED_HEADER, payload))
        .unwrap();
    let mut w = Writer::new();
    w.array(4);
    w.bstr(&cert::PROTECTED_HEADER);
    w.map(0);
    w.bstr(payload);
    w.bstr(&sig);
    w.into_vec()
}

/// Certificate `i` with one claim changed and re-signed by its real issuer.
fn with_claim(i: usize, label: i64, value: Value) -> Vec<Vec<u8>> {
    let mut e = entries();
    let Value::Map(mut claims) = decode(&payload(&e[i])) else {
        panic!()
    };
    let slot = claims
        .iter_mut()
        .find(|(k, _)| *k == Value::Integer(label.into()))
        .unwrap();
    slot.1 = value;
    e[i] = signed(&encode(&Value::Map(claims)), &signer(i));
    e
}

fn fails(bytes: &[u8]) -> VerifyError {
    verify_chain_bytes(bytes).expect_err("tampered input verified")
}

#[test]
fn every_vector_verifies() {
    for bytes in ALL {
        let s = verify_chain_bytes(bytes).unwrap();
        assert_eq!(s.has_cdis, bytes[0] == 0xa3);
        assert!(s
            .nodes
            .iter()
            .all(|n| n.profile_name.as_deref() == Some("android.16")));
    }
    let s = verify_chain_bytes(V3_HANDOVER).unwrap();
    assert_eq!(s.kind, InputKind::Handover);
    let names: Vec<_> = s
        .nodes
        .iter()
        .map(|n| n.component_name.clone().unwrap())
        .collect();
    assert_eq!(names, ["ABL", "AVB-with-a-longer-name", "Android"]);
    assert_eq!(s.nodes[1].security_version, Some(4294967301));
    assert!(s.nodes[1].rkp_vm_marker && s.nodes[1].resettable);
    assert_eq!(s.nodes[1].mode, dice_vendor::Mode::Debug);
    // A dice_chain.raw of the same handover.
    let raw = DiceChainRaw::from_handover(&Handover::parse(V3_HANDOVER).unwrap()).unwrap();
    let s = verify_chain_bytes(&raw.to_bytes()).unwrap();
    assert_eq!(
        (s.kind, s.nodes.len(), s.has_cdis),
        (InputKind::DiceChainRaw, 3, true)
    );
}

#[test]
fn flipped_signature_byte() {
    let mut e = entries();
    let n = e[2].len();
    e[2][n - 1] ^= 1;
    let err = fails(&chain(&e));
    assert_eq!((err.node, err.check), (Some(2), Check::Signature));
    assert_eq!(err.component.as_deref(), Some("AVB-with-a-longer-name"));
    assert!(
        err.to_string()
            .starts_with("node 2 (\"AVB-with-a-longer-name\"): signature check failed"),
        "{err}"
    );
}

#[test]
fn flipped_payload_byte() {
    let mut e = entries();
    e[3][100] ^= 0x01; // inside the code hash
    assert_eq!(fails(&chain(&e)).node, Some(3));
}

#[test]
fn swapped_nodes() {
    let mut e = entries();
    e.swap(1, 2);
    let err = fails(&chain(&e));
    assert_eq!((err.node, err.check), (Some(1), Check::Signature));
}

#[test]
fn replaced_root_key() {
    let mut e = entries();
    e[0] = cert::encode_public_key(signer(2).public_key());
    let err = fails(&chain(&e));
    assert_eq!((err.node, err.check), (Some(1), Check::Signature));
}

#[test]
fn resigned_with_a_wrong_sub() {
    let e = with_claim(2, 2, Value::Text("0".repeat(40)));
    let err = fails(&chain(&e));
    assert_eq!((err.node, err.check), (Some(2), Check::Subject), "{err}");
}

#[test]
fn resigned_with_a_wrong_iss() {
    let e = with_claim(3, 1, Value::Text("1".repeat(40)));
    let err = fails(&chain(&e));
    assert_eq!((err.node, err.check), (Some(3), Check::Issuer), "{err}");
    assert!(err.detail.contains("node 2's sub"));
}

#[test]
fn resigned_with_a_wrong_config_hash() {
    let e = with_claim(1, cert::label::CONFIG_HASH, Value::Bytes(vec![0; 64]));
    let err = fails(&chain(&e));
    assert_eq!((err.node, err.check), (Some(1), Check::ConfigHash), "{err}");
}

#[test]
fn resigned_with_a_wrong_key_usage() {
    let e = with_claim(2, cert::label::KEY_USAGE, Value::Bytes(vec![0x04]));
    let err = fails(&chain(&e));
    assert_eq!((err.node, err.check), (Some(2), Check::KeyUsage), "{err}");
}

#[test]
fn resigned_non_canonical_payload() {
    let mut e = entries();
    let mut p = payload(&e[2]);
    // mode: bstr(1) `41 02` rewritten with a one-byte length `58 01 02`.
    let at = p
        .windows(7)
        .position(|w| w == [0x3a, 0x00, 0x47, 0x44, 0x56, 0x41, 0x02])
        .unwrap();
    p.splice(at + 5..at + 6, [0x58, 0x01]);
    e[2] = signed(&p, &signer(2));
    let err = fails(&chain(&e));
    assert_eq!((err.node, err.check), (Some(2), Check::Encoding), "{err}");
    assert!(err.detail.contains("CWT payload: non-minimal"), "{err}");
    // inspect (which shows nodes) applies the same encoding rules.
    assert_eq!(
        inspect_chain_bytes(&chain(&e)).unwrap_err().check,
        Check::Encoding
    );
}

#[test]
fn non_canonical_outer_encodings() {
    // Chain array head in two bytes.
    let mut c = vec![0x98, 0x04];
    c.extend_from_slice(&V3_CHAIN[1..]);
    let err = fails(&c);
    assert_eq!((err.node, err.check), (None, Check::Encoding), "{err}");
    // A non-minimal head inside entry 1 (its array head), not re-signed.
    let mut e = entries();
    e[1].splice(0..1, [0x98, 0x04]);
    let err = fails(&chain(&e));
    assert_eq!((err.node, err.check), (Some(1), Check::Encoding), "{err}");
    // Inside a handover, outside the chain: the CDI_Attest length.
    let mut h = vec![0xa3, 0x01, 0x58, 0x20];
    h.extend_from_slice(&V3_HANDOVER[4..36]);
    h.extend([0x02, 0x59, 0x00, 0x20]);
    h.extend_from_slice(&V3_HANDOVER[39..]);
    let err = fails(&h);
    assert_eq!((err.node, err.check), (None, Check::Encoding), "{err}");
    // Inside a handover's chain: attributed to the node.
    let mut h = V3_HANDOVER[..72].to_vec();
    h.extend(chain(&e));
    assert_eq!(fails(&h).node, Some(1));
    // Trailing bytes.
    let mut c = V3_CHAIN.to_vec();
    c.push(0);
    assert_eq!(fails(&c).check, Check::Encoding);
}

#[test]
fn leaf_key_must_match_cdi_attest() {
    let h = Handover::parse(V3_HANDOVER).unwrap();
    let wrong = Handover::new(&[9; 32], h.cdi_seal(), h.chain().map(<[u8]>::to_vec));
    let err = fails(&wrong.to_bytes());
    assert_eq!((err.node, err.check), (Some(3), Check::LeafKey), "{err}");
    let mut raw = DiceChainRaw::from_handover(&h).unwrap();
    raw.cdi_attest[0] ^= 1;
    assert_eq!(fails(&raw.to_bytes()).check, Check::LeafKey);
    // The chain of the parent with the child's CDIs: the leaf is one layer short.
    let short = Handover::new(
        h.cdi_attest(),
        h.cdi_seal(),
        Handover::parse(V3_PARENT)
            .unwrap()
            .chain()
            .map(<[u8]>::to_vec),
    );
    assert_eq!(fails(&short.to_bytes()).check, Check::LeafKey);
}

#[test]
fn structural_problems_are_format_errors() {
    for (bytes, what) in [
        (V1_PARENT, "no DICE chain"),
        (&[0x81, 0xa0][..], "at least 2"),
        (&[0x01][..], "top-level item is a unsigned integer"),
        (&[][..], "not CBOR"),
        (&[0xa1, 0x80, 0x00][..], "neither an integer"),
    ] {
        let err = fails(bytes);
        assert_eq!(err.check, Check::Format, "{err}");
        assert!(err.to_string().contains(what), "{err}");
    }
    // Root entry that is not a COSE_Key.
    let mut e = entries();
    e[0] = vec![0xa0];
    let err = fails(&chain(&e));
    assert_eq!((err.node, err.check), (Some(0), Check::Format), "{err}");
    // A certificate that is a map.
    e = entries();
    e[2] = vec![0xa0];
    assert_eq!(fails(&chain(&e)).node, Some(2));
    // Missing subject public key (re-signed).
    let mut e = entries();
    let Value::Map(mut claims) = decode(&payload(&e[1])) else {
        panic!()
    };
    claims.retain(|(k, _)| *k != Value::Integer(cert::label::SUBJECT_PUBLIC_KEY.into()));
    e[1] = signed(&encode(&Value::Map(claims)), &signer(1));
    let err = fails(&chain(&e));
    assert!(err.detail.contains("no subject public key"), "{err}");
    // Mode out of range.
    let e = with_claim(1, cert::label::MODE, Value::Bytes(vec![7]));
    assert!(fails(&chain(&e)).detail.contains("mode 7"));
}

#[test]
fn show_lines() {
    let s = inspect_chain_bytes(V3_HANDOVER).unwrap();
    assert_eq!(
        s.nodes[2].show_line(3),
        "node 3: name=\"Android\" version=\"15.0.0-rc1\" security_version=20250301 mode=normal \
         code=ffffffffffffffff… authority=0000000000000000… profile=\"android.16\""
    );
}

proptest! {
    #[test]
    fn verify_never_panics_on_mutations(pos in 0usize..2305, byte in any::<u8>(), cut in 0usize..2306) {
        let mut bytes = V3_HANDOVER.to_vec();
        bytes[pos] = byte;
        bytes.truncate(cut.max(1));
        let _ = verify_chain_bytes(&bytes);
    }

    #[test]
    fn verify_never_panics_on_junk(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = verify_chain_bytes(&bytes);
    }
}
