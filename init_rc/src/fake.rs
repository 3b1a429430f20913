//! A recording fake [`Platform`] with a fake clock, for the interpreter's unit tests.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::RcError;
use crate::platform::{ExitStatus, Labeler, MountSpec, Platform, PowerAction, Rlimit, SpawnSpec};

#[derive(Default)]
pub(crate) struct FakePlatform {
    pub now: Duration,
    next_pid: i32,
    /// `(pid, spec)` of every successful spawn.
    pub spawned: Vec<(i32, SpawnSpec)>,
    /// Programs that cannot be executed.
    pub missing: BTreeSet<PathBuf>,
    /// Exits the next `reap` returns.
    pub exits: Vec<(i32, ExitStatus)>,
    /// Pids already reaped.
    pub dead: BTreeSet<i32>,
    /// Pids that ignore SIGTERM.
    pub stubborn: BTreeSet<i32>,
    pub killed: Vec<(i32, i32)>,
    /// `(cgroup, signal)` of every cgroup signal.
    pub cgroup_kills: Vec<(PathBuf, i32)>,
    /// Cgroups that are not empty yet (removal fails until taken out).
    pub busy_cgroups: BTreeSet<PathBuf>,
    /// Cgroups removed.
    pub removed_cgroups: Vec<PathBuf>,
    /// Capabilities the "kernel" cannot give.
    pub unsupported_caps: u64,
    /// `kill_all` signals.
    pub killed_all: Vec<i32>,
    /// Mount points `umount` fails on (busy).
    pub busy_mounts: BTreeSet<PathBuf>,
    /// Every file-system/mount/module/limit operation, as text.
    pub ops: Vec<String>,
    pub files: BTreeMap<PathBuf, Vec<u8>>,
    pub existing: BTreeSet<PathBuf>,
    pub synced: bool,
    pub powered: Option<PowerAction>,
    pub log_level: Option<log::LevelFilter>,
    /// Files that behave like sysctls: writes outside the range fail with `EINVAL`.
    pub sysctls: BTreeMap<PathBuf, RangeInclusive<u32>>,
    /// Paths that are symbolic links (chmod and write refuse them, as the real platform).
    pub symlinks: BTreeSet<PathBuf>,
    pub page_size: usize,
}

impl FakePlatform {
    /// A fake with the hardening sysctls of Debian's arm64 kernel (`kptr_restrict`
    /// 0..=2, `mmap_rnd_bits` 18..=33, `mmap_rnd_compat_bits` 11..=16).
    pub fn new() -> FakePlatform {
        let mut p = FakePlatform {
            next_pid: 100,
            page_size: 4096,
            ..Default::default()
        };
        p.sysctl("/proc/sys/kernel/kptr_restrict", 0, 0..=2);
        p.sysctl("/proc/sys/vm/mmap_rnd_bits", 18, 18..=33);
        p.sysctl("/proc/sys/vm/mmap_rnd_compat_bits", 11, 11..=16);
        p
    }

    /// Makes `path` a sysctl holding `value` that accepts `range`.
    pub fn sysctl(&mut self, path: &str, value: u32, range: RangeInclusive<u32>) {
        let path = PathBuf::from(path);
        self.files
            .insert(path.clone(), format!("{value}\n").into_bytes());
        self.sysctls.insert(path, range);
    }

    /// Pid of the most recent spawn of `program`.
    pub fn pid_of(&self, program: &str) -> Option<i32> {
        self.spawned
            .iter()
            .rev()
            .find(|(_, s)| s.path == Path::new(program))
            .map(|(p, _)| *p)
    }

    pub fn spawn_count(&self, program: &str) -> usize {
        self.spawned
            .iter()
            .filter(|(_, s)| s.path == Path::new(program))
            .count()
    }

    pub fn exit(&mut self, pid: i32, code: i32) {
        self.exits.push((pid, ExitStatus::Exited(code)));
    }

    /// The `write` operations on `path`, in order.
    pub fn writes_to(&self, path: &str) -> Vec<String> {
        let prefix = format!("write {path} ");
        self.ops
            .iter()
            .filter_map(|o| o.strip_prefix(&prefix).map(String::from))
            .collect()
    }
}

impl Platform for FakePlatform {
    fn now(&self) -> Duration {
        self.now
    }

    fn spawn(&mut self, spec: &SpawnSpec) -> Result<i32, RcError> {
        if spec.capabilities.unwrap_or(0) & self.unsupported_caps != 0 {
            return Err(RcError::Invalid(
                "capability not supported by the kernel".into(),
            ));
        }
        if self.missing.contains(&spec.path) {
            return Err(RcError::Exec {
                path: spec.path.display().to_string(),
                source: std::io::ErrorKind::NotFound.into(),
            });
        }
        self.next_pid += 1;
        self.spawned.push((self.next_pid, spec.clone()));
        Ok(self.next_pid)
    }

    fn kill(&mut self, pid: i32, signal: i32) -> Result<(), RcError> {
        self.killed.push((pid, signal));
        let alive = self.spawned.iter().any(|(p, _)| *p == pid)
            && !self.dead.contains(&pid)
            && !self.exits.iter().any(|(p, _)| *p == pid);
        if alive && (signal == libc::SIGKILL || !self.stubborn.contains(&pid)) {
            self.exits.push((pid, ExitStatus::Signaled(signal)));
        }
        Ok(())
    }

    fn kill_cgroup(&mut self, cgroup: &Path, signal: i32) -> Result<(), RcError> {
        self.cgroup_kills.push((cgroup.to_path_buf(), signal));
        // The cgroup of pid N is `…/pid_N`: its main process gets the signal.
        let pid = cgroup
            .file_name()
            .and_then(|n| n.to_str()?.strip_prefix("pid_")?.parse().ok());
        if let Some(pid) = pid {
            self.kill(pid, signal)?;
        }
        Ok(())
    }

    fn remove_cgroup(&mut self, cgroup: &Path) -> Result<bool, RcError> {
        if self.busy_cgroups.contains(cgroup) {
            return Ok(false);
        }
        self.removed_cgroups.push(cgroup.to_path_buf());
        Ok(true)
    }

    fn kill_all(&mut self, signal: i32) {
        self.killed_all.push(signal);
        self.busy_mounts.clear();
    }

    fn reap(&mut self) -> Vec<(i32, ExitStatus)> {
        let exits: Vec<(i32, ExitStatus)> = std::mem::take(&mut self.exits)
            .into_iter()
            .filter(|(p, _)| self.dead.insert(*p))
            .collect();
        exits
    }

    fn mkdir(&mut self, path: &Path, mode: u32) -> Result<bool, RcError> {
        self.ops.push(format!("mkdir {} {mode:o}", path.display()));
        Ok(self.existing.insert(path.to_path_buf()))
    }

    fn chmod(&mut self, path: &Path, mode: u32) -> Result<(), RcError> {
        self.ops.push(format!("chmod {} {mode:o}", path.display()));
        self.refuse_symlink("chmod", path)
    }

    fn chown(&mut self, path: &Path, uid: Option<u32>, gid: Option<u32>) -> Result<(), RcError> {
        self.ops
            .push(format!("chown {} {uid:?} {gid:?}", path.display()));
        Ok(())
    }

    fn symlink(&mut self, target: &Path, link: &Path) -> Result<(), RcError> {
        self.ops
            .push(format!("symlink {} {}", target.display(), link.display()));
        Ok(())
    }

    fn unlink(&mut self, path: &Path) -> Result<(), RcError> {
        self.ops.push(format!("rm {}", path.display()));
        Ok(())
    }

    fn rmdir(&mut self, path: &Path) -> Result<(), RcError> {
        self.ops.push(format!("rmdir {}", path.display()));
        Ok(())
    }

    fn write_file(&mut self, path: &Path, data: &[u8]) -> Result<(), RcError> {
        self.ops.push(format!(
            "write {} {}",
            path.display(),
            String::from_utf8_lossy(data)
        ));
        self.refuse_symlink("write", path)?;
        if let Some(range) = self.sysctls.get(path) {
            let value = String::from_utf8_lossy(data).trim().parse::<u32>();
            if !value.is_ok_and(|v| range.contains(&v)) {
                return Err(RcError::io(
                    "write",
                    path.display(),
                    std::io::Error::from_raw_os_error(libc::EINVAL),
                ));
            }
        }
        self.files.insert(path.to_path_buf(), data.to_vec());
        Ok(())
    }

    fn read_file(&mut self, path: &Path, _limit: usize, _copy: bool) -> Result<Vec<u8>, RcError> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| RcError::io("read", path.display(), std::io::ErrorKind::NotFound.into()))
    }

    fn exists(&mut self, path: &Path) -> bool {
        self.existing.contains(path) || self.files.contains_key(path)
    }

    fn mount(&mut self, m: &MountSpec) -> Result<(), RcError> {
        self.ops.push(format!(
            "mount {} {} {} {:#x} {:?}",
            m.fstype,
            m.source,
            m.target.display(),
            m.flags,
            m.data
        ));
        Ok(())
    }

    fn umount(&mut self, path: &Path) -> Result<(), RcError> {
        if self.busy_mounts.contains(path) {
            return Err(RcError::io(
                "umount",
                path.display(),
                std::io::Error::from_raw_os_error(libc::EBUSY),
            ));
        }
        self.ops.push(format!("umount {}", path.display()));
        Ok(())
    }

    fn insmod(&mut self, path: &Path, params: &str, force: bool) -> Result<(), RcError> {
        self.ops
            .push(format!("insmod {} '{params}' {force}", path.display()));
        Ok(())
    }

    fn setrlimit(&mut self, resource: Rlimit, cur: u64, max: u64) -> Result<(), RcError> {
        self.ops
            .push(format!("setrlimit {} {cur} {max}", resource.0));
        Ok(())
    }

    fn set_log_level(&mut self, level: log::LevelFilter) {
        self.log_level = Some(level);
    }

    fn sync(&mut self) {
        self.synced = true;
    }

    fn power(&mut self, action: &PowerAction) -> RcError {
        self.powered = Some(action.clone());
        RcError::Invalid("fake power".into())
    }

    fn page_size(&self) -> usize {
        self.page_size
    }
}

impl FakePlatform {
    /// The real platform's answer to a final symlink: `ELOOP`, nothing changed.
    fn refuse_symlink(&self, op: &'static str, path: &Path) -> Result<(), RcError> {
        if self.symlinks.contains(path) {
            return Err(RcError::io(
                op,
                path.display(),
                std::io::Error::from_raw_os_error(libc::ELOOP),
            ));
        }
        Ok(())
    }
}

/// A labeler that records calls and reports SELinux as active. Its policy: a program
/// under `/vendor/bin/` transitions to `u:r:vendor_service:s0`; any other program has
/// no transition from init.
#[derive(Default)]
pub(crate) struct RecordingLabeler {
    pub calls: std::rc::Rc<std::cell::RefCell<Vec<(PathBuf, bool)>>>,
}

impl Labeler for RecordingLabeler {
    fn selinux_active(&self) -> bool {
        true
    }

    fn restorecon(&mut self, path: &Path, recursive: bool) -> Result<(), String> {
        self.calls
            .borrow_mut()
            .push((path.to_path_buf(), recursive));
        Ok(())
    }

    fn exec_domain(
        &self,
        who: &str,
        program: &Path,
        seclabel: Option<&str>,
    ) -> Result<Option<String>, String> {
        match seclabel {
            Some(label) => Ok(Some(label.to_owned())),
            None if program.starts_with("/vendor/bin") => {
                Ok(Some("u:r:vendor_service:s0".to_owned()))
            }
            None => Err(format!(
                "{who}: {} has no domain transition",
                program.display()
            )),
        }
    }
}
