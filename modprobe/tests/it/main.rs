//! Integration tests of the modprobe crate (one binary, so the shared helpers are used).

mod cli;
mod common;
mod errors;
mod executor;
mod fixtures;
mod props;
