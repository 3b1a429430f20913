//! The `setprop` / `getprop` applets for the multi-call binary, talking to the property
//! service. Usage: `setprop [--socket PATH] NAME VALUE`, `getprop [--socket PATH] NAME
//! [DEFAULT]`. `args` is the full argv (`args[0]` is the applet name). Exit status 0 on
//! success, 1 on failure, 2 on usage errors. Listing every property is not supported.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::prop_proto::{get_property, set_property, DEFAULT_SOCKET};

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
                eprintln!("setprop: {e}");
                1
            }
        },
        Ok(_) => {
            eprintln!("usage: setprop [--socket PATH] NAME VALUE");
            2
        }
        Err(e) => {
            eprintln!("setprop: {e}");
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
                    println!("{}", v.or_else(|| rest.get(1).cloned()).unwrap_or_default());
                    0
                }
                Err(e) => {
                    eprintln!("getprop: {e}");
                    1
                }
            }
        }
        Ok(_) => {
            eprintln!("usage: getprop [--socket PATH] NAME [DEFAULT]");
            2
        }
        Err(e) => {
            eprintln!("getprop: {e}");
            2
        }
    }
}
