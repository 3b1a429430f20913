//! `modules.options`: `options <module> <params…>`, at most one line per module.
//!
//! The parameter text is passed to `finit_module` as written (the kernel's `parse_args`
//! understands `name="a b"` quoting); we only trim it, turn tabs into spaces (as kmod
//! does) and reject an unterminated quote, which the kernel would otherwise silently
//! extend to the end of the string. `dyn_options` lines (AOSP: run an external handler
//! for the value) are not supported and rejected.

use std::collections::HashMap;
use std::path::Path;

use super::{canonical_or_err, content_lines};
use crate::error::ModprobeError;

/// One `modules.options` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionsEntry {
    /// 1-based line number.
    pub line: usize,
    /// Canonical module name.
    pub module: String,
    /// The parameter string (possibly empty).
    pub params: String,
}

/// Parses a `modules.options` file.
pub fn parse_options(path: &Path, text: &str) -> Result<Vec<OptionsEntry>, ModprobeError> {
    let mut entries = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (line, content) in content_lines(text) {
        let (keyword, rest) = split_token(content);
        match keyword {
            "options" => {}
            "dyn_options" => {
                return Err(ModprobeError::parse(
                    path,
                    line,
                    "dyn_options (external option handlers) is not supported",
                ))
            }
            other => {
                return Err(ModprobeError::parse(
                    path,
                    line,
                    format!("expected `options`, found {other:?}"),
                ))
            }
        }
        let (module, params) = split_token(rest);
        if module.is_empty() {
            return Err(ModprobeError::parse(
                path,
                line,
                "options lines must be `options MODULE [PARAMS…]`",
            ));
        }
        let module = canonical_or_err(path, line, module)?;
        let params = params.trim().replace('\t', " ");
        if params.matches('"').count() % 2 != 0 {
            return Err(ModprobeError::parse(
                path,
                line,
                format!("unterminated quote in parameters for {module}"),
            ));
        }
        if let Some(first) = seen.insert(module.clone(), line) {
            return Err(ModprobeError::parse(
                path,
                line,
                format!("second options line for {module} (first at line {first})"),
            ));
        }
        entries.push(OptionsEntry {
            line,
            module,
            params,
        });
    }
    Ok(entries)
}

/// Splits off the first blank-separated token; returns (token, remainder).
fn split_token(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(|c: char| c.is_ascii_whitespace()) {
        Some(end) => s.split_at(end),
        None => (s, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<OptionsEntry>, ModprobeError> {
        parse_options(Path::new("modules.options"), text)
    }

    #[test]
    fn quoted_values_are_kept_verbatim() {
        let e = parse("options foo bar=\"a b\" baz=1\noptions x-y\n").unwrap();
        assert_eq!(e[0].module, "foo");
        assert_eq!(e[0].params, "bar=\"a b\" baz=1");
        assert_eq!(e[1].module, "x_y");
        assert_eq!(e[1].params, "");
    }

    #[test]
    fn tabs_become_spaces() {
        let e = parse("options\tfoo\ta=1\tb=2  \n").unwrap();
        assert_eq!(e[0].params, "a=1 b=2");
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse("options foo a=1\noptions foo b=2\n")
                .unwrap_err()
                .to_string(),
            "modules.options:2: second options line for foo (first at line 1)"
        );
        assert_eq!(
            parse("options foo-bar a=1\noptions foo_bar b=2\n")
                .unwrap_err()
                .to_string(),
            "modules.options:2: second options line for foo_bar (first at line 1)"
        );
        assert_eq!(
            parse("dyn_options foo /bin/handler\n")
                .unwrap_err()
                .to_string(),
            "modules.options:1: dyn_options (external option handlers) is not supported"
        );
        assert_eq!(
            parse("options foo a=\"x\n").unwrap_err().to_string(),
            "modules.options:1: unterminated quote in parameters for foo"
        );
        assert_eq!(
            parse("options\n").unwrap_err().to_string(),
            "modules.options:1: options lines must be `options MODULE [PARAMS…]`"
        );
        assert_eq!(
            parse("blocklist foo\n").unwrap_err().to_string(),
            "modules.options:1: expected `options`, found \"blocklist\""
        );
    }
}
