//! Parsers for the `modules.*` files, one submodule per file format.
//!
//! Every parser is a pure function from (file name, file bytes) to typed entries, so it
//! can be tested and fuzzed without a filesystem. As AOSP's `libmodprobe` reads these
//! files, a bad line does not spoil the file: it is reported (`file:line: what; line
//! skipped`) and skipped, and every other line counts ([`Parsed`]). The common line rules
//! (shared with AOSP's `ParseCfg` and kmod's config reader): lines are split on `\n` (a
//! trailing `\r` is dropped), tokens on ASCII whitespace, and empty lines and lines whose
//! first non-blank character is `#` are skipped. A line that is not UTF-8 is a bad line.

mod alias;
mod blocklist;
mod builtin;
mod dep;
mod load_list;
mod options;
mod softdep;

pub use alias::{parse_alias, AliasEntry};
pub use blocklist::{parse_blocklist, BlocklistEntry};
pub use builtin::parse_builtin;
pub use dep::{parse_dep, DepEntry};
pub use load_list::parse_load_list;
pub use options::{parse_options, OptionsEntry};
pub use softdep::{parse_softdep, SoftdepEntry};

use std::path::Path;

use crate::error::ModprobeError;
use crate::name::canonical_name;

/// Largest metadata file we read (bytes). Real `modules.alias` files of full distribution
/// kernels are about 1.5 MiB; the limit bounds what a hostile image can make us allocate.
pub const MAX_FILE_SIZE: u64 = 32 * 1024 * 1024;

/// Most bad lines reported per file; the rest are only counted
/// ([`Parsed::unreported`]), so a file of millions of bad lines costs no more memory
/// than its good ones.
pub const MAX_REPORTED_PROBLEMS: usize = 50;

/// What a parser made of one file: the entries of its good lines and the bad lines,
/// each skipped and reported with `file:line`.
#[derive(Debug)]
pub struct Parsed<T> {
    /// One entry per good line, in file order.
    pub entries: Vec<T>,
    /// The first [`MAX_REPORTED_PROBLEMS`] bad lines ([`ModprobeError::Parse`]).
    pub problems: Vec<ModprobeError>,
    /// Bad lines beyond those.
    pub unreported: usize,
}

impl<T> Parsed<T> {
    /// Every problem as a line of text (`file:line: what; line skipped`), then one line
    /// counting the unreported ones, if any.
    pub fn problem_lines(&self, path: &Path) -> Vec<String> {
        let mut lines: Vec<String> = self.problems.iter().map(ToString::to_string).collect();
        if self.unreported > 0 {
            lines.push(format!(
                "{}: {} more bad lines skipped",
                path.display(),
                self.unreported
            ));
        }
        lines
    }
}

/// Runs `line_fn` on every meaningful line of `bytes` (1-based line number, line without
/// `\r` and surrounding blanks). `Ok(Some(entry))` keeps an entry, `Ok(None)` nothing,
/// `Err(what)` reports the line as bad and skips it; a non-UTF-8 line is bad too.
pub(crate) fn parse_lines<T>(
    path: &Path,
    bytes: &[u8],
    mut line_fn: impl FnMut(usize, &str) -> Result<Option<T>, String>,
) -> Parsed<T> {
    let mut parsed = Parsed {
        entries: Vec::new(),
        problems: Vec::new(),
        unreported: 0,
    };
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = i + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let outcome = match std::str::from_utf8(raw) {
            Ok(text) => {
                let text = text.trim();
                if text.is_empty() || text.starts_with('#') {
                    continue;
                }
                line_fn(line, text)
            }
            Err(_) => Err("invalid UTF-8".to_owned()),
        };
        match outcome {
            Ok(Some(entry)) => parsed.entries.push(entry),
            Ok(None) => {}
            Err(what) if parsed.problems.len() < MAX_REPORTED_PROBLEMS => parsed.problems.push(
                ModprobeError::parse(path, line, format!("{what}; line skipped")),
            ),
            Err(_) => parsed.unreported += 1,
        }
    }
    parsed
}

/// The canonical name of `token`, or the reason it is not a module name.
pub(crate) fn canonical_or_err(token: &str) -> Result<String, String> {
    let name = canonical_name(token);
    if name.is_empty() {
        Err(format!("malformed module name {token:?}"))
    } else {
        Ok(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(bytes: &[u8]) -> Parsed<(usize, String)> {
        parse_lines(Path::new("f"), bytes, |line, text| {
            if text == "bad" {
                Err("bad line".into())
            } else {
                Ok(Some((line, text.to_owned())))
            }
        })
    }

    #[test]
    fn skips_comments_and_blanks() {
        let p = lines(b"# c\n\n  a b \r\n\t# indented comment\nc\n");
        assert_eq!(p.entries, vec![(3, "a b".into()), (5, "c".into())]);
        assert!(p.problems.is_empty());
    }

    #[test]
    fn bad_and_non_utf8_lines_are_reported_and_skipped() {
        let p = lines(b"ok\nbad\n\xffbad\nok2\n");
        assert_eq!(p.entries, vec![(1, "ok".into()), (4, "ok2".into())]);
        let problems: Vec<String> = p.problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            problems,
            [
                "f:2: bad line; line skipped",
                "f:3: invalid UTF-8; line skipped"
            ]
        );
    }

    #[test]
    fn reported_problems_are_capped_and_the_rest_counted() {
        let p = lines(&b"bad\n".repeat(MAX_REPORTED_PROBLEMS + 7));
        assert_eq!(p.problems.len(), MAX_REPORTED_PROBLEMS);
        assert_eq!(p.unreported, 7);
        let text = p.problem_lines(Path::new("f"));
        assert_eq!(text.last().unwrap(), "f: 7 more bad lines skipped");
    }
}
