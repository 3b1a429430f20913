//! Shared fixtures: a fake `/sys` tree in a temporary directory, recording integration
//! points, and a fake "kernel" that answers coldboot writes with uevents.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ueventd::{
    parse_config, FakeDeviceOps, ModaliasHandler, NodeLabeler, Op, PropertySetter, Received,
    Uevent, UeventSource, UeventdConfig, UeventdError,
};

/// A temporary `/sys` and `/dev`.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub sys: PathBuf,
    pub dev: PathBuf,
}

impl Fixture {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sys = dir.path().join("sys");
        let dev = dir.path().join("dev");
        fs::create_dir_all(sys.join("class/block")).unwrap();
        fs::create_dir_all(sys.join("block")).unwrap();
        fs::create_dir_all(sys.join("devices")).unwrap();
        fs::create_dir_all(&dev).unwrap();
        Fixture { dir, sys, dev }
    }

    /// Creates `/sys/<devpath>/uevent` with `lines` (`KEY=VALUE`).
    pub fn device(&self, devpath: &str, lines: &[&str]) -> PathBuf {
        let dir = self.sys.join(devpath.trim_start_matches('/'));
        fs::create_dir_all(&dir).unwrap();
        let mut text = lines.join("\n");
        text.push('\n');
        fs::write(dir.join("uevent"), text).unwrap();
        dir
    }

    /// A block device with its `/sys/class/block/<name>` symlink.
    pub fn block(&self, devpath: &str, major: u32, minor: u32, partname: Option<&str>) -> PathBuf {
        let name = devpath.rsplit('/').next().unwrap().to_string();
        let mut lines = vec![
            format!("MAJOR={major}"),
            format!("MINOR={minor}"),
            format!("DEVNAME={name}"),
        ];
        if let Some(p) = partname {
            lines.push("DEVTYPE=partition".into());
            lines.push(format!("PARTN={}", minor % 16));
            lines.push(format!("PARTNAME={p}"));
        } else {
            lines.push("DEVTYPE=disk".into());
        }
        lines.push("SUBSYSTEM=block".into());
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let dir = self.device(devpath, &refs);
        let link = self.sys.join("class/block").join(&name);
        std::os::unix::fs::symlink(
            Path::new("../..").join(devpath.trim_start_matches('/')),
            &link,
        )
        .unwrap();
        dir
    }

    pub fn dev(&self, rel: &str) -> PathBuf {
        self.dev.join(rel)
    }
}

pub fn config(text: &str) -> UeventdConfig {
    let (c, errors) = parse_config(text, "fixture.rc");
    assert!(errors.is_empty(), "{errors:?}");
    c
}

/// Records every property set, with the number of ops recorded at that moment.
#[derive(Default)]
pub struct Props {
    pub set: Mutex<Vec<(String, String)>>,
    pub ops_at_set: Mutex<Vec<usize>>,
    pub ops: Option<FakeDeviceOps>,
    pub fail: bool,
}

impl PropertySetter for Props {
    fn set(&self, name: &str, value: &str) -> Result<(), String> {
        self.set.lock().unwrap().push((name.into(), value.into()));
        if let Some(ops) = &self.ops {
            self.ops_at_set.lock().unwrap().push(ops.ops().len());
        }
        if self.fail {
            Err("read-only property already set".into())
        } else {
            Ok(())
        }
    }

    fn get(&self, name: &str) -> Option<String> {
        if self.fail {
            return None;
        }
        let set = self.set.lock().unwrap();
        set.iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }
}

/// Records every label request.
#[derive(Default)]
pub struct Labels(pub Mutex<Vec<(PathBuf, u32)>>);

impl NodeLabeler for Labels {
    fn label(&self, path: &Path, mode: u32) {
        self.0.lock().unwrap().push((path.to_path_buf(), mode));
    }
}

impl Labels {
    pub fn paths(&self) -> Vec<PathBuf> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(p, _)| p.clone())
            .collect()
    }
}

/// Records every modalias; fails for aliases starting with `fail:`.
#[derive(Default)]
pub struct Aliases(pub Mutex<Vec<String>>);

impl ModaliasHandler for Aliases {
    fn handle(&self, modalias: &str) -> Result<(), String> {
        self.0.lock().unwrap().push(modalias.into());
        if modalias.starts_with("fail:") {
            Err("no module".into())
        } else {
            Ok(())
        }
    }
}

/// A fake kernel: every `add` written to a fixture `uevent` file is answered with the
/// uevent the kernel would send (from the file's `KEY=VALUE` lines).
pub struct FakeKernel {
    pub ops: FakeDeviceOps,
    pub sys: PathBuf,
    pub seen_ops: usize,
    pub queue: Vec<Received>,
    pub seqnum: u64,
}

impl FakeKernel {
    pub fn new(ops: &FakeDeviceOps, sys: &Path) -> Self {
        FakeKernel {
            ops: ops.clone(),
            sys: sys.to_path_buf(),
            seen_ops: 0,
            queue: Vec::new(),
            seqnum: 0,
        }
    }

    fn event_for(&mut self, uevent_file: &Path, action: &str) -> Received {
        let dir = uevent_file.parent().unwrap();
        let devpath = format!("/{}", dir.strip_prefix(&self.sys).unwrap().display());
        let mut msg =
            format!("{action}@{devpath}\0ACTION={action}\0DEVPATH={devpath}\0").into_bytes();
        for line in fs::read_to_string(uevent_file).unwrap().lines() {
            if !line.is_empty() {
                msg.extend_from_slice(line.as_bytes());
                msg.push(0);
            }
        }
        self.seqnum += 1;
        msg.extend_from_slice(format!("SEQNUM={}\0", self.seqnum).as_bytes());
        match ueventd::parse_uevent(&msg) {
            Ok(ev) => Received::Event(ev),
            Err(e) => Received::Dropped(ueventd::DropReason::Malformed(e)),
        }
    }
}

impl UeventSource for FakeKernel {
    fn try_recv(&mut self) -> Result<Option<Received>, UeventdError> {
        let ops = self.ops.ops();
        for op in ops.iter().skip(self.seen_ops) {
            if let Op::Write { path, data } = op {
                if path.file_name().is_some_and(|n| n == "uevent") {
                    let action = String::from_utf8_lossy(data).trim().to_string();
                    let item = self.event_for(path, &action);
                    self.queue.push(item);
                }
            }
        }
        self.seen_ops = ops.len();
        if self.queue.is_empty() {
            Ok(None)
        } else {
            Ok(Some(self.queue.remove(0)))
        }
    }
}

/// A uevent from `KEY=VALUE` fields.
pub fn uevent(action: &str, devpath: &str, fields: &[&str]) -> Uevent {
    let mut msg = format!("{action}@{devpath}\0").into_bytes();
    for f in fields {
        msg.extend_from_slice(f.as_bytes());
        msg.push(0);
    }
    ueventd::parse_uevent(&msg).unwrap()
}
