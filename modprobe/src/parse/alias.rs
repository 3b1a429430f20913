//! `modules.alias`: `alias <pattern> <module>`; the pattern is a shell glob matched
//! against the requested name as kmod does.

use std::path::Path;

use super::{canonical_or_err, parse_lines, Parsed};

/// One `modules.alias` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AliasEntry {
    /// 1-based line number.
    pub line: usize,
    /// The glob pattern as written.
    pub pattern: String,
    /// Canonical name of the module it resolves to.
    pub module: String,
}

/// Parses a `modules.alias` file; a good line is exactly `alias PATTERN MODULE`.
pub fn parse_alias(path: &Path, bytes: &[u8]) -> Parsed<AliasEntry> {
    parse_lines(path, bytes, |line, content| {
        let tokens: Vec<&str> = content.split_ascii_whitespace().collect();
        match tokens.as_slice() {
            ["alias", pattern, module] => Ok(Some(AliasEntry {
                line,
                pattern: (*pattern).to_owned(),
                module: canonical_or_err(module)?,
            })),
            ["alias", ..] => Err(format!(
                "alias lines must be `alias PATTERN MODULE`, found {} fields",
                tokens.len()
            )),
            [other, ..] => Err(format!("expected `alias`, found {other:?}")),
            [] => Ok(None),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Parsed<AliasEntry> {
        parse_alias(Path::new("modules.alias"), text.as_bytes())
    }

    #[test]
    fn parses_aliases() {
        let e = parse("# Aliases\nalias pci:v*d* virtio-pci\nalias\tfoo\tbar\n").entries;
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].pattern, "pci:v*d*");
        assert_eq!(e[0].module, "virtio_pci");
        assert_eq!(e[0].line, 2);
        assert_eq!(e[1].module, "bar");
    }

    #[test]
    fn malformed_lines_are_skipped_the_rest_kept() {
        let p = parse("alias a\nalias x y\nalias a b c\noptions a b\nalias a .ko\n");
        assert_eq!(p.entries.len(), 1);
        assert_eq!(p.entries[0].line, 2);
        let problems: Vec<String> = p.problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            problems,
            [
                "modules.alias:1: alias lines must be `alias PATTERN MODULE`, found 2 fields; line skipped",
                "modules.alias:3: alias lines must be `alias PATTERN MODULE`, found 4 fields; line skipped",
                "modules.alias:4: expected `alias`, found \"options\"; line skipped",
                "modules.alias:5: malformed module name \".ko\"; line skipped",
            ]
        );
    }
}
