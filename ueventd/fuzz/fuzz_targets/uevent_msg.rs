//! Fuzzes the uevent message parser, and feeds what it accepts to the daemon running on
//! the recording fake (nothing touches the real filesystem).
#![no_main]

use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use ueventd::{FakeDeviceOps, NoopLabeler, PropertySetter, Ueventd};

struct NoProps;

impl PropertySetter for NoProps {
    fn set(&self, _: &str, _: &str) -> Result<(), String> {
        Ok(())
    }

    fn get(&self, _: &str) -> Option<String> {
        None
    }
}

struct NoModules;

impl ueventd::ModaliasHandler for NoModules {
    fn handle(&self, _: &str) -> Result<(), String> {
        Ok(())
    }
}

const RC: &str = "\
subsystem input\n  devname uevent_devname\n  dirname /dev/input\n\
subsystem sound\n  devname uevent_devpath\n  dirname /dev/snd\n\
subsystem named\n  devname sys_name\n\
/dev/input/* 0660 root input\n/dev/block/by-name/* 0640 root system\n\
/sys/devices/virtual/input/input* enable 0660 root input\n\
external_firmware_handler /devices/* root /bin/false\n\
firmware_directories /nonexistent-ueventd-fuzz/fw/\n\
modalias_handling enabled\n";

fuzz_target!(|data: &[u8]| {
    let Ok(ev) = ueventd::parse_uevent(data) else {
        return;
    };
    let again = ueventd::parse_uevent(&ev.to_message());
    assert_eq!(again.as_ref(), Ok(&ev), "round trip");
    let (config, _) = ueventd::parse_config(RC, "fuzz.rc");
    let ops = FakeDeviceOps::new();
    ops.set_inline(true);
    let root = PathBuf::from("/nonexistent-ueventd-fuzz");
    let mut daemon = Ueventd::new(
        config,
        root.join("dev"),
        root.join("sys"),
        &ops,
        &NoProps,
        &NoopLabeler,
        Some(&NoModules),
    );
    let _ = daemon.handle_uevent(&ev);
    // Every mutation stayed under the fake roots.
    for op in ops.ops() {
        let path = match &op {
            ueventd::Op::Mknod { path, .. }
            | ueventd::Op::Chmod { path, .. }
            | ueventd::Op::Chown { path, .. }
            | ueventd::Op::Lchown { path, .. }
            | ueventd::Op::Unlink { path }
            | ueventd::Op::Mkdir { path, .. }
            | ueventd::Op::Write { path, .. } => path.clone(),
            ueventd::Op::Symlink { link, .. } => link.clone(),
            ueventd::Op::Copy { dst, .. } => dst.clone(),
            ueventd::Op::Run { .. } => continue,
        };
        assert!(path.starts_with(&root), "escaped the roots: {op:?}");
        assert!(
            !path
                .components()
                .any(|c| c == std::path::Component::ParentDir),
            "parent dir in {op:?}"
        );
    }
});
