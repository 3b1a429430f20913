//! A parser for the PCRE2 (10.42) syntax libselinux compiles.
//!
//! libselinux 3.4 compiles `^` + spec + `$` with `PCRE2_DOTALL` and no UTF
//! mode, so we parse exactly that concatenated string: a spec such as
//! `/a|/b` becomes the two branches `^/a` and `/b$`, and a trailing `\`
//! escapes the appended `$` - just as in libselinux.
//!
//! Everything is either translated exactly, rejected as invalid (PCRE2
//! rejects it too) or rejected as unsupported (PCRE2 accepts it but we do
//! not translate it). Nothing is silently approximated.

use super::ast::{ByteSet, Node};
use super::{RegexError, RegexErrorKind};

/// Longest spec regex we accept (libselinux rejects entries of 64 KiB).
pub(crate) const MAX_REGEX_LEN: usize = 65_534;
/// Deepest group nesting we accept (PCRE2's own limit is 250).
const MAX_DEPTH: usize = 64;
/// Largest repetition count we accept (PCRE2 allows 65535).
const MAX_REPEAT: u32 = 1000;

/// Parses a spec's regex (without anchors) into the tree of the anchored
/// pattern libselinux compiles.
pub(crate) fn parse(regex: &str) -> Result<Node, RegexError> {
    if regex.len() > MAX_REGEX_LEN {
        return Err(RegexError {
            offset: 0,
            kind: RegexErrorKind::TooLarge,
        });
    }
    if let Some(pos) = regex.bytes().position(|b| !b.is_ascii() || b == 0) {
        return Err(RegexError {
            offset: pos,
            kind: RegexErrorKind::Invalid("non-ASCII or NUL byte"),
        });
    }
    let mut full = Vec::with_capacity(regex.len() + 2);
    full.push(b'^');
    full.extend_from_slice(regex.as_bytes());
    full.push(b'$');
    let mut parser = Parser {
        pat: &full,
        pos: 0,
        depth: 0,
    };
    let node = parser.parse_alt()?;
    if parser.pos < full.len() {
        // Only an unmatched `)` stops the top-level alternation early.
        return Err(parser.invalid("unmatched closing parenthesis"));
    }
    check_end_anchors(&node, true)?;
    Ok(node)
}

/// One parsed element of a sequence.
enum Item {
    /// A node; `quantifiable` is false for assertions.
    Node { node: Node, quantifiable: bool },
    /// Literal bytes from `\Q...\E`.
    Quoted(Vec<u8>),
    /// Something that matches nothing and is not an atom (`(?#...)`, `\E`).
    Nothing,
}

struct Parser<'a> {
    pat: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.pat.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.pat.get(self.pos.checked_add(ahead)?).copied()
    }

    /// The offset of the parser's position within the spec's regex
    /// (the leading `^` we added is not counted).
    fn offset(&self) -> usize {
        self.pos
            .saturating_sub(1)
            .min(self.pat.len().saturating_sub(2))
    }

    fn invalid(&self, what: &'static str) -> RegexError {
        RegexError {
            offset: self.offset(),
            kind: RegexErrorKind::Invalid(what),
        }
    }

    fn unsupported(&self, what: &'static str) -> RegexError {
        RegexError {
            offset: self.offset(),
            kind: RegexErrorKind::Unsupported(what),
        }
    }

    fn parse_alt(&mut self) -> Result<Node, RegexError> {
        let mut branches = vec![self.parse_concat()?];
        while self.peek() == Some(b'|') {
            self.pos += 1;
            branches.push(self.parse_concat()?);
        }
        Ok(match branches.len() {
            1 => branches.pop().unwrap_or(Node::Empty),
            _ => Node::Alt(branches),
        })
    }

    fn parse_concat(&mut self) -> Result<Node, RegexError> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == b'|' || c == b')' {
                break;
            }
            match self.parse_item()? {
                Item::Node {
                    mut node,
                    quantifiable,
                } => {
                    if let Some((min, max)) = self.parse_quantifier()? {
                        if !quantifiable {
                            return Err(self.invalid("quantifier follows an assertion"));
                        }
                        self.after_quantifier()?;
                        node = Node::Repeat {
                            node: Box::new(node),
                            min,
                            max,
                        };
                    }
                    items.push(node);
                }
                Item::Quoted(bytes) => {
                    if self.at_quantifier()? {
                        return Err(self.unsupported("quantifier after \\Q...\\E"));
                    }
                    items.extend(bytes.into_iter().map(Node::Literal));
                }
                Item::Nothing => {
                    if self.at_quantifier()? {
                        return Err(self.unsupported("quantifier after a comment or \\E"));
                    }
                }
            }
        }
        Ok(Node::Concat(items))
    }

    fn parse_item(&mut self) -> Result<Item, RegexError> {
        let Some(c) = self.peek() else {
            return Ok(Item::Nothing);
        };
        let node = match c {
            b'(' => return self.parse_group(),
            b'[' => Node::Class(self.parse_class()?),
            b'\\' => return self.parse_escape(),
            b'.' => {
                self.pos += 1;
                Node::Class(ByteSet::ALL)
            }
            b'^' => {
                self.pos += 1;
                return Ok(Item::Node {
                    node: Node::Start,
                    quantifiable: false,
                });
            }
            b'$' => {
                let offset = self.offset();
                self.pos += 1;
                return Ok(Item::Node {
                    node: Node::EndNewline(offset),
                    quantifiable: false,
                });
            }
            b'*' | b'+' | b'?' => {
                return Err(self.invalid("quantifier does not follow a repeatable item"))
            }
            b'{' if self.brace_quantifier()?.is_some() => {
                return Err(self.invalid("quantifier does not follow a repeatable item"))
            }
            other => {
                self.pos += 1;
                Node::Literal(other)
            }
        };
        Ok(Item::Node {
            node,
            quantifiable: true,
        })
    }

    fn parse_group(&mut self) -> Result<Item, RegexError> {
        self.pos += 1; // '('
        match (self.peek(), self.peek_at(1)) {
            (Some(b'?'), Some(b':')) => self.pos += 2,
            (Some(b'?'), Some(b'#')) => {
                let rest = self.pat.get(self.pos..).unwrap_or_default();
                let Some(end) = rest.iter().position(|&b| b == b')') else {
                    return Err(self.invalid("missing ) after (?# comment"));
                };
                self.pos += end + 1;
                return Ok(Item::Nothing);
            }
            (Some(b'?'), _) => {
                return Err(self.unsupported("group syntax other than (?: and (?#"));
            }
            (Some(b'*'), _) => return Err(self.unsupported("(*VERB) or (*...) syntax")),
            _ => {}
        }
        if self.depth >= MAX_DEPTH {
            return Err(self.unsupported("groups nested too deeply"));
        }
        self.depth += 1;
        let inner = self.parse_alt()?;
        self.depth -= 1;
        if self.peek() != Some(b')') {
            return Err(self.invalid("missing closing parenthesis"));
        }
        self.pos += 1;
        Ok(Item::Node {
            node: Node::Group(Box::new(inner)),
            quantifiable: true,
        })
    }

    /// Whether a quantifier starts at the current position.
    fn at_quantifier(&self) -> Result<bool, RegexError> {
        Ok(match self.peek() {
            Some(b'*' | b'+' | b'?') => true,
            Some(b'{') => self.brace_quantifier()?.is_some(),
            _ => false,
        })
    }

    /// Parses `*`, `+`, `?` or a counted `{...}` quantifier if one starts here.
    fn parse_quantifier(&mut self) -> Result<Option<(u32, Option<u32>)>, RegexError> {
        let q = match self.peek() {
            Some(b'*') => (0, None),
            Some(b'+') => (1, None),
            Some(b'?') => (0, Some(1)),
            Some(b'{') => match self.brace_quantifier()? {
                Some((min, max, len)) => {
                    if min > MAX_REPEAT || max.is_some_and(|m| m > MAX_REPEAT) {
                        return Err(self.unsupported("repetition count above 1000"));
                    }
                    self.pos += len - 1;
                    (min, max)
                }
                None => return Ok(None),
            },
            _ => return Ok(None),
        };
        self.pos += 1;
        Ok(Some(q))
    }

    /// After a quantifier: an optional lazy `?` (which does not change
    /// whether a match exists), no possessive `+`, and no second quantifier.
    fn after_quantifier(&mut self) -> Result<(), RegexError> {
        match self.peek() {
            Some(b'?') => self.pos += 1,
            Some(b'+') => return Err(self.unsupported("possessive quantifier")),
            _ => {}
        }
        if self.at_quantifier()? {
            return Err(self.invalid("quantifier does not follow a repeatable item"));
        }
        Ok(())
    }

    /// Recognises `{n}`, `{n,}` or `{n,m}` at the current position (PCRE2
    /// 10.42 syntax: anything else, such as `{,n}` or `{ 1}`, is a literal
    /// `{`). Returns `(min, max, length in bytes)` without consuming.
    fn brace_quantifier(&self) -> Result<Option<(u32, Option<u32>, usize)>, RegexError> {
        let rest = self.pat.get(self.pos..).unwrap_or_default();
        let digits = |from: usize| {
            rest.get(from..)
                .map_or(0, |s| s.iter().take_while(|b| b.is_ascii_digit()).count())
        };
        let min_len = digits(1);
        if min_len == 0 {
            return Ok(None);
        }
        let after_min = 1 + min_len;
        let (max_range, end) = match rest.get(after_min) {
            Some(b'}') => (None, after_min),
            Some(b',') => {
                let max_len = digits(after_min + 1);
                let end = after_min + 1 + max_len;
                if rest.get(end) != Some(&b'}') {
                    return Ok(None);
                }
                (Some((after_min + 1, end)), end)
            }
            _ => return Ok(None),
        };
        let number = |from: usize, to: usize| -> Result<u32, RegexError> {
            let text = rest.get(from..to).unwrap_or_default();
            let mut value: u32 = 0;
            for &d in text {
                value = value
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(u32::from(d - b'0')))
                    .filter(|&v| v <= 65_535)
                    .ok_or_else(|| self.invalid("number too big in {} quantifier"))?;
            }
            Ok(value)
        };
        let min = number(1, after_min)?;
        let max = match max_range {
            None => Some(min),
            Some((from, to)) if from == to => None,
            Some((from, to)) => Some(number(from, to)?),
        };
        if max.is_some_and(|m| m < min) {
            return Err(self.invalid("numbers out of order in {} quantifier"));
        }
        Ok(Some((min, max, end + 1)))
    }

    fn parse_escape(&mut self) -> Result<Item, RegexError> {
        self.pos += 1; // '\'
        let Some(c) = self.peek() else {
            return Err(self.invalid("\\ at end of pattern"));
        };
        self.pos += 1;
        let literal = |b: u8| {
            Ok(Item::Node {
                node: Node::Literal(b),
                quantifiable: true,
            })
        };
        let assertion = |node: Node| {
            Ok(Item::Node {
                node,
                quantifiable: false,
            })
        };
        if !c.is_ascii_alphanumeric() {
            return literal(c);
        }
        if let Some(set) = class_escape(c) {
            return Ok(Item::Node {
                node: Node::Class(set),
                quantifiable: true,
            });
        }
        match c {
            b'N' => {
                // `\N{` not starting a counted quantifier is `\N{name}`.
                if self.peek() == Some(b'{') && self.brace_quantifier()?.is_none() {
                    return Err(self.invalid("\\N{name} is not supported"));
                }
                Ok(Item::Node {
                    node: Node::Class(ByteSet::single(b'\n').negated()),
                    quantifiable: true,
                })
            }
            b'b' => assertion(Node::WordBoundary(true)),
            b'B' => assertion(Node::WordBoundary(false)),
            b'A' => assertion(Node::Start),
            b'z' => assertion(Node::EndStrict),
            b'Z' => assertion(Node::EndNewline(self.offset().saturating_sub(2))),
            b'Q' => {
                let rest = self.pat.get(self.pos..).unwrap_or_default();
                let end = rest.windows(2).position(|w| w == b"\\E");
                let quoted = rest.get(..end.unwrap_or(rest.len())).unwrap_or_default();
                let bytes = quoted.to_vec();
                self.pos += end.map_or(rest.len(), |e| e + 2);
                Ok(Item::Quoted(bytes))
            }
            b'E' => Ok(Item::Nothing),
            _ => literal(self.char_escape(c, false)?),
        }
    }

    /// Escapes that stand for one byte, shared by classes and the rest of
    /// the pattern. `c` has been consumed.
    fn char_escape(&mut self, c: u8, in_class: bool) -> Result<u8, RegexError> {
        Ok(match c {
            b'a' => 0x07,
            b'e' => 0x1b,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'b' if in_class => 0x08,
            b'c' => {
                let Some(x) = self.peek().filter(|x| (0x20..=0x7e).contains(x)) else {
                    return Err(self.invalid("\\c must be followed by a printable ASCII character"));
                };
                self.pos += 1;
                x.to_ascii_uppercase() ^ 0x40
            }
            b'x' => self.hex_escape()?,
            b'0'..=b'9' | b'g' | b'k' | b'o' => {
                return Err(self.unsupported("backreference or octal escape"))
            }
            b'F' | b'I' | b'J' | b'L' | b'M' | b'O' | b'T' | b'U' | b'Y' | b'i' | b'j' | b'l'
            | b'm' | b'q' | b'u' | b'y' => return Err(self.invalid("unrecognized escape")),
            b'A' | b'B' | b'N' | b'z' if in_class => {
                return Err(self.invalid("escape sequence is invalid in a character class"))
            }
            _ => return Err(self.unsupported("escape sequence")),
        })
    }

    /// `\xhh` (one or two hex digits) or `\x{h...}`; `x` has been consumed.
    fn hex_escape(&mut self) -> Result<u8, RegexError> {
        let rest = self.pat.get(self.pos..).unwrap_or_default();
        if rest.first() == Some(&b'{') {
            let body = rest.get(1..).unwrap_or_default();
            let len = body.iter().take_while(|b| b.is_ascii_hexdigit()).count();
            if len == 0 || body.get(len) != Some(&b'}') {
                return Err(self.unsupported("\\x{ without hex digits and }"));
            }
            let mut value: u32 = 0;
            for &d in body.get(..len).unwrap_or_default() {
                value = value.saturating_mul(16).saturating_add(hex_value(d));
            }
            let Ok(byte) = u8::try_from(value) else {
                return Err(self.invalid("character value in \\x{} is too large"));
            };
            self.pos += len + 2;
            return Ok(byte);
        }
        let len = rest
            .iter()
            .take(2)
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        if len == 0 {
            return Err(self.unsupported("\\x without hex digits"));
        }
        let mut value: u8 = 0;
        for &d in rest.get(..len).unwrap_or_default() {
            // At most two hex digits: the value stays below 256.
            value = (value << 4) | (hex_value(d) as u8);
        }
        self.pos += len;
        Ok(value)
    }

    /// Parses `[...]` into a byte set; the current byte is `[`.
    fn parse_class(&mut self) -> Result<ByteSet, RegexError> {
        let start = self.pos;
        self.pos += 1;
        if self
            .pat
            .get(self.pos..)
            .is_some_and(|r| r.starts_with(b"[:<:]]") || r.starts_with(b"[:>:]]"))
        {
            return Err(self.unsupported("[[:<:]] and [[:>:]] word boundaries"));
        }
        // PCRE2 rejects `[:alpha:]` (and `[.x.]`, `[=x=]`) outside a class,
        // i.e. right after this `[`.
        let body = self.pat.get(self.pos..).unwrap_or_default();
        if matches!(body.first(), Some(b':' | b'.' | b'=')) && posix_syntax_end(body).is_some() {
            return Err(self.invalid("POSIX named classes are supported only within a class"));
        }
        // Like Perl, PCRE2 skips `\E` and `\Q\E` before and after a leading `^`.
        self.skip_empty_quotes();
        let negate = self.peek() == Some(b'^');
        if negate {
            self.pos += 1;
            self.skip_empty_quotes();
        }
        let mut set = ByteSet::EMPTY;
        let mut first = true;
        loop {
            let Some(c) = self.peek() else {
                self.pos = start;
                return Err(self.invalid("missing terminating ] for character class"));
            };
            if c == b']' && !first {
                self.pos += 1;
                break;
            }
            let atom = self.class_atom()?;
            if !matches!(atom, ClassAtom::Nothing) {
                first = false;
            }
            match atom {
                ClassAtom::Set(members) => {
                    if self.peek() == Some(b'-') && self.peek_at(1).is_some_and(|n| n != b']') {
                        return Err(self.invalid("invalid range in character class"));
                    }
                    set.union(&members);
                }
                ClassAtom::Nothing => {
                    if self.peek() == Some(b'-') {
                        return Err(self.unsupported("\\E before - in a character class"));
                    }
                }
                ClassAtom::Byte(lo) => {
                    if self.peek() == Some(b'-') && self.peek_at(1).is_some_and(|n| n != b']') {
                        self.pos += 1;
                        let hi = match self.class_atom()? {
                            ClassAtom::Byte(hi) => hi,
                            ClassAtom::Set(_) => {
                                return Err(self.invalid("invalid range in character class"))
                            }
                            ClassAtom::Nothing => {
                                return Err(self.unsupported("\\E inside a range"));
                            }
                        };
                        if hi < lo {
                            return Err(self.invalid("range out of order in character class"));
                        }
                        set.union(&ByteSet::range(lo, hi));
                    } else {
                        set.insert(lo);
                    }
                }
            }
        }
        Ok(if negate { set.negated() } else { set })
    }

    /// One member of a class: a byte, a set (`\d`, `[:alpha:]`) or nothing
    /// (`\E`).
    fn class_atom(&mut self) -> Result<ClassAtom, RegexError> {
        let Some(c) = self.peek() else {
            return Err(self.invalid("missing terminating ] for character class"));
        };
        match c {
            b'[' => {
                if let Some(set) = self.posix_class()? {
                    return Ok(ClassAtom::Set(set));
                }
                self.pos += 1;
                Ok(ClassAtom::Byte(b'['))
            }
            b'\\' => {
                self.pos += 1;
                let Some(e) = self.peek() else {
                    return Err(self.invalid("\\ at end of pattern"));
                };
                self.pos += 1;
                if !e.is_ascii_alphanumeric() {
                    return Ok(ClassAtom::Byte(e));
                }
                if let Some(set) = class_escape(e) {
                    return Ok(ClassAtom::Set(set));
                }
                match e {
                    b'E' => Ok(ClassAtom::Nothing),
                    b'Q' => Err(self.unsupported("\\Q inside a character class")),
                    _ => Ok(ClassAtom::Byte(self.char_escape(e, true)?)),
                }
            }
            other => {
                self.pos += 1;
                Ok(ClassAtom::Byte(other))
            }
        }
    }

    /// At `[` inside a class: a POSIX class `[:name:]` / `[:^name:]` if the
    /// text has PCRE2's POSIX syntax, else `None` (the `[` is a literal).
    fn posix_class(&mut self) -> Result<Option<ByteSet>, RegexError> {
        let rest = self.pat.get(self.pos..).unwrap_or_default();
        let Some(&terminator) = rest.get(1).filter(|t| matches!(t, b':' | b'.' | b'=')) else {
            return Ok(None);
        };
        let Some(end) = posix_syntax_end(rest.get(1..).unwrap_or_default()).map(|e| e + 1) else {
            return Ok(None);
        };
        if terminator != b':' {
            return Err(self.invalid("POSIX collating elements are not supported"));
        }
        let mut name = rest.get(2..end).unwrap_or_default();
        let negate = name.first() == Some(&b'^');
        if negate {
            name = name.get(1..).unwrap_or_default();
        }
        let Some(set) = posix_set(name) else {
            return Err(self.invalid("unknown POSIX class name"));
        };
        self.pos += end + 2;
        Ok(Some(if negate { set.negated() } else { set }))
    }
}

impl Parser<'_> {
    /// Skips `\E` and `\Q\E` (empty quotes).
    fn skip_empty_quotes(&mut self) {
        loop {
            let rest = self.pat.get(self.pos..).unwrap_or_default();
            if rest.starts_with(b"\\E") {
                self.pos += 2;
            } else if rest.starts_with(b"\\Q\\E") {
                self.pos += 4;
            } else {
                return;
            }
        }
    }
}

/// PCRE2's `check_posix_syntax`: `text` starts with the terminator (`:`,
/// `.` or `=`) that followed a `[`; returns the index of the terminator
/// that is followed by `]`, giving up at an unescaped `]` or at `[`
/// followed by the terminator.
fn posix_syntax_end(text: &[u8]) -> Option<usize> {
    let terminator = *text.first()?;
    let mut i = 1;
    loop {
        let b = *text.get(i)?;
        let next = text.get(i + 1).copied();
        if b == b'\\' && matches!(next, Some(b']' | b'\\')) {
            i += 2;
        } else if (b == b'[' && next == Some(terminator)) || b == b']' {
            return None;
        } else if b == terminator && next == Some(b']') {
            return Some(i);
        } else {
            i += 1;
        }
    }
}

enum ClassAtom {
    Byte(u8),
    Set(ByteSet),
    Nothing,
}

fn hex_value(d: u8) -> u32 {
    match d {
        b'0'..=b'9' => u32::from(d - b'0'),
        b'a'..=b'f' => u32::from(d - b'a') + 10,
        b'A'..=b'F' => u32::from(d - b'A') + 10,
        _ => 0,
    }
}

/// `\d \D \s \S \w \W \h \H \v \V` as byte sets (PCRE2 default tables,
/// no UCP: ASCII definitions; `\h` and `\v` include their Latin-1 members).
fn class_escape(c: u8) -> Option<ByteSet> {
    let lower = c.to_ascii_lowercase();
    let set = match lower {
        b'd' => ByteSet::range(b'0', b'9'),
        b's' => space_set(),
        b'w' => word_set(),
        b'h' => {
            let mut s = ByteSet::single(b'\t');
            s.insert(b' ');
            s.insert(0xa0);
            s
        }
        b'v' => {
            let mut s = ByteSet::range(0x0a, 0x0d);
            s.insert(0x85);
            s
        }
        _ => return None,
    };
    Some(if c.is_ascii_uppercase() {
        set.negated()
    } else {
        set
    })
}

fn space_set() -> ByteSet {
    let mut s = ByteSet::range(0x09, 0x0d);
    s.insert(b' ');
    s
}

fn word_set() -> ByteSet {
    let mut s = alnum_set();
    s.insert(b'_');
    s
}

fn alnum_set() -> ByteSet {
    let mut s = ByteSet::range(b'a', b'z');
    s.union(&ByteSet::range(b'A', b'Z'));
    s.union(&ByteSet::range(b'0', b'9'));
    s
}

/// The POSIX classes PCRE2 knows, with the C locale's ASCII members.
fn posix_set(name: &[u8]) -> Option<ByteSet> {
    let graph = ByteSet::range(0x21, 0x7e);
    Some(match name {
        b"alpha" => {
            let mut s = ByteSet::range(b'a', b'z');
            s.union(&ByteSet::range(b'A', b'Z'));
            s
        }
        b"digit" => ByteSet::range(b'0', b'9'),
        b"alnum" => alnum_set(),
        b"upper" => ByteSet::range(b'A', b'Z'),
        b"lower" => ByteSet::range(b'a', b'z'),
        b"space" => space_set(),
        b"blank" => {
            let mut s = ByteSet::single(b' ');
            s.insert(b'\t');
            s
        }
        b"cntrl" => {
            let mut s = ByteSet::range(0, 0x1f);
            s.insert(0x7f);
            s
        }
        b"print" => ByteSet::range(0x20, 0x7e),
        b"graph" => graph,
        b"punct" => {
            let mut s = ByteSet::EMPTY;
            for b in 0x21..=0x7eu8 {
                if !b.is_ascii_alphanumeric() {
                    s.insert(b);
                }
            }
            s
        }
        b"xdigit" => {
            let mut s = ByteSet::range(b'0', b'9');
            s.union(&ByteSet::range(b'a', b'f'));
            s.union(&ByteSet::range(b'A', b'F'));
            s
        }
        b"word" => word_set(),
        b"ascii" => ByteSet::range(0, 0x7f),
        _ => return None,
    })
}

/// `$` (and `\Z`) may also match just before a final newline. We translate
/// it as "an optional newline, then the end", which is exact only when
/// nothing but further end anchors can follow it; other uses are rejected.
fn check_end_anchors(node: &Node, follow_ok: bool) -> Result<(), RegexError> {
    match node {
        Node::EndNewline(offset) if !follow_ok => Err(RegexError {
            offset: *offset,
            kind: RegexErrorKind::Unsupported("$ or \\Z followed by more pattern"),
        }),
        Node::Concat(items) => {
            for (i, item) in items.iter().enumerate() {
                let rest_ok = items
                    .get(i + 1..)
                    .unwrap_or_default()
                    .iter()
                    .all(only_end_anchors);
                check_end_anchors(item, follow_ok && rest_ok)?;
            }
            Ok(())
        }
        Node::Alt(branches) => branches
            .iter()
            .try_for_each(|b| check_end_anchors(b, follow_ok)),
        Node::Group(inner) => check_end_anchors(inner, follow_ok),
        Node::Repeat { node, max, .. } => {
            let repeats = max.is_none_or(|m| m > 1);
            check_end_anchors(node, follow_ok && (!repeats || only_end_anchors(node)))
        }
        _ => Ok(()),
    }
}

/// Whether `node` consists only of `$`/`\Z` anchors (or nothing at all).
fn only_end_anchors(node: &Node) -> bool {
    match node {
        Node::Empty | Node::EndNewline(_) => true,
        Node::Group(inner) => only_end_anchors(inner),
        Node::Repeat { node, .. } => only_end_anchors(node),
        Node::Concat(items) | Node::Alt(items) => items.iter().all(only_end_anchors),
        _ => false,
    }
}
