//! Test-only hooks (cargo feature `test-hooks`, never in the shipped binary): what the
//! QEMU robustness tests need to provoke and measure inside a real guest.
//!
//! - [`on_set_property`]: setting `test.init.panic` makes PID 1 panic inside the event
//!   loop, `test.init.oom` makes it ask for 1 TiB (an allocation that fails);
//! - [`probe_main`], the `init_probe` applet:
//!   - `init_probe idle UID[,UID…] PER_UID READY_FILE`: for each uid a process that
//!     connects `PER_UID + 1` times to the property socket and never sends anything; the
//!     one over the cap should be closed at once, the others are reconnected whenever init
//!     closes them, so init always holds `PER_UID` idle connections per uid. The parent
//!     prints what each child saw, creates `READY_FILE` and waits for the children
//!     (which never end).
//!   - `init_probe reap`: leaves an orphan that exits 100 ms later and measures, from
//!     its exit to its `/proc` entry disappearing, how long PID 1 took to reap it;
//!   - `init_probe set NAME VALUE`: one property set, its answer and how long it took;
//!   - `init_probe oom`: asks for 1 TiB (the non-PID-1 allocation-failure path).

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::prop_proto::{encode_set, DEFAULT_SOCKET};

/// The property that makes PID 1 panic.
pub const PANIC_PROPERTY: &str = "test.init.panic";
/// The property that makes PID 1 run out of memory.
pub const OOM_PROPERTY: &str = "test.init.oom";
/// What [`OOM_PROPERTY`] and `init_probe oom` ask for.
pub const OOM_BYTES: usize = 1 << 40;

/// Called by the interpreter for every property set.
pub fn on_set_property(name: &str) {
    match name {
        PANIC_PROPERTY => panic!("test hook: {PANIC_PROPERTY} was set"),
        OOM_PROPERTY => exhaust_memory(),
        _ => {}
    }
}

fn exhaust_memory() {
    let v: Vec<u8> = Vec::with_capacity(std::hint::black_box(OOM_BYTES));
    std::hint::black_box(&v);
}

/// `CLOCK_MONOTONIC`, comparable between processes.
fn monotonic() -> Duration {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(Duration::from)
        .unwrap_or_default()
}

/// The `init_probe` applet (`args[0]` is its name).
pub fn probe_main(args: &[std::ffi::OsString]) -> i32 {
    let a: Vec<String> = args
        .iter()
        .skip(1)
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let r = match a.as_slice() {
        ["idle", uids, per_uid, ready] => idle(uids, per_uid, Path::new(ready)),
        ["idle-as", per_uid] => idle_as(per_uid),
        ["reap"] => reap(),
        ["exit-later", ms] => exit_later(ms),
        ["set", name, value] => set(name, value),
        ["oom"] => {
            exhaust_memory();
            Ok(())
        }
        _ => Err("usage: init_probe idle UIDS PER_UID READY | reap | set NAME VALUE | oom".into()),
    };
    match r {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("init_probe: {e}");
            1
        }
    }
}

fn self_exe() -> Result<std::path::PathBuf, String> {
    std::env::current_exe().map_err(|e| format!("current_exe: {e}"))
}

fn idle(uids: &str, per_uid: &str, ready: &Path) -> Result<(), String> {
    let exe = self_exe()?;
    let mut children = Vec::new();
    for uid in uids.split(',') {
        let uid: u32 = uid.parse().map_err(|_| format!("bad uid '{uid}'"))?;
        let mut child = Command::new(&exe)
            .arg0("init_probe")
            .args(["idle-as", per_uid])
            .uid(uid)
            .gid(uid)
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("spawn for uid {uid}: {e}"))?;
        let out = child.stdout.take().ok_or("no stdout")?;
        children.push((uid, child, BufReader::new(out)));
    }
    for (uid, _, out) in &mut children {
        let mut line = String::new();
        out.read_line(&mut line)
            .map_err(|e| format!("uid {uid}: {e}"))?;
        print!("PROBE_IDLE uid={uid} {line}");
    }
    std::fs::write(ready, b"ready\n").map_err(|e| format!("{}: {e}", ready.display()))?;
    // The children keep their connections until the guest powers off; this process
    // stays too (a service whose main process exits has its cgroup killed).
    for (_, mut child, _) in children {
        let _ = child.wait();
    }
    Ok(())
}

fn connect() -> Result<UnixStream, String> {
    UnixStream::connect(DEFAULT_SOCKET).map_err(|e| format!("connect: {e}"))
}

/// Whether init closed `s` (EOF or an answer) within `wait`.
fn closed_within(s: &UnixStream, wait: Duration) -> bool {
    let _ = s.set_read_timeout(Some(wait));
    let mut b = [0u8; 4];
    !matches!((&*s).read(&mut b), Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut))
}

fn idle_as(per_uid: &str) -> Result<(), String> {
    let n: usize = per_uid.parse().map_err(|_| "bad count")?;
    let mut held: Vec<UnixStream> = (0..n).map(|_| connect()).collect::<Result<_, _>>()?;
    let extra = connect()?;
    let refused = closed_within(&extra, Duration::from_secs(2));
    println!("held={n} one_more_closed_at_once={refused}");
    let _ = std::io::stdout().flush();
    // Reconnect whatever init closes (its deadline), so it always holds `n` of ours.
    loop {
        for s in &mut held {
            if closed_within(s, Duration::from_millis(10)) {
                *s = connect()?;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn reap() -> Result<(), String> {
    let exe = self_exe()?;
    // The intermediate process exits at once; its child is re-parented to PID 1.
    let mut child = Command::new(&exe)
        .arg0("init_probe")
        .args(["exit-later", "100"])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    let mut out = String::new();
    child
        .stdout
        .take()
        .ok_or("no stdout")?
        .read_to_string(&mut out)
        .map_err(|e| format!("read: {e}"))?;
    let _ = child.wait();
    let mut f = out.split_whitespace();
    let (Some(pid), Some(exit_ns)) = (f.next(), f.next()) else {
        return Err(format!("bad report '{out}'"));
    };
    let exit_at = Duration::from_nanos(exit_ns.parse().map_err(|_| "bad time")?);
    let proc_dir = format!("/proc/{pid}");
    let start = Instant::now();
    while Path::new(&proc_dir).exists() {
        if start.elapsed() > Duration::from_secs(30) {
            return Err(format!("pid {pid} was not reaped within 30 s"));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let ms = monotonic().saturating_sub(exit_at).as_secs_f64() * 1000.0;
    println!("PROBE_REAP pid={pid} reaped_after_ms={ms:.1}");
    Ok(())
}

/// In the intermediate process: starts the orphan-to-be and exits. In the orphan
/// (`exit-later` re-run with a marker): waits, reports its pid and exit time, exits.
fn exit_later(ms: &str) -> Result<(), String> {
    let ms: u64 = ms.parse().map_err(|_| "bad delay")?;
    if std::env::var_os("INIT_PROBE_ORPHAN").is_none() {
        Command::new(self_exe()?)
            .arg0("init_probe")
            .args(["exit-later", &ms.to_string()])
            .env("INIT_PROBE_ORPHAN", "1")
            .spawn()
            .map_err(|e| format!("spawn: {e}"))?;
        return Ok(());
    }
    std::thread::sleep(Duration::from_millis(ms));
    println!("{} {}", std::process::id(), monotonic().as_nanos());
    let _ = std::io::stdout().flush();
    Ok(())
}

fn set(name: &str, value: &str) -> Result<(), String> {
    let msg = encode_set(name, value).map_err(|e| e.to_string())?;
    let start = Instant::now();
    let mut s = connect()?;
    s.write_all(&msg).map_err(|e| format!("write: {e}"))?;
    let mut b = [0u8; 4];
    s.read_exact(&mut b)
        .map_err(|e| format!("no answer: {e}"))?;
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    println!(
        "PROBE_SET {name}={value} answer=0x{:x} after_ms={ms:.1}",
        u32::from_ne_bytes(b)
    );
    Ok(())
}
