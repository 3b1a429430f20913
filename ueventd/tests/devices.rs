//! Device handling on fixture trees with the recording fake: block nodes and by-name
//! links (creation, removal, ambiguity), the sysfs scan the first stage uses, subsystem
//! `devname`/`dirname`, default and configured permissions, sysfs attributes, labels,
//! device-mapper links and hostile names.

mod common;

use std::path::{Path, PathBuf};

use common::{config, uevent, Fixture, Labels, Props};
use ueventd::{
    create_block_device_node, find_by_partname, remove_block_device_node, scan_block_devices,
    BlockDevice, DeviceOps, FakeDeviceOps, FakeEntry, NodeKind, NoopLabeler, Op, Permissions,
    Ueventd, UeventdConfig, UeventdError,
};

const VDA: &str = "/devices/pci0000:00/0000:00:04.0/virtio1/block/vda";

fn vendor_dev(name: &str, minor: u32, partname: Option<&str>) -> BlockDevice {
    BlockDevice {
        name: name.into(),
        major: 254,
        minor,
        partname: partname.map(str::to_string),
        partn: partname.map(|_| minor),
        devpath: format!("{VDA}/{name}"),
    }
}

fn node(ops: &FakeDeviceOps, path: &Path) -> Option<(NodeKind, u32, u32, u32, u32, u32)> {
    match ops.entry(path)? {
        FakeEntry::Node {
            kind,
            mode,
            major,
            minor,
            uid,
            gid,
        } => Some((kind, mode, major, minor, uid, gid)),
        _ => None,
    }
}

fn link_target(ops: &FakeDeviceOps, path: &Path) -> Option<PathBuf> {
    match ops.entry(path)? {
        FakeEntry::Symlink { target } => Some(target),
        _ => None,
    }
}

#[test]
fn scan_reads_class_block_sorted_with_devpaths() {
    let fx = Fixture::new();
    fx.block(VDA, 254, 0, None);
    fx.block(&format!("{VDA}/vda2"), 254, 2, Some("microdroid-vendor"));
    fx.block(&format!("{VDA}/vda1"), 254, 1, Some("system a"));
    let devs = scan_block_devices(&fx.sys).unwrap();
    let names: Vec<&str> = devs.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["vda", "vda1", "vda2"]);
    assert_eq!(devs[0].partname, None);
    assert_eq!(devs[1], vendor_dev("vda1", 1, Some("system a")));
    assert_eq!(devs[2].devpath, format!("{VDA}/vda2"));
    let found = find_by_partname(&devs, "microdroid-vendor")
        .unwrap()
        .unwrap();
    assert_eq!((found.major, found.minor), (254, 2));
    // Compared as the link would be named.
    assert_eq!(
        find_by_partname(&devs, "system_a").unwrap().unwrap().name,
        "vda1"
    );
    assert!(find_by_partname(&devs, "missing").unwrap().is_none());
}

#[test]
fn scan_reports_ambiguity_like_a_second_disk() {
    let fx = Fixture::new();
    fx.block(&format!("{VDA}/vda1"), 254, 1, Some("microdroid-vendor"));
    fx.block(
        "/devices/pci0000:00/0000:00:05.0/virtio2/block/vdb/vdb1",
        254,
        17,
        Some("microdroid-vendor"),
    );
    let devs = scan_block_devices(&fx.sys).unwrap();
    match find_by_partname(&devs, "microdroid-vendor") {
        Err(UeventdError::Ambiguous { partname, devices }) => {
            assert_eq!(partname, "microdroid-vendor");
            assert_eq!(devices, ["vda1", "vdb1"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn scan_errors_name_the_file() {
    let fx = Fixture::new();
    let dir = fx.block(&format!("{VDA}/vda1"), 254, 1, None);
    std::fs::write(dir.join("uevent"), "MAJOR=254\nMINOR=one\n").unwrap();
    match scan_block_devices(&fx.sys) {
        Err(e @ UeventdError::BadSysfsUevent { line: 2, .. }) => {
            assert!(e.to_string().contains("vda1/uevent:2:"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        scan_block_devices(empty.path()),
        Err(UeventdError::Io { .. })
    ));
}

#[test]
fn create_node_and_by_name_link_default_permissions() {
    let fx = Fixture::new();
    let ops = FakeDeviceOps::new();
    let dev = vendor_dev("vda2", 2, Some("microdroid-vendor"));
    let node_path = create_block_device_node(&fx.dev, &dev, &ops, None, true).unwrap();
    assert_eq!(node_path, fx.dev("block/vda2"));
    assert_eq!(
        ops.ops(),
        vec![
            Op::Mkdir {
                path: fx.dev("block"),
                mode: 0o755
            },
            Op::Mknod {
                path: fx.dev("block/vda2"),
                kind: NodeKind::Block,
                mode: 0o600,
                major: 254,
                minor: 2
            },
            Op::Chown {
                path: fx.dev("block/vda2"),
                uid: 0,
                gid: 0
            },
            Op::Chmod {
                path: fx.dev("block/vda2"),
                mode: 0o600
            },
            Op::Mkdir {
                path: fx.dev("block/by-name"),
                mode: 0o755
            },
            Op::Symlink {
                target: fx.dev("block/vda2"),
                link: fx.dev("block/by-name/microdroid-vendor")
            },
        ]
    );
    // Idempotent: a second call changes nothing but ownership and mode.
    ops.clear_ops();
    create_block_device_node(&fx.dev, &dev, &ops, None, true).unwrap();
    assert!(ops.ops().iter().all(|op| !matches!(op, Op::Mkdir { .. })));
}

#[test]
fn create_node_with_permissions_fixes_an_existing_node() {
    let fx = Fixture::new();
    let ops = FakeDeviceOps::new();
    ops.mkdir_p(&fx.dev("block"), 0o755).unwrap();
    ops.add_node(&fx.dev("block/vda1"), NodeKind::Block, 0o600, 254, 1);
    let perms = Permissions::new("/dev/block/vda1", 0o640, 0, 1000, false);
    let dev = vendor_dev("vda1", 1, Some("a b/c"));
    create_block_device_node(&fx.dev, &dev, &ops, Some(&perms), true).unwrap();
    assert_eq!(
        node(&ops, &fx.dev("block/vda1")),
        Some((NodeKind::Block, 0o640, 254, 1, 0, 1000))
    );
    assert_eq!(
        link_target(&ops, &fx.dev("block/by-name/a_b_c")),
        Some(fx.dev("block/vda1"))
    );
}

#[test]
fn by_name_conflict_is_reported_and_the_first_link_kept() {
    let fx = Fixture::new();
    let ops = FakeDeviceOps::new();
    create_block_device_node(
        &fx.dev,
        &vendor_dev("vda1", 1, Some("vendor")),
        &ops,
        None,
        true,
    )
    .unwrap();
    let second = vendor_dev("vdb1", 17, Some("vendor"));
    match create_block_device_node(&fx.dev, &second, &ops, None, true) {
        Err(UeventdError::LinkConflict {
            existing, wanted, ..
        }) => {
            assert_eq!(existing, fx.dev("block/vda1"));
            assert_eq!(wanted, fx.dev("block/vdb1"));
        }
        other => panic!("{other:?}"),
    }
    // The node itself was made.
    assert!(node(&ops, &fx.dev("block/vdb1")).is_some());
    assert_eq!(
        link_target(&ops, &fx.dev("block/by-name/vendor")),
        Some(fx.dev("block/vda1"))
    );
}

#[test]
fn remove_only_unlinks_links_to_this_node() {
    let fx = Fixture::new();
    let ops = FakeDeviceOps::new();
    let a = vendor_dev("vda1", 1, Some("vendor"));
    let b = vendor_dev("vdb1", 17, Some("vendor"));
    create_block_device_node(&fx.dev, &a, &ops, None, true).unwrap();
    let _ = create_block_device_node(&fx.dev, &b, &ops, None, true);
    remove_block_device_node(&fx.dev, &b, &ops).unwrap();
    assert!(ops.entry(&fx.dev("block/vdb1")).is_none());
    assert_eq!(
        link_target(&ops, &fx.dev("block/by-name/vendor")),
        Some(fx.dev("block/vda1"))
    );
    remove_block_device_node(&fx.dev, &a, &ops).unwrap();
    assert!(ops.entry(&fx.dev("block/by-name/vendor")).is_none());
    assert!(ops.entry(&fx.dev("block/vda1")).is_none());
    // Removing again is fine.
    remove_block_device_node(&fx.dev, &a, &ops).unwrap();
}

#[test]
fn unsafe_block_names_are_refused() {
    let fx = Fixture::new();
    let ops = FakeDeviceOps::new();
    for name in ["..", "a/b", "", "."] {
        let dev = vendor_dev(name, 1, None);
        assert!(matches!(
            create_block_device_node(&fx.dev, &dev, &ops, None, true),
            Err(UeventdError::UnsafeName { .. })
        ));
    }
    assert!(ops.ops().is_empty());
}

struct Daemon {
    fx: Fixture,
    ops: FakeDeviceOps,
    props: Props,
    labels: Labels,
}

impl Daemon {
    fn new() -> Self {
        Daemon {
            fx: Fixture::new(),
            ops: FakeDeviceOps::new(),
            props: Props::default(),
            labels: Labels::default(),
        }
    }

    fn ueventd(&self, config: UeventdConfig) -> Ueventd<'_> {
        Ueventd::new(
            config,
            self.fx.dev.clone(),
            self.fx.sys.clone(),
            &self.ops,
            &self.props,
            &self.labels,
            None,
        )
    }
}

fn partition_event(action: &str, name: &str, minor: u32, partname: &str) -> ueventd::Uevent {
    let devpath = format!("{VDA}/{name}");
    uevent(
        action,
        &devpath,
        &[
            &format!("ACTION={action}"),
            &format!("DEVPATH={devpath}"),
            "SUBSYSTEM=block",
            "MAJOR=254",
            &format!("MINOR={minor}"),
            &format!("DEVNAME={name}"),
            "DEVTYPE=partition",
            "PARTN=2",
            &format!("PARTNAME={partname}"),
        ],
    )
}

#[test]
fn block_add_and_remove_through_the_daemon() {
    let d = Daemon::new();
    let mut u = d.ueventd(config(
        "/dev/block/by-name/microdroid-vendor 0640 root system\n/dev/block/vdz 0666 root root\n",
    ));
    u.handle_uevent(&partition_event("add", "vda2", 2, "microdroid-vendor"))
        .unwrap();
    // The link's line gives the node its permissions.
    assert_eq!(
        node(&d.ops, &d.fx.dev("block/vda2")),
        Some((NodeKind::Block, 0o640, 254, 2, 0, 1000))
    );
    let link = d.fx.dev("block/by-name/microdroid-vendor");
    assert_eq!(link_target(&d.ops, &link), Some(d.fx.dev("block/vda2")));
    let labels = d.labels.0.lock().unwrap().clone();
    assert!(labels.contains(&(d.fx.dev("block"), libc::S_IFDIR | 0o755)));
    assert!(labels.contains(&(d.fx.dev("block/by-name"), libc::S_IFDIR | 0o755)));
    assert!(labels.contains(&(d.fx.dev("block/vda2"), libc::S_IFBLK | 0o640)));
    assert!(labels.contains(&(link.clone(), libc::S_IFLNK | 0o777)));

    // A remove event without PARTNAME still removes the remembered link.
    let devpath = format!("{VDA}/vda2");
    u.handle_uevent(&uevent(
        "remove",
        &devpath,
        &["SUBSYSTEM=block", "MAJOR=254", "MINOR=2", "DEVNAME=vda2"],
    ))
    .unwrap();
    assert!(d.ops.entry(&link).is_none());
    assert!(d.ops.entry(&d.fx.dev("block/vda2")).is_none());
}

#[test]
fn duplicate_partname_in_the_daemon_keeps_the_first_and_reports() {
    let d = Daemon::new();
    let mut u = d.ueventd(UeventdConfig::default());
    u.handle_uevent(&partition_event("add", "vda2", 2, "vendor"))
        .unwrap();
    let second = partition_event("add", "vdb2", 18, "vendor");
    assert!(matches!(
        u.handle_uevent(&second),
        Err(UeventdError::LinkConflict { .. })
    ));
    assert!(node(&d.ops, &d.fx.dev("block/vdb2")).is_some());
    assert_eq!(
        link_target(&d.ops, &d.fx.dev("block/by-name/vendor")),
        Some(d.fx.dev("block/vda2"))
    );
    // Removing the second leaves the first's link.
    u.handle_uevent(&partition_event("remove", "vdb2", 18, "vendor"))
        .unwrap();
    assert!(d.ops.entry(&d.fx.dev("block/by-name/vendor")).is_some());
}

#[test]
fn default_node_is_0600_root_root_at_dev_basename() {
    let d = Daemon::new();
    let mut u = d.ueventd(UeventdConfig::default());
    u.handle_uevent(&uevent(
        "add",
        "/devices/virtual/misc/hw_random",
        &[
            "SUBSYSTEM=misc",
            "MAJOR=10",
            "MINOR=183",
            "DEVNAME=hw_random",
        ],
    ))
    .unwrap();
    assert_eq!(
        node(&d.ops, &d.fx.dev("hw_random")),
        Some((NodeKind::Char, 0o600, 10, 183, 0, 0))
    );
}

#[test]
fn subsystem_devname_and_dirname() {
    let d = Daemon::new();
    let mut u = d.ueventd(config(
        "subsystem dma_heap\n  devname uevent_devpath\n  dirname /dev/dma_heap\n\
         subsystem input\n  devname uevent_devname\n\
         subsystem sound\n  devname uevent_devpath\n  dirname /dev/snd\n\
         subsystem named\n  devname sys_name\n  dirname /dev/named\n\
         /dev/dma_heap/system 0444 system system\n/dev/input/* 0660 root input\n",
    ));
    let events = [
        (
            "/devices/virtual/dma_heap/system",
            "dma_heap",
            "DEVNAME=dma_heap/system",
            250,
            0,
        ),
        (
            "/devices/virtual/input/input1/event0",
            "input",
            "DEVNAME=input/event0",
            13,
            64,
        ),
        (
            "/devices/pci0/sound/card0/controlC0",
            "sound",
            "DEVNAME=snd/controlC0",
            116,
            1,
        ),
        (
            "/devices/virtual/named/thing0",
            "named",
            "DEVNAME=thing0",
            240,
            0,
        ),
        (
            "/devices/virtual/named/thing1",
            "named",
            "DEVNAME=thing1",
            240,
            1,
        ),
    ];
    // sys_name reads /sys/<DEVPATH>/name.
    let dir = d.fx.device("/devices/virtual/named/thing0", &["MAJOR=240"]);
    std::fs::write(dir.join("name"), "pretty\n").unwrap();
    for (devpath, sub, devname, major, minor) in events {
        u.handle_uevent(&uevent(
            "add",
            devpath,
            &[
                &format!("SUBSYSTEM={sub}"),
                &format!("MAJOR={major}"),
                &format!("MINOR={minor}"),
                devname,
            ],
        ))
        .unwrap();
    }
    assert_eq!(
        node(&d.ops, &d.fx.dev("dma_heap/system")),
        Some((NodeKind::Char, 0o444, 250, 0, 1000, 1000))
    );
    assert_eq!(
        node(&d.ops, &d.fx.dev("input/event0")),
        Some((NodeKind::Char, 0o660, 13, 64, 0, 1004))
    );
    assert!(node(&d.ops, &d.fx.dev("snd/controlC0")).is_some());
    assert!(node(&d.ops, &d.fx.dev("named/pretty")).is_some());
    // No name file: DEVNAME.
    assert!(node(&d.ops, &d.fx.dev("named/thing1")).is_some());
    // Directories were made and labelled.
    let labels = d.labels.paths();
    for dir in ["dma_heap", "input", "snd", "named"] {
        assert!(labels.contains(&d.fx.dev(dir)), "{dir}");
    }
}

#[test]
fn usb_and_misc_special_cases() {
    let d = Daemon::new();
    let mut u = d.ueventd(UeventdConfig::default());
    let add = |u: &mut Ueventd<'_>, devpath: &str, fields: &[&str]| {
        u.handle_uevent(&uevent("add", devpath, fields)).unwrap()
    };
    add(
        &mut u,
        "/devices/pci0/usb1/1-1",
        &["SUBSYSTEM=usb", "MAJOR=189", "MINOR=129"],
    );
    add(
        &mut u,
        "/devices/pci0/usb1/1-2",
        &[
            "SUBSYSTEM=usb",
            "MAJOR=189",
            "MINOR=2",
            "DEVNAME=bus/usb/001/003",
        ],
    );
    add(
        &mut u,
        "/devices/pci0/usb1/1-1/1-1:1.0/usbmisc/lp0",
        &[
            "SUBSYSTEM=usbmisc",
            "MAJOR=180",
            "MINOR=0",
            "DEVNAME=usb/lp0",
        ],
    );
    add(
        &mut u,
        "/devices/virtual/misc/dm-user!x",
        &[
            "SUBSYSTEM=misc",
            "MAJOR=10",
            "MINOR=60",
            "DEVNAME=dm-user/x",
        ],
    );
    add(
        &mut u,
        "/devices/virtual/misc/vfio",
        &[
            "SUBSYSTEM=misc",
            "MAJOR=10",
            "MINOR=196",
            "DEVNAME=vfio/vfio",
        ],
    );
    // MINOR 129 → bus 2, device 2.
    assert!(node(&d.ops, &d.fx.dev("bus/usb/002/002")).is_some());
    assert!(node(&d.ops, &d.fx.dev("bus/usb/001/003")).is_some());
    assert!(d.ops.entry(&d.fx.dev("usb/lp0")).is_none());
    assert!(d.ops.entry(&d.fx.dev("lp0")).is_none());
    assert!(node(&d.ops, &d.fx.dev("dm-user/x")).is_some());
    assert!(node(&d.ops, &d.fx.dev("vfio/vfio")).is_some());
}

#[test]
fn events_without_device_numbers_make_no_node() {
    let d = Daemon::new();
    let mut u = d.ueventd(UeventdConfig::default());
    u.handle_uevent(&uevent(
        "add",
        "/devices/platform/foo",
        &["SUBSYSTEM=platform"],
    ))
    .unwrap();
    assert!(d.ops.ops().is_empty());
}

#[test]
fn hostile_names_are_refused() {
    let d = Daemon::new();
    let mut u = d.ueventd(config("subsystem input\n  devname uevent_devname\n"));
    for (devpath, fields) in [
        (
            "/devices/virtual/input/x",
            vec![
                "SUBSYSTEM=input",
                "MAJOR=1",
                "MINOR=1",
                "DEVNAME=../../etc/passwd",
            ],
        ),
        (
            "/devices/virtual/input/y",
            vec!["SUBSYSTEM=input", "MAJOR=1", "MINOR=1"],
        ),
        (
            "/devices/pci0/usb1/1-1",
            vec!["SUBSYSTEM=usb", "MAJOR=1", "MINOR=1", "DEVNAME=/abs"],
        ),
    ] {
        let r = u.handle_uevent(&uevent("add", devpath, &fields));
        assert!(
            matches!(r, Err(UeventdError::UnsafeName { .. })),
            "{devpath}: {r:?}"
        );
    }
    assert!(d.ops.ops().is_empty());
}

#[test]
fn sysfs_attribute_permissions() {
    let d = Daemon::new();
    let dir = d.fx.device("/devices/system/cpu/cpu0", &["SUBSYSTEM=cpu"]);
    std::fs::create_dir_all(dir.join("cpufreq")).unwrap();
    std::fs::write(dir.join("cpufreq/scaling_max_freq"), "1000\n").unwrap();
    let input =
        d.fx.device("/devices/virtual/input/input3", &["SUBSYSTEM=input"]);
    std::fs::write(input.join("enable"), "1\n").unwrap();
    let mut u = d.ueventd(config(
        "/sys/devices/system/cpu/cpu* cpufreq/scaling_max_freq 0664 system system\n\
         /sys/devices/system/cpu/cpu* cpufreq/missing 0664 system system\n\
         /sys/class/input/input* enable 0660 root input\n",
    ));
    u.handle_uevent(&uevent(
        "add",
        "/devices/system/cpu/cpu0",
        &["SUBSYSTEM=cpu"],
    ))
    .unwrap();
    u.handle_uevent(&uevent(
        "change",
        "/devices/virtual/input/input3",
        &["SUBSYSTEM=input"],
    ))
    .unwrap();
    let attr = dir.join("cpufreq/scaling_max_freq");
    let enable = input.join("enable");
    assert_eq!(
        d.ops.ops(),
        vec![
            Op::Chown {
                path: attr.clone(),
                uid: 1000,
                gid: 1000
            },
            Op::Chmod {
                path: attr,
                mode: 0o664
            },
            Op::Chown {
                path: enable.clone(),
                uid: 0,
                gid: 1004
            },
            Op::Chmod {
                path: enable,
                mode: 0o660
            },
        ]
    );
    d.ops.clear_ops();
    // remove and unbind do not touch attributes.
    u.handle_uevent(&uevent(
        "remove",
        "/devices/system/cpu/cpu0",
        &["SUBSYSTEM=cpu"],
    ))
    .unwrap();
    u.handle_uevent(&uevent(
        "unbind",
        "/devices/system/cpu/cpu0",
        &["SUBSYSTEM=cpu"],
    ))
    .unwrap();
    assert!(d.ops.ops().is_empty());
}

/// The `add` of the misc device `foo` (10:1) under the ueventd.rc `rules`.
fn add_misc_foo(d: &Daemon, rules: &str) -> Result<(), UeventdError> {
    d.ueventd(config(rules)).handle_uevent(&uevent(
        "add",
        "/devices/virtual/misc/foo",
        &["SUBSYSTEM=misc", "MAJOR=10", "MINOR=1"],
    ))
}

#[test]
fn sysfs_failure_does_not_stop_node_creation() {
    let d = Daemon::new();
    let dir =
        d.fx.device("/devices/virtual/misc/foo", &["SUBSYSTEM=misc"]);
    std::fs::write(dir.join("attr"), "x").unwrap();
    d.ops.fail("chown", &dir.join("attr"));
    let r = add_misc_foo(&d, "/sys/devices/virtual/misc/foo attr 0644 root root\n");
    assert!(
        matches!(r, Err(UeventdError::Io { op: "chown", .. })),
        "{r:?}"
    );
    assert!(node(&d.ops, &d.fx.dev("foo")).is_some());
}

#[test]
fn device_mapper_links() {
    let d = Daemon::new();
    let devpath = "/devices/virtual/block/dm-0";
    let dir = d.fx.device(devpath, &["MAJOR=253"]);
    std::fs::create_dir_all(dir.join("dm")).unwrap();
    std::fs::write(dir.join("dm/name"), "vendor-verity\n").unwrap();
    std::fs::write(dir.join("dm/uuid"), "CRYPT-VERITY-1234\n").unwrap();
    let mut u = d.ueventd(UeventdConfig::default());
    let fields = [
        "SUBSYSTEM=block",
        "MAJOR=253",
        "MINOR=0",
        "DEVNAME=dm-0",
        "DEVTYPE=disk",
    ];
    u.handle_uevent(&uevent("add", devpath, &fields)).unwrap();
    let mapper = d.fx.dev("block/mapper/vendor-verity");
    let by_uuid = d.fx.dev("block/mapper/by-uuid/CRYPT-VERITY-1234");
    assert_eq!(link_target(&d.ops, &mapper), Some(d.fx.dev("block/dm-0")));
    assert_eq!(link_target(&d.ops, &by_uuid), Some(d.fx.dev("block/dm-0")));
    // A rename arrives as "change": the new link is made.
    std::fs::write(dir.join("dm/name"), "renamed\n").unwrap();
    u.handle_uevent(&uevent("change", devpath, &fields))
        .unwrap();
    assert!(link_target(&d.ops, &d.fx.dev("block/mapper/renamed")).is_some());
    // Remove drops every link it made, even though sysfs is not read then.
    u.handle_uevent(&uevent("remove", devpath, &fields))
        .unwrap();
    for l in [&mapper, &by_uuid, &d.fx.dev("block/mapper/renamed")] {
        assert!(d.ops.entry(l).is_none(), "{}", l.display());
    }
}

#[test]
fn mknod_failure_is_an_error() {
    let d = Daemon::new();
    d.ops.fail("mknod", &d.fx.dev("zero"));
    let mut u = d.ueventd(UeventdConfig::default());
    let r = u.handle_uevent(&uevent(
        "add",
        "/devices/virtual/mem/zero",
        &["SUBSYSTEM=mem", "MAJOR=1", "MINOR=5"],
    ));
    assert!(matches!(r, Err(UeventdError::Io { op: "mknod", .. })));
}

#[test]
fn noop_labeler_is_usable() {
    let fx = Fixture::new();
    let ops = FakeDeviceOps::new();
    let props = Props::default();
    let mut u = Ueventd::new(
        UeventdConfig::default(),
        fx.dev.clone(),
        fx.sys.clone(),
        &ops,
        &props,
        &NoopLabeler,
        None,
    );
    u.handle_uevent(&uevent(
        "add",
        "/devices/virtual/mem/null",
        &["SUBSYSTEM=mem", "MAJOR=1", "MINOR=3"],
    ))
    .unwrap();
    assert!(node(&ops, &fx.dev("null")).is_some());
}

/// The real operations on a temporary directory (mknod only when running as root).
#[test]
fn real_ops_on_a_temporary_directory() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let ops = ueventd::RealDeviceOps;
    let made = ops.mkdir_p(&dir.path().join("a/b/c"), 0o755).unwrap();
    assert_eq!(made.len(), 3);
    let mode = std::fs::metadata(dir.path().join("a/b"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o755);
    assert!(ops
        .mkdir_p(&dir.path().join("a/b/c"), 0o755)
        .unwrap()
        .is_empty());
    let file = dir.path().join("f");
    std::fs::write(&file, "").unwrap();
    ops.write_file(&file, b"abc").unwrap();
    assert_eq!(ops.read_file(&file, 3).unwrap(), b"abc");
    assert!(ops.read_file(&file, 2).is_err());
    assert!(ops.write_file(&dir.path().join("nofile"), b"x").is_err());
    ops.symlink(Path::new("target"), &dir.path().join("l"))
        .unwrap();
    assert_eq!(
        ops.read_link(&dir.path().join("l")).unwrap(),
        PathBuf::from("target")
    );
    let entries = ops.read_dir(dir.path()).unwrap();
    assert_eq!(entries.len(), 3);
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        let dev_root = dir.path().join("dev");
        let dev = vendor_dev("vda9", 9, Some("realpart"));
        let node = create_block_device_node(&dev_root, &dev, &ops, None, true).unwrap();
        let md = std::fs::symlink_metadata(&node).unwrap();
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        assert!(md.file_type().is_block_device());
        assert_eq!(md.mode() & 0o7777, 0o600);
        assert_eq!(md.rdev(), libc::makedev(254, 9));
        let link = dev_root.join("block/by-name/realpart");
        assert_eq!(std::fs::read_link(&link).unwrap(), node);
        remove_block_device_node(&dev_root, &dev, &ops).unwrap();
        assert!(std::fs::symlink_metadata(&link).is_err());
        assert!(std::fs::symlink_metadata(&node).is_err());
    }
}

/// A symlink planted where a sysfs attribute or a device node is expected: ueventd
/// refuses it (ELOOP) instead of changing what it points to.
#[test]
fn planted_symlinks_are_refused_not_followed() {
    let d = Daemon::new();
    let dir =
        d.fx.device("/devices/virtual/misc/foo", &["SUBSYSTEM=misc"]);
    let secret = d.fx.sys.join("secret");
    std::fs::write(&secret, "secret").unwrap();
    std::os::unix::fs::symlink(&secret, dir.join("attr")).unwrap();
    // The node path already holds a link (planted before ueventd got the event).
    d.ops.mkdir_p(&d.fx.dev.clone(), 0o755).unwrap();
    d.ops.symlink(&secret, &d.fx.dev("foo")).unwrap();
    let r = add_misc_foo(
        &d,
        "/sys/devices/virtual/misc/foo attr 0666 shell shell\n/dev/foo 0666 root root\n",
    );
    assert!(
        matches!(&r, Err(UeventdError::Io { source, .. }) if source.raw_os_error() == Some(libc::ELOOP)),
        "{r:?}"
    );
    // Nothing but the refused attempts: the link is still a link, nothing was written.
    assert_eq!(link_target(&d.ops, &d.fx.dev("foo")), Some(secret.clone()));
    assert!(d.ops.written(&secret).is_empty());
}

/// The real operations on a planted link: the target keeps its mode, owner and data.
#[test]
fn real_ops_never_follow_a_final_symlink() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let ops = ueventd::RealDeviceOps;
    let target = dir.path().join("secret");
    std::fs::write(&target, "secret").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
    let link = dir.path().join("planted");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let src = dir.path().join("firmware.bin");
    std::fs::write(&src, "firmware").unwrap();
    let before = std::fs::metadata(&target).unwrap();
    for (what, r) in [
        ("chmod", ops.chmod(&link, 0o666)),
        ("chown", ops.chown(&link, 2000, 2000)),
        ("write", ops.write_file(&link, b"pwned")),
        ("copy", ops.copy_into(&src, &link).map(|_| ())),
    ] {
        let e = r.expect_err(what);
        assert_eq!(e.raw_os_error(), Some(libc::ELOOP), "{what}: {e}");
    }
    let after = std::fs::metadata(&target).unwrap();
    assert_eq!(after.mode(), before.mode());
    assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
    assert_eq!(std::fs::read(&target).unwrap(), b"secret");
    // The file itself is changed as asked.
    ops.chmod(&target, 0o640).unwrap();
    assert_eq!(std::fs::metadata(&target).unwrap().mode() & 0o7777, 0o640);
    ops.chown(&target, before.uid(), before.gid()).unwrap();
}
