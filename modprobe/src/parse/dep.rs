//! `modules.dep`: `path.ko: dep1.ko dep2.ko …`, one line per module.
//!
//! Both layouts are accepted: Android's flat one (`a.ko: b.ko`) and depmod's
//! (`kernel/drivers/…/a.ko: kernel/…/b.ko`). Paths stay as written (relative ones are
//! resolved against the module directory by [`crate::ModuleDb`]). The dependency list is
//! kept in file order, which for depmod is the full transitive closure in an order whose
//! reverse is a valid load order.

use std::collections::HashMap;
use std::path::Path;

use super::{canonical_or_err, content_lines};
use crate::error::ModprobeError;

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

/// Parses a `modules.dep` file.
///
/// Errors: a line without `:`, an empty or blank-containing module path, a malformed
/// module name, or a module that has two lines.
pub fn parse_dep(path: &Path, text: &str) -> Result<Vec<DepEntry>, ModprobeError> {
    let mut entries = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (line, content) in content_lines(text) {
        let Some((module, deps)) = content.split_once(':') else {
            return Err(ModprobeError::parse(
                path,
                line,
                "expected `module.ko: dependencies…`",
            ));
        };
        let module = module.trim();
        if module.is_empty() || module.contains(|c: char| c.is_ascii_whitespace()) {
            return Err(ModprobeError::parse(
                path,
                line,
                format!("malformed module path {module:?}"),
            ));
        }
        let name = canonical_or_err(path, line, module)?;
        let deps: Vec<String> = deps.split_ascii_whitespace().map(str::to_owned).collect();
        for dep in &deps {
            canonical_or_err(path, line, dep)?;
        }
        if let Some(first) = seen.insert(name.clone(), line) {
            return Err(ModprobeError::parse(
                path,
                line,
                format!("module {name} already listed at line {first}"),
            ));
        }
        entries.push(DepEntry {
            line,
            name,
            path: module.to_owned(),
            deps,
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<DepEntry>, ModprobeError> {
        parse_dep(Path::new("modules.dep"), text)
    }

    #[test]
    fn both_forms() {
        let e = parse("a.ko: b.ko c-d.ko\nb.ko:\nkernel/x/c-d.ko:\n").unwrap();
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
        let e = parse("a.ko :\tb.ko\t c.ko \r\n").unwrap();
        assert_eq!(e[0].path, "a.ko");
        assert_eq!(e[0].deps, vec!["b.ko", "c.ko"]);
    }

    #[test]
    fn malformed_lines_name_file_and_line() {
        let err = parse("a.ko:\nb.ko c.ko\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "modules.dep:2: expected `module.ko: dependencies…`"
        );
        let err = parse(": b.ko\n").unwrap_err();
        assert!(err
            .to_string()
            .starts_with("modules.dep:1: malformed module path"));
        let err = parse("a b.ko: c.ko\n").unwrap_err();
        assert!(err
            .to_string()
            .starts_with("modules.dep:1: malformed module path"));
        let err = parse("dir/.ko:\n").unwrap_err();
        assert!(err
            .to_string()
            .starts_with("modules.dep:1: malformed module name"));
        let err = parse("a.ko: x/.ko\n").unwrap_err();
        assert!(err
            .to_string()
            .starts_with("modules.dep:1: malformed module name"));
    }

    #[test]
    fn duplicate_module_is_an_error() {
        let err = parse("a.ko:\nx/a.ko:\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "modules.dep:2: module a already listed at line 1"
        );
    }
}
