//! A `log` backend for PID 1 and its applets: one record per line into `/dev/kmsg`,
//! falling back to the console (stderr) until kmsg can be opened.
//!
//! Each line is written with a single `write(2)` so the kernel stores it as one record,
//! prefixed with its syslog priority (`<3>` error … `<7>` debug) and the applet tag, e.g.
//! `first_stage: phase=early_mounts t_ms=412`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use log::{Level, LevelFilter, Log, Metadata, Record};

struct Logger {
    tag: Mutex<&'static str>,
    kmsg: Mutex<Option<File>>,
}

static LOGGER: Logger = Logger {
    tag: Mutex::new("first_stage"),
    kmsg: Mutex::new(None),
};

/// Installs the logger with `tag` as the line prefix (none if empty). Safe to call
/// more than once.
pub fn init(tag: &'static str, level: LevelFilter) {
    if let Ok(mut t) = LOGGER.tag.lock() {
        *t = tag;
    }
    // set_logger fails only if a logger is already installed: that one is ours.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}

/// Starts writing to the kmsg device at `path` (normally `/dev/kmsg`). On failure the
/// logger keeps writing to the console.
pub fn attach_kmsg(path: &Path) -> std::io::Result<()> {
    let f = OpenOptions::new().write(true).open(path)?;
    if let Ok(mut k) = LOGGER.kmsg.lock() {
        *k = Some(f);
    }
    Ok(())
}

/// Whether kmsg is attached (lines go to the kernel log, and from there to the console).
pub fn kmsg_attached() -> bool {
    LOGGER.kmsg.lock().map(|k| k.is_some()).unwrap_or(false)
}

/// Writes one raw line (no tag) to kmsg if attached, and always to the console. Used for
/// the `FIRST_STAGE_FATAL` line, which must reach the console even if kmsg is broken.
pub fn emergency_line(line: &str) {
    let mut kmsg_ok = false;
    if let Ok(mut k) = LOGGER.kmsg.lock() {
        if let Some(f) = k.as_mut() {
            kmsg_ok = f.write_all(format!("<2>{line}\n").as_bytes()).is_ok();
        }
    }
    // With kmsg attached the kernel echoes the record on the console as well; write the
    // console directly only when it did not.
    if !kmsg_ok {
        let _ = std::io::stderr().write_all(format!("{line}\n").as_bytes());
    }
}

fn priority(level: Level) -> u8 {
    match level {
        Level::Error => 3,
        Level::Warn => 4,
        Level::Info => 6,
        Level::Debug | Level::Trace => 7,
    }
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let tag = self.tag.lock().map(|t| *t).unwrap_or("init");
        let line = if tag.is_empty() {
            format!("{}\n", record.args())
        } else {
            format!("{tag}: {}\n", record.args())
        };
        if let Ok(mut k) = self.kmsg.lock() {
            if let Some(f) = k.as_mut() {
                let mut buf = format!("<{}>", priority(record.level())).into_bytes();
                buf.extend_from_slice(line.as_bytes());
                if f.write_all(&buf).is_ok() {
                    return;
                }
            }
        }
        let _ = std::io::stderr().write_all(line.as_bytes());
    }

    fn flush(&self) {}
}
