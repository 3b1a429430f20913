//! Fuzzes the rc tokenizer and parser with arbitrary bytes, then runs the resulting
//! config through the interpreter on a do-nothing platform (every child exits at once,
//! the clock advances a second per reading) so command execution, expansion, triggers,
//! restarts and powerctl see the same input.
#![no_main]

use std::cell::Cell;
use std::path::Path;
use std::time::Duration;

use init_rc::error::RcError;
use init_rc::interp::{Init, Layout};
use init_rc::parser::Parser;
use init_rc::platform::{ExitStatus, MountSpec, Platform, PowerAction, Rlimit, SpawnSpec};
use init_rc::property::PropertyStore;
use init_rc::NoLabeler;
use libfuzzer_sys::fuzz_target;

#[derive(Default)]
struct NullPlatform {
    clock: Cell<u64>,
    next_pid: i32,
    live: Vec<i32>,
}

impl Platform for NullPlatform {
    fn now(&self) -> Duration {
        self.clock.set(self.clock.get().saturating_add(1));
        Duration::from_secs(self.clock.get())
    }
    fn spawn(&mut self, _spec: &SpawnSpec) -> Result<i32, RcError> {
        self.next_pid = self.next_pid.wrapping_add(1);
        self.live.push(self.next_pid);
        Ok(self.next_pid)
    }
    fn kill(&mut self, _pid: i32, _signal: i32) -> Result<(), RcError> {
        Ok(())
    }
    fn kill_cgroup(&mut self, _c: &Path, _s: i32) -> Result<(), RcError> {
        Ok(())
    }
    fn remove_cgroup(&mut self, _c: &Path) -> Result<bool, RcError> {
        Ok(true)
    }
    fn kill_all(&mut self, _s: i32) {}
    fn reap(&mut self) -> Vec<(i32, ExitStatus)> {
        self.live.drain(..).map(|p| (p, ExitStatus::Exited(1))).collect()
    }
    fn mkdir(&mut self, _p: &Path, _m: u32) -> Result<bool, RcError> {
        Ok(true)
    }
    fn chmod(&mut self, _p: &Path, _m: u32) -> Result<(), RcError> {
        Ok(())
    }
    fn chown(&mut self, _p: &Path, _u: Option<u32>, _g: Option<u32>) -> Result<(), RcError> {
        Ok(())
    }
    fn symlink(&mut self, _t: &Path, _l: &Path) -> Result<(), RcError> {
        Ok(())
    }
    fn unlink(&mut self, _p: &Path) -> Result<(), RcError> {
        Ok(())
    }
    fn rmdir(&mut self, _p: &Path) -> Result<(), RcError> {
        Ok(())
    }
    fn write_file(&mut self, _p: &Path, _d: &[u8]) -> Result<(), RcError> {
        Ok(())
    }
    fn read_file(&mut self, _p: &Path, _l: usize, _c: bool) -> Result<Vec<u8>, RcError> {
        Ok(b"x".to_vec())
    }
    fn exists(&mut self, _p: &Path) -> bool {
        false
    }
    fn mount(&mut self, _m: &MountSpec) -> Result<(), RcError> {
        Ok(())
    }
    fn umount(&mut self, _p: &Path) -> Result<(), RcError> {
        Ok(())
    }
    fn insmod(&mut self, _p: &Path, _o: &str, _f: bool) -> Result<(), RcError> {
        Ok(())
    }
    fn setrlimit(&mut self, _r: Rlimit, _c: u64, _m: u64) -> Result<(), RcError> {
        Ok(())
    }
    fn set_log_level(&mut self, _l: log::LevelFilter) {}
    fn sync(&mut self) {}
    fn power(&mut self, _a: &PowerAction) -> RcError {
        RcError::Invalid("fuzz".into())
    }
}

fuzz_target!(|data: &[u8]| {
    let mut props = PropertyStore::new();
    let _ = props.set("ro.hardware", "fuzz");
    let mut parser = Parser::without_imports(&props);
    parser.parse_data("fuzz.rc", data);
    let config = parser.finish();
    for d in &config.diagnostics {
        let _ = d.to_string();
    }
    let mut init = Init::new(config, props, Layout::default(), Box::new(NoLabeler));
    init.queue_boot();
    let mut p = NullPlatform::default();
    for _ in 0..64 {
        init.step(&mut p);
        let now = p.now();
        let _ = init.next_deadline(now);
        if init.is_finished() || init.fatal().is_some() {
            break;
        }
    }
    let _ = init.set_property("ro.cold_boot_done", "true", &mut p);
    let _ = init.set_property("sys.powerctl", "shutdown", &mut p);
    for _ in 0..16 {
        init.step(&mut p);
    }
});
