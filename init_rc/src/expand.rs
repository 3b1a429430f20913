//! Property expansion at execution time: `${name}`, `${name:-default}` and `$$`
//! (AOSP `ExpandProps`). A missing (or empty) property without a default fails the
//! command; `$name` without braces is rejected as AOSP does.

use crate::error::RcError;

/// Expands `text` using `get` to look properties up.
pub fn expand(text: &str, get: &dyn Fn(&str) -> Option<String>) -> Result<String, RcError> {
    let err = |reason: String| RcError::Expand {
        text: text.to_string(),
        reason,
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
            continue;
        }
        let Some(body) = after.strip_prefix('{') else {
            return Err(err(
                "use ${name} to expand a property ('$name' is not supported)".into(),
            ));
        };
        let Some(end) = body.find('}') else {
            return Err(err("unexpected end of string, looking for }".into()));
        };
        let inner = &body[..end];
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        if name.is_empty() {
            return Err(err("invalid zero-length property name".into()));
        }
        let value = get(name).unwrap_or_default();
        if !value.is_empty() {
            out.push_str(&value);
        } else {
            match default {
                Some(d) if !d.is_empty() => out.push_str(d),
                _ => return Err(err(format!("property '{name}' doesn't exist"))),
            }
        }
        rest = &body[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(n: &str) -> Option<String> {
        match n {
            "ro.hardware" => Some("virt".into()),
            "empty" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands() {
        assert_eq!(
            expand("/init.${ro.hardware}.rc", &get).unwrap(),
            "/init.virt.rc"
        );
        assert_eq!(expand("${nope:-0}", &get).unwrap(), "0");
        assert_eq!(expand("${empty:-d}", &get).unwrap(), "d");
        assert_eq!(expand("a$$b", &get).unwrap(), "a$b");
        assert_eq!(expand("plain", &get).unwrap(), "plain");
        assert_eq!(
            expand("${ro.hardware}${ro.hardware}", &get).unwrap(),
            "virtvirt"
        );
        assert_eq!(expand("${a:-x:-y}", &get).unwrap(), "x:-y");
    }

    #[test]
    fn errors() {
        for bad in [
            "${nope}",
            "${empty}",
            "${nope:-}",
            "${",
            "${}",
            "$x",
            "$",
            "${a",
        ] {
            assert!(expand(bad, &get).is_err(), "{bad}");
        }
    }
}
