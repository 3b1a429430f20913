//! `modules.load`-style lists (`modules.load`, `modules.load.recovery`, the file given
//! to `modprobe --all=FILE`): one module per line, as a name or a path.
//!
//! As in AOSP's toolbox, `#` starts a comment anywhere on a line. Each entry becomes its
//! canonical name; repeated entries are kept once, at their first position.

use std::collections::HashSet;
use std::path::Path;

use super::{canonical_or_err, parse_lines, Parsed};

/// Parses a load list into canonical module names, in file order, without repeats.
pub fn parse_load_list(path: &Path, bytes: &[u8]) -> Parsed<String> {
    let mut seen = HashSet::new();
    parse_lines(path, bytes, |_, line| {
        let content = line.split('#').next().unwrap_or_default().trim();
        if content.is_empty() {
            return Ok(None);
        }
        if content.contains(|c: char| c.is_ascii_whitespace()) {
            return Err(format!("expected one module per line, found {content:?}"));
        }
        let name = canonical_or_err(content)?;
        Ok(seen.insert(name.clone()).then_some(name))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Parsed<String> {
        parse_load_list(Path::new("modules.load"), text.as_bytes())
    }

    #[test]
    fn names_and_paths() {
        let names = parse(
            "virtio_blk.ko\nkernel/drivers/virtio/virtio-pci.ko # trailing\n# c\n\nfoo\r\nvirtio_blk\n",
        )
        .entries;
        assert_eq!(names, vec!["virtio_blk", "virtio_pci", "foo"]);
    }

    #[test]
    fn malformed_lines_are_skipped_the_rest_kept() {
        let p = parse("a\nb c\nx/.ko\nd\n");
        assert_eq!(p.entries, ["a", "d"]);
        let problems: Vec<String> = p.problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            problems,
            [
                "modules.load:2: expected one module per line, found \"b c\"; line skipped",
                "modules.load:3: malformed module name \"x/.ko\"; line skipped",
            ]
        );
        assert!(parse("").entries.is_empty());
    }
}
