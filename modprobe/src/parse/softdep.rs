//! `modules.softdep`: `softdep <module> pre: a b post: c`.
//!
//! Several lines for one module are allowed and all count (AOSP; kmod 30 only uses the
//! first). Debian's depmod also writes lines such as `softdep cifs gcm` with names before
//! any `pre:`/`post:` marker; kmod ignores those names, and so do we — they are returned in
//! [`SoftdepEntry::ignored`] so the caller can warn.

use std::path::Path;

use super::{canonical_or_err, parse_lines, Parsed};

/// One `modules.softdep` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoftdepEntry {
    /// 1-based line number.
    pub line: usize,
    /// Canonical name of the module the soft dependencies belong to.
    pub module: String,
    /// Names (module names or aliases, as written) to load before the module.
    pub pre: Vec<String>,
    /// Names to load after the module.
    pub post: Vec<String>,
    /// Names that appeared before any `pre:`/`post:` marker (ignored, as kmod does).
    pub ignored: Vec<String>,
}

/// Where a name of a softdep line goes.
#[derive(Clone, Copy)]
enum Section {
    None,
    Pre,
    Post,
}

/// Parses a `modules.softdep` file.
pub fn parse_softdep(path: &Path, bytes: &[u8]) -> Parsed<SoftdepEntry> {
    parse_lines(path, bytes, |line, content| {
        let mut tokens = content.split_ascii_whitespace();
        match tokens.next() {
            Some("softdep") => {}
            Some(other) => return Err(format!("expected `softdep`, found {other:?}")),
            None => return Ok(None),
        }
        let module = tokens.next();
        let rest: Vec<&str> = tokens.collect();
        let Some(module) = module.filter(|_| !rest.is_empty()) else {
            return Err(
                "softdep lines must be `softdep MODULE [pre: NAMES…] [post: NAMES…]`".into(),
            );
        };
        let mut entry = SoftdepEntry {
            line,
            module: canonical_or_err(module)?,
            pre: Vec::new(),
            post: Vec::new(),
            ignored: Vec::new(),
        };
        let mut section = Section::None;
        for token in rest {
            match token {
                "pre:" => section = Section::Pre,
                "post:" => section = Section::Post,
                name => match section {
                    Section::None => entry.ignored.push(name.to_owned()),
                    Section::Pre => entry.pre.push(name.to_owned()),
                    Section::Post => entry.post.push(name.to_owned()),
                },
            }
        }
        Ok(Some(entry))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Parsed<SoftdepEntry> {
        parse_softdep(Path::new("modules.softdep"), text.as_bytes())
    }

    #[test]
    fn pre_post_and_multiple_lines() {
        let e = parse(
            "# Soft dependencies\nsoftdep a-b pre: x y post: z\nsoftdep a_b post: w pre: v\n",
        )
        .entries;
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].module, "a_b");
        assert_eq!(e[0].pre, vec!["x", "y"]);
        assert_eq!(e[0].post, vec!["z"]);
        assert_eq!(e[1].pre, vec!["v"]);
        assert_eq!(e[1].post, vec!["w"]);
        assert_eq!(e[1].line, 3);
    }

    #[test]
    fn names_before_a_marker_are_ignored() {
        let e = parse("softdep cifs gcm\nsoftdep m pre:\n").entries;
        assert_eq!(e[0].ignored, vec!["gcm"]);
        assert!(e[0].pre.is_empty() && e[0].post.is_empty());
        assert!(e[1].pre.is_empty());
    }

    #[test]
    fn malformed_lines_are_skipped_the_rest_kept() {
        let p = parse("softdep a\nalias a b\nsoftdep .ko pre: a\nsoftdep b pre: c\n");
        assert_eq!(p.entries.len(), 1);
        assert_eq!(p.entries[0].module, "b");
        let problems: Vec<String> = p.problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            problems,
            [
                "modules.softdep:1: softdep lines must be `softdep MODULE [pre: NAMES…] [post: NAMES…]`; line skipped",
                "modules.softdep:2: expected `softdep`, found \"alias\"; line skipped",
                "modules.softdep:3: malformed module name \".ko\"; line skipped",
            ]
        );
    }
}
