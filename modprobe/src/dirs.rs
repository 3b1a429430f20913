//! Choosing the first-stage module directory (AOSP `first_stage_init.cpp`
//! `LoadKernelModules`): `/lib/modules/<uname -r>` if present, else a directory whose
//! name starts with the running kernel's `X.Y`, else `/lib/modules` itself.

use std::path::{Path, PathBuf};

use crate::sys;

/// The module directory the first stage loads from, for the running page size.
///
/// `lib_modules` is the base (`/lib/modules` in the guest), `release` the running
/// kernel's release (`uname -r`).
pub fn first_stage_module_dir(lib_modules: &Path, release: &str) -> PathBuf {
    first_stage_module_dir_for_page_size(lib_modules, release, sys::page_size())
}

/// [`first_stage_module_dir`] for a given page size, as AOSP does it:
///
/// 1. `<lib_modules>/<release><suffix>` if it is a directory, where the suffix is empty
///    for 4 KiB pages and `_16k`/`_64k` for larger ones;
/// 2. else the first, in byte order of names, directory whose name begins with the
///    kernel's `major.minor` numbers (`6.1` matches `6.1-gki` and `6.1.0-x`, not `6.10`),
///    skipping names that end in a `_16k`/`_64k` suffix for another page size, and that
///    contains a `modules.dep` (AOSP moves on from directories it loads nothing from);
/// 3. else `lib_modules` itself.
pub fn first_stage_module_dir_for_page_size(
    lib_modules: &Path,
    release: &str,
    page_size: usize,
) -> PathBuf {
    let suffix = page_size_suffix(page_size);
    let exact = format!("{release}{suffix}");
    if !release.is_empty() && !exact.contains('/') {
        let dir = lib_modules.join(&exact);
        if dir.is_dir() {
            return dir;
        }
    }
    let Some(version) = major_minor(release) else {
        return lib_modules.to_path_buf();
    };
    let Ok(entries) = std::fs::read_dir(lib_modules) else {
        return lib_modules.to_path_buf();
    };
    let mut candidates: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| {
            let dir_suffix = dir_page_size_suffix(name);
            (dir_suffix.is_empty() || dir_suffix == suffix) && major_minor(name) == Some(version)
        })
        .collect();
    candidates.sort();
    candidates
        .into_iter()
        .map(|name| lib_modules.join(name))
        .find(|dir| dir.join("modules.dep").is_file())
        .unwrap_or_else(|| lib_modules.to_path_buf())
}

/// `""` for pages up to 4 KiB, else `_<N>k` (AOSP `GetPageSizeSuffix`).
fn page_size_suffix(page_size: usize) -> String {
    if page_size <= 4096 {
        String::new()
    } else {
        format!("_{}k", page_size / 1024)
    }
}

/// The page-size suffix a directory name carries, if any.
fn dir_page_size_suffix(name: &str) -> &'static str {
    if name.ends_with("_16k") {
        "_16k"
    } else if name.ends_with("_64k") {
        "_64k"
    } else {
        ""
    }
}

/// The leading `major.minor` numbers of a release string (`sscanf("%d.%d")`).
fn major_minor(s: &str) -> Option<(u32, u32)> {
    let (major, rest) = leading_number(s)?;
    let rest = rest.strip_prefix('.')?;
    let (minor, _) = leading_number(rest)?;
    Some((major, minor))
}

fn leading_number(s: &str) -> Option<(u32, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, rest) = s.split_at(end);
    Some((digits.parse().ok()?, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn tree(dirs: &[(&str, bool)]) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        for (dir, with_dep) in dirs {
            let d = root.path().join(dir);
            fs::create_dir_all(&d).unwrap();
            if *with_dep {
                fs::write(d.join("modules.dep"), "").unwrap();
            }
        }
        root
    }

    #[test]
    fn exact_release_wins() {
        let root = tree(&[("6.1.0-57-cloud-arm64", false), ("6.1", true)]);
        assert_eq!(
            first_stage_module_dir_for_page_size(root.path(), "6.1.0-57-cloud-arm64", 4096),
            root.path().join("6.1.0-57-cloud-arm64")
        );
    }

    #[test]
    fn major_minor_match_sorted_and_with_modules_dep() {
        let root = tree(&[
            ("6.10", true),
            ("6.1-gki", true),
            ("6.1", false),
            ("5.15", true),
        ]);
        assert_eq!(
            first_stage_module_dir_for_page_size(root.path(), "6.1.23-android14", 4096),
            root.path().join("6.1-gki")
        );
        let root = tree(&[("6.1-b", true), ("6.1-a", true)]);
        assert_eq!(
            first_stage_module_dir_for_page_size(root.path(), "6.1.0", 4096),
            root.path().join("6.1-a")
        );
    }

    #[test]
    fn page_size_suffixes() {
        let root = tree(&[("6.1_16k", true), ("6.1-x", true)]);
        assert_eq!(
            first_stage_module_dir_for_page_size(root.path(), "6.1.0", 4096),
            root.path().join("6.1-x")
        );
        assert_eq!(
            first_stage_module_dir_for_page_size(root.path(), "6.1.0", 16384),
            root.path().join("6.1-x"),
            "unsuffixed dirs are not skipped; 6.1-x sorts before 6.1_16k"
        );
        let root = tree(&[("6.1.0_16k", false), ("6.1.0", true)]);
        assert_eq!(
            first_stage_module_dir_for_page_size(root.path(), "6.1.0", 16384),
            root.path().join("6.1.0_16k")
        );
    }

    #[test]
    fn falls_back_to_base() {
        let root = tree(&[("5.15", true), ("6.1-nodep", false)]);
        assert_eq!(
            first_stage_module_dir_for_page_size(root.path(), "6.1.0", 4096),
            root.path()
        );
        assert_eq!(
            first_stage_module_dir_for_page_size(root.path(), "garbage", 4096),
            root.path()
        );
        assert_eq!(
            first_stage_module_dir_for_page_size(&root.path().join("missing"), "6.1", 4096),
            root.path().join("missing")
        );
        assert_eq!(
            first_stage_module_dir_for_page_size(root.path(), "../5.15", 4096),
            root.path()
        );
    }

    #[test]
    fn version_parsing() {
        assert_eq!(major_minor("6.1.0-57"), Some((6, 1)));
        assert_eq!(major_minor("6.10"), Some((6, 10)));
        assert_eq!(major_minor("6"), None);
        assert_eq!(major_minor("x6.1"), None);
        assert_eq!(major_minor("99999999999.1"), None);
        assert!(first_stage_module_dir(Path::new("/nonexistent"), "1.2").ends_with("nonexistent"));
    }
}
