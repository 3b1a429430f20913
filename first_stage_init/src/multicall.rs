//! The multi-call entry: one static binary is `/init` (PID 1, first stage), the second
//! stage and every applet the guest needs, chosen by the name it was started as.
//!
//! | invoked as | applet |
//! | --- | --- |
//! | `init` with pid 1 (arguments other than `second_stage` ignored) | the first stage |
//! | `init second_stage` (pid 1, `/proc` mounted: exec'd by the first stage) | the rc interpreter (`init_rc`) |
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

/// Picks the applet for `args` (args[0] is the program name), the current pid, and
/// whether procfs is mounted (`proc_mounted`).
///
/// As PID 1, `second_stage` selects the rc interpreter only once the first stage has run:
/// the kernel hands every word of its command line without `=` to PID 1 as an argument,
/// so a host could otherwise skip the first stage — `/vendor`'s verification, the DICE
/// node and the SELinux policy — by adding the word `second_stage` (AOSP's init has this
/// hole; pvmfw's command-line filter closes it there). **Ours:** the first stage mounts
/// procfs before anything else and the kernel never does for an initramfs, so a PID 1
/// without `/proc` is the kernel's `/init`, whatever its arguments say.
pub fn select(args: &[OsString], pid: i32, proc_mounted: bool) -> Result<Applet, String> {
    let name = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let second_stage = args.get(1).is_some_and(|a| a == "second_stage") && proc_mounted;
    match name.as_str() {
        // As PID 1 only `second_stage` (AOSP's spelling) selects the rc interpreter; any
        // other argument is a word of the kernel command line the kernel passed on, which
        // AOSP's init ignores too.
        "init" if pid == 1 && !second_stage => Ok(Applet::FirstStage),
        "init" if args.len() > 1 => Ok(Applet::SecondStage),
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
    let applet = select(&args, sys::getpid(), Path::new("/proc/self").exists());
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
        assert_eq!(select(&args(&["/init"]), 1, true), Ok(Applet::FirstStage));
        assert!(select(&args(&["/init"]), 42, true).is_err());
        assert_eq!(
            select(&args(&["/system/bin/init", "second_stage"]), 1, true),
            Ok(Applet::SecondStage)
        );
        assert_eq!(
            select(&args(&["init", "--verify", "x.rc"]), 42, true),
            Ok(Applet::SecondStage)
        );
        assert_eq!(
            select(&args(&["/system/bin/ueventd"]), 7, true),
            Ok(Applet::Ueventd)
        );
        assert_eq!(
            select(&args(&["modprobe", "-a"]), 7, true),
            Ok(Applet::Modprobe)
        );
        assert_eq!(
            select(&args(&["restorecon", "-R"]), 7, true),
            Ok(Applet::Sepolicy)
        );
        assert_eq!(
            select(&args(&["/system/bin/dice_next", "--output", "/o"]), 7, true),
            Ok(Applet::DiceNext)
        );
        assert!(select(&args(&["/bin/frob"]), 1, true).is_err());
        assert!(select(&[], 1, true).is_err());
    }

    #[test]
    fn pid_1_ignores_arguments_the_kernel_passed_on() {
        // The kernel hands PID 1 every command-line word it does not know that has no
        // `=` or `.` (0xa0 is a blank to it): AOSP's init runs its first stage whatever
        // they are, and so do we.
        assert_eq!(
            select(
                &[OsString::from("/init"), OsString::from("U\u{a0}")],
                1,
                false
            ),
            Ok(Applet::FirstStage)
        );
        // `second_stage` from the kernel (no /proc yet) cannot skip the first stage;
        // from the first stage's exec (procfs mounted) it selects the rc interpreter.
        assert_eq!(
            select(&args(&["/init", "second_stage"]), 1, false),
            Ok(Applet::FirstStage)
        );
        assert_eq!(
            select(&args(&["/system/bin/init", "second_stage"]), 1, true),
            Ok(Applet::SecondStage)
        );
        assert_eq!(
            select(&args(&["/init", "quiet", "splash"]), 1, true),
            Ok(Applet::FirstStage)
        );
        // Not as PID 1, arguments are the rc interpreter's to judge.
        assert_eq!(
            select(&args(&["init", "frob"]), 42, true),
            Ok(Applet::SecondStage)
        );
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
