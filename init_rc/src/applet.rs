//! The `setprop` / `getprop` applets for the multi-call binary, talking to the property
//! service. Usage: `setprop [--socket PATH] NAME VALUE`, `getprop [--socket PATH] NAME
//! [DEFAULT]`. `args` is the full argv (`args[0]` is the applet name). Exit status 0 on
//! success, 1 on failure, 2 on usage errors. Listing every property is not supported.
//! Each message is written with one `write(2)`, so it stays one record when stdio is
//! `/dev/kmsg` (`stdio_to_kmsg`).

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use crate::prop_proto::{get_property, set_property, DEFAULT_SOCKET};

/// Writes `line` and a newline to stderr in one write.
fn complain(line: &str) {
    let _ = std::io::stderr().write_all(format!("{line}\n").as_bytes());
}

fn split_socket(args: &[OsString]) -> Result<(PathBuf, Vec<String>), String> {
    let mut socket = PathBuf::from(DEFAULT_SOCKET);
    let mut rest = Vec::new();
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        if a == "--socket" {
            socket = it
                .next()
                .map(PathBuf::from)
                .ok_or("--socket needs a path")?;
        } else {
            rest.push(a.to_str().ok_or("arguments must be UTF-8")?.to_string());
        }
    }
    Ok((socket, rest))
}

/// `setprop [--socket PATH] NAME VALUE`.
pub fn setprop_main(args: &[OsString]) -> i32 {
    match split_socket(args) {
        Ok((socket, rest)) if rest.len() == 2 => match set_property(&socket, &rest[0], &rest[1]) {
            Ok(()) => 0,
            Err(e) => {
                complain(&format!("setprop: {e}"));
                1
            }
        },
        Ok(_) => {
            complain("usage: setprop [--socket PATH] NAME VALUE");
            2
        }
        Err(e) => {
            complain(&format!("setprop: {e}"));
            2
        }
    }
}

/// `getprop [--socket PATH] NAME [DEFAULT]`: prints the value (or the default, or an
/// empty line when neither exists, as AOSP's getprop does).
pub fn getprop_main(args: &[OsString]) -> i32 {
    match split_socket(args) {
        Ok((socket, rest)) if (1..=2).contains(&rest.len()) => {
            match get_property(&socket, &rest[0]) {
                Ok(v) => {
                    let v = v.or_else(|| rest.get(1).cloned()).unwrap_or_default();
                    let _ = std::io::stdout().write_all(format!("{v}\n").as_bytes());
                    0
                }
                Err(e) => {
                    complain(&format!("getprop: {e}"));
                    1
                }
            }
        }
        Ok(_) => {
            complain("usage: getprop [--socket PATH] NAME [DEFAULT]");
            2
        }
        Err(e) => {
            complain(&format!("getprop: {e}"));
            2
        }
    }
}
