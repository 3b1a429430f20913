//! Executing a [`Plan`]: loads modules on worker threads, each as soon as everything it
//! must follow has been dealt with, never the same module twice at once.
//!
//! A module is *ready* when all its `deps` and `after` entries are finished. A ready
//! module whose hard dependency failed (or was skipped) is skipped and names the first
//! such dependency; the rest of the plan still loads. The report lists modules in plan
//! order whatever the thread interleaving, records when each load ran
//! ([`ModuleTiming`]), and names the dependency chain whose load times add up to the most
//! ([`CriticalPath`]: the floor of the pass, however many workers).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::errno::LoadErrno;
use crate::graph::Graph;
use crate::loader::ModuleLoader;
use crate::plan::{Plan, SkipReason};

/// One module that did not load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadFailure {
    /// Canonical module name (or the requested name, for a name that resolved to nothing).
    pub module: String,
    /// The module file (empty for a name that resolved to nothing).
    pub path: PathBuf,
    /// The failed step and errno.
    pub errno: LoadErrno,
    /// Human-readable description: step, errno name and its meaning.
    pub message: String,
    /// True for a module that was only wanted as a soft dependency (best effort: does not
    /// fail the pass).
    pub soft: bool,
}

impl fmt::Display for LoadFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.soft { "soft dependency " } else { "" };
        if self.path.as_os_str().is_empty() {
            write!(f, "{kind}{}: {}", self.module, self.message)
        } else {
            write!(
                f,
                "{kind}{} ({}): {}",
                self.module,
                self.path.display(),
                self.message
            )
        }
    }
}

/// The outcome of [`execute`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Modules inserted by this pass, in plan order.
    pub loaded: Vec<String>,
    /// Modules the kernel already had (`EEXIST`), in plan order.
    pub already_loaded: Vec<String>,
    /// Modules that failed (and requested names that matched nothing).
    pub failed: Vec<LoadFailure>,
    /// Modules not attempted: blocklisted, depending on a blocklisted module, or
    /// depending on a module that did not load.
    pub skipped: Vec<(String, SkipReason)>,
    /// Requested modules that are built into the kernel.
    pub builtin: Vec<String>,
    /// Wall-clock time of the pass.
    pub elapsed: Duration,
    /// One entry per module handed to the loader, in the order the loads started.
    pub timings: Vec<ModuleTiming>,
    /// The dependency chain whose measured load times add up to the most.
    pub critical_path: CriticalPath,
}

/// The chain of modules, each waiting for the previous one, with the largest sum of
/// measured load times: no number of workers could have finished the pass sooner than
/// [`CriticalPath::total`] (at the load times measured in this pass).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CriticalPath {
    /// Canonical names, first to last.
    pub modules: Vec<String>,
    /// Sum of their load times.
    pub total: Duration,
}

impl fmt::Display for CriticalPath {
    /// `ms=T chain=a>b>c`, milliseconds with one decimal.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ms={:.1} chain={}",
            self.total.as_secs_f64() * 1000.0,
            self.modules.join(">")
        )
    }
}

/// When one module's load ran, relative to the start of the pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleTiming {
    /// Canonical module name.
    pub module: String,
    /// When the loader was called, from the start of [`execute`].
    pub start: Duration,
    /// How long the loader took (for the kernel loader: open plus `finit_module`, which
    /// includes reading the file and running the module's init function).
    pub duration: Duration,
    /// Which worker ran it (0 is the calling thread).
    pub worker: usize,
}

impl fmt::Display for ModuleTiming {
    /// `module=NAME start_ms=S ms=D worker=W`, milliseconds with one decimal.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "module={} start_ms={:.1} ms={:.1} worker={}",
            self.module,
            self.start.as_secs_f64() * 1000.0,
            self.duration.as_secs_f64() * 1000.0,
            self.worker
        )
    }
}

impl LoadReport {
    /// True unless a module that was not just a soft dependency failed. Skipped modules
    /// do not count: blocklisted ones (or depending on one) by design, as in AOSP, and one
    /// skipped because a dependency did not load is decided by that dependency's failure.
    pub fn is_success(&self) -> bool {
        self.failed.iter().all(|f| f.soft)
    }
}

impl fmt::Display for LoadReport {
    /// One line per failure, then one per skipped module.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for failure in &self.failed {
            writeln!(f, "failed: {failure}")?;
        }
        for (module, reason) in &self.skipped {
            writeln!(f, "skipped: {module}: {reason}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
enum Outcome {
    Loaded,
    AlreadyLoaded,
    Failed(LoadErrno),
    Skipped(SkipReason),
}

impl Outcome {
    fn ok(&self) -> bool {
        matches!(self, Outcome::Loaded | Outcome::AlreadyLoaded)
    }
}

struct State {
    /// Unfinished predecessors per module.
    waiting: Vec<usize>,
    /// Ready modules: highest priority first, then lowest plan index.
    ready: BinaryHeap<(u64, Reverse<usize>)>,
    outcome: Vec<Option<Outcome>>,
    timings: Vec<ModuleTiming>,
    /// Load time per plan index (zero for modules never handed to the loader).
    durations: Vec<Duration>,
    finished: usize,
}

struct Shared<'p> {
    plan: &'p Plan,
    graph: Graph,
    /// Scheduling priority per module (all zero: plan order).
    priority: Vec<u64>,
    start: Instant,
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared<'_> {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn make_ready(&self, state: &mut State, index: usize) {
        let priority = self.priority.get(index).copied().unwrap_or(0);
        state.ready.push((priority, Reverse(index)));
    }

    fn finish(&self, state: &mut State, index: usize, outcome: Outcome) {
        if let Some(slot) = state.outcome.get_mut(index) {
            *slot = Some(outcome);
        }
        state.finished += 1;
        for &next in self
            .graph
            .dependents
            .get(index)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            if let Some(w) = state.waiting.get_mut(next) {
                *w = w.saturating_sub(1);
                if *w == 0 {
                    self.make_ready(state, next);
                }
            }
        }
        self.wake.notify_all();
    }

    /// Why `index` must be skipped, if one of its hard dependencies did not load, or it
    /// is a post: soft dependency of a module that did not load.
    fn blocked(&self, state: &State, index: usize) -> Option<SkipReason> {
        if let Some(bad) = self.graph.invalid.get(index).copied().flatten() {
            return Some(SkipReason::DependencyFailed(format!(
                "#{bad} (not earlier in the plan)"
            )));
        }
        let loaded = |d: usize| {
            state
                .outcome
                .get(d)
                .and_then(Option::as_ref)
                .is_some_and(Outcome::ok)
        };
        let name = |d: usize| {
            self.plan
                .modules
                .get(d)
                .map_or("?", |m| m.name.as_str())
                .to_owned()
        };
        if let Some(gate) = self.graph.gate.get(index).copied().flatten() {
            if !loaded(gate) {
                return Some(SkipReason::PostSoftDependencyOf(name(gate)));
            }
        }
        let failed = self.graph.deps.get(index)?.iter().find(|&&d| !loaded(d))?;
        Some(SkipReason::DependencyFailed(name(*failed)))
    }

    fn worker(&self, loader: &dyn ModuleLoader, worker: usize) {
        let total = self.plan.modules.len();
        let mut state = self.lock();
        loop {
            if state.finished >= total {
                return;
            }
            let Some((_, Reverse(index))) = state.ready.pop() else {
                state = self
                    .wake
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                continue;
            };
            if let Some(reason) = self.blocked(&state, index) {
                self.finish(&mut state, index, Outcome::Skipped(reason));
                continue;
            }
            let Some(module) = self.plan.modules.get(index) else {
                let reason = SkipReason::DependencyFailed("(no such plan entry)".to_owned());
                self.finish(&mut state, index, Outcome::Skipped(reason));
                continue;
            };
            drop(state);
            let started = Instant::now();
            let outcome = match loader.load(&module.path, &module.params) {
                Ok(()) => Outcome::Loaded,
                Err(e) if e.is_already_loaded() => Outcome::AlreadyLoaded,
                Err(e) => Outcome::Failed(e),
            };
            let duration = started.elapsed();
            state = self.lock();
            if let Some(d) = state.durations.get_mut(index) {
                *d = duration;
            }
            state.timings.push(ModuleTiming {
                module: module.name.clone(),
                start: started.saturating_duration_since(self.start),
                duration,
                worker,
            });
            self.finish(&mut state, index, outcome);
        }
    }
}

/// Loads every module of `plan` with `loader` on up to `threads` threads (0 counts as 1;
/// the calling thread is one of them).
///
/// A module starts once every module it must follow has finished. With one thread the
/// modules load exactly in plan order (kmod's order); with more, a free worker takes the
/// ready module with the highest [`Plan::priorities`] (longest chain of dependents
/// first), so long dependency chains start early.
///
/// Modules whose hard dependency did not load are skipped and reported; everything
/// else still loads. Each plan entry is submitted at most once, and an entry that repeats
/// an earlier one's name is only started after it (so no module is ever inserted twice
/// concurrently).
pub fn execute(plan: &Plan, loader: &dyn ModuleLoader, threads: usize) -> LoadReport {
    let start = Instant::now();
    let n = plan.modules.len();
    let threads = threads.clamp(1, n.max(1));
    let graph = Graph::new(plan);
    // One worker loads everything one after the other whatever the order: keep the
    // plan order, which is the one kmod uses.
    let priority = if threads > 1 {
        graph.priorities(plan)
    } else {
        vec![0; n]
    };
    let waiting = graph.waiting.clone();
    let shared = Shared {
        plan,
        graph,
        priority,
        start,
        state: Mutex::new(State {
            waiting,
            ready: BinaryHeap::with_capacity(n),
            outcome: vec![None; n],
            timings: Vec::with_capacity(n),
            durations: vec![Duration::ZERO; n],
            finished: 0,
        }),
        wake: Condvar::new(),
    };
    {
        let mut state = shared.lock();
        for i in 0..n {
            if state.waiting.get(i) == Some(&0) {
                shared.make_ready(&mut state, i);
            }
        }
    }

    std::thread::scope(|scope| {
        for worker in 1..threads {
            let shared = &shared;
            let spawned = std::thread::Builder::new()
                .name("modprobe-worker".into())
                .spawn_scoped(scope, move || shared.worker(loader, worker));
            if spawned.is_err() {
                // Fewer threads just means less parallelism; the caller's thread works too.
                break;
            }
        }
        shared.worker(loader, 0);
    });

    let state = shared
        .state
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    let mut timings = state.timings;
    timings.sort_by_key(|t| t.start);
    let chain = shared.graph.longest_chain(&state.durations);
    let critical_path = CriticalPath {
        total: chain.iter().filter_map(|&i| state.durations.get(i)).sum(),
        modules: chain
            .iter()
            .filter_map(|&i| plan.modules.get(i))
            .map(|m| m.name.clone())
            .collect(),
    };
    let mut report = LoadReport {
        timings,
        critical_path,
        skipped: plan.skipped.clone(),
        builtin: plan.builtin.clone(),
        ..LoadReport::default()
    };
    for name in &plan.unresolved {
        let errno = LoadErrno::not_found();
        report.failed.push(LoadFailure {
            module: name.clone(),
            path: PathBuf::new(),
            errno,
            message: errno.to_string(),
            soft: false,
        });
    }
    for (module, outcome) in plan.modules.iter().zip(state.outcome) {
        match outcome {
            Some(Outcome::Loaded) => report.loaded.push(module.name.clone()),
            Some(Outcome::AlreadyLoaded) => report.already_loaded.push(module.name.clone()),
            Some(Outcome::Failed(errno)) => report.failed.push(LoadFailure {
                module: module.name.clone(),
                path: module.path.clone(),
                errno,
                message: errno.to_string(),
                soft: module.soft,
            }),
            Some(Outcome::Skipped(reason)) => report.skipped.push((module.name.clone(), reason)),
            // Unreachable for a finished pass; reported rather than lost.
            None => report.skipped.push((
                module.name.clone(),
                SkipReason::DependencyFailed("(never became ready)".to_owned()),
            )),
        }
    }
    report.elapsed = start.elapsed();
    report
}
