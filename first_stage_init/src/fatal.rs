//! Fatal errors of the first stage: the one table of stable reason tokens, and the path
//! every fatal error takes (one `FIRST_STAGE_FATAL reason=<TOKEN> <detail>` line, sync,
//! power off). PID 1 never returns from here and never exits, so the kernel never sees
//! "Attempted to kill init".

use crate::{logger, sys};

macro_rules! reasons {
    ($($(#[doc = $doc:literal])* $variant:ident => $token:literal,)*) => {
        /// Why the first stage gave up. The token of each variant is part of our
        /// interface: tests, the README and users' log scrapers match on it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Reason {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Reason {
            /// Every reason, in declaration order (the README table mirrors it).
            pub const ALL: &'static [Reason] = &[$(Reason::$variant,)*];

            /// The stable upper-case token printed after `reason=`.
            pub fn token(self) -> &'static str {
                match self {
                    $(Reason::$variant => $token,)*
                }
            }

            /// The reason whose token is `token` (libraries report tokens as strings).
            pub fn from_token(token: &str) -> Option<Reason> {
                match token {
                    $($token => Some(Reason::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

reasons! {
    /// A Rust panic (the panic hook).
    Panic => "PANIC",
    /// An early mount (`/proc`, `/sys`, `/dev`, …) failed.
    EarlyMount => "EARLY_MOUNT",
    /// The second stage could not be executed.
    SecondStageExec => "SECOND_STAGE_EXEC",
    /// A first-stage kernel module failed to load on a normal boot, or on any boot that
    /// needs it to reach the vendor partition.
    ModuleLoad => "MODULE_LOAD",
    /// The expected vendor digest in the device tree is not well-formed.
    VendorDigestMalformed => "VENDOR_DIGEST_MALFORMED",
    /// The vendor hashtree root digest differs from the device tree's.
    VendorDigestMismatch => "VENDOR_DIGEST_MISMATCH",
    /// A vendor partition was requested but no expected digest was provided.
    VendorDigestMissing => "VENDOR_DIGEST_MISSING",
    /// The expected vendor digest exists in the device tree but cannot be read.
    VendorDigestUnreadable => "VENDOR_DIGEST_UNREADABLE",
    /// No block device carries the vendor partition name.
    VendorPartitionMissing => "VENDOR_PARTITION_MISSING",
    /// More than one block device carries the vendor partition name.
    VendorPartitionAmbiguous => "VENDOR_PARTITION_AMBIGUOUS",
    /// The vendor partition's footer/vbmeta is malformed or its signature is bad.
    VbmetaInvalid => "VBMETA_INVALID",
    /// The vendor vbmeta is not signed.
    VbmetaUnsigned => "VBMETA_UNSIGNED",
    /// The dm-verity device could not be created.
    DmVeritySetup => "DM_VERITY_SETUP",
    /// Mounting `/vendor` failed.
    VendorMount => "VENDOR_MOUNT",
    /// Strict boot and no DICE driver.
    DiceDriverMissing => "DICE_DRIVER_MISSING",
    /// The parent DICE handover could not be parsed.
    DiceHandoverInvalid => "DICE_HANDOVER_INVALID",
    /// Deriving the vendor DICE node failed.
    DiceDerive => "DICE_DERIVE",
    /// Writing `dice_chain.raw` failed.
    DiceOutput => "DICE_OUTPUT",
    /// A present SELinux policy could not be loaded.
    SelinuxPolicyLoad => "SELINUX_POLICY_LOAD",
    /// The initramfs has no SELinux policy (every boot needs one).
    SelinuxPolicyMissing => "SELINUX_POLICY_MISSING",
}

/// A fatal error: the reason and a one-line detail (never a secret).
#[derive(Debug, thiserror::Error)]
#[error("reason={} {detail}", reason.token())]
pub struct Fatal {
    /// The stable reason.
    pub reason: Reason,
    /// Human-readable detail, on one line.
    pub detail: String,
}

impl Fatal {
    /// Builds a fatal error.
    pub fn new(reason: Reason, detail: impl Into<String>) -> Fatal {
        Fatal {
            reason,
            detail: detail.into(),
        }
    }
}

/// The line printed for a fatal error (newlines in the detail are flattened so the reason
/// stays greppable on one line).
pub fn fatal_line(f: &Fatal) -> String {
    let detail: String = f
        .detail
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    format!("FIRST_STAGE_FATAL reason={} {detail}", f.reason.token())
}

/// Prints the fatal line, syncs and powers off. Never returns.
pub fn die(f: &Fatal) -> ! {
    logger::emergency_line(&fatal_line(f));
    sys::sync();
    let err = sys::power_off();
    logger::emergency_line(&format!("first_stage: power off failed: {err}; halting"));
    sys::halt_forever()
}

/// Installs the panic hook that turns any panic into `reason=PANIC` and a power-off.
/// (The release profile aborts on panic; the hook runs first and never returns.)
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        die(&Fatal::new(Reason::Panic, info.to_string()));
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_upper_case_words() {
        let mut seen = std::collections::BTreeSet::new();
        for r in Reason::ALL {
            let t = r.token();
            assert!(t.chars().all(|c| c.is_ascii_uppercase() || c == '_'), "{t}");
            assert!(seen.insert(t), "duplicate token {t}");
        }
    }

    #[test]
    fn library_tokens_map_to_reasons() {
        for r in Reason::ALL {
            assert_eq!(Reason::from_token(r.token()), Some(*r));
        }
        for t in [
            avb::REASON_VBMETA_INVALID,
            avb::REASON_VBMETA_UNSIGNED,
            avb::REASON_VENDOR_DIGEST_MALFORMED,
            "DICE_DRIVER_MISSING",
            "DICE_HANDOVER_INVALID",
            "DICE_DERIVE",
            "DICE_OUTPUT",
        ] {
            assert!(Reason::from_token(t).is_some(), "{t}");
        }
    }

    #[test]
    fn fatal_line_is_one_line() {
        let f = Fatal::new(Reason::VendorDigestMismatch, "expected=ab\nactual=cd");
        assert_eq!(
            fatal_line(&f),
            "FIRST_STAGE_FATAL reason=VENDOR_DIGEST_MISMATCH expected=ab actual=cd"
        );
    }
}
