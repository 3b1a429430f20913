//! Known-answer vectors produced by open-dice (`testdata/dice-vectors`, copied from the
//! shared reference): every step must reproduce the CDIs, the chain and the handover byte
//! for byte.

use std::path::PathBuf;

use dice_vendor::{main_flow, sample_handover, Config, Handover, InputValues, Mode};

fn dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/dice-vectors")
        .join(name)
}

fn read(name: &str, file: &str) -> Option<Vec<u8>> {
    std::fs::read(dir(name).join(file)).ok()
}

fn read64(name: &str, file: &str) -> [u8; 64] {
    read(name, file).unwrap().try_into().unwrap()
}

fn inputs(name: &str, mode: Mode) -> InputValues {
    InputValues {
        code_hash: read64(name, "code_hash.bin"),
        config: Config::Descriptor(read(name, "config_desc.cbor").unwrap()),
        authority_hash: read64(name, "authority_hash.bin"),
        code_descriptor: read(name, "code_desc.bin"),
        authority_descriptor: read(name, "authority_desc.bin"),
        mode,
        hidden: read64(name, "hidden.bin"),
    }
}

fn run(name: &str, mode: Mode) {
    let parent = Handover::parse(&read(name, "parent_handover.cbor").unwrap()).unwrap();
    if let Some(parent_chain) = read(name, "parent_chain.cbor") {
        assert_eq!(
            parent.chain(),
            Some(&parent_chain[..]),
            "{name}: parent chain"
        );
    } else {
        assert_eq!(parent.chain(), None, "{name}: parent has no chain");
    }
    let next = main_flow(&parent, &inputs(name, mode)).unwrap();
    let expected = read(name, "expected_handover.cbor").unwrap();
    let expected_chain = read(name, "expected_chain.cbor").unwrap();
    assert_eq!(
        &next.cdi_attest()[..],
        &expected[4..36],
        "{name}: CDI_Attest"
    );
    assert_eq!(&next.cdi_seal()[..], &expected[39..71], "{name}: CDI_Seal");
    assert_eq!(next.chain(), Some(&expected_chain[..]), "{name}: chain");
    assert_eq!(&next.to_bytes()[..], &expected[..], "{name}: handover");
}

#[test]
fn v1_new_chain() {
    run("v1_new_chain", Mode::Normal);
}

#[test]
fn v2_extend_all_fields() {
    run("v2_extend_all_fields", Mode::Debug);
}

#[test]
fn v3_raw_config_long_fields() {
    run("v3_raw_config_long_fields", Mode::Normal);
}

#[test]
fn v5_aosp_sample_steps() {
    for step in 1..=3 {
        run(&format!("v5_aosp_sample_step{step}"), Mode::Normal);
    }
}

#[test]
fn sample_handover_equals_v5_step3() {
    let expected = read("v5_aosp_sample_step3", "expected_handover.cbor").unwrap();
    assert_eq!(sample_handover().unwrap(), expected);
}

#[test]
fn parse_round_trips_every_vector_handover() {
    for name in [
        "v1_new_chain",
        "v2_extend_all_fields",
        "v3_raw_config_long_fields",
        "v5_aosp_sample_step1",
        "v5_aosp_sample_step2",
        "v5_aosp_sample_step3",
    ] {
        for file in ["parent_handover.cbor", "expected_handover.cbor"] {
            let bytes = read(name, file).unwrap();
            assert_eq!(
                &Handover::parse(&bytes).unwrap().to_bytes()[..],
                &bytes[..],
                "{name}/{file}"
            );
        }
    }
}
