//! Kernel module loading for the guest: `modules.*` parsers, dependency-ordered load
//! plans, a parallel `finit_module` loader, and an AOSP-style `modprobe` CLI.
//!
//! ```text
//! ModuleDb::load(dir)            read modules.dep/.alias/.softdep/.options/.blocklist/.builtin
//!   └─ db.plan(names, &opts)     Plan: modules in load order, each with its dependency indices
//!        └─ execute(&plan, &KernelLoader, threads)   LoadReport: loaded / failed / skipped
//! ```
//!
//! Behaviour follows AOSP's `libmodprobe` and, for ordering and alias matching, kmod
//! (see `DESIGN.md` §5). Everything that touches the kernel is behind [`ModuleLoader`];
//! [`testing::RecordingLoader`] is a fake for tests. Filesystem roots are parameters.

mod cli;
mod cmdline;
mod db;
mod dirs;
mod errno;
mod error;
mod exec;
pub mod glob;
mod graph;
mod loader;
pub mod modinfo;
pub mod name;
pub mod parse;
mod plan;
mod remove;
mod sys;
pub mod testing;

pub use cli::{cli_main, parse_args, run, CliArgs, CliEnv, Mode, UsageError, USAGE};
pub use cmdline::cmdline_module_params;
pub use db::{read_load_list, Module, ModuleDb, Resolution, SoftDep};
pub use dirs::{first_stage_module_dir, first_stage_module_dir_for_page_size};
pub use errno::{LoadErrno, SysOp};
pub use error::ModprobeError;
pub use exec::{execute, CriticalPath, LoadFailure, LoadReport, ModuleTiming};
pub use graph::PER_MODULE_COST;
pub use loader::{KernelLoader, ModuleLoader};
/// Errno values, as used by [`LoadErrno`] (re-exported so users need not depend on nix).
pub use nix::errno::Errno;
pub use plan::{Plan, PlanOptions, PlannedModule, SkipReason};
pub use remove::{execute_removal, RemovalFailure, RemovalPlan, RemovalReport, RemovalStep};
