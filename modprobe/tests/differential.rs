//! Differential test against kmod on a real kernel's module tree.
//!
//! The tree is `$MICRODROID_TEST_MODULES_DIR`, a `<root>/lib/modules/<version>` directory
//! on which depmod was run (the lead's xtask exports it after fetching Debian kernels).
//! Without the variable the test prints `SKIPPED: MICRODROID_TEST_MODULES_DIR not set`
//! and passes.
//!
//! Two oracles, both libkmod:
//! * libkmod itself (linked directly: `kmod_module_get_dependencies`,
//!   `kmod_module_get_softdeps`), which reads depmod's binary indexes
//!   (`modules.dep.bin`, `modules.alias.bin`) rather than the text files we parse;
//! * kmod's `modprobe --show-depends -C <empty dir> -d ROOT -S VERSION NAME`, the exact
//!   load order kmod would use (an empty config directory keeps the host's
//!   `/etc/modprobe.d` out; `modules.softdep` of the tree is still read).
//!
//! "Agree" means, for every module M listed in `modules.dep`, with P our plan for `[M]`
//! and K kmod's `insmod` lines (first occurrences; `builtin` lines dropped):
//! 1. P is a valid order: every module after its hard dependencies and soft
//!    `after` constraints;
//! 2. the hard part of P (entries not marked `soft`) is exactly {M} ∪ libkmod's
//!    dependency list of M, and each module's dependency list and path equal libkmod's
//!    (its list order reversed, as libkmod stores it);
//! 3. every module kmod loads, we load: set(K) ⊆ set(P);
//! 4. if no module of P has more than one `modules.softdep` line naming soft
//!    dependencies (kmod reads only the first such line per module, we read all, see
//!    DESIGN.md §5), P equals K exactly, as ordered lists of paths; in particular this
//!    holds for every module without soft dependencies;
//! 5. otherwise P restricted to K's modules is K, in K's order (the extra modules are the
//!    soft dependencies of the later lines);
//! 6. for every module whose soft dependencies come from a single line, our resolution
//!    of its `pre:`/`post:` names (module name, else every `modules.alias` glob match)
//!    equals libkmod's, ignoring built-in modules.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ffi::{CStr, CString};
use std::io::Write;
use std::os::raw::{c_char, c_int};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use modprobe::{ModuleDb, Plan, PlanOptions, Resolution};

/// Minimal libkmod bindings (from `libkmod.h`; libkmod-dev provides `libkmod.so`).
mod libkmod {
    use std::os::raw::{c_char, c_int};

    #[repr(C)]
    pub struct Ctx {
        _opaque: [u8; 0],
    }
    #[repr(C)]
    pub struct Module {
        _opaque: [u8; 0],
    }
    #[repr(C)]
    pub struct List {
        _opaque: [u8; 0],
    }

    #[link(name = "kmod")]
    extern "C" {
        pub fn kmod_new(dirname: *const c_char, config_paths: *const *const c_char) -> *mut Ctx;
        pub fn kmod_unref(ctx: *mut Ctx) -> *mut Ctx;
        pub fn kmod_module_new_from_name(
            ctx: *mut Ctx,
            name: *const c_char,
            module: *mut *mut Module,
        ) -> c_int;
        pub fn kmod_module_unref(module: *mut Module) -> *mut Module;
        pub fn kmod_module_get_dependencies(module: *const Module) -> *mut List;
        pub fn kmod_module_get_softdeps(
            module: *const Module,
            pre: *mut *mut List,
            post: *mut *mut List,
        ) -> c_int;
        pub fn kmod_module_unref_list(list: *mut List) -> c_int;
        pub fn kmod_list_next(list: *const List, curr: *const List) -> *mut List;
        pub fn kmod_module_get_module(entry: *const List) -> *mut Module;
        pub fn kmod_module_get_name(module: *const Module) -> *const c_char;
        pub fn kmod_module_get_path(module: *const Module) -> *const c_char;
    }
}

/// A libkmod context over one module directory, with an empty configuration.
struct Kmod {
    ctx: *mut libkmod::Ctx,
    // Kept alive for the context's lifetime (libkmod keeps the pointers).
    _strings: (CString, CString),
    _config: [*const c_char; 2],
}

/// What libkmod says about a module.
#[derive(Debug, Default)]
struct KmodModule {
    path: Option<String>,
    /// Dependency names in libkmod's list order.
    deps: Vec<String>,
    pre: BTreeSet<String>,
    post: BTreeSet<String>,
}

impl Kmod {
    fn new(dir: &Path, empty_config: &Path) -> Kmod {
        let dirname = CString::new(dir.to_str().unwrap()).unwrap();
        let config = CString::new(empty_config.to_str().unwrap()).unwrap();
        let paths = [config.as_ptr(), std::ptr::null()];
        // SAFETY: both strings are valid NUL-terminated C strings and the config array is
        // NULL-terminated; all three outlive the context (stored in the struct).
        let ctx = unsafe { libkmod::kmod_new(dirname.as_ptr(), paths.as_ptr()) };
        assert!(!ctx.is_null(), "kmod_new failed");
        Kmod {
            ctx,
            _strings: (dirname, config),
            _config: paths,
        }
    }

    /// Names and frees every module of a libkmod module list.
    fn names(list: *mut libkmod::List) -> Vec<String> {
        let mut out = Vec::new();
        let mut it = list;
        while !it.is_null() {
            // SAFETY: `it` is a live entry of `list`; get_module returns a new reference
            // that we release right after reading its (copied) name.
            unsafe {
                let m = libkmod::kmod_module_get_module(it);
                out.push(cstr(libkmod::kmod_module_get_name(m)).unwrap_or_default());
                libkmod::kmod_module_unref(m);
                it = libkmod::kmod_list_next(list, it);
            }
        }
        // SAFETY: the list came from libkmod and is not used after this.
        unsafe { libkmod::kmod_module_unref_list(list) };
        out
    }

    fn module(&self, name: &str) -> KmodModule {
        let cname = CString::new(name).unwrap();
        let mut m: *mut libkmod::Module = std::ptr::null_mut();
        // SAFETY: valid context and C string; `m` receives a new reference or stays null.
        let err = unsafe { libkmod::kmod_module_new_from_name(self.ctx, cname.as_ptr(), &mut m) };
        assert!(
            err == 0 && !m.is_null(),
            "kmod_module_new_from_name({name}) failed: {err}"
        );
        let mut out = KmodModule::default();
        let mut pre: *mut libkmod::List = std::ptr::null_mut();
        let mut post: *mut libkmod::List = std::ptr::null_mut();
        // SAFETY: `m` is a live module; the returned lists are owned by us and freed in
        // `names`; the path string is copied before the module is released.
        unsafe {
            out.path = cstr(libkmod::kmod_module_get_path(m));
            out.deps = Self::names(libkmod::kmod_module_get_dependencies(m));
            let rc: c_int = libkmod::kmod_module_get_softdeps(m, &mut pre, &mut post);
            assert_eq!(rc, 0, "kmod_module_get_softdeps({name})");
            out.pre = Self::names(pre).into_iter().collect();
            out.post = Self::names(post).into_iter().collect();
            libkmod::kmod_module_unref(m);
        }
        out
    }
}

impl Drop for Kmod {
    fn drop(&mut self) {
        // SAFETY: the context is live and not used after this.
        unsafe { libkmod::kmod_unref(self.ctx) };
    }
}

/// Copies a C string owned by libkmod.
///
/// # Safety
/// `p` must be null or point to a NUL-terminated string valid for the call.
unsafe fn cstr(p: *const c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        // SAFETY: guaranteed by the caller.
        Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }
}

fn find_kmod_modprobe() -> PathBuf {
    for candidate in [
        "/usr/sbin/modprobe",
        "/sbin/modprobe",
        "/usr/bin/modprobe",
        "/bin/modprobe",
    ] {
        if Path::new(candidate).is_file() {
            return PathBuf::from(candidate);
        }
    }
    panic!("kmod's modprobe not found (install the kmod package)");
}

/// kmod's load list for `name`: `insmod` paths (first occurrences), builtin names dropped.
fn kmod_show_depends(
    modprobe: &Path,
    config: &Path,
    root: &Path,
    version: &str,
    name: &str,
) -> Vec<String> {
    let out = Command::new(modprobe)
        .arg("-C")
        .arg(config)
        .arg("--show-depends")
        .arg("-d")
        .arg(root)
        .arg("-S")
        .arg(version)
        .arg(name)
        .output()
        .expect("run modprobe --show-depends");
    assert!(
        out.status.success(),
        "modprobe --show-depends {name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut seen = HashSet::new();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.strip_prefix("insmod "))
        .filter_map(|rest| rest.split_whitespace().next())
        .filter(|path| seen.insert(path.to_string()))
        .map(str::to_owned)
        .collect()
}

fn say(line: &str) {
    // Written to the process's stderr directly, so it shows without --nocapture.
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn paths(plan: &Plan) -> Vec<String> {
    plan.modules
        .iter()
        .map(|m| m.path.display().to_string())
        .collect()
}

#[test]
fn plans_agree_with_libkmod_on_a_real_module_tree() {
    let Some(dir) = std::env::var_os("MICRODROID_TEST_MODULES_DIR") else {
        say("SKIPPED: MICRODROID_TEST_MODULES_DIR not set");
        return;
    };
    let dir = PathBuf::from(dir);
    let version = dir
        .file_name()
        .and_then(|v| v.to_str())
        .expect("version")
        .to_owned();
    let lib_modules = dir.parent().expect("<root>/lib/modules");
    assert_eq!(
        lib_modules.file_name().and_then(|n| n.to_str()),
        Some("modules"),
        "{dir:?} is not <root>/lib/modules/<version>"
    );
    let root = lib_modules.parent().and_then(Path::parent).expect("root");

    let started = Instant::now();
    let db = ModuleDb::load(&dir).expect("load module tree");
    let parse_time = started.elapsed();
    let listed: Vec<String> = db
        .modules()
        .filter(|m| m.listed)
        .map(|m| m.name.clone())
        .collect();
    let dep_lines = std::fs::read_to_string(dir.join("modules.dep"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count();
    assert_eq!(
        listed.len(),
        dep_lines,
        "every modules.dep line is a module"
    );
    assert!(
        listed.len() > 100,
        "suspiciously small tree: {}",
        listed.len()
    );

    let wanted: Vec<&str> = listed.iter().map(String::as_str).collect();
    let started = Instant::now();
    let whole = db
        .plan(&wanted, &PlanOptions::default())
        .expect("plan every module");
    let plan_all_time = started.elapsed();
    assert_eq!(whole.modules.len(), listed.len());

    let config = tempfile::tempdir().unwrap();
    let kmod = Kmod::new(&dir, config.path());
    let modprobe = find_kmod_modprobe();

    // Oracle runs, two at a time (each is a process).
    let kmod_lists: HashMap<String, Vec<String>> = std::thread::scope(|s| {
        let halves: Vec<_> = listed
            .chunks(listed.len().div_ceil(2))
            .map(|chunk| {
                let (modprobe, config, root, version) = (&modprobe, config.path(), root, &version);
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|name| {
                            (
                                name.clone(),
                                kmod_show_depends(modprobe, config, root, version, name),
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        halves.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });

    let multi_line = |name: &str| {
        db.softdeps(name)
            .iter()
            .filter(|s| !s.pre.is_empty() || !s.post.is_empty())
            .count()
            > 1
    };
    let (mut exact, mut superset, mut softdep_checked) = (0usize, 0usize, 0usize);
    let mut plan_each_time = std::time::Duration::ZERO;
    for name in &listed {
        let started = Instant::now();
        let plan = db.plan(&[name], &PlanOptions::default()).expect("plan");
        plan_each_time += started.elapsed();

        // 1. Valid order.
        for (i, m) in plan.modules.iter().enumerate() {
            for &d in m.deps.iter().chain(&m.after) {
                assert!(d < i, "{name}: {} before its dependency", m.name);
            }
        }

        // 2. Hard part and per-module dependency lists equal libkmod's.
        let k = kmod.module(name);
        let ours = db.module(name).unwrap();
        assert_eq!(
            k.path.as_deref(),
            Some(ours.path.to_str().unwrap()),
            "{name}: path"
        );
        let mut reversed = ours.deps.clone();
        reversed.reverse();
        assert_eq!(k.deps, reversed, "{name}: dependency list");
        let hard: BTreeSet<&str> = plan
            .modules
            .iter()
            .filter(|m| !m.soft)
            .map(|m| m.name.as_str())
            .collect();
        let mut expected: BTreeSet<&str> = k.deps.iter().map(String::as_str).collect();
        expected.insert(name);
        assert_eq!(hard, expected, "{name}: hard dependencies");

        // 3.-5. Against kmod's load order.
        let kmod_order = &kmod_lists[name];
        let ours = paths(&plan);
        let ours_set: HashSet<&String> = ours.iter().collect();
        for p in kmod_order {
            assert!(
                ours_set.contains(p),
                "{name}: kmod loads {p}, we do not\nours: {ours:?}\nkmod: {kmod_order:?}"
            );
        }
        if plan.modules.iter().any(|m| multi_line(&m.name)) {
            let kmod_set: HashSet<&String> = kmod_order.iter().collect();
            let restricted: Vec<&String> = ours.iter().filter(|p| kmod_set.contains(p)).collect();
            let kmod_refs: Vec<&String> = kmod_order.iter().collect();
            assert_eq!(restricted, kmod_refs, "{name}: relative order");
            superset += 1;
        } else {
            assert_eq!(&ours, kmod_order, "{name}: load order");
            exact += 1;
        }

        // 6. Soft dependency resolution, for modules with a single softdep line.
        let lines = db.softdeps(name);
        if lines.len() == 1 {
            let resolve = |names: &[String]| -> BTreeSet<String> {
                names
                    .iter()
                    .flat_map(|n| match db.resolve(n) {
                        Resolution::Modules(found) => found,
                        _ => Vec::new(),
                    })
                    .collect()
            };
            let known = |set: &BTreeSet<String>| -> BTreeSet<String> {
                set.iter()
                    .filter(|m| db.module(m).is_some())
                    .cloned()
                    .collect()
            };
            assert_eq!(
                resolve(&lines[0].pre),
                known(&k.pre),
                "{name}: pre: soft dependencies"
            );
            assert_eq!(
                resolve(&lines[0].post),
                known(&k.post),
                "{name}: post: soft dependencies"
            );
            softdep_checked += 1;
        }
    }
    assert_eq!(exact + superset, listed.len());
    say(&format!(
        "differential: {} modules of {}: {exact} in exactly kmod's order, {superset} with extra soft dependencies (kmod reads one softdep line) in kmod's relative order, {softdep_checked} softdep resolutions equal to libkmod's",
        listed.len(),
        dir.display()
    ));
    say(&format!(
        "timing: parse {:.2} ms, plan of all {} modules {:.2} ms, {} single-module plans {:.2} ms total",
        parse_time.as_secs_f64() * 1e3,
        listed.len(),
        plan_all_time.as_secs_f64() * 1e3,
        listed.len(),
        plan_each_time.as_secs_f64() * 1e3
    ));
}
