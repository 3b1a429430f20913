//! `/init`: the multi-call entry point (see the library for everything).

fn main() {
    std::process::exit(first_stage_init::multicall::main());
}
