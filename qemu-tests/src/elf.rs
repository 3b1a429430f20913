//! Just enough ELF reading to check the guest binary is static: does it have a
//! `PT_INTERP` program header (an ELF interpreter, i.e. a dynamic loader)?

/// The facts we check about an ELF executable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfFacts {
    /// `e_machine` (183 = aarch64, 62 = x86_64).
    pub machine: u16,
    /// Whether a `PT_INTERP` header is present.
    pub has_interpreter: bool,
    /// Whether a `PT_DYNAMIC` header is present (static-pie binaries have one).
    pub has_dynamic: bool,
}

fn u16le(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64le(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Reads a little-endian ELF64 file's program headers.
pub fn inspect(b: &[u8]) -> Option<ElfFacts> {
    if b.get(..4)? != b"\x7fELF" || *b.get(4)? != 2 || *b.get(5)? != 1 {
        return None;
    }
    let machine = u16le(b, 18)?;
    let phoff = usize::try_from(u64le(b, 32)?).ok()?;
    let phentsize = usize::from(u16le(b, 54)?);
    let phnum = usize::from(u16le(b, 56)?);
    let mut facts = ElfFacts {
        machine,
        has_interpreter: false,
        has_dynamic: false,
    };
    for i in 0..phnum {
        let p_type = u32le(b, phoff.checked_add(i.checked_mul(phentsize)?)?)?;
        match p_type {
            3 => facts.has_interpreter = true,
            2 => facts.has_dynamic = true,
            _ => {}
        }
    }
    Some(facts)
}
