//! Differential test against kmod on a real kernel's module tree.
//!
//! The trees are `$MICRODROID_TEST_MODULES_DIR` (and `$MICRODROID_TEST_MODULES_DIR_X86_64`),
//! each a `<root>/lib/modules/<version>` directory
//! on which depmod was run (the lead's xtask exports it after fetching Debian kernels).
//! Without the variable the test prints `SKIPPED: MICRODROID_TEST_MODULES_DIR not set`
//! and passes.
//!
//! Two oracles, both libkmod:
//! * libkmod itself (`dlopen`ed: `kmod_module_get_dependencies`,
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

/// Minimal libkmod bindings (from `libkmod.h`), loaded at run time with `dlopen` so the
/// test binary links (and skips) on hosts without libkmod.
mod libkmod {
    use std::os::raw::{c_char, c_int};

    use super::sym;

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

    /// The libkmod functions the test uses.
    pub struct Api {
        pub new: unsafe extern "C" fn(*const c_char, *const *const c_char) -> *mut Ctx,
        pub unref: unsafe extern "C" fn(*mut Ctx) -> *mut Ctx,
        pub module_new_from_name:
            unsafe extern "C" fn(*mut Ctx, *const c_char, *mut *mut Module) -> c_int,
        pub module_unref: unsafe extern "C" fn(*mut Module) -> *mut Module,
        pub module_get_dependencies: unsafe extern "C" fn(*const Module) -> *mut List,
        pub module_get_softdeps:
            unsafe extern "C" fn(*const Module, *mut *mut List, *mut *mut List) -> c_int,
        pub module_unref_list: unsafe extern "C" fn(*mut List) -> c_int,
        pub list_next: unsafe extern "C" fn(*const List, *const List) -> *mut List,
        pub module_get_module: unsafe extern "C" fn(*const List) -> *mut Module,
        pub module_get_name: unsafe extern "C" fn(*const Module) -> *const c_char,
        pub module_get_path: unsafe extern "C" fn(*const Module) -> *const c_char,
    }

    impl Api {
        /// Loads libkmod.so.2; panics with a clear message if it is missing.
        pub fn load() -> Api {
            // SAFETY: dlopen with a valid NUL-terminated name; the handle is never closed,
            // so the symbols stay valid for the whole test.
            let handle = unsafe { libc::dlopen(c"libkmod.so.2".as_ptr(), libc::RTLD_NOW) };
            assert!(
                !handle.is_null(),
                "libkmod.so.2 not found: install libkmod2 (libkmod-dev)"
            );
            // SAFETY: each name is the libkmod function whose C signature (libkmod.h) is
            // the type of the field it is stored in.
            unsafe {
                Api {
                    new: sym(handle, c"kmod_new"),
                    unref: sym(handle, c"kmod_unref"),
                    module_new_from_name: sym(handle, c"kmod_module_new_from_name"),
                    module_unref: sym(handle, c"kmod_module_unref"),
                    module_get_dependencies: sym(handle, c"kmod_module_get_dependencies"),
                    module_get_softdeps: sym(handle, c"kmod_module_get_softdeps"),
                    module_unref_list: sym(handle, c"kmod_module_unref_list"),
                    list_next: sym(handle, c"kmod_list_next"),
                    module_get_module: sym(handle, c"kmod_module_get_module"),
                    module_get_name: sym(handle, c"kmod_module_get_name"),
                    module_get_path: sym(handle, c"kmod_module_get_path"),
                }
            }
        }
    }
}

/// The symbol `name` of the library `handle`, as a function pointer of type `T`.
///
/// # Safety
/// `T` must be the function-pointer type matching the C declaration of `name`.
unsafe fn sym<T: Copy>(handle: *mut std::ffi::c_void, name: &CStr) -> T {
    assert_eq!(
        std::mem::size_of::<T>(),
        std::mem::size_of::<*mut std::ffi::c_void>()
    );
    // SAFETY: `handle` is a live dlopen handle and `name` is NUL-terminated.
    let p = unsafe { libc::dlsym(handle, name.as_ptr()) };
    assert!(!p.is_null(), "libkmod has no {name:?}");
    // SAFETY: sizes are equal (checked) and the caller guarantees the type.
    unsafe { std::mem::transmute_copy::<*mut std::ffi::c_void, T>(&p) }
}

/// A libkmod context over one module directory, with an empty configuration.
struct Kmod {
    api: libkmod::Api,
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
        let api = libkmod::Api::load();
        // SAFETY: both strings are valid NUL-terminated C strings and the config array is
        // NULL-terminated; all three outlive the context (stored in the struct).
        let ctx = unsafe { (api.new)(dirname.as_ptr(), paths.as_ptr()) };
        assert!(!ctx.is_null(), "kmod_new failed");
        Kmod {
            api,
            ctx,
            _strings: (dirname, config),
            _config: paths,
        }
    }

    /// Names and frees every module of a libkmod module list.
    fn names(&self, list: *mut libkmod::List) -> Vec<String> {
        let mut out = Vec::new();
        let mut it = list;
        while !it.is_null() {
            // SAFETY: `it` is a live entry of `list`; get_module returns a new reference
            // that we release right after reading its (copied) name.
            unsafe {
                let m = (self.api.module_get_module)(it);
                out.push(cstr((self.api.module_get_name)(m)).unwrap_or_default());
                (self.api.module_unref)(m);
                it = (self.api.list_next)(list, it);
            }
        }
        // SAFETY: the list came from libkmod and is not used after this.
        unsafe { (self.api.module_unref_list)(list) };
        out
    }

    fn module(&self, name: &str) -> KmodModule {
        let cname = CString::new(name).unwrap();
        let mut m: *mut libkmod::Module = std::ptr::null_mut();
        // SAFETY: valid context and C string; `m` receives a new reference or stays null.
        let err = unsafe { (self.api.module_new_from_name)(self.ctx, cname.as_ptr(), &mut m) };
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
            out.path = cstr((self.api.module_get_path)(m));
            out.deps = self.names((self.api.module_get_dependencies)(m));
            let rc: c_int = (self.api.module_get_softdeps)(m, &mut pre, &mut post);
            assert_eq!(rc, 0, "kmod_module_get_softdeps({name})");
            out.pre = self.names(pre).into_iter().collect();
            out.post = self.names(post).into_iter().collect();
            (self.api.module_unref)(m);
        }
        out
    }
}

impl Drop for Kmod {
    fn drop(&mut self) {
        // SAFETY: the context is live and not used after this.
        unsafe { (self.api.unref)(self.ctx) };
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
    check_tree(PathBuf::from(dir));
}

/// The second architecture's tree, when `cargo xtask test` provides it too.
#[test]
fn plans_agree_with_libkmod_on_the_other_architectures_tree() {
    let Some(dir) = std::env::var_os("MICRODROID_TEST_MODULES_DIR_X86_64") else {
        say("SKIPPED: MICRODROID_TEST_MODULES_DIR_X86_64 not set");
        return;
    };
    check_tree(PathBuf::from(dir));
}

fn check_tree(dir: PathBuf) {
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
