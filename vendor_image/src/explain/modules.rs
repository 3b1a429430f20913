//! The module passes, predicted: the first stage's own planning ([`kmods::pass_dir`],
//! [`kmods::prepare`]: `modules.load`, `modules.dep`, soft dependencies, options with the
//! command line's parameters, blocklist, cycles) and its own executor
//! ([`kmods::Prepared::execute`]) with a loader that answers as the guest's kernel will:
//! [`Predictor`] reads each module file (decompressing `.ko.xz`/`.ko.zst`/`.ko.gz`, as
//! the kernel does for `MODULE_INIT_COMPRESSED_FILE`) with [`modprobe::modinfo`] and
//! applies the checks `load_module` makes before any module code runs. The report lines
//! are [`kmods::counts_line`] and [`kmods::problem_lines`], with the host's directory
//! replaced by the guest's.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use boot_config::BootConfig;
use first_stage_init::kmods;
use modprobe::modinfo::{self, ModInfo};
use modprobe::{Errno, LoadErrno, ModuleLoader, SkipReason};

use crate::error::{io_err, Error, Result};
use crate::ext4::{self, Extracted};

/// The kernel the guest boots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelTarget {
    /// `uname -r`: picks the per-release module directory and is compared with each
    /// module's version magic.
    pub release: String,
    /// The kernel's own module tree (`/lib/modules/<release>`): its version magic and
    /// machine (read from its modules) and its `modules.builtin`.
    pub modules_dir: PathBuf,
}

/// What the kernel checks a module against, as far as its module tree tells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelFacts {
    /// `e_machine` of the kernel's modules.
    pub machine: Option<u16>,
    /// The kernel's version magic (its modules').
    pub vermagic: Option<String>,
    /// Modules built into the kernel (`modules.builtin`).
    pub builtin: BTreeSet<String>,
}

impl KernelFacts {
    /// Reads the facts of the module tree `dir`: the first module of its `modules.dep`
    /// that parses gives machine and version magic.
    pub fn read(dir: &Path) -> Result<KernelFacts> {
        let dep = std::fs::read_to_string(dir.join("modules.dep"))
            .map_err(io_err(format!("reading {}/modules.dep", dir.display())))?;
        let mut facts = KernelFacts::default();
        for rel in dep.lines().filter_map(|l| l.split(':').next()).take(32) {
            if let Ok(info) = read_module(&dir.join(rel)).map(|b| modinfo::parse(&b)) {
                let Ok(info) = info else { continue };
                facts.machine = Some(info.machine);
                facts.vermagic = info.vermagic().map(str::to_owned);
                break;
            }
        }
        if facts.vermagic.is_none() {
            return Err(Error::Invalid(format!(
                "no module of {}/modules.dep has a version magic",
                dir.display()
            )));
        }
        if let Ok(text) = std::fs::read_to_string(dir.join("modules.builtin")) {
            facts.builtin = text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(modprobe::name::canonical_name)
                .collect();
        }
        Ok(facts)
    }
}

/// A module file's bytes, decompressed as the kernel would (`.ko.xz`, `.ko.zst`,
/// `.ko.gz` through `xz`, `zstd`, `gzip`).
pub fn read_module(path: &Path) -> std::io::Result<Vec<u8>> {
    let name = path.to_string_lossy();
    let tool = [(".ko.xz", "xz"), (".ko.zst", "zstd"), (".ko.gz", "gzip")]
        .into_iter()
        .find(|(suffix, _)| name.ends_with(suffix))
        .map(|(_, tool)| tool);
    let Some(tool) = tool else {
        return std::fs::read(path);
    };
    let out = Command::new(tool).arg("-dc").arg(path).output()?;
    if !out.status.success() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{tool} -dc {}: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    Ok(out.stdout)
}

/// A [`ModuleLoader`] that loads nothing and answers what the guest's kernel will answer
/// for each module, in `load_module`'s order: the file (`open`: missing `ENOENT`, a
/// symbolic link `ELOOP` as the guest opens with `O_NOFOLLOW`), the ELF object and its
/// machine, the version magic (`same_magic`) — each `ENOEXEC` —, a module the first stage
/// already loaded (`EEXIST`), a module whose `depends=` names one that nothing loads
/// ("Unknown symbol": `ENOENT`), and its parameters (`EINVAL`/`ERANGE`).
pub struct Predictor {
    kernel: KernelFacts,
    loaded_before: BTreeSet<String>,
    available: BTreeSet<String>,
    notes: Mutex<Vec<String>>,
}

impl Predictor {
    /// A predictor for a pass over `plan` on `kernel`, after the modules `loaded_before`.
    pub fn new(kernel: KernelFacts, loaded_before: &[String], plan: &modprobe::Plan) -> Predictor {
        let loaded_before: BTreeSet<String> = loaded_before.iter().cloned().collect();
        let available = plan
            .modules
            .iter()
            .map(|m| m.name.clone())
            .chain(plan.builtin.iter().cloned())
            .chain(kernel.builtin.iter().cloned())
            .chain(loaded_before.iter().cloned())
            .collect();
        Predictor {
            kernel,
            loaded_before,
            available,
            notes: Mutex::new(Vec::new()),
        }
    }

    fn note(&self, s: String) {
        if let Ok(mut n) = self.notes.lock() {
            n.push(s);
        }
    }

    /// The notes gathered while predicting (unknown parameters, …), sorted.
    pub fn take_notes(&self) -> Vec<String> {
        let mut n = self.notes.lock().map(|n| n.clone()).unwrap_or_default();
        n.sort();
        n
    }
}

impl ModuleLoader for Predictor {
    fn load(&self, path: &Path, params: &str) -> std::result::Result<(), LoadErrno> {
        let meta = std::fs::symlink_metadata(path).map_err(|e| {
            LoadErrno::open(Errno::from_raw(
                e.raw_os_error().unwrap_or(Errno::ENOENT as i32),
            ))
        })?;
        if meta.file_type().is_symlink() {
            return Err(LoadErrno::open(Errno::ELOOP));
        }
        let name = modprobe::name::canonical_name(&path.to_string_lossy());
        let bytes = read_module(path).map_err(|e| {
            self.note(format!("{name}: {e}"));
            LoadErrno::finit(Errno::ENOEXEC)
        })?;
        let info = modinfo::parse(&bytes).map_err(|e| {
            self.note(format!("{name}: {e}"));
            LoadErrno::finit(Errno::ENOEXEC)
        })?;
        if self.kernel.machine.is_some_and(|m| m != info.machine) {
            self.note(format!(
                "{name}: built for ELF machine {}, the kernel's modules are {}",
                info.machine,
                self.kernel.machine.unwrap_or_default()
            ));
            return Err(LoadErrno::finit(Errno::ENOEXEC));
        }
        match (info.vermagic(), &self.kernel.vermagic) {
            (None, _) => {
                self.note(format!("{name}: no vermagic in .modinfo"));
                return Err(LoadErrno::finit(Errno::ENOEXEC));
            }
            (Some(v), Some(k)) if !modinfo::same_magic(v, k, info.has_versions) => {
                self.note(format!("{name}: version magic '{v}' should be '{k}'"));
                return Err(LoadErrno::finit(Errno::ENOEXEC));
            }
            _ => {}
        }
        if self.loaded_before.contains(&name) {
            return Err(LoadErrno::finit(Errno::EEXIST));
        }
        let missing: Vec<String> = info
            .depends()
            .into_iter()
            .filter(|d| !self.available.contains(d))
            .collect();
        if !missing.is_empty() {
            self.note(format!(
                "{name}: needs symbols of {} (depends=), which nothing loads",
                missing.join(", ")
            ));
            return Err(LoadErrno::finit(Errno::ENOENT));
        }
        let (bad, unknown) = modinfo::check_params(&info, params);
        for u in unknown {
            self.note(format!(
                "{name}: unknown parameter '{u}' ignored (a kernel warning)"
            ));
        }
        if let Some(bad) = bad {
            self.note(format!("{name}: {bad}"));
            return Err(LoadErrno::finit(bad.errno));
        }
        Ok(())
    }

    fn unload(&self, _name: &str) -> std::result::Result<(), LoadErrno> {
        Err(LoadErrno::delete(Errno::EPERM))
    }
}

/// One pass, predicted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModulesReport {
    /// `first_stage` or `vendor`.
    pub pass: &'static str,
    /// No `modules.load`: the guest's line (nothing loads).
    pub absent: Option<String>,
    /// The pass could not be planned: the guest's line.
    pub error: Option<String>,
    /// The modules to load, in load order.
    pub plan: Vec<String>,
    /// [`kmods::counts_line`] (the guest's line adds ` ms=<n>`).
    pub counts: Option<String>,
    /// The guest's failure and skip lines ([`kmods::problem_lines`]).
    pub problems: Vec<String>,
    /// The guest's `modules: …` warnings (dropped soft dependencies, …).
    pub warnings: Vec<String>,
    /// What would be in the kernel after the pass (loaded or already there).
    pub loaded: Vec<String>,
    /// Requested modules skipped by the blocklist.
    pub blocklisted: Vec<String>,
    /// Planned modules whose file is missing.
    pub missing_files: Vec<String>,
    /// Planned modules whose `depends=` names modules nothing loads.
    pub missing_deps: Vec<(String, Vec<String>)>,
    /// Modules built for another release than the target's: (module, its release).
    pub release_mismatch: Vec<(String, String)>,
    /// Why the kernel refuses or warns, per module (explain's words).
    pub notes: Vec<String>,
    /// For the first-stage pass: the `MODULE_LOAD` detail, if it fails.
    pub problem: Option<String>,
}

impl ModulesReport {
    /// The lines the guest logs for this pass (the duration elided).
    pub fn guest_lines(&self) -> Vec<String> {
        let mut v: Vec<String> = self.absent.iter().chain(&self.error).cloned().collect();
        v.extend(self.warnings.iter().cloned());
        if let Some(c) = &self.counts {
            v.push(format!("{c} ms=…"));
        }
        v.extend(self.problems.iter().cloned());
        v
    }
}

/// The vendor image's files the guest reads, copied out of it.
pub struct ImageFiles {
    dir: tempfile::TempDir,
    extracted: Extracted,
}

impl ImageFiles {
    /// The copy's root: the image's `/`, the guest's `/vendor`.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Symbolic links found in the image (image path, target), removed from the copy.
    pub fn symlinks(&self) -> &[(String, String)] {
        &self.extracted.symlinks
    }

    /// What was not copied, in words.
    pub fn notes(&self) -> Vec<String> {
        self.extracted
            .symlinks
            .iter()
            .map(|(p, t)| format!("/vendor{p} is a symbolic link to {t}: not followed by explain"))
            .chain(self.extracted.notes.iter().map(|n| format!("debugfs: {n}")))
            .collect()
    }
}

/// Copies `/etc` and `/lib` out of the image's ext4.
pub fn image_files(image: &Path) -> Result<ImageFiles> {
    let dir = tempfile::tempdir().map_err(io_err("explain tempdir"))?;
    let extracted = ext4::extract(image, &["/etc", "/lib"], dir.path())?;
    Ok(ImageFiles { dir, extracted })
}

/// Replaces the host directory `host` by `guest` in a line.
fn to_guest(line: &str, host: &Path, guest: &str) -> String {
    line.replace(&host.display().to_string(), guest)
}

/// The vendor pass over the image's `/lib/modules` (the guest's `/vendor/lib/modules`).
pub fn vendor_pass(
    files: &ImageFiles,
    kernel: Option<&KernelTarget>,
    cfg: &BootConfig,
    loaded_before: &[String],
) -> ModulesReport {
    let lib = files.root().join("lib/modules");
    let mut r = predict_pass(
        "vendor",
        &lib,
        "/vendor/lib/modules",
        kernel,
        cfg,
        loaded_before,
    );
    if kernel.is_none() {
        r.notes.push(
            "no --kernel-release/--modules-dir: the flat layout is assumed and versions are not checked"
                .to_owned(),
        );
    }
    r
}

/// The first-stage pass over `dir` (the initramfs's `/lib/modules`).
pub fn first_stage_pass(
    dir: &Path,
    kernel: Option<&KernelTarget>,
    cfg: &BootConfig,
) -> Result<ModulesReport> {
    if !dir.is_dir() {
        return Err(Error::Invalid(format!(
            "{} is not a directory",
            dir.display()
        )));
    }
    let mut r = predict_pass("first_stage", dir, "/lib/modules", kernel, cfg, &[]);
    if let Some(e) = &r.error {
        // The thread's error is the fatal detail as it is.
        r.problem = Some(
            e.trim_start_matches("modules pass=first_stage: ")
                .to_owned(),
        );
    }
    Ok(r)
}

fn predict_pass(
    pass: &'static str,
    lib: &Path,
    guest_lib: &str,
    kernel: Option<&KernelTarget>,
    cfg: &BootConfig,
    loaded_before: &[String],
) -> ModulesReport {
    let mut r = ModulesReport {
        pass,
        ..Default::default()
    };
    let release = kernel.map_or("", |k| k.release.as_str());
    let dir = match kmods::pass_dir(pass, lib, release) {
        Ok(d) => d,
        Err(line) => {
            r.absent = Some(to_guest(&line, lib, guest_lib));
            return r;
        }
    };
    let prepared = match kmods::prepare(&dir, modprobe::cmdline_module_params(&cfg.cmdline)) {
        Ok(p) => p,
        Err(e) => {
            r.error = Some(to_guest(
                &format!("modules pass={pass}: {e}"),
                lib,
                guest_lib,
            ));
            return r;
        }
    };
    let facts = match kernel.map(|k| KernelFacts::read(&k.modules_dir)) {
        Some(Ok(f)) => f,
        Some(Err(e)) => {
            r.notes.push(format!("the target kernel's modules: {e}"));
            KernelFacts::default()
        }
        None => KernelFacts::default(),
    };
    let plan = prepared.plan();
    r.plan = plan.modules.iter().map(|m| m.name.clone()).collect();
    r.warnings = prepared
        .warnings()
        .iter()
        .map(|w| to_guest(w, lib, guest_lib))
        .collect();
    r.blocklisted = plan
        .skipped
        .iter()
        .filter(|(_, why)| *why == SkipReason::Blocklisted)
        .map(|(n, _)| n.clone())
        .collect();
    let predictor = Predictor::new(facts, loaded_before, plan);
    for m in &plan.modules {
        if std::fs::symlink_metadata(&m.path).is_err() {
            r.missing_files.push(m.name.clone());
            continue;
        }
        let Ok(info) = read_module(&m.path).map(|b| modinfo::parse(&b)) else {
            continue;
        };
        let Ok(info) = info else { continue };
        check_module(&mut r, &predictor, release, &m.name, &info);
    }
    let done = prepared.execute(&predictor);
    r.counts = Some(kmods::counts_line(pass, &done));
    r.problems = kmods::problem_lines(pass, &done)
        .into_iter()
        .map(|(_, l)| to_guest(&l, lib, guest_lib))
        .collect();
    r.loaded = done
        .report
        .loaded
        .iter()
        .chain(&done.report.already_loaded)
        .cloned()
        .collect();
    if pass == "first_stage" {
        r.problem = kmods::first_stage_problem(&done);
    }
    r.notes.extend(predictor.take_notes());
    r
}

/// The release and dependency facts of one planned module.
fn check_module(r: &mut ModulesReport, p: &Predictor, release: &str, name: &str, info: &ModInfo) {
    if let Some(rel) = info.release() {
        if !release.is_empty() && rel != release {
            r.release_mismatch.push((name.to_owned(), rel.to_owned()));
        }
    }
    let missing: Vec<String> = info
        .depends()
        .into_iter()
        .filter(|d| !p.available.contains(d))
        .collect();
    if !missing.is_empty() {
        r.missing_deps.push((name.to_owned(), missing));
    }
}
