//! Fuzzes the dice_chain.raw reader; accepted input round-trips through the writer.
#![no_main]

use dice_vendor::DiceChainRaw;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = DiceChainRaw::from_bytes(data) else { return };
    let encoded = raw.to_bytes();
    let back = DiceChainRaw::from_bytes(&encoded).expect("written file reads back");
    assert_eq!(back.cdi_attest, raw.cdi_attest);
    assert_eq!(back.cdi_seal, raw.cdi_seal);
    assert_eq!(back.bcc, raw.bcc);
});
