//! Android's file_contexts set: which files, in which order, and the
//! Treble rule for the partner ones.
//!
//! libselinux's Android port (`android_platform.c`,
//! `selinux_android_file_context_handle`) opens, for each partition in this
//! order, the first readable of its candidate paths: plat, apex,
//! system_ext, product, vendor, odm. All files go to one `selabel_open`
//! (with `SELABEL_OPT_BASEONLY`), so their specs are concatenated in that
//! order and then sorted once (exact specs after regex specs): later files
//! override earlier ones, and any exact spec overrides every regex spec.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::SepolicyError;
use crate::file_contexts::{FileContexts, ParseOutcome};

/// Largest file_contexts file we read (AOSP's are well under 1 MiB).
pub const MAX_FILE_CONTEXTS_SIZE: u64 = 16 << 20;

/// The candidate paths of each partition's file_contexts, in libselinux's
/// order, and whether the partition is a partner's (vendor, odm: the Treble
/// rule applies to its file); the first readable path of each group is used.
pub const ANDROID_FILE_CONTEXTS: [(&[&str], bool); 6] = [
    (
        &[
            "/system/etc/selinux/plat_file_contexts",
            "/plat_file_contexts",
        ],
        false,
    ),
    (&["/dev/selinux/apex_file_contexts"], false),
    (
        &[
            "/system_ext/etc/selinux/system_ext_file_contexts",
            "/system_ext_file_contexts",
        ],
        false,
    ),
    (
        &[
            "/product/etc/selinux/product_file_contexts",
            "/product_file_contexts",
        ],
        false,
    ),
    (
        &[
            "/vendor/etc/selinux/vendor_file_contexts",
            "/vendor_file_contexts",
        ],
        true,
    ),
    (
        &["/odm/etc/selinux/odm_file_contexts", "/odm_file_contexts"],
        true,
    ),
];

/// One file_contexts file to merge, and whether it is a partner's (vendor or
/// odm): then every entry must pass the Treble rule
/// ([`FileContexts::parse_partner`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextsFile {
    /// The file.
    pub path: PathBuf,
    /// Apply the Treble rule to its entries.
    pub partner: bool,
}

impl ContextsFile {
    /// A platform file: every entry is taken (`matchpathcon -f`).
    pub fn plain(path: impl Into<PathBuf>) -> ContextsFile {
        ContextsFile {
            path: path.into(),
            partner: false,
        }
    }

    /// A partner file: entries that may label outside the partner roots are
    /// skipped.
    pub fn partner(path: impl Into<PathBuf>) -> ContextsFile {
        ContextsFile {
            path: path.into(),
            partner: true,
        }
    }
}

/// The file_contexts files present under `root` (`/` in the guest), in
/// libselinux's order (the first existing candidate of each partition). The
/// vendor and odm partitions' files are partner files whatever they are
/// called: the Treble rule follows the partition, not the file name.
pub fn android_file_contexts_paths(root: &Path) -> Vec<ContextsFile> {
    ANDROID_FILE_CONTEXTS
        .iter()
        .filter_map(|(candidates, partner)| {
            candidates
                .iter()
                .map(|c| root.join(c.trim_start_matches('/')))
                .find(|p| p.is_file())
                .map(|path| ContextsFile {
                    path,
                    partner: *partner,
                })
        })
        .collect()
}

impl FileContexts {
    /// Loads and merges `files` in the given order, applying the Treble rule
    /// to partner files. Rejected lines and Treble violations are returned in
    /// the outcome, not logged: the caller reports them once, in its own
    /// words (the first stage and the applet do); an unreadable file is an
    /// error.
    pub fn load_android(files: &[ContextsFile]) -> Result<ParseOutcome, SepolicyError> {
        let mut outcome = ParseOutcome::default();
        for file in files {
            let text = read_limited(&file.path, MAX_FILE_CONTEXTS_SIZE)?;
            let origin = file.path.display().to_string();
            let parsed = if file.partner {
                FileContexts::parse_partner(&text, &origin)
            } else {
                FileContexts::parse_bytes(&text, &origin)
            };
            outcome.merge(parsed);
        }
        Ok(outcome)
    }
}

/// Reads a whole file of at most `limit` bytes.
pub(crate) fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, SepolicyError> {
    let read_error = |source| SepolicyError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(read_error)?;
    let mut data = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(read_error)?;
    if u64::try_from(data.len()).map_or(true, |n| n > limit) {
        return Err(SepolicyError::TooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
        path
    }

    #[test]
    fn finds_files_in_libselinux_order_first_candidate_wins() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "odm_file_contexts", "");
        write(root, "vendor/etc/selinux/vendor_file_contexts", "");
        write(root, "vendor_file_contexts", "");
        write(root, "plat_file_contexts", "");
        write(root, "system/etc/selinux/plat_file_contexts", "");
        write(root, "dev/selinux/apex_file_contexts", "");
        let found = android_file_contexts_paths(root);
        let rel: Vec<_> = found
            .iter()
            .map(|f| {
                (
                    f.path.strip_prefix(root).expect("under root").to_path_buf(),
                    f.partner,
                )
            })
            .collect();
        assert_eq!(
            rel,
            [
                ("system/etc/selinux/plat_file_contexts", false),
                ("dev/selinux/apex_file_contexts", false),
                ("vendor/etc/selinux/vendor_file_contexts", true),
                ("odm_file_contexts", true),
            ]
            .map(|(p, partner)| (PathBuf::from(p), partner))
        );
    }

    #[test]
    fn later_files_override_and_exact_specs_win_across_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let plat = write(
            dir.path(),
            "plat_file_contexts",
            "/dev(/.*)?  u:object_r:device:s0\n\
             /dev/kmsg  u:object_r:kmsg_device:s0\n\
             /vendor(/.*)?  u:object_r:vendor_file:s0\n",
        );
        let vendor = write(
            dir.path(),
            "vendor_file_contexts",
            "/dev/km.*  u:object_r:vendor_kmsg:s0\n\
             /dev/foo  u:object_r:vendor_foo:s0\n\
             /vendor/bin(/.*)?  u:object_r:vendor_bin:s0\n\
             /system/bin/sh  u:object_r:vendor_sh:s0\n\
             /data/vendor(/.*)?  u:object_r:vendor_data:s0\n",
        );
        let outcome = FileContexts::load_android(&[
            ContextsFile::plain(&plat),
            ContextsFile::partner(vendor),
        ])
        .expect("load");
        let fc = &outcome.contexts;
        // The plat exact spec still beats the later vendor regex spec.
        assert_eq!(
            fc.lookup("/dev/kmsg", None),
            Some("u:object_r:kmsg_device:s0")
        );
        assert_eq!(
            fc.lookup("/dev/kmsg2", None),
            Some("u:object_r:vendor_kmsg:s0")
        );
        assert_eq!(
            fc.lookup("/dev/foo", None),
            Some("u:object_r:vendor_foo:s0")
        );
        assert_eq!(
            fc.lookup("/vendor/bin/x", None),
            Some("u:object_r:vendor_bin:s0")
        );
        assert_eq!(
            fc.lookup("/vendor/lib", None),
            Some("u:object_r:vendor_file:s0")
        );
        assert_eq!(
            fc.lookup("/data/vendor/x", None),
            Some("u:object_r:vendor_data:s0")
        );
        // The treble-violating vendor entry was skipped and reported.
        assert_eq!(fc.lookup("/system/bin/sh", None), None);
        assert_eq!(outcome.errors.len(), 1);
        let error = &outcome.errors.0[0];
        assert_eq!(error.line, 4);
        assert!(
            error.to_string().contains("vendor_file_contexts:4:"),
            "{error}"
        );
        assert!(error.to_string().contains("treble violation"), "{error}");
        // A plat file may label anything.
        let plat_only = FileContexts::load_android(&[ContextsFile::plain(&plat)]).expect("load");
        assert!(plat_only.errors.is_empty());
        // The rule follows the flag, not the name: the same vendor text read as a
        // plain file keeps every entry (as `matchpathcon -f` does).
        let renamed = write(
            dir.path(),
            "odm_file_contexts",
            "/system/bin/sh  u:object_r:x:s0\n",
        );
        let plain = FileContexts::load_android(&[ContextsFile::plain(&renamed)]).expect("load");
        assert!(plain.errors.is_empty());
        assert_eq!(
            plain.contexts.lookup("/system/bin/sh", None),
            Some("u:object_r:x:s0")
        );
        let partner = FileContexts::load_android(&[ContextsFile::partner(plat)]).expect("load");
        assert_eq!(
            partner.errors.len(),
            0,
            "plat's /vendor and /dev entries pass the rule"
        );
    }

    #[test]
    fn unreadable_and_oversized_files_are_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("plat_file_contexts");
        assert!(matches!(
            FileContexts::load_android(&[ContextsFile::plain(missing)]),
            Err(SepolicyError::Read { .. })
        ));
        let big = write(dir.path(), "big", "0123456789");
        assert!(matches!(
            read_limited(&big, 9),
            Err(SepolicyError::TooLarge { limit: 9, .. })
        ));
        assert_eq!(read_limited(&big, 10).expect("fits"), b"0123456789");
    }
}
