//! A CBOR reader with open-dice's acceptance rules (`src/cbor_reader.c`).
//!
//! It is deliberately lenient where open-dice is: heads need not be in their shortest form
//! and text strings are not checked for UTF-8. Like open-dice it rejects indefinite lengths
//! and reserved additional-information values, and [`Reader::skip`] descends at most
//! [`SKIP_DEPTH`] levels. Every length is checked against the input before it is used, so no
//! input can make it read out of bounds, allocate, or overflow.

use super::Major;

/// Nesting limit of [`Reader::skip`] (open-dice's `CBOR_READ_SKIP_STACK_SIZE`).
pub const SKIP_DEPTH: usize = 10;

/// Why a read failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The input ends inside an item.
    #[error("truncated at byte {offset}")]
    Truncated {
        /// Offset of the item that does not fit.
        offset: usize,
    },
    /// Indefinite length or a reserved additional-information value.
    #[error(
        "unsupported initial byte {byte:#04x} (indefinite length or reserved) at byte {offset}"
    )]
    Unsupported {
        /// Offset of the initial byte.
        offset: usize,
        /// The initial byte.
        byte: u8,
    },
    /// The item is not of the expected major type.
    #[error("expected a {expected} at byte {offset}, found a {found}")]
    Type {
        /// Offset of the item.
        offset: usize,
        /// What the caller asked for.
        expected: Major,
        /// What is there.
        found: Major,
    },
    /// An integer does not fit a signed 64-bit value.
    #[error("integer out of the signed 64-bit range at byte {offset}")]
    IntRange {
        /// Offset of the item.
        offset: usize,
    },
    /// Nesting deeper than [`SKIP_DEPTH`].
    #[error("nesting deeper than {SKIP_DEPTH} levels at byte {offset}")]
    TooDeep {
        /// Offset of the item that would nest too deep.
        offset: usize,
    },
}

/// A decoded item head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// The major type.
    pub major: Major,
    /// The argument (value, length or count).
    pub arg: u64,
    /// Additional information (the low five bits of the initial byte).
    pub info: u8,
    /// Size of the head in bytes (1, 2, 3, 5 or 9).
    pub size: usize,
}

/// Reads CBOR items from a byte slice.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader positioned at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Current offset into the input.
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// Whether all input has been consumed.
    pub fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// The input from the current offset on.
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Decodes the head at the current offset without consuming it.
    pub fn peek_head(&self) -> Result<Head, ReadError> {
        head_at(self.buf, self.pos)
    }

    fn take(&mut self, expected: Major) -> Result<Head, ReadError> {
        let head = self.peek_head()?;
        if head.major != expected {
            return Err(ReadError::Type {
                offset: self.pos,
                expected,
                found: head.major,
            });
        }
        self.pos += head.size;
        Ok(head)
    }

    /// Reads an integer of major type 0 or 1 (open-dice `CborReadInt`).
    pub fn read_int(&mut self) -> Result<i64, ReadError> {
        let offset = self.pos;
        let head = self.peek_head()?;
        let value = match head.major {
            Major::Uint | Major::Nint => {
                i64::try_from(head.arg).map_err(|_| ReadError::IntRange { offset })?
            }
            found => {
                return Err(ReadError::Type {
                    offset,
                    expected: Major::Uint,
                    found,
                })
            }
        };
        self.pos += head.size;
        // For major type 1 the value is -1 - arg; arg <= i64::MAX so this cannot overflow.
        Ok(if head.major == Major::Nint {
            -1 - value
        } else {
            value
        })
    }

    /// Reads an unsigned integer.
    pub fn read_uint(&mut self) -> Result<u64, ReadError> {
        Ok(self.take(Major::Uint)?.arg)
    }

    fn read_str(&mut self, major: Major) -> Result<&'a [u8], ReadError> {
        let start = self.pos;
        let head = self.peek_head()?;
        if head.major != major {
            return Err(ReadError::Type {
                offset: start,
                expected: major,
                found: head.major,
            });
        }
        let data_start = start + head.size;
        let data = usize::try_from(head.arg)
            .ok()
            .and_then(|len| data_start.checked_add(len))
            .and_then(|end| self.buf.get(data_start..end))
            .ok_or(ReadError::Truncated { offset: start })?;
        self.pos = data_start + data.len();
        Ok(data)
    }

    /// Reads a byte string and returns its contents.
    pub fn read_bstr(&mut self) -> Result<&'a [u8], ReadError> {
        self.read_str(Major::Bstr)
    }

    /// Reads a text string and returns its raw bytes (not checked for UTF-8, as open-dice).
    pub fn read_tstr(&mut self) -> Result<&'a [u8], ReadError> {
        self.read_str(Major::Tstr)
    }

    /// Reads an array head and returns the element count.
    pub fn read_array(&mut self) -> Result<u64, ReadError> {
        Ok(self.take(Major::Array)?.arg)
    }

    /// Reads a map head and returns the number of pairs.
    pub fn read_map(&mut self) -> Result<u64, ReadError> {
        Ok(self.take(Major::Map)?.arg)
    }

    /// Skips one complete item (with everything nested in it) and returns its bytes
    /// (open-dice `CborReadSkip`, including its nesting limit). Nothing is consumed on error.
    pub fn skip(&mut self) -> Result<&'a [u8], ReadError> {
        let start = self.pos;
        let mut pos = self.pos;
        // Items still to read at each open nesting level.
        let mut pending = [0u64; SKIP_DEPTH];
        pending[0] = 1;
        let mut depth = 1usize;
        while depth > 0 {
            let head = head_at(self.buf, pos)?;
            let item_offset = pos;
            pos += head.size;
            // `depth` is in 1..=SKIP_DEPTH here, so the index is in bounds.
            if let Some(top) = pending.get_mut(depth - 1) {
                *top -= 1;
                if *top == 0 {
                    depth -= 1;
                }
            }
            let nested = match head.major {
                Major::Uint | Major::Nint | Major::Simple => continue,
                Major::Bstr | Major::Tstr => {
                    let end = usize::try_from(head.arg)
                        .ok()
                        .and_then(|len| pos.checked_add(len))
                        .filter(|&end| end <= self.buf.len())
                        .ok_or(ReadError::Truncated {
                            offset: item_offset,
                        })?;
                    pos = end;
                    continue;
                }
                Major::Map => head.arg.checked_mul(2).ok_or(ReadError::Truncated {
                    offset: item_offset,
                })?,
                Major::Tag => 1,
                Major::Array => head.arg,
            };
            if nested == 0 {
                continue;
            }
            match pending.get_mut(depth) {
                Some(slot) => *slot = nested,
                None => {
                    return Err(ReadError::TooDeep {
                        offset: item_offset,
                    })
                }
            }
            depth += 1;
        }
        self.pos = pos;
        Ok(self.buf.get(start..pos).unwrap_or_default())
    }
}

/// Decodes the head at `pos` in `buf`.
pub fn head_at(buf: &[u8], pos: usize) -> Result<Head, ReadError> {
    let truncated = ReadError::Truncated { offset: pos };
    let initial = *buf.get(pos).ok_or(truncated.clone())?;
    let major = Major::of(initial);
    let info = initial & 0x1f;
    let extra = match info {
        0..=23 => 0usize,
        24 => 1,
        25 => 2,
        26 => 4,
        27 => 8,
        _ => {
            return Err(ReadError::Unsupported {
                offset: pos,
                byte: initial,
            })
        }
    };
    let arg = if extra == 0 {
        u64::from(info)
    } else {
        let bytes = pos
            .checked_add(1)
            .and_then(|s| Some(s..s.checked_add(extra)?))
            .and_then(|r| buf.get(r))
            .ok_or(truncated)?;
        bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
    };
    Ok(Head {
        major,
        arg,
        info,
        size: 1 + extra,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_non_minimal_heads_like_open_dice() {
        // 1 encoded in 1, 2, 3, 5 and 9 bytes.
        for enc in [
            &[0x01][..],
            &[0x18, 1],
            &[0x19, 0, 1],
            &[0x1a, 0, 0, 0, 1],
            &[0x1b, 0, 0, 0, 0, 0, 0, 0, 1],
        ] {
            assert_eq!(Reader::new(enc).read_int(), Ok(1));
        }
        let mut r = Reader::new(&[0x59, 0x00, 0x02, 0xaa, 0xbb]);
        assert_eq!(r.read_bstr(), Ok(&[0xaa, 0xbb][..]));
        assert!(r.at_end());
    }

    #[test]
    fn negative_and_out_of_range_ints() {
        assert_eq!(
            Reader::new(&[0x3a, 0x00, 0x01, 0x11, 0x71]).read_int(),
            Ok(-70002)
        );
        assert_eq!(
            Reader::new(&[0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).read_int(),
            Ok(i64::MIN)
        );
        assert_eq!(
            Reader::new(&[0x1b, 0x80, 0, 0, 0, 0, 0, 0, 0]).read_int(),
            Err(ReadError::IntRange { offset: 0 })
        );
    }

    #[test]
    fn rejects_indefinite_and_reserved() {
        for b in [0x5f, 0x7f, 0x9f, 0xbf, 0xff, 0x1c, 0x1d, 0x1e] {
            assert!(
                matches!(
                    Reader::new(&[b, 0, 0]).skip(),
                    Err(ReadError::Unsupported { .. })
                ),
                "{b:#x}"
            );
        }
    }

    #[test]
    fn huge_lengths_are_truncation_not_allocation() {
        let mut r = Reader::new(&[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(r.read_bstr(), Err(ReadError::Truncated { offset: 0 }));
        assert_eq!(r.skip(), Err(ReadError::Truncated { offset: 0 }));
        let mut r = Reader::new(&[0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(r.skip(), Err(ReadError::Truncated { offset: 0 }));
        let mut r = Reader::new(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(r.skip(), Err(ReadError::Truncated { offset: 9 }));
        assert_eq!(r.offset(), 0);
    }

    #[test]
    fn skip_depth_limit_matches_open_dice() {
        // Ten open levels are allowed: ten nested two-element arrays.
        let mut ok = vec![0x82u8; 10];
        ok.extend([0x00; 11]);
        assert_eq!(Reader::new(&ok).skip().map(<[u8]>::len), Ok(21));
        let mut deep = vec![0x82u8; 11];
        deep.extend([0x00; 12]);
        assert!(matches!(
            Reader::new(&deep).skip(),
            Err(ReadError::TooDeep { .. })
        ));
        // A fully consumed parent does not count: single-element nesting never goes deep.
        let mut chain = vec![0x81u8; 50];
        chain.push(0x00);
        assert_eq!(Reader::new(&chain).skip().map(<[u8]>::len), Ok(51));
        // Siblings do not count as depth.
        let flat = [0x83, 0x81, 0x01, 0x81, 0x02, 0x81, 0x03];
        assert_eq!(Reader::new(&flat).skip().map(<[u8]>::len), Ok(7));
    }

    #[test]
    fn skip_returns_exact_item() {
        let data = [0xa2, 0x01, 0x41, 0xaa, 0x02, 0xc1, 0x00, 0xff];
        let mut r = Reader::new(&data);
        assert_eq!(r.skip(), Ok(&data[..7]));
        assert_eq!(r.offset(), 7);
    }
}
