//! Bounds-checked big-endian field access for the packed AVB structures.

/// Reads a big-endian u32 at `off`, or `None` if it does not fit.
pub(crate) fn be_u32(b: &[u8], off: usize) -> Option<u32> {
    let end = off.checked_add(4)?;
    let s = b.get(off..end)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Reads a big-endian u64 at `off`, or `None` if it does not fit.
pub(crate) fn be_u64(b: &[u8], off: usize) -> Option<u64> {
    let end = off.checked_add(8)?;
    let s = b.get(off..end)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_be_bytes(a))
}

/// Returns `b[off..off+len]` when both bounds are representable and inside `b`.
pub(crate) fn slice(b: &[u8], off: u64, len: u64) -> Option<&[u8]> {
    let off = usize::try_from(off).ok()?;
    let len = usize::try_from(len).ok()?;
    let end = off.checked_add(len)?;
    b.get(off..end)
}

/// Rounds `v` up to a multiple of `m` (`m` > 0), `None` on overflow.
pub(crate) fn round_up(v: u64, m: u64) -> Option<u64> {
    if m == 0 {
        return None;
    }
    let r = v % m;
    if r == 0 {
        Some(v)
    } else {
        v.checked_add(m - r)
    }
}

/// Lowercase hex encoding.
pub fn to_hex(b: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len().saturating_mul(2));
    for &x in b {
        s.push(char::from(HEX[usize::from(x >> 4)]));
        s.push(char::from(HEX[usize::from(x & 0xf)]));
    }
    s
}

/// Decodes hex (either case); `None` on odd length or a non-hex character.
pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    let nib = |c: u8| -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    };
    b.chunks_exact(2)
        .map(|p| Some((nib(p[0])? << 4) | nib(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_bounds() {
        let b = [0u8, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2];
        assert_eq!(be_u32(&b, 0), Some(1));
        assert_eq!(be_u64(&b, 4), Some(2));
        assert_eq!(be_u32(&b, 9), None);
        assert_eq!(be_u64(&b, usize::MAX), None);
        assert_eq!(slice(&b, 10, 2), Some(&b[10..12]));
        assert_eq!(slice(&b, 10, 3), None);
        assert_eq!(slice(&b, u64::MAX, 1), None);
        assert_eq!(round_up(5, 4), Some(8));
        assert_eq!(round_up(8, 4), Some(8));
        assert_eq!(round_up(u64::MAX, 4), None);
        assert_eq!(round_up(1, 0), None);
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(to_hex(&[0x00, 0xab, 0xff]), "00abff");
        assert_eq!(from_hex("00abFF"), Some(vec![0, 0xab, 0xff]));
        assert_eq!(from_hex("0"), None);
        assert_eq!(from_hex("zz"), None);
    }
}
