//! The host CLI: verify, show, derive, sample-handover, bench.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_dice_vendor");
const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata");

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn verify_and_show_the_golden_file() {
    let golden = format!("{TESTDATA}/vendor/dice_chain.raw");
    let (ok, stdout, _) = run(&["verify", &golden]);
    assert!(ok);
    assert_eq!(
        stdout,
        "OK: DiceChainRaw with 4 certificate(s), leaf key matches CDI_Attest\n"
    );
    let (ok, stdout, _) = run(&["show", &golden]);
    assert!(ok);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 5);
    assert!(lines[0].starts_with("node 0: root key 3e85e572"));
    assert!(lines[4].starts_with(
        "node 4: name=\"Microdroid vendor\" version=- security_version=3 mode=normal"
    ));
}

#[test]
fn verify_reports_the_failing_node() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(format!(
        "{TESTDATA}/dice-vectors/v5_aosp_sample_step3/expected_chain.cbor"
    ))
    .unwrap();
    let n = bytes.len();
    bytes[n - 2] ^= 0x40;
    let path = dir.path().join("bad.cbor");
    std::fs::write(&path, bytes).unwrap();
    let (ok, _, stderr) = run(&["verify", path.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stderr.contains("node 3 (\"Android\"): signature check failed"),
        "{stderr}"
    );
}

#[test]
fn derive_matches_the_library_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let parent = dir.path().join("parent.cbor");
    let out = dir.path().join("dice_chain.raw");
    assert!(run(&["sample-handover", "--out", parent.to_str().unwrap()]).0);
    let digest = std::fs::read_to_string(format!("{TESTDATA}/vendor/root_digest.hex")).unwrap();
    let (ok, _, stderr) = run(&[
        "derive",
        "--parent",
        parent.to_str().unwrap(),
        "--vbmeta-key-blob",
        &format!("{TESTDATA}/vendor/vbmeta_pubkey.bin"),
        "--root-digest",
        digest.trim(),
        "--rollback-index",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(format!("{TESTDATA}/vendor/dice_chain.raw")).unwrap()
    );
    let (ok, _, stderr) = run(&[
        "derive",
        "--sample-parent",
        "--vbmeta-key-blob",
        "/nonexistent",
        "--root-digest",
        "00",
        "--rollback-index",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok && stderr.contains("/nonexistent"), "{stderr}");
    let (ok, _, stderr) = run(&[
        "derive",
        "--sample-parent",
        "--vbmeta-key-blob",
        parent.to_str().unwrap(),
        "--root-digest",
        "xyz",
        "--rollback-index",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!ok && stderr.contains("not hex"), "{stderr}");
}

#[test]
fn bench_runs() {
    let (ok, stdout, stderr) = run(&["bench", "--iterations", "3"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.starts_with("iterations=3 derive_median_us="),
        "{stdout}"
    );
}
