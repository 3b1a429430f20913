//! Strict encoding check used by the chain verifier.
//!
//! An item passes when every head is in its shortest form, all lengths are definite, text
//! strings are valid UTF-8, no map repeats a key, simple values are only
//! `false`/`true`/`null`/`undefined` (no floats) and nesting stays within [`MAX_DEPTH`].
//! Map keys are *not* required to be sorted: open-dice emits the CWT claims in a fixed,
//! unsorted order (config descriptor before config hash) and that order is part of the
//! signed bytes.

use super::reader::{head_at, ReadError};
use super::Major;

/// Deepest nesting accepted.
pub const MAX_DEPTH: usize = 16;

/// What is wrong with an encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// The input ends inside an item.
    Truncated,
    /// Indefinite length or reserved additional information.
    Unsupported,
    /// A head longer than needed for its argument.
    NonMinimalHead,
    /// A text string that is not UTF-8.
    InvalidUtf8,
    /// A map key that appears twice.
    DuplicateKey,
    /// A floating-point value, or a simple value other than false/true/null/undefined.
    UnexpectedSimple,
    /// Nesting deeper than [`MAX_DEPTH`].
    TooDeep,
    /// Bytes after the item.
    TrailingBytes,
}

impl Problem {
    fn describe(self) -> &'static str {
        match self {
            Problem::Truncated => "truncated item",
            Problem::Unsupported => "indefinite length or reserved initial byte",
            Problem::NonMinimalHead => "non-minimal (non-canonical) integer or length encoding",
            Problem::InvalidUtf8 => "text string is not UTF-8",
            Problem::DuplicateKey => "duplicate map key",
            Problem::UnexpectedSimple => "floating-point or unassigned simple value",
            Problem::TooDeep => "nesting too deep",
            Problem::TrailingBytes => "trailing bytes after the item",
        }
    }
}

/// An encoding problem and where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{} at byte {offset}", problem.describe())]
pub struct EncodingError {
    /// Offset of the offending item in the checked input.
    pub offset: usize,
    /// What is wrong.
    pub problem: Problem,
}

impl From<ReadError> for EncodingError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Truncated { offset } => EncodingError {
                offset,
                problem: Problem::Truncated,
            },
            ReadError::Unsupported { offset, .. } => EncodingError {
                offset,
                problem: Problem::Unsupported,
            },
            ReadError::TooDeep { offset } => EncodingError {
                offset,
                problem: Problem::TooDeep,
            },
            // The checker never asks for a particular type or an i64.
            ReadError::Type { offset, .. } | ReadError::IntRange { offset } => EncodingError {
                offset,
                problem: Problem::Truncated,
            },
        }
    }
}

/// Checks that `bytes` is exactly one strictly encoded item.
pub fn check(bytes: &[u8]) -> Result<(), EncodingError> {
    let end = check_item(bytes, 0, 0)?;
    if end != bytes.len() {
        return Err(EncodingError {
            offset: end,
            problem: Problem::TrailingBytes,
        });
    }
    Ok(())
}

fn minimal(info: u8, arg: u64) -> bool {
    match info {
        24 => arg >= 24,
        25 => arg > 0xff,
        26 => arg > 0xffff,
        27 => arg > 0xffff_ffff,
        _ => true,
    }
}

/// Checks the item at `pos` and returns the offset just past it.
fn check_item(buf: &[u8], pos: usize, depth: usize) -> Result<usize, EncodingError> {
    let err = |problem| EncodingError {
        offset: pos,
        problem,
    };
    if depth >= MAX_DEPTH {
        return Err(err(Problem::TooDeep));
    }
    let head = head_at(buf, pos)?;
    let mut cur = pos + head.size;
    match head.major {
        Major::Simple => {
            // 20..=23 are false, true, null, undefined; 24 introduces a one-byte simple
            // value; 25..=27 are floats.
            if !(20..=23).contains(&head.info) {
                return Err(err(Problem::UnexpectedSimple));
            }
            return Ok(cur);
        }
        _ if !minimal(head.info, head.arg) => return Err(err(Problem::NonMinimalHead)),
        Major::Uint | Major::Nint => {}
        Major::Bstr | Major::Tstr => {
            let data = usize::try_from(head.arg)
                .ok()
                .and_then(|len| Some(cur..cur.checked_add(len)?))
                .and_then(|r| buf.get(r))
                .ok_or(err(Problem::Truncated))?;
            if head.major == Major::Tstr && std::str::from_utf8(data).is_err() {
                return Err(err(Problem::InvalidUtf8));
            }
            cur += data.len();
        }
        Major::Array => {
            for _ in 0..head.arg {
                cur = check_item(buf, cur, depth + 1)?;
            }
        }
        Major::Map => {
            // Every pair takes at least two bytes, so a count beyond that is truncation;
            // this also bounds the key list below by the input size.
            let remaining = buf.len().saturating_sub(cur) as u64;
            if head.arg > remaining / 2 {
                return Err(err(Problem::Truncated));
            }
            let mut keys: Vec<(&[u8], usize)> = Vec::with_capacity(head.arg as usize);
            for _ in 0..head.arg {
                let key_start = cur;
                cur = check_item(buf, cur, depth + 1)?;
                keys.push((buf.get(key_start..cur).unwrap_or_default(), key_start));
                cur = check_item(buf, cur, depth + 1)?;
            }
            keys.sort_unstable();
            if let Some(w) = keys.windows(2).find(|w| w[0].0 == w[1].0) {
                let offset = w[0].1.max(w[1].1);
                return Err(EncodingError {
                    offset,
                    problem: Problem::DuplicateKey,
                });
            }
        }
        Major::Tag => cur = check_item(buf, cur, depth + 1)?,
    }
    Ok(cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(bytes: &[u8]) -> Option<Problem> {
        check(bytes).err().map(|e| e.problem)
    }

    #[test]
    fn accepts_canonical() {
        assert_eq!(
            problem(&[0xa2, 0x01, 0x41, 0xaa, 0x3a, 0x00, 0x47, 0x44, 0x50, 0x60]),
            None
        );
        assert_eq!(problem(&[0x82, 0xf6, 0xf5]), None);
        assert_eq!(problem(&[0xd2, 0x80]), None);
        // Unsorted keys are fine (open-dice's claim order).
        assert_eq!(problem(&[0xa2, 0x02, 0x00, 0x01, 0x00]), None);
    }

    #[test]
    fn rejects_non_minimal() {
        assert_eq!(problem(&[0x18, 0x17]), Some(Problem::NonMinimalHead));
        assert_eq!(problem(&[0x19, 0x00, 0xff]), Some(Problem::NonMinimalHead));
        assert_eq!(problem(&[0x58, 0x01, 0xaa]), Some(Problem::NonMinimalHead));
        assert_eq!(problem(&[0x98, 0x01, 0x00]), Some(Problem::NonMinimalHead));
        assert_eq!(problem(&[0xb8, 0x00]), Some(Problem::NonMinimalHead));
        assert_eq!(
            problem(&[0x3b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]),
            Some(Problem::NonMinimalHead)
        );
    }

    #[test]
    fn rejects_other_problems() {
        assert_eq!(
            problem(&[0xa2, 0x01, 0x00, 0x01, 0x00]),
            Some(Problem::DuplicateKey)
        );
        assert_eq!(problem(&[0x62, 0xff, 0xfe]), Some(Problem::InvalidUtf8));
        assert_eq!(
            problem(&[0xf9, 0x3c, 0x00]),
            Some(Problem::UnexpectedSimple)
        );
        assert_eq!(problem(&[0xf0]), Some(Problem::UnexpectedSimple));
        assert_eq!(problem(&[0x9f, 0xff]), Some(Problem::Unsupported));
        assert_eq!(problem(&[0x82, 0x00]), Some(Problem::Truncated));
        assert_eq!(problem(&[0x00, 0x00]), Some(Problem::TrailingBytes));
        assert_eq!(
            problem(&[0xbb, 0, 0, 0, 1, 0, 0, 0, 0]),
            Some(Problem::Truncated)
        );
        assert_eq!(problem(&[0x81; 40]), Some(Problem::TooDeep));
    }
}
