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
    let lookup = |vendor_flag: &str| {
        call(&[
            "sepolicy",
            "lookup",
            "-f",
            &plat,
            vendor_flag,
            &vendor,
            "/x/y",
            "/vendor/z",
        ])
    };
    // -f reads the file as matchpathcon does, whatever it is called.
    let (status, out, err) = lookup("-f");
    assert_eq!(status, 0);
    assert_eq!(
        out,
        "/x/y\tu:object_r:vendor_x:s0\n/vendor/z\tu:object_r:vz:s0\n"
    );
    assert!(err.contains(":2: line is missing fields"), "{err}");
    assert!(!err.contains("treble"), "{err}");
    // --partner applies the Treble rule: /x/y is skipped with a warning.
    let (status, out, err) = lookup("--partner");
    assert_eq!(status, 0);
    assert_eq!(
        out,
        "/x/y\tu:object_r:plat:s0\n/vendor/z\tu:object_r:vz:s0\n"
    );
    assert!(
        err.contains("vendor_file_contexts:1:") && err.contains("treble violation"),
        "{err}"
    );
    // The rule follows the flag: a plat-named file read with --partner is judged too.
    let (_, out, err) = call(&["sepolicy", "lookup", "--partner", &plat, "/x/y"]);
    assert_eq!(out, "/x/y\t<<none>>\n");
    assert!(err.contains("treble violation"), "{err}");
}

#[test]
fn usage_errors() {
    let (_d, fc) = fixture("/x u:object_r:x:s0\n");
    for args in [
        &["sepolicy"][..],
        &["sepolicy", "frobnicate"],
        &["sepolicy", "lookup", "-f", &fc],
        &["sepolicy", "lookup", "-f"],
        &["sepolicy", "lookup", "--partner"],
        &["sepolicy", "lookup", "--bogus", &fc, "/x"],
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
    assert_eq!(opts.files, [ContextsFile::plain("FILE")]);
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

fn getcon_with(ops: &dyn XattrOps, args: &[&str]) -> (i32, String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let status = getcon_main(&os(args), ops, &mut out, &mut err);
    (
        status,
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8(err).expect("utf8 stderr"),
    )
}

#[test]
fn getcon_prints_labels_without_trailing_nuls() {
    let fake = crate::label::FakeXattr::new()
        .with_label("/dev/null", b"u:object_r:null_device:s0\0")
        .with_label("/dev/kmsg", b"u:object_r:kmsg_device:s0")
        .with_label("/odd", b"u:object_r:odd:s0\0\0")
        .with_label("/-dash", b"u:object_r:dash:s0\0");
    let (status, out, err) = getcon_with(&fake, &["/dev/null", "/dev/kmsg", "/odd"]);
    assert_eq!(status, 0, "{err}");
    assert_eq!(
        out,
        "/dev/null\tu:object_r:null_device:s0\n\
         /dev/kmsg\tu:object_r:kmsg_device:s0\n\
         /odd\tu:object_r:odd:s0\n"
    );
    assert!(err.is_empty());
    // `--` lets a path start with `-`.
    let (status, out, _) = getcon_with(&fake, &["--", "/-dash"]);
    assert_eq!(status, 0);
    assert_eq!(out, "/-dash\tu:object_r:dash:s0\n");
}

#[test]
fn getcon_reports_unlabelled_paths_and_goes_on() {
    let fake = crate::label::FakeXattr::new().with_label("/b", b"u:object_r:b:s0\0");
    let (status, out, err) = getcon_with(&fake, &["/a", "/b"]);
    assert_eq!(status, 1);
    assert_eq!(out, "/b\tu:object_r:b:s0\n");
    assert_eq!(err, "sepolicy: /a: no security.selinux attribute\n");
}

#[test]
fn getcon_usage_errors() {
    let fake = crate::label::FakeXattr::new();
    for args in [&[][..], &["--"], &["-R", "/x"], &["/x", "-f"]] {
        let (status, out, err) = getcon_with(&fake, args);
        assert_eq!(status, 2, "{args:?}");
        assert!(out.is_empty());
        assert!(err.contains("sepolicy getcon PATH..."), "{err}");
    }
    // `-` alone is a path (a file named `-` in the current directory).
    let (status, _, err) = getcon_with(&fake, &["-"]);
    assert_eq!(status, 1);
    assert!(err.contains("-: no security.selinux attribute"), "{err}");
}

#[test]
fn getcon_reads_the_real_attribute_of_the_link_itself() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("f");
    std::fs::write(&file, b"").expect("write");
    let link = dir.path().join("l");
    std::os::unix::fs::symlink(&file, &link).expect("symlink");
    let missing = dir.path().join("missing");
    let (f, l, m) = (
        file.to_str().expect("utf8"),
        link.to_str().expect("utf8"),
        missing.to_str().expect("utf8"),
    );
    // Without a label (SELinux is off on the build host) the path is reported.
    let host_label = SystemXattr.get(&file).expect("lgetxattr");
    if host_label.is_none() {
        let (status, out, err) = call(&["sepolicy", "getcon", f]);
        assert_eq!(status, 1);
        assert!(out.is_empty());
        assert!(err.contains("no security.selinux attribute"), "{err}");
    }
    let (status, _, err) = call(&["sepolicy", "getcon", m]);
    assert_eq!(status, 1);
    assert!(err.contains("No such file"), "{err}");
    // Setting security.* needs CAP_SYS_ADMIN (and an LSM that accepts the value).
    let labelled = SystemXattr
        .set(&file, b"u:object_r:f:s0\0")
        .and_then(|()| SystemXattr.set(&link, b"u:object_r:l:s0\0"));
    match labelled {
        Ok(()) => {
            let (status, out, err) = call(&["sepolicy", "getcon", f, l]);
            assert_eq!(status, 0, "{err}");
            assert_eq!(out, format!("{f}\tu:object_r:f:s0\n{l}\tu:object_r:l:s0\n"));
        }
        Err(e) => eprintln!("skipping the labelled part: {e}"),
    }
}
