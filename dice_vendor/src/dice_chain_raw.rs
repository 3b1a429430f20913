//! `/microdroid_resources/dice_chain.raw`: AVF's serde-CBOR encoding of `OwnedDiceArtifacts`.
//!
//! `{"cdi_values": {"cdi_attest": [32 uints], "cdi_seal": [32 uints]}, "bcc": [n uints]}` —
//! text keys in struct-field order, and every byte array written as an *array of unsigned
//! integers* (serde's encoding of `[u8; 32]` and `Vec<u8>`; AOSP's `serde_cbor` reader
//! rejects byte strings there). The reader here accepts both forms, keys in any order and
//! unknown keys (as serde does), but no duplicates and no trailing bytes.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::cbor::reader::{ReadError, Reader};
use crate::cbor::writer::{encode_exact, Writer};
use crate::cbor::Major;
use crate::dice::{Cdi, CDI_SIZE};
use crate::error::DiceError;
use crate::handover::Handover;

/// File mode of the output.
pub const OUTPUT_MODE: u32 = 0o600;

/// The contents of `dice_chain.raw`: the vendor node's CDIs and the extended chain.
pub struct DiceChainRaw {
    /// CDI_Attest of the derived node.
    pub cdi_attest: Cdi,
    /// CDI_Seal of the derived node.
    pub cdi_seal: Cdi,
    /// The whole DICE chain (BCC), root key first.
    pub bcc: Vec<u8>,
}

impl std::fmt::Debug for DiceChainRaw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiceChainRaw")
            .field("cdi_attest", &"<secret>")
            .field("cdi_seal", &"<secret>")
            .field("bcc_len", &self.bcc.len())
            .finish()
    }
}

fn invalid(what: impl std::fmt::Display) -> DiceError {
    DiceError::ChainRawInvalid(what.to_string())
}

fn read_err(field: &str) -> impl FnOnce(ReadError) -> DiceError + '_ {
    move |e| invalid(format!("{field}: {e}"))
}

fn write_byte_array(w: &mut Writer, bytes: &[u8]) {
    w.array(bytes.len() as u64);
    for &b in bytes {
        w.uint(u64::from(b));
    }
}

/// Reads a byte array written either as an array of uints (each ≤ 255) or as a bstr,
/// passing each byte to `put`; returns the number of bytes.
fn read_byte_array(
    r: &mut Reader<'_>,
    field: &str,
    mut put: impl FnMut(usize, u8) -> Result<(), DiceError>,
) -> Result<usize, DiceError> {
    let head = r.peek_head().map_err(read_err(field))?;
    match head.major {
        Major::Bstr => {
            let data = r.read_bstr().map_err(read_err(field))?;
            for (i, &b) in data.iter().enumerate() {
                put(i, b)?;
            }
            Ok(data.len())
        }
        Major::Array => {
            let count = r.read_array().map_err(read_err(field))?;
            let mut n = 0usize;
            for _ in 0..count {
                let offset = r.offset();
                let v = r.read_uint().map_err(read_err(field))?;
                let b = u8::try_from(v).map_err(|_| {
                    invalid(format!("{field}: element {v} at byte {offset} exceeds 255"))
                })?;
                put(n, b)?;
                n += 1;
            }
            Ok(n)
        }
        found => Err(invalid(format!(
            "{field}: expected an array of bytes, found a {found}"
        ))),
    }
}

fn read_cdi(r: &mut Reader<'_>, field: &str) -> Result<Cdi, DiceError> {
    let mut cdi = Zeroizing::new([0u8; CDI_SIZE]);
    let len = read_byte_array(r, field, |i, b| match cdi.get_mut(i) {
        Some(slot) => {
            *slot = b;
            Ok(())
        }
        None => Err(invalid(format!("{field}: more than {CDI_SIZE} bytes"))),
    })?;
    if len != CDI_SIZE {
        return Err(invalid(format!(
            "{field}: {len} bytes, expected {CDI_SIZE}"
        )));
    }
    Ok(cdi)
}

/// Reads a map with text keys, calling `field` for each key it knows and skipping others.
fn read_struct<'a>(
    r: &mut Reader<'a>,
    name: &str,
    known: &[&str],
    mut field: impl FnMut(&mut Reader<'a>, usize) -> Result<(), DiceError>,
) -> Result<(), DiceError> {
    let pairs = r.read_map().map_err(read_err(name))?;
    let mut seen = vec![false; known.len()];
    for _ in 0..pairs {
        let offset = r.offset();
        let key = r.read_tstr().map_err(read_err(name))?;
        match known.iter().position(|k| k.as_bytes() == key) {
            Some(i) => {
                if std::mem::replace(&mut seen[i], true) {
                    return Err(invalid(format!(
                        "{name}: duplicate key {:?} at byte {offset}",
                        known[i]
                    )));
                }
                field(r, i)?;
            }
            None => {
                r.skip().map_err(read_err(name))?;
            }
        }
    }
    if let Some(i) = seen.iter().position(|s| !s) {
        return Err(invalid(format!("{name}: missing key {:?}", known[i])));
    }
    Ok(())
}

impl DiceChainRaw {
    /// The artifacts of a handover that carries a chain.
    pub fn from_handover(handover: &Handover) -> Option<DiceChainRaw> {
        Some(DiceChainRaw {
            cdi_attest: Zeroizing::new(*handover.cdi_attest()),
            cdi_seal: Zeroizing::new(*handover.cdi_seal()),
            bcc: handover.chain()?.to_vec(),
        })
    }

    /// The file contents (allocated once at the final size, zeroized on drop).
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(encode_exact(|w: &mut Writer| {
            w.map(2);
            w.tstr("cdi_values");
            w.map(2);
            w.tstr("cdi_attest");
            write_byte_array(w, &self.cdi_attest[..]);
            w.tstr("cdi_seal");
            write_byte_array(w, &self.cdi_seal[..]);
            w.tstr("bcc");
            write_byte_array(w, &self.bcc);
        }))
    }

    /// Parses file contents (see the module documentation for what is accepted).
    pub fn from_bytes(bytes: &[u8]) -> Result<DiceChainRaw, DiceError> {
        let mut r = Reader::new(bytes);
        let mut cdi_attest = None;
        let mut cdi_seal = None;
        let mut bcc = Vec::new();
        read_struct(&mut r, "top-level map", &["cdi_values", "bcc"], |r, i| {
            if i == 0 {
                read_struct(r, "cdi_values", &["cdi_attest", "cdi_seal"], |r, j| {
                    if j == 0 {
                        cdi_attest = Some(read_cdi(r, "cdi_attest")?);
                    } else {
                        cdi_seal = Some(read_cdi(r, "cdi_seal")?);
                    }
                    Ok(())
                })
            } else {
                // Each element takes at least one byte, so the input bounds the allocation.
                bcc.reserve(r.rest().len().min(bytes.len()));
                read_byte_array(r, "bcc", |_, b| {
                    bcc.push(b);
                    Ok(())
                })?;
                bcc.shrink_to_fit();
                Ok(())
            }
        })?;
        if !r.at_end() {
            return Err(invalid(format!("trailing bytes at byte {}", r.offset())));
        }
        match (cdi_attest, cdi_seal) {
            (Some(cdi_attest), Some(cdi_seal)) => Ok(DiceChainRaw {
                cdi_attest,
                cdi_seal,
                bcc,
            }),
            _ => Err(invalid("cdi_values: missing a CDI")),
        }
    }

    /// Reads and parses a file.
    pub fn read(path: &Path) -> Result<DiceChainRaw, DiceError> {
        let bytes = Zeroizing::new(fs::read(path).map_err(|source| DiceError::Output {
            path: path.to_path_buf(),
            what: "read",
            source,
        })?);
        DiceChainRaw::from_bytes(&bytes)
    }

    /// Writes the file atomically with mode 0600: a temporary file in the same directory is
    /// written and fsynced, renamed over `path`, and the directory is fsynced.
    pub fn write_atomic(&self, path: &Path) -> Result<(), DiceError> {
        let err = |path: &Path, what: &'static str| {
            let path = path.to_path_buf();
            move |source| DiceError::Output { path, what, source }
        };
        let name = path.file_name().ok_or_else(|| DiceError::Output {
            path: path.to_path_buf(),
            what: "output path has no file name",
            source: std::io::ErrorKind::InvalidInput.into(),
        })?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(".tmp");
        let tmp = dir.join(tmp_name);

        // A stale temporary file from an interrupted run is replaced.
        match fs::remove_file(&tmp) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(err(&tmp, "remove stale temporary file")(e))
            }
            _ => {}
        }
        let write = || -> Result<(), DiceError> {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(OUTPUT_MODE)
                .open(&tmp)
                .map_err(err(&tmp, "create temporary file"))?;
            // The umask can only remove bits; set the mode explicitly anyway.
            file.set_permissions(fs::Permissions::from_mode(OUTPUT_MODE))
                .map_err(err(&tmp, "chmod 0600"))?;
            file.write_all(&self.to_bytes())
                .map_err(err(&tmp, "write"))?;
            file.sync_all().map_err(err(&tmp, "fsync"))?;
            fs::rename(&tmp, path).map_err(err(path, "rename into place"))?;
            File::open(&dir)
                .and_then(|d| d.sync_all())
                .map_err(err(&dir, "fsync directory"))
        };
        let result = write();
        if result.is_err() {
            // Best effort: never leave a copy of the CDIs behind.
            let _ = fs::remove_file(&tmp);
        }
        result
    }
}
