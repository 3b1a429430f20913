//! The `modprobe` command end to end, with the recording fake loader and captured output.

use std::ffi::OsString;
use std::path::PathBuf;

use modprobe::testing::RecordingLoader;
use modprobe::{run, CliEnv, LoadErrno, USAGE};
use nix::errno::Errno;

use crate::common::fixture;

struct Outcome {
    status: i32,
    stdout: String,
    /// stderr without the warning lines.
    stderr: String,
    /// The `modprobe: warning: ` lines of stderr.
    warnings: Vec<String>,
    kmsg: String,
}

fn modprobe_with(loader: &RecordingLoader, args: &[&str]) -> Outcome {
    let kmsg_dir = tempfile::tempdir().unwrap();
    let kmsg = kmsg_dir.path().join("kmsg");
    std::fs::write(&kmsg, "").unwrap();
    let mut argv: Vec<OsString> = vec!["modprobe".into()];
    argv.extend(args.iter().map(OsString::from));
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let status = {
        let mut env = CliEnv {
            loader,
            stdout: &mut stdout,
            stderr: &mut stderr,
            kmsg: kmsg.clone(),
        };
        run(&argv, &mut env)
    };
    let stderr = String::from_utf8(stderr).unwrap();
    let (warnings, rest): (Vec<&str>, Vec<&str>) = stderr
        .split_inclusive('\n')
        .partition(|l| l.starts_with("modprobe: warning: "));
    Outcome {
        status,
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: rest.concat(),
        warnings: warnings.iter().map(|w| w.trim_end().to_owned()).collect(),
        kmsg: std::fs::read_to_string(&kmsg).unwrap(),
    }
}

fn flat_dir() -> String {
    fixture("flat").display().to_string()
}

#[test]
fn loads_a_module_with_its_dependencies() {
    let loader = RecordingLoader::new();
    let out = modprobe_with(&loader, &["-d", &flat_dir(), "virtio-blk"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(
        loader.loaded_names(),
        vec!["virtio_ring", "virtio", "virtio_blk"]
    );
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr, "");
    // What the fixture's files say that is skipped or ignored is a warning on stderr.
    assert_eq!(
        out.warnings,
        [format!(
            "modprobe: warning: {}/modules.softdep:6: ignoring cifs_style_ignored (no pre: or post: before it, as kmod does)",
            flat_dir()
        )]
    );
    let out = modprobe_with(&loader, &["-q", "-d", &flat_dir(), "virtio-blk"]);
    assert!(out.warnings.is_empty());
}

#[test]
fn several_modules_and_jobs() {
    let loader = RecordingLoader::new();
    let out = modprobe_with(
        &loader,
        &[
            "-a",
            "-j",
            "4",
            "-d",
            &flat_dir(),
            "virtio_pci",
            "snd-dummy",
        ],
    );
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(loader.loads().len(), 8);
}

#[test]
fn dry_run_prints_the_plan() {
    let loader = RecordingLoader::new();
    let out = modprobe_with(&loader, &["-n", "-d", &flat_dir(), "bar", "ext4"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    let dir = flat_dir();
    assert_eq!(
        out.stdout,
        format!("insmod {dir}/foo.ko bar=\"a b\" baz=1\ninsmod {dir}/bar.ko\nbuiltin ext4\n")
    );
    assert!(loader.loads().is_empty());
}

#[test]
fn parameters_go_to_the_single_module() {
    let loader = RecordingLoader::new();
    let out = modprobe_with(&loader, &["-d", &flat_dir(), "foo", "x=1", "y=\"a b\""]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(loader.loads()[0].params, "bar=\"a b\" baz=1 x=1 y=\"a b\"");

    let out = modprobe_with(&loader, &["-d", &flat_dir(), "foo", "bar", "x=1"]);
    assert_eq!(out.status, 1);
    assert!(out
        .stderr
        .contains("Only one module may be loaded when specifying module parameters."));
}

#[test]
fn blocklist_flag() {
    let loader = RecordingLoader::new();
    let out = modprobe_with(&loader, &["-b", "-d", &flat_dir(), "blocked"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(loader.loads().is_empty());
    // Depending on a blocklisted module is a skip, not a failure (AOSP's IsBlocklisted).
    let out = modprobe_with(&loader, &["-b", "-v", "-d", &flat_dir(), "needs_blocked"]);
    assert_eq!(out.status, 0);
    assert_eq!(out.stderr, "");
    assert!(
        out.stdout
            .contains("modprobe: skipped needs_blocked: depends on blocklisted module blocked\n"),
        "{}",
        out.stdout
    );
    let out = modprobe_with(&loader, &["-d", &flat_dir(), "needs_blocked"]);
    assert_eq!(out.status, 0);
    assert_eq!(loader.loaded_names(), vec!["blocked", "needs_blocked"]);
}

#[test]
fn all_file_takes_its_directory() {
    let loader = RecordingLoader::new();
    let list = fixture("flat/modules.load").display().to_string();
    let out = modprobe_with(&loader, &[&format!("--all={list}")]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(loader.loads().len(), 9);
    assert_eq!(
        loader.loads()[2].path,
        fixture("flat").join("virtio_blk.ko")
    );

    let out = modprobe_with(&loader, &["--all=/nonexistent/modules.load"]);
    assert_eq!(out.status, 1);
    assert!(
        out.stderr.contains("cannot read /nonexistent/modules.load"),
        "{}",
        out.stderr
    );
}

#[test]
fn list_mode() {
    let loader = RecordingLoader::new();
    let out = modprobe_with(&loader, &["-d", &flat_dir(), "-l", "snd*"]);
    assert_eq!(out.status, 0);
    assert_eq!(out.stdout, "snd\nsnd_dummy\n");
    let out = modprobe_with(&loader, &["-d", &flat_dir(), "--list"]);
    assert_eq!(out.stdout.lines().count(), 20);
}

#[test]
fn show_depends_mode() {
    let loader = RecordingLoader::new();
    let out = modprobe_with(
        &loader,
        &["-d", &flat_dir(), "-D", "with_pre", "virtio_blk", "ext4"],
    );
    assert_eq!(out.status, 0, "{}", out.stderr);
    let dir = flat_dir();
    assert_eq!(
        out.stdout,
        format!(
            "Dependencies for with_pre:\nSoft pre-dependencies:\npre_a\npre-b\nalias-for-pre-dep\nmissing_soft\n\
             Hard dependencies:\n{dir}/with_pre.ko\nSoft post-dependencies:\npost_a\n\
             Dependencies for virtio_blk:\nSoft pre-dependencies:\nHard dependencies:\n\
             {dir}/virtio_ring.ko\n{dir}/virtio.ko\n{dir}/virtio_blk.ko\nSoft post-dependencies:\n\
             builtin ext4\n"
        )
    );
    assert!(loader.loads().is_empty());
    let out = modprobe_with(&loader, &["-d", &flat_dir(), "-D", "nope"]);
    assert_eq!(out.status, 1);
    assert_eq!(out.stderr, "modprobe: module nope not found\n");
}

#[test]
fn remove_mode() {
    let loader = RecordingLoader::new();
    let out = modprobe_with(
        &loader,
        &["-d", &flat_dir(), "-r", "virtio_blk", "virtio-pci"],
    );
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(
        loader.unloads(),
        vec![
            "virtio_pci",
            "virtio_blk",
            "virtio_pci_legacy_dev",
            "virtio_pci_modern_dev",
            "virtio",
            "virtio_ring"
        ]
    );

    // A dependency in use stays and is not an error; a requested module that fails is.
    let loader = RecordingLoader::new();
    loader.fail_unload("virtio", LoadErrno::delete(Errno::EWOULDBLOCK));
    let out = modprobe_with(&loader, &["-v", "-d", &flat_dir(), "-r", "virtio_blk"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("modprobe: kept virtio: delete_module: EAGAIN (the module is in use"),
        "{}",
        out.stdout
    );
    loader.fail_unload("virtio_blk", LoadErrno::delete(Errno::ENOENT));
    let out = modprobe_with(&loader, &["-d", &flat_dir(), "-r", "virtio_blk"]);
    assert_eq!(out.status, 1);
    assert_eq!(
        out.stderr,
        "modprobe: failed to remove virtio_blk: delete_module: ENOENT (No such file or directory: the module is not loaded)\n"
    );

    let out = modprobe_with(&loader, &["-n", "-d", &flat_dir(), "-r", "bar"]);
    assert_eq!(out.stdout, "rmmod bar\nrmmod foo\n");
    let out = modprobe_with(&loader, &["-d", &flat_dir(), "-r", "ext4", "nope"]);
    assert_eq!(out.status, 1);
    assert!(out.stderr.contains("failed to remove nope: lookup: ENOENT"));
    assert!(out
        .stderr
        .contains("failed to remove ext4: built into the kernel"));
}

#[test]
fn failures_are_reported_with_module_file_and_errno() {
    let loader = RecordingLoader::new();
    loader.fail("virtio", LoadErrno::finit(Errno::ENOEXEC));
    let out = modprobe_with(&loader, &["-s", "-d", &flat_dir(), "virtio_blk", "foo"]);
    assert_eq!(out.status, 1);
    let dir = flat_dir();
    let expected = format!(
        "modprobe: failed to load virtio ({dir}/virtio.ko): finit_module: ENOEXEC (Exec format error: not a module for this kernel (wrong architecture, bad ELF, or vermagic mismatch))\n\
         modprobe: skipped virtio_blk: dependency virtio did not load\n"
    );
    assert_eq!(out.stderr, expected);
    let warnings: String = out.warnings.iter().map(|w| format!("<4>{w}\n")).collect();
    assert_eq!(
        out.kmsg,
        warnings
            + &expected
                .lines()
                .map(|l| format!("<3>{l}\n"))
                .collect::<String>()
    );
    assert!(loader.loaded_names().contains(&"foo".to_owned()));
}

#[test]
fn verbose_and_quiet() {
    let loader = RecordingLoader::new();
    loader.fail("virtio_ring", LoadErrno::finit(Errno::EEXIST));
    let out = modprobe_with(&loader, &["-v", "-d", &flat_dir(), "virtio_blk", "nope"]);
    assert_eq!(out.status, 1);
    assert!(out
        .stdout
        .contains("modprobe: already loaded virtio_ring\n"));
    assert!(out.stdout.contains("modprobe: loaded virtio_blk\n"));
    assert!(out
        .stdout
        .contains("2 loaded, 1 already loaded, 1 failed, 0 skipped in"));
    // Where the time went: the database, the plan, then one line per load in start order.
    assert!(out.stdout.contains("modprobe: read "), "{}", out.stdout);
    assert!(out.stdout.contains("modprobe: planned 3 modules in "));
    let timings: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("modprobe: timing module="))
        .collect();
    let names: Vec<&str> = timings.iter().filter_map(|t| t.split(' ').next()).collect();
    assert_eq!(names, ["virtio_ring", "virtio", "virtio_blk"]);
    assert!(timings
        .iter()
        .all(|t| t.contains(" start_ms=") && t.contains(" ms=") && t.ends_with(" worker=0")));
    assert!(out
        .stderr
        .contains("modprobe: failed to load nope: lookup: ENOENT"));
    let out = modprobe_with(
        &loader,
        &["-v", "-q", "-d", &flat_dir(), "virtio_blk", "nope"],
    );
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("failed to load nope"));
}

#[test]
fn usage_errors() {
    let loader = RecordingLoader::new();
    let out = modprobe_with(&loader, &["foo"]);
    assert_eq!(out.status, 1);
    assert!(out
        .stderr
        .starts_with("modprobe: No module configuration directories given.\n"));
    let out = modprobe_with(&loader, &["-d", &flat_dir()]);
    assert_eq!(out.status, 1);
    assert!(out.stderr.starts_with("modprobe: No modules given.\n"));
    let out = modprobe_with(&loader, &["-z"]);
    assert_eq!(out.status, 1);
    assert_eq!(
        out.stderr,
        format!("modprobe: unrecognized option -z\n{USAGE}\n")
    );
    let out = modprobe_with(&loader, &["-r", "-D", "x"]);
    assert_eq!(out.status, 1);
    assert!(out.stderr.contains("multiple mode flags specified"));
    let out = modprobe_with(&loader, &["-d", "/nonexistent", "foo"]);
    assert_eq!(out.status, 1);
    assert_eq!(
        out.stderr,
        "modprobe: /nonexistent: no modules.dep (not a module directory, or depmod was not run)\n"
    );
    assert!(loader.loads().is_empty());
}

#[test]
fn help() {
    let loader = RecordingLoader::new();
    for flag in ["-h", "--help"] {
        let out = modprobe_with(&loader, &[flag]);
        assert_eq!(out.status, 0);
        assert_eq!(out.stdout, USAGE);
    }
    for documented in [
        "--all", "-b", "-d", "-D", "-j", "-l", "-n", "-q", "-r", "-s", "-v", "--help",
    ] {
        assert!(USAGE.contains(documented), "{documented} is not documented");
    }
}

#[test]
fn syslog_without_kmsg_still_works() {
    let loader = RecordingLoader::new();
    let mut argv: Vec<OsString> = ["modprobe", "-s", "-d"]
        .iter()
        .map(OsString::from)
        .collect();
    argv.push(flat_dir().into());
    argv.push("foo".into());
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let status = run(
        &argv,
        &mut CliEnv {
            loader: &loader,
            stdout: &mut stdout,
            stderr: &mut stderr,
            kmsg: PathBuf::from("/nonexistent/kmsg"),
        },
    );
    assert_eq!(status, 0);
    assert!(String::from_utf8(stderr)
        .unwrap()
        .starts_with("modprobe: cannot open /nonexistent/kmsg"));
    assert_eq!(loader.loaded_names(), vec!["foo"]);
}
