//! Path patterns of ueventd.rc lines, matched as AOSP's `Permissions::Match` does
//! (DESIGN §6.1): no `*` → exact comparison; a single trailing `*` (the first `*` is the
//! last character) → literal prefix match; otherwise `fnmatch(3)` with `FNM_PATHNAME`
//! unless the line says `no_fnm_pathname`. A `?` or `[` without a `*` is therefore
//! literal, as in AOSP.
//!
//! [`fnmatch`] is our own byte-wise implementation of glibc's `fnmatch` in the C locale
//! (`*`, `?`, bracket expressions with `!`/`^`, ranges and `[:class:]`, backslash
//! escapes); the tests compare it with libc's. One deliberate difference: glibc never
//! matches a `*` directly followed by an escaped `\/` under `FNM_PATHNAME`; we match it,
//! as BSD-derived implementations (bionic, AOSP's libc) do. It runs in O(pattern × path) time and
//! constant space, so hostile patterns cannot blow up.

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
            Kind::Glob { pathname } => fnmatch(&self.raw, path, *pathname),
        }
    }
}

/// `fnmatch(pattern, string, pathname ? FNM_PATHNAME : 0) == 0`, byte-wise (C locale).
pub fn fnmatch(pattern: &str, string: &str, pathname: bool) -> bool {
    let p = pattern.as_bytes();
    let s = string.as_bytes();
    let mut pi = 0usize;
    let mut si = 0usize;
    // (pattern index after the last `*`, string index where that `*`'s match ends)
    let mut star: Option<(usize, usize)> = None;
    loop {
        if let Some(&pc) = p.get(pi) {
            if pc == b'*' {
                while p.get(pi) == Some(&b'*') {
                    pi += 1;
                }
                star = Some((pi, si));
                continue;
            }
            if let Some(&c) = s.get(si) {
                if let Some(next) = match_one(p, pi, c, pathname) {
                    pi = next;
                    si += 1;
                    continue;
                }
            }
        } else if si == s.len() {
            return true;
        }
        // Mismatch: let the last `*` swallow one more byte, if it can.
        match star {
            Some((sp, ss)) => match s.get(ss) {
                Some(&c) if !(pathname && c == b'/') => {
                    star = Some((sp, ss + 1));
                    pi = sp;
                    si = ss + 1;
                }
                _ => return false,
            },
            None => return false,
        }
    }
}

/// Matches one pattern element at `p[pi]` (not `*`) against byte `c`; returns the index
/// after the element on success.
fn match_one(p: &[u8], pi: usize, c: u8, pathname: bool) -> Option<usize> {
    match p.get(pi)? {
        b'?' => (!(pathname && c == b'/')).then_some(pi + 1),
        b'\\' => {
            // A trailing backslash never matches (glibc).
            let &lit = p.get(pi + 1)?;
            (lit == c).then_some(pi + 2)
        }
        b'[' => match bracket(p, pi + 1, c) {
            Some((end, matched)) => (matched && !(pathname && c == b'/')).then_some(end),
            // No closing bracket: `[` is an ordinary character.
            None => (c == b'[').then_some(pi + 1),
        },
        &lit => (lit == c).then_some(pi + 1),
    }
}

/// Parses a bracket expression whose body starts at `p[i]`; returns the index after the
/// closing `]` and whether `c` is in the set, or `None` if there is no closing `]`.
fn bracket(p: &[u8], mut i: usize, c: u8) -> Option<(usize, bool)> {
    let negate = matches!(p.get(i), Some(b'!') | Some(b'^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let &b = p.get(i)?;
        if b == b']' && !first {
            return Some((i + 1, matched != negate));
        }
        first = false;
        // A `[:class:]`.
        if b == b'[' && p.get(i + 1) == Some(&b':') {
            let body = p.get(i + 2..).unwrap_or_default();
            if let Some(len) = body.windows(2).position(|w| w == b":]") {
                let name = body.get(..len).unwrap_or_default();
                if let Some(f) = class(name) {
                    matched |= f(c);
                    i += 2 + len + 2;
                    continue;
                }
                // An unknown class makes glibc's fnmatch fail: never match.
                let after = i + 2 + len + 2;
                let close = p.get(after..)?.iter().position(|&x| x == b']')?;
                return Some((after + close + 1, false));
            }
        }
        let lo = if b == b'\\' {
            i += 1;
            *p.get(i)?
        } else {
            b
        };
        i += 1;
        // A range `lo-hi`, unless the `-` is last.
        if p.get(i) == Some(&b'-') && p.get(i + 1).is_some_and(|&n| n != b']') {
            let mut j = i + 1;
            let hi = if p.get(j) == Some(&b'\\') {
                j += 1;
                *p.get(j)?
            } else {
                *p.get(j)?
            };
            i = j + 1;
            if lo <= c && c <= hi {
                matched = true;
            }
        } else if lo == c {
            matched = true;
        }
    }
}

type ClassFn = fn(u8) -> bool;

fn class(name: &[u8]) -> Option<ClassFn> {
    Some(match name {
        b"alpha" => |c: u8| c.is_ascii_alphabetic(),
        b"digit" => |c: u8| c.is_ascii_digit(),
        b"alnum" => |c: u8| c.is_ascii_alphanumeric(),
        b"upper" => |c: u8| c.is_ascii_uppercase(),
        b"lower" => |c: u8| c.is_ascii_lowercase(),
        b"space" => |c: u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c),
        b"blank" => |c: u8| c == b' ' || c == b'\t',
        b"xdigit" => |c: u8| c.is_ascii_hexdigit(),
        b"punct" => |c: u8| c.is_ascii_punctuation(),
        b"print" => |c: u8| (0x20..0x7f).contains(&c),
        b"graph" => |c: u8| c.is_ascii_graphic(),
        b"cntrl" => |c: u8| c.is_ascii_control(),
        _ => return None,
    })
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

    #[test]
    fn fnmatch_basics() {
        assert!(fnmatch("/dev/tty?*", "/dev/ttyS0", true));
        assert!(fnmatch("/dev/*/event*", "/dev/input/event3", true));
        assert!(!fnmatch("/dev/*", "/dev/a/b", true));
        assert!(fnmatch("/dev/*", "/dev/a/b", false));
        assert!(fnmatch("a[bc]d", "acd", true));
        assert!(fnmatch("a[!bc]d", "aed", true));
        assert!(!fnmatch("a[!bc]d", "a/d", true));
        assert!(fnmatch("a[!bc]d", "a/d", false));
        assert!(fnmatch("a[a-c]d", "abd", true));
        assert!(fnmatch("a[]]d", "a]d", true));
        assert!(fnmatch("a[x-]d", "a-d", true));
        assert!(fnmatch("a[[:digit:]]", "a7", true));
        assert!(fnmatch("a\\*", "a*", true));
        assert!(!fnmatch("a\\*", "ab", true));
        assert!(!fnmatch("a\\", "a\\", true));
        assert!(fnmatch("a[b", "a[b", true));
        assert!(fnmatch("**", "", true));
        assert!(!fnmatch("?", "", true));
    }

    #[test]
    fn pathological_pattern_is_fast() {
        let pattern = "*a".repeat(200) + "b";
        let text = "a".repeat(4000);
        assert!(!fnmatch(&pattern, &text, false));
    }
}
