//! `vendor_image explain` on a booted test guest's own inputs: the DTB the guest booted
//! with, its kernel command line, its initramfs's first-stage modules and its kernel's
//! module tree, so a boot test can check that the prediction is what the guest printed
//! (no extra boot).

use std::path::Path;

use initramfs::Entry;
use vendor_image::explain::{self, DigestSource, Explanation, Inputs, KernelTarget};

use crate::console::BootLog;
use crate::error::{io, HarnessError};
use crate::scenario::{Guest, AVF_NODE, DIGEST_PROPERTY};
use crate::vm::VmConfig;
use crate::Arch;

/// The guest's first-stage module directory (`/lib/modules` of its initramfs), written
/// under `dir`; returns its path.
pub fn first_stage_modules(g: &Guest, dir: &Path) -> Result<std::path::PathBuf, HarnessError> {
    let out = dir.join("lib/modules");
    std::fs::create_dir_all(&out).map_err(io(format!("mkdir {}", out.display())))?;
    for (path, e) in g.initramfs.entries() {
        let (Some(rel), Entry::File { data, .. }) = (path.strip_prefix("lib/modules/"), e) else {
            continue;
        };
        let p = out.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(io(format!("mkdir {}", parent.display())))?;
        }
        std::fs::write(&p, data).map_err(io(format!("write {}", p.display())))?;
    }
    Ok(out)
}

/// The inputs of the boot of `g` (call after [`Guest::boot`]: the DTB is the one written
/// for it) with the vendor partition image `image` (`None`: the guest has none).
pub fn inputs(g: &Guest, image: Option<&Path>, scratch: &Path) -> Result<Inputs, HarnessError> {
    let dtb = g.work.path().join("guest.dtb");
    let digest = if g.arch == Arch::Aarch64 && !g.dt.is_empty() && dtb.exists() {
        DigestSource::Dtb(dtb)
    } else {
        g.dt.iter()
            .find(|(n, p, _)| n == AVF_NODE && p == DIGEST_PROPERTY)
            .map_or(DigestSource::Absent, |(_, _, v)| {
                DigestSource::Value(v.clone())
            })
    };
    let mut vm = VmConfig::new(&g.kernel, Path::new("initramfs.img"));
    vm.append = g.append.clone();
    Ok(Inputs {
        image: image.map_or_else(|| scratch.join("no-vendor-image"), Path::to_path_buf),
        digest,
        cmdline: vm.cmdline(),
        bootconfig: String::new(),
        strict: false,
        kernel: Some(KernelTarget {
            release: g.kernel.release.clone(),
            modules_dir: g.kernel.modules_dir(),
        }),
        first_stage_modules: Some(first_stage_modules(g, scratch)?),
    })
}

/// Runs explain on the inputs of the boot of `g`.
pub fn predict(g: &Guest, image: Option<&Path>) -> Result<Explanation, HarnessError> {
    let scratch = tempfile::tempdir().map_err(io("explain scratch"))?;
    let i = inputs(g, image, scratch.path())?;
    explain::explain(&i).map_err(|e| HarnessError::Missing(format!("explain: {e}")))
}

/// Checks that explain's prediction for `g` is what the boot printed: the same
/// `FIRST_STAGE_FATAL` line byte for byte, or none; returns the prediction.
pub fn assert_predicted(g: &Guest, image: Option<&Path>, log: &BootLog) -> Explanation {
    let x = predict(g, image).unwrap_or_else(|e| panic!("{e}"));
    let predicted = x.fatal_line();
    assert_eq!(
        predicted.as_deref(),
        log.fatal(),
        "{}",
        log.report(&format!(
            "explain predicted {predicted:?}, the guest printed {:?}\n{}",
            log.fatal(),
            explain::to_text(&x)
        ))
    );
    eprintln!(
        "explain predicted the guest's line: {}",
        predicted.as_deref().unwrap_or("(none: ok)")
    );
    x
}

/// The lines explain predicts for the module passes (failures, skips, the counts before
/// the duration): how many, and those the guest did not log.
pub fn unlogged_module_lines(x: &Explanation, log: &BootLog) -> (usize, Vec<String>) {
    let mut n = 0;
    let mut missing = Vec::new();
    for m in x.first_stage.iter().chain(&x.modules) {
        let counts = m.counts.iter().map(|c| format!("{c} ms="));
        for want in m.problems.iter().cloned().chain(counts) {
            n += 1;
            if !log.lines().any(|l| l.contains(&want)) {
                missing.push(want);
            }
        }
    }
    (n, missing)
}

/// Checks that every line explain predicts for the module passes is one the guest
/// logged; returns how many.
pub fn assert_module_lines(x: &Explanation, log: &BootLog) -> usize {
    let (n, missing) = unlogged_module_lines(x, log);
    assert!(
        missing.is_empty(),
        "{}",
        log.report(&format!(
            "explain predicted {missing:#?}; the guest did not log them"
        ))
    );
    n
}
