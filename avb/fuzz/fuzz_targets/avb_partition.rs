//! Fuzzes `read_vbmeta_from_partition` on arbitrary partition bytes, then everything a
//! caller does with a result: descriptor lookup and the dm-verity table.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut c = std::io::Cursor::new(data);
    if let Ok(v) = avb::read_vbmeta_from_partition(&mut c, data.len() as u64) {
        let _ = v.public_key_blob();
        for d in v.descriptors() {
            if let avb::Descriptor::Hashtree(h) = d {
                if let Ok(h) = v.hashtree_descriptor(&h.partition_name) {
                    let _ = avb::verity_table(h, "/dev/a", "/dev/a");
                }
            }
        }
    }
    // Also with a partition size larger than the data (short device).
    let mut c = std::io::Cursor::new(data);
    let _ = avb::read_vbmeta_from_partition(&mut c, (data.len() as u64).saturating_add(512));
    // And the vbmeta parser directly.
    let _ = avb::verify_vbmeta(data);
});
