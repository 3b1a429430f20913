//! file_contexts: parsing and `selabel_lookup` with libselinux 3.4 semantics.
//!
//! What we mirror (libselinux `label_file.c`, `label_file.h`,
//! `label_support.c`):
//! - a line is up to three whitespace-separated (`isspace`) fields
//!   `<regex> [<type>] <context>`, further fields are ignored; a line whose
//!   first non-blank byte is `#` is a comment; a NUL ends the line; fields
//!   must be ASCII and shorter than 65535 bytes;
//! - each regex is compiled as `^regex$` and matched against the whole path;
//! - a spec has a *stem* (its text up to the second `/`, if that text has no
//!   meta character); it is only tried for paths with the same stem;
//! - specs without meta characters (`.^$?*+|[({`, a `\` skips the next byte)
//!   are moved after all the others, each group keeping file order, and the
//!   list is searched from the end: the last matching spec wins and exact
//!   specs win over regex specs; duplicates are allowed (the last wins);
//! - the path is cleaned first: it ends at a NUL, runs of `/` collapse to
//!   one, then one trailing `/` is removed (not from `/` itself);
//! - the type filter: no mode (or mode 0) considers every spec, otherwise
//!   untyped specs and specs of the file's type;
//! - a winning `<<none>>` means "no context".
//!
//! Where we deliberately differ, it is in rejecting input libselinux would
//! also fail on, but line by line: libselinux refuses the whole file at the
//! first bad line (or fails lookups that reach a bad regex), we skip and
//! report each bad line and keep the rest. We also check context syntax,
//! which libselinux only does against a loaded policy.

use std::borrow::Cow;
use std::fmt;

use crate::context;
use crate::kind::{FileKind, ModeFilter};
use crate::pattern::{self, parse, RegexError, SpecRegex};
use crate::treble;

/// Magic number of compiled (`file_contexts.bin`) files.
const COMPILED_MAGIC: u32 = 0xf97c_ff8a;
/// libselinux rejects spec fields of this length or longer.
const MAX_FIELD_LEN: usize = 65_535;
/// The context that means "do not label".
pub const NONE_CONTEXT: &str = "<<none>>";

/// One rejected file_contexts line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}:{line}: {kind}")]
pub struct ParseError {
    /// The file (or other origin) the line came from.
    pub origin: String,
    /// 1-based line number.
    pub line: usize,
    /// What was wrong.
    pub kind: ParseErrorKind,
}

/// The kinds of [`ParseError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    /// Only one field on the line.
    #[error("line is missing fields (expected <regex> [<type>] <context>)")]
    MissingFields,
    /// A field has a non-ASCII byte.
    #[error("non-ASCII characters found")]
    NonAscii,
    /// A field is 65535 bytes or longer.
    #[error("spec entry too long")]
    FieldTooLong,
    /// The middle field of a three-field line is not a type specifier.
    #[error("invalid file type {0:?} (expected one of -- -d -c -b -l -p -s)")]
    InvalidFileType(String),
    /// The context is not `user:role:type:level`.
    #[error("invalid context {context:?}: {reason}")]
    InvalidContext {
        /// The context field.
        context: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The regex is invalid or cannot be translated exactly.
    #[error("regex {regex:?}: {error}")]
    InvalidRegex {
        /// The regex field.
        regex: String,
        /// Why it was rejected.
        error: RegexError,
    },
    /// A partner (vendor/odm) entry may label paths outside its domain.
    #[error("{regex:?} may label paths outside {allowed} (treble violation); entry skipped", allowed = treble::ALLOWED)]
    TrebleViolation {
        /// The regex field.
        regex: String,
    },
    /// The file is in the compiled `file_contexts.bin` format.
    #[error("compiled (binary) file_contexts files are not supported")]
    CompiledFormat,
}

/// Every line rejected while building a [`FileContexts`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParseErrors(pub Vec<ParseError>);

impl ParseErrors {
    /// Whether no line was rejected.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many lines were rejected.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The rejected lines, in input order.
    pub fn iter(&self) -> std::slice::Iter<'_, ParseError> {
        self.0.iter()
    }
}

impl fmt::Display for ParseErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseErrors {}

/// The result of parsing: the usable specs and every rejected line.
#[derive(Debug, Clone, Default)]
pub struct ParseOutcome {
    /// Every accepted spec.
    pub contexts: FileContexts,
    /// Every rejected line (skipped).
    pub errors: ParseErrors,
}

impl ParseOutcome {
    /// The contexts if no line was rejected, else the errors.
    pub fn into_result(self) -> Result<FileContexts, ParseErrors> {
        if self.errors.is_empty() {
            Ok(self.contexts)
        } else {
            Err(self.errors)
        }
    }

    /// Appends `other` (a later file) to this outcome.
    pub fn merge(&mut self, other: ParseOutcome) {
        self.contexts.merge(other.contexts);
        self.errors.0.extend(other.errors.0);
    }
}

/// One accepted line.
#[derive(Debug, Clone)]
struct Spec {
    /// The regex field, as written.
    regex: Box<str>,
    /// Length of the stem prefix of `regex` (0: no stem).
    stem_len: usize,
    /// The type the spec is restricted to.
    kind: Option<FileKind>,
    /// The context; `None` for `<<none>>`.
    context: Option<Box<str>>,
    matcher: SpecRegex,
}

impl Spec {
    fn stem(&self) -> Option<&[u8]> {
        match self.stem_len {
            0 => None,
            n => self.regex.as_bytes().get(..n),
        }
    }
}

/// A set of file_contexts specs, searched with libselinux's rules.
#[derive(Debug, Clone, Default)]
pub struct FileContexts {
    /// Specs with meta characters, in input order.
    regex_specs: Vec<Spec>,
    /// Specs without meta characters, in input order (searched first).
    exact_specs: Vec<Spec>,
}

impl FileContexts {
    /// Parses a platform file_contexts; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> ParseOutcome {
        parse_text(text.as_bytes(), origin, false)
    }

    /// Parses file contents that may not be UTF-8 (such lines are rejected).
    pub fn parse_bytes(text: &[u8], origin: &str) -> ParseOutcome {
        parse_text(text, origin, false)
    }

    /// Parses a partner (vendor or odm) file_contexts: entries that may
    /// label paths outside `/vendor`, `/odm`, `/dev`, `/sys` and
    /// `/data/vendor*` are skipped and reported as treble violations.
    pub fn parse_partner(text: &[u8], origin: &str) -> ParseOutcome {
        parse_text(text, origin, true)
    }

    /// Appends the specs of a later file, as libselinux does when it is
    /// given several files (the exact-after-regex order is kept globally).
    pub fn merge(&mut self, other: FileContexts) {
        self.regex_specs.extend(other.regex_specs);
        self.exact_specs.extend(other.exact_specs);
    }

    /// Number of specs.
    pub fn len(&self) -> usize {
        self.regex_specs.len() + self.exact_specs.len()
    }

    /// Whether there are no specs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The context for `path`, `None` when nothing matches or the winning
    /// spec is `<<none>>`. `kind == None` considers every spec.
    pub fn lookup(&self, path: &str, kind: Option<FileKind>) -> Option<&str> {
        self.lookup_bytes(path.as_bytes(), kind)
    }

    /// [`FileContexts::lookup`] for a path that may not be UTF-8.
    pub fn lookup_bytes(&self, path: &[u8], kind: Option<FileKind>) -> Option<&str> {
        self.find(path, ModeFilter::from(kind))?.context.as_deref()
    }

    /// [`FileContexts::lookup`] with a raw `st_mode`, exactly as libselinux
    /// filters on `mode & S_IFMT` (0 considers every spec).
    pub fn lookup_mode(&self, path: &[u8], mode: u32) -> Option<&str> {
        self.find(path, ModeFilter::from_mode(mode))?
            .context
            .as_deref()
    }

    /// The winning spec for `path`, `<<none>>` included. As in libselinux,
    /// a regex that fails to compile when first used ends the lookup with
    /// no result (bounded lazy compilation makes that unreachable).
    fn find(&self, path: &[u8], filter: ModeFilter) -> Option<&Spec> {
        let key = clean_path(path)?;
        let stem = path_stem(&key);
        let subject = pattern::subject(&key);
        let candidates = self
            .exact_specs
            .iter()
            .rev()
            .chain(self.regex_specs.iter().rev());
        for spec in candidates {
            if spec.stem().is_some_and(|s| Some(s) != stem) || !filter.admits(spec.kind) {
                continue;
            }
            if spec.matcher.is_match_prepared(&key, &subject)? {
                return Some(spec);
            }
        }
        None
    }

    fn push(&mut self, spec: Spec) {
        if has_meta_chars(spec.regex.as_bytes()) {
            self.regex_specs.push(spec);
        } else {
            self.exact_specs.push(spec);
        }
    }
}

fn parse_text(text: &[u8], origin: &str, partner: bool) -> ParseOutcome {
    let mut outcome = ParseOutcome::default();
    let magic = text.get(..4).and_then(|m| <[u8; 4]>::try_from(m).ok());
    if magic.is_some_and(|m| {
        u32::from_le_bytes(m) == COMPILED_MAGIC || u32::from_be_bytes(m) == COMPILED_MAGIC
    }) {
        outcome.errors.0.push(ParseError {
            origin: origin.to_owned(),
            line: 1,
            kind: ParseErrorKind::CompiledFormat,
        });
        return outcome;
    }
    for (index, line) in text.split(|&b| b == b'\n').enumerate() {
        match parse_line(line, partner) {
            Ok(Some(spec)) => outcome.contexts.push(spec),
            Ok(None) => {}
            Err(kind) => outcome.errors.0.push(ParseError {
                origin: origin.to_owned(),
                line: index + 1,
                kind,
            }),
        }
    }
    outcome
}

/// The fields of one line, as libselinux's `read_spec_entries` splits it.
fn split_fields(line: &[u8]) -> Result<Vec<&str>, ParseErrorKind> {
    let line = until_nul(line);
    let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let mut rest = line;
    let mut fields = Vec::with_capacity(3);
    while fields.len() < 3 {
        let start = rest.iter().position(|b| !is_space(b)).unwrap_or(rest.len());
        rest = rest.get(start..).unwrap_or_default();
        if rest.is_empty() || (fields.is_empty() && rest.first() == Some(&b'#')) {
            break;
        }
        let len = rest.iter().position(is_space).unwrap_or(rest.len());
        let (field, after) = rest.split_at(len);
        if !field.is_ascii() {
            return Err(ParseErrorKind::NonAscii);
        }
        if field.len() >= MAX_FIELD_LEN {
            return Err(ParseErrorKind::FieldTooLong);
        }
        // ASCII is valid UTF-8.
        fields.push(std::str::from_utf8(field).map_err(|_| ParseErrorKind::NonAscii)?);
        rest = after;
    }
    Ok(fields)
}

/// Parses one line; `Ok(None)` for blank and comment lines.
fn parse_line(line: &[u8], partner: bool) -> Result<Option<Spec>, ParseErrorKind> {
    let fields = split_fields(line)?;
    let (regex, kind, context) = match fields.as_slice() {
        [] => return Ok(None),
        [_] => return Err(ParseErrorKind::MissingFields),
        [regex, context] => (*regex, None, *context),
        [regex, kind, context, ..] => {
            let Some(kind) = FileKind::from_specifier(kind) else {
                return Err(ParseErrorKind::InvalidFileType((*kind).to_owned()));
            };
            (*regex, Some(kind), *context)
        }
    };
    let invalid_regex = |error| ParseErrorKind::InvalidRegex {
        regex: regex.to_owned(),
        error,
    };
    let ast = parse::parse(regex).map_err(invalid_regex)?;
    let context = if context == NONE_CONTEXT {
        None
    } else {
        context::validate(context).map_err(|reason| ParseErrorKind::InvalidContext {
            context: context.to_owned(),
            reason,
        })?;
        Some(Box::from(context))
    };
    if partner && !treble::partner_may_label(&ast) {
        return Err(ParseErrorKind::TrebleViolation {
            regex: regex.to_owned(),
        });
    }
    let matcher = SpecRegex::from_ast(&ast).map_err(invalid_regex)?;
    Ok(Some(Spec {
        regex: Box::from(regex),
        stem_len: spec_stem_len(regex.as_bytes()),
        kind,
        context,
        matcher,
    }))
}

/// The bytes before the first NUL (C strings end there).
fn until_nul(bytes: &[u8]) -> &[u8] {
    match bytes.iter().position(|&b| b == 0) {
        Some(nul) => bytes.get(..nul).unwrap_or_default(),
        None => bytes,
    }
}

/// The meta characters of libselinux's `spec_hasMetaChars`/`get_stem_from_spec`.
const META: &[u8] = b".^$?*+|[({";

/// libselinux `spec_hasMetaChars`: a `\` hides the byte after it.
fn has_meta_chars(regex: &[u8]) -> bool {
    let mut bytes = regex.iter();
    while let Some(b) = bytes.next() {
        if *b == b'\\' {
            bytes.next();
        } else if META.contains(b) {
            return true;
        }
    }
    false
}

/// libselinux `get_stem_from_spec`: the text before the second `/` if it
/// has no meta character (escapes are not interpreted here).
fn spec_stem_len(regex: &[u8]) -> usize {
    match slash_after_first(regex) {
        Some(len)
            if !regex
                .get(..len)
                .unwrap_or_default()
                .iter()
                .any(|b| META.contains(b)) =>
        {
            len
        }
        _ => 0,
    }
}

/// libselinux `get_stem_from_file_name`.
fn path_stem(path: &[u8]) -> Option<&[u8]> {
    path.get(..slash_after_first(path)?)
}

/// Index of the first `/` after index 0.
fn slash_after_first(s: &[u8]) -> Option<usize> {
    Some(s.get(1..)?.iter().position(|&b| b == b'/')? + 1)
}

/// libselinux's key cleaning: the path ends at a NUL (it is a C string),
/// runs of `/` collapse, one trailing `/` is dropped (not from `/`). An
/// empty path has no context (libselinux: `EINVAL`).
fn clean_path(path: &[u8]) -> Option<Cow<'_, [u8]>> {
    let path = until_nul(path);
    if path.is_empty() {
        return None;
    }
    let doubled = path.windows(2).any(|w| w == b"//");
    let trailing = path.len() > 1 && path.last() == Some(&b'/');
    if !doubled && !trailing {
        return Some(Cow::Borrowed(path));
    }
    let mut clean = Vec::with_capacity(path.len());
    for &b in path {
        if !(b == b'/' && clean.last() == Some(&b'/')) {
            clean.push(b);
        }
    }
    if clean.len() > 1 && clean.last() == Some(&b'/') {
        clean.pop();
    }
    Some(Cow::Owned(clean))
}

#[cfg(test)]
mod tests;
