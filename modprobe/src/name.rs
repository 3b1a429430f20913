//! Module names: the canonical form used as the key everywhere, and kmod's alias
//! normalisation.
//!
//! A canonical name is the file's basename up to its first `.` (so the `.ko`, `.ko.xz`,
//! `.ko.zst` or `.ko.gz` suffix goes) with every `-` replaced by `_`: `snd-hda.ko`,
//! `kernel/sound/snd_hda.ko` and `snd-hda` all name the same module. Cutting at the first
//! dot is kmod's `modname_normalize` rule (AOSP's `MakeCanonical` strips `.ko` only; they
//! agree on every real module name), and unlike suffix stripping it is idempotent: a
//! canonical name canonicalises to itself, so names can be looked up again safely.

/// Module file suffixes we recognise, longest first.
/// Compressed module file suffixes (`finit_module` needs a flag for these).
const COMPRESSED_SUFFIXES: [&str; 3] = [".ko.zst", ".ko.xz", ".ko.gz"];

/// The canonical module name for a path or name: basename up to the first `.`,
/// `-` → `_`.
///
/// Returns an empty string if nothing is left (e.g. for `"/"`, `".ko"` or
/// `".ko.zst.ko.gz"`); callers treat an empty canonical name as malformed.
pub fn canonical_name(name_or_path: &str) -> String {
    let base = name_or_path.rsplit('/').next().unwrap_or(name_or_path);
    let stem = base.split('.').next().unwrap_or(base);
    stem.replace('-', "_")
}

/// [`canonical_name`] without allocating when `name` is already canonical.
pub(crate) fn canonical_key(name: &str) -> std::borrow::Cow<'_, str> {
    if name.contains(['-', '/', '.']) {
        std::borrow::Cow::Owned(canonical_name(name))
    } else {
        std::borrow::Cow::Borrowed(name)
    }
}

/// True if `path` ends in a compressed module suffix (`.ko.xz`, `.ko.zst`, `.ko.gz`).
pub fn is_compressed_module(path: &str) -> bool {
    COMPRESSED_SUFFIXES
        .iter()
        .any(|suffix| path.ends_with(suffix))
}

/// kmod's `alias_normalize`: `-` becomes `_` except inside `[...]` bracket expressions.
///
/// Returns `None` for an unbalanced bracket (kmod rejects such aliases with `EINVAL`).
pub fn normalize_alias(alias: &str) -> Option<String> {
    let mut out = String::with_capacity(alias.len());
    let mut in_bracket = false;
    for c in alias.chars() {
        match c {
            '[' if !in_bracket => {
                in_bracket = true;
                out.push(c);
            }
            ']' if in_bracket => {
                in_bracket = false;
                out.push(c);
            }
            ']' => return None,
            '-' if !in_bracket => out.push('_'),
            _ => out.push(c),
        }
    }
    if in_bracket {
        None
    } else {
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms() {
        assert_eq!(canonical_name("snd-hda.ko"), "snd_hda");
        assert_eq!(canonical_name("kernel/sound/snd_hda.ko"), "snd_hda");
        assert_eq!(canonical_name("/lib/modules/x/a-b-c.ko.xz"), "a_b_c");
        assert_eq!(canonical_name("virtio_blk"), "virtio_blk");
        assert_eq!(canonical_name("virtio-blk"), "virtio_blk");
        assert_eq!(canonical_name("foo.ko.zst"), "foo");
        assert_eq!(canonical_name(".ko"), "");
        assert_eq!(canonical_name("dir/"), "");
        assert_eq!(canonical_name(""), "");
        // kmod's rule: up to the first dot.
        assert_eq!(canonical_name("a.ko.ko"), "a");
        assert_eq!(canonical_name(".ko.zst.ko.gz"), "");
    }

    /// Found by the `module_dir` fuzz target: with suffix stripping, `.ko.zst.ko.gz`
    /// canonicalised to `.ko.zst`, which canonicalised again to `` — one module under two
    /// names. A canonical name must canonicalise to itself.
    #[test]
    fn canonical_name_is_idempotent() {
        for name in [
            "a",
            "a-b.ko",
            "x/a.ko.xz",
            "a.ko.ko",
            ".ko.zst.ko.gz",
            "a.b.c",
            "-",
            "a..ko",
        ] {
            let once = canonical_name(name);
            assert_eq!(canonical_name(&once), once, "{name}");
        }
    }

    #[test]
    fn canonical_key_matches_canonical_name() {
        for name in [
            "a", "a-b", "x/a.ko", "a.ko.xz", "a.kox", "a.ko.", "", "a_b", ".ko", "a.b",
        ] {
            assert_eq!(canonical_key(name), canonical_name(name), "{name}");
        }
    }

    #[test]
    fn compressed_suffixes() {
        assert!(is_compressed_module("a.ko.xz"));
        assert!(is_compressed_module("a.ko.zst"));
        assert!(is_compressed_module("a.ko.gz"));
        assert!(!is_compressed_module("a.ko"));
    }

    #[test]
    fn alias_normalisation_keeps_brackets() {
        assert_eq!(normalize_alias("crypto-md5").as_deref(), Some("crypto_md5"));
        assert_eq!(normalize_alias("a-[x-z]-b").as_deref(), Some("a_[x-z]_b"));
        assert_eq!(normalize_alias("a[b"), None);
        assert_eq!(normalize_alias("a]b"), None);
        assert_eq!(normalize_alias("").as_deref(), Some(""));
    }
}
