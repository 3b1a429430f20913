//! `modules.alias`: `alias <pattern> <module>`; the pattern is a shell glob matched
//! against the requested name as kmod does.

use std::path::Path;

use super::{canonical_or_err, content_lines};
use crate::error::ModprobeError;

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

/// Parses a `modules.alias` file. Every line must be exactly `alias PATTERN MODULE`.
pub fn parse_alias(path: &Path, text: &str) -> Result<Vec<AliasEntry>, ModprobeError> {
    let mut entries = Vec::new();
    for (line, content) in content_lines(text) {
        let tokens: Vec<&str> = content.split_ascii_whitespace().collect();
        match tokens.as_slice() {
            ["alias", pattern, module] => entries.push(AliasEntry {
                line,
                pattern: (*pattern).to_owned(),
                module: canonical_or_err(path, line, module)?,
            }),
            ["alias", ..] => {
                return Err(ModprobeError::parse(
                    path,
                    line,
                    format!(
                        "alias lines must be `alias PATTERN MODULE`, found {} fields",
                        tokens.len()
                    ),
                ))
            }
            [other, ..] => {
                return Err(ModprobeError::parse(
                    path,
                    line,
                    format!("expected `alias`, found {other:?}"),
                ))
            }
            [] => {}
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<AliasEntry>, ModprobeError> {
        parse_alias(Path::new("modules.alias"), text)
    }

    #[test]
    fn parses_aliases() {
        let e = parse("# Aliases\nalias pci:v*d* virtio-pci\nalias\tfoo\tbar\n").unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].pattern, "pci:v*d*");
        assert_eq!(e[0].module, "virtio_pci");
        assert_eq!(e[0].line, 2);
        assert_eq!(e[1].module, "bar");
    }

    #[test]
    fn malformed() {
        assert_eq!(
            parse("alias a\n").unwrap_err().to_string(),
            "modules.alias:1: alias lines must be `alias PATTERN MODULE`, found 2 fields"
        );
        assert_eq!(
            parse("\nalias a b c\n").unwrap_err().to_string(),
            "modules.alias:2: alias lines must be `alias PATTERN MODULE`, found 4 fields"
        );
        assert_eq!(
            parse("options a b\n").unwrap_err().to_string(),
            "modules.alias:1: expected `alias`, found \"options\""
        );
        assert!(parse("alias a .ko\n").is_err());
    }
}
