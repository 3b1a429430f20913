//! `fnmatch(3)` with the semantics of glibc in the C locale, byte-wise, with or without
//! `FNM_PATHNAME`: the one glob matcher of the workspace. kmod (and AOSP's libmodprobe)
//! match `modules.alias` patterns with flags 0; ueventd matches its `/dev` and `/sys`
//! lines with `FNM_PATHNAME` (AOSP `Permissions::Match`; the exact/prefix rules before it
//! are ueventd's own thin layer).
//!
//! `*` matches any sequence, `?` any one byte, `[...]` a bracket expression (`!` or `^`
//! negates, `]` first is literal, ranges by byte value, classes `[:alpha:]` …, `[=x=]`,
//! `[.x.]`, backslash escapes), `\x` matches `x`; an unterminated `[` matches a literal
//! `[`; a pattern ending in a lone `\` matches nothing. Ill-formed bracket expressions are
//! handled step by step as glibc does. With [`Flags::PATHNAME`], `/` is matched only by a
//! literal `/`: `*`, `?` and brackets never match it, and (a glibc quirk, which bionic
//! does not share) a `*` directly followed by an escaped `\/` never matches.
//!
//! The algorithm is glibc's: a `*` commits once the pattern after it reaches the next
//! `*`, so only the most recent `*` is ever extended (one saved position). It runs in
//! O(len(pattern) × len(string)) on any input. Checked against the C library by property
//! tests and a fuzz target.

/// `fnmatch` flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    /// `FNM_PATHNAME`: a `/` in the string is matched only by a literal `/`.
    pub pathname: bool,
}

impl Flags {
    /// Flags 0.
    pub const NONE: Flags = Flags { pathname: false };
    /// `FNM_PATHNAME`.
    pub const PATHNAME: Flags = Flags { pathname: true };
}

/// True if `string` matches the glob `pattern` (as `fnmatch(pattern, string, flags) == 0`).
pub fn fnmatch(pattern: &str, string: &str, flags: Flags) -> bool {
    let p = pattern.as_bytes();
    let s = string.as_bytes();
    let pathname = flags.pathname;
    let mut pi = 0;
    let mut si = 0;
    // Where to resume after the most recent `*`: (pattern index after it, string index).
    let mut star: Option<(usize, usize)> = None;
    loop {
        if let Some(&pc) = p.get(pi) {
            if pc == b'*' {
                while p.get(pi) == Some(&b'*') {
                    pi += 1;
                }
                if pi == p.len() {
                    // A trailing `*` takes the rest, which under FNM_PATHNAME must not
                    // hold another `/`.
                    return !(pathname && s[si..].contains(&b'/'));
                }
                if pathname && escaped_slash_follows(p, pi) {
                    // glibc looks for the escaped `/` only before the next `/` of the
                    // string, so it never finds it.
                    return false;
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
        // Mismatch: let the last `*` swallow one more byte, if there is one it may take.
        match star {
            Some((sp, ss)) if ss < s.len() && !(pathname && s[ss] == b'/') => {
                star = Some((sp, ss + 1));
                pi = sp;
                si = ss + 1;
            }
            _ => return false,
        }
    }
}

/// After the `*` that ends before `p[pi]`: skipping the `*` and `?` glibc consumes with
/// it, is the next element an escaped `/`?
fn escaped_slash_follows(p: &[u8], mut pi: usize) -> bool {
    while matches!(p.get(pi), Some(b'*' | b'?')) {
        pi += 1;
    }
    p.get(pi) == Some(&b'\\') && p.get(pi + 1) == Some(&b'/')
}

/// Matches the single pattern element at `p[pi]` (not `*`) against byte `c`; returns the
/// index of the next pattern element on a match.
fn match_one(p: &[u8], pi: usize, c: u8, pathname: bool) -> Option<usize> {
    // Under FNM_PATHNAME a `/` is matched only by a literal (or escaped) `/`.
    let slash_guard = pathname && c == b'/';
    match p.get(pi)? {
        b'?' => (!slash_guard).then_some(pi + 1),
        b'[' if slash_guard => None,
        b'\\' => {
            // A trailing lone backslash matches nothing (glibc).
            let &lit = p.get(pi + 1)?;
            (lit == c).then_some(pi + 2)
        }
        b'[' => match bracket(p, pi, c) {
            Bracket::Matches(next) => Some(next),
            Bracket::Fails => None,
            // Unterminated: the `[` is an ordinary character.
            Bracket::Literal => (c == b'[').then_some(pi + 1),
        },
        &lit => (lit == c).then_some(pi + 1),
    }
}

/// The outcome of a bracket expression against one byte.
enum Bracket {
    /// It matches; the next pattern element starts at this index.
    Matches(usize),
    /// It does not match (or is ill-formed in a way glibc rejects).
    Fails,
    /// It has no closing `]` before any member matched: the `[` is a literal.
    Literal,
}

/// Longest character class name glibc reads (`CHAR_CLASS_MAX_LENGTH`).
const CLASS_NAME_MAX: usize = 256;

/// glibc accepts class-name characters `a` <= ch < `z`.
fn class_name_char(ch: u8) -> bool {
    (b'a'..=b'y').contains(&ch)
}

/// Evaluates the bracket expression at `p[start] == b'['` against `ch`, following glibc's
/// `fnmatch` (flags 0, C locale) step by step, including how it treats ill-formed
/// expressions: `[:name:]` classes (a name character outside `a`..`y` makes the `[` an
/// ordinary member; an unknown name fails), `[=x=]` and single-character `[.x.]`
/// (the C locale has no other collating elements), ranges by byte value, backslash
/// escapes, and an unterminated expression, which makes the `[` a literal.
fn bracket(p: &[u8], start: usize, ch: u8) -> Bracket {
    let at = |i: usize| p.get(i).copied();
    let mut i = start + 1;
    let negate = matches!(at(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut c = at(i);
    i += 1;
    // An ordinary member: decides the expression if it matches, else may begin a range.
    macro_rules! member {
        ($x:expr) => {
            match plain(p, &mut i, $x, ch, negate) {
                Ok(low) => Some(low),
                Err(decided) => return decided,
            }
        };
    }
    loop {
        // `c` is the element's first byte and `i` the index after it. An element that
        // may begin a range ends with `low` set.
        let mut low: Option<u8> = None;
        match c {
            None => return Bracket::Literal,
            Some(b'\\') => {
                let Some(escaped) = at(i) else {
                    return Bracket::Fails;
                };
                i += 1;
                low = member!(escaped);
            }
            Some(b'[') if at(i) == Some(b':') => match char_class(p, i, ch) {
                Class::Ordinary => low = member!(b'['),
                Class::Invalid => return Bracket::Fails,
                Class::Parsed(true, next) => return skip_rest(p, next, negate),
                Class::Parsed(false, next) => {
                    i = next;
                    c = at(i);
                    i += 1;
                }
            },
            Some(b'[') if at(i) == Some(b'=') => match (at(i + 1), at(i + 2), at(i + 3)) {
                (Some(x), Some(b'='), Some(b']')) => {
                    if x == ch {
                        return skip_rest(p, i + 4, negate);
                    }
                    i += 4;
                    c = at(i);
                    i += 1;
                }
                _ => low = member!(b'['),
            },
            Some(b'[') if at(i) == Some(b'.') => {
                let Some((symbol, next)) = collating_symbol(p, i) else {
                    return Bracket::Fails;
                };
                i = next;
                let is_range = at(i) == Some(b'-') && at(i + 1).is_some();
                if !is_range && symbol == ch {
                    return skip_rest(p, i, negate);
                }
                low = Some(symbol);
            }
            Some(other) => low = member!(other),
        }
        if let Some(low) = low {
            c = at(i);
            i += 1;
            if c == Some(b'-') && at(i) != Some(b']') {
                let high = match at(i) {
                    Some(b'[') if at(i + 1) == Some(b'.') => {
                        let Some((symbol, next)) = collating_symbol(p, i + 1) else {
                            return Bracket::Fails;
                        };
                        i = next;
                        symbol
                    }
                    Some(b'\\') => {
                        let Some(escaped) = at(i + 1) else {
                            return Bracket::Fails;
                        };
                        i += 2;
                        escaped
                    }
                    Some(high) => {
                        i += 1;
                        high
                    }
                    None => return Bracket::Fails,
                };
                if low <= ch && ch <= high {
                    return skip_rest(p, i, negate);
                }
                c = at(i);
                i += 1;
            }
        }
        if c == Some(b']') {
            return if negate {
                Bracket::Matches(i)
            } else {
                Bracket::Fails
            };
        }
    }
}

/// An ordinary member `x` (glibc's `normal_bracket`): if it matches `ch` and does not
/// start a range, the whole expression is decided (returned as `Err`); otherwise it is
/// the low end of a possible range.
fn plain(p: &[u8], i: &mut usize, x: u8, ch: u8, negate: bool) -> Result<u8, Bracket> {
    let is_range = p.get(*i) == Some(&b'-') && p.get(*i + 1).is_some_and(|&next| next != b']');
    if !is_range && x == ch {
        Err(skip_rest(p, *i, negate))
    } else {
        Ok(x)
    }
}

/// `[.x.]` with `p[dot] == b'.'`: the symbol (exactly one byte in the C locale) and the
/// index after `.]`; `None` where glibc fails the match.
fn collating_symbol(p: &[u8], dot: usize) -> Option<(u8, usize)> {
    let mut k = dot;
    let mut len = 0usize;
    loop {
        k += 1;
        match p.get(k) {
            Some(b'.') if p.get(k + 1) == Some(&b']') => break,
            Some(_) => len += 1,
            None => return None,
        }
    }
    if len == 1 {
        Some((*p.get(dot + 1)?, k + 2))
    } else {
        None
    }
}

/// A member matched at index `i`: skip to the closing `]` as glibc does (reaching the end
/// makes the `[` a literal after all), then apply the negation.
fn skip_rest(p: &[u8], mut i: usize, negate: bool) -> Bracket {
    let at = |i: usize| p.get(i).copied();
    loop {
        let c = at(i);
        i += 1;
        match c {
            None => return Bracket::Literal,
            Some(b']') => break,
            Some(b'\\') => {
                if at(i).is_none() {
                    return Bracket::Fails;
                }
                i += 1;
            }
            Some(b'[') if at(i) == Some(b':') => {
                // A class name is skipped whole; anything else resumes at the `:`.
                let mut k = i;
                let mut count = 0usize;
                loop {
                    k += 1;
                    count += 1;
                    if count == CLASS_NAME_MAX {
                        return Bracket::Fails;
                    }
                    if at(k) == Some(b':') && at(k + 1) == Some(b']') {
                        i = k + 2;
                        break;
                    }
                    if !at(k).is_some_and(class_name_char) {
                        break;
                    }
                }
            }
            Some(b'[') if at(i) == Some(b'=') => {
                if at(i + 1).is_none() || at(i + 2) != Some(b'=') || at(i + 3) != Some(b']') {
                    return Bracket::Fails;
                }
                i += 4;
            }
            Some(b'[') if at(i) == Some(b'.') => {
                let mut k = i;
                loop {
                    k += 1;
                    match at(k) {
                        None => return Bracket::Fails,
                        Some(b'.') if at(k + 1) == Some(b']') => break,
                        Some(_) => {}
                    }
                }
                i = k + 2;
            }
            Some(_) => {}
        }
    }
    if negate {
        Bracket::Fails
    } else {
        Bracket::Matches(i)
    }
}

/// How a `[:` inside a bracket expression reads.
enum Class {
    /// A class `[:name:]`: whether the byte is in it, and the index after `:]`.
    Parsed(bool, usize),
    /// Not a class name: the `[` is an ordinary member.
    Ordinary,
    /// A well-formed but unknown or overlong name: glibc fails the match.
    Invalid,
}

/// `[:name:]` with `p[colon] == b':'`, read as glibc does.
fn char_class(p: &[u8], colon: usize, ch: u8) -> Class {
    let mut k = colon;
    loop {
        if k - colon == CLASS_NAME_MAX {
            return Class::Invalid;
        }
        k += 1;
        match p.get(k) {
            Some(b':') if p.get(k + 1) == Some(&b']') => break,
            Some(&c) if class_name_char(c) => {}
            _ => return Class::Ordinary,
        }
    }
    let matches = match p.get(colon + 1..k).unwrap_or_default() {
        b"alnum" => ch.is_ascii_alphanumeric(),
        b"alpha" => ch.is_ascii_alphabetic(),
        b"blank" => ch == b' ' || ch == b'\t',
        b"cntrl" => ch.is_ascii_control(),
        b"digit" => ch.is_ascii_digit(),
        b"graph" => ch.is_ascii_graphic(),
        b"lower" => ch.is_ascii_lowercase(),
        b"print" => ch.is_ascii_graphic() || ch == b' ',
        b"punct" => ch.is_ascii_punctuation(),
        b"space" => ch.is_ascii_whitespace() || ch == 0x0b,
        b"upper" => ch.is_ascii_uppercase(),
        b"xdigit" => ch.is_ascii_hexdigit(),
        _ => return Class::Invalid,
    };
    Class::Parsed(matches, k + 2)
}

#[cfg(test)]
mod tests {
    use super::Flags;

    /// Flags 0 (the `modules.alias` case).
    fn fnmatch(pattern: &str, string: &str) -> bool {
        super::fnmatch(pattern, string, Flags::NONE)
    }

    /// `FNM_PATHNAME` (the ueventd case).
    fn path(pattern: &str, string: &str) -> bool {
        super::fnmatch(pattern, string, Flags::PATHNAME)
    }

    #[test]
    fn pathname() {
        assert!(path("/dev/tty?*", "/dev/ttyS0"));
        assert!(path("/dev/*/event*", "/dev/input/event3"));
        assert!(!path("/dev/*", "/dev/a/b"));
        assert!(fnmatch("/dev/*", "/dev/a/b"));
        assert!(path("/dev/*/", "/dev/a/"));
        assert!(!path("a?b", "a/b") && fnmatch("a?b", "a/b"));
        assert!(!path("a[!x]b", "a/b") && fnmatch("a[!x]b", "a/b"));
        assert!(!path("a[/]b", "a/b") && fnmatch("a[/]b", "a/b"));
        assert!(path("a\\/b", "a/b"));
        assert!(path("a*/b", "ax/b") && !path("a*/b", "a/x/b"));
        assert!(!path("*?", "ab/") && path("*?", "ab"));
        // glibc: a `*` right before an escaped `/` never matches under FNM_PATHNAME.
        assert!(!path("*\\/", "a/") && fnmatch("*\\/", "a/"));
        assert!(!path("*?\\/x", "a/x"));
    }

    #[test]
    fn literals_and_wildcards() {
        assert!(fnmatch("abc", "abc"));
        assert!(!fnmatch("abc", "abd"));
        assert!(!fnmatch("abc", "ab"));
        assert!(!fnmatch("ab", "abc"));
        assert!(fnmatch("", ""));
        assert!(!fnmatch("", "a"));
        assert!(fnmatch("*", ""));
        assert!(fnmatch("*", "a/b.c"));
        assert!(fnmatch("a*c", "abbbc"));
        assert!(fnmatch("a*c", "ac"));
        assert!(!fnmatch("a*c", "acb"));
        assert!(fnmatch("a?c", "abc"));
        assert!(!fnmatch("a?c", "ac"));
        assert!(fnmatch("**a**", "xxaxx"));
        assert!(fnmatch("*.ko", ".ko"));
    }

    #[test]
    fn real_alias_patterns() {
        assert!(fnmatch(
            "pci:v00001AF4d00001042sv*sd*bc*sc*i*",
            "pci:v00001AF4d00001042sv00001AF4sd00001100bc01sc00i00"
        ));
        assert!(fnmatch(
            "cpu:type:*:feature:*0005*",
            "cpu:type:aarch64:feature:,0003,0005,0007"
        ));
        assert!(!fnmatch(
            "cpu:type:*:feature:*0005*",
            "cpu:type:aarch64:feature:,0003,0007"
        ));
        assert!(fnmatch("virtio:d00000002v*", "virtio:d00000002v00001AF4"));
        assert!(fnmatch(
            "dmi*:svn*[Ll][Ee][Nn][Oo][Vv][Oo]*",
            "dmi:bvnX:svnLENOVO:pn"
        ));
    }

    #[test]
    fn brackets() {
        assert!(fnmatch("[abc]", "b"));
        assert!(!fnmatch("[abc]", "d"));
        assert!(fnmatch("[!abc]", "d"));
        assert!(fnmatch("[^abc]", "d"));
        assert!(!fnmatch("[!abc]", "a"));
        assert!(fnmatch("[a-f]x", "cx"));
        assert!(!fnmatch("[a-f]x", "gx"));
        assert!(fnmatch("[]]", "]"));
        assert!(fnmatch("[!]]", "a"));
        assert!(fnmatch("[a-]", "-"));
        assert!(fnmatch("[-a]", "-"));
        assert!(fnmatch("[[:digit:]]x", "7x"));
        assert!(!fnmatch("[[:digit:]]x", "ax"));
        assert!(fnmatch("[[:upper:][:digit:]]", "Q"));
        assert!(fnmatch("[\\]]", "]"));
        // Unterminated bracket: literal '['.
        assert!(fnmatch("a[b", "a[b"));
        assert!(!fnmatch("a[b", "ab"));
        assert!(
            fnmatch("[[:bogus", "[[:bogus"),
            "unterminated class and bracket: literal"
        );
    }

    #[test]
    fn escapes() {
        assert!(fnmatch("a\\*b", "a*b"));
        assert!(!fnmatch("a\\*b", "axb"));
        assert!(fnmatch("\\?", "?"));
        assert!(!fnmatch("a\\", "a\\"), "trailing backslash matches nothing");
        assert!(!fnmatch("a\\", "a"));
    }

    #[test]
    fn pathological_is_fast() {
        let pattern = "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
        let s = "a".repeat(5000);
        assert!(!fnmatch(pattern, &s));
        let pattern = "*a".repeat(200) + "b";
        assert!(!path(&pattern, &"a".repeat(4000)));
    }
}
