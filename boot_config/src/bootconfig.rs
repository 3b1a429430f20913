//! `/proc/bootconfig` as AOSP imports it (`fs_mgr` `boot_config.cpp`,
//! `ImportBootconfigFromString`): one `key = value` per line, split at the first `=`,
//! both sides trimmed; a line with an empty key is ignored; `key` and `key =` mean an
//! empty value. The kernel prints values quoted and a list as `"a", "b"`: the outer
//! quotes are removed and `", "` becomes `,` (the command line's form), except for
//! `androidboot.boot_device[s]`, whose quotes are all removed and whose spaces are kept
//! (a list element may contain a comma; the caller splits at spaces).

/// Splits the text of `/proc/bootconfig` into `(key, value)` pairs in file order.
pub fn parse(text: &str) -> Vec<(String, String)> {
    text.split('\n')
        .filter_map(|line| {
            let (key, value) = match line.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim())),
                None => (line.trim(), None),
            };
            if key.is_empty() {
                return None;
            }
            let value = match value {
                None => String::new(),
                Some(v)
                    if key == "androidboot.boot_device" || key == "androidboot.boot_devices" =>
                {
                    v.replace('"', "")
                }
                Some(v) => {
                    let v = v.strip_prefix('"').unwrap_or(v);
                    let v = v.strip_suffix('"').unwrap_or(v);
                    v.replace("\", \"", ",")
                }
            };
            Some((key.to_owned(), value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn kernel_format() {
        let text = "androidboot.hardware = \"virt\"\n\
                    androidboot.list = \"a\", \"b\", \"c\"\n\
                    androidboot.boot_devices = \"10000.pci\", \"x,y\"\n\
                    kernel.x = \"a=b\"\n";
        assert_eq!(
            parse(text),
            kv(&[
                ("androidboot.hardware", "virt"),
                ("androidboot.list", "a,b,c"),
                ("androidboot.boot_devices", "10000.pci, x,y"),
                ("kernel.x", "a=b"),
            ])
        );
    }

    #[test]
    fn bare_keys_empty_keys_and_unquoted_values() {
        assert_eq!(
            parse("flag\nk =\n = v\n\n  spaced  =  1 2  \nq = \"half"),
            kv(&[("flag", ""), ("k", ""), ("spaced", "1 2"), ("q", "half")])
        );
    }
}
