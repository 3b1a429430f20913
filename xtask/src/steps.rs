//! The commands themselves: each is a sequence of cargo / harness invocations whose
//! output streams straight to the terminal.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::setup;

/// A failed step, described for the user.
#[derive(Debug)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A command for `program` with `args`.
pub fn cmd(program: &str, args: &[&str]) -> Command {
    let mut c = Command::new(program);
    c.args(args);
    c
}

/// Runs `c` with inherited stdio; a non-zero exit is an error naming the command.
pub fn run(c: &mut Command) -> Result<(), Error> {
    let line = format!("{c:?}");
    let status = c
        .status()
        .map_err(|e| Error(format!("cannot run {line}: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error(format!("{line} failed: {status}")))
    }
}

fn root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

fn cargo(args: &[&str]) -> Command {
    let program = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut c = Command::new(program);
    c.current_dir(root()).args(args);
    c
}

/// `cargo run` of the qemu-tests `harness` binary (optimised: it hashes images and
/// compares timings).
fn harness(args: &[&str]) -> Command {
    let mut c = cargo(&[
        "run",
        "--quiet",
        "--profile",
        "host",
        "--package",
        "qemu-tests",
        "--bin",
        "harness",
        "--",
    ]);
    c.args(args);
    c
}

fn section(name: &str) -> Instant {
    eprintln!("\n==== xtask: {name} ====");
    Instant::now()
}

fn done(name: &str, t: Instant) {
    eprintln!(
        "==== xtask: {name} ok ({:.1} s) ====",
        t.elapsed().as_secs_f64()
    );
}

/// The module trees of the test kernels, as `(arch, modules_dir)`, fetching them first.
fn kernel_module_dirs() -> Result<Vec<(String, String)>, Error> {
    let out = harness(&["kernels"])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| Error(format!("harness kernels: {e}")))?;
    if !out.status.success() {
        return Err(Error("fetching the test kernels failed".into()));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let arch = w.next()?;
            let _release = w.next()?;
            let modules = w.next()?;
            Some((arch.to_owned(), modules.to_owned()))
        })
        .collect())
}

/// `cargo xtask test`.
pub fn test(args: &[String]) -> Result<(), Error> {
    let fuzz_seconds = flag_value(args, "--fuzz-seconds")?.unwrap_or_else(|| "10".into());
    let all = Instant::now();
    let t = section("setup");
    setup::all()?;
    done("setup", t);

    let t = section("fmt");
    run(&mut cargo(&["fmt", "--all", "--", "--check"]))?;
    done("fmt", t);

    let t = section("clippy");
    run(&mut cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    done("clippy", t);

    let t = section("kernels");
    let dirs = kernel_module_dirs()?;
    done("kernels", t);

    let t = section("unit and integration tests");
    let mut c = cargo(&["test", "--workspace", "--exclude", "qemu-tests"]);
    for (arch, dir) in &dirs {
        let var = match arch.as_str() {
            "aarch64" => "MICRODROID_TEST_MODULES_DIR",
            _ => "MICRODROID_TEST_MODULES_DIR_X86_64",
        };
        c.env(var, dir);
    }
    run(&mut c)?;
    done("unit and integration tests", t);

    let t = section("QEMU boot tests");
    run(&mut cargo(&["test", "--package", "qemu-tests"]))?;
    done("QEMU boot tests", t);

    let t = section("guest size budget");
    run(&mut harness(&["size", "--check"]))?;
    done("guest size budget", t);

    let t = section("fuzz (short)");
    fuzz(&["--seconds".into(), fuzz_seconds])?;
    done("fuzz (short)", t);

    eprintln!(
        "\nxtask: all checks passed in {:.1} min",
        all.elapsed().as_secs_f64() / 60.0
    );
    Ok(())
}

/// `cargo xtask demo`.
pub fn demo(args: &[String]) -> Result<(), Error> {
    setup::all()?;
    let mut c = harness(&["demo"]);
    c.args(args);
    run(&mut c)
}

/// `cargo xtask boot --vendor-image IMG [--strict] [--debuggable] [--digest HEX]`.
pub fn boot(args: &[String]) -> Result<(), Error> {
    setup::all()?;
    let mut c = harness(&["boot"]);
    c.args(args);
    run(&mut c)
}

/// `cargo xtask artifacts --arch A --out DIR`.
pub fn artifacts(args: &[String]) -> Result<(), Error> {
    setup::all()?;
    let mut c = harness(&["artifacts"]);
    c.args(args);
    run(&mut c)
}

/// `cargo xtask bench <name>`.
pub fn bench(args: &[String]) -> Result<(), Error> {
    setup::all()?;
    let mut c = harness(&["bench"]);
    c.args(args);
    run(&mut c)
}

/// `cargo xtask size`.
pub fn size() -> Result<(), Error> {
    setup::all()?;
    run(&mut harness(&["size"]))
}

fn flag_value(args: &[String], flag: &str) -> Result<Option<String>, Error> {
    match args.iter().position(|a| a == flag) {
        Some(i) => args
            .get(i + 1)
            .cloned()
            .map(Some)
            .ok_or_else(|| Error(format!("{flag} needs a value"))),
        None => Ok(None),
    }
}

/// The crates with a `fuzz/` directory, sorted.
fn fuzz_crates() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root())
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.join("fuzz/Cargo.toml").exists())
        .collect();
    v.sort();
    v
}

/// Targets run without AddressSanitizer. Each runs a whole pipeline per input
/// (`module_dir`: six parsers, two plans, an execution and a removal plan; `rc_parse`:
/// the parser and up to 80 interpreter steps; `file_contexts`: the parser and 234
/// lookups; `regex_translate`: two regex compilations and matches), and ASAN's
/// allocation and stack-frame bookkeeping cost 55-85% of their time (profiled:
/// `StackDepot::Put`, `Allocator::Allocate`, `__asan_stack_malloc_*`, `PoisonShadow`)
/// while it can only find memory errors in unsafe code, which none of the code they
/// reach has (the crates' only `unsafe` is in their `sys` modules; regex-lite forbids it).
/// Without it they run 2-8 times as many inputs (measured 1.9k/3.7k/5.0k/2.8k →
/// 10.5k/18.7k/11.3k/21.3k runs per second on the 2-core machine); panics, overflow
/// checks and the targets' own assertions still fire.
const WITHOUT_SANITIZER: &[&str] = &[
    "init_rc/rc_parse",
    "modprobe/module_dir",
    "sepolicy/file_contexts",
    "sepolicy/regex_translate",
];

/// `cargo xtask fuzz [--seconds N] [--coverage] [--only TEXT]`: every target of every
/// crate's `fuzz/` (or those whose `crate/target` contains TEXT) for N seconds; with
/// `--coverage`, then the line coverage its corpus reaches in the crate's own source
/// files (`cargo fuzz coverage` + `llvm-cov report`).
pub fn fuzz(args: &[String]) -> Result<(), Error> {
    let seconds: u64 = flag_value(args, "--seconds")?
        .unwrap_or_else(|| "60".into())
        .parse()
        .map_err(|_| Error("--seconds takes a number".into()))?;
    let coverage = args.iter().any(|a| a == "--coverage");
    let only = flag_value(args, "--only")?;
    setup::cargo_fuzz()?;
    if coverage {
        setup::llvm_tools()?;
    }
    let mut summary = Vec::new();
    let mut failed = Vec::new();
    for krate in fuzz_crates() {
        let name = krate
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let list = Command::new("cargo")
            .args(["fuzz", "list"])
            .current_dir(&krate)
            .output()
            .map_err(|e| Error(format!("cargo fuzz list in {name}: {e}")))?;
        for target in String::from_utf8_lossy(&list.stdout).split_whitespace() {
            if only
                .as_deref()
                .is_some_and(|o| !format!("{name}/{target}").contains(o))
            {
                continue;
            }
            let sanitizer = if WITHOUT_SANITIZER.contains(&format!("{name}/{target}").as_str()) {
                "none"
            } else {
                "address"
            };
            eprintln!("xtask: fuzz {name}/{target} for {seconds} s (sanitizer: {sanitizer})");
            // One target directory per sanitizer: the flags differ, and sharing one would
            // rebuild everything at every switch.
            let target_dir = root().join("target").join(format!("fuzz-{sanitizer}"));
            let out = Command::new("cargo")
                .args(["fuzz", "run", "--sanitizer", sanitizer, target, "--"])
                .arg(format!("-max_total_time={seconds}"))
                .arg("-print_final_stats=1")
                .current_dir(&krate)
                .env("RUSTC_BOOTSTRAP", "1")
                .env("CARGO_TARGET_DIR", &target_dir)
                .stdout(Stdio::inherit())
                .output()
                .map_err(|e| Error(format!("cargo fuzz run {target}: {e}")))?;
            let log = String::from_utf8_lossy(&out.stderr);
            let stat = |key: &str| {
                log.lines()
                    .find_map(|l| l.strip_prefix(key))
                    .map(|s| s.trim().to_owned())
                    .unwrap_or_else(|| "?".into())
            };
            let execs = stat("stat::number_of_executed_units:");
            let rate = stat("stat::average_exec_per_sec:");
            if !out.status.success() {
                eprintln!("{log}");
                failed.push(format!("{name}/{target}"));
            }
            let cov = if coverage && out.status.success() {
                match line_coverage(&krate, target) {
                    Ok(c) => c,
                    Err(e) => {
                        failed.push(format!("{name}/{target} coverage"));
                        format!("coverage failed: {e}")
                    }
                }
            } else {
                String::new()
            };
            summary.push(format!(
                "{:<32} {:>12} execs {:>8}/s  {}  {cov}",
                format!("{name}/{target}"),
                execs,
                rate,
                if out.status.success() { "ok" } else { "FAILED" }
            ));
        }
    }
    eprintln!("\nfuzz summary ({seconds} s per target):");
    for l in &summary {
        eprintln!("  {l}");
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error(format!("fuzz targets failed: {}", failed.join(", "))))
    }
}

/// Line coverage of `target`'s corpus in the source files of `krate` (its `src/`) that
/// the corpus reaches at all: `lines=covered/total (P%) files=N`. Uses `cargo fuzz
/// coverage` (an instrumented build that replays the corpus into a `.profdata`) and the
/// toolchain's own `llvm-cov`, whose profile format matches rustc's LLVM.
fn line_coverage(krate: &Path, target: &str) -> Result<String, Error> {
    let cov_dir = root().join("target").join("fuzz-coverage");
    eprintln!("xtask: cargo fuzz coverage {target}");
    let out = Command::new("cargo")
        .args(["fuzz", "coverage", target, "--target-dir"])
        .arg(&cov_dir)
        .current_dir(krate)
        .env("RUSTC_BOOTSTRAP", "1")
        .output()
        .map_err(|e| Error(format!("cargo fuzz coverage {target}: {e}")))?;
    if !out.status.success() {
        return Err(Error(format!(
            "cargo fuzz coverage {target}: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        )));
    }
    let profdata = krate
        .join("fuzz/coverage")
        .join(target)
        .join("coverage.profdata");
    let binary = find_file(&cov_dir, target, "coverage").ok_or_else(|| {
        Error(format!(
            "no coverage build of {target} under {}",
            cov_dir.display()
        ))
    })?;
    let report = Command::new(setup::llvm_tool("llvm-cov")?)
        .arg("report")
        .arg(&binary)
        .arg(format!("-instr-profile={}", profdata.display()))
        .arg(krate.join("src"))
        .output()
        .map_err(|e| Error(format!("llvm-cov report: {e}")))?;
    if !report.status.success() {
        return Err(Error(format!(
            "llvm-cov report: {}",
            String::from_utf8_lossy(&report.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&report.stdout);
    let (mut lines, mut missed, mut files) = (0u64, 0u64, 0u64);
    for row in text.lines() {
        // Filename Regions Missed Cover Functions Missed Executed Lines Missed Cover …
        let cols: Vec<&str> = row.split_whitespace().collect();
        if cols.len() < 10 || !cols[0].ends_with(".rs") {
            continue;
        }
        let (Ok(l), Ok(m)) = (cols[7].parse::<u64>(), cols[8].parse::<u64>()) else {
            continue;
        };
        if m < l {
            lines += l;
            missed += m;
            files += 1;
        }
    }
    let covered = lines - missed;
    let percent = if lines == 0 {
        0.0
    } else {
        100.0 * covered as f64 / lines as f64
    };
    Ok(format!(
        "lines={covered}/{lines} ({percent:.1}%) files={files}"
    ))
}

/// The first file called `name` under `dir` whose path contains `marker`.
fn find_file(dir: &Path, name: &str, marker: &str) -> Option<PathBuf> {
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).ok()?.flatten() {
            let p = entry.path();
            if p.is_dir() {
                if p.file_name()
                    .is_some_and(|n| n != "deps" && n != "build" && n != "incremental")
                {
                    todo.push(p);
                }
            } else if p.file_name().is_some_and(|n| n == name)
                && p.to_string_lossy().contains(marker)
            {
                return Some(p);
            }
        }
    }
    None
}
