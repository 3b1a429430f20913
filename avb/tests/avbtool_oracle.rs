//! Byte-for-byte comparison with `avbtool add_hashtree_footer` when avbtool is on PATH
//! (Debian bookworm does not package it, so this usually skips, saying so). RSA PKCS#1
//! v1.5 signatures are deterministic, so the two images must be identical.

mod common;

use std::process::Command;

use common::{build_image, content, key, testdata, NAME};

#[test]
fn identical_to_avbtool() {
    let ok = Command::new("avbtool")
        .arg("version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("SKIPPED: avbtool is not installed; hash trees are cross-checked with veritysetup instead");
        return;
    }
    let data = content(300 * 4096, 11);
    let k = key(4096);
    let (dir, ours_path, _info, ours) = build_image(&data, avb::Algorithm::Sha256Rsa4096, &k, None);
    let theirs = dir.path().join("theirs.img");
    std::fs::write(&theirs, &data).unwrap();
    let st = Command::new("avbtool")
        .args([
            "add_hashtree_footer",
            "--partition_size",
            "0",
            "--partition_name",
            NAME,
        ])
        .args(["--hash_algorithm", "sha256", "--salt", &"5a".repeat(32)])
        .args([
            "--algorithm",
            "SHA256_RSA4096",
            "--rollback_index",
            "7",
            "--do_not_generate_fec",
        ])
        .arg("--key")
        .arg(testdata("testkey_rsa4096.pem"))
        .arg("--image")
        .arg(&theirs)
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(
        std::fs::read(&theirs).unwrap(),
        ours,
        "differs from {}",
        ours_path.display()
    );
}
