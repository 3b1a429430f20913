//! Load plans: for a list of requested names, every module to load, in an order where
//! each module comes after its hard dependencies and `pre:` soft dependencies, with its
//! `post:` soft dependencies after it, each module once.
//!
//! The order is the one kmod's `modprobe --show-depends` prints: for a module, its
//! `modules.dep` list in reverse (each entry preceded by its own `pre:` and followed by its
//! own `post:` soft dependencies), then its `pre:` soft dependencies, the module, its
//! `post:` soft dependencies. Unlike kmod we walk dependencies recursively, so a
//! hand-written `modules.dep` whose lists are not complete or not in depmod's order still
//! yields a valid order. The walk uses an explicit stack (no recursion), so no input can
//! overflow the stack.
//!
//! Hard-dependency cycles are an error naming the cycle. A soft dependency that would
//! close a cycle, is blocklisted, or cannot be found is dropped with a warning: soft
//! dependencies are best effort.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::PathBuf;

use crate::db::{ModuleDb, Resolution};
use crate::error::ModprobeError;
use crate::name::canonical_name;

/// How to build a plan.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Apply `modules.blocklist` (AOSP: always in the first stage, `-b` on the CLI): a
    /// blocklisted requested module is skipped, and so is a requested module whose hard
    /// dependencies include a blocklisted one (reported, not a failure: AOSP's
    /// `IsBlocklisted` counts the dependencies too).
    pub blocklist: bool,
    /// Extra parameters per module, appended after its `modules.options` parameters:
    /// (module name or alias as requested, parameter string). An alias applies to every
    /// module it resolves to.
    pub extra_params: Vec<(String, String)>,
}

/// One module of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedModule {
    /// Canonical name.
    pub name: String,
    /// The `.ko` file.
    pub path: PathBuf,
    /// Parameters for `finit_module`: `modules.options`, then extra parameters.
    pub params: String,
    /// Indices (in the plan, all smaller than this module's) of the hard dependencies its
    /// `modules.dep` line lists (for depmod output that is the full transitive set): if
    /// one of them does not load, this module is skipped.
    pub deps: Vec<usize>,
    /// Indices of modules that must have been *attempted* first (soft dependencies:
    /// `pre:` ones of this module, and the module this one is a `post:` dependency of).
    pub after: Vec<usize>,
    /// True if the module is only in the plan as (a dependency of) a soft dependency: its
    /// failure is reported but does not fail the pass.
    pub soft: bool,
    /// Size of the module file in bytes when the plan was made (0 if it could not be
    /// read): the executor's estimate of how long the module takes to load.
    pub size: u64,
    /// The plan index (smaller than this module's) of the module this one is only here
    /// for as a `post:` soft dependency, directly or as a dependency of one: it is loaded
    /// only if that module loaded, as AOSP loads post: soft dependencies only after their
    /// module succeeded. `None` when anything else wants it.
    pub post_of: Option<usize>,
}

/// Why a module is not loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// It is in `modules.blocklist` (not a failure).
    Blocklisted,
    /// One of its hard dependencies (named) is blocklisted (not a failure, as in AOSP).
    BlocklistedDependency(String),
    /// One of its hard dependencies (named) failed or was skipped.
    DependencyFailed(String),
    /// It is only wanted as a `post:` soft dependency of the named module, which did not
    /// load (not a failure).
    PostSoftDependencyOf(String),
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Blocklisted => write!(f, "blocklisted"),
            SkipReason::BlocklistedDependency(dep) => {
                write!(f, "depends on blocklisted module {dep}")
            }
            SkipReason::DependencyFailed(dep) => write!(f, "dependency {dep} did not load"),
            SkipReason::PostSoftDependencyOf(owner) => {
                write!(f, "post: soft dependency of {owner}, which did not load")
            }
        }
    }
}

/// A load plan; see the module documentation for the order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// The modules to load, in load order.
    pub modules: Vec<PlannedModule>,
    /// Requested modules that are not loaded because of the blocklist.
    pub skipped: Vec<(String, SkipReason)>,
    /// Requested names that are neither a module, an alias nor a built-in.
    pub unresolved: Vec<String>,
    /// Requested names that are built into the kernel (nothing to load).
    pub builtin: Vec<String>,
    /// Dropped soft dependencies and similar notes.
    pub warnings: Vec<String>,
}

impl Plan {
    /// Index of the module called `name` (any spelling) in [`Plan::modules`].
    pub fn index_of(&self, name: &str) -> Option<usize> {
        let name = canonical_name(name);
        self.modules.iter().position(|m| m.name == name)
    }
}

impl ModuleDb {
    /// Builds the load plan for `names` (module names, paths or aliases), in order.
    ///
    /// Errors only for a hard-dependency cycle. Unknown names, built-ins and blocklisted
    /// modules are recorded in the plan instead, so everything else can still load.
    pub fn plan(&self, names: &[&str], opts: &PlanOptions) -> Result<Plan, ModprobeError> {
        let mut planner = Planner::new(self, opts);
        for name in names {
            planner.request(name)?;
        }
        Ok(planner.finish())
    }
}

/// Where a frame of the walk is.
#[derive(Debug, Clone, Copy)]
enum Stage {
    /// Visiting hard dependencies; the number of `deps` entries not yet visited
    /// (they are visited from the last one to the first).
    Deps(usize),
    /// Visiting `pre:` soft dependencies; the next one.
    Pre(usize),
    /// All before-dependencies are placed: place the module.
    Place,
    /// Visiting `post:` soft dependencies; the next one.
    Post(usize),
}

#[derive(Debug)]
struct Frame<'a> {
    name: String,
    deps: &'a [String],
    pre: Vec<String>,
    post: Vec<String>,
    stage: Stage,
    /// Plan index this module must come after (it is that module's `post:` dependency).
    after: Option<usize>,
    /// The module whose loading this frame's module is conditional on
    /// ([`PlannedModule::post_of`]).
    gate: Option<usize>,
}

struct Planner<'a> {
    db: &'a ModuleDb,
    opts: &'a PlanOptions,
    plan: Plan,
    index: HashMap<String, usize>,
    in_progress: HashSet<String>,
    /// Memo for [`Planner::first_blocklisted`]: `Some(dep)` or `None` per finished module.
    blocked_memo: HashMap<String, Option<String>>,
    extra: HashMap<String, Vec<String>>,
    requested: Vec<String>,
    /// Everything already in one of the plan's name lists, to keep them duplicate-free.
    listed: HashSet<String>,
}

const NO_DEPS: &[String] = &[];

impl<'a> Planner<'a> {
    fn new(db: &'a ModuleDb, opts: &'a PlanOptions) -> Self {
        let mut extra: HashMap<String, Vec<String>> = HashMap::new();
        for (name, params) in &opts.extra_params {
            let params = params.trim();
            if params.is_empty() {
                continue;
            }
            let mut targets = vec![canonical_name(name)];
            if let Resolution::Modules(found) = db.resolve(name) {
                targets.extend(found);
            }
            targets.sort();
            targets.dedup();
            for target in targets {
                extra.entry(target).or_default().push(params.to_owned());
            }
        }
        Planner {
            db,
            opts,
            plan: Plan::default(),
            index: HashMap::new(),
            in_progress: HashSet::new(),
            blocked_memo: HashMap::new(),
            extra,
            requested: Vec::new(),
            listed: HashSet::new(),
        }
    }

    fn deps_of(&self, name: &str) -> &'a [String] {
        let db: &'a ModuleDb = self.db;
        db.module(name).map_or(NO_DEPS, |m| m.deps.as_slice())
    }

    fn request(&mut self, name: &str) -> Result<(), ModprobeError> {
        match self.db.resolve(name) {
            Resolution::NotFound => {
                if self.listed.insert(format!("unresolved:{name}")) {
                    self.plan.unresolved.push(name.to_owned());
                }
            }
            Resolution::Builtin(module) => {
                if self.listed.insert(format!("builtin:{module}")) {
                    self.plan.builtin.push(module);
                }
            }
            Resolution::Modules(modules) => {
                for module in modules {
                    if let Some(reason) = self.blocked(&module)? {
                        if self.listed.insert(format!("skipped:{module}")) {
                            self.plan.skipped.push((module, reason));
                        }
                        continue;
                    }
                    self.visit(&module)?;
                    if self.listed.insert(format!("requested:{module}")) {
                        self.requested.push(module);
                    }
                }
            }
        }
        Ok(())
    }

    /// With the blocklist on: why `module` must not load, if it must not.
    fn blocked(&mut self, module: &str) -> Result<Option<SkipReason>, ModprobeError> {
        if !self.opts.blocklist {
            return Ok(None);
        }
        if self.db.is_blocklisted(module) {
            return Ok(Some(SkipReason::Blocklisted));
        }
        Ok(self
            .first_blocklisted(module)?
            .map(SkipReason::BlocklistedDependency))
    }

    /// The first blocklisted module among the hard dependencies of `module`, searched
    /// transitively (dependencies in `modules.dep` order, depth first). Memoised, so
    /// asking for every module of a tree costs time linear in the size of `modules.dep`.
    fn first_blocklisted(&mut self, module: &str) -> Result<Option<String>, ModprobeError> {
        if let Some(found) = self.blocked_memo.get(module) {
            return Ok(found.clone());
        }
        // Depth-first, finishing each node after its dependencies; `on_path` detects cycles.
        let mut on_path: HashSet<String> = HashSet::new();
        let mut stack: Vec<(String, usize)> = vec![(module.to_owned(), 0)];
        on_path.insert(module.to_owned());
        while let Some((node, next)) = stack.last_mut() {
            let deps = self.deps_of(node);
            let Some(dep) = deps.get(*next) else {
                // All dependencies finished: combine their answers in list order.
                let answer = deps.iter().find_map(|d| {
                    if self.db.is_blocklisted(d) {
                        Some(d.clone())
                    } else {
                        self.blocked_memo.get(d).cloned().flatten()
                    }
                });
                let node = node.clone();
                stack.pop();
                on_path.remove(&node);
                self.blocked_memo.insert(node, answer);
                continue;
            };
            *next += 1;
            if self.blocked_memo.contains_key(dep) {
                continue;
            }
            if on_path.contains(dep) {
                let start = stack.iter().position(|(n, _)| n == dep).unwrap_or(0);
                let mut cycle: Vec<String> =
                    stack.iter().skip(start).map(|(n, _)| n.clone()).collect();
                cycle.push(dep.clone());
                return Err(ModprobeError::Cycle { cycle });
            }
            on_path.insert(dep.clone());
            stack.push((dep.clone(), 0));
        }
        Ok(self.blocked_memo.get(module).cloned().flatten())
    }

    /// A module in the hard-dependency closure of `module` that is being visited (so
    /// adding `module` now would close a cycle), if any.
    fn closure_in_progress(&self, module: &str) -> Option<String> {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut todo: Vec<&str> = vec![module];
        while let Some(node) = todo.pop() {
            for dep in self.deps_of(node) {
                if self.in_progress.contains(dep) {
                    return Some(dep.clone());
                }
                if seen.insert(dep) {
                    todo.push(dep);
                }
            }
        }
        None
    }

    fn frame(&mut self, name: &str, after: Option<usize>, gate: Option<usize>) -> Frame<'a> {
        let db: &'a ModuleDb = self.db;
        let mut pre = Vec::new();
        let mut post = Vec::new();
        for softdep in db.softdeps(name) {
            for (names, out) in [(&softdep.pre, &mut pre), (&softdep.post, &mut post)] {
                for wanted in names {
                    match db.resolve(wanted) {
                        Resolution::Modules(found) => {
                            for module in found {
                                if !out.contains(&module) {
                                    out.push(module);
                                }
                            }
                        }
                        Resolution::Builtin(_) => {}
                        Resolution::NotFound => self.plan.warnings.push(format!(
                            "{}: soft dependency {wanted} of {name} not found; ignored",
                            softdep.location
                        )),
                    }
                }
            }
        }
        let deps = self.deps_of(name);
        Frame {
            name: name.to_owned(),
            deps,
            pre,
            post,
            stage: Stage::Deps(deps.len()),
            after,
            gate,
        }
    }

    /// `module` (already placed) is also wanted with condition `gate`: unless that is the
    /// condition it already has, it and everything it needs become unconditional.
    fn want_again(&mut self, module: &str, gate: Option<usize>) {
        let Some(&index) = self.index.get(module) else {
            return;
        };
        let mut todo = vec![index];
        while let Some(i) = todo.pop() {
            let Some(m) = self.plan.modules.get_mut(i) else {
                continue;
            };
            let Some(old) = m.post_of else {
                continue;
            };
            if i == index && gate == Some(old) {
                return;
            }
            m.post_of = None;
            todo.extend(m.deps.iter().chain(&m.after).filter(|&&d| d != old));
        }
    }

    /// Can the soft dependency `dep` of `owner` be added? Warns when not.
    fn soft_ok(&mut self, dep: &str, owner: &str) -> Result<bool, ModprobeError> {
        let problem = if self.in_progress.contains(dep) {
            Some("it would close a dependency cycle".to_owned())
        } else if self.opts.blocklist && self.db.is_blocklisted(dep) {
            Some("it is blocklisted".to_owned())
        } else if let Some(b) = self
            .opts
            .blocklist
            .then(|| self.first_blocklisted(dep))
            .transpose()?
            .flatten()
        {
            Some(format!("it depends on blocklisted module {b}"))
        } else {
            self.closure_in_progress(dep)
                .map(|c| format!("it depends on {c}, which needs {owner}: a dependency cycle"))
        };
        match problem {
            Some(why) => {
                self.plan
                    .warnings
                    .push(format!("soft dependency {dep} of {owner} ignored: {why}"));
                Ok(false)
            }
            None => Ok(true),
        }
    }

    /// Places `root` and everything it needs, unless already placed.
    fn visit(&mut self, root: &str) -> Result<(), ModprobeError> {
        if self.index.contains_key(root) {
            self.want_again(root, None);
            return Ok(());
        }
        let first = self.frame(root, None, None);
        self.in_progress.insert(root.to_owned());
        let mut stack = vec![first];
        while let Some(frame) = stack.last_mut() {
            match frame.stage {
                Stage::Deps(0) => frame.stage = Stage::Pre(0),
                Stage::Deps(n) => {
                    frame.stage = Stage::Deps(n - 1);
                    let deps: &'a [String] = frame.deps;
                    let Some(dep) = deps.get(n - 1) else {
                        continue;
                    };
                    if self.index.contains_key(dep) {
                        let gate = frame.gate;
                        self.want_again(dep, gate);
                        continue;
                    }
                    if self.in_progress.contains(dep) {
                        let start = stack.iter().position(|f| f.name == *dep).unwrap_or(0);
                        let mut cycle: Vec<String> =
                            stack.iter().skip(start).map(|f| f.name.clone()).collect();
                        cycle.push(dep.clone());
                        return Err(ModprobeError::Cycle { cycle });
                    }
                    let gate = frame.gate;
                    let next = self.frame(dep, None, gate);
                    self.in_progress.insert(dep.clone());
                    stack.push(next);
                }
                Stage::Pre(i) => {
                    let Some(dep) = frame.pre.get(i).cloned() else {
                        frame.stage = Stage::Place;
                        continue;
                    };
                    frame.stage = Stage::Pre(i + 1);
                    let owner = frame.name.clone();
                    let gate = frame.gate;
                    if self.index.contains_key(&dep) {
                        self.want_again(&dep, gate);
                    } else if self.soft_ok(&dep, &owner)? {
                        let next = self.frame(&dep, None, gate);
                        self.in_progress.insert(dep);
                        stack.push(next);
                    }
                }
                Stage::Place => {
                    frame.stage = Stage::Post(0);
                    let name = frame.name.clone();
                    let after: Vec<usize> = frame
                        .pre
                        .iter()
                        .filter_map(|p| self.index.get(p).copied())
                        .chain(frame.after)
                        .chain(frame.gate)
                        .collect();
                    let gate = frame.gate;
                    self.place(&name, after, gate);
                    self.in_progress.remove(&name);
                }
                Stage::Post(i) => {
                    let Some(dep) = frame.post.get(i).cloned() else {
                        stack.pop();
                        continue;
                    };
                    frame.stage = Stage::Post(i + 1);
                    let owner = frame.name.clone();
                    let owner_index = self.index.get(&owner).copied();
                    if self.index.contains_key(&dep) {
                        self.want_again(&dep, owner_index);
                    } else if self.soft_ok(&dep, &owner)? {
                        let next = self.frame(&dep, owner_index, owner_index);
                        self.in_progress.insert(dep);
                        stack.push(next);
                    }
                }
            }
        }
        Ok(())
    }

    fn place(&mut self, name: &str, mut after: Vec<usize>, post_of: Option<usize>) {
        let mut deps: Vec<usize> = self
            .deps_of(name)
            .iter()
            .filter_map(|d| self.index.get(d).copied())
            .collect();
        deps.sort_unstable();
        deps.dedup();
        after.sort_unstable();
        after.dedup();
        after.retain(|a| deps.binary_search(a).is_err());
        let path = self
            .db
            .module(name)
            .map(|m| m.path.clone())
            .unwrap_or_default();
        // Not following a symbolic link, as the loader will not either.
        let size = std::fs::symlink_metadata(&path).map_or(0, |m| m.len());
        let mut params: Vec<&str> = Vec::new();
        if let Some(options) = self.db.options(name).filter(|o| !o.is_empty()) {
            params.push(options);
        }
        if let Some(extra) = self.extra.get(name) {
            params.extend(extra.iter().map(String::as_str));
        }
        let params = params.join(" ");
        let index = self.plan.modules.len();
        self.plan.modules.push(PlannedModule {
            name: name.to_owned(),
            path,
            params,
            deps,
            after,
            soft: true,
            size,
            post_of,
        });
        self.index.insert(name.to_owned(), index);
    }

    /// Marks as hard every requested module and everything it needs (one linear pass).
    fn finish(mut self) -> Plan {
        let mut hard: HashSet<&str> = HashSet::new();
        let mut todo: Vec<&str> = self.requested.iter().map(String::as_str).collect();
        while let Some(module) = todo.pop() {
            if hard.insert(module) {
                todo.extend(self.deps_of(module).iter().map(String::as_str));
            }
        }
        for module in &mut self.plan.modules {
            module.soft = !hard.contains(module.name.as_str());
        }
        self.plan
    }
}
