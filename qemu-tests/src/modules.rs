//! Kernel modules for a vendor partition. [`vendor_modules`] copies named modules of the
//! test kernel, with their dependency closure, into `lib/modules/` of a
//! [`VendorTree`], flat, with an Android-form `modules.dep` (file names relative to the
//! directory) and a `modules.load` listing the closure in load order: the first stage
//! loads that list in its `vendor_modules` phase, before ueventd's coldboot.
//! [`add_vendor_modules`] can also ship modules that are *not* in `modules.load`, with
//! their `modules.alias` lines, for ueventd's `modalias_handling` to load on demand.
//!
//! The closure and the file layout are those of the initramfs's first-stage modules
//! ([`initramfs::add_kernel_modules`]), so both passes read the same format.

use std::collections::BTreeSet;
use std::fs;

use initramfs::{Archive, Entry};

use crate::error::{io, HarnessError};
use crate::kernel::Kernel;
use crate::scenario::VendorTree;

/// Where the modules go inside the vendor partition.
pub const VENDOR_MODULES_DIR: &str = "lib/modules";

/// What [`add_vendor_modules`] put in the tree (canonical names, `_` not `-`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorModules {
    /// The modules `modules.load` lists, in load order (dependencies first).
    pub loaded: Vec<String>,
    /// Every module copied (the loaded ones and the on-demand closure), sorted.
    pub copied: Vec<String>,
    /// The `modules.alias` lines written (those of the copied modules).
    pub aliases: usize,
}

/// Copies the modules `names` (as `modprobe` takes them, e.g. `zram`) and everything they
/// depend on into `tree`'s [`VENDOR_MODULES_DIR`], all listed in `modules.load`. Returns
/// the modules in load order. See [`add_vendor_modules`].
pub fn vendor_modules(
    tree: &mut VendorTree,
    kernel: &Kernel,
    names: &[&str],
) -> Result<Vec<String>, HarnessError> {
    add_vendor_modules(tree, kernel, names, &[]).map(|m| m.loaded)
}

/// Copies `load` and `on_demand` (with their dependency closures) from `kernel`'s module
/// tree into `tree`'s [`VENDOR_MODULES_DIR`]: `modules.dep` covers every copied module,
/// `modules.load` only the closure of `load`, and `modules.alias` holds the kernel's
/// alias lines of the copied modules (so ueventd's `modalias_handling` can load an
/// `on_demand` module when its device appears). A name the kernel does not have as a
/// module (built in, or unknown) is an error, so a test never silently loses a device
/// it relies on.
pub fn add_vendor_modules(
    tree: &mut VendorTree,
    kernel: &Kernel,
    load: &[&str],
    on_demand: &[&str],
) -> Result<VendorModules, HarnessError> {
    let dir = kernel.modules_dir();
    let closure = |names: &[&str]| -> Result<(Archive, Vec<String>), HarnessError> {
        let mut a = Archive::new();
        let added = initramfs::add_kernel_modules(&mut a, &dir, names, "/m")
            .map_err(|e| HarnessError::Missing(format!("vendor modules {names:?}: {e}")))?;
        if !added.builtin.is_empty() {
            return Err(HarnessError::Missing(format!(
                "vendor modules: {:?} are built into {}, not modules",
                added.builtin, kernel.release
            )));
        }
        Ok((a, added.modules))
    };
    let all: Vec<&str> = load.iter().chain(on_demand).copied().collect();
    let (files, copied) = closure(&all)?;
    let (load_list, loaded) = if load.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        let (a, names) = closure(load)?;
        match a.get("m/modules.load") {
            Some(Entry::File { data, .. }) => (data.clone(), names),
            _ => {
                return Err(HarnessError::Missing(
                    "vendor modules: no modules.load".into(),
                ))
            }
        }
    };
    for (path, entry) in files.entries() {
        match (path.strip_prefix("m/"), entry) {
            (Some("modules.load"), _) => {}
            (Some(name), Entry::File { mode, data }) => {
                tree.file(&format!("{VENDOR_MODULES_DIR}/{name}"), *mode, data)?
            }
            _ => {}
        }
    }
    tree.file(
        &format!("{VENDOR_MODULES_DIR}/modules.load"),
        0o644,
        &load_list,
    )?;
    let copied_set: BTreeSet<String> = copied.iter().cloned().collect();
    let alias_path = dir.join("modules.alias");
    let text =
        fs::read_to_string(&alias_path).map_err(io(format!("read {}", alias_path.display())))?;
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| {
            let mut words = l.split_whitespace();
            words.next() == Some("alias")
                && words
                    .nth(1)
                    .is_some_and(|m| copied_set.contains(&m.replace('-', "_")))
        })
        .collect();
    let mut alias = lines.join("\n");
    if !alias.is_empty() {
        alias.push('\n');
    }
    tree.file(
        &format!("{VENDOR_MODULES_DIR}/modules.alias"),
        0o644,
        alias.as_bytes(),
    )?;
    Ok(VendorModules {
        loaded,
        copied: copied_set.into_iter().collect(),
        aliases: lines.len(),
    })
}

/// Copies `names` and their dependency closure into `tree` in depmod's layout,
/// `lib/modules/<release>/kernel/…`, runs the host's `depmod -b` over it (so kmod's
/// `modprobe -d /vendor` finds its `.bin` indexes) and writes a `modules.load` of the
/// closure in load order. Both our loader and kmod read this layout; the benchmarks use
/// it so the two load exactly the same files. Returns the modules in load order.
pub fn vendor_modules_depmod(
    tree: &mut VendorTree,
    kernel: &Kernel,
    names: &[&str],
) -> Result<Vec<String>, HarnessError> {
    let src = kernel.modules_dir();
    let db = modprobe::ModuleDb::load(&src)
        .map_err(|e| HarnessError::Missing(format!("{}: {e}", src.display())))?;
    let plan = db
        .plan(names, &modprobe::PlanOptions::default())
        .map_err(|e| HarnessError::Missing(format!("plan {names:?}: {e}")))?;
    if !plan.unresolved.is_empty() || !plan.builtin.is_empty() {
        return Err(HarnessError::Missing(format!(
            "vendor modules: unresolved {:?}, built in {:?}",
            plan.unresolved, plan.builtin
        )));
    }
    let rel = format!("lib/modules/{}", kernel.release);
    let mut load = String::new();
    for m in &plan.modules {
        let inside = m
            .path
            .strip_prefix(&src)
            .map_err(|_| HarnessError::Missing(format!("{} outside the tree", m.path.display())))?;
        tree.copy(&format!("{rel}/{}", inside.display()), 0o644, &m.path)?;
        load.push_str(&format!(
            "{}\n",
            inside
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        ));
    }
    for f in [
        "modules.builtin",
        "modules.builtin.modinfo",
        "modules.order",
    ] {
        let p = src.join(f);
        if p.exists() {
            tree.copy(&format!("{rel}/{f}"), 0o644, &p)?;
        }
    }
    crate::error::run(
        std::process::Command::new("depmod")
            .arg("-b")
            .arg(tree.path())
            .arg(&kernel.release),
    )?;
    tree.file(&format!("{rel}/modules.load"), 0o644, load.as_bytes())?;
    Ok(plan.modules.iter().map(|m| m.name.clone()).collect())
}
