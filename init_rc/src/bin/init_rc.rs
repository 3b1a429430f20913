//! Host tool: `init_rc verify FILE…` checks rc files (see `init_rc::verify`); also
//! `init_rc second-stage [ARGS…]`, `init_rc setprop …` and `init_rc getprop …` for running
//! the interpreter and its applets outside the guest (tests).

use std::ffi::OsString;

fn main() {
    let args: Vec<OsString> = std::env::args_os().collect();
    let sub = args.get(1).and_then(|a| a.to_str()).unwrap_or_default();
    if sub == "second-stage" {
        init_rc::second_stage_main(&args[1..], init_rc::Hooks::default());
    }
    let code = match sub {
        "verify" => init_rc::verify_main(&args[2..]),
        "setprop" => init_rc::setprop_main(&args[1..]),
        "getprop" => init_rc::getprop_main(&args[1..]),
        _ => {
            eprintln!("usage: init_rc verify FILE... | second-stage [ARGS...] | setprop ... | getprop ...");
            2
        }
    };
    std::process::exit(code);
}
