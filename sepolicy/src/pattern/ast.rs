//! The parsed form of a file_contexts regular expression.
//!
//! The tree describes the PCRE2 pattern libselinux compiles (`^` + spec +
//! `$`, `PCRE2_DOTALL`, no UTF mode), over *bytes*: every character class is
//! a set of byte values, so the translation to `regex-lite` can be exact for
//! subjects whose bytes are mapped one-to-one onto the chars U+0000..=U+00FF.

/// A set of byte values (a 256-bit bitmap).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ByteSet([u64; 4]);

impl ByteSet {
    /// The empty set.
    pub(crate) const EMPTY: ByteSet = ByteSet([0; 4]);
    /// Every byte value.
    pub(crate) const ALL: ByteSet = ByteSet([u64::MAX; 4]);

    /// The set holding only `b`.
    pub(crate) fn single(b: u8) -> ByteSet {
        let mut s = ByteSet::EMPTY;
        s.insert(b);
        s
    }

    /// The set of the bytes `lo..=hi` (empty when `lo > hi`).
    pub(crate) fn range(lo: u8, hi: u8) -> ByteSet {
        let mut s = ByteSet::EMPTY;
        for b in lo..=hi {
            s.insert(b);
        }
        s
    }

    /// Adds `b`.
    pub(crate) fn insert(&mut self, b: u8) {
        let word = &mut self.0[usize::from(b >> 6)];
        *word |= 1u64 << (b & 63);
    }

    /// Whether `b` is in the set.
    pub(crate) fn contains(&self, b: u8) -> bool {
        self.0[usize::from(b >> 6)] & (1u64 << (b & 63)) != 0
    }

    /// Adds every member of `other`.
    pub(crate) fn union(&mut self, other: &ByteSet) {
        for (w, o) in self.0.iter_mut().zip(other.0.iter()) {
            *w |= *o;
        }
    }

    /// The complement within 0..=255.
    pub(crate) fn negated(&self) -> ByteSet {
        ByteSet(self.0.map(|w| !w))
    }

    /// Whether the set is empty.
    pub(crate) fn is_empty(&self) -> bool {
        self.0 == [0; 4]
    }

    /// Whether every member of `self` is in `other`.
    pub(crate) fn is_subset(&self, other: &ByteSet) -> bool {
        self.0.iter().zip(other.0.iter()).all(|(a, b)| a & !b == 0)
    }

    /// The maximal runs of members, as inclusive `(low, high)` pairs.
    pub(crate) fn ranges(&self) -> Vec<(u8, u8)> {
        let mut out = Vec::new();
        let mut start: Option<u8> = None;
        for b in 0..=255u8 {
            match (self.contains(b), start) {
                (true, None) => start = Some(b),
                (false, Some(lo)) => {
                    out.push((lo, b - 1));
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(lo) = start {
            out.push((lo, 255));
        }
        out
    }
}

/// One node of a parsed pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Node {
    /// Matches the empty string (an empty branch or group).
    Empty,
    /// One byte.
    Literal(u8),
    /// One byte out of a set (`.`, `[...]`, `\d`, ...).
    Class(ByteSet),
    /// `^` or `\A`: the start of the subject (no multi-line mode).
    Start,
    /// `\z`: the very end of the subject.
    EndStrict,
    /// `$` or `\Z`: the end of the subject or just before a final newline.
    /// The offset (within the spec's regex) is kept for error messages.
    EndNewline(usize),
    /// `\b` (true) or `\B` (false), ASCII word characters.
    WordBoundary(bool),
    /// A group, capturing or not (captures do not matter for matching).
    Group(Box<Node>),
    /// A sequence.
    Concat(Vec<Node>),
    /// Alternatives (at least two).
    Alt(Vec<Node>),
    /// A quantified node; `max == None` means unbounded.
    Repeat {
        /// The repeated node.
        node: Box<Node>,
        /// Minimum count.
        min: u32,
        /// Maximum count, `None` for no limit.
        max: Option<u32>,
    },
}
