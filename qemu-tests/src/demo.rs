//! The full Microdroid-style boot, as `cargo xtask demo` shows it and `tests/e2e.rs`
//! checks it: a strict (protected-VM) boot with Linux's own open-dice driver as a
//! first-stage module over a reserved-memory region holding AOSP's sample handover; a
//! vendor image with real Debian modules (dependency chains), a vendor rc that runs at
//! `early-init`, a vendor service, a vendor `ueventd.rc` and the shipped
//! `vendor_file_contexts`, on a GPT disk; the DTB with its digest; SELinux enforcing with
//! the shipped policy (plus the module of the probes' `test_probe` domain) and not one
//! denial; the guest's `dice_chain.raw` brought back on a results disk and verified on
//! the host, and the DICE region read back from guest memory (all zeros).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use vendor_image::VendorImageInfo;

use crate::console::{BootLog, VENDOR_BOOT_PHASES};
use crate::error::{io, run, HarnessError};
use crate::modules::vendor_modules;
use crate::opendice::{self, DiceRegion};
use crate::scenario::{Guest, VendorOptions, VendorTree};
use crate::{selinux, Arch};

/// The vendor modules: real drivers with real dependency chains (24 modules with their
/// dependencies on Debian's 6.1 arm64 kernel).
pub const VENDOR_MODULES: &[&str] = &[
    "zram", "btrfs", "bridge", "vxlan", "overlay", "fuse", "loop", "tun", "veth", "nbd",
    "squashfs", "erofs",
];

/// The demo vendor's rc: report at `early-init`, check `/dev/block/zram0`'s mode from the
/// vendor ueventd.rc (system is AID 1000), run the payload manager's next DICE step
/// (`dice_next`: the "Microdroid payload" node with [`PAYLOAD_CODE_HASH`] and
/// [`PAYLOAD_AUTHORITY_HASH`], `/microdroid_resources` removed and unmounted), leave the
/// 5-certificate chain on the results disk (`/dev/vdb`), run a vendor service that
/// reports its own SELinux domain, then report the mode and the domains of PID 1 and
/// ueventd, and shut down. The busybox probes run in the tests' `test_probe` domain;
/// `/vendor/bin/sh` (a copy of busybox labelled `vendor_service_exec`) is a vendor
/// service, in `vendor_service`.
pub const VENDOR_RC: &str = r#"# The demo vendor's rc file (parsed after the system's, before early-init runs).
on early-init
    exec -- /vendor/bin/busybox sh -c "exec >/dev/console 2>&1; echo DEMO vendor early-init: $$(/vendor/bin/busybox wc -l < /proc/modules) modules loaded"

on init
    exec -- /vendor/bin/busybox sh -c "exec >/dev/console 2>&1; echo DEMO zram0: $$(/vendor/bin/busybox stat -c '%a %u %g' /dev/block/zram0)"
    exec -- /vendor/bin/busybox sh -c "exec >/dev/console 2>&1; exec /system/bin/sepolicy getcon /dev/block/zram0 /vendor/etc/init/demo.rc /microdroid_resources/dice_chain.raw"
    mkdir /dev/demo 0700
    exec -- /vendor/bin/busybox sh -c "exec >/dev/console 2>&1; exec /system/bin/dice_next --output /dev/demo/dice_chain.raw --code-hash c0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0de --authority-hash a11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11c --security-version 1"
    exec -- /vendor/bin/busybox sh -c "exec >/dev/console 2>&1; echo DEMO microdroid_resources after the next step: $$(/vendor/bin/busybox ls -A /microdroid_resources | /vendor/bin/busybox wc -l) entries, $$(/vendor/bin/busybox grep -c ' /microdroid_resources ' /proc/mounts) mounts"
    exec -- /vendor/bin/busybox tar -cf /dev/vdb -C /dev/demo dice_chain.raw

service vendor_demo /vendor/bin/sh -c "echo DEMO domain of the vendor service pid=$$$$: $$(tr -d '\000' < /proc/$$$$/attr/current); /system/bin/setprop vendor.demo.reported 1; exec sleep 1000"
    class main
    stdio_to_kmsg

on property:vendor.demo.reported=1
    exec -- /vendor/bin/busybox sh /vendor/etc/demo_domains.sh
    setprop sys.powerctl shutdown
"#;

/// The probe of the mode and of the platform's domains (run by [`VENDOR_RC`]).
pub const DOMAINS_SH: &str = r#"exec >/dev/console 2>&1
B=/vendor/bin/busybox
if [ "$($B cat /sys/fs/selinux/enforce)" = 1 ]; then
    echo "DEMO SELinux: enforcing"
else
    echo "DEMO SELinux: permissive"
fi
echo "DEMO domain of PID 1: $($B tr -d '\000' < /proc/1/attr/current)"
for p in $($B pidof ueventd); do
    echo "DEMO domain of ueventd pid=$p: $($B tr -d '\000' < /proc/$p/attr/current)"
done
"#;

/// The demo payload's code hash (`--code-hash` in [`VENDOR_RC`]).
pub const PAYLOAD_CODE_HASH: &str = "c0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0dec0de";
/// The demo payload's authority hash (`--authority-hash` in [`VENDOR_RC`]).
pub const PAYLOAD_AUTHORITY_HASH: &str = "a11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11ca11c";

/// The demo vendor's ueventd.rc.
pub const VENDOR_UEVENTD_RC: &str = "/dev/block/zram0 0640 system system\n";

/// A prepared demo guest.
pub struct Demo {
    /// The guest, ready to boot.
    pub guest: Guest,
    /// The vendor image's facts.
    pub vendor: VendorImageInfo,
    /// The modules in the vendor image, in load order.
    pub modules: Vec<String>,
    /// The results disk (a tar archive after boot).
    pub results: PathBuf,
    /// The open-dice region and the handover it starts with (the parent of the vendor
    /// node).
    pub region: DiceRegion,
}

/// Builds the demo guest for `arch` (aarch64: the open-dice region is described by the
/// device tree): a normal strict boot with the open-dice driver, so SELinux is enforcing
/// with the shipped policy (plus the tests' probe domain).
pub fn prepare(arch: Arch) -> Result<Demo, HarnessError> {
    let mut guest = Guest::new(arch)?;
    let handover = dice_vendor::sample_handover()
        .map_err(|e| HarnessError::Missing(format!("sample handover: {e}")))?;
    let region = opendice::install(&mut guest, &handover)?;
    guest.strict_boot();
    let mut tree = VendorTree::new()?;
    tree.busybox(arch)?;
    tree.copy("bin/sh", 0o755, &crate::debian::busybox(arch)?)?;
    let modules = vendor_modules(&mut tree, &guest.kernel, VENDOR_MODULES)?;
    tree.file("etc/init/demo.rc", 0o644, VENDOR_RC.as_bytes())?;
    tree.file("etc/demo_domains.sh", 0o644, DOMAINS_SH.as_bytes())?;
    tree.file("etc/ueventd.rc", 0o644, VENDOR_UEVENTD_RC.as_bytes())?;
    tree.copy(
        "etc/selinux/vendor_file_contexts",
        0o644,
        &selinux::vendor_file_contexts(),
    )?;
    let opts = VendorOptions {
        rollback_index: 3,
        ..Default::default()
    };
    let vendor = guest.vendor(&tree, &opts)?;
    let results = guest.results_disk(1 << 20)?;
    Ok(Demo {
        guest,
        vendor,
        modules,
        results,
        region,
    })
}

/// Boots the demo guest and reads the DICE region back afterwards (see
/// [`opendice::boot_and_read_region`]).
pub fn boot(d: &Demo) -> Result<(BootLog, Vec<u8>), HarnessError> {
    opendice::boot_and_read_region(&d.guest, &d.region)
}

/// The `dice_chain.raw` the guest's next step wrote, from the results disk (a tar archive).
pub fn chain_from_results(results: &Path) -> Result<Vec<u8>, HarnessError> {
    let dir = tempfile::tempdir().map_err(io("tempdir"))?;
    run(Command::new("tar")
        .arg("-xf")
        .arg(results)
        .arg("-C")
        .arg(dir.path()))?;
    let p = dir.path().join("dice_chain.raw");
    fs::read(&p).map_err(io(format!("read {}", p.display())))
}

/// What the host concluded about a demo boot.
pub struct Outcome {
    /// One line per DICE node (`dice_vendor show`).
    pub chain: Vec<String>,
    /// The module summary line of the vendor pass.
    pub vendor_modules: String,
    /// The guest's SELinux report: the mode and the domains of PID 1, ueventd and the
    /// vendor service (`DEMO …` lines).
    pub selinux: Vec<String>,
}

/// The starts of the `DEMO` lines a demo boot must print about SELinux.
pub const SELINUX_LINES: &[&str] = &[
    "DEMO domain of the vendor service pid=",
    "DEMO SELinux: enforcing",
    "DEMO domain of PID 1: u:r:init:s0",
    "DEMO domain of ueventd pid=",
];

/// Checks the SELinux side of a demo boot: enforcing, PID 1 in `init`, ueventd in
/// `ueventd`, the vendor service in `vendor_service`, and not one denial. Returns the
/// guest's `DEMO` lines about it.
pub fn check_selinux(log: &BootLog) -> Result<Vec<String>, HarnessError> {
    let fail = |what: &str| HarnessError::Missing(log.report(what));
    let denials = log.avc_denials();
    if !denials.is_empty() {
        return Err(fail(&format!(
            "{} avc denials in an enforcing demo:\n{}",
            denials.len(),
            denials.join("\n")
        )));
    }
    if !log
        .grep("first_stage: selinux: policy loaded (")
        .any(|l| l.ends_with("; enforcing: the default"))
    {
        return Err(fail("the first stage did not load the policy enforcing"));
    }
    let mut lines = Vec::new();
    for want in SELINUX_LINES {
        let line = log
            .lines()
            .find(|l| l.starts_with(want))
            .ok_or_else(|| fail(&format!("no line {want:?}")))?;
        lines.push(line.to_owned());
    }
    for (line, domain) in [
        (&lines[0], "u:r:vendor_service:s0"),
        (&lines[3], "u:r:ueventd:s0"),
    ] {
        if !line.ends_with(&format!(": {domain}")) {
            return Err(fail(&format!("{line:?} does not end with {domain}")));
        }
    }
    Ok(lines)
}

/// Checks a demo boot: every phase, a strict boot whose parent came from the open-dice
/// driver and whose region (`region_after`, read from guest memory) is all zeros, the
/// module pass, the vendor rc and ueventd.rc took effect, a clean power-off, and a DICE
/// chain that verifies and ends with the vendor node for this image. Returns what to
/// show.
pub fn check(d: &Demo, log: &BootLog, region_after: &[u8]) -> Result<Outcome, HarnessError> {
    let fail = |what: &str| HarnessError::Missing(log.report(what));
    log.assert_phases(VENDOR_BOOT_PHASES);
    log.assert_phases(&["modules", "vbmeta", "dice_driver", "verity"]);
    log.assert_clean_poweroff();
    for needle in [
        "boot: strict_boot=true",
        "open_dice: module verification failed",
        "(parent: Device)",
    ] {
        if !log.console.contains(needle) {
            return Err(fail(&format!("the console lacks {needle:?}")));
        }
    }
    if region_after.len() as u64 != d.region.size || region_after.iter().any(|&b| b != 0) {
        return Err(HarnessError::Missing(format!(
            "the DICE region at {:#x} was not wiped",
            d.region.base
        )));
    }
    let vendor_modules = log
        .grep("modules pass=vendor loaded=")
        .next()
        .map(str::to_owned)
        .ok_or_else(|| fail("no vendor module pass line"))?;
    let want = format!("loaded={} already=0 failed=0", d.modules.len());
    if !vendor_modules.contains(&want) {
        return Err(fail(&format!("vendor pass is not {want}")));
    }
    if !log
        .grep("DEMO vendor early-init:")
        .any(|l| l.starts_with("DEMO"))
    {
        return Err(fail("the vendor rc did not run at early-init"));
    }
    if !log.has_line("DEMO zram0: 640 1000 1000") {
        return Err(fail(
            "/dev/block/zram0 does not have the vendor ueventd.rc mode/owner",
        ));
    }
    let selinux = check_selinux(log)?;
    let bytes = chain_from_results(&d.results)?;
    let summary = dice_vendor::verify_chain_bytes(&bytes)
        .map_err(|e| HarnessError::Missing(format!("the guest's dice_chain.raw: {e}")))?;
    check_next_step(d, log, &bytes, &summary)?;
    // The vendor node is the payload node's parent.
    let leaf = summary
        .nodes
        .iter()
        .rev()
        .nth(1)
        .ok_or_else(|| HarnessError::Missing("DICE chain without a vendor node".into()))?;
    let sha512 = |b: &[u8]| dice_vendor::crypto::sha512(b).to_vec();
    let checks = [
        (
            leaf.component_name.as_deref() == Some("Microdroid vendor"),
            "vendor node component name",
        ),
        (leaf.code_hash == sha512(&d.vendor.root_digest), "code hash"),
        (
            leaf.authority_hash == sha512(&d.vendor.public_key_blob),
            "authority hash",
        ),
        (
            leaf.security_version == Some(d.vendor.rollback_index),
            "security version",
        ),
        (summary.has_cdis, "CDIs present"),
    ];
    for (ok, what) in checks {
        if !ok {
            return Err(HarnessError::Missing(format!(
                "DICE chain from the guest: {what} is wrong"
            )));
        }
    }
    Ok(Outcome {
        chain: summary
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| n.show_line(i + 1))
            .collect(),
        vendor_modules,
        selinux,
    })
}

/// `vendor_image explain` on the demo's inputs (its DTB, command line, initramfs modules,
/// kernel) predicts this boot: no fatal line, the node `expect` computed (which equals the
/// guest's), and the module passes' lines as the guest logged them.
pub fn check_explain(
    d: &Demo,
    log: &BootLog,
    expected: &dice_vendor::ExpectedNode,
) -> Result<(), HarnessError> {
    let image = d.guest.work.path().join("vendor.img");
    let x = crate::explain::predict(&d.guest, Some(&image))?;
    let text = || vendor_image::explain::to_text(&x);
    if x.fatal.is_some() || !x.boots() || x.node.as_ref() != Some(expected) {
        return Err(HarnessError::Missing(format!(
            "explain on the demo's inputs does not predict its boot and node:\n{}",
            text()
        )));
    }
    let (_, missing) = crate::explain::unlogged_module_lines(&x, log);
    if !missing.is_empty() {
        return Err(HarnessError::Missing(log.report(&format!(
            "explain predicted {missing:#?}; the guest did not log them"
        ))));
    }
    if !x.lint.is_empty() {
        return Err(HarnessError::Missing(format!(
            "explain finds problems in the demo's files:\n{}",
            text()
        )));
    }
    Ok(())
}

/// The consumer side of the demo boot: the guest's `dice_next` ran from the vendor rc
/// (its line, `/microdroid_resources` empty and unmounted afterwards), its chain ends with
/// the "Microdroid payload" node of the rc's inputs above the vendor node, `dice_vendor
/// expect` on the demo's image equals that vendor node, a policy built from it accepts
/// the chain, and policies with a higher minimum security version or another authority
/// hash refuse it, naming the node and the constraint.
pub fn check_next_step(
    d: &Demo,
    log: &BootLog,
    chain: &[u8],
    summary: &dice_vendor::ChainSummary,
) -> Result<(), HarnessError> {
    let fail = |what: String| HarnessError::Missing(log.report(&what));
    let ran = "dice_next: \"Microdroid payload\" node written to /dev/demo/dice_chain.raw";
    if !log.grep(ran).any(|l| {
        l.contains(&format!("({} certificates); removed /microdroid_resources/dice_chain.raw; unmounted /microdroid_resources", summary.nodes.len()))
    }) {
        return Err(fail(format!("no `{ran} …` line")));
    }
    if !log.has_line("DEMO microdroid_resources after the next step: 0 entries, 0 mounts") {
        return Err(fail(
            "/microdroid_resources still has files or is still mounted".into(),
        ));
    }
    let [.., vendor, payload] = summary.nodes.as_slice() else {
        return Err(fail("the chain has fewer than two certificates".into()));
    };
    let hex = avb::to_hex;
    let payload_ok = payload.component_name.as_deref() == Some("Microdroid payload")
        && hex(&payload.code_hash) == PAYLOAD_CODE_HASH
        && hex(&payload.authority_hash) == PAYLOAD_AUTHORITY_HASH
        && payload.security_version == Some(1)
        && payload.mode == dice_vendor::Mode::Normal;
    if !payload_ok {
        return Err(fail(format!(
            "payload node is not the rc's: {}",
            payload.show_line(summary.nodes.len())
        )));
    }
    let image = d.guest.work.path().join("vendor.img");
    let expected = dice_vendor::expected_vendor_node(&image)
        .map_err(|e| HarnessError::Missing(format!("dice_vendor expect: {e}")))?;
    let same = vendor.component_name.as_deref() == Some(expected.component_name.as_str())
        && vendor.code_hash == expected.code_hash
        && vendor.authority_hash == expected.authority_hash
        && vendor.security_version == Some(expected.security_version)
        && vendor.config_descriptor == expected.config_descriptor
        && vendor.mode == expected.mode;
    if !same {
        return Err(HarnessError::Missing(format!(
            "expect {} differs from the guest's vendor node {}",
            expected.to_json(),
            vendor.show_line(summary.nodes.len() - 1)
        )));
    }
    check_explain(d, log, &expected)?;
    let policy = expected.to_policy().to_text();
    let parse = |text: &str| {
        dice_vendor::Policy::parse(text.as_bytes())
            .map_err(|e| HarnessError::Missing(format!("policy: {e}")))
    };
    dice_vendor::verify_with_policy(chain, &parse(&policy)?).map_err(|e| {
        HarnessError::Missing(format!(
            "the policy from expect refuses the guest's chain: {e}"
        ))
    })?;
    let sv = expected.security_version;
    let vendor_index = summary.nodes.len() - 1;
    let other = hex(&[0xee; 64]);
    let stricter = [
        (
            policy.replace(
                &format!("greater-or-equal {sv}"),
                &format!("greater-or-equal {}", sv + 1),
            ),
            format!(
                "node {vendor_index} (\"Microdroid vendor\"): security_version greater-or-equal {} not met: found {sv}",
                sv + 1
            ),
        ),
        (
            policy.replace(&hex(&expected.authority_hash), &other),
            format!(
                "node {vendor_index} (\"Microdroid vendor\"): authority_hash exact {other} not met"
            ),
        ),
    ];
    for (text, reason) in stricter {
        match dice_vendor::verify_with_policy(chain, &parse(&text)?) {
            Err(dice_vendor::PolicyError::Mismatch(m)) if m.to_string().contains(&reason) => {}
            other => {
                return Err(HarnessError::Missing(format!(
                    "a stricter policy gave {other:?}, expected a refusal with {reason:?}"
                )))
            }
        }
    }
    Ok(())
}
