//! First-stage kernel modules in the initramfs, laid out as an Android ramdisk does:
//! the `.ko` files flat in `/lib/modules`, an Android-form `modules.dep`
//! (`a.ko: b.ko c.ko`, dependency lists in depmod's order) and a `modules.load` listing
//! every module in load order. The dependency closure is computed by the `modprobe`
//! crate from a kernel's `/lib/modules/<release>` tree, so the guest loads exactly what
//! its own loader would resolve.

use std::fs;
use std::path::Path;

use modprobe::{ModuleDb, PlanOptions};

use crate::archive::{Archive, ArchiveError};

/// What was added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddedModules {
    /// Canonical module names in load order.
    pub modules: Vec<String>,
    /// Requested names that are built into this kernel (nothing to add).
    pub builtin: Vec<String>,
}

/// Errors adding modules.
#[derive(Debug, thiserror::Error)]
pub enum ModulesError {
    /// The module tree could not be read or a name could not be planned.
    #[error("module tree {dir}: {message}")]
    Tree {
        /// The tree.
        dir: String,
        /// What went wrong.
        message: String,
    },
    /// Adding to the archive failed.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Adds `names` and their dependencies from the kernel module tree `tree`
/// (`lib/modules/<release>`, with `modules.dep`) under `dest` (normally `/lib/modules`).
pub fn add_kernel_modules(
    a: &mut Archive,
    tree: &Path,
    names: &[&str],
    dest: &str,
) -> Result<AddedModules, ModulesError> {
    let err = |message: String| ModulesError::Tree {
        dir: tree.display().to_string(),
        message,
    };
    let db = ModuleDb::load(tree).map_err(|e| err(e.to_string()))?;
    let plan = db
        .plan(names, &PlanOptions::default())
        .map_err(|e| err(e.to_string()))?;
    if !plan.unresolved.is_empty() {
        return Err(err(format!(
            "no such module: {}",
            plan.unresolved.join(", ")
        )));
    }
    let dest = dest.trim_end_matches('/');
    let mut dep_lines = String::new();
    let mut load = String::new();
    for m in &plan.modules {
        let ko = file_name(&m.path);
        let data = fs::read(&m.path).map_err(|e| err(format!("{}: {e}", m.path.display())))?;
        a.add_file(&format!("{dest}/{ko}"), 0o644, data)?;
        let deps: Vec<String> = db
            .module(&m.name)
            .map(|info| {
                info.deps
                    .iter()
                    .filter_map(|d| db.module(d))
                    .map(|d| file_name(&d.path))
                    .collect()
            })
            .unwrap_or_default();
        dep_lines.push_str(&format!("{ko}:"));
        for d in deps {
            dep_lines.push(' ');
            dep_lines.push_str(&d);
        }
        dep_lines.push('\n');
        load.push_str(&ko);
        load.push('\n');
    }
    a.add_file(
        &format!("{dest}/modules.dep"),
        0o644,
        dep_lines.into_bytes(),
    )?;
    a.add_file(&format!("{dest}/modules.load"), 0o644, load.into_bytes())?;
    Ok(AddedModules {
        modules: plan.modules.iter().map(|m| m.name.clone()).collect(),
        builtin: plan.builtin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::Entry;

    fn tree() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let k = d.path().join("kernel/drivers");
        fs::create_dir_all(&k).unwrap();
        for m in ["virtio.ko", "virtio_ring.ko", "virtio_blk.ko", "other.ko"] {
            fs::write(k.join(m), m).unwrap();
        }
        fs::write(
            d.path().join("modules.dep"),
            "kernel/drivers/virtio_ring.ko:\n\
             kernel/drivers/virtio.ko: kernel/drivers/virtio_ring.ko\n\
             kernel/drivers/virtio_blk.ko: kernel/drivers/virtio.ko kernel/drivers/virtio_ring.ko\n\
             kernel/drivers/other.ko:\n",
        )
        .unwrap();
        d
    }

    #[test]
    fn closure_flat_layout_and_lists() {
        let t = tree();
        let mut a = Archive::new();
        let added = add_kernel_modules(&mut a, t.path(), &["virtio-blk"], "/lib/modules").unwrap();
        assert_eq!(added.modules, ["virtio_ring", "virtio", "virtio_blk"]);
        let text = |p: &str| match a.get(p) {
            Some(Entry::File { data, .. }) => String::from_utf8(data.clone()).unwrap(),
            other => panic!("{p}: {other:?}"),
        };
        assert_eq!(
            text("/lib/modules/modules.load"),
            "virtio_ring.ko\nvirtio.ko\nvirtio_blk.ko\n"
        );
        assert_eq!(
            text("/lib/modules/modules.dep"),
            "virtio_ring.ko:\nvirtio.ko: virtio_ring.ko\nvirtio_blk.ko: virtio.ko virtio_ring.ko\n"
        );
        assert_eq!(text("/lib/modules/virtio.ko"), "virtio.ko");
        assert!(a.get("/lib/modules/other.ko").is_none());
    }

    #[test]
    fn unknown_module_is_an_error() {
        let t = tree();
        let mut a = Archive::new();
        let e = add_kernel_modules(&mut a, t.path(), &["nope"], "/lib/modules").unwrap_err();
        assert!(e.to_string().contains("no such module: nope"), "{e}");
    }
}
