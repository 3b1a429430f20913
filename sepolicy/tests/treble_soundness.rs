//! Soundness of the Treble filter: random partner entries built from path
//! and regex fragments; whenever one is accepted, every generated path it
//! labels must lie under `/vendor`, `/system/vendor`, `/odm`, `/dev`,
//! `/sys` or start with `/data/vendor`. And AOSP's real vendor file passes
//! the rule, except for its one entry that names `/sustem/vendor`.

mod common;

use common::Rng;
use sepolicy::{FileContexts, ParseErrorKind};

const PATTERN_PIECES: &[&str] = &[
    "/vendor",
    "/odm",
    "/dev",
    "/sys",
    "/data/vendor",
    "/data",
    "/system",
    "/",
    "(/.*)?",
    "/.*",
    ".*",
    "a",
    "x",
    "(",
    ")",
    "|",
    "?",
    "*",
    "[a-z]",
    "[/v]",
    "(vendor|odm)",
    "(vendor|system)",
    "(vendor|system/vendor)",
    "/system/vendor",
    "tem",
    "\\.",
    "v",
    "e",
    "n",
    "d",
    "o",
    "r",
    "_de",
    "(/lib)?",
    "(64)?",
    "\\b",
    "^",
    "(|/x)",
    "(/|x)",
    "[^/]",
    "+",
];

const PATH_PIECES: &[&str] = &[
    "/vendor",
    "/odm",
    "/dev",
    "/sys",
    "/data",
    "/data/vendor",
    "/vendorx",
    "/devices",
    "/system",
    "/system/vendor",
    "/system/vendorx",
    "tem",
    "/a",
    "/x",
    "/lib",
    "/lib64",
    "_de",
    "v",
    "e",
    "n",
    "d",
    "o",
    "r",
    "x",
    ".",
    "64",
    "/",
];

fn allowed(path: &[u8]) -> bool {
    let under = |root: &[u8]| {
        path == root || (path.starts_with(root) && path.get(root.len()) == Some(&b'/'))
    };
    [
        &b"/vendor"[..],
        b"/system/vendor",
        b"/odm",
        b"/dev",
        b"/sys",
    ]
    .iter()
    .any(|r| under(r))
        || path.starts_with(b"/data/vendor")
}

#[test]
fn accepted_partner_entries_only_label_partner_paths() {
    let mut rng = Rng(0x7e_b1e5);
    let paths: Vec<Vec<u8>> = (0..3000)
        .map(|_| {
            let mut p = Vec::new();
            for _ in 0..1 + rng.below(4) {
                let piece: &&str = rng.pick(PATH_PIECES);
                p.extend_from_slice(piece.as_bytes());
            }
            // Keep paths already clean (lookup collapses `//` and drops a
            // trailing `/`), so `allowed` judges what is looked up.
            p.dedup_by(|a, b| *a == b'/' && *b == b'/');
            if p.len() > 1 && p.last() == Some(&b'/') {
                p.pop();
            }
            p
        })
        .collect();
    let mut accepted = 0;
    let mut rejected = 0;
    for _ in 0..4000 {
        let mut pattern = String::new();
        for _ in 0..1 + rng.below(5) {
            let piece: &&str = rng.pick(PATTERN_PIECES);
            pattern.push_str(piece);
        }
        let line = format!("{pattern} u:object_r:partner:s0\n");
        let outcome = FileContexts::parse_partner(line.as_bytes(), "vendor_file_contexts");
        match outcome.errors.0.first().map(|e| &e.kind) {
            None => accepted += 1,
            Some(ParseErrorKind::TrebleViolation { .. }) => {
                rejected += 1;
                continue;
            }
            Some(_) => continue, // not a valid regex at all
        }
        for path in &paths {
            if outcome.contexts.lookup_bytes(path, None).is_some() {
                assert!(
                    allowed(path),
                    "{pattern:?} accepted but labels {:?}",
                    String::from_utf8_lossy(path)
                );
            }
        }
    }
    eprintln!(
        "treble soundness: {accepted} accepted, {rejected} rejected entries, {} paths each",
        paths.len()
    );
    assert!(
        accepted > 100 && rejected > 100,
        "{accepted} accepted, {rejected} rejected"
    );
}

#[test]
fn aosp_vendor_file_contexts_pass_the_rule() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/aosp/vendor_file_contexts"
    );
    let text = std::fs::read(path).expect("fixture");
    let specs = text
        .split(|&b| b == b'\n')
        .filter(|l| l.first() == Some(&b'/'))
        .count();
    let outcome = FileContexts::parse_partner(&text, "vendor_file_contexts");
    let refused: Vec<String> = outcome.errors.iter().map(|e| e.to_string()).collect();
    eprintln!(
        "AOSP vendor file_contexts as a partner file: {} of {specs} entries kept",
        specs - refused.len()
    );
    assert_eq!(specs, 176);
    assert_eq!(refused.len(), 1, "{refused:#?}");
    assert!(
        refused[0].contains(":42: \"/(vendor|sustem/vendor)/bin/hw/")
            && refused[0].ends_with("(treble violation); entry skipped"),
        "{}",
        refused[0]
    );
    // The kept entries label both names of the partition.
    for path in [
        "/vendor/bin/hw/rild",
        "/system/vendor/bin/hw/rild",
        "/vendor/lib64/libz.so",
        "/system/vendor/lib/hw/gralloc.default.so",
        "/data/vendor/wifi/wpa/x",
    ] {
        assert!(
            outcome.contexts.lookup(path, None).is_some(),
            "{path} unlabelled"
        );
    }
}
