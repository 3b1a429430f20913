//! Booting a guest under QEMU (TCG: KVM does not work on our machines).
//!
//! The serial console is streamed from QEMU's stdout into a shared buffer (and echoed
//! live when asked), a deadline bounds every boot, and an optional HMP monitor socket
//! lets tests hot-plug devices. [`VmConfig::machine_args`] is the single source of the
//! machine options, used both to boot and to dump the device tree, so a DTB dumped for a
//! configuration matches the machine it is passed back to.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::console::BootLog;
use crate::error::{io, run, HarnessError};
use crate::kernel::Kernel;
use crate::Arch;

/// A disk attached as `virtio-blk-pci` (as crosvm attaches Microdroid's disks).
#[derive(Debug, Clone)]
pub struct Disk {
    /// Raw image file.
    pub path: PathBuf,
    /// Attach read-only.
    pub readonly: bool,
}

/// One guest's configuration.
#[derive(Debug, Clone)]
pub struct VmConfig {
    /// Guest architecture.
    pub arch: Arch,
    /// Kernel image.
    pub kernel: PathBuf,
    /// Initramfs image.
    pub initrd: PathBuf,
    /// Kernel command line words after `console=… panic=-1 security=selinux selinux=1`.
    pub append: Vec<String>,
    /// Disks, in PCI slot order.
    pub disks: Vec<Disk>,
    /// A device tree to boot with (`-dtb`), aarch64 only.
    pub dtb: Option<PathBuf>,
    /// Guest RAM in MiB.
    pub memory_mb: u32,
    /// vCPUs.
    pub smp: u32,
    /// Boot deadline.
    pub timeout: Duration,
    /// Echo the console to our stdout while it runs.
    pub echo: bool,
    /// Open an HMP monitor on this unix socket.
    pub monitor: Option<PathBuf>,
    /// Further QEMU arguments (e.g. `-device loader,…`), after the machine options.
    pub extra_args: Vec<String>,
    /// Raw bytes appended to the kernel command line after [`VmConfig::append`] (and a
    /// space), for command lines that are not UTF-8.
    pub append_bytes: Vec<u8>,
    /// Keep QEMU running, stopped, when the guest powers off (`-no-shutdown`), so guest
    /// memory can still be read through the monitor ([`Running::wait_until_stopped`]).
    pub no_shutdown: bool,
}

fn qemu_binary(arch: Arch) -> &'static str {
    match arch {
        Arch::Aarch64 => "qemu-system-aarch64",
        Arch::X86_64 => "qemu-system-x86_64",
    }
}

impl VmConfig {
    /// Defaults mirroring the Microdroid VM (DESIGN §8): 2 vCPUs, 512 MiB, no reboot.
    /// `QEMU_TESTS_TIMEOUT` (seconds) overrides the 240 s deadline.
    pub fn new(kernel: &Kernel, initrd: &Path) -> VmConfig {
        let timeout = std::env::var("QEMU_TESTS_TIMEOUT")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(240);
        VmConfig {
            arch: kernel.arch,
            kernel: kernel.vmlinuz(),
            initrd: initrd.to_owned(),
            append: Vec::new(),
            disks: Vec::new(),
            dtb: None,
            memory_mb: 512,
            smp: 2,
            timeout: Duration::from_secs(timeout),
            echo: std::env::var_os("QEMU_TESTS_ECHO").is_some(),
            monitor: None,
            extra_args: Vec::new(),
            append_bytes: Vec::new(),
            no_shutdown: false,
        }
    }

    /// The machine, CPU, memory and device options (no kernel, no DTB, no console).
    pub fn machine_args(&self) -> Vec<String> {
        let mut a: Vec<String> = match self.arch {
            // pauth-impdef: QEMU's cheap pointer-authentication algorithm; the
            // architected one (QARMA) makes TCG several times slower.
            Arch::Aarch64 => ["-M", "virt", "-cpu", "max,pauth-impdef=on"],
            Arch::X86_64 => ["-M", "pc", "-cpu", "max"],
        }
        .iter()
        .map(|s| s.to_string())
        .collect();
        for (flag, value) in [
            ("-accel", "tcg".to_string()),
            ("-smp", self.smp.to_string()),
            ("-m", self.memory_mb.to_string()),
        ] {
            a.push(flag.into());
            a.push(value);
        }
        a.push("-nographic".into());
        a.push("-no-reboot".into());
        for (i, d) in self.disks.iter().enumerate() {
            let ro = if d.readonly { ",readonly=on" } else { "" };
            a.push("-drive".into());
            a.push(format!(
                "file={},if=none,format=raw,id=d{i}{ro}",
                d.path.display()
            ));
            a.push("-device".into());
            a.push(format!("virtio-blk-pci,drive=d{i}"));
        }
        a
    }

    /// The kernel command line.
    pub fn cmdline(&self) -> String {
        let mut words = vec![
            format!("console={}", self.arch.console()),
            "panic=-1".into(),
        ];
        // The guest needs SELinux (Debian's kernels default to AppArmor).
        words.extend(crate::selinux::KERNEL_ARGS.iter().map(|s| s.to_string()));
        words.extend(self.append.iter().cloned());
        words.join(" ")
    }

    /// The full QEMU command line.
    pub fn command(&self) -> Command {
        let mut c = Command::new(qemu_binary(self.arch));
        c.args(self.machine_args());
        c.args(&self.extra_args);
        if self.no_shutdown {
            c.arg("-no-shutdown");
        }
        c.arg("-kernel").arg(&self.kernel);
        c.arg("-initrd").arg(&self.initrd);
        let mut cmdline = self.cmdline().into_bytes();
        if !self.append_bytes.is_empty() {
            cmdline.push(b' ');
            cmdline.extend_from_slice(&self.append_bytes);
        }
        c.arg("-append").arg(std::ffi::OsString::from_vec(cmdline));
        if let Some(dtb) = &self.dtb {
            c.arg("-dtb").arg(dtb);
        }
        match &self.monitor {
            Some(sock) => c
                .arg("-monitor")
                .arg(format!("unix:{},server=on,wait=off", sock.display())),
            None => c.args(["-monitor", "none"]),
        };
        c
    }

    /// Dumps the device tree QEMU generates for this machine (aarch64).
    pub fn dump_dtb(&self, out: &Path) -> Result<(), HarnessError> {
        let mut c = Command::new(qemu_binary(self.arch));
        c.args(self.machine_args())
            .arg("-machine")
            .arg(format!("dumpdtb={}", out.display()))
            .stdin(Stdio::null());
        run(&mut c)?;
        Ok(())
    }

    /// Boots and waits for QEMU to exit (or the deadline).
    pub fn boot(&self) -> Result<BootLog, HarnessError> {
        self.spawn()?.wait()
    }

    /// Starts QEMU and returns the running guest.
    pub fn spawn(&self) -> Result<Running, HarnessError> {
        let mut cmd = self.command();
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let line = format!("{cmd:?}");
        let mut child = cmd.spawn().map_err(io(format!("starting {line}")))?;
        let shared = Arc::new((Mutex::new(Vec::<u8>::new()), Condvar::new()));
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| HarnessError::Missing("QEMU stdout".into()))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| HarnessError::Missing("QEMU stderr".into()))?;
        let echo = self.echo;
        let sink = Arc::clone(&shared);
        let reader = thread::spawn(move || pump(stdout, sink, echo));
        let err_buf = Arc::new(Mutex::new(Vec::new()));
        let err_sink = Arc::clone(&err_buf);
        let err_reader = thread::spawn(move || {
            let mut r = BufReader::new(stderr);
            let mut b = Vec::new();
            let _ = r.read_to_end(&mut b);
            if let Ok(mut e) = err_sink.lock() {
                *e = b;
            }
        });
        Ok(Running {
            child,
            console: shared,
            stderr: err_buf,
            readers: vec![reader, err_reader],
            started: Instant::now(),
            deadline: Instant::now() + self.timeout,
            monitor: self.monitor.clone(),
            command: line,
        })
    }
}

fn pump(mut r: impl Read, sink: Arc<(Mutex<Vec<u8>>, Condvar)>, echo: bool) {
    let mut buf = [0u8; 4096];
    loop {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if echo {
                    let mut out = std::io::stdout();
                    let _ = out.write_all(&buf[..n]);
                    let _ = out.flush();
                }
                let (m, cv) = &*sink;
                if let Ok(mut v) = m.lock() {
                    v.extend_from_slice(&buf[..n]);
                }
                cv.notify_all();
            }
        }
    }
    sink.1.notify_all();
}

/// A guest that is running.
pub struct Running {
    child: Child,
    console: Arc<(Mutex<Vec<u8>>, Condvar)>,
    stderr: Arc<Mutex<Vec<u8>>>,
    readers: Vec<thread::JoinHandle<()>>,
    started: Instant,
    deadline: Instant,
    monitor: Option<PathBuf>,
    command: String,
}

impl Running {
    /// The console so far.
    pub fn console(&self) -> String {
        let v = self.console.0.lock().map(|v| v.clone()).unwrap_or_default();
        String::from_utf8_lossy(&v).into_owned()
    }

    /// Waits until the console contains `needle` (or the boot deadline / `limit`).
    pub fn wait_for(&self, needle: &str, limit: Duration) -> Result<(), HarnessError> {
        let end = (Instant::now() + limit).min(self.deadline);
        let (m, cv) = &*self.console;
        let mut v = m.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if String::from_utf8_lossy(&v).contains(needle) {
                return Ok(());
            }
            let now = Instant::now();
            if now >= end {
                return Err(HarnessError::Timeout {
                    what: format!("console line {needle:?}"),
                    secs: limit.as_secs(),
                });
            }
            let (guard, _) = cv
                .wait_timeout(v, (end - now).min(Duration::from_millis(200)))
                .unwrap_or_else(|e| e.into_inner());
            v = guard;
        }
    }

    /// Sends one HMP command to the monitor and returns its output.
    pub fn monitor(&self, command: &str) -> Result<String, HarnessError> {
        let path = self
            .monitor
            .as_ref()
            .ok_or_else(|| HarnessError::Missing("this VM has no monitor socket".into()))?;
        let mut s =
            UnixStream::connect(path).map_err(io(format!("connecting {}", path.display())))?;
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(io("monitor timeout"))?;
        let mut r = BufReader::new(s.try_clone().map_err(io("monitor clone"))?);
        read_until_prompt(&mut r)?;
        s.write_all(format!("{command}\n").as_bytes())
            .map_err(io("monitor write"))?;
        read_until_prompt(&mut r)
    }

    /// For a VM with [`VmConfig::no_shutdown`]: waits until the guest has powered off and
    /// QEMU has stopped it (the monitor's `info status` says `shutdown`). An exit of QEMU
    /// or the boot deadline is an error.
    pub fn wait_until_stopped(&mut self) -> Result<(), HarnessError> {
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Err(HarnessError::Missing(format!(
                    "QEMU exited ({st}) instead of stopping"
                )));
            }
            if Instant::now() >= self.deadline {
                return Err(HarnessError::Timeout {
                    what: "the guest to power off".into(),
                    secs: self.deadline.duration_since(self.started).as_secs(),
                });
            }
            // Poll the monitor only once the kernel said it is powering off.
            if self.console().contains("reboot: Power down")
                && self.monitor("info status")?.contains("shutdown")
            {
                return Ok(());
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// `len` bytes of guest-physical memory at `addr`, read with the monitor's `xp` in
    /// 64-bit words (guest byte order: little-endian).
    pub fn read_phys(&self, addr: u64, len: u64) -> Result<Vec<u8>, HarnessError> {
        const WORDS_PER_COMMAND: u64 = 8192;
        let words = len.div_ceil(8);
        let mut out = Vec::with_capacity(usize::try_from(words * 8).unwrap_or(0));
        let mut done = 0;
        while done < words {
            let n = (words - done).min(WORDS_PER_COMMAND);
            let at = addr + done * 8;
            let text = self.monitor(&format!("xp /{n}gx {at:#x}"))?;
            let got = parse_xp_words(&text);
            if got.len() as u64 != n {
                return Err(HarnessError::Missing(format!(
                    "xp /{n}gx {at:#x} returned {} words:\n{}",
                    got.len(),
                    text.lines().take(5).collect::<Vec<_>>().join("\n")
                )));
            }
            out.extend(got.iter().flat_map(|w| w.to_le_bytes()));
            done += n;
        }
        out.truncate(usize::try_from(len).unwrap_or(usize::MAX));
        Ok(out)
    }

    /// Waits for QEMU to exit, killing it at the deadline, and returns the boot log.
    pub fn wait(mut self) -> Result<BootLog, HarnessError> {
        let status: Option<ExitStatus> = loop {
            match self.child.try_wait() {
                Ok(Some(st)) => break Some(st),
                Ok(None) if Instant::now() >= self.deadline => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break None;
                }
                Ok(None) => thread::sleep(Duration::from_millis(50)),
                Err(e) => return Err(io("waiting for QEMU")(e)),
            }
        };
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        let stderr = self.stderr.lock().map(|v| v.clone()).unwrap_or_default();
        Ok(BootLog {
            console: self.console(),
            qemu_stderr: String::from_utf8_lossy(&stderr).into_owned(),
            status,
            elapsed: self.started.elapsed(),
            command: self.command.clone(),
        })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The words of HMP `xp /Ngx` output: lines `<address>: 0x<word> 0x<word>`.
fn parse_xp_words(text: &str) -> Vec<u64> {
    text.lines()
        .filter_map(|l| l.split_once(": "))
        .filter(|(a, _)| a.trim().chars().all(|c| c.is_ascii_hexdigit()) && !a.trim().is_empty())
        .flat_map(|(_, words)| words.split_whitespace())
        .filter_map(|w| u64::from_str_radix(w.strip_prefix("0x")?, 16).ok())
        .collect()
}

fn read_until_prompt(r: &mut impl BufRead) -> Result<String, HarnessError> {
    let mut out = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match r.read(&mut byte) {
            Ok(0) => break,
            Ok(_) => {
                out.push(byte[0]);
                if out.ends_with(b"(qemu) ") {
                    break;
                }
            }
            Err(e) => return Err(io("reading the QEMU monitor")(e)),
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xp_output_parses_into_words() {
        let text = "xp /3gx 0x5fff0000\r\n\
                    000000005fff0000: 0x0000000000000000 0x00000000000000ff\r\n\
                    000000005fff0010: 0x1122334455667788\r\n(qemu) ";
        assert_eq!(parse_xp_words(text), [0, 0xff, 0x1122_3344_5566_7788]);
        assert!(parse_xp_words("unknown command: 'xp'\r\n(qemu) ").is_empty());
    }
}
