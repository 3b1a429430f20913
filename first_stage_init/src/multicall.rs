//! The multi-call entry: one static binary is `/init` (PID 1, first stage) and every
//! applet the guest needs, chosen by the name it was started as.

use std::ffi::OsString;
use std::path::Path;

use crate::{first_stage, sys};

/// The applet a program name selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applet {
    /// `/init` as PID 1: the first stage.
    FirstStage,
}

/// Picks the applet for `args` (args[0] is the program name) and the current pid.
pub fn select(args: &[OsString], pid: i32) -> Result<Applet, String> {
    let name = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match name.as_str() {
        "init" if pid == 1 => Ok(Applet::FirstStage),
        "init" => Err("init: the first stage runs only as PID 1".to_owned()),
        other => Err(format!(
            "{other}: unknown applet (this is the multi-call init)"
        )),
    }
}

/// Runs the selected applet; returns the exit status for applets that exit.
pub fn main() -> i32 {
    let args: Vec<OsString> = std::env::args_os().collect();
    match select(&args, sys::getpid()) {
        Ok(Applet::FirstStage) => first_stage::run(),
        Err(msg) => {
            eprintln!("{msg}");
            2
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn init_as_pid1_is_first_stage() {
        assert_eq!(select(&args(&["/init"]), 1), Ok(Applet::FirstStage));
        assert!(select(&args(&["/init"]), 42).is_err());
        assert!(select(&args(&["/bin/frob"]), 1).is_err());
        assert!(select(&[], 1).is_err());
    }
}
