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
