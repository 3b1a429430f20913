//! Fuzzes the build.prop parser with arbitrary text: it never panics, and everything it
//! keeps is a legal name with an allowed value.
#![no_main]

use std::collections::BTreeMap;

use init_rc::prop_files::parse_into;
use init_rc::property::is_legal_name;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut props = BTreeMap::new();
    for b in parse_into("fuzz.prop", &text, &mut props) {
        let _ = b.to_string();
    }
    for k in props.keys() {
        assert!(is_legal_name(k), "{k:?}");
    }
});
