//! file_contexts regular expressions with libselinux 3.4's exact semantics.
//!
//! libselinux compiles each spec as the PCRE2 pattern `^` + spec + `$`
//! (`PCRE2_DOTALL`, byte mode) and matches it against the whole (cleaned)
//! path. We parse that pattern ([`parse`]), write an equivalent `regex-lite`
//! pattern ([`emit`]) and match it against the path's bytes mapped one to one
//! onto U+0000..=U+00FF, so that `.` and classes consume exactly one byte as
//! in PCRE2. Anything that cannot be translated exactly is rejected with a
//! [`RegexError`]; see `sepolicy/README.md` for the list.

pub(crate) mod ast;
mod emit;
pub(crate) mod parse;

use std::borrow::Cow;
use std::sync::OnceLock;

use ast::Node;

/// Size limit for one compiled `regex-lite` program.
const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Nesting limit handed to `regex-lite` (our parser allows 64 groups; the
/// translation adds at most two levels per group).
const REGEX_NEST_LIMIT: u32 = 256;

/// Why a spec's regex was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at offset {offset}")]
pub struct RegexError {
    /// Byte offset within the spec's regex.
    pub offset: usize,
    /// What was wrong.
    pub kind: RegexErrorKind,
}

/// The kinds of [`RegexError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegexErrorKind {
    /// PCRE2 rejects this pattern too.
    #[error("invalid regex: {0}")]
    Invalid(&'static str),
    /// Valid for PCRE2 but not translated (we never approximate).
    #[error("unsupported regex construct: {0}")]
    Unsupported(&'static str),
    /// The spec is longer than libselinux accepts.
    #[error("regex too long")]
    TooLarge,
    /// `regex-lite` refused the translated pattern (size or nesting limit).
    #[error("regex too complex to compile: {0}")]
    TooComplex(String),
}

/// Translates a spec's regex into the `regex-lite` pattern we match with
/// (anchors included). Exposed for fuzzing and diagnostics.
pub fn translate(regex: &str) -> Result<String, RegexError> {
    parse::parse(regex).map(|ast| emit::emit(&ast))
}

/// A spec's regex, compiled with libselinux's matching semantics.
#[derive(Debug, Clone)]
pub struct SpecRegex {
    matcher: Matcher,
}

impl SpecRegex {
    /// Compiles `regex` (a file_contexts path regex, without anchors).
    pub fn new(regex: &str) -> Result<SpecRegex, RegexError> {
        let ast = parse::parse(regex)?;
        SpecRegex::from_ast(&ast)
    }

    /// Compiles an already parsed pattern.
    pub(crate) fn from_ast(ast: &Node) -> Result<SpecRegex, RegexError> {
        Ok(SpecRegex {
            matcher: Matcher::new(ast)?,
        })
    }

    /// Whether the anchored pattern matches `path` (raw bytes, no cleaning).
    /// False if a lazily compiled pattern failed to compile, which the
    /// size bound on lazy compilation rules out.
    pub fn is_match(&self, path: &[u8]) -> bool {
        self.matcher.is_match(path, &subject(path)).unwrap_or(false)
    }

    /// Like [`SpecRegex::is_match`] with the subject already mapped by
    /// [`subject`] (so a lookup maps the path once for all specs); `None`
    /// if the pattern could not be compiled.
    pub(crate) fn is_match_prepared(&self, path: &[u8], subject: &str) -> Option<bool> {
        self.matcher.is_match(path, subject)
    }
}

/// Translations at most this long and without counted repetition (the only
/// construct the NFA copies) stay far below [`REGEX_SIZE_LIMIT`]; they are
/// compiled on first use, as libselinux does. Others are compiled at parse
/// time so that a size error is reported with its line.
const LAZY_MAX_PATTERN: usize = 16 * 1024;

/// How a pattern is matched: plain literals skip the regex engine.
#[derive(Debug, Clone)]
enum Matcher {
    /// `^literal$`: equal to the literal, or to it plus a final newline.
    Literal(Box<[u8]>),
    /// Any other pattern; `prefix` is a literal every match starts with.
    Regex {
        prefix: Box<[u8]>,
        pattern: Box<str>,
        /// `None` inside: compilation failed (logged once).
        compiled: OnceLock<Option<regex_lite::Regex>>,
    },
}

impl Matcher {
    fn new(ast: &Node) -> Result<Matcher, RegexError> {
        if let Some(literal) = literal_of(ast) {
            return Ok(Matcher::Literal(literal.into_boxed_slice()));
        }
        let pattern = emit::emit(ast);
        let compiled = if pattern.len() > LAZY_MAX_PATTERN || has_counted_repetition(ast) {
            OnceLock::from(Some(compile(&pattern)?))
        } else {
            OnceLock::new()
        };
        Ok(Matcher::Regex {
            prefix: anchored_prefix(ast).into_boxed_slice(),
            pattern: pattern.into_boxed_str(),
            compiled,
        })
    }

    fn is_match(&self, path: &[u8], subject: &str) -> Option<bool> {
        match self {
            Matcher::Literal(lit) => Some(
                path == &lit[..]
                    || (path.len() == lit.len() + 1
                        && path.starts_with(lit)
                        && path.last() == Some(&b'\n')),
            ),
            Matcher::Regex {
                prefix,
                pattern,
                compiled,
            } => {
                if !path.starts_with(prefix) {
                    return Some(false);
                }
                let regex = compiled.get_or_init(|| {
                    compile(pattern)
                        .map_err(|e| log::error!("file_contexts regex {pattern:?}: {e}"))
                        .ok()
                });
                Some(regex.as_ref()?.is_match(subject))
            }
        }
    }
}

fn compile(pattern: &str) -> Result<regex_lite::Regex, RegexError> {
    regex_lite::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
        .map_err(|e| RegexError {
            offset: 0,
            kind: RegexErrorKind::TooComplex(e.to_string()),
        })
}

/// Whether `node` has a `{n}`/`{n,m}`/`{n,}` repetition with a count above 1.
fn has_counted_repetition(node: &Node) -> bool {
    match node {
        Node::Repeat { node, min, max } => {
            *min > 1 || max.is_some_and(|m| m > 1) || has_counted_repetition(node)
        }
        Node::Group(inner) => has_counted_repetition(inner),
        Node::Concat(items) | Node::Alt(items) => items.iter().any(has_counted_repetition),
        _ => false,
    }
}

/// The subject string for `regex-lite`: byte `b` becomes char U+00bb.
pub(crate) fn subject(path: &[u8]) -> Cow<'_, str> {
    if path.is_ascii() {
        // ASCII is valid UTF-8 and maps onto itself.
        Cow::Borrowed(std::str::from_utf8(path).unwrap_or_default())
    } else {
        Cow::Owned(path.iter().map(|&b| char::from(b)).collect())
    }
}

/// The bytes of a pattern that is exactly `^literal$`.
fn literal_of(ast: &Node) -> Option<Vec<u8>> {
    let Node::Concat(items) = ast else {
        return None;
    };
    let (Some(Node::Start), Some(Node::EndNewline(_))) = (items.first(), items.last()) else {
        return None;
    };
    let middle = items.get(1..items.len().saturating_sub(1))?;
    middle
        .iter()
        .map(|n| match n {
            Node::Literal(b) => Some(*b),
            _ => None,
        })
        .collect()
}

/// The literal bytes right after a leading `^`, which every match has.
fn anchored_prefix(ast: &Node) -> Vec<u8> {
    let Node::Concat(items) = ast else {
        return Vec::new();
    };
    if items.first() != Some(&Node::Start) {
        return Vec::new();
    }
    items
        .iter()
        .skip(1)
        .map_while(|n| match n {
            Node::Literal(b) => Some(*b),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests;
