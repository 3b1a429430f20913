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

fn dtb_err(e: impl std::fmt::Display) -> Error {
    Error::Dtb(e.to_string())
}

fn convert(node: fdt::node::FdtNode<'_, '_>, depth: usize) -> Result<Node> {
    if depth > 64 {
        return Err(Error::Dtb("nodes nested deeper than 64".into()));
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

    /// Serializes with vm-fdt.
    pub fn to_dtb(&self) -> Result<Vec<u8>> {
        let reservations = self
            .reservations
            .iter()
            .map(|&(a, s)| vm_fdt::FdtReserveEntry::new(a, s))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(dtb_err)?;
        let mut w = vm_fdt::FdtWriter::new_with_mem_reserv(&reservations).map_err(dtb_err)?;
        w.set_boot_cpuid_phys(self.boot_cpuid_phys);
        fn write(w: &mut vm_fdt::FdtWriter, n: &Node) -> Result<()> {
            let h = w
                .begin_node(&n.name)
                .map_err(|e| dtb_err(format!("node {:?}: {e}", n.name)))?;
            for (name, value) in &n.properties {
                w.property(name, value)
                    .map_err(|e| dtb_err(format!("property {name:?} of {:?}: {e}", n.name)))?;
            }
            for c in &n.children {
                write(w, c)?;
            }
            w.end_node(h).map_err(dtb_err)
        }
        write(&mut w, &self.root)?;
        w.finish().map_err(dtb_err)
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
