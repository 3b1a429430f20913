//! The guest's static multi-call PID 1.
//!
//! As `/init` with pid 1 it is the first stage: it mounts the kernel filesystems, loads
//! the first-stage modules, verifies and mounts `/vendor`, derives the vendor DICE node
//! and execs the second stage. Under other names it is one of the guest's applets.
//! See ARCHITECTURE.md for the boot path step by step.

pub mod dm;
pub mod fatal;
pub mod first_stage;
pub mod logger;
pub mod mounts;
pub mod multicall;
pub mod platform;
pub mod sys;
pub mod timeline;
