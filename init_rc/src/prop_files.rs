//! Build-time property files (`/system/build.prop`, `/vendor/default.prop`,
//! `/vendor/build.prop`) as AOSP's `property_service.cpp` loads them
//! (`PropertyLoadBootDefaults`, `LoadProperties`): `name=value` lines, blanks around both
//! trimmed, `#` comments; the files are read in order into one map, so a later file
//! overrides an earlier one (also for `ro.*`), then every entry is set: an `ro.*` that is
//! already set (from the kernel command line) keeps its value. `ctl.*`, `sys.powerctl` and
//! `selinux.restorecon_recursive` are refused.
//!
//! **Ours:** a line AOSP skips silently (no `=`, an illegal name, a value too long) is
//! reported with `file:line`; `import` lines are reported as not supported; each file is
//! read up to [`MAX_PROP_FILE`] bytes.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use crate::property::{is_legal_name, PropertyStore, PROP_VALUE_MAX};

/// The files read, in AOSP's order (those this guest can have).
pub const PROP_FILES: &[&str] = &[
    "/system/build.prop",
    "/vendor/default.prop",
    "/vendor/build.prop",
];
/// Largest property file read (**Ours**).
pub const MAX_PROP_FILE: u64 = 1 << 20;

/// A line that was not loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// File name as given.
    pub file: String,
    /// Line number (1-based).
    pub line: usize,
    /// Why.
    pub why: String,
}

impl std::fmt::Display for BadLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.why)
    }
}

/// Parses one property file into `props` (later values override earlier ones); returns
/// the lines it could not take.
pub fn parse_into(file: &str, text: &str, props: &mut BTreeMap<String, String>) -> Vec<BadLine> {
    let mut bad = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut reject = |why: String| {
            bad.push(BadLine {
                file: file.to_string(),
                line: n + 1,
                why,
            })
        };
        if line.starts_with("import ") {
            reject("'import' is not supported".into());
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            reject("not a name=value line".into());
            continue;
        };
        let (key, value) = (key.trim_end(), value.trim_start());
        if !is_legal_name(key) {
            reject(format!("illegal property name '{key}'"));
        } else if key.starts_with("ctl.")
            || key == "sys.powerctl"
            || key == "selinux.restorecon_recursive"
        {
            reject(format!(
                "'{key}' has a special meaning: not allowed in a prop file"
            ));
        } else if !key.starts_with("ro.") && value.len() >= PROP_VALUE_MAX {
            reject(format!("value of '{key}' is too long"));
        } else {
            props.insert(key.to_string(), value.to_string());
        }
    }
    bad
}

/// Reads `files` (missing ones are skipped) and sets their properties in `store`;
/// every problem is logged with `file:line`. Returns the number of properties set.
pub fn load(files: &[&Path], store: &mut PropertyStore) -> usize {
    let mut props = BTreeMap::new();
    for path in files {
        let name = path.display().to_string();
        let text = match std::fs::File::open(path) {
            Ok(f) => {
                let mut data = Vec::new();
                if let Err(e) = f.take(MAX_PROP_FILE).read_to_end(&mut data) {
                    log::error!("init: cannot read {name}: {e}");
                    continue;
                }
                String::from_utf8_lossy(&data).into_owned()
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                log::error!("init: cannot read {name}: {e}");
                continue;
            }
        };
        for b in parse_into(&name, &text, &mut props) {
            log::error!("init: {b}");
        }
    }
    let mut set = 0;
    for (k, v) in &props {
        match store.set(k, v) {
            Ok(()) => set += 1,
            Err(e) => log::error!(
                "init: could not set '{k}' to '{v}' while loading .prop files: {}",
                e.reason()
            ),
        }
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_overrides() {
        let mut m = BTreeMap::new();
        let bad = parse_into(
            "/vendor/default.prop",
            "# c\n\n  ro.a = 1 \nro.b=x=y\nnoequals\nbad..name=1\nctl.start=x\nimport /x.prop\nsys.v=v\n",
            &mut m,
        );
        assert_eq!(m.get("ro.a").map(String::as_str), Some("1"));
        assert_eq!(m.get("ro.b").map(String::as_str), Some("x=y"));
        let lines: Vec<usize> = bad.iter().map(|b| b.line).collect();
        assert_eq!(lines, [5, 6, 7, 8]);
        assert_eq!(
            bad[0].to_string(),
            "/vendor/default.prop:5: not a name=value line"
        );
        // A later file overrides an earlier one, ro.* too.
        parse_into("/vendor/build.prop", "ro.a=2\n", &mut m);
        assert_eq!(m.get("ro.a").map(String::as_str), Some("2"));
        let long = format!("sys.long={}\n", "v".repeat(PROP_VALUE_MAX));
        assert_eq!(parse_into("f", &long, &mut m).len(), 1);
    }

    #[test]
    fn load_keeps_kernel_values() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("default.prop");
        let b = d.path().join("build.prop");
        std::fs::write(&a, "ro.hardware=fromfile\nro.x=1\n").unwrap();
        std::fs::write(&b, "ro.x=2\nvendor.y=3\n").unwrap();
        let mut store = PropertyStore::new();
        store.set("ro.hardware", "virt").unwrap();
        let missing = d.path().join("missing.prop");
        assert_eq!(load(&[&a, &missing, &b], &mut store), 2);
        assert_eq!(store.get("ro.hardware"), Some("virt"));
        assert_eq!(store.get("ro.x"), Some("2"));
        assert_eq!(store.get("vendor.y"), Some("3"));
    }

    #[test]
    fn adversarial_input_never_panics() {
        let mut m = BTreeMap::new();
        for text in [
            "=",
            "==",
            "\0=\0",
            "a=\u{fffd}",
            " = x",
            "#=x",
            "ro.\u{e9}=1",
            "\n\r\n",
        ] {
            parse_into("f", text, &mut m);
        }
        // Only the one well-formed line was taken.
        assert_eq!(m.keys().collect::<Vec<_>>(), ["a"]);
    }
}
