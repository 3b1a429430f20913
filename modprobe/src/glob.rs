//! Shell-glob matching with the semantics of `fnmatch(pattern, string, 0)`, which is how
//! kmod (and AOSP's libmodprobe) match `modules.alias` patterns.
//!
//! With flags 0: `*` matches any sequence (including `/` and a leading `.`), `?` any one
//! byte, `[...]` a bracket expression (`!` or `^` negates, `]` first is literal, ranges
//! `a-z`, classes `[:alpha:]` …, backslash escapes), `\x` matches `x`; an unterminated
//! `[` matches a literal `[`; a pattern ending in a lone `\` matches nothing. Matching is
//! byte-wise (module aliases are ASCII). The algorithm is the linear-backtracking one
//! (one saved `*` position), so it runs in O(len(pattern) × len(string)) on any input.

/// True if `string` matches the glob `pattern` (as `fnmatch(pattern, string, 0) == 0`).
pub fn fnmatch(pattern: &str, string: &str) -> bool {
    let p = pattern.as_bytes();
    let s = string.as_bytes();
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
                    return true;
                }
                star = Some((pi, si));
                continue;
            }
            if let Some(&c) = s.get(si) {
                if let Some(next) = match_one(p, pi, c) {
                    pi = next;
                    si += 1;
                    continue;
                }
            }
        } else if si == s.len() {
            return true;
        }
        // Mismatch: let the last `*` swallow one more byte, if there is one.
        match star {
            Some((sp, ss)) if ss < s.len() => {
                star = Some((sp, ss + 1));
                pi = sp;
                si = ss + 1;
            }
            _ => return false,
        }
    }
}

/// Matches the single pattern element at `p[pi]` (not `*`) against byte `c`; returns the
/// index of the next pattern element on a match.
fn match_one(p: &[u8], pi: usize, c: u8) -> Option<usize> {
    match p.get(pi)? {
        b'?' => Some(pi + 1),
        b'\\' => {
            // A trailing lone backslash matches nothing (glibc).
            let &lit = p.get(pi + 1)?;
            (lit == c).then_some(pi + 2)
        }
        b'[' => match bracket(p, pi, c) {
            Some((matched, next)) => matched.then_some(next),
            // Unterminated: the `[` is an ordinary character.
            None => (c == b'[').then_some(pi + 1),
        },
        &lit => (lit == c).then_some(pi + 1),
    }
}

/// Evaluates the bracket expression starting at `p[start] == '['` against `c`.
/// Returns (matched, index after the closing `]`), or `None` if it is unterminated.
fn bracket(p: &[u8], start: usize, c: u8) -> Option<(bool, usize)> {
    let mut j = start + 1;
    let negate = matches!(p.get(j), Some(b'!') | Some(b'^'));
    if negate {
        j += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let &b = p.get(j)?;
        if b == b']' && !first {
            return Some((matched != negate, j + 1));
        }
        first = false;
        if b == b'[' && p.get(j + 1) == Some(&b':') {
            if let Some((class_matches, next)) = char_class(p, j + 2, c) {
                matched |= class_matches;
                j = next;
                continue;
            }
        }
        let (lo, after_lo) = bracket_char(p, j)?;
        j = after_lo;
        if p.get(j) == Some(&b'-') && p.get(j + 1).is_some_and(|&n| n != b']') {
            let (hi, after_hi) = bracket_char(p, j + 1)?;
            j = after_hi;
            matched |= lo <= c && c <= hi;
        } else {
            matched |= lo == c;
        }
    }
}

/// One (possibly backslash-escaped) character inside a bracket expression.
fn bracket_char(p: &[u8], j: usize) -> Option<(u8, usize)> {
    match p.get(j)? {
        b'\\' => p.get(j + 1).map(|&e| (e, j + 2)),
        &b => Some((b, j + 1)),
    }
}

/// `[:name:]` starting with the name at `p[j]`. Returns (matches, index after `:]`), or
/// `None` if there is no `:]` (then the `[` is treated as an ordinary bracket member).
fn char_class(p: &[u8], j: usize, c: u8) -> Option<(bool, usize)> {
    let rest = p.get(j..)?;
    let end = rest.windows(2).position(|w| w == b":]")?;
    let name = rest.get(..end)?;
    let matches = match name {
        b"alnum" => c.is_ascii_alphanumeric(),
        b"alpha" => c.is_ascii_alphabetic(),
        b"blank" => c == b' ' || c == b'\t',
        b"cntrl" => c.is_ascii_control(),
        b"digit" => c.is_ascii_digit(),
        b"graph" => c.is_ascii_graphic(),
        b"lower" => c.is_ascii_lowercase(),
        b"print" => c.is_ascii_graphic() || c == b' ',
        b"punct" => c.is_ascii_punctuation(),
        b"space" => c.is_ascii_whitespace() || c == 0x0b,
        b"upper" => c.is_ascii_uppercase(),
        b"xdigit" => c.is_ascii_hexdigit(),
        _ => false,
    };
    Some((matches, j + end + 2))
}

#[cfg(test)]
mod tests {
    use super::fnmatch;

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
    }
}
