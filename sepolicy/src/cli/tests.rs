//! Tests of the applet's argument parsing and output.

use super::*;
use crate::label::XattrOps;

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

fn call(args: &[&str]) -> (i32, String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let status = run(&os(args), &mut out, &mut err);
    (
        status,
        String::from_utf8(out).expect("utf8 stdout"),
        String::from_utf8(err).expect("utf8 stderr"),
    )
}

fn fixture(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("file_contexts");
    std::fs::write(&path, text).expect("write");
    let p = path.to_str().expect("utf8 path").to_owned();
    (dir, p)
}

#[test]
fn lookup_prints_like_matchpathcon() {
    let (_dir, fc) = fixture(
        "/nonexistent(/.*)? u:object_r:ne:s0\n\
         /nonexistent/dir -d u:object_r:ne_dir:s0\n\
         /nonexistent/none <<none>>\n",
    );
    let (status, out, err) = call(&[
        "sepolicy",
        "lookup",
        "-f",
        &fc,
        "/nonexistent/a",
        "/nonexistent/dir/",
        "/nonexistent/none",
        "/elsewhere",
    ]);
    assert_eq!(status, 0, "{err}");
    assert_eq!(
        out,
        "/nonexistent/a\tu:object_r:ne:s0\n\
         /nonexistent/dir\tu:object_r:ne_dir:s0\n\
         /nonexistent/none\t<<none>>\n\
         /elsewhere\t<<none>>\n"
    );
    let (status, out, _) = call(&[
        "sepolicy",
        "lookup",
        "-m",
        "file",
        &format!("-f{fc}"),
        "/nonexistent/dir",
    ]);
    assert_eq!(status, 0);
    assert_eq!(out, "/nonexistent/dir\tu:object_r:ne:s0\n");
    let (_, out, _) = call(&[
        "sepolicy",
        "lookup",
        "-f",
        &fc,
        "-m",
        "dir",
        "--",
        "/nonexistent/dir",
    ]);
    assert_eq!(out, "/nonexistent/dir\tu:object_r:ne_dir:s0\n");
}

#[test]
fn lookup_uses_lstat_without_m() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf8").to_owned();
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    let (_fcdir, fc) = fixture(&format!(
        "{d}/sub -d u:object_r:is_dir:s0\n{d}/sub -- u:object_r:is_file:s0\n"
    ));
    let (_, out, _) = call(&["sepolicy", "lookup", "-f", &fc, &format!("{d}/sub")]);
    assert_eq!(out, format!("{d}/sub\tu:object_r:is_dir:s0\n"));
    let (_, out, _) = call(&[
        "sepolicy",
        "lookup",
        "-f",
        &fc,
        "-m",
        "file",
        &format!("{d}/sub"),
    ]);
    assert_eq!(out, format!("{d}/sub\tu:object_r:is_file:s0\n"));
}

#[test]
fn several_files_merge_and_bad_lines_warn() {
    let (_d1, plat) = fixture("/x(/.*)? u:object_r:plat:s0\nbroken\n");
    let dir = tempfile::tempdir().expect("tempdir");
    let vendor = dir.path().join("vendor_file_contexts");
    std::fs::write(
        &vendor,
        "/x/y u:object_r:vendor_x:s0\n/vendor/z u:object_r:vz:s0\n",
    )
    .expect("write");
    let vendor = vendor.to_str().expect("utf8").to_owned();
    let (status, out, err) = call(&[
        "sepolicy",
        "lookup",
        "-f",
        &plat,
        "-f",
        &vendor,
        "/x/y",
        "/vendor/z",
    ]);
    assert_eq!(status, 0);
    // /x/y in a vendor file is a treble violation: skipped with a warning.
    assert_eq!(
        out,
        "/x/y\tu:object_r:plat:s0\n/vendor/z\tu:object_r:vz:s0\n"
    );
    assert!(err.contains(":2: line is missing fields"), "{err}");
    assert!(
        err.contains("vendor_file_contexts:1:") && err.contains("treble violation"),
        "{err}"
    );
}

#[test]
fn usage_errors() {
    let (_d, fc) = fixture("/x u:object_r:x:s0\n");
    for args in [
        &["sepolicy"][..],
        &["sepolicy", "frobnicate"],
        &["sepolicy", "lookup", "-f", &fc],
        &["sepolicy", "lookup", "-f"],
        &["sepolicy", "lookup", "-m", "bogus", "-f", &fc, "/x"],
        &["sepolicy", "lookup", "-R", "-f", &fc, "/x"],
        &["sepolicy", "restorecon", "-m", "file", "/x"],
        &["sepolicy", "restorecon", "-Rq", "/x"],
    ] {
        let (status, out, err) = call(args);
        assert_eq!(status, 2, "{args:?}");
        assert!(out.is_empty());
        assert!(err.contains("usage: sepolicy lookup"), "{err}");
    }
    let (status, out, _) = call(&["sepolicy", "help"]);
    assert_eq!(status, 0);
    assert!(out.starts_with("usage:"));
}

#[test]
fn unreadable_file_and_empty_path_fail() {
    let (status, _, err) = call(&["sepolicy", "lookup", "-f", "/nonexistent/fc", "/x"]);
    assert_eq!(status, 1);
    assert!(err.contains("reading /nonexistent/fc"), "{err}");
    let (_d, fc) = fixture("/x u:object_r:x:s0\n");
    let (status, out, err) = call(&["sepolicy", "lookup", "-f", &fc, "", "/x"]);
    assert_eq!(status, 1);
    assert_eq!(out, "/x\tu:object_r:x:s0\n");
    assert!(err.contains("empty path"), "{err}");
}

#[test]
fn option_grouping() {
    let opts = parse_options(
        &os(&["-Rnv", "a", "-fFILE", "b", "--", "-c"]),
        b"Rnv",
        false,
    )
    .expect("parse");
    assert!(opts.recursive && opts.dry_run && opts.verbose);
    assert_eq!(opts.files, [PathBuf::from("FILE")]);
    assert_eq!(opts.paths, os(&["a", "b", "-c"]));
    let opts = parse_options(&os(&["-mdir", "-", "x"]), b"", true).expect("parse");
    assert_eq!(opts.kind, Some(FileKind::Dir));
    assert_eq!(opts.paths, os(&["-", "x"]));
    assert!(parse_options(&os(&["-m", "dir"]), b"Rnv", false).is_err());
}

#[test]
fn restorecon_dry_run_reports_changes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf8").to_owned();
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    std::fs::write(dir.path().join("sub/f"), b"").expect("write");
    let (_fcdir, fc) = fixture(&format!("{d}/sub(/.*)? u:object_r:sub_t:s0\n"));
    let (status, out, err) = call(&[
        "sepolicy",
        "restorecon",
        "-Rnv",
        "-f",
        &fc,
        &format!("{d}/sub"),
    ]);
    assert_eq!(status, 0, "{err}");
    assert_eq!(
        out,
        format!(
            "Would relabel {d}/sub from <no context> to u:object_r:sub_t:s0\n\
             Would relabel {d}/sub/f from <no context> to u:object_r:sub_t:s0\n"
        )
    );
    assert!(SystemXattr
        .get(&dir.path().join("sub"))
        .expect("get")
        .is_none());
}
