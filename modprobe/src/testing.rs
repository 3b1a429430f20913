//! A recording fake [`ModuleLoader`] for tests (here and in crates that use this one):
//! it performs no system call, returns configured errors, and records every call, the
//! start/end order of loads, how many ran at once, and any module submitted while the
//! same module was still being inserted. Also [`planned_module`], for hand-made plans.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::errno::LoadErrno;
use crate::loader::ModuleLoader;
use crate::name::canonical_name;
use crate::plan::PlannedModule;

/// A hand-made plan entry: `/m/<name>.ko`, no parameters, hard `deps` and soft `after`
/// plan indices, not soft, unconditional, `size` bytes.
pub fn planned_module(name: &str, size: u64, deps: Vec<usize>, after: Vec<usize>) -> PlannedModule {
    PlannedModule {
        name: name.to_owned(),
        path: PathBuf::from(format!("/m/{name}.ko")),
        params: String::new(),
        deps,
        after,
        soft: false,
        size,
        post_of: None,
    }
}

/// One `load` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadCall {
    /// Canonical name derived from the path.
    pub name: String,
    /// The path passed in.
    pub path: PathBuf,
    /// The parameters passed in.
    pub params: String,
}

/// A load starting or ending, in the order they happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `load` was entered for this module.
    Start(String),
    /// `load` returned for this module.
    End(String),
}

/// Code run inside `load` between its start and end events (e.g. to block on a barrier).
pub type LoadHook = Box<dyn Fn(&str) + Send + Sync>;

#[derive(Default)]
struct Inner {
    load_results: HashMap<String, LoadErrno>,
    unload_results: HashMap<String, LoadErrno>,
    loads: Vec<LoadCall>,
    unloads: Vec<String>,
    events: Vec<Event>,
    running: HashSet<String>,
    overlapping: Vec<String>,
    max_in_flight: usize,
}

/// The recording fake loader. Every module loads successfully unless configured with
/// [`RecordingLoader::fail`].
#[derive(Default)]
pub struct RecordingLoader {
    inner: Mutex<Inner>,
    hook: Option<LoadHook>,
}

impl RecordingLoader {
    /// A loader on which everything succeeds.
    pub fn new() -> Self {
        Self::default()
    }

    /// A loader that runs `hook(module)` inside every `load`.
    pub fn with_hook(hook: LoadHook) -> Self {
        RecordingLoader {
            inner: Mutex::default(),
            hook: Some(hook),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes `load` of `module` fail with `errno` (an `EEXIST` from `finit_module`
    /// simulates an already-loaded module).
    pub fn fail(&self, module: &str, errno: LoadErrno) {
        self.lock()
            .load_results
            .insert(canonical_name(module), errno);
    }

    /// Makes `unload` of `module` fail with `errno`.
    pub fn fail_unload(&self, module: &str, errno: LoadErrno) {
        self.lock()
            .unload_results
            .insert(canonical_name(module), errno);
    }

    /// Every `load` call, in call order.
    pub fn loads(&self) -> Vec<LoadCall> {
        self.lock().loads.clone()
    }

    /// Names of the modules `load` was called for, in call order.
    pub fn loaded_names(&self) -> Vec<String> {
        self.lock().loads.iter().map(|c| c.name.clone()).collect()
    }

    /// Start and end events of loads, in the order they happened.
    pub fn events(&self) -> Vec<Event> {
        self.lock().events.clone()
    }

    /// Modules whose `load` was entered while a `load` of the same module was running.
    pub fn overlapping(&self) -> Vec<String> {
        self.lock().overlapping.clone()
    }

    /// The largest number of loads that were running at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.lock().max_in_flight
    }

    /// Every `unload` call, in call order.
    pub fn unloads(&self) -> Vec<String> {
        self.lock().unloads.clone()
    }
}

impl ModuleLoader for RecordingLoader {
    fn load(&self, path: &Path, params: &str) -> Result<(), LoadErrno> {
        let name = canonical_name(&path.to_string_lossy());
        let result = {
            let mut inner = self.lock();
            inner.loads.push(LoadCall {
                name: name.clone(),
                path: path.to_path_buf(),
                params: params.to_owned(),
            });
            inner.events.push(Event::Start(name.clone()));
            if !inner.running.insert(name.clone()) {
                inner.overlapping.push(name.clone());
            }
            inner.max_in_flight = inner.max_in_flight.max(inner.running.len());
            inner.load_results.get(&name).copied()
        };
        if let Some(hook) = &self.hook {
            hook(&name);
        }
        let mut inner = self.lock();
        inner.running.remove(&name);
        inner.events.push(Event::End(name));
        result.map_or(Ok(()), Err)
    }

    fn unload(&self, name: &str) -> Result<(), LoadErrno> {
        let mut inner = self.lock();
        inner.unloads.push(name.to_owned());
        inner
            .unload_results
            .get(&canonical_name(name))
            .copied()
            .map_or(Ok(()), Err)
    }
}
