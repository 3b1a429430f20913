//! `modules.load`-style lists (`modules.load`, `modules.load.recovery`, the file given
//! to `modprobe --all=FILE`): one module per line, as a name or a path.
//!
//! As in AOSP's toolbox, `#` starts a comment anywhere on a line. Each entry becomes its
//! canonical name; repeated entries are kept once, at their first position.

use std::collections::HashSet;
use std::path::Path;

use super::canonical_or_err;
use crate::error::ModprobeError;

/// Parses a load list into canonical module names, in file order, without repeats.
pub fn parse_load_list(path: &Path, text: &str) -> Result<Vec<String>, ModprobeError> {
    let mut names = Vec::new();
    let mut seen = HashSet::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line = i + 1;
        let content = raw.split('#').next().unwrap_or_default().trim();
        if content.is_empty() {
            continue;
        }
        if content.contains(|c: char| c.is_ascii_whitespace()) {
            return Err(ModprobeError::parse(
                path,
                line,
                format!("expected one module per line, found {content:?}"),
            ));
        }
        let name = canonical_or_err(path, line, content)?;
        if seen.insert(name.clone()) {
            names.push(name);
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<String>, ModprobeError> {
        parse_load_list(Path::new("modules.load"), text)
    }

    #[test]
    fn names_and_paths() {
        let names = parse(
            "virtio_blk.ko\nkernel/drivers/virtio/virtio-pci.ko # trailing\n# c\n\nfoo\r\nvirtio_blk\n",
        )
        .unwrap();
        assert_eq!(names, vec!["virtio_blk", "virtio_pci", "foo"]);
    }

    #[test]
    fn malformed() {
        assert_eq!(
            parse("a\nb c\n").unwrap_err().to_string(),
            "modules.load:2: expected one module per line, found \"b c\""
        );
        assert!(parse("x/.ko\n").is_err());
        assert_eq!(parse("").unwrap(), Vec::<String>::new());
    }
}
