//! Fuzzes the handover parser (open-dice rules) and the chain-extending main flow.
#![no_main]

use dice_vendor::{main_flow, Config, Handover, InputValues, Mode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(parent) = Handover::parse(data) else { return };
    // Re-encoding a parsed handover and parsing it again is stable.
    let encoded = parent.to_bytes();
    let again = Handover::parse(&encoded).expect("re-encoded handover parses");
    assert_eq!(again.chain(), parent.chain());
    let input = InputValues {
        code_hash: [0x11; 64],
        config: Config::Descriptor(vec![0xa1, 0x3a, 0x00, 0x01, 0x11, 0x71, 0x61, 0x58]),
        authority_hash: [0x22; 64],
        code_descriptor: None,
        authority_descriptor: Some(vec![1, 2, 3]),
        mode: Mode::Normal,
        hidden: [0; 64],
    };
    if let Ok(next) = main_flow(&parent, &input) {
        // The result is a valid handover whose chain is one entry longer.
        let reparsed = Handover::parse(&next.to_bytes()).expect("main flow output parses");
        assert!(reparsed.chain().is_some());
    }
});
