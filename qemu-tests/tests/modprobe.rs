//! Kernel modules, booted for real (issue 4, and the module cases of issue 9), on the
//! Debian cloud kernels.
//!
//! * aarch64, one boot: the first-stage modules load and reach the virtio disk (the
//!   vendor partition is found on it and mounted); the first stage's vendor pass loads
//!   the demo's 26 real modules (zram, btrfs with xor/raid6_pq/zstd, bridge/stp/llc,
//!   vxlan, overlay, fuse, …) completely, while a missing module (in `modules.load` and
//!   `modules.dep`, `.ko` absent), the module that depends on it, a module built for the
//!   other architecture, and a module with an invalid parameter value each fail or are
//!   skipped with their own message; an unknown parameter *name* is only a kernel
//!   warning. The guest copies `/proc/modules` to a results disk: the host checks the
//!   exact set.
//! * x86_64, one boot: the same, through the `modprobe` applet. Debian's amd64 kernel has
//!   no device tree, so there is no `/vendor` (see `vendor.rs`): the module set sits in
//!   the initramfs under `/lib/modules/vendor-test/` and an rc `exec` runs
//!   `/system/bin/modprobe -a -j 2 -d DIR --all=DIR/modules.load`, as a vendor rc would.
//!   Its output, exit status and `/proc/modules` go to the results disk (which is also
//!   the virtio disk the first-stage modules must make appear).
//! * aarch64: a first-stage module missing from the initramfs (but in its
//!   `modules.load`) is `MODULE_LOAD` (a clean power-off, no kernel panic) on a normal
//!   boot, and on a debuggable boot that requests a vendor partition; a debuggable boot
//!   without one logs it and goes on.
//! * aarch64: a dependency cycle in the vendor `modules.dep` is reported by the vendor
//!   pass, naming the cycle, and the boot goes on to a clean power-off.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use initramfs::{Archive, Entry};
use qemu_tests::console::{BootLog, VENDOR_BOOT_PHASES};
use qemu_tests::explain::{assert_module_lines, assert_predicted};
use qemu_tests::modules::{add_vendor_modules, vendor_modules, VENDOR_MODULES_DIR};
use qemu_tests::scenario::{Guest, VendorOptions, VendorTree};
use qemu_tests::{debian, demo, kernel, Arch};

const A64: Arch = Arch::Aarch64;

/// Missing from the module directory (but listed in `modules.load` and `modules.dep`).
const MISSING: &str = "garp";
/// Depends on [`MISSING`]: skipped.
const DEPENDENT: &str = "8021q";
/// Replaced by the other architecture's build of the same module.
const FOREIGN: &str = "nlmon";
/// Given an invalid value for a real integer parameter.
const BAD_OPTION: &str = "dummy";
/// The `modules.options` of the failure cases: an invalid value (EINVAL) and an unknown
/// parameter name on a module of the set (a kernel warning, the module loads).
const OPTIONS: &str = "options dummy numdummies=notanumber\noptions veth no_such_param=1\n";

fn other(arch: Arch) -> Arch {
    match arch {
        Arch::Aarch64 => Arch::X86_64,
        Arch::X86_64 => Arch::Aarch64,
    }
}

/// Everything after the first NUL of a results disk is unwritten.
fn results_text(disk: &Path) -> String {
    let bytes = fs::read(disk).expect("read results disk");
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// Module names (first column) of `/proc/modules` text.
fn proc_modules(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// The lines of `modules.load` in an archive (first-stage modules), as canonical names.
fn first_stage_modules(a: &Archive) -> Vec<String> {
    match a.get("lib/modules/modules.load") {
        Some(Entry::File { data, .. }) => String::from_utf8_lossy(data)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.trim().trim_end_matches(".ko").replace('-', "_"))
            .collect(),
        _ => panic!("the base initramfs has no /lib/modules/modules.load"),
    }
}

/// A module set in `tree`'s [`VENDOR_MODULES_DIR`]: the demo's modules plus the failure
/// cases, then the failures made real (file removed, file swapped for the other
/// architecture's, options written). Returns (every module of `modules.load`, the ones
/// that must load).
fn failing_set(tree: &mut VendorTree, arch: Arch) -> (Vec<String>, Vec<String>) {
    let k = kernel::obtain(arch).expect("kernel");
    let mut names: Vec<&str> = demo::VENDOR_MODULES.to_vec();
    names.extend([DEPENDENT, FOREIGN, BAD_OPTION]);
    let set = add_vendor_modules(tree, &k, &names, &[]).expect("vendor modules");
    let dir = tree.path().join(VENDOR_MODULES_DIR);
    fs::remove_file(dir.join(format!("{MISSING}.ko"))).expect("remove the missing module");
    let foreign = kernel::obtain(other(arch)).expect("other kernel");
    let src = modprobe::ModuleDb::load(&foreign.modules_dir())
        .expect("other module tree")
        .module(FOREIGN)
        .expect("the other kernel has the module")
        .path
        .clone();
    tree.copy(&format!("{VENDOR_MODULES_DIR}/{FOREIGN}.ko"), 0o644, &src)
        .expect("foreign module");
    tree.file(
        &format!("{VENDOR_MODULES_DIR}/modules.options"),
        0o644,
        OPTIONS.as_bytes(),
    )
    .expect("options");
    let failing = [MISSING, DEPENDENT, FOREIGN, BAD_OPTION];
    let good: Vec<String> = set
        .loaded
        .iter()
        .filter(|m| !failing.contains(&m.as_str()))
        .cloned()
        .collect();
    for m in failing {
        assert!(set.loaded.iter().any(|l| l == m), "{m} not in the set");
    }
    // Every demo module loads: the failures are additions, not parts of the set.
    for m in demo::VENDOR_MODULES {
        assert!(good.iter().any(|g| g == m), "{m} would not load");
    }
    (set.loaded, good)
}

/// The failure messages each case must produce, as `(module, path suffix, message
/// start)`; `dir` is where the module files are in the guest.
fn expected_failures(dir: &str) -> Vec<(String, String)> {
    vec![
        (
            MISSING.to_owned(),
            format!(
                "{MISSING} ({dir}/{MISSING}.ko): open: ENOENT (No such file or directory: the module file is missing)"
            ),
        ),
        (
            FOREIGN.to_owned(),
            format!(
                "{FOREIGN} ({dir}/{FOREIGN}.ko): finit_module: ENOEXEC (Exec format error: not a module for this kernel"
            ),
        ),
        (
            BAD_OPTION.to_owned(),
            format!(
                "{BAD_OPTION} ({dir}/{BAD_OPTION}.ko): finit_module: EINVAL (Invalid argument: invalid parameters"
            ),
        ),
    ]
}

/// The kernel's own words for the foreign module (`e_machine` of the other
/// architecture: 62 is x86-64, 183 AArch64) and the two parameter cases.
fn assert_kernel_messages(log: &BootLog, arch: Arch) {
    let machine = match other(arch) {
        Arch::X86_64 => 62,
        Arch::Aarch64 => 183,
    };
    log.assert_contains(&format!("Invalid architecture in ELF header: {machine}"));
    log.assert_contains("dummy: `notanumber' invalid for parameter `numdummies'");
    log.assert_contains("veth: unknown parameter 'no_such_param' ignored");
}

/// Checks `/proc/modules` against what must (and must not) be loaded.
fn assert_loaded_exactly(log: &BootLog, loaded: &BTreeSet<String>, want: &BTreeSet<String>) {
    let missing: Vec<&String> = want.difference(loaded).collect();
    let extra: Vec<&String> = loaded.difference(want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{}",
        log.report(&format!(
            "/proc/modules: missing {missing:?}, unexpected {extra:?}"
        ))
    );
}

/// aarch64: first-stage modules, the vendor partition on the virtio disk, and the vendor
/// pass with the full set plus every failure case, in one boot.
#[test]
fn aarch64_vendor_pass_loads_the_set_and_reports_each_failure() {
    let mut g = Guest::new(A64).expect("guest");
    let first = first_stage_modules(&g.initramfs);
    let mut tree = VendorTree::new().expect("tree");
    tree.busybox(A64).expect("busybox");
    let (all, good) = failing_set(&mut tree, A64);
    tree.file(
        "etc/init/modprobe-test.rc",
        0o644,
        b"on init\n    exec -- /vendor/bin/busybox sh -c \"/vendor/bin/busybox cat /proc/modules > /dev/vdb; /vendor/bin/busybox sync\"\n",
    )
    .expect("rc");
    g.vendor(&tree, &VendorOptions::default()).expect("vendor");
    let results = g.results_disk(1 << 20).expect("results disk");
    g.shutdown_when_booted().expect("rc");
    let log = g.boot().expect("boot");
    log.assert_clean_poweroff();
    log.assert_phases(VENDOR_BOOT_PHASES);
    // The first-stage modules all loaded and found the disk.
    log.assert_contains(&format!(
        "modules pass=first_stage loaded={} already=0 failed=0 skipped=0 builtin=0 ms=",
        first.len()
    ));
    log.assert_contains("/dev/block/by-name/microdroid-vendor is /dev/block/vda1");
    log.assert_contains("mounted read-only on /vendor");

    let summary = format!(
        "modules pass=vendor loaded={} already=0 failed=3 skipped=1 builtin=0 ms=",
        good.len()
    );
    log.assert_contains(&summary);
    let dir = "/vendor/lib/modules";
    for (module, message) in expected_failures(dir) {
        let line = log
            .grep(&format!("modules pass=vendor failed: {module} ("))
            .next()
            .unwrap_or_else(|| panic!("{}", log.report(&format!("no failure line for {module}"))))
            .to_owned();
        assert!(
            line.contains(&message),
            "{}",
            log.report(&format!("{line:?} lacks {message:?}"))
        );
    }
    log.assert_contains(&format!(
        "modules pass=vendor skipped: {DEPENDENT}: dependency {MISSING} did not load"
    ));
    assert_kernel_messages(&log, A64);

    let loaded = proc_modules(&results_text(&results));
    let want: BTreeSet<String> = first.iter().chain(&good).cloned().collect();
    assert_loaded_exactly(&log, &loaded, &want);
    // explain predicts both passes line for line, from the module files alone.
    let x = assert_predicted(&g, Some(&g.work.path().join("vendor.img")), &log);
    let n = assert_module_lines(&x, &log);
    let m = x.modules.as_ref().expect("vendor pass");
    assert_eq!(m.problems.len(), 4, "{:?}", m.problems);
    assert_eq!(m.missing_files, [MISSING]);
    let mut predicted_loaded = m.loaded.clone();
    predicted_loaded.sort();
    let mut good_sorted = good.clone();
    good_sorted.sort();
    assert_eq!(predicted_loaded, good_sorted);
    eprintln!("explain predicted {n} module lines of this boot");
    eprintln!(
        "aarch64: {} first-stage + {} vendor modules loaded ({} in modules.load), boot {:?}\n{}\n{}",
        first.len(),
        good.len(),
        all.len(),
        log.elapsed,
        log.grep("modules pass=vendor loaded=").next().unwrap_or(""),
        log.timeline_table()
    );
}

/// The x86_64 probe: runs the applet over the initramfs module set and leaves its exit
/// status, its output and `/proc/modules` on the results disk (`/dev/vda`).
const X86_PROBE: &str = r#"B=/bin/busybox
D=/lib/modules/vendor-test
out=$(/system/bin/modprobe -a -j 2 -d $D --all=$D/modules.load 2>&1)
status=$?
{
  echo "STATUS $status"
  echo "$out"
  echo "PROC_MODULES"
  $B cat /proc/modules
} > /dev/vda
$B sync
echo "MODPROBE_APPLET_STATUS $status"
"#;

/// x86_64 (no device tree, so no /vendor): first-stage modules make the virtio disk
/// appear; the `modprobe` applet loads the set from the initramfs and reports each
/// failure.
#[test]
fn x86_64_modprobe_applet_loads_the_set_and_reports_each_failure() {
    let arch = Arch::X86_64;
    let mut g = Guest::new(arch).expect("guest");
    let first = first_stage_modules(&g.initramfs);
    let mut tree = VendorTree::new().expect("tree");
    let (_, good) = failing_set(&mut tree, arch);
    let dir = "/lib/modules/vendor-test";
    g.initramfs
        .add_host_tree(dir, &tree.path().join(VENDOR_MODULES_DIR))
        .expect("module set");
    g.initramfs
        .add_host_file("/bin/busybox", &debian::busybox(arch).expect("busybox"))
        .expect("busybox");
    g.initramfs
        .add_file("/modprobe-probe.sh", 0o755, X86_PROBE.as_bytes().to_vec())
        .expect("probe");
    g.initramfs
        .add_file(
            "/system/etc/init/modprobe-test.rc",
            0o644,
            b"on init\n    exec -- /bin/busybox sh -c \"exec >/dev/console 2>&1; exec /bin/busybox sh /modprobe-probe.sh\"\n".to_vec(),
        )
        .expect("rc");
    let results = g.results_disk(1 << 20).expect("results disk");
    g.shutdown_when_booted().expect("rc");
    let log = g.boot().expect("boot");
    log.assert_clean_poweroff();
    log.assert_contains(&format!(
        "modules pass=first_stage loaded={} already=0 failed=0 skipped=0 builtin=0 ms=",
        first.len()
    ));
    assert!(
        log.has_line("MODPROBE_APPLET_STATUS 1"),
        "{}",
        log.report("the applet did not exit 1 after failures")
    );

    // The guest wrote the results to the virtio disk: it appeared and works.
    let text = results_text(&results);
    let (head, modules) = text
        .split_once("PROC_MODULES\n")
        .unwrap_or_else(|| panic!("{}", log.report(&format!("results disk: {text:?}"))));
    let mut lines = head.lines();
    assert_eq!(lines.next(), Some("STATUS 1"), "{text}");
    let out: Vec<&str> = lines.collect();
    for (module, message) in expected_failures(dir) {
        let line = out
            .iter()
            .find(|l| l.starts_with(&format!("modprobe: failed to load {module} (")))
            .unwrap_or_else(|| panic!("no failure line for {module}: {out:#?}"));
        assert!(line.contains(&message), "{line:?} lacks {message:?}");
    }
    let skipped = format!("modprobe: skipped {DEPENDENT}: dependency {MISSING} did not load");
    assert!(out.contains(&skipped.as_str()), "{out:#?}");
    assert_eq!(out.len(), 4, "one line per failure and skip: {out:#?}");
    assert_kernel_messages(&log, arch);

    let loaded = proc_modules(modules);
    let want: BTreeSet<String> = first.iter().chain(&good).cloned().collect();
    assert_loaded_exactly(&log, &loaded, &want);
    eprintln!(
        "x86_64: {} first-stage + {} applet modules loaded, boot {:?}",
        first.len(),
        good.len(),
        log.elapsed
    );
}

/// The base initramfs without `dm-verity.ko` (still listed in `modules.load` and
/// `modules.dep`); returns the number of first-stage modules listed.
fn without_dm_verity(g: &mut Guest) -> usize {
    let first = first_stage_modules(&g.initramfs);
    assert!(first.iter().any(|m| m == "dm_verity"), "{first:?}");
    let mut a = Archive::new();
    for (path, e) in g.initramfs.entries() {
        if path != "lib/modules/dm-verity.ko" {
            a.insert_entry(path, e.clone()).expect("entry");
        }
    }
    assert!(a.get("lib/modules/dm-verity.ko").is_none());
    g.initramfs = a;
    first.len()
}

/// The pass's lines for the missing module.
fn assert_dm_verity_missing(log: &BootLog, listed: usize) {
    log.assert_contains(&format!(
        "modules pass=first_stage loaded={} already=0 failed=1 skipped=0 builtin=0 ms=",
        listed - 1
    ));
    log.assert_contains(
        "modules pass=first_stage failed: dm_verity (/lib/modules/dm-verity.ko): open: ENOENT (No such file or directory: the module file is missing)",
    );
}

/// A first-stage module missing from the initramfs on a debuggable boot that requests a
/// vendor partition: the modules are what reaches it, so the boot stops with
/// `MODULE_LOAD` (the partition may be found and its vbmeta checked meanwhile, but
/// dm-verity is never set up), powering off without a kernel panic.
#[test]
fn missing_first_stage_module_is_module_load_fatal() {
    let mut g = Guest::new(A64).expect("guest");
    let listed = without_dm_verity(&mut g);
    let mut tree = VendorTree::new().expect("tree");
    tree.file("etc/hello", 0o644, b"hi\n").expect("file");
    g.vendor(&tree, &VendorOptions::default()).expect("vendor");
    g.append.push("androidboot.microdroid.debuggable=1".into());
    let log = g.boot().expect("boot");
    let line = log.assert_fatal("MODULE_LOAD");
    assert!(
        line.contains("first-stage modules failed: dm_verity"),
        "{line}"
    );
    assert_dm_verity_missing(&log, listed);
    log.assert_lacks("dm-verity table");
    log.assert_lacks("first_stage: phase=verity");
    let x = assert_predicted(&g, Some(&g.work.path().join("vendor.img")), &log);
    assert_module_lines(&x, &log);
    eprintln!("missing first-stage module: {line}, boot {:?}", log.elapsed);
}

/// A normal (non-debuggable) boot without a vendor partition: a first-stage module that
/// fails to load is fatal all the same (AOSP: only debuggable boots may go on).
#[test]
fn missing_first_stage_module_on_a_normal_boot_is_fatal() {
    let mut g = Guest::new(A64).expect("guest");
    let listed = without_dm_verity(&mut g);
    let log = g.boot().expect("boot");
    let line = log.assert_fatal("MODULE_LOAD");
    assert!(
        line.contains("first-stage modules failed: dm_verity"),
        "{line}"
    );
    log.assert_contains("boot: strict_boot=false debuggable=false mount_vendor=false vendor=none");
    assert_dm_verity_missing(&log, listed);
    log.assert_lacks("first_stage: phase=selinux");
    let x = assert_predicted(&g, None, &log);
    assert_module_lines(&x, &log);
    eprintln!("normal boot: {line}, boot {:?}", log.elapsed);
}

/// The same on a debuggable boot (`androidboot.microdroid.debuggable=1` on the command
/// line, which counts without strict boot): the failure is logged and the boot goes on.
#[test]
fn missing_first_stage_module_on_a_debuggable_boot_goes_on() {
    let mut g = Guest::new(A64).expect("guest");
    let listed = without_dm_verity(&mut g);
    g.append.push("androidboot.microdroid.debuggable=1".into());
    g.shutdown_when_booted().expect("rc");
    let log = g.boot().expect("boot");
    log.assert_contains(
        "boot: strict_boot=false debuggable=true (from the command line) mount_vendor=false vendor=none",
    );
    assert_dm_verity_missing(&log, listed);
    log.assert_contains(
        "modules pass=first_stage: going on (debuggable boot, no vendor partition)",
    );
    log.assert_phases(&["modules", "selinux", "second_stage"]);
    log.assert_clean_poweroff();
    let x = assert_predicted(&g, None, &log);
    assert_module_lines(&x, &log);
    assert!(
        x.phases
            .iter()
            .any(|p| p.lines.iter().any(|l| l == first_stage_init_going_on())),
        "{}",
        vendor_image::explain::to_text(&x)
    );
}

/// The first stage's line for a debuggable boot going on after a module failure.
fn first_stage_init_going_on() -> &'static str {
    "modules pass=first_stage: going on (debuggable boot, no vendor partition)"
}

/// A hard-dependency cycle in the vendor `modules.dep` (stp and llc made to need each
/// other): the names that lead into it are not loaded and are reported with the cycle,
/// everything else (loop) still loads, and the boot goes on.
#[test]
fn vendor_dependency_cycle_is_reported_and_the_boot_goes_on() {
    let mut g = Guest::new(A64).expect("guest");
    let mut tree = VendorTree::new().expect("tree");
    let loaded = vendor_modules(&mut tree, &g.kernel, &["bridge", "loop"]).expect("modules");
    assert_eq!(loaded, ["llc", "stp", "bridge", "loop"]);
    let dep = tree.path().join(VENDOR_MODULES_DIR).join("modules.dep");
    let text = fs::read_to_string(&dep).expect("modules.dep");
    let cyclic: String = text
        .lines()
        .map(|l| {
            if l.starts_with("llc.ko:") {
                "llc.ko: stp.ko".to_owned()
            } else {
                l.to_owned()
            }
        })
        .map(|l| l + "\n")
        .collect();
    assert_ne!(text, cyclic, "{text}");
    fs::write(&dep, cyclic).expect("write modules.dep");
    g.vendor(&tree, &VendorOptions::default()).expect("vendor");
    g.shutdown_when_booted().expect("rc");
    let log = g.boot().expect("boot");
    log.assert_clean_poweroff();
    let line = log
        .grep("modules pass=vendor failed: bridge: not loaded: dependency cycle: ")
        .next()
        .unwrap_or_else(|| panic!("{}", log.report("no cycle line")))
        .to_owned();
    log.assert_contains("modules pass=vendor loaded=1 already=0 failed=3 ");
    assert!(
        line.contains("stp -> llc -> stp") || line.contains("llc -> stp -> llc"),
        "{line}"
    );
    log.assert_contains("first_stage: phase=vendor_modules");
    log.assert_contains("first_stage: phase=second_stage");
    let x = assert_predicted(&g, Some(&g.work.path().join("vendor.img")), &log);
    assert_module_lines(&x, &log);
    let m = x.modules.as_ref().expect("vendor pass");
    assert!(
        m.problems
            .contains(&line.trim_start_matches("first_stage: ").to_owned()),
        "{:?}",
        m.problems
    );
    eprintln!("cycle: {line}, boot {:?}", log.elapsed);
}
