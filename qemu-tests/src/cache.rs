//! The harness's cache directory, outside the repository:
//! `$MICRODROID_CACHE_DIR`, else `$XDG_CACHE_HOME/microdroid-rs`, else
//! `$HOME/.cache/microdroid-rs`.

use std::path::PathBuf;

/// The cache root (not created).
pub fn root() -> PathBuf {
    if let Some(d) = std::env::var_os("MICRODROID_CACHE_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("microdroid-rs");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/tmp".into());
    PathBuf::from(home).join(".cache").join("microdroid-rs")
}
