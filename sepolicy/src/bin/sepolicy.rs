//! Host build of the `sepolicy` applet (the guest runs [`sepolicy::cli_main`]
//! from its multi-call PID 1).

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    std::process::exit(sepolicy::cli_main(&args));
}
