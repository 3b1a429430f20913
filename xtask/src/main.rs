//! `cargo xtask`: the project's developer commands.
//!
//! xtask depends on nothing but std so it builds on a bare machine; it installs what the
//! rest of the workspace needs (Debian packages, the aarch64 Rust target, cargo-fuzz),
//! then drives cargo and the `harness` binary of `qemu-tests`.

mod setup;
mod steps;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  test                     install what is missing, then fmt check, clippy -D warnings,
                           all unit/integration tests, all QEMU tests, a short fuzz run and
                           the guest size budget (the README's test command)
  demo                     install what is missing and boot the aarch64 guest, showing the
                           boot log and the phase timeline (the README's run command)
  boot --vendor-image IMG [--strict] [--debuggable] [--digest HEX]
                           boot a vendor image in the tests' aarch64 VM (GPT disk and DTB
                           with its digest made on the fly; strict: the open-dice driver
                           with the sample handover), print the console, the timeline,
                           the outcome and `vendor_image explain`'s prediction beside it
  artifacts --arch <aarch64|x86_64> --out DIR
                           write DIR/vmlinuz and DIR/initramfs.img exactly as the tests
                           boot them
  bench <hashtree|modprobe|dice|boot>
                           run a benchmark and print its numbers
  fuzz [--seconds N] [--coverage] [--only TEXT]
                           run every cargo-fuzz target (or those whose crate/target
                           contains TEXT) for N seconds (default 60); with --coverage
                           also report each target's line coverage
  size                     build the aarch64 and x86_64 guest /init and report sizes
  setup                    only install what is missing
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => steps::test(&args[1..]),
        Some("demo") => steps::demo(&args[1..]),
        Some("boot") => steps::boot(&args[1..]),
        Some("artifacts") => steps::artifacts(&args[1..]),
        Some("bench") => steps::bench(&args[1..]),
        Some("fuzz") => steps::fuzz(&args[1..]),
        Some("size") => steps::size(),
        Some("setup") => setup::all(),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}
