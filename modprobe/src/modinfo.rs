//! What a module file says about itself, read from its bytes as the kernel's
//! `load_module` reads them (`kernel/module/main.c`, Linux 6.1): the ELF header (class,
//! type, machine), the `SHF_ALLOC` sections the kernel looks for (`.modinfo`,
//! `__versions`, `.gnu.linkonce.this_module`, as `find_sec` does), and the `.modinfo`
//! strings (`vermagic=`, `name=`, `depends=`, `parmtype=`, …), the way `kmod`'s
//! `modinfo` shows them. With it, the kernel's own rules that decide a load before any
//! code runs: `same_magic` (the version magic, without the release word when the module
//! carries symbol CRCs) and the parameter parsers (`kstrto*`, `kstrtobool`) for the
//! values `modules.options` and the command line give.
//!
//! The guest never needs this (the kernel decides there); the host's `vendor_image
//! explain` uses it to predict, for each module of a plan, the errno the guest's
//! `finit_module` will return. Parsing never panics: every offset and size is checked.

use std::fmt;

use nix::errno::Errno;

/// `ET_REL`: kernel modules are relocatable objects.
const ET_REL: u16 = 1;
/// `SHF_ALLOC`: `find_sec` ignores sections without it.
const SHF_ALLOC: u64 = 2;
/// `SHT_NOBITS`: a section with no bytes in the file.
const SHT_NOBITS: u32 = 8;

/// Why a file is not a module the kernel would even look at (`finit_module` returns
/// `ENOEXEC` for each of these).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModinfoError {
    /// Not an ELF file, or a header field out of range.
    #[error("not a valid ELF object: {0}")]
    Elf(&'static str),
    /// An ELF file, but not a relocatable object.
    #[error("ELF type {0} is not ET_REL (1): not a kernel module")]
    NotRelocatable(u16),
    /// No `.gnu.linkonce.this_module` section (the kernel: "No module found in object").
    #[error("no .gnu.linkonce.this_module section: not a kernel module")]
    NoThisModule,
}

/// The facts of one module file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModInfo {
    /// `e_machine` (62 x86-64, 183 AArch64).
    pub machine: u16,
    /// 64-bit ELF.
    pub elf64: bool,
    /// Has an allocated `__versions` section: symbol CRCs (`CONFIG_MODVERSIONS`).
    pub has_versions: bool,
    /// The `.modinfo` strings as `(key, value)`, in file order.
    pub entries: Vec<(String, String)>,
}

impl ModInfo {
    /// The first value of `key` (the kernel's `get_modinfo`).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `vermagic=`.
    pub fn vermagic(&self) -> Option<&str> {
        self.get("vermagic")
    }

    /// The release word of the version magic (what `uname -r` says on the kernel the
    /// module was built for).
    pub fn release(&self) -> Option<&str> {
        self.vermagic()?.split(' ').next()
    }

    /// The module names of `depends=` (the modules whose symbols it uses).
    pub fn depends(&self) -> Vec<String> {
        self.get("depends")
            .map(|d| {
                d.split(',')
                    .filter(|n| !n.is_empty())
                    .map(|n| n.replace('-', "_"))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The type of parameter `name` (`parmtype=<name>:<type>`), if the module declares it.
    pub fn param_type(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .filter(|(k, _)| k == "parmtype")
            .find_map(|(_, v)| v.strip_prefix(name)?.strip_prefix(':'))
    }
}

/// A little- or big-endian, 32- or 64-bit ELF file.
struct Elf<'a> {
    b: &'a [u8],
    elf64: bool,
    le: bool,
}

impl Elf<'_> {
    fn bytes<const N: usize>(&self, at: u64) -> Option<[u8; N]> {
        let at = usize::try_from(at).ok()?;
        self.b.get(at..at.checked_add(N)?)?.try_into().ok()
    }

    fn u16(&self, at: u64) -> Option<u16> {
        let b = self.bytes::<2>(at)?;
        Some(if self.le {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    }

    fn u32(&self, at: u64) -> Option<u32> {
        let b = self.bytes::<4>(at)?;
        Some(if self.le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    fn u64(&self, at: u64) -> Option<u64> {
        let b = self.bytes::<8>(at)?;
        Some(if self.le {
            u64::from_le_bytes(b)
        } else {
            u64::from_be_bytes(b)
        })
    }

    /// A word: 8 bytes in ELF64, 4 in ELF32.
    fn word(&self, at: u64) -> Option<u64> {
        if self.elf64 {
            self.u64(at)
        } else {
            self.u32(at).map(u64::from)
        }
    }
}

/// One section header's fields we use.
struct Section {
    name: u32,
    kind: u32,
    flags: u64,
    offset: u64,
    size: u64,
}

/// Reads a module file's header, sections and `.modinfo`.
pub fn parse(b: &[u8]) -> Result<ModInfo, ModinfoError> {
    if b.get(..4) != Some(b"\x7fELF") {
        return Err(ModinfoError::Elf("no ELF magic"));
    }
    let elf64 = match b.get(4) {
        Some(1) => false,
        Some(2) => true,
        _ => return Err(ModinfoError::Elf("bad ELF class")),
    };
    let le = match b.get(5) {
        Some(1) => true,
        Some(2) => false,
        _ => return Err(ModinfoError::Elf("bad ELF data encoding")),
    };
    let e = Elf { b, elf64, le };
    let short = ModinfoError::Elf("header truncated");
    let kind = e.u16(16).ok_or(short.clone())?;
    let machine = e.u16(18).ok_or(short.clone())?;
    if kind != ET_REL {
        return Err(ModinfoError::NotRelocatable(kind));
    }
    let (shoff, shentsize, shnum, shstrndx) = if elf64 {
        (e.u64(0x28), e.u16(0x3a), e.u16(0x3c), e.u16(0x3e))
    } else {
        (
            e.u32(0x20).map(u64::from),
            e.u16(0x2e),
            e.u16(0x30),
            e.u16(0x32),
        )
    };
    let (shoff, shentsize, shnum, shstrndx) = (
        shoff.ok_or(short.clone())?,
        shentsize.ok_or(short.clone())?,
        shnum.ok_or(short.clone())?,
        shstrndx.ok_or(short)?,
    );
    // The kernel insists on its own section header size (elf_validity_check).
    let want = if elf64 { 64 } else { 40 };
    if shentsize != want {
        return Err(ModinfoError::Elf(
            "e_shentsize is not the section header size",
        ));
    }
    let mut sections = Vec::with_capacity(usize::from(shnum));
    for i in 0..u64::from(shnum) {
        let at = shoff
            .checked_add(i * u64::from(shentsize))
            .ok_or(ModinfoError::Elf("section header offset overflows"))?;
        let field = |o32: u64, o64: u64| e.word(at + if elf64 { o64 } else { o32 });
        let s = (|| {
            Some(Section {
                name: e.u32(at)?,
                kind: e.u32(at + 4)?,
                flags: field(8, 8)?,
                offset: field(16, 24)?,
                size: field(20, 32)?,
            })
        })()
        .ok_or(ModinfoError::Elf("section headers truncated"))?;
        if s.kind != SHT_NOBITS
            && s.offset
                .checked_add(s.size)
                .is_none_or(|end| end > b.len() as u64)
        {
            return Err(ModinfoError::Elf("a section lies outside the file"));
        }
        sections.push(s);
    }
    let data = |s: &Section| -> &[u8] {
        if s.kind == SHT_NOBITS {
            return &[];
        }
        // Checked above: offset + size lies inside the file.
        let start = usize::try_from(s.offset).unwrap_or(usize::MAX);
        let end = usize::try_from(s.offset + s.size).unwrap_or(usize::MAX);
        b.get(start..end).unwrap_or_default()
    };
    let strtab = sections
        .get(usize::from(shstrndx))
        .map(&data)
        .ok_or(ModinfoError::Elf("e_shstrndx is out of range"))?;
    let name = |s: &Section| -> &[u8] {
        let from = usize::try_from(s.name).unwrap_or(usize::MAX);
        let rest = strtab.get(from..).unwrap_or_default();
        &rest[..rest.iter().position(|&c| c == 0).unwrap_or(rest.len())]
    };
    // find_sec: the first section with SHF_ALLOC and that name.
    let find = |wanted: &[u8]| {
        sections
            .iter()
            .find(|s| s.flags & SHF_ALLOC != 0 && name(s) == wanted)
    };
    if find(b".gnu.linkonce.this_module").is_none() {
        return Err(ModinfoError::NoThisModule);
    }
    let entries = find(b".modinfo")
        .map(|s| modinfo_entries(data(s)))
        .unwrap_or_default();
    Ok(ModInfo {
        machine,
        elf64,
        has_versions: find(b"__versions").is_some(),
        entries,
    })
}

/// The `key=value` strings of a `.modinfo` section (NUL-separated, NUL-padded); a string
/// without `=` is skipped, as the kernel's `get_modinfo` never matches it.
fn modinfo_entries(data: &[u8]) -> Vec<(String, String)> {
    data.split(|&c| c == 0)
        .filter_map(|s| {
            let s = String::from_utf8_lossy(s);
            let (k, v) = s.split_once('=')?;
            Some((k.to_owned(), v.to_owned()))
        })
        .collect()
}

/// The kernel's `same_magic`: equal version magic strings; when the module has symbol
/// CRCs (`__versions`), the first word (the release) is not compared, since the CRCs
/// check the interface instead.
pub fn same_magic(module: &str, kernel: &str, has_crcs: bool) -> bool {
    if has_crcs {
        let rest = |s: &str| s.find(' ').map_or("", |i| &s[i..]).to_owned();
        rest(module) == rest(kernel)
    } else {
        module == kernel
    }
}

/// A parameter value the kernel refuses, and the errno `finit_module` returns for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadParam {
    /// The parameter.
    pub name: String,
    /// The value given (`None`: the name alone).
    pub value: Option<String>,
    /// Its declared type.
    pub kind: String,
    /// `EINVAL` (not a value of the type) or `ERANGE` (out of its range).
    pub errno: Errno,
}

impl fmt::Display for BadParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(
                f,
                "`{v}' invalid for parameter `{}' ({})",
                self.name, self.kind
            ),
            None => write!(f, "parameter `{}' ({}) needs a value", self.name, self.kind),
        }?;
        write!(f, ": {:?}", self.errno)
    }
}

/// What the kernel's `parse_args` makes of `params` (the string handed to
/// `finit_module`) for a module declaring `info`'s parameters: the first refused value,
/// if any, and the names the module does not declare (the kernel only warns "unknown
/// parameter ignored" for those).
pub fn check_params(info: &ModInfo, params: &str) -> (Option<BadParam>, Vec<String>) {
    let mut unknown = Vec::new();
    for (name, value) in split_params(params) {
        let key = name.replace('-', "_");
        let Some(kind) = info.param_type(&key).or_else(|| info.param_type(&name)) else {
            unknown.push(name);
            continue;
        };
        if let Err(errno) = check_value(kind, value.as_deref()) {
            return (
                Some(BadParam {
                    name,
                    value,
                    kind: kind.to_owned(),
                    errno,
                }),
                unknown,
            );
        }
    }
    (None, unknown)
}

/// Splits a parameter string into `(name, value)` as the kernel's `next_arg` does:
/// words separated by spaces, a double-quoted stretch keeps its spaces (the quotes around
/// a value are removed).
pub fn split_params(s: &str) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for w in crate::cmdline::split_quoted(s, |c| c.is_ascii_whitespace()) {
        // A quote at the start of the whole word goes, with its closing one (next_arg).
        let w = match w.strip_prefix('"') {
            Some(inner) => inner.strip_suffix('"').unwrap_or(inner),
            None => w,
        };
        match w.split_once('=') {
            Some((n, v)) => {
                let v = match v.strip_prefix('"') {
                    Some(inner) => inner.strip_suffix('"').unwrap_or(inner),
                    None => v,
                };
                out.push((n.to_owned(), Some(v.to_owned())));
            }
            None => out.push((w.to_owned(), None)),
        }
    }
    out
}

/// Checks one value against a `parmtype` (`int`, `bool`, `array of uint`, …) with the
/// kernel's parsers. Types we do not know (`charp`, `string`, custom ones) take anything.
pub fn check_value(kind: &str, value: Option<&str>) -> Result<(), Errno> {
    if let Some(elem) = kind.strip_prefix("array of ") {
        let v = value.ok_or(Errno::EINVAL)?;
        return v.split(',').try_for_each(|e| check_value(elem, Some(e)));
    }
    let int = |min: i128, max: i128| -> Result<(), Errno> {
        let v = value.ok_or(Errno::EINVAL)?;
        let n = kstrtoll(v, min < 0)?;
        if n < min || n > max {
            return Err(Errno::ERANGE);
        }
        Ok(())
    };
    match kind {
        "bool" | "invbool" | "bint" => value.map_or(Ok(()), kstrtobool),
        "byte" => int(0, u8::MAX.into()),
        "short" => int(i16::MIN.into(), i16::MAX.into()),
        "ushort" => int(0, u16::MAX.into()),
        "int" => int(i32::MIN.into(), i32::MAX.into()),
        "uint" | "hexint" => int(0, u32::MAX.into()),
        "long" => int(i64::MIN.into(), i64::MAX.into()),
        "ulong" | "ullong" => int(0, u64::MAX.into()),
        _ => Ok(()),
    }
}

/// `kstrtobool`: `y Y t T 1`, `n N f F 0`, `on`, `off` by their first characters.
fn kstrtobool(s: &str) -> Result<(), Errno> {
    let b = s.as_bytes();
    match b.first() {
        Some(b'y' | b'Y' | b't' | b'T' | b'1' | b'n' | b'N' | b'f' | b'F' | b'0') => Ok(()),
        Some(b'o' | b'O') if matches!(b.get(1), Some(b'n' | b'N' | b'f' | b'F')) => Ok(()),
        _ => Err(Errno::EINVAL),
    }
}

/// `kstrtoll`/`kstrtoull` with base 0 (`0x` hex, leading `0` octal, else decimal), an
/// optional `+` (and `-` when `signed`), one trailing newline allowed. Overflow of 64
/// bits is `ERANGE`, anything else not a number `EINVAL`.
fn kstrtoll(s: &str, signed: bool) -> Result<i128, Errno> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) if signed => (true, rest),
        _ => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let b = s.as_bytes();
    let (base, digits) = match b {
        [b'0', x, h, ..] if x.eq_ignore_ascii_case(&b'x') && h.is_ascii_hexdigit() => (16, &b[2..]),
        [b'0', ..] => (8, b),
        _ => (10, b),
    };
    let digits = digits.strip_suffix(b"\n").unwrap_or(digits);
    if digits.is_empty() {
        return Err(Errno::EINVAL);
    }
    let mut n: u128 = 0;
    for &c in digits {
        let d = char::from(c).to_digit(base).ok_or(Errno::EINVAL)?;
        n = n * u128::from(base) + u128::from(d);
        if n > u128::from(u64::MAX) {
            return Err(Errno::ERANGE);
        }
    }
    let n = i128::try_from(n).map_err(|_| Errno::ERANGE)?;
    Ok(if neg {
        if n > i128::from(i64::MAX) + 1 {
            return Err(Errno::ERANGE);
        }
        -n
    } else {
        if signed && n > i128::from(i64::MAX) {
            return Err(Errno::ERANGE);
        }
        n
    })
}

/// A minimal module file (ELF64 little-endian, `ET_REL`) for `machine` with a
/// `.gnu.linkonce.this_module` section, a `.modinfo` section holding `modinfo`
/// (`key=value` strings) and, with `versions`, a `__versions` section: what tests and
/// fuzz seeds need to stand for a real `.ko`.
pub fn build_module(machine: u16, modinfo: &[&str], versions: bool) -> Vec<u8> {
    let mut info = Vec::new();
    for s in modinfo {
        info.extend_from_slice(s.as_bytes());
        info.push(0);
    }
    let mut sections: Vec<(&str, u64, &[u8])> =
        vec![(".gnu.linkonce.this_module", SHF_ALLOC, &[0; 16])];
    if versions {
        sections.push(("__versions", SHF_ALLOC, &[0; 64]));
    }
    sections.push((".modinfo", SHF_ALLOC, &info));
    elf(machine, &sections)
}

/// A minimal ELF64 LE relocatable object with the given sections (name, flags, data).
fn elf(machine: u16, sections: &[(&str, u64, &[u8])]) -> Vec<u8> {
    let mut strtab = vec![0u8];
    let mut names = Vec::new();
    for (n, _, _) in sections.iter().chain([&(".shstrtab", 0, &[][..])]) {
        names.push(strtab.len() as u32);
        strtab.extend_from_slice(n.as_bytes());
        strtab.push(0);
    }
    let mut b = vec![0u8; 64];
    b[..4].copy_from_slice(b"\x7fELF");
    b[4] = 2;
    b[5] = 1;
    b[6] = 1;
    b[16..18].copy_from_slice(&ET_REL.to_le_bytes());
    b[18..20].copy_from_slice(&machine.to_le_bytes());
    let mut offsets = Vec::new();
    for (_, _, d) in sections {
        offsets.push(b.len() as u64);
        b.extend_from_slice(d);
    }
    offsets.push(b.len() as u64);
    b.extend_from_slice(&strtab);
    let shoff = b.len() as u64;
    b.extend_from_slice(&[0u8; 64]); // the null section
    let all: Vec<(u64, &[u8])> = sections
        .iter()
        .map(|(_, f, d)| (*f, *d))
        .chain([(0, &strtab[..])])
        .collect();
    for (i, (flags, d)) in all.iter().enumerate() {
        let mut h = [0u8; 64];
        h[..4].copy_from_slice(&names[i].to_le_bytes());
        h[4..8].copy_from_slice(&1u32.to_le_bytes());
        h[8..16].copy_from_slice(&flags.to_le_bytes());
        h[24..32].copy_from_slice(&offsets[i].to_le_bytes());
        h[32..40].copy_from_slice(&(d.len() as u64).to_le_bytes());
        b.extend_from_slice(&h);
    }
    let shnum = all.len() as u16 + 1;
    b[0x28..0x30].copy_from_slice(&shoff.to_le_bytes());
    b[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
    b[0x3c..0x3e].copy_from_slice(&shnum.to_le_bytes());
    b[0x3e..0x40].copy_from_slice(&shnum.saturating_sub(1).to_le_bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODINFO: &[u8] = b"license=GPL\0depends=llc,stp-x\0parmtype=numdummies:int\0parmtype=flag:bool\0parmtype=list:array of uint\0vermagic=6.1.0-31-cloud-arm64 SMP preempt mod_unload modversions aarch64\0name=dummy\0\0\0";

    fn module() -> Vec<u8> {
        elf(
            183,
            &[
                (".gnu.linkonce.this_module", SHF_ALLOC, &[0; 16]),
                ("__versions", SHF_ALLOC, &[0; 64]),
                (".modinfo", SHF_ALLOC, MODINFO),
            ],
        )
    }

    #[test]
    fn reads_a_module() {
        let m = parse(&module()).unwrap();
        assert_eq!(m.machine, 183);
        assert!(m.elf64 && m.has_versions);
        assert_eq!(m.get("name"), Some("dummy"));
        assert_eq!(m.release(), Some("6.1.0-31-cloud-arm64"));
        assert_eq!(m.depends(), ["llc", "stp_x"]);
        assert_eq!(m.param_type("numdummies"), Some("int"));
        assert_eq!(m.param_type("numdummie"), None);
        assert_eq!(m.param_type("list"), Some("array of uint"));
    }

    #[test]
    fn sections_without_alloc_do_not_count() {
        let b = elf(
            183,
            &[
                (".gnu.linkonce.this_module", SHF_ALLOC, &[0; 16]),
                ("__versions", 0, &[0; 64]),
                (".modinfo", 0, MODINFO),
            ],
        );
        let m = parse(&b).unwrap();
        assert!(!m.has_versions);
        assert!(m.entries.is_empty());
        let b = elf(183, &[(".modinfo", SHF_ALLOC, MODINFO)]);
        assert_eq!(parse(&b), Err(ModinfoError::NoThisModule));
    }

    #[test]
    fn adversarial_files_are_errors_not_panics() {
        let good = module();
        assert!(parse(b"").is_err());
        assert!(parse(b"\x7fELF").is_err());
        assert!(parse(b"MZ\x90\0").is_err());
        // Every truncation of a good module is an error or a smaller answer, never a panic.
        for n in 0..good.len() {
            let _ = parse(&good[..n]);
        }
        // Every single-byte corruption of the header and section table.
        for i in (0..64).chain(good.len() - 6 * 64..good.len()) {
            for v in [0x00, 0x7f, 0xff] {
                let mut b = good.clone();
                b[i] = v;
                let _ = parse(&b);
            }
        }
        let mut b = good.clone();
        b[16] = 3; // ET_DYN
        assert_eq!(parse(&b), Err(ModinfoError::NotRelocatable(3)));
        let mut b = good.clone();
        b[0x3a] = 63;
        assert!(matches!(parse(&b), Err(ModinfoError::Elf(_))));
        // A section offset far outside the file.
        let mut b = good.clone();
        let shoff = u64::from_le_bytes(b[0x28..0x30].try_into().unwrap()) as usize;
        b[shoff + 64 + 24..shoff + 64 + 32].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(parse(&b), Err(ModinfoError::Elf(_))));
        // shnum huge, shoff near the end: truncated, not a huge allocation.
        let mut b = good.clone();
        b[0x3c..0x3e].copy_from_slice(&u16::MAX.to_le_bytes());
        assert!(parse(&b).is_err());
        // A name offset past the string table reads as empty.
        assert!(modinfo_entries(b"novalue\0=x\0a=b=c\0").contains(&("a".into(), "b=c".into())));
    }

    #[test]
    fn same_magic_is_the_kernels() {
        let k = "6.1.0-31-cloud-arm64 SMP preempt mod_unload modversions aarch64";
        assert!(same_magic(k, k, false));
        let other_release = "6.1.0-30-cloud-arm64 SMP preempt mod_unload modversions aarch64";
        assert!(same_magic(other_release, k, true));
        assert!(!same_magic(other_release, k, false));
        let x86 = "6.1.0-31-cloud-amd64 SMP mod_unload modversions ";
        assert!(!same_magic(x86, k, true));
        assert!(!same_magic("", k, true));
        assert!(same_magic("a", "b", true));
    }

    #[test]
    fn parameter_values_as_the_kernel_parses_them() {
        for ok in [
            "0",
            "42",
            "-7",
            "+7",
            "0x1f",
            "010",
            "7\n",
            "2147483647",
            "-2147483648",
        ] {
            assert_eq!(check_value("int", Some(ok)), Ok(()), "{ok:?}");
        }
        for (bad, e) in [
            ("notanumber", Errno::EINVAL),
            ("", Errno::EINVAL),
            ("09", Errno::EINVAL),
            ("0x", Errno::EINVAL),
            ("1 ", Errno::EINVAL),
            ("2147483648", Errno::ERANGE),
            ("99999999999999999999999", Errno::ERANGE),
        ] {
            assert_eq!(check_value("int", Some(bad)), Err(e), "{bad:?}");
        }
        assert_eq!(check_value("int", None), Err(Errno::EINVAL));
        assert_eq!(check_value("uint", Some("-1")), Err(Errno::EINVAL));
        assert_eq!(check_value("byte", Some("256")), Err(Errno::ERANGE));
        assert_eq!(check_value("ulong", Some("18446744073709551615")), Ok(()));
        assert_eq!(check_value("long", Some("-9223372036854775808")), Ok(()));
        assert_eq!(
            check_value("long", Some("9223372036854775808")),
            Err(Errno::ERANGE)
        );
        for ok in [
            None,
            Some("y"),
            Some("N"),
            Some("1"),
            Some("on"),
            Some("Off"),
            Some("true"),
        ] {
            assert_eq!(check_value("bool", ok), Ok(()), "{ok:?}");
        }
        for bad in ["", "2", "o", "ox", "maybe"] {
            assert_eq!(
                check_value("bool", Some(bad)),
                Err(Errno::EINVAL),
                "{bad:?}"
            );
        }
        assert_eq!(check_value("array of uint", Some("1,2,3")), Ok(()));
        assert_eq!(
            check_value("array of uint", Some("1,x")),
            Err(Errno::EINVAL)
        );
        assert_eq!(check_value("charp", Some("anything at all")), Ok(()));
    }

    #[test]
    fn params_are_split_and_checked() {
        assert_eq!(
            split_params(r#"a=1 b="x y"  "c=d e" f"#),
            [
                ("a".to_owned(), Some("1".to_owned())),
                ("b".to_owned(), Some("x y".to_owned())),
                ("c".to_owned(), Some("d e".to_owned())),
                ("f".to_owned(), None),
            ]
        );
        let m = parse(&module()).unwrap();
        let (bad, unknown) = check_params(&m, "numdummies=notanumber no_such_param=1");
        let bad = bad.unwrap();
        assert_eq!(bad.errno, Errno::EINVAL);
        assert_eq!(
            bad.to_string(),
            "`notanumber' invalid for parameter `numdummies' (int): EINVAL"
        );
        assert!(unknown.is_empty(), "the first refusal stops parse_args");
        let (bad, unknown) = check_params(&m, "no_such_param=1 flag numdummies=3");
        assert_eq!(bad, None);
        assert_eq!(unknown, ["no_such_param"]);
    }
}
