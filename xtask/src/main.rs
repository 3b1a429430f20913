//! Developer commands: cargo xtask test | demo | artifacts | bench | fuzz
fn main() {}
