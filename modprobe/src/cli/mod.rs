//! The `modprobe` command (AOSP toolbox flags): [`cli_main`] for the multi-call PID 1
//! and the host binary, [`run`] with injectable loader and output streams for tests.

mod args;
mod output;

pub use args::{parse_args, CliArgs, Mode, UsageError, USAGE};

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::db::{read_load_list, ModuleDb, Resolution};
use crate::exec::execute;
use crate::loader::{KernelLoader, ModuleLoader};
use crate::plan::{PlanOptions, SkipReason};
use crate::remove::execute_removal;
use output::Output;

/// Where the command's effects and messages go.
pub struct CliEnv<'a> {
    /// Inserts and removes modules.
    pub loader: &'a dyn ModuleLoader,
    /// Requested output (`-l`, `-D`, `-n`) and informational messages.
    pub stdout: &'a mut dyn Write,
    /// Errors and the usage text after a usage error.
    pub stderr: &'a mut dyn Write,
    /// The kernel log device `-s` writes to (`/dev/kmsg`).
    pub kmsg: PathBuf,
}

/// Entry point of the `modprobe` applet: `args[0]` is the program name. Returns the exit
/// status (0 on success, 1 on failure).
pub fn cli_main(args: &[OsString]) -> i32 {
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let mut out = stdout.lock();
    let mut err = stderr.lock();
    let mut env = CliEnv {
        loader: &KernelLoader,
        stdout: &mut out,
        stderr: &mut err,
        kmsg: PathBuf::from("/dev/kmsg"),
    };
    run(args, &mut env)
}

/// Runs the command with the given environment; `args[0]` is the program name.
pub fn run(args: &[OsString], env: &mut CliEnv<'_>) -> i32 {
    let parsed = match parse_args(args.get(1..).unwrap_or_default()) {
        Ok(parsed) => parsed,
        Err(e) => {
            // Nothing useful can be done if stderr is gone; the exit status still says it.
            let _ = writeln!(env.stderr, "modprobe: {e}\n{USAGE}");
            return 1;
        }
    };
    if parsed.help {
        let _ = write!(env.stdout, "{USAGE}");
        return 0;
    }
    let mut out = Output::new(env, parsed.quiet, parsed.verbose, parsed.syslog);
    match run_parsed(parsed, &mut out) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(message) => {
            out.error(&message);
            1
        }
    }
}

/// Runs a parsed command; `Ok(false)` is a failure already reported.
fn run_parsed(mut args: CliArgs, out: &mut Output<'_, '_>) -> Result<bool, String> {
    for file in &args.all_files {
        let list = read_load_list(file).map_err(|e| e.to_string())?;
        for problem in list.problem_lines(file) {
            out.warning(&problem);
        }
        for name in list.entries {
            if !args.modules.contains(&name) {
                args.modules.push(name);
            }
        }
    }
    if args.dirs.is_empty() {
        match args.all_files.first() {
            Some(file) => args.dirs.push(parent_dir(file)),
            None => {
                return Err(format!(
                    "No module configuration directories given.\n{USAGE}"
                ))
            }
        }
    }
    if args.modules.is_empty() {
        if args.mode == Mode::List {
            args.modules.push("*".to_owned());
        } else {
            return Err(format!("No modules given.\n{USAGE}"));
        }
    }
    if !args.params.is_empty() && args.modules.len() > 1 {
        return Err("Only one module may be loaded when specifying module parameters.".to_owned());
    }
    let started = Instant::now();
    let db = ModuleDb::load_dirs(&args.dirs).map_err(|e| e.to_string())?;
    out.detail(&format!(
        "read {} modules from {} directories in {:.1} ms",
        db.modules().count(),
        args.dirs.len(),
        ms(started.elapsed())
    ));
    for warning in db.warnings() {
        out.warning(warning);
    }
    let names: Vec<&str> = args.modules.iter().map(String::as_str).collect();
    match args.mode {
        Mode::Load => load(&db, &args, &names, out),
        Mode::Remove => remove(&db, &args, &names, out),
        Mode::List => {
            for pattern in &names {
                for entry in db.list(pattern) {
                    out.print(&entry);
                }
            }
            Ok(true)
        }
        Mode::ShowDepends => Ok(show_depends(&db, &names, out)),
    }
}

/// Milliseconds, fractional.
fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn parent_dir(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn load(
    db: &ModuleDb,
    args: &CliArgs,
    names: &[&str],
    out: &mut Output<'_, '_>,
) -> Result<bool, String> {
    let mut opts = PlanOptions {
        blocklist: args.blocklist,
        extra_params: Vec::new(),
    };
    if let Some(first) = args.modules.first().filter(|_| !args.params.is_empty()) {
        opts.extra_params
            .push((first.clone(), args.params.join(" ")));
    }
    let started = Instant::now();
    let plan = db.plan(names, &opts).map_err(|e| e.to_string())?;
    out.detail(&format!(
        "planned {} modules in {:.1} ms",
        plan.modules.len(),
        ms(started.elapsed())
    ));
    for warning in &plan.warnings {
        out.detail(&format!("warning: {warning}"));
    }
    if args.dry_run {
        for module in &plan.modules {
            let line = format!("insmod {} {}", module.path.display(), module.params);
            out.print(line.trim_end());
        }
        for name in &plan.builtin {
            out.print(&format!("builtin {name}"));
        }
        for (name, reason) in &plan.skipped {
            out.print(&format!("skip {name}: {reason}"));
        }
        for name in &plan.unresolved {
            out.error(&format!(
                "module {name} not found in modules.dep, modules.alias or modules.builtin"
            ));
        }
        return Ok(plan.unresolved.is_empty());
    }
    let report = execute(&plan, out.loader(), args.jobs);
    for name in &report.loaded {
        out.detail(&format!("loaded {name}"));
    }
    for name in &report.already_loaded {
        out.detail(&format!("already loaded {name}"));
    }
    for name in &report.builtin {
        out.detail(&format!("builtin {name}"));
    }
    for failure in &report.failed {
        if failure.soft {
            out.info(&format!("warning: failed to load {failure}"));
        } else {
            out.error(&format!("failed to load {failure}"));
        }
    }
    for (name, reason) in &report.skipped {
        match reason {
            SkipReason::DependencyFailed(_) => out.error(&format!("skipped {name}: {reason}")),
            _ => out.detail(&format!("skipped {name}: {reason}")),
        }
    }
    for timing in &report.timings {
        out.detail(&format!("timing {timing}"));
    }
    if !report.critical_path.modules.is_empty() {
        out.detail(&format!("critical path {}", report.critical_path));
    }
    out.detail(&format!(
        "{} loaded, {} already loaded, {} failed, {} skipped in {} ms",
        report.loaded.len(),
        report.already_loaded.len(),
        report.failed.len(),
        report.skipped.len(),
        report.elapsed.as_millis()
    ));
    Ok(report.is_success())
}

fn remove(
    db: &ModuleDb,
    args: &CliArgs,
    names: &[&str],
    out: &mut Output<'_, '_>,
) -> Result<bool, String> {
    let plan = db.removal_plan(names).map_err(|e| e.to_string())?;
    if args.dry_run {
        for step in &plan.steps {
            out.print(&format!("rmmod {}", step.name));
        }
        return Ok(plan.unresolved.is_empty() && plan.builtin.is_empty());
    }
    let report = execute_removal(&plan, out.loader());
    for name in &report.removed {
        out.detail(&format!("removed {name}"));
    }
    for (name, errno) in &report.kept {
        out.detail(&format!("kept {name}: {errno}"));
    }
    for failure in &report.failed {
        out.error(&format!("failed to remove {failure}"));
    }
    Ok(report.is_success())
}

fn show_depends(db: &ModuleDb, names: &[&str], out: &mut Output<'_, '_>) -> bool {
    let mut ok = true;
    for name in names {
        let modules = match db.resolve(name) {
            Resolution::Modules(modules) => modules,
            Resolution::Builtin(module) => {
                out.print(&format!("builtin {module}"));
                continue;
            }
            Resolution::NotFound => {
                out.error(&format!("module {name} not found"));
                ok = false;
                continue;
            }
        };
        for module in modules {
            let plan = match db.plan(&[&module], &PlanOptions::default()) {
                Ok(plan) => plan,
                Err(e) => {
                    out.error(&e.to_string());
                    ok = false;
                    continue;
                }
            };
            out.print(&format!("Dependencies for {module}:"));
            out.print("Soft pre-dependencies:");
            for dep in db.softdeps(&module).iter().flat_map(|s| &s.pre) {
                out.print(dep);
            }
            out.print("Hard dependencies:");
            for m in plan.modules.iter().filter(|m| !m.soft) {
                out.print(&m.path.display().to_string());
            }
            out.print("Soft post-dependencies:");
            for dep in db.softdeps(&module).iter().flat_map(|s| &s.post) {
                out.print(dep);
            }
        }
    }
    ok
}
