//! `cargo xtask boot --vendor-image IMG`: a user's vendor image booted in the VM the tests
//! use (the aarch64 Debian kernel, the shipped initramfs and SELinux policy, a GPT disk
//! and a DTB with the image's digest made on the fly; under strict boot Linux's open-dice
//! driver over AOSP's sample handover, as in the demo), with `vendor_image explain`'s
//! prediction for the same inputs beside what the guest did.

use std::path::PathBuf;

use vendor_image::explain;

use crate::console::BootLog;
use crate::error::HarnessError;
use crate::scenario::Guest;
use crate::{guest, opendice, Arch};

/// How to boot the image.
#[derive(Debug, Clone, Default)]
pub struct BootImage {
    /// The vendor partition image.
    pub image: PathBuf,
    /// Strict boot (`/chosen/avf,strict-boot`, the open-dice driver).
    pub strict: bool,
    /// `androidboot.microdroid.debuggable=1` on the command line (which a strict boot
    /// does not take from there, as AOSP).
    pub debuggable: bool,
    /// The DT digest value (default: the image's verified root digest).
    pub digest: Option<String>,
}

/// What the boot showed, and what explain said.
pub struct Booted {
    /// The guest's console.
    pub log: BootLog,
    /// The prediction.
    pub explanation: explain::Explanation,
    /// explain's fatal line (or none) is the guest's.
    pub agree: bool,
}

/// The guest for `b`: the shipped initramfs (no test probes), the image on a GPT disk, its
/// digest in the DTB with the vendor request on the command line, a power-off when boot
/// completes.
pub fn guest(b: &BootImage) -> Result<Guest, HarnessError> {
    let arch = Arch::Aarch64;
    let mut g = Guest::new(arch)?;
    g.initramfs = guest::base_initramfs(arch, &g.kernel)?;
    if b.strict {
        let handover = dice_vendor::sample_handover()
            .map_err(|e| HarnessError::Missing(format!("sample handover: {e}")))?;
        opendice::install(&mut g, &handover)?;
        g.strict_boot();
    }
    let digest = match &b.digest {
        Some(d) => d.clone(),
        None => {
            vendor_image::read_vendor_image(&b.image, vendor_image::DEFAULT_PARTITION_NAME)
                .map_err(|e| {
                    HarnessError::Missing(format!(
                        "{}: {e} (give the device tree's value with --digest)",
                        b.image.display()
                    ))
                })?
                .root_digest_hex
        }
    };
    g.attach_vendor(&b.image)?;
    g.vendor_digest(digest.as_bytes());
    if b.debuggable {
        g.append.push(format!("{}=1", boot_config::DEBUGGABLE_KEY));
    }
    g.shutdown_when_booted()?;
    Ok(g)
}

/// Boots `b` with the console echoed, then runs explain on the same inputs.
pub fn boot(b: &BootImage) -> Result<Booted, HarnessError> {
    let mut g = guest(b)?;
    g.echo = true;
    let log = g.boot()?;
    let explanation = crate::explain::predict(&g, Some(&b.image))?;
    let agree = explanation.fatal_line().as_deref() == log.fatal();
    Ok(Booted {
        log,
        explanation,
        agree,
    })
}

/// The guest's outcome in one line.
pub fn outcome(log: &BootLog) -> String {
    if let Some(f) = log.fatal() {
        return f.to_owned();
    }
    if let Some(f) = log.init_fatal() {
        return f.to_owned();
    }
    if log.restarted() {
        return "the kernel restarted the VM (dm-verity corruption?)".to_owned();
    }
    if log.powered_off() {
        return "ok: boot completed, clean power-off".to_owned();
    }
    if log.kernel_panicked() {
        return "kernel panic".to_owned();
    }
    "no outcome before the deadline".to_owned()
}
