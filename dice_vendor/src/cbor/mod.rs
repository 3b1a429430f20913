//! Minimal CBOR (RFC 8949) support: a deterministic writer, an open-dice-compatible reader
//! and a strict canonical-encoding checker.
//!
//! Why not `ciborium`/`coset` for everything: the Android-profile certificate must equal
//! open-dice's output byte for byte. open-dice emits the CWT claims in a fixed order that is
//! *not* the RFC 8949 deterministic (sorted) order (the config descriptor −4670548 precedes the
//! config hash −4670547) and it measures before it writes. `coset` always re-encodes maps from
//! its own structs and orders claims its own way, so [`writer`] is a tiny encoder that writes
//! exactly the tokens we ask for, always with the shortest head. It can first *count* the
//! bytes ([`writer::encode_exact`]) so buffers that hold CDIs are allocated once, at their final
//! size, and never reallocated (a reallocation would leave an unzeroized copy behind).
//!
//! Parsing of untrusted handovers follows open-dice's `cbor_reader.c` exactly ([`reader`]):
//! non-minimal heads are accepted, indefinite lengths are not, and skipping nested items is
//! limited to the same depth. The chain verifier additionally runs [`canonical::check`] on
//! every item before handing it to `coset` for the COSE structure.

pub mod canonical;
pub mod reader;
pub mod writer;

/// CBOR major types (the top three bits of an item's initial byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Major {
    /// Unsigned integer (0).
    Uint,
    /// Negative integer (1).
    Nint,
    /// Byte string (2).
    Bstr,
    /// Text string (3).
    Tstr,
    /// Array (4).
    Array,
    /// Map (5).
    Map,
    /// Tag (6).
    Tag,
    /// Simple value or float (7).
    Simple,
}

impl Major {
    /// The major type encoded in the top three bits of `initial_byte`.
    pub fn of(initial_byte: u8) -> Major {
        match initial_byte >> 5 {
            0 => Major::Uint,
            1 => Major::Nint,
            2 => Major::Bstr,
            3 => Major::Tstr,
            4 => Major::Array,
            5 => Major::Map,
            6 => Major::Tag,
            _ => Major::Simple,
        }
    }

    /// The three-bit value of this major type.
    pub fn bits(self) -> u8 {
        match self {
            Major::Uint => 0,
            Major::Nint => 1,
            Major::Bstr => 2,
            Major::Tstr => 3,
            Major::Array => 4,
            Major::Map => 5,
            Major::Tag => 6,
            Major::Simple => 7,
        }
    }

    /// A short human name, for error messages.
    pub fn name(self) -> &'static str {
        match self {
            Major::Uint => "unsigned integer",
            Major::Nint => "negative integer",
            Major::Bstr => "byte string",
            Major::Tstr => "text string",
            Major::Array => "array",
            Major::Map => "map",
            Major::Tag => "tag",
            Major::Simple => "simple value",
        }
    }
}

impl std::fmt::Display for Major {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
