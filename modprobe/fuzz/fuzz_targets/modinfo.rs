//! Fuzzes the module-file reader (ELF header, section table, `.modinfo` strings) and the
//! kernel's parameter parsers on what it finds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modprobe::modinfo;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = modinfo::parse(data) {
        let _ = m.release();
        let _ = m.depends();
        let params: String = m
            .entries
            .iter()
            .map(|(k, v)| format!("{k}={v} "))
            .collect();
        let _ = modinfo::check_params(&m, &params);
        if let Some(v) = m.vermagic() {
            assert!(modinfo::same_magic(v, v, m.has_versions));
        }
    }
    let text = String::from_utf8_lossy(data);
    for (_, v) in modinfo::split_params(&text) {
        let _ = modinfo::check_value("int", v.as_deref());
        let _ = modinfo::check_value("array of ulong", v.as_deref());
        let _ = modinfo::check_value("bool", v.as_deref());
    }
});
