//! Fuzzes the property service's incremental decoder as PID 1 runs it: the bytes a
//! connection delivers arrive in pieces (the first input byte picks the piece size), and
//! `decode` is called on what has arrived so far. It never panics, never asks for more
//! than a whole request can hold, and its answers agree with each other as bytes arrive:
//! a complete or invalid request stays so, with the same request and length. Decoded sets
//! go through the uid policy.
#![no_main]

use init_rc::prop_policy::check;
use init_rc::prop_proto::{decode, Decoded, Request, MAX_REQUEST};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&step, bytes)) = data.split_first() else {
        return;
    };
    let step = usize::from(step).max(1);
    let mut settled: Option<Decoded> = None;
    let mut cut = 0;
    loop {
        let d = decode(&bytes[..cut]);
        match (&settled, &d) {
            (Some(s), _) => assert_eq!(s, &d, "changed at {cut}"),
            (None, Decoded::Incomplete { need, .. }) => {
                assert!(*need >= 1 && cut + need <= MAX_REQUEST, "{cut} {need}");
            }
            (None, Decoded::Complete(req, len)) => {
                assert!(*len <= cut && *len <= MAX_REQUEST);
                if let Request::Set { name, value } = req {
                    let uid = u32::from(bytes.first().copied().unwrap_or(0) % 3) * 1000;
                    let _ = check(name, value, uid);
                }
                settled = Some(d.clone());
            }
            (None, Decoded::Invalid(e)) => {
                let _ = (e.reply(), e.to_string());
                settled = Some(d.clone());
            }
        }
        if cut == bytes.len() {
            break;
        }
        cut = (cut + step).min(bytes.len());
    }
});
