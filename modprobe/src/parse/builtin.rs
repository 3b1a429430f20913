//! `modules.builtin` (written by the kernel build, copied by depmod): one path per line
//! for each module compiled into the kernel. A request for a built-in module needs no
//! loading; kmod reports such modules as `builtin NAME`.

use std::path::Path;

use super::{canonical_or_err, parse_lines, Parsed};

/// Parses `modules.builtin` into canonical module names.
pub fn parse_builtin(path: &Path, bytes: &[u8]) -> Parsed<String> {
    parse_lines(path, bytes, |_, content| {
        if content.contains(|c: char| c.is_ascii_whitespace()) {
            Err(format!(
                "expected one module path per line, found {content:?}"
            ))
        } else {
            canonical_or_err(content).map(Some)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let p = Path::new("modules.builtin");
        let parsed = parse_builtin(
            p,
            b"kernel/fs/ext4/ext4.ko\nkernel/a.ko b\nkernel/crypto/crc32c-generic.ko\n",
        );
        assert_eq!(parsed.entries, vec!["ext4", "crc32c_generic"]);
        assert_eq!(
            parsed.problems[0].to_string(),
            "modules.builtin:2: expected one module path per line, found \"kernel/a.ko b\"; line skipped"
        );
    }
}
