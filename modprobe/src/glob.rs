//! `modules.alias` patterns are shell globs matched as kmod (and AOSP's libmodprobe) do:
//! glibc's `fnmatch(pattern, string, 0)` in the C locale, from the shared `fnmatch` crate.

/// True if `string` matches the glob `pattern` (as `fnmatch(pattern, string, 0) == 0`).
pub fn fnmatch(pattern: &str, string: &str) -> bool {
    ::fnmatch::fnmatch(pattern, string, ::fnmatch::Flags::NONE)
}
