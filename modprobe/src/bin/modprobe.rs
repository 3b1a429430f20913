//! Host build of the `modprobe` applet (the guest runs the same code from its multi-call
//! PID 1).

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    std::process::exit(modprobe::cli_main(&args));
}
