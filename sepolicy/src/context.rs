//! Syntactic validation of security contexts (`user:role:type:level`).
//!
//! libselinux only validates contexts against a loaded policy (and
//! `matchpathcon -f` does not validate at all); we check the syntax so that
//! a typo in a file_contexts line is reported with its line number instead
//! of failing later in `setxattr`. The level is MLS syntax:
//! `sens[:cats][-sens[:cats]]`, `cats` a comma-separated list of categories
//! or `cN.cM` ranges (e.g. `s0`, `s0:c1,c2`, `s0-s0:c0.c1023`).

/// Checks `context`; the error says what is wrong with it.
pub(crate) fn validate(context: &str) -> Result<(), &'static str> {
    let mut parts = context.splitn(4, ':');
    let (Some(user), Some(role), Some(ty)) = (parts.next(), parts.next(), parts.next()) else {
        return Err("expected user:role:type:level");
    };
    let Some(level) = parts.next() else {
        return Err("missing MLS level (expected user:role:type:level)");
    };
    for (name, error) in [
        (user, "invalid user name"),
        (role, "invalid role name"),
        (ty, "invalid type name"),
    ] {
        if !is_name(name) {
            return Err(error);
        }
    }
    let mut range = level.splitn(2, '-');
    let low = range.next().unwrap_or_default();
    validate_level(low)?;
    if let Some(high) = range.next() {
        validate_level(high)?;
    }
    Ok(())
}

/// A user, role or type identifier.
fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// A sensitivity or category identifier.
fn is_level_word(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `sens[:cat_list]`.
fn validate_level(level: &str) -> Result<(), &'static str> {
    let mut parts = level.splitn(2, ':');
    if !is_level_word(parts.next().unwrap_or_default()) {
        return Err("invalid sensitivity in MLS level");
    }
    if let Some(cats) = parts.next() {
        for item in cats.split(',') {
            let mut ends = item.splitn(2, '.');
            let first = ends.next().unwrap_or_default();
            let last = ends.next();
            if !is_level_word(first) || last.is_some_and(|l| !is_level_word(l)) {
                return Err("invalid category set in MLS level");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::validate;

    #[test]
    fn accepts_android_and_mls_contexts() {
        for ok in [
            "u:object_r:system_file:s0",
            "u:object_r:vendor_file:s0",
            "system_u:object_r:etc_t:s0",
            "u:r:init:s0:c1,c2",
            "u:object_r:t:s0-s0:c0.c1023",
            "u:object_r:t:s0:c0.c255,c512,c768",
            "u:object_r:my-type.x:s15:c3",
        ] {
            assert_eq!(validate(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_malformed_contexts() {
        for bad in [
            "",
            "u",
            "u:r",
            "u:object_r:t",
            ":object_r:t:s0",
            "u::t:s0",
            "u:object_r::s0",
            "u:object_r:t:",
            "u:object_r:t:s0:",
            "u:object_r:t:s0:c1,",
            "u:object_r:t:s0:c1..c2",
            "u:object_r:t:s0-",
            "u:object_r:t:s0-s0-s1",
            "u:object_r:t:s0:c0.c1.c2",
            "u:object_r:t$:s0",
            "u:object_r:t:s 0",
        ] {
            assert!(validate(bad).is_err(), "{bad:?} accepted");
        }
    }
}
