//! vendor_image end to end: deterministic ext4, signed image read back and checked by
//! veritysetup, GPT disks checked by sgdisk, DTBs checked by dtc, and the CLI.

use std::path::{Path, PathBuf};
use std::process::Command;

use vendor_image::dtb::{self, DeviceTree};
use vendor_image::{
    build_ext4, build_vendor_image, make_gpt_disk, read_vendor_image, VendorImageOptions,
};

fn have(tool: &str, arg: &str) -> bool {
    Command::new(tool)
        .arg(arg)
        .output()
        .map(|o| o.status.success() || !o.stdout.is_empty() || !o.stderr.is_empty())
        .unwrap_or(false)
}

fn tree(root: &Path) {
    std::fs::create_dir_all(root.join("etc/init")).unwrap();
    std::fs::create_dir_all(root.join("lib/modules")).unwrap();
    std::fs::write(
        root.join("etc/init/vendor.rc"),
        "on early-init\n    setprop a b\n",
    )
    .unwrap();
    let blob: Vec<u8> = (0..300_000u32).map(|i| (i * 31 % 256) as u8).collect();
    std::fs::write(root.join("lib/modules/blob.ko"), blob).unwrap();
    std::fs::write(root.join("file with space"), "x").unwrap();
    std::os::unix::fs::symlink("../etc", root.join("lib/etc")).unwrap();
}

fn key(dir: &Path) -> PathBuf {
    let p = dir.join("key.pem");
    std::fs::write(
        &p,
        avb::SigningKey::generate(2048).unwrap().to_pem().unwrap(),
    )
    .unwrap();
    p
}

#[test]
fn ext4_is_deterministic_and_clean() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    tree(&src);
    let a = d.path().join("a.img");
    let b = d.path().join("b.img");
    build_ext4(&src, &a, None).unwrap();
    // Change times (not contents) of the source, then rebuild.
    let f = std::fs::File::options()
        .write(true)
        .open(src.join("etc/init/vendor.rc"))
        .unwrap();
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(3600))
        .unwrap();
    build_ext4(&src, &b, None).unwrap();
    assert_eq!(
        std::fs::read(&a).unwrap(),
        std::fs::read(&b).unwrap(),
        "ext4 builds differ"
    );
    let out = Command::new("e2fsck")
        .args(["-fn"])
        .arg(&a)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let cat = Command::new("debugfs")
        .args(["-R", "cat /etc/init/vendor.rc"])
        .arg(&a)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&cat.stdout),
        "on early-init\n    setprop a b\n"
    );
    let stat = Command::new("debugfs")
        .args(["-R", "stat \"/file with space\""])
        .arg(&a)
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&stat.stdout);
    assert!(s.contains("User:     0   Group:     0"), "{s}");
    assert!(s.contains("mtime: 0x3b9aca00"), "{s}");
    // Explicit size; bad sizes.
    build_ext4(&src, &a, Some(8 << 20)).unwrap();
    assert_eq!(std::fs::metadata(&a).unwrap().len(), 8 << 20);
    assert!(build_ext4(&src, &a, Some(4097)).is_err());
    assert!(
        build_ext4(&src, &a, Some(64 * 1024)).is_err(),
        "too small for the content"
    );
    assert!(build_ext4(&d.path().join("missing"), &a, None).is_err());
}

#[test]
fn ext4_auto_size_fits_large_content() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    for i in 0..50 {
        std::fs::write(src.join(format!("f{i}")), vec![i as u8; 200_000 + i * 1000]).unwrap();
    }
    build_ext4(&src, &d.path().join("x.img"), None).unwrap();
}

#[test]
fn vendor_image_round_trip() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    tree(&src);
    let k = key(d.path());
    let out = d.path().join("vendor.img");
    let mut opts = VendorImageOptions::new(&k);
    opts.salt = Some(vec![0xab; 32]);
    opts.rollback_index = 3;
    let info = build_vendor_image(&src, &out, &opts).unwrap();
    assert_eq!(info.partition_name, "microdroid-vendor");
    assert_eq!(info.algorithm, avb::Algorithm::Sha256Rsa2048);
    assert_eq!(info.rollback_index, 3);
    assert_eq!(info.salt, vec![0xab; 32]);
    assert_eq!(info.root_digest_hex.len(), 64);
    assert_eq!(avb::to_hex(&info.root_digest), info.root_digest_hex);
    assert_eq!(
        info.public_key_blob,
        avb::SigningKey::from_pem_file(&k)
            .unwrap()
            .public_key_blob()
            .unwrap()
    );
    assert_eq!(info.tree_offset, info.image_size);
    assert_eq!(info.partition_size, std::fs::metadata(&out).unwrap().len());
    assert_eq!(read_vendor_image(&out, "microdroid-vendor").unwrap(), info);
    assert!(read_vendor_image(&out, "other").is_err());
    // Same inputs, same image.
    let again = d.path().join("again.img");
    assert_eq!(build_vendor_image(&src, &again, &opts).unwrap(), info);
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&again).unwrap());
    // The kernel-side check, in user space: veritysetup verify against the root digest.
    if have("veritysetup", "--version") {
        let st = Command::new("veritysetup")
            .arg("verify")
            .arg(&out)
            .arg(&out)
            .arg("--no-superblock")
            .arg(format!("--data-blocks={}", info.image_size / 4096))
            .arg(format!("--hash-offset={}", info.tree_offset))
            .arg(format!("--salt={}", avb::to_hex(&info.salt)))
            .arg(&info.root_digest_hex)
            .status()
            .unwrap();
        assert!(st.success(), "veritysetup verify failed");
    } else {
        eprintln!("SKIPPED veritysetup verify: veritysetup is not installed");
    }
    // Explicit partition size and a bad key path.
    opts.partition_size = Some(16 << 20);
    assert_eq!(
        build_vendor_image(&src, &again, &opts)
            .unwrap()
            .partition_size,
        16 << 20
    );
    let mut bad = VendorImageOptions::new(d.path().join("nokey.pem"));
    bad.salt = None;
    assert!(build_vendor_image(&src, &again, &bad).is_err());
}

#[test]
fn gpt_disk_is_valid_and_holds_images() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    tree(&src);
    let img = d.path().join("vendor.img");
    let info = build_vendor_image(&src, &img, &VendorImageOptions::new(key(d.path()))).unwrap();
    let other = d.path().join("other.img");
    std::fs::write(&other, vec![7u8; 3 * 512]).unwrap();
    let disk = d.path().join("disk.img");
    let pl = make_gpt_disk(&disk, &[("microdroid-vendor", &img), ("extra", &other)]).unwrap();
    assert_eq!(pl[0].first_lba, 2048);
    assert_eq!(pl[0].offset_bytes, 1 << 20);
    assert_eq!(pl[0].size_bytes, info.partition_size);
    assert_eq!(pl[1].first_lba % 2048, 0);
    assert_eq!(pl[1].last_lba - pl[1].first_lba + 1, 3);
    let bytes = std::fs::read(&disk).unwrap();
    assert_eq!(bytes.len() % (1 << 20), 0);
    let part =
        &bytes[pl[0].offset_bytes as usize..(pl[0].offset_bytes + pl[0].size_bytes) as usize];
    assert_eq!(part, std::fs::read(&img).unwrap().as_slice());
    let v = avb::read_vbmeta_from_partition(&mut std::io::Cursor::new(part), part.len() as u64)
        .unwrap();
    assert_eq!(
        avb::to_hex(
            &v.hashtree_descriptor("microdroid-vendor")
                .unwrap()
                .root_digest
        ),
        info.root_digest_hex
    );
    // Same inputs, same disk.
    let disk2 = d.path().join("disk2.img");
    assert_eq!(
        make_gpt_disk(&disk2, &[("microdroid-vendor", &img), ("extra", &other)]).unwrap(),
        pl
    );
    assert_eq!(std::fs::read(&disk2).unwrap(), bytes);
    if !have("sgdisk", "--version") {
        eprintln!("SKIPPED sgdisk checks: sgdisk (gdisk) is not installed");
        return;
    }
    let v = Command::new("sgdisk")
        .arg("-v")
        .arg(&disk)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&v.stdout);
    assert!(text.contains("No problems found"), "{text}");
    let i = Command::new("sgdisk")
        .args(["-i", "1"])
        .arg(&disk)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&i.stdout);
    assert!(
        text.contains("Partition name: 'microdroid-vendor'"),
        "{text}"
    );
    assert!(text.contains("First sector: 2048 "), "{text}");
    assert!(
        text.contains("0FC63DAF-8483-4772-8E79-3D69D8477DE4"),
        "{text}"
    );
    assert!(
        text.to_lowercase().contains(&pl[0].partition_guid),
        "{text}"
    );
    let i = Command::new("sgdisk")
        .args(["-i", "2"])
        .arg(&disk)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&i.stdout).contains("Partition name: 'extra'"));
}

#[test]
fn gpt_rejects_bad_input() {
    let d = tempfile::tempdir().unwrap();
    let img = d.path().join("a.img");
    std::fs::write(&img, vec![0u8; 1024]).unwrap();
    let odd = d.path().join("odd.img");
    std::fs::write(&odd, vec![0u8; 1000]).unwrap();
    let disk = d.path().join("disk.img");
    assert!(make_gpt_disk(&disk, &[]).is_err());
    assert!(make_gpt_disk(&disk, &[("bad name", &img)]).is_err());
    assert!(make_gpt_disk(&disk, &[("a", &img), ("a", &img)]).is_err());
    assert!(make_gpt_disk(&disk, &[("a", &odd)]).is_err());
    assert!(make_gpt_disk(&disk, &[("a", &d.path().join("missing"))]).is_err());
}

fn qemu_dtb() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/qemu-virt-aarch64.dtb"))
        .unwrap()
}

fn dts(dtb: &[u8]) -> Option<String> {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("x.dtb");
    std::fs::write(&p, dtb).unwrap();
    let out = Command::new("dtc")
        .args(["-I", "dtb", "-O", "dts", "-q"])
        .arg(&p)
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).unwrap())
}

const DIGEST: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[test]
fn dtb_round_trip_is_identical() {
    let base = qemu_dtb();
    let copy = dtb::with_properties(&base, &[]).unwrap();
    assert_eq!(
        DeviceTree::parse(&copy).unwrap(),
        DeviceTree::parse(&base).unwrap()
    );
    match (dts(&base), dts(&copy)) {
        (Some(a), Some(b)) => assert_eq!(a, b),
        _ => eprintln!("SKIPPED dtc comparison: dtc is not installed"),
    }
}

#[test]
fn dtb_avf_node_and_strict_boot() {
    let base = qemu_dtb();
    let out = dtb::add_avf_node(&base, Some(DIGEST), true).unwrap();
    let t = DeviceTree::parse(&out).unwrap();
    let avf = t.node("/avf").unwrap();
    assert_eq!(
        avf.properties,
        vec![(
            "vendor_hashtree_descriptor_root_digest".to_string(),
            DIGEST.as_bytes().to_vec()
        )]
    );
    let chosen = t.node("/chosen").unwrap();
    assert!(chosen
        .properties
        .iter()
        .any(|(k, v)| k == "avf,strict-boot" && v.is_empty()));
    // The guest's parser accepts what we wrote.
    assert_eq!(
        avb::parse_expected_digest(&avf.properties[0].1).unwrap(),
        DIGEST
    );
    if let (Some(a), Some(b)) = (dts(&base), dts(&out)) {
        // Only additions: every original line is still there, in order.
        let added: Vec<&str> = diff_added(&a, &b);
        assert!(
            added.iter().any(|l| l.contains("avf,strict-boot;")),
            "{added:?}"
        );
        assert!(added.iter().any(|l| l.trim() == "avf {"), "{added:?}");
        assert!(
            added
                .iter()
                .any(|l| l.contains("vendor_hashtree_descriptor_root_digest")),
            "{added:?}"
        );
        assert!(added.len() <= 5, "{added:?}");
    }
    // No digest, no strict boot: unchanged tree.
    let plain = dtb::add_avf_node(&base, None, false).unwrap();
    assert_eq!(
        DeviceTree::parse(&plain).unwrap(),
        DeviceTree::parse(&base).unwrap()
    );
    // Validated vs raw.
    assert!(dtb::add_avf_node(&base, Some(&DIGEST.to_uppercase()), false).is_err());
    assert!(dtb::add_avf_node(&base, Some("abc"), false).is_err());
    for raw in [
        DIGEST.to_uppercase().into_bytes(),
        b"abc".to_vec(),
        format!("{DIGEST}\0").into_bytes(),
        vec![],
    ] {
        let out = dtb::add_avf_node_raw(&base, Some(&raw), false).unwrap();
        let t = DeviceTree::parse(&out).unwrap();
        assert_eq!(t.node("/avf").unwrap().properties[0].1, raw);
    }
}

/// Lines of `b` that are not matched, in order, by lines of `a` (a is a subsequence of b).
fn diff_added<'a>(a: &str, b: &'a str) -> Vec<&'a str> {
    let mut ai = a.lines().peekable();
    let mut added = Vec::new();
    for l in b.lines() {
        if ai.peek() == Some(&l) {
            ai.next();
        } else {
            added.push(l);
        }
    }
    assert!(
        ai.next().is_none(),
        "original lines missing from the rewritten tree"
    );
    added
}

#[test]
fn dtb_reservations_cpuid_and_phandles_survive() {
    if !have("dtc", "--version") {
        eprintln!("SKIPPED: dtc is not installed");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("t.dts");
    std::fs::write(
        &src,
        "/dts-v1/;\n/memreserve/ 0x10000000 0x1000;\n/memreserve/ 0x20000000 0x2000;\n/ {\n\
         #address-cells = <2>;\n#size-cells = <2>;\n intc: intc@0 { phandle = <0x8001>; interrupt-controller; };\n\
         dev@1 { interrupt-parent = <&intc>; reg = <0 1 0 2>; status = \"okay\"; };\n};\n",
    )
    .unwrap();
    let bin = d.path().join("t.dtb");
    assert!(Command::new("dtc")
        .args(["-q", "-I", "dts", "-O", "dtb", "-b", "1", "-o"])
        .arg(&bin)
        .arg(&src)
        .status()
        .unwrap()
        .success());
    let base = std::fs::read(&bin).unwrap();
    let out = dtb::with_properties(&base, &[("/new/deeper", "x", b"\x01\x02")]).unwrap();
    let t = DeviceTree::parse(&out).unwrap();
    assert_eq!(
        t.reservations,
        vec![(0x1000_0000, 0x1000), (0x2000_0000, 0x2000)]
    );
    assert_eq!(t.boot_cpuid_phys, 1);
    assert_eq!(
        t.node("/new/deeper").unwrap().properties,
        vec![("x".to_string(), vec![1, 2])]
    );
    let a = dts(&base).unwrap();
    let b = dts(&out).unwrap();
    assert!(
        b.contains("/memreserve/\t0x0000000010000000 0x0000000000001000;"),
        "{b}"
    );
    assert!(b.contains("phandle = <0x8001>;"));
    let added = diff_added(&a, &b);
    assert!(added.iter().any(|l| l.trim() == "deeper {"), "{added:?}");
    assert!(
        added.iter().any(|l| l.trim() == "x = [01 02];"),
        "{added:?}"
    );
    assert!(added.len() <= 7, "{added:?}");
    // Replacing a property keeps its position.
    let out = dtb::with_properties(&base, &[("/dev@1", "status", b"disabled\0")]).unwrap();
    assert!(dts(&out).unwrap().contains("status = \"disabled\";"));
}

#[test]
fn dtb_rejects_garbage_without_panicking() {
    assert!(DeviceTree::parse(b"").is_err());
    assert!(DeviceTree::parse(&[0xd0, 0x0d, 0xfe, 0xed, 0, 0, 0, 0x40]).is_err());
    let mut broken = qemu_dtb();
    broken[8..12].copy_from_slice(&0xffff_0000u32.to_be_bytes());
    assert!(DeviceTree::parse(&broken).is_err());
    assert!(dtb::with_properties(&qemu_dtb(), &[("avf", "x", b"")]).is_err());
    assert!(dtb::with_properties(&qemu_dtb(), &[("/avf", "nul\0name", b"")]).is_err());
    assert!(dtb::with_properties(&qemu_dtb(), &[("/avf", "", b"")]).is_err());
}

fn cli(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_vendor_image"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn cli_end_to_end() {
    let d = tempfile::tempdir().unwrap();
    let p = |n: &str| d.path().join(n).to_str().unwrap().to_string();
    let src = d.path().join("src");
    tree(&src);
    cli(&["genkey", "--bits", "2048", "--out", &p("k.pem")]);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(p("k.pem")).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let digest = cli(&[
        "build",
        "--src",
        &p("src"),
        "--out",
        &p("v.img"),
        "--key",
        &p("k.pem"),
        "--salt",
        "0011",
        "--rollback-index",
        "5",
        "--print-digest",
    ]);
    let digest = digest.trim();
    assert_eq!(digest.len(), 64);
    assert_eq!(cli(&["digest", &p("v.img")]).trim(), digest);
    let info = cli(&["info", &p("v.img")]);
    assert!(
        info.contains("Algorithm:                SHA256_RSA2048"),
        "{info}"
    );
    assert!(info.contains("Rollback Index:           5"), "{info}");
    assert!(
        info.contains(&format!("Root Digest:           {digest}")),
        "{info}"
    );
    assert!(info.contains("Salt:                  0011"), "{info}");
    let disk = cli(&[
        "disk",
        "--out",
        &p("disk.img"),
        &format!("microdroid-vendor={}", p("v.img")),
    ]);
    assert!(
        disk.starts_with("1 microdroid-vendor first_lba=2048 "),
        "{disk}"
    );
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/qemu-virt-aarch64.dtb");
    let base = base.to_str().unwrap();
    cli(&[
        "dtb",
        "--base",
        base,
        "--out",
        &p("o.dtb"),
        "--digest",
        digest,
        "--strict-boot",
    ]);
    let t = DeviceTree::parse(&std::fs::read(p("o.dtb")).unwrap()).unwrap();
    assert_eq!(t.node("/avf").unwrap().properties[0].1, digest.as_bytes());
    cli(&[
        "dtb",
        "--base",
        base,
        "--out",
        &p("r.dtb"),
        "--digest-raw",
        "NOT-HEX",
    ]);
    let t = DeviceTree::parse(&std::fs::read(p("r.dtb")).unwrap()).unwrap();
    assert_eq!(t.node("/avf").unwrap().properties[0].1, b"NOT-HEX");
    let ht = cli(&[
        "hashtree",
        "--in",
        &p("v.img"),
        "--salt",
        "00",
        "--threads",
        "1",
    ]);
    assert!(ht.starts_with("root_digest: "), "{ht}");
    assert!(ht.contains("mb_per_s: "), "{ht}");
    let bad = Command::new(env!("CARGO_BIN_EXE_vendor_image"))
        .args([
            "dtb",
            "--base",
            base,
            "--out",
            &p("x.dtb"),
            "--digest",
            "ABC",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
}

#[test]
fn bench_hashtree_matches_veritysetup() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("data");
    let data: Vec<u8> = (0..(3000 * 4096u32)).map(|i| (i % 241) as u8).collect();
    std::fs::write(&f, &data).unwrap();
    let (root, took) = vendor_image::bench_hashtree(&f, &[0x12, 0x34]).unwrap();
    assert!(took.as_nanos() > 0);
    let ours =
        avb::compute_hashtree(&data, 4096, &[0x12, 0x34], avb::HashAlgorithm::Sha256, 1).unwrap();
    assert_eq!(root, ours.root_digest);
    if !have("veritysetup", "--version") {
        eprintln!("SKIPPED veritysetup comparison: veritysetup is not installed");
        return;
    }
    let out = Command::new("veritysetup")
        .arg("format")
        .arg(&f)
        .arg(d.path().join("hash"))
        .args(["--no-superblock", "--salt=1234"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&avb::to_hex(&root)), "{text}");
}

/// `security.selinux` of `path` inside an ext4 image, read with debugfs.
fn ea_selinux(img: &Path, path: &str) -> String {
    let out = Command::new("debugfs")
        .arg("-R")
        .arg(format!("ea_get {path} security.selinux"))
        .arg(img)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn image_is_labelled_from_file_contexts() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    tree(&src);
    let fc = dir.path().join("vendor_file_contexts");
    std::fs::write(
        &fc,
        "/vendor(/.*)?            u:object_r:vendor_file:s0\n\
         /vendor/etc/init(/.*)?   u:object_r:vendor_configs_file:s0\n\
         /vendor/lib/etc          -l u:object_r:vendor_link:s0\n\
         /vendor/lib/modules/blob\\.ko -- <<none>>\n",
    )
    .unwrap();
    let img = dir.path().join("vendor.img");
    let mut opts = VendorImageOptions::new(key(dir.path()));
    opts.file_contexts = Some(fc);
    opts.salt = Some(b"s".to_vec());
    build_vendor_image(&src, &img, &opts).unwrap();
    // The ext4 image is the start of the partition image; debugfs reads it in place.
    let labels = [
        ("/", "vendor_file"),
        ("/etc", "vendor_file"),
        ("/etc/init", "vendor_configs_file"),
        ("/etc/init/vendor.rc", "vendor_configs_file"),
        ("/lib/etc", "vendor_link"),
    ];
    for (path, ty) in labels {
        let got = ea_selinux(&img, path);
        assert!(
            got.contains(&format!("u:object_r:{ty}:s0")),
            "{path}: {got:?}"
        );
    }
    assert!(
        !ea_selinux(&img, "/lib/modules/blob.ko").contains("u:object_r"),
        "<<none>> must leave the file unlabelled"
    );
    // Labels do not break reproducibility.
    let img2 = dir.path().join("vendor2.img");
    build_vendor_image(&src, &img2, &opts).unwrap();
    assert_eq!(std::fs::read(&img).unwrap(), std::fs::read(&img2).unwrap());
}

fn cli_fails(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_vendor_image"))
        .args(args)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{args:?} succeeded");
    String::from_utf8(out.stderr).unwrap()
}

fn flip_byte(path: &Path, at: u64) {
    use std::os::unix::fs::FileExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, at).unwrap();
    f.write_all_at(&[b[0] ^ 0x20], at).unwrap();
}

/// `info` recomputes the tree and names the corrupted block as dm-verity numbers it.
#[test]
fn info_verifies_data_and_tree() {
    let d = tempfile::tempdir().unwrap();
    let p = |n: &str| d.path().join(n).to_str().unwrap().to_string();
    tree(&d.path().join("src"));
    cli(&["genkey", "--bits", "2048", "--out", &p("k.pem")]);
    cli(&[
        "build",
        "--src",
        &p("src"),
        "--out",
        &p("v.img"),
        "--key",
        &p("k.pem"),
    ]);
    let ok = cli(&["info", &p("v.img")]);
    assert!(
        ok.contains("Hashtree microdroid-vendor: verified ("),
        "{ok}"
    );
    let i = vendor_image::read_vendor_image(Path::new(&p("v.img")), "microdroid-vendor").unwrap();
    std::fs::copy(p("v.img"), p("data.img")).unwrap();
    flip_byte(Path::new(&p("data.img")), 3 * 4096 + 7);
    let e = cli_fails(&["info", &p("data.img")]);
    assert!(
        e.contains("hashtree microdroid-vendor does not verify: data block 3 is corrupted"),
        "{e}"
    );
    std::fs::copy(p("v.img"), p("tree.img")).unwrap();
    flip_byte(Path::new(&p("tree.img")), i.tree_offset + 5);
    let e = cli_fails(&["info", &p("tree.img")]);
    let top = i.tree_offset / 4096;
    assert!(
        e.contains(&format!(
            "does not verify: metadata block {top} is corrupted"
        )),
        "{e}"
    );
}

/// The reference digest property lands in the host image's re-signed vbmeta.
#[test]
fn add_reference_digest_to_host_image() {
    let d = tempfile::tempdir().unwrap();
    let p = |n: &str| d.path().join(n).to_str().unwrap().to_string();
    tree(&d.path().join("src"));
    cli(&["genkey", "--bits", "2048", "--out", &p("k.pem")]);
    let digest = cli(&[
        "build",
        "--src",
        &p("src"),
        "--out",
        &p("v.img"),
        "--key",
        &p("k.pem"),
        "--print-digest",
    ]);
    let digest = digest.trim();
    cli(&[
        "build",
        "--src",
        &p("src"),
        "--out",
        &p("host.img"),
        "--key",
        &p("k.pem"),
        "--partition-name",
        "vendor",
        "--partition-size",
        "8388608",
    ]);
    let out = cli(&[
        "add-reference-digest",
        "--host-image",
        &p("host.img"),
        "--vendor-image",
        &p("v.img"),
        "--key",
        &p("k.pem"),
    ]);
    assert!(
        out.starts_with(&format!(
            "added com.android.build.microdroid-vendor.root_digest -> '{digest}'"
        )),
        "{out}"
    );
    let info = cli(&["info", &p("host.img")]);
    assert!(
        info.contains(&format!(
            "Prop: com.android.build.microdroid-vendor.root_digest -> \"{digest}\""
        )),
        "{info}"
    );
    assert!(info.contains("Hashtree vendor: verified"), "{info}");
    let again = cli(&[
        "add-reference-digest",
        "--host-image",
        &p("host.img"),
        "--vendor-image",
        &p("v.img"),
        "--key",
        &p("k.pem"),
    ]);
    assert!(again.starts_with("replaced "), "{again}");
}
