//! Kernel uevent messages (`ACTION@DEVPATH\0KEY=VALUE\0…`, as `lib/kobject_uevent.c`
//! sends them on NETLINK_KOBJECT_UEVENT) and their strict parser.
//!
//! The parser never panics and rejects rather than guesses: the message must be
//! non-empty, shorter than [`UEVENT_MSG_MAX`] and NUL-terminated; the header must be
//! `ACTION@DEVPATH` with a known action and an absolute, normalised DEVPATH; every field
//! must be `KEY=VALUE`; the keys we use must be UTF-8, appear at most once and agree
//! with the header; numbers are plain decimal. Unknown keys are skipped. Empty fields
//! (runs of NULs) are skipped.

use crate::error::UeventError;

/// Messages of this many bytes or more are dropped (DESIGN §6.1, AOSP `UEVENT_MSG_LEN`).
pub const UEVENT_MSG_MAX: usize = 8192;

/// A uevent action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UeventAction {
    /// `add`
    Add,
    /// `remove`
    Remove,
    /// `change`
    Change,
    /// `move`
    Move,
    /// `online`
    Online,
    /// `offline`
    Offline,
    /// `bind`
    Bind,
    /// `unbind`
    Unbind,
}

impl UeventAction {
    /// Parses the kernel's action word.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "add" => UeventAction::Add,
            "remove" => UeventAction::Remove,
            "change" => UeventAction::Change,
            "move" => UeventAction::Move,
            "online" => UeventAction::Online,
            "offline" => UeventAction::Offline,
            "bind" => UeventAction::Bind,
            "unbind" => UeventAction::Unbind,
            _ => return None,
        })
    }

    /// The kernel's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            UeventAction::Add => "add",
            UeventAction::Remove => "remove",
            UeventAction::Change => "change",
            UeventAction::Move => "move",
            UeventAction::Online => "online",
            UeventAction::Offline => "offline",
            UeventAction::Bind => "bind",
            UeventAction::Unbind => "unbind",
        }
    }
}

/// A parsed uevent. Absent keys are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uevent {
    /// ACTION.
    pub action: UeventAction,
    /// DEVPATH, relative to the sysfs mount (`/devices/…`).
    pub devpath: String,
    /// SUBSYSTEM.
    pub subsystem: Option<String>,
    /// MAJOR and MINOR (both or neither).
    pub major: Option<u32>,
    /// MINOR.
    pub minor: Option<u32>,
    /// DEVNAME (relative to /dev, may contain `/`).
    pub devname: Option<String>,
    /// PARTN.
    pub partn: Option<u32>,
    /// PARTNAME (raw; see [`crate::sanitize_partition_name`]).
    pub partname: Option<String>,
    /// MODALIAS.
    pub modalias: Option<String>,
    /// FIRMWARE.
    pub firmware: Option<String>,
    /// SEQNUM.
    pub seqnum: Option<u64>,
}

impl Uevent {
    /// A uevent with only the header fields set (for building events in code and tests).
    pub fn new(action: UeventAction, devpath: &str) -> Self {
        Uevent {
            action,
            devpath: devpath.to_string(),
            subsystem: None,
            major: None,
            minor: None,
            devname: None,
            partn: None,
            partname: None,
            modalias: None,
            firmware: None,
            seqnum: None,
        }
    }

    /// SUBSYSTEM or "".
    pub fn subsystem_str(&self) -> &str {
        self.subsystem.as_deref().unwrap_or("")
    }

    /// `(major, minor)` when the event is for a device node.
    pub fn device_numbers(&self) -> Option<(u32, u32)> {
        Some((self.major?, self.minor?))
    }

    /// The last component of DEVPATH.
    pub fn devpath_basename(&self) -> &str {
        self.devpath.rsplit('/').next().unwrap_or("")
    }

    /// Serialises the event as the kernel would send it (header and the set keys).
    pub fn to_message(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut field = |s: &str| {
            out.extend_from_slice(s.as_bytes());
            out.push(0);
        };
        field(&format!("{}@{}", self.action.as_str(), self.devpath));
        field(&format!("ACTION={}", self.action.as_str()));
        field(&format!("DEVPATH={}", self.devpath));
        if let Some(v) = &self.subsystem {
            field(&format!("SUBSYSTEM={v}"));
        }
        if let Some(v) = self.major {
            field(&format!("MAJOR={v}"));
        }
        if let Some(v) = self.minor {
            field(&format!("MINOR={v}"));
        }
        if let Some(v) = &self.devname {
            field(&format!("DEVNAME={v}"));
        }
        if let Some(v) = self.partn {
            field(&format!("PARTN={v}"));
        }
        if let Some(v) = &self.partname {
            field(&format!("PARTNAME={v}"));
        }
        if let Some(v) = &self.modalias {
            field(&format!("MODALIAS={v}"));
        }
        if let Some(v) = &self.firmware {
            field(&format!("FIRMWARE={v}"));
        }
        if let Some(v) = self.seqnum {
            field(&format!("SEQNUM={v}"));
        }
        out
    }
}

/// True if `devpath` is absolute and has no empty, `.` or `..` components.
pub(crate) fn is_clean_devpath(devpath: &str) -> bool {
    match devpath.strip_prefix('/') {
        Some(rest) => rest
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != ".."),
        None => false,
    }
}

/// Plain decimal number: digits only (no sign, blanks or base prefix).
pub(crate) fn parse_decimal<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses one netlink uevent message.
pub fn parse_uevent(msg: &[u8]) -> Result<Uevent, UeventError> {
    if msg.is_empty() {
        return Err(UeventError::Empty);
    }
    if msg.len() >= UEVENT_MSG_MAX {
        return Err(UeventError::TooLarge {
            len: msg.len(),
            max: UEVENT_MSG_MAX,
        });
    }
    let Some(body) = msg.strip_suffix(&[0]) else {
        return Err(UeventError::NotNulTerminated);
    };
    let mut fields = body.split(|&b| b == 0);
    let header = fields.next().unwrap_or_default();
    let header = std::str::from_utf8(header)
        .map_err(|_| UeventError::BadHeader(String::from_utf8_lossy(header).into_owned()))?;
    let (action, devpath) = header
        .split_once('@')
        .ok_or_else(|| UeventError::BadHeader(header.to_string()))?;
    if action.is_empty() || devpath.is_empty() || action.contains('=') {
        return Err(UeventError::BadHeader(header.to_string()));
    }
    let action_parsed =
        UeventAction::parse(action).ok_or_else(|| UeventError::UnknownAction(action.into()))?;
    if !is_clean_devpath(devpath) {
        return Err(UeventError::BadDevpath(devpath.into()));
    }
    let mut ev = Uevent::new(action_parsed, devpath);
    let mut seen_action = false;
    let mut seen_devpath = false;
    for field in fields {
        if field.is_empty() {
            continue;
        }
        let Some((key, value)) = crate::block::split_key_value(field) else {
            return Err(UeventError::NoEquals(
                String::from_utf8_lossy(field).into_owned(),
            ));
        };
        let Some(key) = known_key(key) else {
            continue;
        };
        let value = std::str::from_utf8(value).map_err(|_| UeventError::NotUtf8(key.into()))?;
        let text = || Some(value.to_string());
        let number = |k: &'static str| {
            parse_decimal::<u32>(value).ok_or(UeventError::BadNumber {
                key: k,
                value: value.into(),
            })
        };
        match key {
            "ACTION" | "DEVPATH" => {
                let (seen, expected) = if key == "ACTION" {
                    (&mut seen_action, action)
                } else {
                    (&mut seen_devpath, devpath)
                };
                if std::mem::replace(seen, true) {
                    return Err(UeventError::Duplicate(key));
                }
                if value != expected {
                    return Err(UeventError::HeaderMismatch {
                        key,
                        value: value.into(),
                    });
                }
            }
            "SUBSYSTEM" => set_once(&mut ev.subsystem, key, text())?,
            "MAJOR" => set_once(&mut ev.major, key, Some(number(key)?))?,
            "MINOR" => set_once(&mut ev.minor, key, Some(number(key)?))?,
            "DEVNAME" => set_once(&mut ev.devname, key, text())?,
            "PARTN" => set_once(&mut ev.partn, key, Some(number(key)?))?,
            "PARTNAME" => set_once(&mut ev.partname, key, text())?,
            "MODALIAS" => set_once(&mut ev.modalias, key, text())?,
            "FIRMWARE" => set_once(&mut ev.firmware, key, text())?,
            _ => {
                let seq = parse_decimal::<u64>(value).ok_or(UeventError::BadNumber {
                    key,
                    value: value.into(),
                })?;
                set_once(&mut ev.seqnum, key, Some(seq))?;
            }
        }
    }
    if ev.major.is_some() != ev.minor.is_some() {
        return Err(UeventError::HalfDevice);
    }
    Ok(ev)
}

const KNOWN_KEYS: [&str; 11] = [
    "ACTION",
    "DEVPATH",
    "SUBSYSTEM",
    "MAJOR",
    "MINOR",
    "DEVNAME",
    "PARTN",
    "PARTNAME",
    "MODALIAS",
    "FIRMWARE",
    "SEQNUM",
];

fn known_key(key: &[u8]) -> Option<&'static str> {
    KNOWN_KEYS.iter().copied().find(|k| k.as_bytes() == key)
}

fn set_once<T>(
    slot: &mut Option<T>,
    key: &'static str,
    value: Option<T>,
) -> Result<(), UeventError> {
    if slot.is_some() {
        return Err(UeventError::Duplicate(key));
    }
    *slot = value;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(fields: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for f in fields {
            out.extend_from_slice(f.as_bytes());
            out.push(0);
        }
        out
    }

    const DISK: &[&str] = &[
        "add@/devices/pci0000:00/0000:00:04.0/virtio2/block/vda/vda1",
        "ACTION=add",
        "DEVPATH=/devices/pci0000:00/0000:00:04.0/virtio2/block/vda/vda1",
        "SUBSYSTEM=block",
        "MAJOR=254",
        "MINOR=1",
        "DEVNAME=vda1",
        "DEVTYPE=partition",
        "DISKSEQ=2",
        "PARTN=1",
        "PARTNAME=microdroid-vendor",
        "SEQNUM=1234",
    ];

    #[test]
    fn parses_a_partition_event() {
        let ev = parse_uevent(&msg(DISK)).unwrap();
        assert_eq!(ev.action, UeventAction::Add);
        assert_eq!(ev.devpath_basename(), "vda1");
        assert_eq!(ev.subsystem.as_deref(), Some("block"));
        assert_eq!(ev.device_numbers(), Some((254, 1)));
        assert_eq!(ev.devname.as_deref(), Some("vda1"));
        assert_eq!(ev.partn, Some(1));
        assert_eq!(ev.partname.as_deref(), Some("microdroid-vendor"));
        assert_eq!(ev.seqnum, Some(1234));
        assert_eq!(parse_uevent(&ev.to_message()).unwrap(), ev);
    }

    #[test]
    fn rejects_malformed_messages() {
        let cases: Vec<(Vec<u8>, UeventError)> = vec![
            (vec![], UeventError::Empty),
            (b"add@/devices/x".to_vec(), UeventError::NotNulTerminated),
            (
                msg(&["ACTION=add"]),
                UeventError::BadHeader("ACTION=add".into()),
            ),
            (
                msg(&["@/devices/x"]),
                UeventError::BadHeader("@/devices/x".into()),
            ),
            (msg(&["add@"]), UeventError::BadHeader("add@".into())),
            (
                msg(&["frob@/devices/x"]),
                UeventError::UnknownAction("frob".into()),
            ),
            (
                msg(&["add@devices/x"]),
                UeventError::BadDevpath("devices/x".into()),
            ),
            (
                msg(&["add@/devices/../x"]),
                UeventError::BadDevpath("/devices/../x".into()),
            ),
            (
                msg(&["add@/devices//x"]),
                UeventError::BadDevpath("/devices//x".into()),
            ),
            (
                msg(&["add@/d", "NOEQUALS"]),
                UeventError::NoEquals("NOEQUALS".into()),
            ),
            (
                msg(&["add@/d", "MAJOR=1", "MAJOR=1", "MINOR=0"]),
                UeventError::Duplicate("MAJOR"),
            ),
            (
                msg(&["add@/d", "ACTION=add", "ACTION=add"]),
                UeventError::Duplicate("ACTION"),
            ),
            (
                msg(&["add@/d", "ACTION=remove"]),
                UeventError::HeaderMismatch {
                    key: "ACTION",
                    value: "remove".into(),
                },
            ),
            (
                msg(&["add@/d", "DEVPATH=/e"]),
                UeventError::HeaderMismatch {
                    key: "DEVPATH",
                    value: "/e".into(),
                },
            ),
            (
                msg(&["add@/d", "MAJOR=x1", "MINOR=0"]),
                UeventError::BadNumber {
                    key: "MAJOR",
                    value: "x1".into(),
                },
            ),
            (
                msg(&["add@/d", "MAJOR=-1", "MINOR=0"]),
                UeventError::BadNumber {
                    key: "MAJOR",
                    value: "-1".into(),
                },
            ),
            (
                msg(&["add@/d", "MAJOR=4294967296", "MINOR=0"]),
                UeventError::BadNumber {
                    key: "MAJOR",
                    value: "4294967296".into(),
                },
            ),
            (
                msg(&["add@/d", "SEQNUM="]),
                UeventError::BadNumber {
                    key: "SEQNUM",
                    value: "".into(),
                },
            ),
            (msg(&["add@/d", "MAJOR=1"]), UeventError::HalfDevice),
        ];
        for (m, want) in cases {
            assert_eq!(
                parse_uevent(&m),
                Err(want),
                "{:?}",
                String::from_utf8_lossy(&m)
            );
        }
    }

    #[test]
    fn non_utf8() {
        let mut m = b"add@/d\0DEVNAME=\xff\xfe\0".to_vec();
        assert_eq!(
            parse_uevent(&m),
            Err(UeventError::NotUtf8("DEVNAME".into()))
        );
        m = b"add@/d\xff\0".to_vec();
        assert!(matches!(parse_uevent(&m), Err(UeventError::BadHeader(_))));
        // Unknown keys are not inspected.
        m = b"add@/d\0X_ID=\xff\0".to_vec();
        assert!(parse_uevent(&m).is_ok());
    }

    #[test]
    fn size_limit() {
        let mut m = msg(&["add@/d"]);
        m.resize(UEVENT_MSG_MAX - 1, 0);
        assert!(parse_uevent(&m).is_ok());
        m.push(0);
        assert!(matches!(
            parse_uevent(&m),
            Err(UeventError::TooLarge { .. })
        ));
    }

    #[test]
    fn libudev_messages_are_rejected() {
        let m = b"libudev\0\xfe\xed\xca\xfe\0".to_vec();
        assert!(parse_uevent(&m).is_err());
    }
}
