//! `dice_chain.raw`: AOSP's exact encoding, round trip, generic decodability, the lenient
//! reader's limits, and the atomic 0600 write.

use std::os::unix::fs::PermissionsExt;

use ciborium::value::Value;
use dice_vendor::{DiceChainRaw, DiceError, Handover};
use zeroize::Zeroizing;

const SAMPLE: &[u8] =
    include_bytes!("../testdata/dice-vectors/v5_aosp_sample_step3/expected_handover.cbor");

fn sample_raw() -> DiceChainRaw {
    DiceChainRaw::from_handover(&Handover::parse(SAMPLE).unwrap()).unwrap()
}

fn uints(bytes: &[u8]) -> Value {
    Value::Array(bytes.iter().map(|&b| Value::Integer(b.into())).collect())
}

fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).unwrap();
    out
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

/// What AOSP's `serde_cbor::to_writer(OwnedDiceArtifacts)` writes, built independently.
fn aosp_value(attest: Value, seal: Value, bcc: Value) -> Value {
    Value::Map(vec![
        (
            text("cdi_values"),
            Value::Map(vec![(text("cdi_attest"), attest), (text("cdi_seal"), seal)]),
        ),
        (text("bcc"), bcc),
    ])
}

#[test]
fn encoding_is_aosp_serde_cbor_layout() {
    let raw = sample_raw();
    let bytes = raw.to_bytes();
    let expected = encode(&aosp_value(
        uints(&raw.cdi_attest[..]),
        uints(&raw.cdi_seal[..]),
        uints(&raw.bcc),
    ));
    assert_eq!(&bytes[..], &expected[..]);
    // The exact head bytes: map(2) "cdi_values" map(2) "cdi_attest" array(32).
    assert_eq!(
        &bytes[..26],
        b"\xa2\x6acdi_values\xa2\x6acdi_attest\x98\x20"
    );
}

#[test]
fn decodable_by_ciborium_as_arrays_of_uints() {
    let raw = sample_raw();
    let value: Value = ciborium::from_reader(&raw.to_bytes()[..]).unwrap();
    let Value::Map(top) = value else {
        panic!("not a map")
    };
    assert_eq!(top[0].0, text("cdi_values"));
    assert_eq!(top[1].0, text("bcc"));
    let Value::Array(bcc) = &top[1].1 else {
        panic!("bcc is not an array")
    };
    let bytes: Vec<u8> = bcc
        .iter()
        .map(|v| u8::try_from(v.as_integer().unwrap()).unwrap())
        .collect();
    assert_eq!(bytes, raw.bcc);
    let Value::Map(cdis) = &top[0].1 else {
        panic!("cdi_values is not a map")
    };
    assert_eq!(cdis[0].1, uints(&raw.cdi_attest[..]));
    assert_eq!(cdis[1].1, uints(&raw.cdi_seal[..]));
}

#[test]
fn round_trip_and_bstr_form() {
    let raw = sample_raw();
    let back = DiceChainRaw::from_bytes(&raw.to_bytes()).unwrap();
    assert_eq!(back.cdi_attest, raw.cdi_attest);
    assert_eq!(back.cdi_seal, raw.cdi_seal);
    assert_eq!(back.bcc, raw.bcc);
    // Byte strings instead of uint arrays, keys reordered, an unknown key: accepted (as serde).
    let alt = Value::Map(vec![
        (text("extra"), Value::Bool(true)),
        (text("bcc"), Value::Bytes(raw.bcc.clone())),
        (
            text("cdi_values"),
            Value::Map(vec![
                (text("cdi_seal"), Value::Bytes(raw.cdi_seal.to_vec())),
                (text("cdi_attest"), uints(&raw.cdi_attest[..])),
            ]),
        ),
    ]);
    let back = DiceChainRaw::from_bytes(&encode(&alt)).unwrap();
    assert_eq!(back.bcc, raw.bcc);
    assert_eq!(back.cdi_seal, raw.cdi_seal);
}

fn rejected(value: &Value) -> String {
    match DiceChainRaw::from_bytes(&encode(value)) {
        Err(e @ DiceError::ChainRawInvalid(_)) => {
            assert_eq!(e.reason(), "DICE_OUTPUT");
            e.to_string()
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_files_are_rejected_with_the_field_named() {
    let c = uints(&[7; 32]);
    assert!(
        rejected(&aosp_value(uints(&[7; 31]), c.clone(), uints(&[1])))
            .contains("cdi_attest: 31 bytes")
    );
    assert!(
        rejected(&aosp_value(c.clone(), uints(&[7; 33]), uints(&[1])))
            .contains("cdi_seal: more than 32")
    );
    let big = Value::Array(vec![Value::Integer(256.into())]);
    assert!(rejected(&aosp_value(c.clone(), c.clone(), big)).contains("exceeds 255"));
    assert!(
        rejected(&aosp_value(c.clone(), c.clone(), text("x"))).contains("bcc: expected an array")
    );
    let missing = Value::Map(vec![(text("bcc"), uints(&[1]))]);
    assert!(rejected(&missing).contains("missing key \"cdi_values\""));
    let dup = Value::Map(vec![(text("bcc"), uints(&[1])), (text("bcc"), uints(&[1]))]);
    assert!(rejected(&dup).contains("duplicate key \"bcc\""));
    let int_key = Value::Map(vec![(Value::Integer(1.into()), uints(&[1]))]);
    assert!(rejected(&int_key).contains("expected a text string"));
    let mut trailing = sample_raw().to_bytes().to_vec();
    trailing.push(0);
    assert!(DiceChainRaw::from_bytes(&trailing)
        .unwrap_err()
        .to_string()
        .contains("trailing bytes"));
    for len in [0, 1, 10, 100, 500] {
        assert!(DiceChainRaw::from_bytes(&sample_raw().to_bytes()[..len]).is_err());
    }
    // A huge claimed bcc length does not allocate it.
    let cdis = Value::Map(vec![(text("cdi_attest"), c.clone()), (text("cdi_seal"), c)]);
    let mut huge = encode(&Value::Map(vec![(text("cdi_values"), cdis)]));
    huge[0] = 0xa2;
    huge.extend(b"\x63bcc\x9b\xff\xff\xff\xff\xff\xff\xff\xff\x01");
    assert!(rejected_bytes(&huge).contains("bcc: truncated"));
}

fn rejected_bytes(bytes: &[u8]) -> String {
    DiceChainRaw::from_bytes(bytes).unwrap_err().to_string()
}

#[test]
fn write_atomic_creates_0600_and_replaces() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dice_chain.raw");
    std::fs::write(&path, b"old contents").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let raw = sample_raw();
    raw.write_atomic(&path).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), &raw.to_bytes()[..]);
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["dice_chain.raw"], "no temporary file left behind");
    // A stale temporary file from an interrupted run is replaced.
    std::fs::write(dir.path().join(".dice_chain.raw.tmp"), b"stale").unwrap();
    raw.write_atomic(&path).unwrap();
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    let back = DiceChainRaw::read(&path).unwrap();
    assert_eq!(back.bcc, raw.bcc);
}

#[test]
fn write_atomic_reports_output_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = sample_raw()
        .write_atomic(&dir.path().join("missing/dice_chain.raw"))
        .unwrap_err();
    assert_eq!(err.reason(), "DICE_OUTPUT");
    assert!(err.to_string().contains("create temporary file"), "{err}");
}

#[test]
fn debug_hides_cdis() {
    let raw = DiceChainRaw {
        cdi_attest: Zeroizing::new([0x42; 32]),
        cdi_seal: Zeroizing::new([0x43; 32]),
        bcc: vec![],
    };
    let text = format!("{raw:?}");
    assert!(text.contains("<secret>") && !text.contains("66"));
}
