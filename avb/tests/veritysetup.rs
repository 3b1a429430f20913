//! Cross-check of our hash trees against `veritysetup format --no-superblock` (cryptsetup).
//! Skips, saying so, when veritysetup is not installed.

mod common;

use std::process::Command;

use avb::{compute_hashtree, compute_hashtree_file, to_hex, HashAlgorithm};
use common::content;

fn have_veritysetup() -> bool {
    Command::new("veritysetup")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Runs veritysetup on `data`; returns (root hex, hash device bytes).
fn veritysetup(data: &[u8], bs: u32, salt: &[u8], hash: HashAlgorithm) -> (String, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("data");
    let h = dir.path().join("hash");
    std::fs::write(&d, data).unwrap();
    let salt_arg = if salt.is_empty() {
        "-".to_string()
    } else {
        to_hex(salt)
    };
    let out = Command::new("veritysetup")
        .arg("format")
        .arg(&d)
        .arg(&h)
        .arg("--no-superblock")
        .arg(format!("--salt={salt_arg}"))
        .arg(format!("--data-block-size={bs}"))
        .arg(format!("--hash-block-size={bs}"))
        .arg(format!("--hash={hash}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let root = text
        .lines()
        .find_map(|l| l.strip_prefix("Root hash:"))
        .map(|r| r.trim().to_string())
        .expect("no Root hash line");
    (root, std::fs::read(&h).unwrap())
}

#[test]
fn trees_equal_veritysetup() {
    if !have_veritysetup() {
        eprintln!("SKIPPED: veritysetup (cryptsetup-bin) is not installed");
        return;
    }
    let cases: &[(u32, usize, HashAlgorithm, &[u8])] = &[
        (4096, 1, HashAlgorithm::Sha256, b"\x01\x02"),
        (4096, 127, HashAlgorithm::Sha256, &[0xaa; 32]),
        (4096, 128, HashAlgorithm::Sha256, &[0xaa; 32]),
        (4096, 129, HashAlgorithm::Sha256, &[0xaa; 32]),
        (4096, 129, HashAlgorithm::Sha512, &[0x11; 64]),
        (4096, 129, HashAlgorithm::Sha256, b""),
        (4096, 128 * 128 + 1, HashAlgorithm::Sha256, &[0x77; 32]),
        (512, 257, HashAlgorithm::Sha256, &[0x33; 16]),
        (512, 16 * 16 * 16 + 1, HashAlgorithm::Sha256, &[0x44; 32]),
    ];
    for &(bs, blocks, hash, salt) in cases {
        let data = content(bs as usize * blocks, blocks as u32);
        let (root, tree) = veritysetup(&data, bs, salt, hash);
        let ours = compute_hashtree(&data, bs, salt, hash, 2).unwrap();
        assert_eq!(
            to_hex(&ours.root_digest),
            root,
            "root bs={bs} blocks={blocks} {hash}"
        );
        assert_eq!(
            ours.tree.len(),
            tree.len(),
            "tree size bs={bs} blocks={blocks}"
        );
        assert!(
            ours.tree == tree,
            "tree bytes bs={bs} blocks={blocks} {hash}"
        );
        let mut f = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut f, &data).unwrap();
        let from_file = compute_hashtree_file(&f, data.len() as u64, bs, salt, hash, 2).unwrap();
        assert_eq!(from_file, ours);
    }
}
