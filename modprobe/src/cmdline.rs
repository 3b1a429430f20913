//! Module parameters from the kernel command line (`module.param=value`), which the
//! kernel leaves to modprobe for loadable modules (AOSP `ParseKernelCmdlineOptions`).
//!
//! Words are separated by spaces outside double quotes; a word `m.p=v` gives module `m`
//! (canonical) the parameter `p=v`, quotes kept (the kernel's parameter parser removes
//! them). Words without a `.` before their `=` (`root=…`, `console=…`) are not module
//! parameters. The result plugs into [`crate::PlanOptions::extra_params`].

use crate::name::canonical_name;

/// `(module, "param=value")` pairs from a kernel command line, in order.
pub fn cmdline_module_params(cmdline: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for word in split_quoted(cmdline, |c| matches!(c, ' ' | '\t' | '\n')) {
        let Some(eq) = word.find('=') else { continue };
        let Some(dot) = word.find('.').filter(|&d| d < eq) else {
            continue;
        };
        let (Some(module), Some(param)) = (word.get(..dot), word.get(dot + 1..)) else {
            continue;
        };
        let module = canonical_name(module);
        if module.is_empty() || param.starts_with('=') {
            continue;
        }
        out.push((module, param.to_owned()));
    }
    out
}

/// Splits `s` into words at the characters `is_sep` accepts, except inside double
/// quotes (kept in the words); empty words are dropped.
pub(crate) fn split_quoted(s: &str, is_sep: impl Fn(char) -> bool) -> Vec<&str> {
    let mut words = Vec::new();
    let mut in_quotes = false;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if c == '"' {
            in_quotes = !in_quotes;
        } else if is_sep(c) && !in_quotes {
            if let Some(word) = s.get(start..i).filter(|w| !w.is_empty()) {
                words.push(word);
            }
            start = i + c.len_utf8();
        }
    }
    if let Some(word) = s.get(start..).filter(|w| !w.is_empty()) {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_params_only() {
        let params = cmdline_module_params(
            "console=ttyS0 root=/dev/vda virtio-blk.queue_depth=64 foo.bar=\"a b\" x.y.z=1 dyndbg.q androidboot.serialno=abc\n",
        );
        assert_eq!(
            params,
            vec![
                ("virtio_blk".to_owned(), "queue_depth=64".to_owned()),
                ("foo".to_owned(), "bar=\"a b\"".to_owned()),
                ("x".to_owned(), "y.z=1".to_owned()),
                ("androidboot".to_owned(), "serialno=abc".to_owned()),
            ]
        );
    }

    #[test]
    fn odd_inputs() {
        assert!(cmdline_module_params("").is_empty());
        assert!(cmdline_module_params(".a=1 a.=1 =x \"").is_empty());
        assert_eq!(
            cmdline_module_params("m.p=\"unterminated value"),
            vec![("m".to_owned(), "p=\"unterminated value".to_owned())]
        );
    }
}
