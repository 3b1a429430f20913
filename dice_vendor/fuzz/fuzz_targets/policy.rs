//! Fuzzes the DICE policy parser: no panic on any input; whatever parses prints back to
//! text that parses to the same policy; checking it against a verified chain never panics.
#![no_main]

use std::sync::OnceLock;

use dice_vendor::verify::ChainSummary;
use dice_vendor::Policy;
use libfuzzer_sys::fuzz_target;

fn sample_chain() -> &'static ChainSummary {
    static CHAIN: OnceLock<ChainSummary> = OnceLock::new();
    CHAIN.get_or_init(|| {
        let handover = dice_vendor::sample_handover().expect("sample handover");
        dice_vendor::verify_chain_bytes(&handover).expect("sample chain verifies")
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(policy) = Policy::parse(data) {
        let text = policy.to_text();
        let again = Policy::parse(text.as_bytes()).expect("printed policy parses");
        assert_eq!(again.to_text(), text);
        assert_eq!(again.nodes.len(), policy.nodes.len());
        let _ = policy.check(sample_chain());
    }
});
