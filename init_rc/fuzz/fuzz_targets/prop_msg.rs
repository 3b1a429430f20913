//! Fuzzes the property-service request decoder (what PID 1 reads from any local client)
//! and the property store's rules on whatever it decodes.
#![no_main]

use init_rc::prop_proto::{encode_get_reply, read_request, Request};
use init_rc::property::PropertyStore;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut cursor = std::io::Cursor::new(data);
    let mut store = PropertyStore::new();
    // Several requests back to back, as a stream of connections would deliver them.
    for _ in 0..8 {
        match read_request(&mut cursor) {
            Ok(Request::Set { name, value }) => {
                let _ = store.set(&name, &value);
            }
            Ok(Request::Get { name }) => {
                let _ = encode_get_reply(store.get(&name));
            }
            Err(e) => {
                let _ = (e.reply(), e.to_string());
                break;
            }
        }
    }
});
