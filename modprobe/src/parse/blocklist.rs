//! `modules.blocklist`: `blocklist <module>`, one module per line.

use std::path::Path;

use super::{canonical_or_err, content_lines};
use crate::error::ModprobeError;

/// One `modules.blocklist` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlocklistEntry {
    /// 1-based line number.
    pub line: usize,
    /// Canonical module name.
    pub module: String,
}

/// Parses a `modules.blocklist` file. Every line must be exactly `blocklist MODULE`.
pub fn parse_blocklist(path: &Path, text: &str) -> Result<Vec<BlocklistEntry>, ModprobeError> {
    let mut entries = Vec::new();
    for (line, content) in content_lines(text) {
        let tokens: Vec<&str> = content.split_ascii_whitespace().collect();
        match tokens.as_slice() {
            ["blocklist", module] => entries.push(BlocklistEntry {
                line,
                module: canonical_or_err(path, line, module)?,
            }),
            ["blocklist", ..] => {
                return Err(ModprobeError::parse(
                    path,
                    line,
                    format!(
                        "blocklist lines must be `blocklist MODULE`, found {} fields",
                        tokens.len()
                    ),
                ))
            }
            [other, ..] => {
                return Err(ModprobeError::parse(
                    path,
                    line,
                    format!("expected `blocklist`, found {other:?}"),
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

    fn parse(text: &str) -> Result<Vec<BlocklistEntry>, ModprobeError> {
        parse_blocklist(Path::new("modules.blocklist"), text)
    }

    #[test]
    fn parses() {
        let e = parse("# no\nblocklist snd-dummy\nblocklist x.ko\n").unwrap();
        assert_eq!(e[0].module, "snd_dummy");
        assert_eq!(e[0].line, 2);
        assert_eq!(e[1].module, "x");
    }

    #[test]
    fn malformed() {
        assert_eq!(
            parse("blocklist\n").unwrap_err().to_string(),
            "modules.blocklist:1: blocklist lines must be `blocklist MODULE`, found 1 fields"
        );
        assert_eq!(
            parse("blocklist a b\n").unwrap_err().to_string(),
            "modules.blocklist:1: blocklist lines must be `blocklist MODULE`, found 3 fields"
        );
        assert_eq!(
            parse("blacklist a\n").unwrap_err().to_string(),
            "modules.blocklist:1: expected `blocklist`, found \"blacklist\""
        );
    }
}
