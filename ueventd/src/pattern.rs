//! Path patterns of ueventd.rc lines, matched as AOSP's `Permissions::Match` does
//! (DESIGN §6.1): no `*` → exact comparison; a single trailing `*` (the first `*` is the
//! last character) → literal prefix match; otherwise `fnmatch(3)` with `FNM_PATHNAME`
//! unless the line says `no_fnm_pathname`. A `?` or `[` without a `*` is therefore
//! literal, as in AOSP. The glob itself is the shared `fnmatch` crate (glibc's
//! semantics; bionic, which AOSP uses, differs only for a `*` directly followed by an
//! escaped `\/`, which no ueventd.rc line writes).

use fnmatch::{fnmatch, Flags};

/// How a [`PathPattern`] matches.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Exact,
    Prefix(String),
    Glob { pathname: bool },
}

/// A path pattern from a `/dev`, `/sys` or `external_firmware_handler` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern {
    raw: String,
    kind: Kind,
}

impl PathPattern {
    /// Classifies `raw` as AOSP does; `no_fnm_pathname` drops `FNM_PATHNAME` for globs.
    pub fn new(raw: &str, no_fnm_pathname: bool) -> Self {
        let kind = match raw.find('*') {
            None => Kind::Exact,
            Some(pos) if pos + 1 == raw.len() => Kind::Prefix(raw[..pos].to_string()),
            Some(_) => Kind::Glob {
                pathname: !no_fnm_pathname,
            },
        };
        PathPattern {
            raw: raw.to_string(),
            kind,
        }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// True for a trailing-`*` prefix pattern.
    pub fn is_prefix(&self) -> bool {
        matches!(self.kind, Kind::Prefix(_))
    }

    /// True for a pattern matched with `fnmatch`.
    pub fn is_glob(&self) -> bool {
        matches!(self.kind, Kind::Glob { .. })
    }

    /// Whether `path` matches.
    pub fn matches(&self, path: &str) -> bool {
        match &self.kind {
            Kind::Exact => self.raw == path,
            Kind::Prefix(prefix) => path.starts_with(prefix.as_str()),
            Kind::Glob { pathname } => fnmatch(
                &self.raw,
                path,
                Flags {
                    pathname: *pathname,
                },
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aosp_classification() {
        let p = PathPattern::new("/dev/rtc0", false);
        assert!(p.matches("/dev/rtc0") && !p.matches("/dev/rtc01"));
        let p = PathPattern::new("/dev/graphics/*", false);
        assert!(p.is_prefix());
        assert!(p.matches("/dev/graphics/fb0") && p.matches("/dev/graphics/a/b"));
        assert!(!p.matches("/dev/graphic"));
        let p = PathPattern::new("/dev/*/test", false);
        assert!(p.is_glob());
        assert!(p.matches("/dev/x/test") && !p.matches("/dev/x/y/test"));
        let p = PathPattern::new("/dev/*/test", true);
        assert!(p.matches("/dev/x/y/test"));
        // `?` without `*` is literal.
        let p = PathPattern::new("/dev/tty?", false);
        assert!(p.matches("/dev/tty?") && !p.matches("/dev/tty1"));
        // A prefix pattern is literal, even with `?` in it.
        let p = PathPattern::new("/dev/a?b*", false);
        assert!(p.matches("/dev/a?bc") && !p.matches("/dev/axbc"));
    }
}
