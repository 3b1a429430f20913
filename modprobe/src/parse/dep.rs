//! `modules.dep`: `path.ko: dep1.ko dep2.ko …`, one line per module.
//!
//! Both layouts are accepted: Android's flat one (`a.ko: b.ko`) and depmod's
//! (`kernel/drivers/…/a.ko: kernel/…/b.ko`). Paths stay as written (relative ones are
//! resolved against the module directory by [`crate::ModuleDb`]). The dependency list is
//! kept in file order, which for depmod is the full transitive closure in an order whose
//! reverse is a valid load order. A module with two lines is returned twice; the later
//! line wins, as in AOSP ([`crate::ModuleDb`] reports it).

use std::path::Path;

use super::{canonical_or_err, parse_lines, Parsed};

/// One `modules.dep` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepEntry {
    /// 1-based line number.
    pub line: usize,
    /// Canonical module name (from the path's basename).
    pub name: String,
    /// The module's path as written.
    pub path: String,
    /// Dependency paths as written, in file order.
    pub deps: Vec<String>,
}

/// Parses a `modules.dep` file. Bad lines: no `:`, an empty or blank-containing module
/// path, or a malformed module or dependency name.
pub fn parse_dep(path: &Path, bytes: &[u8]) -> Parsed<DepEntry> {
    parse_lines(path, bytes, |line, content| {
        let Some((module, deps)) = content.split_once(':') else {
            return Err("expected `module.ko: dependencies…`".to_owned());
        };
        let module = module.trim();
        if module.is_empty() || module.contains(|c: char| c.is_ascii_whitespace()) {
            return Err(format!("malformed module path {module:?}"));
        }
        let name = canonical_or_err(module)?;
        let deps: Vec<String> = deps.split_ascii_whitespace().map(str::to_owned).collect();
        for dep in &deps {
            canonical_or_err(dep)?;
        }
        Ok(Some(DepEntry {
            line,
            name,
            path: module.to_owned(),
            deps,
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Parsed<DepEntry> {
        parse_dep(Path::new("modules.dep"), text.as_bytes())
    }

    #[test]
    fn both_forms() {
        let e = parse("a.ko: b.ko c-d.ko\nb.ko:\nkernel/x/c-d.ko:\n").entries;
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].name, "a");
        assert_eq!(e[0].deps, vec!["b.ko", "c-d.ko"]);
        assert_eq!(e[1].deps, Vec::<String>::new());
        assert_eq!(e[2].name, "c_d");
        assert_eq!(e[2].path, "kernel/x/c-d.ko");
        assert_eq!(e[2].line, 3);
    }

    #[test]
    fn tolerates_blank_around_colon_and_tabs() {
        let e = parse("a.ko :\tb.ko\t c.ko \r\n").entries;
        assert_eq!(e[0].path, "a.ko");
        assert_eq!(e[0].deps, vec!["b.ko", "c.ko"]);
    }

    #[test]
    fn malformed_lines_are_skipped_the_rest_kept() {
        let p = parse("a.ko:\nb.ko c.ko\n: b.ko\na b.ko: c.ko\ndir/.ko:\na.ko: x/.ko\nz.ko:\n");
        let names: Vec<&str> = p.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a", "z"]);
        let problems: Vec<String> = p.problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            problems,
            [
                "modules.dep:2: expected `module.ko: dependencies…`; line skipped",
                "modules.dep:3: malformed module path \"\"; line skipped",
                "modules.dep:4: malformed module path \"a b.ko\"; line skipped",
                "modules.dep:5: malformed module name \"dir/.ko\"; line skipped",
                "modules.dep:6: malformed module name \"x/.ko\"; line skipped",
            ]
        );
    }

    #[test]
    fn a_module_listed_twice_is_returned_twice() {
        let e = parse("a.ko:\nx/a.ko: b.ko\n").entries;
        assert_eq!(e.len(), 2);
        assert_eq!(e[1].deps, ["b.ko"]);
    }
}
