//! The two device-tree values the guest reads, taken from a DTB as Linux shows them under
//! `/proc/device-tree`: the expected digest (a property; a *node* of that name is a
//! directory there, whose read fails with `EISDIR`) and the strict-boot flag.

use boot_config::{DtProperty, MAX_DT_VALUE, STRICT_BOOT_PROP, VENDOR_DIGEST_PROP};

use crate::dtb::DeviceTree;
use crate::error::Result;

/// The last component of a `device-tree/…` path.
fn leaf(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The first bytes of a value as the guest reads it (at most [`MAX_DT_VALUE`] + 1).
pub fn bounded(v: &[u8]) -> Vec<u8> {
    let max = usize::try_from(MAX_DT_VALUE.saturating_add(1)).unwrap_or(usize::MAX);
    v[..v.len().min(max)].to_vec()
}

/// `(strict boot, the digest property)` from a DTB.
pub fn read_dtb(bytes: &[u8]) -> Result<(bool, DtProperty)> {
    let t = DeviceTree::parse(bytes)?;
    let strict = t.node("/chosen").is_some_and(|n| {
        n.properties
            .iter()
            .any(|(k, _)| k == leaf(STRICT_BOOT_PROP))
    });
    let name = leaf(VENDOR_DIGEST_PROP);
    let digest = match t.node("/avf") {
        None => DtProperty::Absent,
        Some(avf) => match avf.properties.iter().find(|(k, _)| k == name) {
            Some((_, v)) => DtProperty::Present(bounded(v)),
            None if avf.children.iter().any(|c| c.name == name) => {
                let e = std::io::Error::from_raw_os_error(libc::EISDIR);
                DtProperty::Unreadable {
                    errno: libc::EISDIR,
                    error: e.to_string(),
                }
            }
            None => DtProperty::Absent,
        },
    };
    Ok((strict, digest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtb::{with_properties, Node};

    /// A small valid DTB to start from: a root with `/chosen`.
    fn base() -> Vec<u8> {
        let chosen = Node {
            name: "chosen".into(),
            properties: vec![("bootargs".into(), b"console=ttyAMA0\0".to_vec())],
            children: Vec::new(),
        };
        DeviceTree {
            boot_cpuid_phys: 0,
            reservations: Vec::new(),
            root: Node {
                name: String::new(),
                properties: vec![("#address-cells".into(), 2u32.to_be_bytes().to_vec())],
                children: vec![chosen],
            },
        }
        .to_dtb()
        .unwrap()
    }

    #[test]
    fn reads_digest_flag_and_a_node_in_the_digests_place() {
        let b = base();
        assert_eq!(read_dtb(&b).unwrap(), (false, DtProperty::Absent));
        let d = with_properties(
            &b,
            &[
                ("/avf", name(), b"abcd"),
                ("/chosen", "avf,strict-boot", b""),
            ],
        )
        .unwrap();
        assert_eq!(
            read_dtb(&d).unwrap(),
            (true, DtProperty::Present(b"abcd".to_vec()))
        );
        let n =
            with_properties(&b, &[(&format!("/avf/{}", name()), "compatible", b"x\0")]).unwrap();
        let (_, p) = read_dtb(&n).unwrap();
        assert_eq!(
            p,
            DtProperty::Unreadable {
                errno: 21,
                error: "Is a directory (os error 21)".into()
            }
        );
        let big = vec![b'a'; 10_000];
        let d = with_properties(&b, &[("/avf", name(), &big)]).unwrap();
        assert_eq!(
            read_dtb(&d).unwrap().1,
            DtProperty::Present(vec![b'a'; 4097])
        );
        assert!(read_dtb(b"not a dtb").is_err());
    }

    fn name() -> &'static str {
        leaf(VENDOR_DIGEST_PROP)
    }
}
