//! Removing modules (`modprobe -r`): the requested modules first, dependents before
//! their dependencies, then their hard dependencies that nothing else uses any more.
//!
//! As in AOSP and kmod, a requested module that cannot be removed is a failure, while a
//! dependency that stays (in use by something else) or was not loaded is not.

use std::collections::HashSet;
use std::fmt;

use nix::errno::Errno;

use crate::db::{ModuleDb, Resolution};
use crate::errno::LoadErrno;
use crate::error::ModprobeError;
use crate::loader::ModuleLoader;
use crate::plan::PlanOptions;

/// One module to remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovalStep {
    /// Canonical module name.
    pub name: String,
    /// True for a module that was asked for (its failure counts), false for a dependency.
    pub requested: bool,
}

/// What to remove, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemovalPlan {
    /// `delete_module` calls to make, in order.
    pub steps: Vec<RemovalStep>,
    /// Requested names that matched no module.
    pub unresolved: Vec<String>,
    /// Requested modules that are built in (cannot be removed).
    pub builtin: Vec<String>,
}

/// A requested module that could not be removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovalFailure {
    /// The module (or requested name).
    pub module: String,
    /// The failed `delete_module`, if one was made.
    pub errno: Option<LoadErrno>,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for RemovalFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.module, self.message)
    }
}

/// The outcome of [`execute_removal`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemovalReport {
    /// Modules removed, in order.
    pub removed: Vec<String>,
    /// Requested modules that were not removed.
    pub failed: Vec<RemovalFailure>,
    /// Dependencies that stayed loaded (typically in use by another module).
    pub kept: Vec<(String, LoadErrno)>,
}

impl RemovalReport {
    /// True if every requested module was removed.
    pub fn is_success(&self) -> bool {
        self.failed.is_empty()
    }
}

impl ModuleDb {
    /// The removal order for `names` (module names, paths or aliases).
    pub fn removal_plan(&self, names: &[&str]) -> Result<RemovalPlan, ModprobeError> {
        let plan = self.plan(names, &PlanOptions::default())?;
        let mut requested: HashSet<String> = HashSet::new();
        for name in names {
            if let Resolution::Modules(found) = self.resolve(name) {
                requested.extend(found);
            }
        }
        let hard = plan.modules.iter().rev().filter(|m| !m.soft);
        let mut steps: Vec<RemovalStep> = hard
            .clone()
            .filter(|m| requested.contains(&m.name))
            .map(|m| RemovalStep {
                name: m.name.clone(),
                requested: true,
            })
            .collect();
        steps.extend(
            hard.filter(|m| !requested.contains(&m.name))
                .map(|m| RemovalStep {
                    name: m.name.clone(),
                    requested: false,
                }),
        );
        Ok(RemovalPlan {
            steps,
            unresolved: plan.unresolved,
            builtin: plan.builtin,
        })
    }
}

/// Removes the modules of `plan` in order with `loader`.
pub fn execute_removal(plan: &RemovalPlan, loader: &dyn ModuleLoader) -> RemovalReport {
    let mut report = RemovalReport::default();
    for name in &plan.unresolved {
        report.failed.push(RemovalFailure {
            module: name.clone(),
            errno: Some(LoadErrno::not_found()),
            message: LoadErrno::not_found().to_string(),
        });
    }
    for name in &plan.builtin {
        report.failed.push(RemovalFailure {
            module: name.clone(),
            errno: None,
            message: "built into the kernel, cannot be removed".to_owned(),
        });
    }
    for step in &plan.steps {
        match loader.unload(&step.name) {
            Ok(()) => report.removed.push(step.name.clone()),
            Err(errno) if step.requested => report.failed.push(RemovalFailure {
                module: step.name.clone(),
                errno: Some(errno),
                message: errno.to_string(),
            }),
            // A dependency that was not loaded has nothing to remove.
            Err(errno) if errno.as_errno() == Errno::ENOENT => {}
            Err(errno) => report.kept.push((step.name.clone(), errno)),
        }
    }
    report
}
