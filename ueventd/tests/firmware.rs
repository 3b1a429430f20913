//! Firmware loading on a fixture tree: fake `loading`/`data` files, found, not found,
//! failures, hostile names, the external handler, and the threaded path (with the fake
//! and with the real operations on regular files).

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{config, uevent, Fixture, Labels, Props};
use ueventd::{
    load_firmware, FakeDeviceOps, FirmwareOutcome, FirmwareRequest, Op, ProgramOutput,
    RealDeviceOps, Ueventd, UeventdConfig,
};

const FW_DEVPATH: &str = "/devices/platform/wifi/firmware/brcm!fw.bin";

struct Fw {
    fx: Fixture,
    loader: PathBuf,
    dirs: Vec<String>,
}

fn setup() -> Fw {
    let fx = Fixture::new();
    let loader = fx.device(FW_DEVPATH, &["SUBSYSTEM=firmware"]);
    fs::write(loader.join("loading"), "").unwrap();
    fs::write(loader.join("data"), "").unwrap();
    let first = fx.dir.path().join("fw1");
    let second = fx.dir.path().join("fw2/");
    fs::create_dir_all(first.join("brcm")).unwrap();
    fs::create_dir_all(second.join("brcm")).unwrap();
    fs::write(second.join("brcm/fw.bin"), b"second copy").unwrap();
    fs::write(second.join("other.bin"), b"other firmware").unwrap();
    let dirs = vec![first.display().to_string(), second.display().to_string()];
    Fw { fx, loader, dirs }
}

fn request(name: &str) -> FirmwareRequest {
    FirmwareRequest {
        devpath: FW_DEVPATH.into(),
        firmware: name.into(),
    }
}

#[test]
fn found_file_is_fed_through_loading_and_data() {
    let fw = setup();
    let ops = FakeDeviceOps::new();
    let out = load_firmware(&ops, &fw.fx.sys, &fw.dirs, &[], &request("brcm/fw.bin"));
    let expected = Path::new(&fw.dirs[1]).join("brcm/fw.bin");
    assert_eq!(
        out,
        FirmwareOutcome::Loaded {
            path: expected.clone(),
            bytes: 11
        }
    );
    let loading = fw.loader.join("loading");
    let data = fw.loader.join("data");
    assert_eq!(
        ops.ops(),
        vec![
            Op::Write {
                path: loading.clone(),
                data: b"1".to_vec()
            },
            Op::Copy {
                src: expected,
                dst: data.clone(),
                bytes: 11
            },
            Op::Write {
                path: loading,
                data: b"0".to_vec()
            },
        ]
    );
    assert_eq!(ops.written(&data), b"second copy");
}

#[test]
fn first_directory_wins() {
    let fw = setup();
    fs::write(Path::new(&fw.dirs[0]).join("brcm/fw.bin"), b"first").unwrap();
    let ops = FakeDeviceOps::new();
    let out = load_firmware(&ops, &fw.fx.sys, &fw.dirs, &[], &request("brcm/fw.bin"));
    assert!(matches!(out, FirmwareOutcome::Loaded { bytes: 5, .. }));
}

#[test]
fn missing_file_aborts_with_minus_one() {
    let fw = setup();
    let ops = FakeDeviceOps::new();
    let out = load_firmware(&ops, &fw.fx.sys, &fw.dirs, &[], &request("nope.bin"));
    assert_eq!(
        out,
        FirmwareOutcome::NotFound {
            name: "nope.bin".into()
        }
    );
    assert_eq!(ops.writes_to(&fw.loader.join("loading")), [b"-1".to_vec()]);
    // A directory with the name is not a file.
    let out = load_firmware(&ops, &fw.fx.sys, &fw.dirs, &[], &request("brcm"));
    assert!(matches!(out, FirmwareOutcome::NotFound { .. }));
}

#[test]
fn copy_failure_aborts_after_starting() {
    let fw = setup();
    let ops = FakeDeviceOps::new();
    ops.fail("copy_into", &fw.loader.join("data"));
    let out = load_firmware(&ops, &fw.fx.sys, &fw.dirs, &[], &request("brcm/fw.bin"));
    assert!(matches!(out, FirmwareOutcome::Failed(_)), "{out:?}");
    assert_eq!(
        ops.writes_to(&fw.loader.join("loading")),
        [b"1".to_vec(), b"-1".to_vec()]
    );
}

#[test]
fn hostile_names_are_refused() {
    let fw = setup();
    let ops = FakeDeviceOps::new();
    for name in ["../../etc/shadow", "/etc/passwd", "", "a//b"] {
        ops.clear_ops();
        let out = load_firmware(&ops, &fw.fx.sys, &fw.dirs, &[], &request(name));
        assert!(matches!(out, FirmwareOutcome::Failed(_)), "{name}: {out:?}");
        assert_eq!(
            ops.writes_to(&fw.loader.join("loading")),
            [b"-1".to_vec()],
            "{name}"
        );
    }
}

#[test]
fn no_loader_files_means_nothing_is_written() {
    let fw = setup();
    fs::remove_file(fw.loader.join("data")).unwrap();
    let ops = FakeDeviceOps::new();
    let out = load_firmware(&ops, &fw.fx.sys, &fw.dirs, &[], &request("brcm/fw.bin"));
    assert!(matches!(out, FirmwareOutcome::Failed(_)));
    assert!(ops.ops().is_empty());
}

#[test]
fn external_handler_renames_the_firmware() {
    let fw = setup();
    let c = config(&format!(
        "external_firmware_handler /devices/platform/wifi/firmware/* system radio \"/vendor/bin/pick --flag\"\n\
         firmware_directories {}\n",
        fw.dirs[1]
    ));
    let ops = FakeDeviceOps::new();
    ops.set_program_output(ProgramOutput {
        success: true,
        status: "exit status: 0".into(),
        stdout: b"  other.bin\n".to_vec(),
        stderr: b"note from handler\n".to_vec(),
    });
    let out = load_firmware(
        &ops,
        &fw.fx.sys,
        &c.firmware_directories,
        &c.external_firmware_handlers,
        &request("brcm/fw.bin"),
    );
    assert!(
        matches!(&out, FirmwareOutcome::Loaded { path, .. } if path.ends_with("other.bin")),
        "{out:?}"
    );
    assert_eq!(
        ops.ops()[0],
        Op::Run {
            argv: vec!["/vendor/bin/pick".into(), "--flag".into()],
            uid: 1000,
            gid: 1001,
            env: vec![
                ("FIRMWARE".into(), "brcm/fw.bin".into()),
                ("DEVPATH".into(), FW_DEVPATH.into())
            ],
        }
    );
}

#[test]
fn external_handler_failures_fall_back_to_the_kernel_name() {
    let fw = setup();
    let c = config(&format!(
        "external_firmware_handler {FW_DEVPATH} root /bin/h\nfirmware_directories {}\n",
        fw.dirs[1]
    ));
    for output in [
        None,
        Some(ProgramOutput {
            success: false,
            status: "exit status: 1".into(),
            stdout: b"other.bin".to_vec(),
            stderr: vec![],
        }),
        Some(ProgramOutput {
            success: true,
            status: "exit status: 0".into(),
            stdout: b"../other.bin".to_vec(),
            stderr: vec![],
        }),
        Some(ProgramOutput {
            success: true,
            status: "exit status: 0".into(),
            stdout: b"\n".to_vec(),
            stderr: vec![],
        }),
    ] {
        let ops = FakeDeviceOps::new();
        if let Some(o) = output.clone() {
            ops.set_program_output(o);
        }
        let out = load_firmware(
            &ops,
            &fw.fx.sys,
            &c.firmware_directories,
            &c.external_firmware_handlers,
            &request("brcm/fw.bin"),
        );
        assert!(
            matches!(&out, FirmwareOutcome::Loaded { path, .. } if path.ends_with("brcm/fw.bin")),
            "{output:?}: {out:?}"
        );
    }
}

#[test]
fn handler_for_another_devpath_is_not_run() {
    let fw = setup();
    let c = config("external_firmware_handler /devices/other root /bin/h\n");
    let ops = FakeDeviceOps::new();
    load_firmware(
        &ops,
        &fw.fx.sys,
        &fw.dirs,
        &c.external_firmware_handlers,
        &request("brcm/fw.bin"),
    );
    assert!(!ops.ops().iter().any(|op| matches!(op, Op::Run { .. })));
}

fn firmware_event(name: &str) -> ueventd::Uevent {
    uevent(
        "add",
        FW_DEVPATH,
        &["SUBSYSTEM=firmware", &format!("FIRMWARE={name}")],
    )
}

#[test]
fn daemon_loads_on_a_thread_and_can_wait() {
    let fw = setup();
    let ops = FakeDeviceOps::new();
    let props = Props::default();
    let labels = Labels::default();
    let cfg = UeventdConfig {
        firmware_directories: fw.dirs.clone(),
        ..UeventdConfig::default()
    };
    let mut u = Ueventd::new(
        cfg,
        fw.fx.dev.clone(),
        fw.fx.sys.clone(),
        &ops,
        &props,
        &labels,
        None,
    );
    u.handle_uevent(&firmware_event("brcm/fw.bin")).unwrap();
    u.handle_uevent(&firmware_event("missing.bin")).unwrap();
    // Not for firmware: wrong action or subsystem.
    u.handle_uevent(&uevent(
        "remove",
        FW_DEVPATH,
        &["SUBSYSTEM=firmware", "FIRMWARE=x"],
    ))
    .unwrap();
    u.handle_uevent(&uevent(
        "add",
        FW_DEVPATH,
        &["SUBSYSTEM=misc", "FIRMWARE=x"],
    ))
    .unwrap();
    let mut outcomes = u.wait_for_firmware();
    outcomes.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    assert!(matches!(
        outcomes[0],
        FirmwareOutcome::Loaded { bytes: 11, .. }
    ));
    assert!(matches!(outcomes[1], FirmwareOutcome::NotFound { .. }));
    assert!(u.wait_for_firmware().is_empty());
}

#[test]
fn daemon_inline_mode() {
    let fw = setup();
    let ops = FakeDeviceOps::new();
    ops.set_inline(true);
    let props = Props::default();
    let labels = Labels::default();
    let cfg = UeventdConfig {
        firmware_directories: fw.dirs.clone(),
        ..UeventdConfig::default()
    };
    let mut u = Ueventd::new(
        cfg,
        fw.fx.dev.clone(),
        fw.fx.sys.clone(),
        &ops,
        &props,
        &labels,
        None,
    );
    u.handle_uevent(&firmware_event("brcm/fw.bin")).unwrap();
    // Already done when handle_uevent returns.
    assert_eq!(ops.written(&fw.loader.join("data")), b"second copy");
    let outcomes = u.wait_for_firmware();
    assert!(matches!(
        outcomes[..],
        [FirmwareOutcome::Loaded { bytes: 11, .. }]
    ));
}

#[test]
fn many_requests_are_bounded() {
    let fw = setup();
    let ops = FakeDeviceOps::new();
    let props = Props::default();
    let labels = Labels::default();
    let cfg = UeventdConfig {
        firmware_directories: fw.dirs.clone(),
        ..UeventdConfig::default()
    };
    let mut u = Ueventd::new(
        cfg,
        fw.fx.dev.clone(),
        fw.fx.sys.clone(),
        &ops,
        &props,
        &labels,
        None,
    );
    for _ in 0..50 {
        u.handle_uevent(&firmware_event("brcm/fw.bin")).unwrap();
    }
    // 50 loads with at most MAX_FIRMWARE_THREADS in flight; 100 more keep only the latest
    // MAX_FIRMWARE_OUTCOMES outcomes.
    let mut more = u.wait_for_firmware();
    assert_eq!(more.len(), 50);
    for _ in 0..100 {
        u.handle_uevent(&firmware_event("brcm/fw.bin")).unwrap();
    }
    more = u.wait_for_firmware();
    assert_eq!(more.len(), ueventd::daemon::MAX_FIRMWARE_OUTCOMES);
    assert!(u.wait_for_firmware().is_empty());
    let loads = ops
        .ops()
        .iter()
        .filter(|op| matches!(op, Op::Copy { .. }))
        .count();
    assert_eq!(loads, 150);
}

#[test]
fn real_operations_on_regular_files() {
    let fw = setup();
    let ops = RealDeviceOps;
    let props = Props::default();
    let labels = Labels::default();
    let cfg = UeventdConfig {
        firmware_directories: fw.dirs.clone(),
        ..UeventdConfig::default()
    };
    let mut u = Ueventd::new(
        cfg,
        fw.fx.dev.clone(),
        fw.fx.sys.clone(),
        &ops,
        &props,
        &labels,
        None,
    );
    u.handle_uevent(&firmware_event("brcm/fw.bin")).unwrap();
    let outcomes = u.wait_for_firmware();
    assert!(
        matches!(outcomes[..], [FirmwareOutcome::Loaded { bytes: 11, .. }]),
        "{outcomes:?}"
    );
    assert_eq!(fs::read(fw.loader.join("data")).unwrap(), b"second copy");
    // "1" then "0", each written at offset 0 of the regular file.
    assert_eq!(fs::read(fw.loader.join("loading")).unwrap(), b"0");
}
