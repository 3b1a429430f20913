//! Lint of the image's configuration with the guest's own parsers and words: the rc
//! files of `/vendor/etc/init` (init_rc's parser, as the second stage parses them; imports
//! are listed, not followed, as by `init_rc verify`), `/vendor/etc/ueventd.rc` (ueventd's
//! `parse_config_files`) and `/vendor/etc/selinux/vendor_file_contexts` (sepolicy's
//! `load_android` with the Treble rule of a partner file, as the first stage merges it).

use std::path::Path;

use init_rc::parser::{DiagKind, Parser};
use init_rc::property::PropertyStore;
use sepolicy::{ContextsFile, FileContexts};

/// The guest's mount point of the image.
const VENDOR: &str = "/vendor";

/// One problem, where the guest reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintEntry {
    /// The guest's path of the file.
    pub file: String,
    /// 1-based line (0: the file as a whole).
    pub line: u64,
    /// What is wrong, in the guest's words.
    pub message: String,
    /// The line the guest logs for it (without the kernel's timestamp).
    pub guest_line: String,
}

/// The host copy's path `p` (under `root`) as the guest names it.
fn guest_path(root: &Path, p: &str) -> String {
    match Path::new(p).strip_prefix(root) {
        Ok(rest) => format!("{VENDOR}/{}", rest.display()),
        Err(_) => p.to_owned(),
    }
}

/// Lints the copy of the image's files at `root` (the guest's `/vendor`); `symlinks` are
/// the image's symbolic links (image path, target), which the copy does not have: one in
/// `/etc/init` is refused by the guest's init.
pub fn lint(root: &Path, symlinks: &[(String, String)]) -> Vec<LintEntry> {
    let mut out = Vec::new();
    for (p, _) in symlinks {
        if p.strip_prefix("/etc/init/")
            .is_some_and(|f| !f.contains('/'))
        {
            let file = format!("{VENDOR}{p}");
            out.push(LintEntry {
                guest_line: format!("init: cannot read {file}: refusing a symbolic link"),
                file,
                line: 0,
                message: "refusing a symbolic link".to_owned(),
            });
        }
    }
    let props = PropertyStore::new();
    let mut parser = Parser::without_imports(&props);
    parser.parse_dir(&root.join("etc/init"));
    for d in parser.finish().diagnostics {
        let mut d = d;
        d.file = guest_path(root, &d.file);
        let message = match d.kind {
            DiagKind::Syntax => format!("syntax error: {}", d.message),
            DiagKind::Unsupported => format!("unsupported {} '{}'", d.what, d.message),
        };
        out.push(LintEntry {
            file: d.file.clone(),
            line: u64::from(d.line),
            message,
            guest_line: format!("init: {d}"),
        });
    }
    let ueventd = root.join("etc/ueventd.rc");
    if ueventd.exists() {
        let (_, errors) = ueventd::parse_config_files(&[ueventd]);
        for mut e in errors {
            e.file = guest_path(root, &e.file);
            out.push(LintEntry {
                file: e.file.clone(),
                line: e.line as u64,
                message: e.message.clone(),
                guest_line: format!("ueventd: {e}"),
            });
        }
    }
    let contexts = root.join("etc/selinux/vendor_file_contexts");
    if contexts.exists() {
        match FileContexts::load_android(&[ContextsFile::partner(&contexts)]) {
            Ok(outcome) => {
                for mut e in outcome.errors.0 {
                    e.origin = guest_path(root, &e.origin);
                    out.push(LintEntry {
                        file: e.origin.clone(),
                        line: e.line as u64,
                        message: e.kind.to_string(),
                        guest_line: format!("selinux: {e}"),
                    });
                }
            }
            Err(e) => out.push(LintEntry {
                file: format!("{VENDOR}/etc/selinux/vendor_file_contexts"),
                line: 0,
                message: e.to_string(),
                guest_line: format!("selinux: cannot read file_contexts: {e}"),
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_file_in_the_guests_words() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        std::fs::create_dir_all(r.join("etc/init")).unwrap();
        std::fs::create_dir_all(r.join("etc/selinux")).unwrap();
        std::fs::write(
            r.join("etc/init/bad.rc"),
            "on init\n    frobnicate now\n    write /x \"unterminated\n",
        )
        .unwrap();
        std::fs::write(r.join("etc/ueventd.rc"), "/dev/x 0999 root root\n").unwrap();
        std::fs::write(
            r.join("etc/selinux/vendor_file_contexts"),
            "/vendor(/.*)? u:object_r:vendor_file:s0\n/data/x u:object_r:vendor_file:s0\nlonely\n",
        )
        .unwrap();
        let l = lint(r, &[("/etc/init/x.rc".into(), "/etc/passwd".into())]);
        let lines: Vec<&str> = l.iter().map(|e| e.guest_line.as_str()).collect();
        assert!(
            lines.contains(&"init: unsupported command 'frobnicate' at /vendor/etc/init/bad.rc:2"),
            "{lines:#?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("init: syntax error at /vendor/etc/init/bad.rc:3: ")),
            "{lines:#?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("ueventd: /vendor/etc/ueventd.rc:1: invalid mode '0999'")),
            "{lines:#?}"
        );
        assert!(
            lines.iter().any(|l| l
                .starts_with("selinux: /vendor/etc/selinux/vendor_file_contexts:2: ")
                && l.contains("treble violation")),
            "{lines:#?}"
        );
        assert!(
            lines.iter().any(|l| l.starts_with(
                "selinux: /vendor/etc/selinux/vendor_file_contexts:3: line is missing fields"
            )),
            "{lines:#?}"
        );
        let e = l.iter().find(|e| e.file.ends_with("ueventd.rc")).unwrap();
        assert_eq!(e.line, 1);
        assert!(lint(&r.join("nothing"), &[]).is_empty());
        assert_eq!(
            lines[0],
            "init: cannot read /vendor/etc/init/x.rc: refusing a symbolic link"
        );
    }
}
