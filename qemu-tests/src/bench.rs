//! The benchmark commands behind `cargo xtask bench <name>`: each prints its numbers.
//! Timings are medians of several rounds, taken in one run so the machine's state is the
//! same for both sides of a comparison.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::error::{io, run, HarnessError};
use crate::workspace_root;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn mb_per_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / (1024.0 * 1024.0) / d.as_secs_f64().max(1e-9)
}

/// Writes `size` bytes of deterministic pseudo-random data (xorshift) to `path`.
pub fn write_test_data(path: &Path, size: u64) -> Result<(), HarnessError> {
    let mut f = fs::File::create(path).map_err(io(format!("create {}", path.display())))?;
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut buf = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for chunk in buf.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let b = x.to_le_bytes();
            chunk.copy_from_slice(&b[..chunk.len()]);
        }
        let n = left.min(buf.len() as u64) as usize;
        f.write_all(&buf[..n]).map_err(io("write test data"))?;
        left -= n as u64;
    }
    Ok(())
}

/// The `vendor_image` host tool, built with the optimised `host` profile.
fn vendor_image_tool() -> Result<PathBuf, HarnessError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    run(Command::new(cargo).current_dir(workspace_root()).args([
        "build",
        "--quiet",
        "--profile",
        "host",
        "--package",
        "vendor_image",
        "--bin",
        "vendor_image",
    ]))?;
    Ok(workspace_root().join("target/host/vendor_image"))
}

fn root_hash_from_veritysetup(stdout: &str) -> Option<String> {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("Root hash:"))
        .map(|s| s.trim().to_owned())
}

/// `bench hashtree`: the dm-verity hash tree of a 256 MiB image, ours vs `veritysetup
/// format`, same data, same salt, page cache warm. Both are timed as whole processes
/// (start to exit); ours is also timed in-process (hashing only).
pub fn hashtree(rounds: usize) -> Result<(), HarnessError> {
    const SIZE: u64 = 256 * 1024 * 1024;
    let salt = "6d6963726f64726f69642d62656e6368"; // "microdroid-bench"
    let dir = tempfile::tempdir().map_err(io("tempdir"))?;
    let data = dir.path().join("data.img");
    let hash = dir.path().join("hash.img");
    write_test_data(&data, SIZE)?;
    let _ = fs::read(&data).map_err(io("warming the page cache"))?;
    let tool = vendor_image_tool()?;
    let (mut ours, mut ours_inproc, mut theirs) = (Vec::new(), Vec::new(), Vec::new());
    let (mut our_root, mut their_root) = (String::new(), String::new());
    for _ in 0..rounds.max(1) {
        let t = Instant::now();
        let out = run(Command::new(&tool)
            .arg("hashtree")
            .arg("--in")
            .arg(&data)
            .arg("--salt")
            .arg(salt))?;
        ours.push(t.elapsed());
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        our_root = text
            .lines()
            .find_map(|l| l.strip_prefix("root_digest:"))
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        let (_, d) = vendor_image::bench_hashtree(&data, &avb::from_hex(salt).unwrap_or_default())
            .map_err(|e| HarnessError::Missing(e.to_string()))?;
        ours_inproc.push(d);

        let _ = fs::remove_file(&hash);
        let t = Instant::now();
        let out = run(Command::new("veritysetup")
            .arg("format")
            .arg(&data)
            .arg(&hash)
            .arg("--no-superblock")
            .arg(format!("--salt={salt}"))
            .args([
                "--data-block-size=4096",
                "--hash-block-size=4096",
                "--hash=sha256",
            ]))?;
        theirs.push(t.elapsed());
        their_root =
            root_hash_from_veritysetup(&String::from_utf8_lossy(&out.stdout)).unwrap_or_default();
    }
    let (o, oi, v) = (median(ours), median(ours_inproc), median(theirs));
    println!(
        "hash tree of {} MiB (sha256, 4096-byte blocks, salt {salt}), median of {} rounds:",
        SIZE >> 20,
        rounds.max(1)
    );
    println!(
        "  ours (vendor_image hashtree, whole process) {:>8.1} MB/s  {:>7.3} s",
        mb_per_s(SIZE, o),
        o.as_secs_f64()
    );
    println!(
        "  ours (in-process, hashing only)             {:>8.1} MB/s  {:>7.3} s",
        mb_per_s(SIZE, oi),
        oi.as_secs_f64()
    );
    println!(
        "  veritysetup format (whole process)          {:>8.1} MB/s  {:>7.3} s",
        mb_per_s(SIZE, v),
        v.as_secs_f64()
    );
    println!(
        "  ratio (whole process) ours/veritysetup speed: {:.2}x",
        v.as_secs_f64() / o.as_secs_f64().max(1e-9)
    );
    println!("  root digest ours        {our_root}");
    println!("  root digest veritysetup {their_root}");
    if our_root.is_empty() || our_root != their_root {
        return Err(HarnessError::Missing("root digests differ".into()));
    }
    println!("  root digests are equal");
    Ok(())
}

/// `bench dice`: one vendor-node derivation and `verify` of a 6-certificate chain
/// (medians, in-process).
pub fn dice(iterations: usize) -> Result<(), HarnessError> {
    let r = dice_vendor::bench(iterations).map_err(|e| HarnessError::Missing(e.to_string()))?;
    println!("DICE, median of {} iterations:", r.iterations);
    println!(
        "  derive the Microdroid vendor node   {:>9.1} us",
        r.derive_median.as_secs_f64() * 1e6
    );
    println!(
        "  verify a 6-certificate chain        {:>9.1} us",
        r.verify_6_node_median.as_secs_f64() * 1e6
    );
    Ok(())
}

use std::collections::BTreeMap;

use initramfs::Archive;

use crate::console::{BootLog, VENDOR_BOOT_PHASES};
use crate::scenario::{Guest, VendorOptions, VendorTree};
use crate::{baseline, demo, guest, modules, Arch};

/// Phase times of one boot, by name.
fn phase_map(log: &BootLog) -> BTreeMap<String, u64> {
    log.phases().into_iter().map(|p| (p.name, p.t_ms)).collect()
}

fn median_u64(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn harness_err(e: impl std::fmt::Display) -> HarnessError {
    HarnessError::Missing(e.to_string())
}

/// The peak RSS a `memory: VmHWM=<a> kB Rss=<b> kB` line vouches for: the larger of the
/// two (the kernel's VmHWM can lag behind the exact Rss; see the first stage's
/// `log_memory`).
fn peak_rss_kb(line: &str) -> Option<u64> {
    ["VmHWM", "Rss"]
        .into_iter()
        .filter_map(|k| field(line, k)?.parse::<u64>().ok())
        .max()
}

/// The length (whole ms) and modules of a `… critical_path ms=T chain=a>b` line.
fn critical_path(line: &str) -> Option<(u64, String)> {
    let rest = &line[line.find("critical_path ")? + "critical_path ".len()..];
    let ms = field(rest, "ms")?.parse::<f64>().ok()?;
    let chain = field(rest, "chain")?.replace('>', " > ");
    Some((ms.round() as u64, chain))
}

/// The value of the first `key=value` word of `words`.
fn field<'a>(words: &'a str, key: &str) -> Option<&'a str> {
    words
        .split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

/// The baseline's verity table for `img`: AOSP's table (the same string our first stage
/// loads) with `@PART@` for the data/hash device, which the script fills in.
fn baseline_table(img: &Path) -> Result<String, HarnessError> {
    let mut f = fs::File::open(img).map_err(io(format!("open {}", img.display())))?;
    let v = avb::read_vbmeta_from_device(&mut f).map_err(harness_err)?;
    let d = v
        .hashtree_descriptor("microdroid-vendor")
        .map_err(harness_err)?;
    let t = avb::verity_table(d, "@PART@", "@PART@").map_err(harness_err)?;
    Ok(format!(
        "{} {} {} {}",
        t.start_sector, t.length_sectors, t.target_type, t.params
    ))
}

/// `bench boot`: `rounds` alternating aarch64 boots of our initramfs and the
/// standard-tools baseline (same kernel, same vendor disk with the demo's 26 modules in
/// depmod's layout, same DTB); median guest-side phase times, the ratio of "kernel start
/// → vendor modules loaded", the floor (our PID 1 start plus the vendor pass's longest
/// dependency chain) and ours / floor (of the medians, and per round), our binary's
/// size and peak RSS.
pub fn boot(rounds: usize) -> Result<(), HarnessError> {
    let arch = Arch::Aarch64;
    let mut g = Guest::new(arch)?;
    g.first_stage_only()?;
    let mut tree = VendorTree::new()?;
    let mods = modules::vendor_modules_depmod(&mut tree, &g.kernel, demo::VENDOR_MODULES)?;
    let info = g.vendor(&tree, &VendorOptions::default())?;
    let ours = g.initramfs.clone();

    let mut base = Archive::new();
    initramfs::add_kernel_modules(
        &mut base,
        &g.kernel.modules_dir(),
        guest::FIRST_STAGE_MODULES,
        "/lib/modules",
    )
    .map_err(harness_err)?;
    baseline::add_standard_tools(&mut base, arch)?;
    let table = baseline_table(&g.work.path().join("vendor.img"))?;
    let script = baseline::init_script(&baseline::BaselineJob {
        verity_table: &table,
        expected_digest: &info.root_digest_hex,
    });
    base.add_file("/init", 0o755, script.into_bytes())?;
    for d in ["/proc", "/sys", "/dev", "/vendor"] {
        base.add_dir(d, 0o755)?;
    }

    let mut runs: BTreeMap<&str, Vec<BTreeMap<String, u64>>> = BTreeMap::new();
    let mut hwm = Vec::new();
    let mut chains: Vec<(u64, String)> = Vec::new();
    let mut per_round: Vec<f64> = Vec::new();
    for r in 0..rounds.max(1) {
        let order: [(&str, &Archive); 2] = if r % 2 == 0 {
            [("ours", &ours), ("baseline", &base)]
        } else {
            [("baseline", &base), ("ours", &ours)]
        };
        for (name, archive) in order {
            g.initramfs = archive.clone();
            let log = g.boot()?;
            let loaded = log
                .grep("modules pass=vendor loaded=")
                .next()
                .map(str::to_owned)
                .unwrap_or_default();
            let phases = phase_map(&log);
            if !log.powered_off() || log.fatal().is_some() || !phases.contains_key("vendor_modules")
            {
                return Err(HarnessError::Missing(
                    log.report(&format!("{name} boot failed")),
                ));
            }
            if let Some(kb) = log.grep("memory: VmHWM=").next().and_then(peak_rss_kb) {
                hwm.push(kb);
            }
            if let Some(c) = log
                .grep("modules pass=vendor critical_path ")
                .next()
                .and_then(critical_path)
            {
                // Each of our rounds against its own floor (its PID 1 start plus its own
                // chain), so the host's drift between rounds cancels.
                if let (true, Some(start), Some(end)) = (
                    name == "ours",
                    phases.get("start"),
                    phases.get("vendor_modules"),
                ) {
                    per_round.push(*end as f64 / ((start + c.0) as f64).max(1.0));
                }
                chains.push(c);
            }
            eprintln!(
                "round {r} {name:<8} vendor modules loaded at {} ms ({})",
                phases["vendor_modules"],
                loaded.trim_start_matches("first_stage: ")
            );
            runs.entry(name).or_default().push(phases);
        }
    }
    // The first-stage phases from the early mounts to the vendor modules (the baseline
    // prints them too, except `dice`).
    let phases: Vec<&str> = VENDOR_BOOT_PHASES
        .iter()
        .copied()
        .skip_while(|p| *p != "early_mounts")
        .take_while(|p| *p != "selinux")
        .collect();
    println!(
        "boot benchmark: {} rounds, aarch64 TCG, {} vendor modules, kernel {}",
        rounds.max(1),
        mods.len(),
        g.kernel.release
    );
    println!("median guest CLOCK_MONOTONIC at the end of each phase (ms):");
    println!("  {:<16} {:>8} {:>10}", "phase", "ours", "baseline");
    let med = |who: &str, p: &str| -> Option<u64> {
        let v: Vec<u64> = runs
            .get(who)?
            .iter()
            .filter_map(|m| m.get(p).copied())
            .collect();
        (!v.is_empty()).then(|| median_u64(v))
    };
    for p in phases {
        let show = |v: Option<u64>| v.map(|x| x.to_string()).unwrap_or_else(|| "-".into());
        println!(
            "  {:<16} {:>8} {:>10}",
            p,
            show(med("ours", p)),
            show(med("baseline", p))
        );
    }
    let o = med("ours", "vendor_modules").unwrap_or_default();
    let b = med("baseline", "vendor_modules").unwrap_or_default();
    let o0 = med("ours", "early_mounts").unwrap_or_default();
    let b0 = med("baseline", "early_mounts").unwrap_or_default();
    println!(
        "kernel start -> vendor modules loaded: ours {o} ms, baseline {b} ms, ratio {:.2}",
        o as f64 / (b as f64).max(1.0)
    );
    println!(
        "PID 1 start (early mounts done) -> vendor modules loaded: ours {} ms, baseline {} ms, ratio {:.2}",
        o.saturating_sub(o0),
        b.saturating_sub(b0),
        o.saturating_sub(o0) as f64 / (b.saturating_sub(b0) as f64).max(1.0)
    );
    // What no first stage could beat on this kernel with this module set: the kernel's
    // own boot up to PID 1, then the vendor pass's longest dependency chain.
    let pid1 = med("ours", "start").unwrap_or_default();
    chains.sort();
    if let Some((chain_ms, chain)) = chains.get(chains.len() / 2) {
        let floor = pid1 + chain_ms;
        println!(
            "floor for any first stage here: kernel start -> PID 1 {pid1} ms + the vendor pass's \
             longest dependency chain {chain_ms} ms ({chain}) = {floor} ms, ratio {:.2}",
            floor as f64 / (b as f64).max(1.0)
        );
        println!(
            "ours / floor: {o} ms / {floor} ms = {:.2} (medians)",
            o as f64 / (floor as f64).max(1.0)
        );
    }
    if !per_round.is_empty() {
        let shown: Vec<String> = per_round.iter().map(|r| format!("{r:.2}")).collect();
        per_round.sort_by(f64::total_cmp);
        println!(
            "ours / floor per round: {} (median {:.2})",
            shown.join(" "),
            per_round[per_round.len() / 2]
        );
    }
    let size = fs::metadata(guest::build_init(arch)?)
        .map_err(io("stat /init"))?
        .len();
    println!(
        "our /init: {size} bytes stripped ({:.2} MiB)",
        size as f64 / 1048576.0
    );
    if !hwm.is_empty() {
        println!(
            "our PID 1 peak RSS at the end of the first stage: {} kB (median; the larger of VmHWM and smaps_rollup Rss)",
            median_u64(hwm)
        );
    }
    Ok(())
}

/// `bench modprobe`: in one aarch64 boot of a bench-only initramfs, load the demo's
/// vendor module set `rounds` times with our `modprobe -a` (2 jobs) and with Debian's
/// kmod `modprobe -a`, alternating which goes first, unloading between runs (kmod
/// `modprobe -r -a`); wall time of each from the guest's clock. Our runs are verbose
/// into a file (printed after the clock stops): the per-module timeline of the median
/// round is shown.
pub fn modprobe(rounds: usize) -> Result<(), HarnessError> {
    let arch = Arch::Aarch64;
    let mut g = Guest::new(arch)?;
    let mut tree = VendorTree::new()?;
    let mods = modules::vendor_modules_depmod(&mut tree, &g.kernel, demo::VENDOR_MODULES)?;
    let mut a = Archive::new();
    baseline::add_standard_tools(&mut a, arch)?;
    a.add_host_file("/system/bin/modprobe", &guest::build_init(arch)?)?;
    a.add_host_tree("/lib/modules", &tree.path().join("lib/modules"))?;
    for d in ["/proc", "/sys", "/dev"] {
        a.add_dir(d, 0o755)?;
    }
    let script = format!(
        r#"#!/bin/busybox sh
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
$B mount -t devtmpfs devtmpfs /dev
echo on > /proc/sys/kernel/printk_devkmsg
ms() {{ read up rest < /proc/uptime; echo $(( ${{up%.*}} * 1000 + 10 * 1${{up#*.}} - 1000 )); }}
rel=$($B uname -r)
names=$($B sed 's/\.ko$//' /lib/modules/$rel/modules.load)
run() {{
  t0=$(ms)
  if [ "$1" = ours ]; then /system/bin/modprobe -v -a -j 2 -d /lib/modules/$rel $names > /ours.out; else /sbin/modprobe -a $names; fi
  t1=$(ms)
  echo "BENCH_MODPROBE $1 round=$2 ms=$((t1 - t0)) loaded=$($B wc -l < /proc/modules)" > /dev/kmsg
  if [ "$1" = ours ]; then $B sed -n "s/^modprobe: timing /BENCH_TIMING round=$2 /p; s/^modprobe: \(read \|planned \)/BENCH_SETUP round=$2 \1/p" /ours.out; fi
  /sbin/modprobe -r -a $names
}}
r=0
while [ $r -lt {rounds} ]; do
  if [ $((r % 2)) -eq 0 ]; then run ours $r; run kmod $r; else run kmod $r; run ours $r; fi
  r=$((r + 1))
done
$B poweroff -f
"#,
        rounds = rounds.max(1)
    );
    a.add_file("/init", 0o755, script.into_bytes())?;
    g.initramfs = a;
    let log = g.boot()?;
    let mut times: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for l in log.grep("BENCH_MODPROBE ") {
        let rest = &l[l.find("BENCH_MODPROBE ").unwrap_or(0)..];
        let who = rest
            .split_whitespace()
            .skip(1)
            .find(|w| !w.contains('='))
            .map(str::to_owned);
        let ms = field(rest, "ms").and_then(|v| v.parse::<u64>().ok());
        let loaded = field(rest, "loaded").and_then(|v| v.parse::<usize>().ok());
        if loaded != Some(mods.len()) {
            return Err(HarnessError::Missing(log.report(&format!(
                "a run loaded {loaded:?} modules, not {}",
                mods.len()
            ))));
        }
        if let (Some(w), Some(m)) = (who, ms) {
            times.entry(w).or_default().push(m);
        }
    }
    let ours = times.get("ours").cloned().unwrap_or_default();
    let kmod = times.get("kmod").cloned().unwrap_or_default();
    // The median round of ours, by position in the list of our times.
    let median_round = {
        let m = median_u64(ours.clone());
        ours.iter().position(|&t| t == m).unwrap_or(0)
    };
    if ours.len() != rounds.max(1) || kmod.len() != rounds.max(1) {
        return Err(HarnessError::Missing(
            log.report("missing benchmark rounds"),
        ));
    }
    println!(
        "modprobe benchmark: {} modules ({} requested), aarch64 TCG, {} rounds, guest wall time (ms, 10 ms resolution)",
        mods.len(),
        demo::VENDOR_MODULES.len(),
        rounds.max(1)
    );
    println!(
        "  ours (modprobe -a -j 2): {ours:?}  median {} ms",
        median_u64(ours.clone())
    );
    println!(
        "  kmod (modprobe -a):      {kmod:?}  median {} ms",
        median_u64(kmod.clone())
    );
    println!(
        "  ratio ours/kmod: {:.2} (of the medians)",
        median_u64(ours.clone()) as f64 / (median_u64(kmod.clone()) as f64).max(1.0)
    );
    // Each round runs both loaders back to back, so the per-round ratio cancels the
    // host's drift between rounds.
    let mut paired: Vec<f64> = ours
        .iter()
        .zip(&kmod)
        .map(|(o, k)| *o as f64 / (*k as f64).max(1.0))
        .collect();
    paired.sort_by(f64::total_cmp);
    println!(
        "  ratio ours/kmod: {:.2} (median of the {} per-round ratios)",
        paired.get(paired.len() / 2).copied().unwrap_or_default(),
        paired.len()
    );
    // Our per-module timeline (`BENCH_TIMING round=R module=M start_ms=S ms=D worker=W`)
    // of the median round.
    let prefix = format!("BENCH_TIMING round={median_round} ");
    let rows: Vec<&str> = log
        .lines()
        .filter_map(|l| l.strip_prefix(prefix.as_str()))
        .collect();
    println!("  ours, round {median_round}:");
    let setup = format!("BENCH_SETUP round={median_round} ");
    for l in log.lines().filter_map(|l| l.strip_prefix(setup.as_str())) {
        println!("    {l}");
    }
    println!("    per-module timeline (ms from the start of the load pass):");
    println!(
        "    {:<18} {:>8} {:>8} {:>8}  worker",
        "module", "start", "took", "end"
    );
    for row in rows {
        let get = |k: &str| field(row, k).unwrap_or("");
        let num = |k: &str| get(k).parse::<f64>().unwrap_or(0.0);
        println!(
            "    {:<18} {:>8.1} {:>8.1} {:>8.1}  {}",
            get("module"),
            num("start_ms"),
            num("ms"),
            num("start_ms") + num("ms"),
            get("worker")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_rss_is_the_larger_of_the_two_counters() {
        let l = "[    2.33] first_stage: memory: VmHWM=12 kB Rss=3968 kB";
        assert_eq!(peak_rss_kb(l), Some(3968));
        assert_eq!(
            peak_rss_kb("first_stage: memory: VmHWM=4232 kB Rss=4100 kB"),
            Some(4232)
        );
        assert_eq!(
            peak_rss_kb("first_stage: memory: VmHWM=? kB Rss=4100 kB"),
            Some(4100)
        );
        assert_eq!(
            peak_rss_kb("first_stage: memory: VmHWM=? kB Rss=? kB"),
            None
        );
    }

    #[test]
    fn fields_are_whole_keys() {
        let l = "BENCH_MODPROBE ours round=1 start_ms=5 ms=1090 loaded=26";
        assert_eq!(field(l, "ms"), Some("1090"));
        assert_eq!(field(l, "start_ms"), Some("5"));
        assert_eq!(field(l, "loaded"), Some("26"));
        assert_eq!(field(l, "ours"), None);
        assert_eq!(field(l, "s"), None);
    }

    #[test]
    fn reads_critical_path_lines() {
        let l =
            "[ 3.5] first_stage: modules pass=vendor critical_path ms=1003.6 chain=raid6_pq>btrfs";
        assert_eq!(
            critical_path(l),
            Some((1004, "raid6_pq > btrfs".to_owned()))
        );
        assert_eq!(
            critical_path("modules pass=vendor critical_path chain=a"),
            None
        );
        assert_eq!(critical_path("nothing here"), None);
    }
}
