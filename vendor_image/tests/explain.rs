//! `vendor_image explain` on images built here: each case of the robustness matrix that a
//! file can express gives the guest's fatal line (the QEMU tests compare it with the line
//! the guest printed), the module pass is predicted from module files, and the CLI's
//! text, JSON and exit status.

use std::path::{Path, PathBuf};
use std::process::Command;

use modprobe::modinfo::build_module;
use vendor_image::explain::{self, DigestSource, Inputs, KernelTarget};
use vendor_image::{build_vendor_image, VendorImageOptions};

const FLAG: &str = "androidboot.microdroid.mount_vendor=1";
const ARM64: u16 = 183;
const RELEASE: &str = "6.1.0-99-cloud-arm64";

fn vermagic(release: &str) -> String {
    format!("vermagic={release} SMP preempt mod_unload modversions aarch64")
}

struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new() -> Case {
        Case {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, data: &[u8]) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }

    fn key(&self) -> PathBuf {
        let k = self.path("key.pem");
        if !k.exists() {
            std::fs::write(
                &k,
                avb::SigningKey::generate(2048).unwrap().to_pem().unwrap(),
            )
            .unwrap();
        }
        k
    }

    /// Builds `src/` into `vendor.img`; returns its root digest.
    fn build(&self, tweak: impl FnOnce(&mut VendorImageOptions)) -> String {
        std::fs::create_dir_all(self.path("src/etc")).unwrap();
        let mut o = VendorImageOptions::new(self.key());
        o.salt = Some(b"salt".to_vec());
        o.rollback_index = 3;
        tweak(&mut o);
        build_vendor_image(&self.path("src"), &self.path("vendor.img"), &o)
            .unwrap()
            .root_digest_hex
    }

    fn inputs(&self, digest: DigestSource, cmdline: &str) -> Inputs {
        Inputs {
            image: self.path("vendor.img"),
            digest,
            cmdline: cmdline.to_owned(),
            bootconfig: String::new(),
            strict: false,
            kernel: None,
            first_stage_modules: None,
        }
    }
}

fn value(s: &str) -> DigestSource {
    DigestSource::Value(s.as_bytes().to_vec())
}

fn fatal(i: &Inputs) -> String {
    explain::explain(i)
        .unwrap()
        .fatal_line()
        .unwrap_or_else(|| "(ok)".into())
}

#[test]
fn a_good_image_boots_with_the_node_expect_computes() {
    let c = Case::new();
    c.write(
        "src/etc/init/vendor.rc",
        b"on init\n    write /dev/null x\n",
    );
    let digest = c.build(|_| {});
    let x = explain::explain(&c.inputs(value(&digest), FLAG)).unwrap();
    assert_eq!(x.outcome(), "ok");
    assert!(x.boots());
    let expected = dice_vendor::expected_vendor_node(&c.path("vendor.img")).unwrap();
    assert_eq!(x.node.as_ref(), Some(&expected));
    assert_eq!(x.node.as_ref().unwrap().security_version, 3);
    let table = x.verity_table.as_deref().unwrap();
    assert!(table.starts_with("dm-verity table: 0 "), "{table}");
    assert!(
        table.contains(" verity 1 <major>:<minor> <major>:<minor> 4096 4096 "),
        "{table}"
    );
    assert!(table.ends_with(&format!(
        "sha256 {digest} 73616c74 2 restart_on_corruption ignore_zero_blocks"
    )));
    assert!(x.lint.is_empty(), "{:?}", x.lint);
    let names: Vec<&str> = x.phases.iter().map(|p| p.name).collect();
    assert_eq!(
        names,
        [
            "inputs",
            "partition",
            "modules",
            "vbmeta",
            "verity",
            "vendor_mount",
            "dice",
            "vendor_modules",
            "selinux"
        ]
    );
    assert_eq!(
        x.phases[0].lines,
        ["boot: strict_boot=false debuggable=false mount_vendor=true vendor=requested"]
    );
    assert_eq!(
        x.phases[3].lines,
        ["vendor: vbmeta SHA256_RSA2048 signed, rollback_index=3, root digest matches the device tree"]
    );
}

#[test]
fn every_digest_case_gives_the_guests_line() {
    let c = Case::new();
    let digest = c.build(|_| {});
    let zeros = "0".repeat(64);
    for (d, line) in [
        (
            zeros.clone(),
            format!("FIRST_STAGE_FATAL reason=VENDOR_DIGEST_MISMATCH expected={zeros} actual={digest}"),
        ),
        (
            "AB".repeat(32),
            "FIRST_STAGE_FATAL reason=VENDOR_DIGEST_MALFORMED digest property byte 0x41 at offset 0 is not lowercase hex".into(),
        ),
        (
            "ab".repeat(31),
            "FIRST_STAGE_FATAL reason=VENDOR_DIGEST_MALFORMED digest property has 62 characters, expected 64 or 128".into(),
        ),
        (
            format!("{}zz", "ab".repeat(31)),
            "FIRST_STAGE_FATAL reason=VENDOR_DIGEST_MALFORMED digest property byte 0x7a at offset 62 is not lowercase hex".into(),
        ),
    ] {
        assert_eq!(fatal(&c.inputs(value(&d), FLAG)), line);
    }
    let mut strict = c.inputs(DigestSource::Absent, FLAG);
    strict.strict = true;
    assert_eq!(
        fatal(&strict),
        "FIRST_STAGE_FATAL reason=VENDOR_DIGEST_MISSING androidboot.microdroid.mount_vendor=1 \
         but the device tree has no /avf/vendor_hashtree_descriptor_root_digest (strict_boot=true)"
    );
    // The digest without the flag: no /vendor, the guest's line, and ok.
    let x = explain::explain(&c.inputs(value(&zeros), "console=ttyAMA0")).unwrap();
    assert_eq!(x.outcome(), "ok");
    assert_eq!(
        x.phases[1].lines,
        ["vendor: booting without /vendor: the device tree has \
          /proc/device-tree/avf/vendor_hashtree_descriptor_root_digest but the command line \
          has no androidboot.microdroid.mount_vendor=1: digest ignored"]
    );
    assert_eq!(
        x.phases[0].lines,
        ["boot: strict_boot=false debuggable=false mount_vendor=false vendor=none"]
    );
}

#[test]
fn every_vbmeta_case_gives_the_guests_line() {
    let c = Case::new();
    // Unsigned.
    std::fs::create_dir_all(c.path("src")).unwrap();
    vendor_image::build_ext4(&c.path("src"), &c.path("vendor.img"), None).unwrap();
    let info = avb::add_hashtree_footer(
        &c.path("vendor.img"),
        &avb::HashtreeFooterOptions {
            partition_name: "microdroid-vendor".into(),
            salt: Some(b"salt".to_vec()),
            algorithm: avb::Algorithm::None,
            key: None,
            ..Default::default()
        },
    )
    .unwrap();
    let digest = avb::to_hex(&info.descriptor.root_digest);
    assert_eq!(
        fatal(&c.inputs(value(&digest), FLAG)),
        "FIRST_STAGE_FATAL reason=VBMETA_UNSIGNED vbmeta is unsigned (algorithm_type 0 = NONE)"
    );
    // A flipped signature byte (SHA256_RSA2048: hash 32 bytes, then the signature).
    let digest = c.build(|_| {});
    let v = vendor_image::read_vendor_image(&c.path("vendor.img"), "microdroid-vendor").unwrap();
    let img = c.path("vendor.img");
    let mut bytes = std::fs::read(&img).unwrap();
    bytes[(v.vbmeta_offset + 256 + 32 + 100) as usize] ^= 0xff;
    std::fs::write(&img, &bytes).unwrap();
    assert_eq!(
        fatal(&c.inputs(value(&digest), FLAG)),
        "FIRST_STAGE_FATAL reason=VBMETA_INVALID vbmeta signature does not verify with the embedded public key"
    );
    // The footer cut off.
    let digest = c.build(|_| {});
    let f = std::fs::OpenOptions::new().write(true).open(&img).unwrap();
    f.set_len(std::fs::metadata(&img).unwrap().len() - 512)
        .unwrap();
    assert_eq!(
        fatal(&c.inputs(value(&digest), FLAG)),
        "FIRST_STAGE_FATAL reason=VBMETA_INVALID footer magic is [00, 00, 00, 00], expected \"AVBf\""
    );
}

#[test]
fn check_at_most_once_is_refused_only_under_strict_boot() {
    let c = Case::new();
    let digest = c.build(|o| o.check_at_most_once = true);
    let mut i = c.inputs(value(&digest), FLAG);
    let x = explain::explain(&i).unwrap();
    assert_eq!(x.outcome(), "ok");
    assert!(x
        .verity_table
        .unwrap()
        .ends_with(" 3 restart_on_corruption ignore_zero_blocks check_at_most_once"));
    i.strict = true;
    let line = fatal(&i);
    assert!(
        line.starts_with("FIRST_STAGE_FATAL reason=VBMETA_INVALID hashtree descriptor for \"microdroid-vendor\" asks for check_at_most_once, refused under strict boot"),
        "{line}"
    );
    // The image's facts are reported all the same.
    let x = explain::explain(&i).unwrap();
    assert_eq!(
        x.avb.as_ref().unwrap().flags,
        avb::HASHTREE_FLAG_CHECK_AT_MOST_ONCE
    );
    assert!(x.node.is_some());
}

#[test]
fn a_corrupted_data_block_is_named() {
    let c = Case::new();
    let mut big = b"hello".to_vec();
    big.resize(64 << 10, b'.');
    c.write("src/etc/big", &big);
    let digest = c.build(|_| {});
    let offset = {
        let out = Command::new("debugfs")
            .args(["-R", "bmap /etc/big 0"])
            .arg(c.path("vendor.img"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<u64>()
            .unwrap()
            * 4096
    };
    let img = c.path("vendor.img");
    let mut bytes = std::fs::read(&img).unwrap();
    bytes[offset as usize + 3] ^= 0xff;
    std::fs::write(&img, &bytes).unwrap();
    let x = explain::explain(&c.inputs(value(&digest), FLAG)).unwrap();
    assert_eq!(x.outcome(), "ok");
    assert!(!x.boots());
    match &x.hashtree {
        Some(explain::HashtreeReport::Corrupt { block, .. }) => {
            assert!(
                block.starts_with(&format!("data block {} is corrupted", offset / 4096)),
                "{block}"
            )
        }
        other => panic!("{other:?}"),
    }
    let text = explain::to_text(&x);
    assert!(
        text.contains("hash tree: DOES NOT VERIFY: data block"),
        "{text}"
    );
}

/// A vendor module set with every failure the guest reports, made of module files.
fn module_set(c: &Case) {
    let m = |name: &str, extra: &[&str], machine: u16, release: &str| {
        let mut info = vec![format!("name={name}"), vermagic(release)];
        info.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = info.iter().map(String::as_str).collect();
        c.write(
            &format!("src/lib/modules/{name}.ko"),
            &build_module(machine, &refs, true),
        );
    };
    m("llc", &[], ARM64, RELEASE);
    m("stp", &["depends=llc"], ARM64, RELEASE);
    m("bridge", &["depends=stp,llc"], ARM64, RELEASE);
    m("dummy", &["parmtype=numdummies:int"], ARM64, RELEASE);
    m("nlmon", &[], 62, RELEASE);
    m("older", &[], ARM64, "6.1.0-98-cloud-arm64");
    m("needy", &["depends=notloaded"], ARM64, RELEASE);
    m("blocked", &[], ARM64, RELEASE);
    // garp is listed but its file is missing; mrp depends on it.
    m("mrp", &["depends=garp"], ARM64, RELEASE);
    c.write(
        "src/lib/modules/modules.dep",
        b"llc.ko:\nstp.ko: llc.ko\nbridge.ko: stp.ko llc.ko\ndummy.ko:\nnlmon.ko:\nolder.ko:\nneedy.ko:\nblocked.ko:\ngarp.ko:\nmrp.ko: garp.ko\n",
    );
    c.write(
        "src/lib/modules/modules.load",
        b"bridge.ko\ndummy.ko\nnlmon.ko\nolder.ko\nneedy.ko\nblocked.ko\nmrp.ko\n",
    );
    c.write(
        "src/lib/modules/modules.options",
        b"options dummy numdummies=notanumber\n",
    );
    c.write("src/lib/modules/modules.blocklist", b"blocklist blocked\n");
    // The target kernel's own tree: one module giving its version magic and machine.
    let k = c.path("kernel");
    std::fs::create_dir_all(k.join("kernel")).unwrap();
    std::fs::write(
        k.join("kernel/loop.ko"),
        build_module(ARM64, &["name=loop", &vermagic(RELEASE)], true),
    )
    .unwrap();
    std::fs::write(k.join("modules.dep"), "kernel/loop.ko:\n").unwrap();
    std::fs::write(k.join("modules.builtin"), "kernel/fs/ext4/ext4.ko\n").unwrap();
}

#[test]
fn the_vendor_module_pass_is_predicted_line_by_line() {
    let c = Case::new();
    module_set(&c);
    let digest = c.build(|_| {});
    let mut i = c.inputs(value(&digest), FLAG);
    i.kernel = Some(KernelTarget {
        release: RELEASE.into(),
        modules_dir: c.path("kernel"),
    });
    let x = explain::explain(&i).unwrap();
    assert_eq!(x.outcome(), "ok", "{}", explain::to_text(&x));
    let m = x.modules.as_ref().unwrap();
    assert_eq!(
        m.plan,
        ["llc", "stp", "bridge", "dummy", "nlmon", "older", "needy", "garp", "mrp"]
    );
    assert_eq!(m.blocklisted, ["blocked"]);
    assert_eq!(m.missing_files, ["garp"]);
    assert_eq!(
        m.missing_deps,
        [("needy".to_owned(), vec!["notloaded".to_owned()])]
    );
    assert_eq!(
        m.release_mismatch,
        [("older".to_owned(), "6.1.0-98-cloud-arm64".to_owned())]
    );
    assert_eq!(
        m.counts.as_deref(),
        Some("modules pass=vendor loaded=4 already=0 failed=4 skipped=2 builtin=0")
    );
    let lines = m.problems.join("\n");
    for want in [
        "modules pass=vendor failed: garp (/vendor/lib/modules/garp.ko): open: ENOENT (No such file or directory: the module file is missing)",
        "modules pass=vendor failed: nlmon (/vendor/lib/modules/nlmon.ko): finit_module: ENOEXEC (Exec format error: not a module for this kernel",
        "modules pass=vendor failed: dummy (/vendor/lib/modules/dummy.ko): finit_module: EINVAL (Invalid argument: invalid parameters",
        "modules pass=vendor failed: needy (/vendor/lib/modules/needy.ko): finit_module: ENOENT",
        "modules pass=vendor skipped: mrp: dependency garp did not load",
        "modules pass=vendor skipped: blocked: blocklisted",
    ] {
        assert!(lines.contains(want), "{want}\nnot in\n{lines}");
    }
    // Another release with symbol CRCs loads (the kernel compares the rest of the magic).
    assert!(!lines.contains("older"), "{lines}");
    let json = explain::to_json(&x);
    assert!(
        json.contains(
            r#""plan":["llc","stp","bridge","dummy","nlmon","older","needy","garp","mrp"]"#
        ),
        "{json}"
    );
}

#[test]
fn the_first_stage_pass_is_predicted_and_a_failure_is_module_load() {
    let c = Case::new();
    let digest = c.build(|_| {});
    let fs = c.path("initramfs/lib/modules");
    std::fs::create_dir_all(&fs).unwrap();
    std::fs::write(
        fs.join("dm-mod.ko"),
        build_module(ARM64, &["name=dm_mod", &vermagic(RELEASE)], true),
    )
    .unwrap();
    std::fs::write(
        fs.join("modules.dep"),
        "dm-mod.ko:\ndm-verity.ko: dm-mod.ko\n",
    )
    .unwrap();
    std::fs::write(fs.join("modules.load"), "dm-mod.ko\ndm-verity.ko\n").unwrap();
    let mut i = c.inputs(
        value(&digest),
        &format!("{FLAG} androidboot.microdroid.debuggable=1"),
    );
    i.first_stage_modules = Some(fs.clone());
    assert_eq!(
        fatal(&i),
        "FIRST_STAGE_FATAL reason=MODULE_LOAD first-stage modules failed: dm_verity"
    );
    let x = explain::explain(&i).unwrap();
    let fsm = x.first_stage.as_ref().unwrap();
    assert!(
        fsm.problems[0].starts_with(
            "modules pass=first_stage failed: dm_verity (/lib/modules/dm-verity.ko): open: ENOENT"
        ),
        "{:?}",
        fsm.problems
    );
    // A debuggable boot without /vendor goes on.
    i.cmdline = "androidboot.microdroid.debuggable=1".into();
    let x = explain::explain(&i).unwrap();
    assert_eq!(x.outcome(), "ok");
    assert!(x.phases.iter().any(|p| {
        p.lines.iter().any(|l| {
            l == "modules pass=first_stage: going on (debuggable boot, no vendor partition)"
        })
    }));
    // The modules the first stage loaded are "already" for the vendor pass.
    assert_eq!(fsm.loaded, ["dm_mod"]);
}

#[test]
fn cli_text_json_and_exit_status() {
    let c = Case::new();
    c.write("src/etc/ueventd.rc", b"/dev/x 0999 root root\n");
    let digest = c.build(|_| {});
    let bin = env!("CARGO_BIN_EXE_vendor_image");
    let run = |args: &[&str]| {
        Command::new(bin)
            .arg("explain")
            .arg("--image")
            .arg(c.path("vendor.img"))
            .args(args)
            .output()
            .unwrap()
    };
    let ok = run(&["--digest", &digest]);
    assert_eq!(ok.status.code(), Some(0));
    let text = String::from_utf8_lossy(&ok.stdout);
    assert!(text.contains("outcome: ok"), "{text}");
    assert!(
        text.contains("ueventd: /vendor/etc/ueventd.rc:1: invalid mode '0999'"),
        "{text}"
    );
    let bad = run(&["--digest", &"0".repeat(64), "--json"]);
    assert_eq!(bad.status.code(), Some(1));
    let json = String::from_utf8_lossy(&bad.stdout);
    assert!(
        json.starts_with(r#"{"outcome":"VENDOR_DIGEST_MISMATCH","detail":"expected="#),
        "{json}"
    );
    for key in [
        r#""dice":{"component_name":"Microdroid vendor","code_hash":""#,
        r#""security_version":3"#,
        r#""modules":{"plan":[]"#,
        r#""lint":[{"file":"/vendor/etc/ueventd.rc","line":1,"message":"invalid mode '0999'"#,
    ] {
        assert!(json.contains(key), "{key} not in {json}");
    }
    // One source of digest is required, and only one.
    assert_eq!(run(&[]).status.code(), Some(2));
    assert_eq!(
        run(&["--no-digest", "--digest", "ab"]).status.code(),
        Some(2)
    );
    // A bootconfig file goes through the guest's parser: debuggable from bootconfig
    // counts under strict boot.
    let bc = c.path("bootconfig");
    std::fs::write(&bc, "androidboot.microdroid.debuggable = \"1\"\n").unwrap();
    let out = run(&[
        "--digest",
        &digest,
        "--strict",
        "--bootconfig",
        bc.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("boot: strict_boot=true debuggable=true (from bootconfig) mount_vendor=true vendor=requested"), "{text}");
}

#[test]
fn a_dtb_gives_digest_and_strict_boot() {
    let c = Case::new();
    let digest = c.build(|_| {});
    let base = vendor_image::dtb::DeviceTree {
        boot_cpuid_phys: 0,
        reservations: Vec::new(),
        root: vendor_image::dtb::Node {
            name: String::new(),
            properties: Vec::new(),
            children: Vec::new(),
        },
    }
    .to_dtb()
    .unwrap();
    let dtb = vendor_image::dtb::add_avf_node(&base, Some(&digest), true).unwrap();
    std::fs::write(c.path("guest.dtb"), dtb).unwrap();
    let x = explain::explain(&c.inputs(DigestSource::Dtb(c.path("guest.dtb")), FLAG)).unwrap();
    assert!(x.config.strict_boot);
    assert_eq!(x.outcome(), "ok");
    assert!(x.phases.iter().any(|p| p.name == "dice_driver"));
    assert!(
        explain::explain(&c.inputs(DigestSource::Dtb(Path::new("/nonexistent").into()), FLAG))
            .is_err()
    );
}
