//! Labeler tests on fixture trees with the recording fake.

use std::os::unix::fs::symlink;

use super::*;

const FC: &str = "/dev(/.*)?            u:object_r:device:s0\n\
    /dev/block(/.*)?        u:object_r:block_device:s0\n\
    /dev/block/by-name(/.*)? -l u:object_r:by_name_link:s0\n\
    /dev/kmsg               -c u:object_r:kmsg_device:s0\n\
    /dev/socket/unlabelled  <<none>>\n\
    /microdroid_resources(/.*)? u:object_r:microdroid_resources_file:s0\n";

fn contexts() -> FileContexts {
    let outcome = FileContexts::parse(FC, "fc");
    assert!(outcome.errors.is_empty(), "{}", outcome.errors);
    outcome.contexts
}

/// /dev with a few entries under a temporary physical root.
fn tree() -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("tempdir");
    let r = root.path();
    for dir in ["dev/block/by-name", "dev/socket", "microdroid_resources"] {
        fs::create_dir_all(r.join(dir)).expect("mkdir");
    }
    fs::write(r.join("dev/kmsg"), b"").expect("write");
    fs::write(r.join("dev/block/vda"), b"").expect("write");
    fs::write(r.join("dev/socket/unlabelled"), b"").expect("write");
    symlink(
        "/dev/block/vda",
        r.join("dev/block/by-name/microdroid-vendor"),
    )
    .expect("symlink");
    root
}

fn wanted(ctx: &str) -> Vec<u8> {
    let mut v = ctx.as_bytes().to_vec();
    v.push(0);
    v
}

#[test]
fn recursive_walk_labels_everything_in_order() {
    let root = tree();
    let fc = contexts();
    let fake = FakeXattr::new();
    let labeler = Labeler::new(&fc, &fake).with_root(root.path());
    let report = labeler
        .restorecon(Path::new("/dev"), true)
        .expect("restorecon");
    let r = root.path();
    let sets = fake.sets();
    let got: Vec<(PathBuf, String)> = sets
        .iter()
        .map(|(p, v)| {
            (
                p.strip_prefix(r).expect("under root").to_path_buf(),
                String::from_utf8(v.clone()).expect("utf8"),
            )
        })
        .collect();
    let want: Vec<(PathBuf, String)> = [
        ("dev", "u:object_r:device:s0\0"),
        ("dev/block", "u:object_r:block_device:s0\0"),
        ("dev/block/by-name", "u:object_r:block_device:s0\0"),
        (
            "dev/block/by-name/microdroid-vendor",
            "u:object_r:by_name_link:s0\0",
        ),
        ("dev/block/vda", "u:object_r:block_device:s0\0"),
        // A regular file named kmsg does not match the `-c` spec.
        ("dev/kmsg", "u:object_r:device:s0\0"),
        ("dev/socket", "u:object_r:device:s0\0"),
    ]
    .into_iter()
    .map(|(p, c)| (PathBuf::from(p), c.to_owned()))
    .collect();
    assert_eq!(got, want);
    assert_eq!(report.examined, 8);
    assert_eq!(report.relabeled, 7);
    assert_eq!(report.no_context, 1); // dev/socket/unlabelled: <<none>>
    assert_eq!(report.unchanged, 0);
    assert_eq!(report.failed, 0);
    // The symlink itself was labelled; its target was not followed out of
    // the tree (the target path does not exist under the root anyway).
    assert!(fake
        .label(&r.join("dev/block/by-name/microdroid-vendor"))
        .is_some());
}

#[test]
fn equal_labels_are_not_rewritten() {
    let root = tree();
    let r = root.path();
    let fc = contexts();
    let fake = FakeXattr::new()
        .with_label(r.join("dev/kmsg"), b"u:object_r:device:s0\0")
        .with_label(r.join("dev/block/vda"), b"u:object_r:block_device:s0")
        .with_label(r.join("dev/socket"), b"u:object_r:wrong:s0\0");
    let labeler = Labeler::new(&fc, &fake).with_root(r);
    let report = labeler
        .restorecon(Path::new("/dev"), true)
        .expect("restorecon");
    let written: Vec<PathBuf> = fake.sets().into_iter().map(|(p, _)| p).collect();
    assert!(!written.contains(&r.join("dev/kmsg")));
    assert!(!written.contains(&r.join("dev/block/vda")));
    assert!(written.contains(&r.join("dev/socket")));
    assert_eq!(report.unchanged, 2);
    assert_eq!(report.relabeled, 5);
    // A second pass changes nothing.
    let again = labeler
        .restorecon(Path::new("/dev"), true)
        .expect("restorecon");
    assert_eq!(again.relabeled, 0);
    assert_eq!(again.unchanged, 7);
}

#[test]
fn non_recursive_labels_only_the_path() {
    let root = tree();
    let fc = contexts();
    let fake = FakeXattr::new();
    let labeler = Labeler::new(&fc, &fake).with_root(root.path());
    let report = labeler
        .restorecon(Path::new("/microdroid_resources"), false)
        .expect("restorecon");
    assert_eq!(report.examined, 1);
    assert_eq!(
        fake.sets(),
        [(
            root.path().join("microdroid_resources"),
            wanted("u:object_r:microdroid_resources_file:s0")
        )]
    );
}

#[test]
fn inactive_selinux_is_a_no_op() {
    let root = tree();
    let fc = contexts();
    let fake = FakeXattr::new();
    let labeler = Labeler::new(&fc, &fake)
        .with_root(root.path())
        .with_active(false);
    let report = labeler
        .restorecon(Path::new("/dev"), true)
        .expect("restorecon");
    assert!(report.inactive);
    assert_eq!(report.examined, 0);
    labeler
        .label_new(Path::new("/dev/kmsg"), 0o020_600)
        .expect("label_new");
    assert!(fake.sets().is_empty());
    assert_eq!(report.to_string(), "SELinux not active, nothing labelled");
}

#[test]
fn dry_run_reports_without_writing() {
    let root = tree();
    let fc = contexts();
    let fake = FakeXattr::new().with_label(root.path().join("dev"), b"u:object_r:old:s0\0");
    let labeler = Labeler::new(&fc, &fake)
        .with_root(root.path())
        .with_dry_run(true);
    let mut seen = Vec::new();
    let report = labeler
        .restorecon_with(Path::new("/dev"), false, &mut |r| {
            seen.push((
                r.path.to_path_buf(),
                r.old.map(<[u8]>::to_vec),
                r.new.to_owned(),
                r.applied,
            ));
        })
        .expect("restorecon");
    assert_eq!(report.relabeled, 1);
    assert!(fake.sets().is_empty());
    assert_eq!(
        seen,
        [(
            PathBuf::from("/dev"),
            Some(b"u:object_r:old:s0".to_vec()),
            "u:object_r:device:s0".to_owned(),
            false
        )]
    );
}

#[test]
fn failures_are_collected_and_the_walk_goes_on() {
    let root = tree();
    let r = root.path();
    let fc = contexts();
    let fake = FakeXattr::new().failing_on(r.join("dev/block"));
    let labeler = Labeler::new(&fc, &fake).with_root(r);
    let err = labeler
        .restorecon(Path::new("/dev"), true)
        .expect_err("one failure");
    let SepolicyError::Restorecon { path, report } = err else {
        panic!("unexpected error");
    };
    assert_eq!(path, Path::new("/dev"));
    assert_eq!(report.failed, 1);
    assert_eq!(report.failures[0].path, Path::new("/dev/block"));
    // Everything else, including the children of the failed dir, was done.
    assert_eq!(report.relabeled, 6);
    assert!(
        report.to_string().contains("1 failed (first: /dev/block:"),
        "{report}"
    );
}

#[test]
fn missing_and_bad_paths() {
    let root = tree();
    let fc = contexts();
    let fake = FakeXattr::new();
    let labeler = Labeler::new(&fc, &fake).with_root(root.path());
    assert!(matches!(
        labeler.restorecon(Path::new("/dev/nonexistent"), true),
        Err(SepolicyError::Label { .. })
    ));
    for bad in ["dev", "/dev/../etc", "/dev/./block", "/dev/.."] {
        assert!(
            matches!(
                labeler.restorecon(Path::new(bad), true),
                Err(SepolicyError::BadPath { .. })
            ),
            "{bad}"
        );
        assert!(matches!(
            labeler.label_new(Path::new(bad), 0),
            Err(SepolicyError::BadPath { .. })
        ));
    }
}

#[test]
fn label_new_uses_the_mode() {
    let root = tree();
    let r = root.path();
    let fc = contexts();
    let fake = FakeXattr::new();
    let labeler = Labeler::new(&fc, &fake).with_root(r);
    labeler
        .label_new(Path::new("/dev/kmsg"), 0o020_600)
        .expect("chr");
    assert_eq!(
        fake.label(&r.join("dev/kmsg")),
        Some(wanted("u:object_r:kmsg_device:s0"))
    );
    labeler
        .label_new(Path::new("/dev/kmsg"), 0o100_600)
        .expect("file");
    assert_eq!(
        fake.label(&r.join("dev/kmsg")),
        Some(wanted("u:object_r:device:s0"))
    );
    // No context: nothing written, not an error.
    labeler
        .label_new(Path::new("/dev/socket/unlabelled"), 0o140_600)
        .expect("none");
    labeler
        .label_new(Path::new("/elsewhere"), 0o040_755)
        .expect("no match");
    assert_eq!(fake.sets().len(), 2);
    let failing = FakeXattr::new().failing_on(r.join("dev/kmsg"));
    let labeler = Labeler::new(&fc, &failing).with_root(r);
    assert!(matches!(
        labeler.label_new(Path::new("/dev/kmsg"), 0o020_600),
        Err(SepolicyError::Label { .. })
    ));
}

#[test]
fn real_root_maps_paths_unchanged() {
    let fc = contexts();
    let fake = FakeXattr::new();
    let labeler = Labeler::new(&fc, &fake);
    assert_eq!(
        labeler.physical(Path::new("/dev/kmsg")),
        Path::new("/dev/kmsg")
    );
    let under = Labeler::new(&fc, &fake).with_root("/tmp/r");
    assert_eq!(
        under.physical(Path::new("/dev/kmsg")),
        Path::new("/tmp/r/dev/kmsg")
    );
    assert_eq!(under.physical(Path::new("/")), Path::new("/tmp/r/"));
}

#[test]
fn system_xattr_on_a_real_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("f");
    fs::write(&file, b"").expect("write");
    let outcome = FileContexts::parse(
        &format!("{}/f u:object_r:t:s0\n", dir.path().display()),
        "fc",
    );
    let fc = outcome.contexts;
    let labeler = Labeler::new(&fc, &SystemXattr);
    match labeler.restorecon(&file, false) {
        Ok(report) => {
            assert_eq!(report.relabeled, 1);
            assert_eq!(
                SystemXattr.get(&file).expect("get"),
                Some(wanted("u:object_r:t:s0"))
            );
            let again = labeler.restorecon(&file, false).expect("again");
            assert_eq!(again.unchanged, 1);
        }
        // Without privilege or xattr support the failure must be reported.
        Err(SepolicyError::Restorecon { report, .. }) => {
            eprintln!("skipping real xattr check: {report}");
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn mount_points_are_labelled_or_skipped() {
    // The host's /dev has /dev/pts and /dev/shm mounted on it (when it does not,
    // there is nothing to test here).
    let dev = fs::symlink_metadata("/dev").expect("/dev").dev();
    let mounts: Vec<&str> = ["/dev/pts", "/dev/shm"]
        .into_iter()
        .filter(|p| fs::symlink_metadata(p).is_ok_and(|m| m.dev() != dev))
        .collect();
    if mounts.is_empty() {
        eprintln!("skipping: no mount points under the host's /dev");
        return;
    }
    let fc = FileContexts::parse("/dev(/.*)? u:object_r:device:s0\n", "fc").contexts;
    let fake = FakeXattr::new();
    let plain = Labeler::new(&fc, &fake).with_dry_run(true);
    let report = plain.restorecon(Path::new("/dev"), true).expect("walk");
    assert_eq!(report.not_descended, mounts.len(), "{report}");
    assert_eq!(report.mounts_skipped, 0);
    let examined = report.examined;
    let skipping = Labeler::new(&fc, &fake)
        .with_dry_run(true)
        .with_skip_mounts(true);
    let report = skipping.restorecon(Path::new("/dev"), true).expect("walk");
    assert_eq!(report.mounts_skipped, mounts.len(), "{report}");
    assert_eq!(report.not_descended, 0);
    assert_eq!(report.examined, examined - mounts.len());
    assert!(
        report.to_string().ends_with("mount points skipped"),
        "{report}"
    );
    assert!(fake.sets().is_empty(), "a dry run writes nothing");
}
