//! Who may set which property through the socket. AOSP decides with SELinux
//! (`property_service.cpp` `CheckPermissions`: the property's context from
//! `property_contexts`, then `set_prop` rules per domain); this guest has no per-domain
//! property policy, so **Ours** is a small table by peer uid, modelled on what a Microdroid
//! guest's processes set (`system/sepolicy/microdroid/system/private/property_contexts`):
//!
//! - uid 0 may set any property except `init.svc.*` (only init publishes service states);
//! - any other uid may set only the names [`NON_ROOT_SETTABLE`] lists, and never `ctl.*`,
//!   `sys.powerctl` or `ro.*` (none of them is in the table).
//!
//! The checks run in AOSP's order and give AOSP's answers: an illegal name is
//! `PROP_ERROR_INVALID_NAME`; a refused `ctl.*` message is
//! `PROP_ERROR_HANDLE_CONTROL_MESSAGE`; anything else refused is
//! `PROP_ERROR_PERMISSION_DENIED`. The caller logs one line per refusal.

use crate::prop_proto::{
    PROP_ERROR_HANDLE_CONTROL_MESSAGE, PROP_ERROR_INVALID_NAME, PROP_ERROR_PERMISSION_DENIED,
};
use crate::property::is_legal_name;

/// How an allowlist entry matches a property name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// The name starts with the pattern (patterns end with `.`).
    Prefix,
    /// The name is the pattern.
    Exact,
}

/// One allowlist entry: what non-root peers may set, and who needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The name or prefix.
    pub pattern: &'static str,
    /// How it matches.
    pub kind: Match,
    /// Why it is here (the AOSP property context and its writers).
    pub why: &'static str,
}

/// What peers other than root may set (**Ours**, the whole table).
pub const NON_ROOT_SETTABLE: &[Rule] = &[
    Rule {
        pattern: "debug.",
        kind: Match::Prefix,
        why: "debug_prop: one of the three prefixes Microdroid's property_contexts keeps; \
              shell and apps set debug switches",
    },
    Rule {
        pattern: "vendor.",
        kind: Match::Prefix,
        why: "vendor_default_prop: the vendor partition's own daemons' properties",
    },
    Rule {
        pattern: "hwservicemanager.ready",
        kind: Match::Exact,
        why: "hwservicemanager_prop: set by hwservicemanager, which runs as system",
    },
    Rule {
        pattern: "service.adb.root",
        kind: Match::Exact,
        why: "shell_prop: set by adbd, which runs as shell",
    },
];

/// A refused set: the code to answer and the reason to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// The `PROP_ERROR_*` answer.
    pub code: u32,
    /// Why, for the log line.
    pub reason: String,
}

fn deny(code: u32, reason: impl Into<String>) -> Result<(), Denial> {
    Err(Denial {
        code,
        reason: reason.into(),
    })
}

/// True when a non-root peer may set `name`.
pub fn non_root_may_set(name: &str) -> bool {
    NON_ROOT_SETTABLE.iter().any(|r| match r.kind {
        Match::Prefix => name.starts_with(r.pattern),
        Match::Exact => name == r.pattern,
    })
}

/// Checks a set of `name` to `value` by a peer with `uid` (AOSP `CheckPermissions`).
pub fn check(name: &str, value: &str, uid: u32) -> Result<(), Denial> {
    if !is_legal_name(name) {
        return deny(PROP_ERROR_INVALID_NAME, "illegal property name");
    }
    if let Some(cmd) = name.strip_prefix("ctl.") {
        if uid != 0 {
            return deny(
                PROP_ERROR_HANDLE_CONTROL_MESSAGE,
                format!("invalid permissions to perform '{cmd}' on '{value}'"),
            );
        }
        return Ok(());
    }
    if name.starts_with("init.svc.") {
        return deny(
            PROP_ERROR_PERMISSION_DENIED,
            "permission denied (only init sets init.svc.*)",
        );
    }
    if uid != 0 && !non_root_may_set(name) {
        return deny(
            PROP_ERROR_PERMISSION_DENIED,
            "permission denied (not in the allowlist for non-root peers)",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_sets_anything_but_service_states() {
        for name in [
            "ro.cold_boot_done",
            "sys.powerctl",
            "ctl.start",
            "x.y",
            "debug.z",
        ] {
            assert_eq!(check(name, "v", 0), Ok(()), "{name}");
        }
        assert_eq!(
            check("init.svc.ueventd", "stopped", 0).unwrap_err().code,
            PROP_ERROR_PERMISSION_DENIED
        );
    }

    #[test]
    fn non_root_only_under_the_allowlist() {
        for name in [
            "debug.rctest",
            "vendor.rctest.x",
            "hwservicemanager.ready",
            "service.adb.root",
        ] {
            assert_eq!(check(name, "1", 2000), Ok(()), "{name}");
        }
        for name in [
            "ro.debuggable",
            "ro.vendor.x",
            "sys.powerctl",
            "persist.debug.x",
            "hwservicemanager.ready2",
            "dev.bootcomplete",
            "init.svc.x",
            "debug",
        ] {
            let d = check(name, "1", 2000).unwrap_err();
            assert_eq!(d.code, PROP_ERROR_PERMISSION_DENIED, "{name}");
        }
        let d = check("ctl.start", "ueventd", 1000).unwrap_err();
        assert_eq!(d.code, PROP_ERROR_HANDLE_CONTROL_MESSAGE);
        assert_eq!(
            d.reason,
            "invalid permissions to perform 'start' on 'ueventd'"
        );
    }

    #[test]
    fn illegal_names_first() {
        for uid in [0, 2000] {
            assert_eq!(
                check("bad..name", "v", uid).unwrap_err().code,
                PROP_ERROR_INVALID_NAME
            );
        }
    }
}
