//! The consumer commands end to end: `expect` on a real image equals the node a derivation
//! produces, a policy built from it accepts that chain and a stricter one is refused with
//! a reason, and `next-step` extends the chain to the payload node.

use std::io::Write;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_dice_vendor");

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// A signed image with an avbtool-style footer and rollback index 3; returns its key blob
/// and root digest.
fn image(path: &Path) -> (Vec<u8>, Vec<u8>) {
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(&vec![0x33; 16 * 4096]).unwrap();
    let key = avb::SigningKey::generate(2048).unwrap();
    let info = avb::add_hashtree_footer(
        path,
        &avb::HashtreeFooterOptions {
            partition_name: "microdroid-vendor".into(),
            algorithm: avb::Algorithm::Sha256Rsa2048,
            key: Some(&key),
            rollback_index: 3,
            ..Default::default()
        },
    )
    .unwrap();
    (info.public_key_blob, info.descriptor.root_digest)
}

#[test]
fn expect_policy_verify_and_next_step() {
    let d = tempfile::tempdir().unwrap();
    let p = |n: &str| d.path().join(n).to_str().unwrap().to_owned();
    let (key_blob, digest) = image(Path::new(&p("v.img")));
    std::fs::write(p("key.bin"), &key_blob).unwrap();
    let (ok, _, e) = run(&[
        "derive",
        "--sample-parent",
        "--vbmeta-key-blob",
        &p("key.bin"),
        "--root-digest",
        &avb::to_hex(&digest),
        "--rollback-index",
        "3",
        "--out",
        &p("dice_chain.raw"),
    ]);
    assert!(ok, "{e}");
    let (ok, json, e) = run(&["expect", "--image", &p("v.img"), "--json"]);
    assert!(ok, "{e}");
    let chain =
        dice_vendor::verify_chain_bytes(&std::fs::read(p("dice_chain.raw")).unwrap()).unwrap();
    let leaf = chain.nodes.last().unwrap();
    let want = format!(
        "{{\"component_name\":\"Microdroid vendor\",\"code_hash\":\"{}\",\"authority_hash\":\"{}\",\"security_version\":3,\"config_descriptor\":\"{}\",\"mode\":\"normal\"}}\n",
        avb::to_hex(&leaf.code_hash),
        avb::to_hex(&leaf.authority_hash),
        avb::to_hex(&leaf.config_descriptor),
    );
    assert_eq!(json, want);

    let (ok, policy, _) = run(&["expect", "--image", &p("v.img"), "--policy"]);
    assert!(ok);
    std::fs::write(p("ok.policy"), &policy).unwrap();
    let (ok, out, e) = run(&["verify", "--policy", &p("ok.policy"), &p("dice_chain.raw")]);
    assert!(ok, "{e}");
    assert!(
        out.ends_with("OK: meets the policy (5 constraint(s) on 1 node(s))\n"),
        "{out}"
    );
    std::fs::write(
        p("newer.policy"),
        policy.replace("greater-or-equal 3", "greater-or-equal 4"),
    )
    .unwrap();
    let (ok, _, e) = run(&[
        "verify",
        "--policy",
        &p("newer.policy"),
        &p("dice_chain.raw"),
    ]);
    assert!(!ok);
    assert!(
        e.contains("policy line 6: node 4 (\"Microdroid vendor\"): security_version greater-or-equal 4 not met: found 3"),
        "{e}"
    );
    let auth = avb::to_hex(&leaf.authority_hash);
    std::fs::write(p("other.policy"), policy.replace(&auth, &"ee".repeat(64))).unwrap();
    let (ok, _, e) = run(&[
        "verify",
        "--policy",
        &p("other.policy"),
        &p("dice_chain.raw"),
    ]);
    assert!(!ok);
    assert!(e.contains("authority_hash exact eeee"), "{e}");
    assert!(e.contains(&format!("not met: found {auth}")), "{e}");
    std::fs::write(p("bad.policy"), "dice-policy 1\nnode 1\n  colour exact 1\n").unwrap();
    let (ok, _, e) = run(&["verify", "--policy", &p("bad.policy"), &p("dice_chain.raw")]);
    assert!(!ok);
    assert!(
        e.contains("policy line 3: unknown statement or field \"colour\""),
        "{e}"
    );

    let (ok, out, e) = run(&[
        "next-step",
        "--input",
        &p("dice_chain.raw"),
        "--no-unmount",
        "--output",
        &p("payload.raw"),
        "--code-file",
        &p("key.bin"),
        "--authority-hash",
        &"42".repeat(64),
        "--security-version",
        "1",
    ]);
    assert!(ok, "{e}");
    assert!(out.contains("(5 certificates); removed "), "{out}");
    assert!(!Path::new(&p("dice_chain.raw")).exists());
    std::fs::write(
        p("five.policy"),
        format!("{policy}certificates 5\nnode 5\n  component_name exact \"Microdroid payload\"\n  security_version exact 1\n"),
    )
    .unwrap();
    let (ok, out, e) = run(&["verify", "--policy", &p("five.policy"), &p("payload.raw")]);
    assert!(ok, "{e}");
    assert!(out.contains("5 certificate(s)"), "{out}");
    assert!(
        out.contains("(7 constraint(s) on 2 node(s), 5 certificates)"),
        "{out}"
    );

    let (ok, _, e) = run(&["expect", "--image", &p("key.bin")]);
    assert!(!ok);
    assert!(e.contains("key.bin: "), "{e}");
}
