//! Device trees for the guest: parse a QEMU-dumped DTB (`-machine dumpdtb=`) with the
//! `fdt` crate, rewrite it with `vm-fdt` — every node and property in order, phandles
//! (ordinary properties), memory reservations and `boot_cpuid_phys` preserved — and
//! add what AVF's host adds: `/avf/vendor_hashtree_descriptor_root_digest` (lowercase
//! hex, no NUL) and the empty `/chosen/avf,strict-boot`.

use crate::error::{Error, Result};

/// Node holding the AVF properties.
pub const AVF_NODE: &str = "/avf";
/// The expected vendor root digest property.
pub const DIGEST_PROPERTY: &str = "vendor_hashtree_descriptor_root_digest";
/// Node of the strict-boot flag.
pub const CHOSEN_NODE: &str = "/chosen";
/// The strict-boot flag (empty property).
pub const STRICT_BOOT_PROPERTY: &str = "avf,strict-boot";

/// One device-tree node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Node name with unit address (`memory@40000000`); empty for the root.
    pub name: String,
    /// Properties in order.
    pub properties: Vec<(String, Vec<u8>)>,
    /// Child nodes in order.
    pub children: Vec<Node>,
}

/// A whole device tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceTree {
    /// Header `boot_cpuid_phys`.
    pub boot_cpuid_phys: u32,
    /// Memory reservations (address, size).
    pub reservations: Vec<(u64, u64)>,
    /// The root node.
    pub root: Node,
}

const FDT_MAGIC: u32 = 0xd00d_feed;
const FDT_VERSION: u32 = 17;
const FDT_LAST_COMP_VERSION: u32 = 16;
const FDT_BEGIN_NODE: u32 = 1;
const FDT_END_NODE: u32 = 2;
const FDT_PROP: u32 = 3;
const FDT_END: u32 = 9;
/// Header size; the reservation block follows it (8-byte aligned).
const HEADER_LEN: usize = 40;
/// Maximum node depth (Linux's limit).
const MAX_DEPTH: usize = 64;

fn dtb_err(e: impl std::fmt::Display) -> Error {
    Error::Dtb(e.to_string())
}

fn pad4(v: &mut Vec<u8>) {
    while !v.len().is_multiple_of(4) {
        v.push(0);
    }
}

fn write_node(
    n: &Node,
    depth: usize,
    out: &mut Vec<u8>,
    strings: &mut Vec<u8>,
    offsets: &mut std::collections::HashMap<String, u32>,
) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(Error::Dtb(format!("nodes nested deeper than {MAX_DEPTH}")));
    }
    let bad_name = if depth == 0 {
        !n.name.is_empty()
    } else {
        n.name.is_empty() || n.name.contains(['/', '\0'])
    };
    if bad_name {
        return Err(Error::Dtb(format!("invalid node name {:?}", n.name)));
    }
    out.extend_from_slice(&FDT_BEGIN_NODE.to_be_bytes());
    out.extend_from_slice(n.name.as_bytes());
    out.push(0);
    pad4(out);
    for (name, value) in &n.properties {
        if name.is_empty() || name.contains('\0') {
            return Err(Error::Dtb(format!(
                "invalid property name {name:?} in {:?}",
                n.name
            )));
        }
        let off = match offsets.get(name) {
            Some(&o) => o,
            None => {
                let o = u32::try_from(strings.len())
                    .map_err(|_| Error::Dtb("strings block too large".into()))?;
                strings.extend_from_slice(name.as_bytes());
                strings.push(0);
                offsets.insert(name.clone(), o);
                o
            }
        };
        let len = u32::try_from(value.len())
            .map_err(|_| Error::Dtb(format!("property {name:?} too large")))?;
        out.extend_from_slice(&FDT_PROP.to_be_bytes());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&off.to_be_bytes());
        out.extend_from_slice(value);
        pad4(out);
    }
    for c in &n.children {
        write_node(c, depth + 1, out, strings, offsets)?;
    }
    out.extend_from_slice(&FDT_END_NODE.to_be_bytes());
    Ok(())
}

fn convert(node: fdt::node::FdtNode<'_, '_>, depth: usize) -> Result<Node> {
    if depth > MAX_DEPTH {
        return Err(Error::Dtb(format!("nodes nested deeper than {MAX_DEPTH}")));
    }
    let name = if depth == 0 {
        String::new()
    } else {
        node.name.to_string()
    };
    let properties = node
        .properties()
        .map(|p| (p.name.to_string(), p.value.to_vec()))
        .collect();
    let children = node
        .children()
        .map(|c| convert(c, depth + 1))
        .collect::<Result<_>>()?;
    Ok(Node {
        name,
        properties,
        children,
    })
}

impl DeviceTree {
    /// Parses a DTB. The `fdt` crate panics on some malformed blobs; such panics are
    /// caught and reported as errors (the host tool is built with unwinding).
    pub fn parse(dtb: &[u8]) -> Result<Self> {
        let parsed = std::panic::catch_unwind(|| -> Result<Self> {
            let fdt = fdt::Fdt::new(dtb).map_err(|e| dtb_err(format!("{e:?}")))?;
            let boot_cpuid_phys = dtb
                .get(28..32)
                .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
            let reservations = fdt
                .memory_reservations()
                .map(|r| (r.address() as usize as u64, r.size() as u64))
                .collect();
            let root = fdt
                .find_node("/")
                .ok_or_else(|| Error::Dtb("no root node".into()))?;
            Ok(DeviceTree {
                boot_cpuid_phys,
                reservations,
                root: convert(root, 0)?,
            })
        });
        parsed.unwrap_or_else(|_| Err(Error::Dtb("malformed device tree blob".into())))
    }

    /// Serializes as a version-17 FDT: header, memory reservation block, structure
    /// block, strings block (property names deduplicated).
    ///
    /// This is our own writer rather than `vm-fdt`: vm-fdt 0.3 refuses property names
    /// longer than 31 characters, and AVF's `vendor_hashtree_descriptor_root_digest` is 38.
    pub fn to_dtb(&self) -> Result<Vec<u8>> {
        let mut strings: Vec<u8> = Vec::new();
        let mut offsets: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
        let mut structure: Vec<u8> = Vec::new();
        write_node(&self.root, 0, &mut structure, &mut strings, &mut offsets)?;
        structure.extend_from_slice(&FDT_END.to_be_bytes());

        let off_mem_rsvmap = HEADER_LEN;
        let rsv_len = (self.reservations.len() + 1) * 16;
        let off_dt_struct = off_mem_rsvmap + rsv_len;
        let off_dt_strings = off_dt_struct + structure.len();
        let total = off_dt_strings + strings.len();
        let u32_of = |n: usize| {
            u32::try_from(n).map_err(|_| Error::Dtb("device tree larger than 4 GiB".into()))
        };
        let mut out = Vec::with_capacity(total);
        for v in [
            FDT_MAGIC,
            u32_of(total)?,
            u32_of(off_dt_struct)?,
            u32_of(off_dt_strings)?,
            u32_of(off_mem_rsvmap)?,
            FDT_VERSION,
            FDT_LAST_COMP_VERSION,
            self.boot_cpuid_phys,
            u32_of(strings.len())?,
            u32_of(structure.len())?,
        ] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        for &(addr, size) in self.reservations.iter().chain(std::iter::once(&(0, 0))) {
            out.extend_from_slice(&addr.to_be_bytes());
            out.extend_from_slice(&size.to_be_bytes());
        }
        out.extend_from_slice(&structure);
        out.extend_from_slice(&strings);
        Ok(out)
    }

    /// The node at `path` (`/`, `/chosen`, `/a/b`), if present.
    pub fn node(&self, path: &str) -> Option<&Node> {
        let mut n = &self.root;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            n = n.children.iter().find(|c| c.name == part)?;
        }
        Some(n)
    }

    /// Sets (replacing or appending) property `name` of the node at `path`, creating
    /// missing nodes at the end of their parent.
    pub fn set_property(&mut self, path: &str, name: &str, value: &[u8]) -> Result<()> {
        if !path.starts_with('/') {
            return Err(Error::Invalid(format!(
                "node path {path:?} must start with '/'"
            )));
        }
        let mut n = &mut self.root;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            let i = match n.children.iter().position(|c| c.name == part) {
                Some(i) => i,
                None => {
                    n.children.push(Node {
                        name: part.to_string(),
                        properties: Vec::new(),
                        children: Vec::new(),
                    });
                    n.children.len() - 1
                }
            };
            n = &mut n.children[i];
        }
        match n.properties.iter_mut().find(|(k, _)| k == name) {
            Some((_, v)) => *v = value.to_vec(),
            None => n.properties.push((name.to_string(), value.to_vec())),
        }
        Ok(())
    }
}

/// Copies `base_dtb` and sets each `(node path, property name, value)`.
pub fn with_properties(base_dtb: &[u8], props: &[(&str, &str, &[u8])]) -> Result<Vec<u8>> {
    let mut dt = DeviceTree::parse(base_dtb)?;
    for (path, name, value) in props {
        dt.set_property(path, name, value)?;
    }
    dt.to_dtb()
}

/// Like [`add_avf_node`] but writes `raw_value` verbatim (for adversarial tests: upper
/// case, short, non-hex, NUL-terminated values).
pub fn add_avf_node_raw(
    base_dtb: &[u8],
    raw_value: Option<&[u8]>,
    strict_boot: bool,
) -> Result<Vec<u8>> {
    let mut props: Vec<(&str, &str, &[u8])> = Vec::new();
    if let Some(v) = raw_value {
        props.push((AVF_NODE, DIGEST_PROPERTY, v));
    }
    if strict_boot {
        props.push((CHOSEN_NODE, STRICT_BOOT_PROPERTY, &[]));
    }
    with_properties(base_dtb, &props)
}

/// Copies `base_dtb`, adding `/avf/vendor_hashtree_descriptor_root_digest` = the digest
/// (checked to be what the guest accepts: 64 or 128 lowercase hex characters; written
/// without NUL) when given, and `/chosen/avf,strict-boot` when `strict_boot`.
pub fn add_avf_node(
    base_dtb: &[u8],
    root_digest_hex: Option<&str>,
    strict_boot: bool,
) -> Result<Vec<u8>> {
    if let Some(d) = root_digest_hex {
        avb::parse_expected_digest(d.as_bytes())
            .map_err(|e| Error::Invalid(format!("root digest {d:?}: {e}")))?;
    }
    add_avf_node_raw(base_dtb, root_digest_hex.map(str::as_bytes), strict_boot)
}
