//! Where the CLI's messages go: requested output and information to stdout, errors and
//! warnings to stderr, and with `-s` also to the kernel log (one `<level>modprobe: …` record per
//! message, the format `/dev/kmsg` expects). Every line is one `write` (stderr is not
//! buffered), so a line on a shared console is never split by other writers.

use std::fs::{File, OpenOptions};
use std::io::Write;

use super::CliEnv;
use crate::loader::ModuleLoader;

/// kmsg levels.
const KERN_ERR: u8 = 3;
const KERN_WARNING: u8 = 4;
const KERN_INFO: u8 = 6;

pub(super) struct Output<'e, 'a> {
    env: &'e mut CliEnv<'a>,
    kmsg: Option<File>,
    quiet: bool,
    verbose: bool,
}

impl<'e, 'a> Output<'e, 'a> {
    pub(super) fn new(env: &'e mut CliEnv<'a>, quiet: bool, verbose: u32, syslog: bool) -> Self {
        let kmsg = if syslog {
            match OpenOptions::new().write(true).open(&env.kmsg) {
                Ok(file) => Some(file),
                Err(e) => {
                    let _ = writeln!(
                        env.stderr,
                        "modprobe: cannot open {}: {e}",
                        env.kmsg.display()
                    );
                    None
                }
            }
        } else {
            None
        };
        Output {
            env,
            kmsg,
            quiet,
            verbose: verbose > 0 && !quiet,
        }
    }

    pub(super) fn loader(&self) -> &'a dyn ModuleLoader {
        self.env.loader
    }

    fn log_kmsg(&mut self, level: u8, message: &str) {
        if let Some(kmsg) = &mut self.kmsg {
            for line in message.lines() {
                // One record per write; a lost log line must not fail the command.
                let _ = kmsg.write_all(format!("<{level}>modprobe: {line}\n").as_bytes());
            }
        }
    }

    /// Output the user asked for (`-l`, `-D`, `-n`): always printed, not logged.
    pub(super) fn print(&mut self, line: &str) {
        let _ = self.env.stdout.write_all(format!("{line}\n").as_bytes());
    }

    /// An informational message (suppressed by `-q`).
    pub(super) fn info(&mut self, message: &str) {
        if !self.quiet {
            let _ = self
                .env
                .stdout
                .write_all(format!("modprobe: {message}\n").as_bytes());
            self.log_kmsg(KERN_INFO, message);
        }
    }

    /// A warning: shown on stderr unless `-q` (and logged with `-s`).
    pub(super) fn warning(&mut self, message: &str) {
        if !self.quiet {
            let _ = self
                .env
                .stderr
                .write_all(format!("modprobe: warning: {message}\n").as_bytes());
            self.log_kmsg(KERN_WARNING, &format!("warning: {message}"));
        }
    }

    /// A message shown only with `-v`.
    pub(super) fn detail(&mut self, message: &str) {
        if self.verbose {
            self.info(message);
        }
    }

    /// An error: always shown on stderr (and logged with `-s`).
    pub(super) fn error(&mut self, message: &str) {
        let _ = self
            .env
            .stderr
            .write_all(format!("modprobe: {message}\n").as_bytes());
        self.log_kmsg(KERN_ERR, message);
    }
}
