//! The multi-call entry: one static binary is `/init` (PID 1, first stage), the second
//! stage and every applet the guest needs, chosen by the name it was started as.
//!
//! | invoked as | applet |
//! | --- | --- |
//! | `init` with pid 1, no arguments | the first stage |
//! | `init second_stage` (pid 1) | the rc interpreter (`init_rc`) |
//! | `init --verify FILE…` | the host-side rc verifier |
//! | `ueventd` | the device manager |
//! | `modprobe` | AOSP-toolbox-style module loading |
//! | `sepolicy`, `restorecon` | file_contexts lookup and labelling |
//! | `setprop`, `getprop` | property service client |
//! | `dice_next` | the payload manager's next DICE step ([`dice_vendor::next`]) |
//! | `init_probe` | only in test builds (feature `test-hooks`): `init_rc::test_hooks` |
//!
//! Before the applet runs, [`crate::oom`] learns which one it is (a failed allocation is
//! fatal in PID 1 and a logged exit elsewhere), and ueventd gets its panic hook
//! ([`crate::hooks::install_ueventd_panic_hook`]); the second stage installs its own.

use std::ffi::OsString;
use std::path::Path;

use log::LevelFilter;

use crate::hooks::{
    ContextLabels, PropertyClient, VendorModalias, PROPERTY_SOCKET, VENDOR_MODULES,
};
use crate::{first_stage, logger, sys};

/// The applet a program name selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applet {
    /// `/init` as PID 1: the first stage.
    FirstStage,
    /// The rc interpreter (and its `--verify` mode).
    SecondStage,
    /// ueventd.
    Ueventd,
    /// modprobe.
    Modprobe,
    /// sepolicy (`restorecon` is `sepolicy restorecon`).
    Sepolicy,
    /// setprop.
    Setprop,
    /// getprop.
    Getprop,
    /// The payload manager's next DICE step.
    DiceNext,
    /// The QEMU tests' probe (test builds only).
    #[cfg(feature = "test-hooks")]
    Probe,
}

impl Applet {
    /// The name it reports itself with.
    pub fn name(self) -> &'static str {
        match self {
            Applet::FirstStage | Applet::SecondStage => "init",
            Applet::Ueventd => "ueventd",
            Applet::Modprobe => "modprobe",
            Applet::Sepolicy => "sepolicy",
            Applet::Setprop => "setprop",
            Applet::Getprop => "getprop",
            Applet::DiceNext => "dice_next",
            #[cfg(feature = "test-hooks")]
            Applet::Probe => "init_probe",
        }
    }
}

/// The applets' program names, linked to the binary from `/system/bin`.
pub const LINKS: &[&str] = &[
    "init",
    "ueventd",
    "modprobe",
    "sepolicy",
    "restorecon",
    "setprop",
    "getprop",
    "dice_next",
];

/// Picks the applet for `args` (args[0] is the program name) and the current pid.
pub fn select(args: &[OsString], pid: i32) -> Result<Applet, String> {
    let name = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match name.as_str() {
        "init" if args.len() > 1 => Ok(Applet::SecondStage),
        "init" if pid == 1 => Ok(Applet::FirstStage),
        "init" => Err("init: the first stage runs only as PID 1 \
                       (try `init --verify FILE…` to check rc files)"
            .to_owned()),
        "ueventd" => Ok(Applet::Ueventd),
        "modprobe" => Ok(Applet::Modprobe),
        "sepolicy" | "restorecon" => Ok(Applet::Sepolicy),
        "setprop" => Ok(Applet::Setprop),
        "getprop" => Ok(Applet::Getprop),
        "dice_next" => Ok(Applet::DiceNext),
        #[cfg(feature = "test-hooks")]
        "init_probe" => Ok(Applet::Probe),
        other => Err(format!(
            "{other}: unknown applet (this multi-call binary answers to: {})",
            LINKS.join(" ")
        )),
    }
}

/// `restorecon ARGS` is `sepolicy restorecon ARGS`.
fn sepolicy_args(args: &[OsString]) -> Vec<OsString> {
    let invoked_as_restorecon = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .is_some_and(|n| n == "restorecon");
    if invoked_as_restorecon {
        let mut v = vec![OsString::from("sepolicy"), OsString::from("restorecon")];
        v.extend(args.iter().skip(1).cloned());
        v
    } else {
        args.to_vec()
    }
}

/// `dice_next ARGS`: arguments parsed by hand in [`dice_vendor::next::parse_args`]; one
/// line on stdout on success, `dice_next: <error>` on stderr and status 1 otherwise.
fn dice_next_main(args: &[OsString]) -> i32 {
    let rest: Vec<String> = args
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    match dice_vendor::next::cli(&rest, &dice_vendor::next::SystemOps) {
        Ok(line) => {
            println!("{line}");
            0
        }
        Err(e) => {
            eprintln!("dice_next: {e}");
            1
        }
    }
}

/// Runs the selected applet; returns the exit status for applets that exit.
pub fn main() -> i32 {
    let args: Vec<OsString> = std::env::args_os().collect();
    let root = Path::new("/");
    let applet = select(&args, sys::getpid());
    if let Ok(a) = applet {
        crate::oom::set_applet(a);
    }
    match applet {
        Ok(Applet::FirstStage) => first_stage::run(),
        Ok(Applet::SecondStage) => {
            // init_rc's lines carry their own `init: ` prefix.
            logger::init("", LevelFilter::Info);
            if sys::getpid() == 1 {
                let _ = logger::attach_kmsg(Path::new("/dev/kmsg"));
            }
            let hooks = init_rc::Hooks {
                labeler: Box::new(ContextLabels::load(root, "init: ")),
            };
            match init_rc::second_stage_main(&args, hooks) {}
        }
        Ok(Applet::Ueventd) => {
            // ueventd's lines carry their own `ueventd: ` prefix.
            logger::init("", LevelFilter::Info);
            let _ = logger::attach_kmsg(Path::new("/dev/kmsg"));
            crate::hooks::install_ueventd_panic_hook();
            let vendor_modules = Path::new(VENDOR_MODULES);
            let hooks = ueventd::Hooks {
                props: Box::new(PropertyClient {
                    socket: PROPERTY_SOCKET.into(),
                }),
                labeler: Box::new(ContextLabels::load(root, "ueventd: ")),
                modalias: vendor_modules
                    .join("modules.dep")
                    .exists()
                    .then(|| Box::new(VendorModalias::new(vendor_modules)) as _),
            };
            ueventd::applet_main(&args, hooks)
        }
        Ok(Applet::Modprobe) => {
            logger::init("modprobe", LevelFilter::Warn);
            modprobe::cli_main(&args)
        }
        Ok(Applet::Sepolicy) => {
            logger::init("sepolicy", LevelFilter::Warn);
            sepolicy::cli_main(&sepolicy_args(&args))
        }
        Ok(Applet::Setprop) => init_rc::setprop_main(&args),
        Ok(Applet::Getprop) => init_rc::getprop_main(&args),
        Ok(Applet::DiceNext) => dice_next_main(&args),
        #[cfg(feature = "test-hooks")]
        Ok(Applet::Probe) => init_rc::test_hooks::probe_main(&args),
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
    fn selects_by_name_and_pid() {
        assert_eq!(select(&args(&["/init"]), 1), Ok(Applet::FirstStage));
        assert!(select(&args(&["/init"]), 42).is_err());
        assert_eq!(
            select(&args(&["/system/bin/init", "second_stage"]), 1),
            Ok(Applet::SecondStage)
        );
        assert_eq!(
            select(&args(&["init", "--verify", "x.rc"]), 42),
            Ok(Applet::SecondStage)
        );
        assert_eq!(
            select(&args(&["/system/bin/ueventd"]), 7),
            Ok(Applet::Ueventd)
        );
        assert_eq!(select(&args(&["modprobe", "-a"]), 7), Ok(Applet::Modprobe));
        assert_eq!(
            select(&args(&["restorecon", "-R"]), 7),
            Ok(Applet::Sepolicy)
        );
        assert_eq!(
            select(&args(&["/system/bin/dice_next", "--output", "/o"]), 7),
            Ok(Applet::DiceNext)
        );
        assert!(select(&args(&["/bin/frob"]), 1).is_err());
        assert!(select(&[], 1).is_err());
    }

    #[test]
    fn restorecon_is_a_sepolicy_subcommand() {
        assert_eq!(
            sepolicy_args(&args(&["/system/bin/restorecon", "-R", "/dev"])),
            args(&["sepolicy", "restorecon", "-R", "/dev"])
        );
        assert_eq!(
            sepolicy_args(&args(&["sepolicy", "lookup"])),
            args(&["sepolicy", "lookup"])
        );
    }
}
