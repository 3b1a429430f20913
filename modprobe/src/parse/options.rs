//! `modules.options`: `options <module> <params…>`.
//!
//! The parameter text is passed to `finit_module` as written (the kernel's `parse_args`
//! understands `name="a b"` quoting); we only trim it, turn tabs into spaces (as kmod
//! does) and refuse a line with an unterminated quote, which the kernel would otherwise
//! silently extend to the end of the string. `dyn_options` lines (AOSP: run an external
//! handler for the value) are not supported: reported and skipped. A second line for a
//! module is returned too; [`crate::ModuleDb`] keeps the first, as AOSP does.

use std::path::Path;

use super::{canonical_or_err, parse_lines, Parsed};

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
pub fn parse_options(path: &Path, bytes: &[u8]) -> Parsed<OptionsEntry> {
    parse_lines(path, bytes, |line, content| {
        let (keyword, rest) = split_token(content);
        match keyword {
            "options" => {}
            "dyn_options" => {
                return Err("dyn_options (external option handlers) is not supported".into())
            }
            other => return Err(format!("expected `options`, found {other:?}")),
        }
        let (module, params) = split_token(rest);
        if module.is_empty() {
            return Err("options lines must be `options MODULE [PARAMS…]`".into());
        }
        let module = canonical_or_err(module)?;
        let params = params.trim().replace('\t', " ");
        if params.matches('"').count() % 2 != 0 {
            return Err(format!("unterminated quote in parameters for {module}"));
        }
        Ok(Some(OptionsEntry {
            line,
            module,
            params,
        }))
    })
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

    fn parse(text: &str) -> Parsed<OptionsEntry> {
        parse_options(Path::new("modules.options"), text.as_bytes())
    }

    #[test]
    fn quoted_values_are_kept_verbatim() {
        let e = parse("options foo bar=\"a b\" baz=1\noptions x-y\n").entries;
        assert_eq!(e[0].module, "foo");
        assert_eq!(e[0].params, "bar=\"a b\" baz=1");
        assert_eq!(e[1].module, "x_y");
        assert_eq!(e[1].params, "");
    }

    #[test]
    fn tabs_become_spaces() {
        let e = parse("options\tfoo\ta=1\tb=2  \n").entries;
        assert_eq!(e[0].params, "a=1 b=2");
    }

    #[test]
    fn malformed_lines_are_skipped_the_rest_kept() {
        let p = parse(
            "dyn_options foo root /bin/handler\noptions foo a=\"x\noptions\nblocklist foo\noptions foo a=1\noptions foo b=2\n",
        );
        let kept: Vec<(usize, &str)> = p
            .entries
            .iter()
            .map(|e| (e.line, e.params.as_str()))
            .collect();
        assert_eq!(kept, [(5, "a=1"), (6, "b=2")]);
        let problems: Vec<String> = p.problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            problems,
            [
                "modules.options:1: dyn_options (external option handlers) is not supported; line skipped",
                "modules.options:2: unterminated quote in parameters for foo; line skipped",
                "modules.options:3: options lines must be `options MODULE [PARAMS…]`; line skipped",
                "modules.options:4: expected `options`, found \"blocklist\"; line skipped",
            ]
        );
    }
}
