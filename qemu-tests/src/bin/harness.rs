//! `harness`: the QEMU harness's commands, driven by `cargo xtask` (kernels, artifacts,
//! demo, size, bench).

use std::fs;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use qemu_tests::{bench, elf, guest, kernel, vm::VmConfig, Arch};

#[derive(Parser)]
#[command(about = "QEMU harness commands (normally run through `cargo xtask`)")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Fetch (or find cached) the test kernels; print `ARCH RELEASE MODULES_DIR VMLINUZ`.
    Kernels,
    /// Write DIR/vmlinuz and DIR/initramfs.img exactly as the tests boot them.
    Artifacts {
        /// aarch64 or x86_64.
        #[arg(long)]
        arch: String,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
    /// Boot the aarch64 guest, showing the boot log and the phase timeline.
    Demo,
    /// Boot a vendor image in the tests' VM; show the console, the phase timeline, the
    /// outcome and `vendor_image explain`'s prediction beside it.
    Boot {
        /// The vendor partition image.
        #[arg(long)]
        vendor_image: PathBuf,
        /// Strict boot, with Linux's open-dice driver over AOSP's sample handover.
        #[arg(long)]
        strict: bool,
        /// androidboot.microdroid.debuggable=1 on the command line.
        #[arg(long)]
        debuggable: bool,
        /// The device tree's digest value (default: the image's root digest).
        #[arg(long)]
        digest: Option<String>,
    },
    /// Run a benchmark: hashtree, dice, boot, modprobe.
    Bench {
        /// Which benchmark.
        name: String,
        /// Rounds / iterations.
        #[arg(long)]
        rounds: Option<usize>,
    },
    /// Build both guest binaries and report their stripped sizes.
    Size {
        /// Fail if the aarch64 binary exceeds the 5 MiB budget or either is dynamic.
        #[arg(long)]
        check: bool,
    },
}

fn arch(s: &str) -> Result<Arch> {
    Arch::parse(s).with_context(|| format!("unknown arch {s:?} (aarch64 or x86_64)"))
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Cmd::Kernels => {
            for a in Arch::ALL {
                let k = kernel::obtain(a)?;
                println!(
                    "{} {} {} {}",
                    a.name(),
                    k.release,
                    k.modules_dir().display(),
                    k.vmlinuz().display()
                );
            }
        }
        Cmd::Artifacts { arch: a, out } => {
            let a = arch(&a)?;
            let k = kernel::obtain(a)?;
            fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            fs::copy(k.vmlinuz(), out.join("vmlinuz")).context("copying vmlinuz")?;
            let initrd = out.join("initramfs.img");
            guest::base_initramfs(a, &k)?.write_to(&initrd, true)?;
            let vm = VmConfig::new(&k, &initrd);
            let mut line = format!("{:?}", vm.command());
            line = line.replace(&k.vmlinuz().display().to_string(), "vmlinuz");
            println!("wrote {}/vmlinuz and {}", out.display(), initrd.display());
            println!(
                "kernel {} ({}); boot it with e.g.:\n{line}",
                k.release, k.package_version
            );
        }
        Cmd::Demo => demo()?,
        Cmd::Boot {
            vendor_image,
            strict,
            debuggable,
            digest,
        } => boot_image(qemu_tests::boot_image::BootImage {
            image: vendor_image,
            strict,
            debuggable,
            digest,
        })?,
        Cmd::Bench { name, rounds } => match name.as_str() {
            "hashtree" => bench::hashtree(rounds.unwrap_or(5))?,
            "dice" => bench::dice(rounds.unwrap_or(500))?,
            "boot" => bench::boot(rounds.unwrap_or(5))?,
            "modprobe" => bench::modprobe(rounds.unwrap_or(5))?,
            other => bail!("unknown benchmark {other:?} (hashtree, dice, boot, modprobe)"),
        },
        Cmd::Size { check } => size(check)?,
    }
    Ok(())
}

fn demo() -> Result<()> {
    let mut d = qemu_tests::demo::prepare(Arch::Aarch64)?;
    d.guest.echo = true;
    let k = &d.guest.kernel;
    println!(
        "demo: vendor image {} bytes, root digest {}, {} vendor modules; booting {} ({}) under QEMU TCG",
        d.vendor.partition_size,
        d.vendor.root_digest_hex,
        d.modules.len(),
        k.release,
        k.package_version
    );
    println!(
        "demo: strict boot (/chosen/avf,strict-boot), Linux's open-dice driver (drivers/misc/open-dice.c \
         of linux-source {}) as a first-stage module over {} bytes at {:#x} holding AOSP's sample handover\n",
        k.package_version, d.region.size, d.region.base
    );
    let (log, region_after) = qemu_tests::demo::boot(&d)?;
    println!("\n==== phase timeline (guest CLOCK_MONOTONIC) ====");
    print!("{}", log.timeline_table());
    let outcome = qemu_tests::demo::check(&d, &log, &region_after)?;
    println!("\n==== modules ====");
    for l in log.grep("modules pass=") {
        println!("  {}", l.trim_start_matches("first_stage: "));
    }
    println!(
        "\n==== SELinux (enforcing: the shipped policy plus the probes' test_probe module; avc denials: 0) ===="
    );
    for l in &outcome.selinux {
        println!("  {}", l.trim_start_matches("DEMO "));
    }
    for l in log
        .lines()
        .filter(|l| l.starts_with('/') && l.contains("\tu:"))
    {
        println!("  {}", l.replace('\t', "  "));
    }
    println!("\n==== DICE ====");
    for l in log.grep("dice: ") {
        println!("  {}", l.trim_start_matches("first_stage: "));
    }
    println!(
        "  the DICE region ({} bytes at {:#x}) read back from guest memory through the QEMU monitor after power-off: all zeros",
        d.region.size, d.region.base
    );
    println!("  chain from the guest (verified on the host):");
    for l in &outcome.chain {
        println!("    {l}");
    }
    println!(
        "\nguest powered off cleanly after {:.1} s of QEMU wall time",
        log.elapsed.as_secs_f64()
    );
    Ok(())
}

fn boot_image(b: qemu_tests::boot_image::BootImage) -> Result<()> {
    println!(
        "boot: {} on the aarch64 test VM ({}strict boot{}); it powers off when boot completes\n",
        b.image.display(),
        if b.strict { "" } else { "not a " },
        if b.debuggable {
            ", debuggable=1 on the command line"
        } else {
            ""
        }
    );
    let booted = qemu_tests::boot_image::boot(&b)?;
    let log = &booted.log;
    println!("\n==== phase timeline (guest CLOCK_MONOTONIC) ====");
    print!("{}", log.timeline_table());
    println!("\n==== outcome ====");
    println!("  guest:   {}", qemu_tests::boot_image::outcome(log));
    println!(
        "  explain: {}",
        booted
            .explanation
            .fatal_line()
            .unwrap_or_else(|| "ok".to_owned())
    );
    println!(
        "  {}",
        if booted.agree {
            "explain's prediction agrees with the guest"
        } else {
            "explain's prediction DIFFERS from the guest"
        }
    );
    println!("\n==== vendor_image explain on the same inputs ====");
    print!("{}", vendor_image::explain::to_text(&booted.explanation));
    if !booted.agree {
        bail!("explain's prediction differs from the guest's outcome");
    }
    Ok(())
}

/// The size budget of the aarch64 PID 1 (issue 2: ≤ 5 MiB stripped, static OpenSSL in).
const BUDGET: u64 = 5 * 1024 * 1024;

fn size(check: bool) -> Result<()> {
    let mut problems = Vec::new();
    for a in Arch::ALL {
        let p = guest::build_init(a)?;
        let bytes = fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
        let facts = elf::inspect(&bytes).context("guest /init is not an ELF64 file")?;
        println!(
            "guest /init {:<8} {:>9} bytes ({:.2} MiB) stripped, interpreter: {}",
            a.name(),
            bytes.len(),
            bytes.len() as f64 / (1024.0 * 1024.0),
            if facts.has_interpreter { "YES" } else { "none" }
        );
        if facts.has_interpreter {
            problems.push(format!("{} /init has an ELF interpreter", a.name()));
        }
        if a == Arch::Aarch64 && bytes.len() as u64 > BUDGET {
            problems.push(format!("aarch64 /init is {} bytes > {BUDGET}", bytes.len()));
        }
    }
    if check && !problems.is_empty() {
        bail!("{}", problems.join("; "));
    }
    Ok(())
}
