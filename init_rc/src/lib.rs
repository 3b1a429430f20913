//! The second stage: an AOSP init language (.rc) interpreter with triggers, actions,
//! services and properties, run as PID 1 after the first stage.
//!
//! Entry points:
//! - [`second_stage_main`]: the PID 1 second stage (never returns; fatal errors log
//!   `INIT_FATAL reason=<TOKEN> …`, sync and power off);
//! - [`verify_main`]: the host verifier (`init --verify FILE…`, `init_rc verify FILE…`);
//! - [`setprop_main`] / [`getprop_main`]: the applets; [`set_property`] /
//!   [`get_property`]: the property-service client.
//!
//! Layers: [`tokenizer`] → [`parser`] (with [`trigger`], [`command`], [`service`]) → the pure
//! interpreter [`interp`] (with [`property`] and [`expand`]), which reaches the OS only
//! through [`platform::Platform`]; `sys` is the real implementation and the main loop is in
//! `second_stage`.
//!
//! # What the initramfs must provide
//! - `/system/etc/init/hw/init.rc` (ours: `init_rc/rootdir/init.rc`);
//! - `/system/bin/ueventd`: a symlink to the multi-call binary (the rc starts it at
//!   `early-init` and waits for `ro.cold_boot_done=true`, which ueventd sets through
//!   [`set_property`]);
//! - `/system/bin/setprop`, `/system/bin/getprop` symlinks if rc `exec`s or tests use them;
//! - `/dev/null`, `/dev/kmsg`, `/dev/console` (devtmpfs) and a writable `/dev/socket`
//!   (created if missing) for `/dev/socket/property_service`;
//! - optional: `*.rc` in `/system/etc/init` and `/vendor/etc/init` (parsed in that order,
//!   sorted, after init.rc and before `early-init` runs).
//!
//! # Stable log lines (all prefixed `init: `)
//! | line | when |
//! | --- | --- |
//! | `init: action on=<trigger> <file>:<line>` | an action starts running |
//! | `init: command '<cmd>' at <file>:<line> failed: <why>` | a command failed (boot goes on) |
//! | `init: exec '<argv>' started pid=<N>` / `init: exec '<argv>' pid=<N> status=<S>` | `exec`/`exec_background` child started / reaped |
//! | `init: '<cmd>' done after <ms>ms` | a waiting command (`exec`, `exec_start`, `wait`, `wait_for_prop`) finished |
//! | `init: service <name> started pid=<N>` | a service started |
//! | `init: service <name> exited status=<S>` | a service's process was reaped |
//! | `init: service <name> restarting in <ms>ms` | a restart is scheduled |
//! | `init: reaped orphan pid=<N> status=<S>` | a process re-parented to init was reaped |
//! | `init: unsupported command '<x>' at <file>:<line>` | parse: command skipped |
//! | `init: unsupported option '<x>' at <file>:<line>` | parse: service option skipped |
//! | `init: syntax error at <file>:<line>: <msg>` | parse: line or section skipped |
//! | `init: property triggers enabled` | boot reached the property-trigger step |
//! | `init: control message ctl.<cmd> for '<svc>'` | `ctl.start`/`ctl.stop`/`ctl.restart` |
//! | `init: powerctl shutdown` / `init: powerctl reboot <target>` | `sys.powerctl` set |
//! | `init: shutdown: sending SIGTERM to <N> process(es)` | shutdown stops what is not `shutdown critical` |
//! | `init: shutdown: synced, powering off` | right before `reboot(2)` |
//! | `INIT_FATAL reason=<TOKEN> <detail>` | fatal: see [`second_stage`] |
//! | `init: ro.hardware=<h> ro.bootmode=<m>; <n> property(ies) from .prop files` | boot properties derived and loaded |
//! | `init: perform_apex_config: not applicable here (no APEXes); nothing done` | once per boot (also `mark_post_data`) |
//! | `init: shutdown: unmounted <dev> from <dir>` | a rw block-device filesystem unmounted at shutdown |
//! | `init: kptr_restrict set to <n>` / `init: mmap_rnd_bits set to <n>, mmap_rnd_compat_bits to <m>` | AOSP's hardening builtins ([`hardening`]) |
//! | `init: unable to set property '<name>' from uid:<u> gid:<g> pid:<p>: <why>` | a socket set refused ([`prop_policy`]) |
//! | `init: received sys.powerctl='<value>' from pid <p> (<program>)` | who asked for a shutdown |
//! | `init: property service: uid <u> has <n> unanswered connection(s) …` | a uid reached the connection cap ([`prop_server`]) |
//! | `init: property service: pid <p> (uid <u>) sent no whole request within 2000ms: …` | a connection timed out |
//! | `init: command 'wait_for_prop <n> <v>' failed: timed out waiting for <n>=<v>` | a `wait_for_prop` deadline passed (the action goes on) |
//!
//! `status=<S>` is the exit code, or `128 + signal` for a killed process.
//! Children start with umask 077 in their own cgroup v2 directory; `exec` children get
//! `/dev/null` stdin, stdout and stderr (AOSP's temporary services); services get
//! `/dev/null` unless `stdio_to_kmsg` or `console` say otherwise.
//!
//! # What is supported
//! Builtins run: `chmod chown class_reset class_restart class_start class_stop copy
//! domainname enable exec exec_background exec_start export hostname insmod loglevel mkdir
//! mount restart restorecon restorecon_recursive rm rmdir setprop setrlimit start stop
//! symlink trigger umount wait wait_for_prop write`; `perform_apex_config` and
//! `mark_post_data` are accepted and logged once as not applicable ([`command`]). AOSP
//! builtins reported as unsupported and skipped: [`command::UNSUPPORTED`] (e.g.
//! `mount_all`, `bootchart`, `ifup`, `sysclktz`). `chmod` never follows a final symlink
//! (`ELOOP`), `chown` is `lchown` and `write` opens with `O_NOFOLLOW`, as AOSP's
//! builtins. `wait_for_prop` gives up after `ro.init.wait_for_prop_timeout` seconds
//! (**Ours**, default 60; for `ro.cold_boot_done true` that is fatal, `COLDBOOT_TIMEOUT`).
//!
//! Service options acted on: `class user group oneshot disabled file stdio_to_kmsg console
//! restart_period setenv socket onrestart override capabilities critical shutdown`, and
//! `seclabel`. With SELinux active every service and `exec` starts in the domain
//! [`Labeler::exec_domain`] gives (its `seclabel`, else the policy's transition from
//! init's domain), written to `/proc/self/attr/exec`; a program with neither is not
//! started (AOSP refuses it too). Parsed and recorded but **not acted on**: socket
//! `seclabel`s, `mkdir`'s `encryption=`/`key=`, `restorecon`'s `--skip-ce` and
//! `--cross-filesystems`, `mount`'s `wait` (checks the device exists; does not wait).
//! Unsupported options: [`service::UNSUPPORTED_OPTIONS`] (e.g. `writepid`,
//! `task_profiles`, `interface`, `oom_score_adjust`, `priority`, `namespace`).
//! `ctl.start`, `ctl.stop`, `ctl.restart` control messages and `sys.powerctl`
//! (`shutdown[,reason]`, `reboot[,target]`) are handled; the shutdown follows AOSP's
//! `reboot.cpp` ([`interp`]).

pub mod applet;
pub mod command;
pub mod error;
pub mod expand;
pub mod hardening;
pub mod ids;
pub mod interp;
pub mod parser;
pub mod platform;
pub mod prop_files;
pub mod prop_policy;
pub mod prop_proto;
pub mod prop_server;
pub mod property;
pub mod second_stage;
pub mod service;
mod sys;
#[cfg(feature = "test-hooks")]
pub mod test_hooks;
pub mod tokenizer;
pub mod trigger;
pub mod verify;

#[cfg(test)]
mod fake;
#[cfg(test)]
mod interp_tests;

pub use applet::{getprop_main, setprop_main};
pub use error::RcError;
pub use platform::{Hooks, Labeler, NoLabeler};
pub use prop_proto::{get_property, set_property};
pub use second_stage::second_stage_main;
pub use verify::verify_main;
