//! The guest's static multi-call PID 1.
//!
//! As `/init` with pid 1 it is the first stage ([`first_stage`]): it mounts the kernel
//! filesystems, loads the first-stage modules, verifies and mounts `/vendor`, derives
//! the vendor DICE node and execs the second stage. Under other names it is one of the
//! guest's applets ([`multicall`]). See ARCHITECTURE.md for the boot path step by step.

pub mod dice;
pub mod dm;
pub mod fatal;
pub mod first_stage;
pub mod hooks;
pub mod kmods;
pub mod logger;
pub mod mounts;
pub mod multicall;
pub mod oom;
pub mod platform;
pub mod selinux;
pub mod sys;
pub mod timeline;
pub mod vendor;
