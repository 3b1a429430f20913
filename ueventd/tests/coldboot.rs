//! Coldboot on a fixture `/sys`: the walk order (class, block, devices; a directory's
//! own `uevent` before its children; names sorted; no symlinks; no dot-directories), the
//! replayed events creating nodes, the report, and `ro.cold_boot_done=true` set last.

mod common;

use std::fs;
use std::path::PathBuf;

use common::{config, FakeKernel, Fixture, Labels, Props};
use ueventd::{
    DropReason, FakeDeviceOps, FakeEntry, Op, Received, UeventError, UeventSource, Ueventd,
    UeventdConfig, UeventdError, COLD_BOOT_DONE_PROP,
};

const VDA: &str = "/devices/pci0000:00/0000:00:04.0/virtio1/block/vda";

fn build_tree(fx: &Fixture) {
    fx.device("/devices/pci0000:00", &[]);
    fx.device(
        "/devices/pci0000:00/0000:00:04.0",
        &["SUBSYSTEM=pci", "MODALIAS=pci:v00001AF4d00001001"],
    );
    fx.device(
        "/devices/pci0000:00/0000:00:04.0/virtio1",
        &["SUBSYSTEM=virtio"],
    );
    fx.block(VDA, 254, 0, None);
    fx.block(&format!("{VDA}/vda1"), 254, 1, Some("microdroid-vendor"));
    fx.device(
        "/devices/virtual/mem/null",
        &["SUBSYSTEM=mem", "MAJOR=1", "MINOR=3", "DEVNAME=null"],
    );
    fx.device(
        "/devices/virtual/mem/zero",
        &["SUBSYSTEM=mem", "MAJOR=1", "MINOR=5", "DEVNAME=zero"],
    );
    // A directory without a uevent file is walked through.
    fs::create_dir_all(fx.sys.join("devices/virtual/mem/power")).unwrap();
    // Hidden directories are skipped.
    fx.device(
        "/devices/.hidden",
        &["SUBSYSTEM=hidden", "MAJOR=9", "MINOR=9"],
    );
    // Symlinks are not followed (sysfs is full of them).
    std::os::unix::fs::symlink(
        "../../pci0000:00",
        fx.sys.join("devices/virtual/mem/null/subsystem"),
    )
    .unwrap();
    // /sys/class/<class> is a real directory whose entries are symlinks; a real
    // directory with a uevent file under /sys/class is poked too.
    fs::create_dir_all(fx.sys.join("class/mem")).unwrap();
    std::os::unix::fs::symlink(
        "../../devices/virtual/mem/null",
        fx.sys.join("class/mem/null"),
    )
    .unwrap();
    fx.device("/class/odd", &["SUBSYSTEM=odd"]);
    // /sys/block entries are symlinks.
    std::os::unix::fs::symlink(format!("..{VDA}"), fx.sys.join("block/vda")).unwrap();
}

fn written_uevents(ops: &FakeDeviceOps, fx: &Fixture) -> Vec<String> {
    ops.ops()
        .iter()
        .filter_map(|op| match op {
            Op::Write { path, data } if path.ends_with("uevent") => {
                assert_eq!(data, b"add\n");
                Some(format!(
                    "/{}",
                    path.strip_prefix(&fx.sys).unwrap().display()
                ))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn walk_order_events_and_property() {
    let fx = Fixture::new();
    build_tree(&fx);
    let ops = FakeDeviceOps::new();
    let props = Props {
        ops: Some(ops.clone()),
        ..Props::default()
    };
    let labels = Labels::default();
    let mut kernel = FakeKernel::new(&ops, &fx.sys);
    let mut u = Ueventd::new(
        config("/dev/null 0666 root root\n/dev/block/by-name/* 0640 root system\n"),
        fx.dev.clone(),
        fx.sys.clone(),
        &ops,
        &props,
        &labels,
        None,
    );
    let report = u.coldboot_from(&mut kernel).unwrap();
    assert_eq!(
        written_uevents(&ops, &fx),
        [
            "/class/odd/uevent",
            "/devices/pci0000:00/uevent",
            "/devices/pci0000:00/0000:00:04.0/uevent",
            "/devices/pci0000:00/0000:00:04.0/virtio1/uevent",
            &format!("{VDA}/uevent"),
            &format!("{VDA}/vda1/uevent"),
            "/devices/virtual/mem/null/uevent",
            "/devices/virtual/mem/zero/uevent",
        ]
    );
    assert_eq!(report.uevent_writes, 8);
    assert_eq!(report.events_handled, 8);
    assert_eq!(report.event_errors, 0);
    assert_eq!(report.write_errors, 0);
    assert!(!report.truncated);
    // class with block, mem and odd; block; devices with 11 below it (not .hidden).
    assert_eq!(report.dirs_visited, 17);

    // Replayed events made the nodes.
    assert!(matches!(
        ops.entry(&fx.dev("null")),
        Some(FakeEntry::Node { mode: 0o666, .. })
    ));
    assert!(matches!(
        ops.entry(&fx.dev("zero")),
        Some(FakeEntry::Node { mode: 0o600, .. })
    ));
    assert!(matches!(
        ops.entry(&fx.dev("block/vda")),
        Some(FakeEntry::Node { .. })
    ));
    assert!(matches!(
        ops.entry(&fx.dev("block/vda1")),
        Some(FakeEntry::Node {
            mode: 0o640,
            gid: 1000,
            ..
        })
    ));
    assert_eq!(
        ops.entry(&fx.dev("block/by-name/microdroid-vendor")),
        Some(FakeEntry::Symlink {
            target: fx.dev("block/vda1")
        })
    );
    assert!(ops.entry(&fx.dev("hidden")).is_none());

    // The property is set once, after every write and node.
    assert_eq!(
        *props.set.lock().unwrap(),
        [(COLD_BOOT_DONE_PROP.to_string(), "true".to_string())]
    );
    assert_eq!(*props.ops_at_set.lock().unwrap(), [ops.ops().len()]);
}

#[test]
fn events_are_handled_right_after_each_write() {
    let fx = Fixture::new();
    fx.device(
        "/devices/virtual/mem/a",
        &["SUBSYSTEM=mem", "MAJOR=1", "MINOR=1"],
    );
    fx.device(
        "/devices/virtual/mem/b",
        &["SUBSYSTEM=mem", "MAJOR=1", "MINOR=2"],
    );
    let ops = FakeDeviceOps::new();
    let props = Props::default();
    let labels = Labels::default();
    let mut kernel = FakeKernel::new(&ops, &fx.sys);
    let mut u = Ueventd::new(
        UeventdConfig::default(),
        fx.dev.clone(),
        fx.sys.clone(),
        &ops,
        &props,
        &labels,
        None,
    );
    u.coldboot_from(&mut kernel).unwrap();
    let order: Vec<String> = ops
        .ops()
        .iter()
        .filter_map(|op| match op {
            Op::Write { path, .. } => Some(format!(
                "write {}",
                path.parent()
                    .unwrap()
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
            )),
            Op::Mknod { path, .. } => Some(format!(
                "mknod {}",
                path.file_name().unwrap().to_string_lossy()
            )),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["write a", "mknod a", "write b", "mknod b"]);
}

/// A source that yields a fixed list, to check how drops and errors are counted.
struct Scripted(Vec<Result<Received, UeventdError>>);

impl UeventSource for Scripted {
    fn try_recv(&mut self) -> Result<Option<Received>, UeventdError> {
        if self.0.is_empty() {
            Ok(None)
        } else {
            self.0.remove(0).map(Some)
        }
    }
}

#[test]
fn drops_errors_and_write_failures_are_counted() {
    let fx = Fixture::new();
    fx.device("/devices/virtual/mem/a", &["SUBSYSTEM=mem"]);
    let ops = FakeDeviceOps::new();
    ops.fail("write_file", &fx.sys.join("devices/virtual/mem/a/uevent"));
    let props = Props::default();
    let labels = Labels::default();
    let bad = common::uevent(
        "add",
        "/devices/virtual/input/x",
        &["SUBSYSTEM=input", "MAJOR=1", "MINOR=1", "DEVNAME=../x"],
    );
    let mut source = Scripted(vec![
        Ok(Received::Dropped(DropReason::NotKernel(1234))),
        Ok(Received::Dropped(DropReason::Malformed(UeventError::Empty))),
        Ok(Received::Event(bad)),
        Err(UeventdError::Socket {
            op: "recvmsg",
            source: std::io::Error::from_raw_os_error(libc::EIO),
        }),
    ]);
    let mut u = Ueventd::new(
        config("subsystem input\n devname uevent_devname\n"),
        fx.dev.clone(),
        fx.sys.clone(),
        &ops,
        &props,
        &labels,
        None,
    );
    let report = u.coldboot_from(&mut source).unwrap();
    assert_eq!(report.write_errors, 1);
    assert_eq!(report.uevent_writes, 0);
    assert_eq!(report.dropped, 2);
    assert_eq!(report.events_handled, 1);
    assert_eq!(report.event_errors, 1);
    assert_eq!(props.set.lock().unwrap().len(), 1);
}

#[test]
fn property_failure_is_an_error() {
    let fx = Fixture::new();
    let ops = FakeDeviceOps::new();
    let props = Props {
        fail: true,
        ..Props::default()
    };
    let labels = Labels::default();
    let mut kernel = FakeKernel::new(&ops, &fx.sys);
    let mut u = Ueventd::new(
        UeventdConfig::default(),
        fx.dev.clone(),
        fx.sys.clone(),
        &ops,
        &props,
        &labels,
        None,
    );
    match u.coldboot_from(&mut kernel) {
        Err(UeventdError::Property { name, .. }) => assert_eq!(name, COLD_BOOT_DONE_PROP),
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_sys_roots_are_fine() {
    let dir = tempfile::tempdir().unwrap();
    let ops = FakeDeviceOps::new();
    let props = Props::default();
    let labels = Labels::default();
    let sys: PathBuf = dir.path().join("nosys");
    let mut kernel = FakeKernel::new(&ops, &sys);
    let mut u = Ueventd::new(
        UeventdConfig::default(),
        dir.path().join("dev"),
        sys,
        &ops,
        &props,
        &labels,
        None,
    );
    assert!(u.coldboot_needed(), "first start");
    let report = u.coldboot_from(&mut kernel).unwrap();
    assert_eq!(report.uevent_writes, 0);
    assert_eq!(props.set.lock().unwrap().len(), 1);
    // A restarted ueventd sees ro.cold_boot_done=true and does not replay coldboot
    // (AOSP GetBoolProperty's true values).
    assert!(!u.coldboot_needed());
    for (v, needed) in [("1", false), ("yes", false), ("false", true), ("0", true)] {
        props
            .set
            .lock()
            .unwrap()
            .push((COLD_BOOT_DONE_PROP.into(), v.into()));
        assert_eq!(u.coldboot_needed(), needed, "{v}");
    }
}
