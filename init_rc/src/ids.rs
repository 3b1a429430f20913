//! User and group names for rc files: Android's fixed AIDs and plain numbers (the table
//! is the `android_ids` crate, shared with ueventd). rc files name users the Android way
//! (`system`, `shell`, …); the guest has no passwd database, so that table is the whole
//! name service.

pub use android_ids::resolve_id;

/// Resolves `name` or returns an error naming it and its kind (`user`/`group`).
pub fn require_id(kind: &str, name: &str) -> Result<u32, String> {
    resolve_id(name).ok_or_else(|| format!("unknown {kind} '{name}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(resolve_id("root"), Some(0));
        assert_eq!(resolve_id("system"), Some(1000));
        assert_eq!(resolve_id("shell"), Some(2000));
        assert_eq!(resolve_id("readproc"), Some(3009));
        assert_eq!(resolve_id("1234"), Some(1234));
        assert_eq!(resolve_id("99999999999"), None);
        assert_eq!(resolve_id("nosuchuser"), None);
        assert_eq!(resolve_id(""), None);
        assert!(require_id("user", "x").unwrap_err().contains("user 'x'"));
    }
}
