//! Deterministic CBOR writer: every head in its shortest form, tokens in the caller's order.
//!
//! Encoders that produce secrets run twice through [`encode_exact`]: first in measuring mode
//! to learn the exact size, then into a `Vec` reserved to that size.

use super::Major;

/// Writes CBOR tokens into a growing buffer, or only measures them.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
    len: usize,
    measure_only: bool,
}

impl Writer {
    /// A writer that appends to an empty buffer.
    pub fn new() -> Self {
        Writer::default()
    }

    /// A writer that appends to `buf` (keeping its capacity).
    pub fn with_buffer(buf: Vec<u8>) -> Self {
        Writer {
            len: buf.len(),
            buf,
            measure_only: false,
        }
    }

    /// A writer that only counts the bytes it would write.
    pub fn measuring() -> Self {
        Writer {
            measure_only: true,
            ..Writer::default()
        }
    }

    /// Bytes written (or counted) so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The encoded bytes (empty for a measuring writer).
    pub fn into_vec(self) -> Vec<u8> {
        self.buf
    }

    fn put(&mut self, bytes: &[u8]) {
        self.len = self.len.saturating_add(bytes.len());
        if !self.measure_only {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// Writes an item head (major type and argument) in its shortest form.
    pub fn head(&mut self, major: Major, value: u64) {
        let m = major.bits() << 5;
        // Each arm's narrowing conversion is exact: the match guards bound `value`.
        match value {
            0..=23 => self.put(&[m | value as u8]),
            24..=0xff => self.put(&[m | 24, value as u8]),
            0x100..=0xffff => {
                let b = (value as u16).to_be_bytes();
                self.put(&[m | 25, b[0], b[1]]);
            }
            0x1_0000..=0xffff_ffff => {
                let b = (value as u32).to_be_bytes();
                self.put(&[m | 26, b[0], b[1], b[2], b[3]]);
            }
            _ => {
                let b = value.to_be_bytes();
                self.put(&[m | 27, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
            }
        }
    }

    /// Writes an unsigned integer.
    pub fn uint(&mut self, value: u64) {
        self.head(Major::Uint, value);
    }

    /// Writes a signed integer (major type 0 or 1).
    pub fn int(&mut self, value: i64) {
        if value < 0 {
            // -1 - value cannot overflow for any negative i64; `!value` computes it exactly.
            self.head(Major::Nint, !value as u64);
        } else {
            self.head(Major::Uint, value as u64);
        }
    }

    /// Writes a byte string.
    pub fn bstr(&mut self, data: &[u8]) {
        self.head(Major::Bstr, data.len() as u64);
        self.put(data);
    }

    /// Writes a text string.
    pub fn tstr(&mut self, text: &str) {
        self.head(Major::Tstr, text.len() as u64);
        self.put(text.as_bytes());
    }

    /// Writes an array head for `len` elements.
    pub fn array(&mut self, len: u64) {
        self.head(Major::Array, len);
    }

    /// Writes a map head for `pairs` key/value pairs.
    pub fn map(&mut self, pairs: u64) {
        self.head(Major::Map, pairs);
    }

    /// Writes `null`.
    pub fn null(&mut self) {
        self.put(&[0xf6]);
    }

    /// Appends already-encoded CBOR verbatim.
    pub fn raw(&mut self, encoded: &[u8]) {
        self.put(encoded);
    }
}

/// Encodes with `f` into a fresh vector of exactly the needed capacity.
///
/// The closure runs twice (count, then write), so it must be deterministic. Because the
/// vector never grows past its initial allocation, secrets written into it leave no stale
/// copies in freed memory.
pub fn encode_exact(f: impl Fn(&mut Writer)) -> Vec<u8> {
    let mut measure = Writer::measuring();
    f(&mut measure);
    let mut writer = Writer::with_buffer(Vec::with_capacity(measure.len()));
    f(&mut writer);
    writer.into_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(f: impl FnOnce(&mut Writer)) -> Vec<u8> {
        let mut w = Writer::new();
        f(&mut w);
        w.into_vec()
    }

    #[test]
    fn shortest_heads() {
        assert_eq!(enc(|w| w.uint(0)), [0x00]);
        assert_eq!(enc(|w| w.uint(23)), [0x17]);
        assert_eq!(enc(|w| w.uint(24)), [0x18, 24]);
        assert_eq!(enc(|w| w.uint(255)), [0x18, 0xff]);
        assert_eq!(enc(|w| w.uint(256)), [0x19, 1, 0]);
        assert_eq!(enc(|w| w.uint(0x1_0000)), [0x1a, 0, 1, 0, 0]);
        assert_eq!(
            enc(|w| w.uint(0x1_0000_0000)),
            [0x1b, 0, 0, 0, 1, 0, 0, 0, 0]
        );
        assert_eq!(
            enc(|w| w.uint(u64::MAX)),
            [0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
    }

    #[test]
    fn negative_ints() {
        assert_eq!(enc(|w| w.int(-1)), [0x20]);
        assert_eq!(enc(|w| w.int(-8)), [0x27]);
        assert_eq!(enc(|w| w.int(-70002)), [0x3a, 0x00, 0x01, 0x11, 0x71]);
        assert_eq!(enc(|w| w.int(-4670545)), [0x3a, 0x00, 0x47, 0x44, 0x50]);
        assert_eq!(
            enc(|w| w.int(i64::MIN)),
            [0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
    }

    #[test]
    fn encode_exact_allocates_once() {
        let v = encode_exact(|w| {
            w.map(1);
            w.tstr("key");
            w.bstr(&[7u8; 300]);
        });
        assert_eq!(v.len(), v.capacity());
        assert_eq!(&v[..6], &[0xa1, 0x63, b'k', b'e', b'y', 0x59]);
    }
}
