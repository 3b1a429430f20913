//! Differential test: `sepolicy lookup -f` against libselinux's
//! `matchpathcon -f` on thousands of generated paths, for every file type
//! and for no type, over every file_contexts the tests use: the Android-style
//! `testdata/android_file_contexts`, AOSP's real vendor file
//! (`testdata/aosp/vendor_file_contexts`, `/(vendor|system/vendor)/...`
//! entries), the guest's plat file, the shipped vendor file, and the QEMU
//! tests' vendor files. Both outputs must be byte-for-byte equal, and the
//! library's `lookup_bytes` must agree. `-f` ignores the file's name: a file
//! called `vendor_file_contexts` keeps every entry, as in matchpathcon.
//!
//! libselinux refuses a whole file at its first bad line, we skip bad lines;
//! a file with deliberately bad lines is compared without them.
//!
//! Paths are sampled from the specs' own regexes by a small independent
//! sampler below (not our translator), then mutated (extra segments,
//! trailing and doubled slashes, truncation, substitutions, non-ASCII
//! bytes, a final newline). Runs without `-m` use `lstat` on the host, as
//! matchpathcon does; host paths that exist are left out of those runs.

mod common;

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use common::{find_matchpathcon, printed, run_lookup, split_output, Rng};
use sepolicy::{FileContexts, FileKind, NONE_CONTEXT};

/// Every file_contexts the tests use (relative to the workspace root), with
/// the number of paths to generate for it.
const FILES: &[(&str, usize)] = &[
    ("sepolicy/testdata/android_file_contexts", 6000),
    ("sepolicy/testdata/aosp/vendor_file_contexts", 3000),
    ("rootdir/system/etc/selinux/plat_file_contexts", 1500),
    ("sepolicy/policy/vendor/file_contexts", 1000),
    ("qemu-tests/testdata/selinux/vendor_file_contexts", 1000),
    ("qemu-tests/testdata/selinux/test_file_contexts", 500),
];
const BATCH: usize = 1500;
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789._-@+";

/// A piece of a (simple) regex, for sampling matching strings.
enum Elem {
    Bytes(Vec<u8>),
    Group(Vec<Vec<(Elem, (usize, usize))>>),
}

/// Parses the regex subset used in the fixture into a tree of elements
/// with repetition bounds.
fn parse_alt(re: &[u8], pos: &mut usize) -> Vec<Vec<(Elem, (usize, usize))>> {
    let mut branches = vec![Vec::new()];
    while *pos < re.len() {
        let c = re[*pos];
        *pos += 1;
        let elem = match c {
            b')' => break,
            b'|' => {
                branches.push(Vec::new());
                continue;
            }
            b'(' => {
                if re[*pos..].starts_with(b"?:") {
                    *pos += 2;
                }
                Elem::Group(parse_alt(re, pos))
            }
            b'.' => Elem::Bytes(ALPHABET.iter().copied().chain([b'/']).collect()),
            b'[' => Elem::Bytes(parse_class(re, pos)),
            b'\\' => {
                let e = re[*pos];
                *pos += 1;
                match e {
                    b'd' => Elem::Bytes((b'0'..=b'9').collect()),
                    b'w' => Elem::Bytes(ALPHABET[..36].iter().copied().chain([b'_']).collect()),
                    other => Elem::Bytes(vec![other]),
                }
            }
            other => Elem::Bytes(vec![other]),
        };
        let reps = match re.get(*pos) {
            Some(b'?') => (0, 1),
            Some(b'*') => (0, 3),
            Some(b'+') => (1, 3),
            Some(b'{') => {
                let close = *pos
                    + re[*pos..]
                        .iter()
                        .position(|&b| b == b'}')
                        .expect("closing brace");
                let text = std::str::from_utf8(&re[*pos + 1..close]).expect("ascii");
                let (lo, hi) = text.split_once(',').unwrap_or((text, text));
                let lo: usize = lo.parse().expect("count");
                let hi: usize = hi.parse().unwrap_or(lo + 2);
                *pos = close;
                (lo, hi.min(lo + 2))
            }
            _ => (1, 1),
        };
        if reps != (1, 1) {
            *pos += 1;
        }
        branches.last_mut().expect("a branch").push((elem, reps));
    }
    branches
}

fn parse_class(re: &[u8], pos: &mut usize) -> Vec<u8> {
    let negate = re[*pos] == b'^';
    if negate {
        *pos += 1;
    }
    let mut set = BTreeSet::new();
    let mut first = true;
    loop {
        let c = re[*pos];
        *pos += 1;
        if c == b']' && !first {
            break;
        }
        first = false;
        if c == b'[' && re[*pos] == b':' {
            let end = *pos
                + re[*pos..]
                    .windows(2)
                    .position(|w| w == b":]")
                    .expect("posix end");
            assert_eq!(&re[*pos + 1..end], b"alnum", "sampler knows [:alnum:] only");
            set.extend(ALPHABET[..36].iter().copied());
            *pos = end + 2;
        } else if c == b'\\' {
            let e = re[*pos];
            *pos += 1;
            if e == b'w' {
                set.extend(ALPHABET[..36].iter().copied().chain([b'_']));
            } else {
                set.insert(e);
            }
        } else if re[*pos] == b'-' && re[*pos + 1] != b']' {
            let hi = re[*pos + 1];
            *pos += 2;
            set.extend(c..=hi);
        } else {
            set.insert(c);
        }
    }
    if negate {
        ALPHABET
            .iter()
            .copied()
            .filter(|b| !set.contains(b))
            .collect()
    } else {
        set.into_iter().collect()
    }
}

fn sample(branches: &[Vec<(Elem, (usize, usize))>], rng: &mut Rng, out: &mut Vec<u8>) {
    for (elem, (lo, hi)) in rng.pick(branches) {
        let n = lo + rng.below(hi - lo + 1);
        for _ in 0..n {
            match elem {
                Elem::Bytes(set) => out.push(*rng.pick(set)),
                Elem::Group(inner) => sample(inner, rng, out),
            }
        }
    }
}

fn mutate(path: &mut Vec<u8>, rng: &mut Rng) {
    match rng.below(11) {
        0 => {}
        1 => {
            path.push(b'/');
            for _ in 0..1 + rng.below(6) {
                path.push(*rng.pick(ALPHABET));
            }
        }
        2 => path.push(b'/'),
        3 => {
            let at = rng.below(path.len() + 1);
            path.insert(at, b'/');
        }
        4 => path.truncate(1 + rng.below(path.len())),
        5 => {
            let at = rng.below(path.len());
            path[at] = *rng.pick(ALPHABET);
        }
        6 => path.push(b'\n'),
        7 => {
            let at = rng.below(path.len() + 1);
            let choices: [&[u8]; 3] = [b"\xc3\xa9", b"\xff", b"\x01"];
            let bytes = *rng.pick(&choices);
            path.splice(at..at, bytes.iter().copied());
        }
        8 => {
            for _ in 0..1 + rng.below(3) {
                path.push(*rng.pick(ALPHABET));
            }
        }
        9 => {
            let copy = path.clone();
            path.extend_from_slice(&copy);
        }
        _ => {
            let at = rng.below(path.len());
            path.remove(at);
        }
    }
}

/// Hand-picked paths for the rules the fixture exercises.
const FIXED: &[&str] = &[
    "/",
    "//",
    "/init",
    "/dev",
    "/dev/",
    "/dev//null",
    "/dev/null",
    "/dev/null/",
    "/dev/tty",
    "/dev/tty0",
    "/dev/tty12",
    "/dev/ttyS0",
    "/dev/hvc0",
    "/dev/hvc1",
    "/dev/hvc",
    "/dev/kmsg",
    "/dev/socket/logd",
    "/dev/socket/logdr",
    "/dev/socket/logdx",
    "/dev/socket/unlabelled",
    "/dev/block/vda",
    "/dev/block/vda1",
    "/dev/block/by-name/microdroid-vendor",
    "/dev/ashmem",
    "/dev/ashmemfoo",
    "/dev/__properties__",
    "/dev/__properties__/property_info",
    "/system/bin/sh",
    "/system/bin/toybox",
    "/system/bin/toolbox",
    "/system/bin/app_process64",
    "/system/lib64/libc++.so",
    "/system/lib64/libc.so",
    "/system/etc/selinux",
    "/system/vendor/lib64/libfoo.so",
    "/vendor",
    "/vendor/bin/hw/x",
    "/vendor/odm/etc/x",
    "/odm/etc/x",
    "/data",
    "/data/user/0",
    "/data/user/0/x",
    "/data/user/x",
    "/data/misc/x",
    "/data/vendor_de/1",
    "/data/app/foo/oat/arm64",
    "/apex/com.android.runtime/bin/linker64",
    "/apex/com.android.art@1/lib64/x.so",
    "/sys/fs/selinux/enforce",
    "/proc",
    "/proc/1",
    "/odm/lib64/libx-y.so",
    "/x/.git",
    "/x/y/.git/objects",
    "/storage/emulated",
    "/mnt/user/0",
    "/lib/modules/6.1/modules.dep",
    "/data/dalvik-cache/arm64/x.art",
    "/tmp/x\n",
    "/dev/null\n",
    "relative/path",
    "dev/null",
];

fn generate_paths(fc_text: &str, min_paths: usize) -> Vec<Vec<u8>> {
    let mut rng = Rng(0x5e11_0c0f_fee0_d00d);
    let mut paths: BTreeSet<Vec<u8>> = FIXED.iter().map(|p| p.as_bytes().to_vec()).collect();
    let regexes: Vec<&str> = fc_text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    while paths.len() < min_paths {
        for re in &regexes {
            let mut pos = 0;
            let tree = parse_alt(re.as_bytes(), &mut pos);
            for _ in 0..3 {
                let mut path = Vec::new();
                sample(&tree, &mut rng, &mut path);
                if path.is_empty() {
                    continue;
                }
                for _ in 0..rng.below(3) {
                    mutate(&mut path, &mut rng);
                }
                if !path.is_empty() && path[0] != b'-' {
                    paths.insert(path);
                }
            }
        }
    }
    paths.into_iter().collect()
}

#[test]
fn lookup_matches_libselinux_matchpathcon() {
    let Some(oracle) = find_matchpathcon() else {
        eprintln!("SKIP: matchpathcon not found (Debian package selinux-utils); differential test not run");
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root");
    let work = tempfile::tempdir().expect("tempdir");
    for (i, (rel, min_paths)) in FILES.iter().enumerate() {
        let dir = work.path().join(i.to_string());
        differential(&oracle, &root.join(rel), &dir, *min_paths);
    }
}

/// The text of `path` without the lines our parser rejects (libselinux would
/// refuse the whole file), and how many were dropped.
fn valid_part(path: &Path) -> (String, usize) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let outcome = FileContexts::parse(&text, &path.display().to_string());
    let bad: BTreeSet<usize> = outcome.errors.iter().map(|e| e.line).collect();
    let kept: String = text
        .lines()
        .enumerate()
        .filter(|(i, _)| !bad.contains(&(i + 1)))
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    (kept, bad.len())
}

fn differential(oracle: &Path, fc_path: &Path, work: &Path, min_paths: usize) {
    let ours = Path::new(env!("CARGO_BIN_EXE_sepolicy"));
    let (fc_text, dropped) = valid_part(fc_path);
    // Keep the file's name: `-f` must not care that it is `vendor_file_contexts`.
    std::fs::create_dir_all(work).expect("mkdir");
    let fc_copy = work.join(fc_path.file_name().expect("file name"));
    std::fs::write(&fc_copy, &fc_text).expect("write");
    let fc_path = fc_copy.as_path();
    let outcome = FileContexts::parse(&fc_text, &fc_path.display().to_string());
    assert!(outcome.errors.is_empty(), "{}", outcome.errors);
    let fc = outcome.contexts;
    let file_contexts: BTreeSet<&str> = fc_text
        .lines()
        .filter(|l| l.starts_with('/'))
        .filter_map(|l| l.split_whitespace().last())
        .collect();

    let paths = generate_paths(&fc_text, min_paths);
    let absent: Vec<Vec<u8>> = paths
        .iter()
        .filter(|p| std::fs::symlink_metadata(OsStr::from_bytes(printed(p))).is_err())
        .cloned()
        .collect();
    let modes: Vec<Option<FileKind>> = std::iter::once(None)
        .chain(FileKind::ALL.map(Some))
        .collect();

    let mut lookups = 0;
    let mut contexts_seen = BTreeSet::new();
    let mut mismatches = Vec::new();
    for kind in &modes {
        let set = if kind.is_none() { &absent } else { &paths };
        for batch in set.chunks(BATCH) {
            let mode = kind.map(FileKind::class_name);
            // matchpathcon reads only the first letter of -m: "fifo_file"
            // would be a regular file; its documented FIFO name is "pipe".
            let oracle_mode = match kind {
                Some(FileKind::Fifo) => Some("pipe"),
                _ => mode,
            };
            let theirs = run_lookup(oracle, &[], fc_path, oracle_mode, batch);
            let mine = run_lookup(ours, &["lookup"], fc_path, mode, batch);
            let split = split_output(&theirs, batch);
            for (path, want) in batch.iter().zip(&split) {
                let want = want
                    .clone()
                    .unwrap_or_else(|| panic!("no matchpathcon line for {path:?}"));
                let lib = fc
                    .lookup_bytes(printed(path), *kind)
                    .unwrap_or(NONE_CONTEXT);
                if lib.as_bytes() != want {
                    mismatches.push(format!(
                        "{:?} -m {mode:?}: libselinux {:?}, ours {lib:?}",
                        String::from_utf8_lossy(path),
                        String::from_utf8_lossy(&want)
                    ));
                }
                contexts_seen.insert(want);
            }
            lookups += batch.len();
            if mine != theirs {
                let our_split = split_output(&mine, batch);
                for ((path, w), o) in batch.iter().zip(&split).zip(&our_split) {
                    if w != o {
                        mismatches.push(format!(
                            "CLI {:?} -m {mode:?}: libselinux {:?}, ours {:?}",
                            String::from_utf8_lossy(path),
                            w.as_deref().map(String::from_utf8_lossy),
                            o.as_deref().map(String::from_utf8_lossy)
                        ));
                    }
                }
                assert!(
                    !mismatches.is_empty(),
                    "outputs differ outside the per-path lines"
                );
            }
        }
    }
    let reached = file_contexts
        .iter()
        .filter(|c| contexts_seen.contains(c.as_bytes()))
        .count();
    eprintln!(
        "differential {}: {} specs ({dropped} bad lines left out), {} distinct paths ({} without a host file for the no-type run), {} lookups, {reached} of {} contexts reached",
        fc_path.display(),
        fc_text.lines().filter(|l| l.starts_with('/')).count(),
        paths.len(),
        absent.len(),
        lookups,
        file_contexts.len()
    );
    assert!(paths.len() >= min_paths);
    assert!(
        reached * 10 >= file_contexts.len() * 9,
        "{}: paths reach too few contexts ({reached} of {})",
        fc_path.display(),
        file_contexts.len()
    );
    assert!(
        mismatches.is_empty(),
        "{}: {} mismatches:\n{}",
        fc_path.display(),
        mismatches.len(),
        mismatches[..mismatches.len().min(20)].join("\n")
    );
}
