//! `modules.builtin` (written by the kernel build, copied by depmod): one path per line
//! for each module compiled into the kernel. A request for a built-in module needs no
//! loading; kmod reports such modules as `builtin NAME`.

use std::path::Path;

use super::{canonical_or_err, content_lines};
use crate::error::ModprobeError;

/// Parses `modules.builtin` into canonical module names.
pub fn parse_builtin(path: &Path, text: &str) -> Result<Vec<String>, ModprobeError> {
    content_lines(text)
        .map(|(line, content)| {
            if content.contains(|c: char| c.is_ascii_whitespace()) {
                Err(ModprobeError::parse(
                    path,
                    line,
                    format!("expected one module path per line, found {content:?}"),
                ))
            } else {
                canonical_or_err(path, line, content)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let p = Path::new("modules.builtin");
        assert_eq!(
            parse_builtin(
                p,
                "kernel/fs/ext4/ext4.ko\nkernel/crypto/crc32c-generic.ko\n"
            )
            .unwrap(),
            vec!["ext4", "crc32c_generic"]
        );
        assert_eq!(
            parse_builtin(p, "a b\n").unwrap_err().to_string(),
            "modules.builtin:1: expected one module path per line, found \"a b\""
        );
    }
}
