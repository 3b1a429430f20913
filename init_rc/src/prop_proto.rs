//! The property-service wire protocol (AOSP `property_service.cpp`, bionic
//! `system_property_set.cpp`) and its client.
//!
//! A client connects to the stream socket `/dev/socket/property_service` and sends, in
//! native byte order:
//!
//! - `PROP_MSG_SETPROP2` (`0x00020001`): `u32 cmd, u32 name_len, name, u32 value_len,
//!   value`; the server replies `u32 result` (`0` = `PROP_SUCCESS`, else a
//!   `PROP_ERROR_*` code). Strings longer than `0xffff` bytes are refused, as AOSP does.
//! - **Ours**, `PROP_MSG_GETPROP` (`0x00020101`): `u32 cmd, u32 name_len, name`; the reply
//!   is `u32 result` and, when it is `0`, `u32 value_len, value`. A missing property
//!   answers [`PROP_ERROR_NOT_FOUND`]. Used by our `getprop` applet (the guest has no
//!   shared property area).
//!
//! The legacy fixed-size `PROP_MSG_SETPROP` (`1`) is not supported: it is answered with
//! `PROP_ERROR_INVALID_CMD`. A request must arrive whole within 2 s of the connection
//! (AOSP's `kDefaultSocketTimeout`, a budget for all reads of one request); the server
//! decodes what has arrived so far with [`decode`] and never waits for a client.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use crate::error::RcError;

/// Set a property (AOSP's current message).
pub const PROP_MSG_SETPROP2: u32 = 0x0002_0001;
/// Get a property (our extension).
pub const PROP_MSG_GETPROP: u32 = 0x0002_0101;
/// Success.
pub const PROP_SUCCESS: u32 = 0;
/// The command could not be read.
pub const PROP_ERROR_READ_CMD: u32 = 0x0004;
/// The name or value could not be read.
pub const PROP_ERROR_READ_DATA: u32 = 0x0008;
/// `ro.*` already set.
pub const PROP_ERROR_READ_ONLY_PROPERTY: u32 = 0x000B;
/// Illegal name.
pub const PROP_ERROR_INVALID_NAME: u32 = 0x0010;
/// Illegal value.
pub const PROP_ERROR_INVALID_VALUE: u32 = 0x0014;
/// The caller may not set this property.
pub const PROP_ERROR_PERMISSION_DENIED: u32 = 0x0018;
/// Unknown command.
pub const PROP_ERROR_INVALID_CMD: u32 = 0x001B;
/// A `ctl.*` message could not be handled.
pub const PROP_ERROR_HANDLE_CONTROL_MESSAGE: u32 = 0x0020;
/// Setting failed for another reason (store full).
pub const PROP_ERROR_SET_FAILED: u32 = 0x0024;
/// **Ours:** `PROP_MSG_GETPROP` for a property that is not set.
pub const PROP_ERROR_NOT_FOUND: u32 = 0x0100;
/// Longest string accepted on the wire (AOSP's limit).
pub const MAX_WIRE_STRING: usize = 0xffff;
/// Server-side budget to read one request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// Client-side budget for the whole exchange.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default socket path.
pub const DEFAULT_SOCKET: &str = "/dev/socket/property_service";

/// A decoded request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `PROP_MSG_SETPROP2`.
    Set {
        /// Property name.
        name: String,
        /// New value.
        value: String,
    },
    /// `PROP_MSG_GETPROP`.
    Get {
        /// Property name.
        name: String,
    },
}

/// Why a request could not be decoded; [`RequestError::reply`] is the code to send back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// The 4-byte command was not received.
    ReadCmd,
    /// A length or string was missing, too long, or not UTF-8.
    ReadData(&'static str),
    /// Unknown (or legacy) command.
    InvalidCmd(u32),
}

impl RequestError {
    /// The error for a peer that stopped (EOF or its deadline) while `what` (a
    /// [`Decoded::Incomplete`] field) was incomplete.
    pub fn truncated(what: &str) -> RequestError {
        match what {
            "command" => RequestError::ReadCmd,
            "length" => RequestError::ReadData("truncated length"),
            _ => RequestError::ReadData("truncated string"),
        }
    }

    /// The `PROP_ERROR_*` reply for this error.
    pub fn reply(&self) -> u32 {
        match self {
            RequestError::ReadCmd => PROP_ERROR_READ_CMD,
            RequestError::ReadData(_) => PROP_ERROR_READ_DATA,
            RequestError::InvalidCmd(_) => PROP_ERROR_INVALID_CMD,
        }
    }
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestError::ReadCmd => f.write_str("cannot read command"),
            RequestError::ReadData(w) => write!(f, "cannot read data: {w}"),
            RequestError::InvalidCmd(c) => write!(f, "unsupported command 0x{c:08x}"),
        }
    }
}

fn read_u32<R: Read>(r: &mut R) -> Option<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b).ok()?;
    Some(u32::from_ne_bytes(b))
}

fn read_string<R: Read>(r: &mut R) -> Result<String, RequestError> {
    let len = read_u32(r).ok_or(RequestError::ReadData("truncated length"))?;
    let len = usize::try_from(len).map_err(|_| RequestError::ReadData("length too large"))?;
    if len > MAX_WIRE_STRING {
        return Err(RequestError::ReadData("string longer than 0xffff bytes"));
    }
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf)
        .map_err(|_| RequestError::ReadData("truncated string"))?;
    String::from_utf8(buf).map_err(|_| RequestError::ReadData("string is not UTF-8"))
}

/// The longest well-formed request: a `PROP_MSG_SETPROP2` with two strings of
/// [`MAX_WIRE_STRING`] bytes.
pub const MAX_REQUEST: usize = 4 + 2 * (4 + MAX_WIRE_STRING);

/// What the bytes received so far on a connection make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// Not a whole request yet: at least `need` more bytes, the next being `what`
    /// (`"command"`, `"length"` or `"string"`).
    Incomplete {
        /// Bytes still missing before the next field is whole.
        need: usize,
        /// The field being received.
        what: &'static str,
    },
    /// A whole request, which took the first `len` bytes.
    Complete(Request, usize),
    /// The bytes cannot become a valid request.
    Invalid(RequestError),
}

/// Reads a native-endian `u32` at `at`, or says how many bytes are missing.
fn u32_at(buf: &[u8], at: usize, what: &'static str) -> Result<u32, Decoded> {
    match buf.get(at..at + 4) {
        Some(b) => Ok(u32::from_ne_bytes([b[0], b[1], b[2], b[3]])),
        None => Err(Decoded::Incomplete {
            need: at + 4 - buf.len().min(at + 4),
            what,
        }),
    }
}

/// Decodes the length-prefixed string at `at`: the string and the offset after it.
fn string_at(buf: &[u8], at: usize) -> Result<(String, usize), Decoded> {
    let len = u32_at(buf, at, "length")?;
    let len = usize::try_from(len)
        .ok()
        .filter(|l| *l <= MAX_WIRE_STRING)
        .ok_or(Decoded::Invalid(RequestError::ReadData(
            "string longer than 0xffff bytes",
        )))?;
    let start = at + 4;
    let end = start + len;
    let Some(bytes) = buf.get(start..end) else {
        return Err(Decoded::Incomplete {
            need: end - buf.len(),
            what: "string",
        });
    };
    let s = std::str::from_utf8(bytes)
        .map_err(|_| Decoded::Invalid(RequestError::ReadData("string is not UTF-8")))?;
    Ok((s.to_owned(), end))
}

/// Decodes a request from the start of `buf` without blocking: the server calls it on
/// whatever a connection delivered so far. Strings are checked as their lengths arrive,
/// so no more than [`MAX_REQUEST`] bytes are ever needed.
pub fn decode(buf: &[u8]) -> Decoded {
    let parse = || -> Result<Decoded, Decoded> {
        let cmd = u32_at(buf, 0, "command")?;
        match cmd {
            PROP_MSG_SETPROP2 => {
                let (name, at) = string_at(buf, 4)?;
                let (value, end) = string_at(buf, at)?;
                Ok(Decoded::Complete(Request::Set { name, value }, end))
            }
            PROP_MSG_GETPROP => {
                let (name, end) = string_at(buf, 4)?;
                Ok(Decoded::Complete(Request::Get { name }, end))
            }
            other => Err(Decoded::Invalid(RequestError::InvalidCmd(other))),
        }
    };
    match parse() {
        Ok(d) | Err(d) => d,
    }
}

/// Decodes one request from a blocking reader `r` (which should enforce a read
/// timeout), reading exactly what [`decode`] asks for.
pub fn read_request<R: Read>(r: &mut R) -> Result<Request, RequestError> {
    let mut buf = Vec::new();
    loop {
        match decode(&buf) {
            Decoded::Complete(req, _) => return Ok(req),
            Decoded::Invalid(e) => return Err(e),
            Decoded::Incomplete { need, what } => {
                let start = buf.len();
                buf.resize(start + need, 0);
                if r.read_exact(&mut buf[start..]).is_err() {
                    return Err(RequestError::truncated(what));
                }
            }
        }
    }
}

fn put_string(out: &mut Vec<u8>, s: &str) -> Result<(), RcError> {
    let len = u32::try_from(s.len())
        .ok()
        .filter(|l| *l as usize <= MAX_WIRE_STRING)
        .ok_or_else(|| RcError::Protocol(format!("string of {} bytes is too long", s.len())))?;
    out.extend_from_slice(&len.to_ne_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// Encodes a `PROP_MSG_SETPROP2` message.
pub fn encode_set(name: &str, value: &str) -> Result<Vec<u8>, RcError> {
    let mut out = PROP_MSG_SETPROP2.to_ne_bytes().to_vec();
    put_string(&mut out, name)?;
    put_string(&mut out, value)?;
    Ok(out)
}

/// Encodes a `PROP_MSG_GETPROP` message.
pub fn encode_get(name: &str) -> Result<Vec<u8>, RcError> {
    let mut out = PROP_MSG_GETPROP.to_ne_bytes().to_vec();
    put_string(&mut out, name)?;
    Ok(out)
}

/// Encodes the reply to a get: result, then the value on success.
pub fn encode_get_reply(value: Option<&str>) -> Vec<u8> {
    let mut out = Vec::new();
    match value {
        Some(v) if v.len() <= MAX_WIRE_STRING => {
            out.extend_from_slice(&PROP_SUCCESS.to_ne_bytes());
            // Cannot fail: the length was just checked.
            let _ = put_string(&mut out, v);
        }
        _ => out.extend_from_slice(&PROP_ERROR_NOT_FOUND.to_ne_bytes()),
    }
    out
}

fn connect(socket: &Path) -> Result<UnixStream, RcError> {
    let path = socket.display().to_string();
    let s = UnixStream::connect(socket).map_err(|e| RcError::io("connect", &path, e))?;
    s.set_read_timeout(Some(CLIENT_TIMEOUT))
        .and_then(|()| s.set_write_timeout(Some(CLIENT_TIMEOUT)))
        .map_err(|e| RcError::io("set timeout on", &path, e))?;
    Ok(s)
}

fn exchange(socket: &Path, msg: &[u8]) -> Result<(UnixStream, u32), RcError> {
    let mut s = connect(socket)?;
    let path = socket.display().to_string();
    s.write_all(msg)
        .map_err(|e| RcError::io("write to", &path, e))?;
    let code =
        read_u32(&mut s).ok_or_else(|| RcError::Protocol(format!("no reply from {path}")))?;
    Ok((s, code))
}

/// Sets `name` to `value` through the property service at `socket`.
pub fn set_property(socket: &Path, name: &str, value: &str) -> Result<(), RcError> {
    let (_, code) = exchange(socket, &encode_set(name, value)?)?;
    if code == PROP_SUCCESS {
        Ok(())
    } else {
        Err(RcError::Rejected {
            name: name.to_string(),
            code,
        })
    }
}

/// Reads `name` through the property service at `socket` (our extension); `Ok(None)`
/// when it is not set.
pub fn get_property(socket: &Path, name: &str) -> Result<Option<String>, RcError> {
    let (mut s, code) = exchange(socket, &encode_get(name)?)?;
    match code {
        PROP_SUCCESS => read_string(&mut s)
            .map(Some)
            .map_err(|e| RcError::Protocol(e.to_string())),
        PROP_ERROR_NOT_FOUND => Ok(None),
        code => Err(RcError::Rejected {
            name: name.to_string(),
            code,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn set_round_trip() {
        let m = encode_set("ro.cold_boot_done", "true").unwrap();
        assert_eq!(&m[..4], &0x0002_0001u32.to_ne_bytes());
        assert_eq!(
            read_request(&mut Cursor::new(m)).unwrap(),
            Request::Set {
                name: "ro.cold_boot_done".into(),
                value: "true".into()
            }
        );
        let g = encode_get("a.b").unwrap();
        assert_eq!(
            read_request(&mut Cursor::new(g)).unwrap(),
            Request::Get { name: "a.b".into() }
        );
    }

    #[test]
    fn malformed() {
        assert_eq!(
            read_request(&mut Cursor::new(vec![1u8, 0])),
            Err(RequestError::ReadCmd)
        );
        assert_eq!(
            read_request(&mut Cursor::new(1u32.to_ne_bytes().to_vec())),
            Err(RequestError::InvalidCmd(1))
        );
        let mut m = encode_set("name", "value").unwrap();
        m.truncate(m.len() - 1);
        assert!(matches!(
            read_request(&mut Cursor::new(m)),
            Err(RequestError::ReadData(_))
        ));
        let mut huge = PROP_MSG_SETPROP2.to_ne_bytes().to_vec();
        huge.extend_from_slice(&0x1_0000u32.to_ne_bytes());
        assert!(matches!(
            read_request(&mut Cursor::new(huge)),
            Err(RequestError::ReadData(_))
        ));
        let mut max = PROP_MSG_SETPROP2.to_ne_bytes().to_vec();
        max.extend_from_slice(&u32::MAX.to_ne_bytes());
        assert!(matches!(
            read_request(&mut Cursor::new(max)),
            Err(RequestError::ReadData(_))
        ));
        let mut bad_utf8 = PROP_MSG_GETPROP.to_ne_bytes().to_vec();
        bad_utf8.extend_from_slice(&2u32.to_ne_bytes());
        bad_utf8.extend_from_slice(&[0xff, 0xfe]);
        assert!(matches!(
            read_request(&mut Cursor::new(bad_utf8)),
            Err(RequestError::ReadData(_))
        ));
        assert_eq!(RequestError::ReadCmd.reply(), PROP_ERROR_READ_CMD);
        assert!(encode_set(&"x".repeat(MAX_WIRE_STRING + 1), "v").is_err());
    }

    #[test]
    fn decode_is_incremental_and_read_request_agrees() {
        for msg in [
            encode_set("ro.cold_boot_done", "true").unwrap(),
            encode_set("", "").unwrap(),
            encode_get("a.b").unwrap(),
        ] {
            let Decoded::Complete(req, len) = decode(&msg) else {
                panic!("{msg:?}")
            };
            assert_eq!(len, msg.len());
            assert_eq!(read_request(&mut Cursor::new(msg.clone())).unwrap(), req);
            // Every proper prefix is incomplete, and says which field it waits for.
            for cut in 0..msg.len() {
                match decode(&msg[..cut]) {
                    Decoded::Incomplete { need, what } => {
                        assert!(need >= 1 && cut + need <= msg.len(), "{cut} {need}");
                        assert_eq!(what == "command", cut < 4, "{cut}");
                    }
                    other => panic!("prefix {cut}: {other:?}"),
                }
            }
            // Trailing bytes are not part of the request.
            let mut more = msg.clone();
            more.extend_from_slice(b"junk");
            assert!(matches!(decode(&more), Decoded::Complete(_, l) if l == msg.len()));
        }
        let set = encode_set("name", "value").unwrap();
        for (cut, want) in [
            (2, RequestError::ReadCmd),
            (6, RequestError::ReadData("truncated length")),
            (9, RequestError::ReadData("truncated string")),
        ] {
            let Decoded::Incomplete { what, .. } = decode(&set[..cut]) else {
                panic!("{cut}")
            };
            assert_eq!(RequestError::truncated(what), want);
            assert_eq!(read_request(&mut Cursor::new(&set[..cut])), Err(want));
        }
        // A bad length or command is refused at once, before its bytes arrive.
        let mut huge = PROP_MSG_SETPROP2.to_ne_bytes().to_vec();
        huge.extend_from_slice(&0x1_0000u32.to_ne_bytes());
        assert!(matches!(
            decode(&huge),
            Decoded::Invalid(RequestError::ReadData(_))
        ));
        assert_eq!(
            decode(&7u32.to_ne_bytes()),
            Decoded::Invalid(RequestError::InvalidCmd(7))
        );
        let max = encode_set(&"n".repeat(MAX_WIRE_STRING), &"v".repeat(MAX_WIRE_STRING)).unwrap();
        assert_eq!(max.len(), MAX_REQUEST);
        assert!(matches!(decode(&max), Decoded::Complete(..)));
    }

    #[test]
    fn get_reply_encoding() {
        let r = encode_get_reply(Some("v"));
        assert_eq!(&r[..4], &0u32.to_ne_bytes());
        assert_eq!(&r[4..8], &1u32.to_ne_bytes());
        assert_eq!(
            encode_get_reply(None),
            PROP_ERROR_NOT_FOUND.to_ne_bytes().to_vec()
        );
    }
}
