//! `modules.blocklist`: `blocklist <module>`, one module per line.

use std::path::Path;

use super::{canonical_or_err, parse_lines, Parsed};

/// One `modules.blocklist` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlocklistEntry {
    /// 1-based line number.
    pub line: usize,
    /// Canonical module name.
    pub module: String,
}

/// Parses a `modules.blocklist` file; a good line is exactly `blocklist MODULE`.
pub fn parse_blocklist(path: &Path, bytes: &[u8]) -> Parsed<BlocklistEntry> {
    parse_lines(path, bytes, |line, content| {
        let tokens: Vec<&str> = content.split_ascii_whitespace().collect();
        match tokens.as_slice() {
            ["blocklist", module] => Ok(Some(BlocklistEntry {
                line,
                module: canonical_or_err(module)?,
            })),
            ["blocklist", ..] => Err(format!(
                "blocklist lines must be `blocklist MODULE`, found {} fields",
                tokens.len()
            )),
            [other, ..] => Err(format!("expected `blocklist`, found {other:?}")),
            [] => Ok(None),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Parsed<BlocklistEntry> {
        parse_blocklist(Path::new("modules.blocklist"), text.as_bytes())
    }

    #[test]
    fn parses() {
        let e = parse("# no\nblocklist snd-dummy\nblocklist x.ko\n").entries;
        assert_eq!(e[0].module, "snd_dummy");
        assert_eq!(e[0].line, 2);
        assert_eq!(e[1].module, "x");
    }

    #[test]
    fn malformed_lines_are_skipped_the_rest_kept() {
        let p = parse("blocklist\nblocklist a b\nblacklist a\nblocklist c\n");
        assert_eq!(p.entries.len(), 1);
        assert_eq!(p.entries[0].module, "c");
        let problems: Vec<String> = p.problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            problems,
            [
                "modules.blocklist:1: blocklist lines must be `blocklist MODULE`, found 1 fields; line skipped",
                "modules.blocklist:2: blocklist lines must be `blocklist MODULE`, found 3 fields; line skipped",
                "modules.blocklist:3: expected `blocklist`, found \"blacklist\"; line skipped",
            ]
        );
    }
}
