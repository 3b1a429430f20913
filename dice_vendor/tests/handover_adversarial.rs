//! Malformed handovers: each is rejected with a clear error, or accepted exactly where
//! open-dice's `DiceAndroidHandoverParse` / `DiceAndroidMainFlow` accept it.

use dice_vendor::cbor::reader::ReadError;
use dice_vendor::{main_flow, Config, DiceError, Handover, HandoverError, InputValues, Mode};
use proptest::prelude::*;

const V1_PARENT: &[u8] =
    include_bytes!("../testdata/dice-vectors/v1_new_chain/parent_handover.cbor");
const V2_PARENT: &[u8] =
    include_bytes!("../testdata/dice-vectors/v2_extend_all_fields/parent_handover.cbor");
const V1_EXPECTED: &[u8] =
    include_bytes!("../testdata/dice-vectors/v1_new_chain/expected_handover.cbor");

fn input() -> InputValues {
    InputValues {
        code_hash: [1; 64],
        config: Config::Inline([2; 64]),
        authority_hash: [3; 64],
        code_descriptor: None,
        authority_descriptor: None,
        mode: Mode::Normal,
        hidden: [0; 64],
    }
}

fn handover_error(bytes: &[u8]) -> HandoverError {
    match Handover::parse(bytes) {
        Err(DiceError::HandoverInvalid(e)) => e,
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("accepted {}", avb::to_hex(bytes)),
    }
}

fn cdi_pair(label: u8, len: usize, fill: u8) -> Vec<u8> {
    let mut v = vec![label];
    if len < 24 {
        v.push(0x40 | len as u8);
    } else {
        v.extend([0x58, len as u8]);
    }
    v.extend(std::iter::repeat_n(fill, len));
    v
}

fn handover(pairs: u8, body: &[&[u8]]) -> Vec<u8> {
    let mut v = vec![0xa0 | pairs];
    for part in body {
        v.extend_from_slice(part);
    }
    v
}

#[test]
fn wrong_cdi_sizes() {
    for len in [0, 16, 31, 33, 64] {
        let h = handover(2, &[&cdi_pair(1, len, 0xaa), &cdi_pair(2, 32, 0xbb)]);
        assert_eq!(
            handover_error(&h),
            HandoverError::CdiSize {
                field: "CDI_Attest",
                len
            }
        );
        let h = handover(2, &[&cdi_pair(1, 32, 0xaa), &cdi_pair(2, len, 0xbb)]);
        assert_eq!(
            handover_error(&h),
            HandoverError::CdiSize {
                field: "CDI_Seal",
                len
            }
        );
    }
    // A CDI that is a text string, not a byte string.
    let mut h = handover(2, &[&cdi_pair(1, 32, 0x61), &cdi_pair(2, 32, 0xbb)]);
    h[2] = 0x78;
    assert!(matches!(
        handover_error(&h),
        HandoverError::Cbor {
            field: "CDI_Attest",
            source: ReadError::Type { .. }
        }
    ));
}

#[test]
fn keys_out_of_order_or_duplicated() {
    let h = handover(2, &[&cdi_pair(2, 32, 0xbb), &cdi_pair(1, 32, 0xaa)]);
    assert_eq!(
        handover_error(&h),
        HandoverError::UnexpectedLabel {
            field: "CDI_Attest",
            expected: 1,
            found: 2,
            offset: 1
        }
    );
    let h = handover(2, &[&cdi_pair(1, 32, 0xaa), &cdi_pair(1, 32, 0xbb)]);
    assert_eq!(
        handover_error(&h),
        HandoverError::UnexpectedLabel {
            field: "CDI_Seal",
            expected: 2,
            found: 1,
            offset: 36
        }
    );
    // A duplicate key 2 in the third position is "not key 3": open-dice accepts, no chain.
    let h = handover(
        3,
        &[
            &cdi_pair(1, 32, 0xaa),
            &cdi_pair(2, 32, 0xbb),
            &cdi_pair(2, 32, 0xcc),
        ],
    );
    let parsed = Handover::parse(&h).unwrap();
    assert_eq!(parsed.chain(), None);
    assert_eq!(parsed.cdi_seal(), &[0xbb; 32]);
}

#[test]
fn third_key_not_3_means_no_chain() {
    let chain = &V2_PARENT[72..];
    for third_key in [
        &[0x04][..],
        &[0x20],
        &[0x63, b'b', b'c', b'c'],
        &[0x41, 0x03],
    ] {
        let mut h = V2_PARENT[..71].to_vec();
        h.extend_from_slice(third_key);
        h.extend_from_slice(chain);
        let parsed = Handover::parse(&h).unwrap();
        assert_eq!(parsed.chain(), None, "third key {third_key:x?}");
        // …and the main flow then starts a new chain, as open-dice does.
        let next = main_flow(&parsed, &input()).unwrap();
        assert_eq!(next.chain().unwrap()[0], 0x82);
    }
}

#[test]
fn too_few_pairs_and_not_a_map() {
    assert_eq!(handover_error(&[0xa0]), HandoverError::TooFewPairs(0));
    assert_eq!(
        handover_error(&handover(1, &[&cdi_pair(1, 32, 0)])),
        HandoverError::TooFewPairs(1)
    );
    assert!(matches!(
        handover_error(&[0x82, 0x01, 0x02]),
        HandoverError::Cbor {
            field: "handover map",
            source: ReadError::Type { .. }
        }
    ));
    assert!(matches!(
        handover_error(&[]),
        HandoverError::Cbor {
            field: "handover map",
            source: ReadError::Truncated { offset: 0 }
        }
    ));
    // Indefinite-length map.
    assert!(matches!(
        handover_error(&[0xbf, 0xff]),
        HandoverError::Cbor {
            source: ReadError::Unsupported { byte: 0xbf, .. },
            ..
        }
    ));
}

#[test]
fn non_minimal_cbor_is_accepted_like_open_dice() {
    // Map head, labels and bstr lengths in long forms.
    let mut h = vec![0xb8, 0x03, 0x18, 0x01, 0x59, 0x00, 0x20];
    h.extend([0x11; 32]);
    h.extend([0x1a, 0, 0, 0, 2, 0x5a, 0, 0, 0, 0x20]);
    h.extend([0x22; 32]);
    h.extend([0x1b, 0, 0, 0, 0, 0, 0, 0, 3]);
    let chain = &V2_PARENT[72..];
    h.extend_from_slice(chain);
    let parsed = Handover::parse(&h).unwrap();
    assert_eq!(parsed.cdi_attest(), &[0x11; 32]);
    assert_eq!(parsed.chain(), Some(chain));

    // A chain with a non-minimal array head is copied raw; the new head is minimal.
    let parent = Handover::parse(V2_PARENT).unwrap();
    let mut long_head = vec![0x98, 0x02];
    long_head.extend_from_slice(&chain[1..]);
    let odd = Handover::new(parent.cdi_attest(), parent.cdi_seal(), Some(long_head));
    let a = main_flow(&parent, &input()).unwrap();
    let b = main_flow(&odd, &input()).unwrap();
    assert_eq!(a.to_bytes(), b.to_bytes());
    assert_eq!(a.chain().unwrap()[0], 0x83);
}

#[test]
fn chain_of_one_item_or_not_an_array_is_rejected_by_the_main_flow() {
    let parent = Handover::parse(V2_PARENT).unwrap();
    let chain = parent.chain().unwrap();
    let root_only = {
        let root_len = 1 + 77; // a5 … (the 77-byte COSE_Key)
        let mut v = vec![0x81];
        v.extend_from_slice(&chain[1..root_len]);
        v
    };
    for (bad, expected) in [
        (root_only, HandoverError::ChainTooShort(1)),
        (vec![0x80], HandoverError::ChainTooShort(0)),
    ] {
        let h = Handover::new(parent.cdi_attest(), parent.cdi_seal(), Some(bad));
        let reparsed = Handover::parse(&h.to_bytes()).unwrap();
        match main_flow(&reparsed, &input()) {
            Err(DiceError::HandoverInvalid(e)) => assert_eq!(e, expected),
            other => panic!("{other:?}"),
        }
    }
    let h = Handover::new(parent.cdi_attest(), parent.cdi_seal(), Some(vec![0xa0]));
    assert!(matches!(
        main_flow(&h, &input()),
        Err(DiceError::HandoverInvalid(HandoverError::ChainNotArray(
            ReadError::Type { .. }
        )))
    ));
}

#[test]
fn every_truncation_is_rejected() {
    for bytes in [V1_PARENT, V2_PARENT, V1_EXPECTED] {
        for len in 0..bytes.len() {
            let prefix = &bytes[..len];
            match Handover::parse(prefix) {
                Err(e) => assert_eq!(e.reason(), "DICE_HANDOVER_INVALID"),
                // open-dice reads the third key only "if it can": a 3-pair map cut right
                // after CDI_Seal parses as a handover without a chain.
                Ok(h) if len == 71 && bytes[0] == 0xa3 => assert_eq!(h.chain(), None),
                Ok(h) => panic!(
                    "prefix of {len} bytes accepted: chain {:?}",
                    h.chain().map(<[u8]>::len)
                ),
            }
        }
    }
}

#[test]
fn truncated_chain_is_reported_as_chain_error() {
    let cut = &V2_PARENT[..V2_PARENT.len() - 1];
    assert!(matches!(
        handover_error(cut),
        HandoverError::Cbor {
            field: "DICE chain",
            source: ReadError::Truncated { .. }
        }
    ));
}

#[test]
fn trailing_bytes_are_ignored() {
    let mut h = V2_PARENT.to_vec();
    h.extend([0xff; 100]);
    let parsed = Handover::parse(&h).unwrap();
    assert_eq!(&parsed.to_bytes()[..], V2_PARENT);
    // Extra map pairs after the chain are not even read.
    let mut h = V2_PARENT.to_vec();
    h[0] = 0xa5;
    h.extend([0x04, 0xff]);
    assert_eq!(&Handover::parse(&h).unwrap().to_bytes()[..], V2_PARENT);
    // A 2-pair map followed by a chain: the chain is trailing data.
    let mut h = V2_PARENT.to_vec();
    h[0] = 0xa2;
    assert_eq!(Handover::parse(&h).unwrap().chain(), None);
}

#[test]
fn one_mib_of_junk_is_rejected_quickly() {
    let mut junk = vec![0u8; 1 << 20];
    let mut x = 0x1234_5678u32;
    for b in junk.iter_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    junk[0] = 0x9f; // not a map
    assert!(Handover::parse(&junk).is_err());
    // A valid prefix followed by junk chain data: the chain head claims far more than exists.
    let mut h = V2_PARENT[..72].to_vec();
    h.extend([0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    h.extend(&junk);
    assert!(matches!(
        handover_error(&h),
        HandoverError::Cbor {
            field: "DICE chain",
            ..
        }
    ));
    // All-0xff: a reserved/break byte.
    assert!(Handover::parse(&vec![0xff; 1 << 20]).is_err());
}

#[test]
fn deeply_nested_chain_is_rejected() {
    let mut h = V2_PARENT[..72].to_vec();
    h.extend(std::iter::repeat_n(0x82, 11));
    h.extend(std::iter::repeat_n(0x00, 12));
    assert!(matches!(
        handover_error(&h),
        HandoverError::Cbor {
            source: ReadError::TooDeep { .. },
            ..
        }
    ));
}

#[test]
fn debug_output_does_not_leak_cdis() {
    let parsed = Handover::parse(V1_PARENT).unwrap();
    let text = format!("{parsed:?}");
    assert!(text.contains("<secret>"));
    assert!(!text.contains("0, 1, 2"));
}

proptest! {
    #[test]
    fn parse_and_main_flow_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(h) = Handover::parse(&bytes) {
            let _ = main_flow(&h, &input());
        }
    }

    #[test]
    fn mutated_vectors_never_panic(pos in 0usize..610, byte in any::<u8>()) {
        let mut bytes = V1_EXPECTED.to_vec();
        bytes[pos] = byte;
        if let Ok(h) = Handover::parse(&bytes) {
            let _ = main_flow(&h, &input());
        }
    }
}

#[test]
fn chain_entries_are_capped_before_anything_is_collected() {
    let parent = Handover::parse(V2_PARENT).unwrap();
    let main_flow_error = |chain: Vec<u8>| {
        let h = Handover::new(parent.cdi_attest(), parent.cdi_seal(), Some(chain));
        match main_flow(&h, &input()) {
            Err(DiceError::HandoverInvalid(e)) => e,
            other => panic!("{other:?}"),
        }
    };
    let limit = dice_vendor::MAX_CHAIN_ENTRIES;
    assert_eq!(limit, 65, "a root key and at most 64 certificates");
    // One entry more than the cap, each a one-byte item: well-formed, refused.
    let mut over = vec![0x98, (limit + 1) as u8];
    over.resize(2 + limit + 1, 0x00);
    assert_eq!(
        main_flow_error(over),
        HandoverError::ChainTooLong {
            count: 66,
            limit: 65
        }
    );
    // The head of a 16M-item chain is refused as read, whatever follows (nothing here).
    assert_eq!(
        main_flow_error(vec![0x9a, 0x01, 0x00, 0x00, 0x00]),
        HandoverError::ChainTooLong {
            count: 16 << 20,
            limit: 65
        }
    );
    // At the cap it is accepted (the entries are only checked for well-formedness).
    let mut at = vec![0x98, limit as u8];
    at.resize(2 + limit, 0x00);
    let h = Handover::new(parent.cdi_attest(), parent.cdi_seal(), Some(at));
    assert!(main_flow(&h, &input()).is_ok());
}
