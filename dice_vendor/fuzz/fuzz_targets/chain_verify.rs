//! Fuzzes the chain reader and verifier (chain, handover and dice_chain.raw inputs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let inspected = dice_vendor::inspect_chain_bytes(data);
    if let Ok(summary) = dice_vendor::verify_chain_bytes(data) {
        // Anything that verifies also inspects to the same summary.
        assert_eq!(inspected.as_ref().ok(), Some(&summary));
        for (i, node) in summary.nodes.iter().enumerate() {
            let _ = node.show_line(i + 1);
        }
    }
});
