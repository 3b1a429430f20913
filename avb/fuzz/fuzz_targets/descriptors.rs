//! Fuzzes the descriptor-area parser; accepted descriptors must re-serialize to bytes
//! that parse back to the same values, and hashtree ones must yield a verity table.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(descs) = avb::parse_descriptors(data) {
        for d in &descs {
            let bytes = d.to_bytes().expect("parsed descriptors serialize");
            let again = avb::parse_descriptors(&bytes).expect("re-serialized descriptor parses");
            assert_eq!(again.as_slice(), std::slice::from_ref(d));
            if let avb::Descriptor::Hashtree(h) = d {
                avb::verity_table(h, "/dev/a", "/dev/b").expect("validated descriptor has a table");
            }
        }
    }
});
