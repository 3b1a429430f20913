//! Parsers for the `modules.*` files, one submodule per file format.
//!
//! Every parser is a pure function from (file name, file text) to typed entries, so it
//! can be tested and fuzzed without a filesystem. Errors carry `file:line`. The common
//! line rules (shared with AOSP's `ParseCfg` and kmod's config reader): lines are split on
//! `\n` (a trailing `\r` is dropped), tokens on ASCII whitespace, and empty lines and lines
//! whose first non-blank character is `#` are skipped.

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

/// Checks that `bytes` is UTF-8; the error names the line of the first bad byte.
pub fn decode<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a str, ModprobeError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = bytes.get(..e.valid_up_to()).unwrap_or_default();
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        ModprobeError::parse(path, line, "invalid UTF-8")
    })
}

/// The meaningful lines of a file: (1-based line number, line without `\r` and
/// surrounding blanks), skipping empty and `#` comment lines.
pub(crate) fn content_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split('\n').enumerate().filter_map(|(i, raw)| {
        let line = raw.strip_suffix('\r').unwrap_or(raw).trim();
        if line.is_empty() || line.starts_with('#') {
            None
        } else {
            Some((i + 1, line))
        }
    })
}

/// The canonical name of `token`, or a parse error if nothing is left of it.
pub(crate) fn canonical_or_err(
    path: &Path,
    line: usize,
    token: &str,
) -> Result<String, ModprobeError> {
    let name = canonical_name(token);
    if name.is_empty() {
        Err(ModprobeError::parse(
            path,
            line,
            format!("malformed module name {token:?}"),
        ))
    } else {
        Ok(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_lines_skip_comments_and_blanks() {
        let text = "# c\n\n  a b \r\n\t# indented comment\nc\n";
        let lines: Vec<_> = content_lines(text).collect();
        assert_eq!(lines, vec![(3, "a b"), (5, "c")]);
    }

    #[test]
    fn decode_reports_line_of_bad_byte() {
        let err = decode(Path::new("f"), b"ok\nok\n\xffbad\n").unwrap_err();
        assert_eq!(err.to_string(), "f:3: invalid UTF-8");
        assert_eq!(decode(Path::new("f"), b"fine").unwrap(), "fine");
    }
}
