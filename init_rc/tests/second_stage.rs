//! End to end on the host: runs the real second stage (`init_rc second-stage`, as an
//! ordinary process rather than PID 1) on a temporary root, talks to its property socket
//! with the library client and the applets, and shuts it down through `sys.powerctl`.
//! Readiness is polled with bounded retries; nothing asserts on elapsed time.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use init_rc::{get_property, set_property};

const BIN: &str = env!("CARGO_BIN_EXE_init_rc");

/// Polls `f` up to `tries` times, 10 ms apart.
fn eventually(tries: u32, mut f: impl FnMut() -> bool) -> bool {
    for _ in 0..tries {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn write(p: &Path, s: &str) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, s).unwrap();
}

#[test]
fn boots_serves_properties_and_shuts_down() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path();
    let dev = root.join("dev");
    for n in ["null", "console", "kmsg"] {
        write(&dev.join(n), "");
    }
    write(
        &root.join("proc/cmdline"),
        "console=ttyAMA0 androidboot.hardware=virt panic=-1\n",
    );
    // The sysctls AOSP's hardening builtins set (plain files here take any value).
    for (f, v) in [
        ("sys/kernel/kptr_restrict", "0\n"),
        ("sys/vm/mmap_rnd_bits", "18\n"),
        ("sys/vm/mmap_rnd_compat_bits", "11\n"),
    ] {
        write(&root.join("proc").join(f), v);
    }
    // /data mounted: the shutdown runs its whole stop sequence.
    write(
        &root.join("proc/mounts"),
        "tmpfs /data tmpfs rw,nosuid 0 0\n",
    );
    write(
        &root.join("init.rc"),
        &format!(
            "on early-init
    exec -- /bin/sh -c \"echo exec-output $$(umask) > {root}/exec.out; /bin/grep SigBlk /proc/self/status >> {root}/exec.out; echo to-null\"
    wait_for_prop ro.cold_boot_done true
    write {root}/after_wait ${{ro.boot.hardware}}
on init
    exec -- {root}/missing-program
    setprop sys.test ok
on late-init
    trigger boot
on boot
    start svc
service svc /bin/sh -c \"echo svc-started; exec /bin/sleep 100\"
    console
",
            root = root.display()
        ),
    );
    write(
        &root.join("rc.d/vendor.rc"),
        "on boot\n    setprop vendor.seen 1\n",
    );
    write(
        &root.join("rc.d/ignored.txt"),
        "on boot\n    setprop vendor.txt 1\n",
    );
    let socket = dev.join("socket/property_service");
    let child = Command::new(BIN)
        .arg("second-stage")
        .arg("--init-rc")
        .arg(root.join("init.rc"))
        .arg("--rc-dir")
        .arg(root.join("rc.d"))
        .arg("--proc")
        .arg(root.join("proc"))
        .arg("--dev")
        .arg(&dev)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut init = Guard(child);
    assert!(eventually(1000, || get_property(
        &socket,
        "ro.property_service.version"
    )
    .is_ok()));
    assert_eq!(
        get_property(&socket, "ro.boot.hardware")
            .unwrap()
            .as_deref(),
        Some("virt")
    );
    // kptr_restrict was set before early-init, at the highest value tried (a plain file
    // takes AOSP's first try); mmap_rnd_bits only after early-init.
    let sysctl = |f: &str| std::fs::read_to_string(root.join("proc").join(f)).unwrap();
    assert_eq!(sysctl("sys/kernel/kptr_restrict"), "4\n");
    assert_eq!(sysctl("sys/vm/mmap_rnd_bits"), "18\n");
    // Blocked in early-init on wait_for_prop: nothing after it has run.
    assert_eq!(get_property(&socket, "sys.test").unwrap(), None);
    assert!(!root.join("after_wait").exists());
    let console = || std::fs::read_to_string(dev.join("console")).unwrap_or_default();
    let exec_out = || std::fs::read_to_string(root.join("exec.out")).unwrap_or_default();
    // Children start with umask 077; init blocks SIGCHLD for its signalfd, children start
    // with an empty mask.
    let empty_mask = "SigBlk:\t0000000000000000";
    assert!(
        eventually(500, || exec_out().contains("exec-output 0077")
            && exec_out().contains(empty_mask)),
        "{}",
        exec_out()
    );

    // What ueventd does after coldboot.
    set_property(&socket, "ro.cold_boot_done", "true").unwrap();
    assert!(eventually(1000, || {
        get_property(&socket, "init.svc.svc").unwrap().as_deref() == Some("running")
    }));
    assert_eq!(
        std::fs::read_to_string(root.join("after_wait")).unwrap(),
        "virt"
    );
    let bits = if cfg!(target_arch = "aarch64") {
        "33\n"
    } else {
        "32\n"
    };
    assert_eq!(sysctl("sys/vm/mmap_rnd_bits"), bits);
    assert_eq!(sysctl("sys/vm/mmap_rnd_compat_bits"), "16\n");
    assert!(get_property(&socket, "ro.boottime.init.cold_boot_wait")
        .unwrap()
        .is_some());
    assert_eq!(
        get_property(&socket, "sys.test").unwrap().as_deref(),
        Some("ok")
    );
    assert_eq!(
        get_property(&socket, "vendor.seen").unwrap().as_deref(),
        Some("1")
    );
    // Every regular file of an init directory is parsed (AOSP `ParseConfigDir`).
    assert_eq!(
        get_property(&socket, "vendor.txt").unwrap().as_deref(),
        Some("1")
    );
    // exec children's stdout is <dev>/null (here a plain file), not the console.
    assert!(std::fs::read_to_string(dev.join("null"))
        .unwrap()
        .contains("to-null"));
    assert!(!console().contains("to-null"));
    assert!(
        eventually(500, || console().contains("svc-started")),
        "{}",
        console()
    );

    // ro.* is write-once; init.svc.* is init's own.
    assert!(set_property(&socket, "ro.cold_boot_done", "false").is_err());
    assert!(set_property(&socket, "init.svc.svc", "stopped").is_err());

    // The applets.
    let out = Command::new(BIN)
        .args(["setprop", "--socket"])
        .arg(&socket)
        .args(["sys.applet", "42"])
        .status()
        .unwrap();
    assert!(out.success());
    let out = Command::new(BIN)
        .args(["getprop", "--socket"])
        .arg(&socket)
        .arg("sys.applet")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "42\n");
    let out = Command::new(BIN)
        .args(["getprop", "--socket"])
        .arg(&socket)
        .args(["sys.unset", "dflt"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "dflt\n");
    let bad = Command::new(BIN)
        .args(["setprop", "only-one"])
        .status()
        .unwrap();
    assert_eq!(bad.code(), Some(2));

    // Shutdown: services get SIGTERM, init syncs and (not being PID 1) exits 0.
    set_property(&socket, "sys.powerctl", "shutdown").unwrap();
    let mut status = None;
    assert!(eventually(3000, || {
        status = init.0.try_wait().unwrap();
        status.is_some()
    }));
    assert_eq!(status.unwrap().code(), Some(0));
}

#[test]
fn missing_init_rc_is_fatal() {
    let d = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .arg("second-stage")
        .arg("--init-rc")
        .arg(d.path().join("nope.rc"))
        .arg("--dev")
        .arg(d.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("INIT_FATAL reason=INIT_RC_MISSING"), "{err}");
}
