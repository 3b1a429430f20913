//! Kernel modules for a vendor partition: [`vendor_modules`] copies named modules of the
//! test kernel, with their dependency closure, into `lib/modules/` of a
//! [`VendorTree`], flat, with an Android-form `modules.dep` (paths relative to the
//! directory) and a `modules.load` listing the closure in load order. The first stage
//! loads that list in its `vendor_modules` phase, before ueventd's coldboot.
//!
//! The closure and the file layout are exactly those of the initramfs's first-stage
//! modules ([`initramfs::add_kernel_modules`]), so both passes read the same format.

use initramfs::{Archive, Entry};

use crate::error::HarnessError;
use crate::kernel::Kernel;
use crate::scenario::VendorTree;

/// Where the modules go inside the vendor partition.
pub const VENDOR_MODULES_DIR: &str = "lib/modules";

/// Copies the modules `names` (module names as `modprobe` takes them, e.g. `zram`) and
/// everything they depend on from `kernel`'s module tree into `tree`'s
/// [`VENDOR_MODULES_DIR`], writing `modules.dep` and `modules.load` there. Returns the
/// modules copied, in load order (dependencies first). A name the kernel does not have
/// as a module (built in, or unknown) is an error, so a test never silently loses a
/// device it relies on.
pub fn vendor_modules(
    tree: &mut VendorTree,
    kernel: &Kernel,
    names: &[&str],
) -> Result<Vec<String>, HarnessError> {
    let mut scratch = Archive::new();
    let added = initramfs::add_kernel_modules(&mut scratch, &kernel.modules_dir(), names, "/m")
        .map_err(|e| HarnessError::Missing(format!("vendor modules {names:?}: {e}")))?;
    if !added.builtin.is_empty() {
        return Err(HarnessError::Missing(format!(
            "vendor modules: {:?} are built into {}, not modules",
            added.builtin, kernel.release
        )));
    }
    for (path, entry) in scratch.entries() {
        let Some(name) = path.strip_prefix("m/") else {
            continue;
        };
        if let Entry::File { mode, data } = entry {
            tree.file(&format!("{VENDOR_MODULES_DIR}/{name}"), *mode, data)?;
        }
    }
    Ok(added.modules)
}
