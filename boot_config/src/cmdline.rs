//! The kernel command line as AOSP imports it (`fs_mgr` `boot_config.cpp`,
//! `ImportKernelCmdlineFromString`): words are separated by single spaces, a `"…"` span
//! joins its spaces into the word (an unbalanced quote runs to the end), every `"` is
//! then removed, and each word is split at its *first* `=`; a word without `=` is a key
//! with an empty value ("no difference between `<key>` and `<key>=`"), empty words are
//! dropped.

/// Splits `cmdline` (already trimmed, as AOSP's `Trim` does) into `(key, value)` pairs in
/// command-line order, duplicates included.
pub fn parse(cmdline: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in cmdline.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => push_word(&mut out, &mut word),
            c => word.push(c),
        }
    }
    push_word(&mut out, &mut word);
    out
}

fn push_word(out: &mut Vec<(String, String)>, word: &mut String) {
    let w = std::mem::take(word);
    if w.is_empty() {
        return;
    }
    match w.split_once('=') {
        Some((k, v)) => out.push((k.to_owned(), v.to_owned())),
        None => out.push((w, String::new())),
    }
}

/// The value of the first `key` on the command line (AOSP `GetKernelCmdline`).
pub fn get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<(String, String)> {
        parse(s)
    }

    fn kv(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn splits_at_the_first_equals_sign() {
        assert_eq!(
            p("console=ttyAMA0 androidboot.a=b=c panic=-1"),
            kv(&[
                ("console", "ttyAMA0"),
                ("androidboot.a", "b=c"),
                ("panic", "-1")
            ])
        );
    }

    #[test]
    fn bare_keys_and_empty_values_are_the_same() {
        assert_eq!(
            p("quiet ro a="),
            kv(&[("quiet", ""), ("ro", ""), ("a", "")])
        );
    }

    #[test]
    fn quotes_join_spaces_and_are_removed() {
        assert_eq!(
            p(r#"a="x y" b=1 "c=d e" f"g h"i"#),
            kv(&[("a", "x y"), ("b", "1"), ("c", "d e"), ("fg hi", "")])
        );
        // An unbalanced quote runs to the end of the line.
        assert_eq!(p(r#"a="x y b=1"#), kv(&[("a", "x y b=1")]));
    }

    #[test]
    fn only_spaces_separate_words_and_empty_words_are_dropped() {
        // AOSP splits on ' ' only: a tab stays inside the word.
        assert_eq!(p("a=1\tb=2"), kv(&[("a", "1\tb=2")]));
        assert_eq!(p("  a=1   b=2 "), kv(&[("a", "1"), ("b", "2")]));
        assert!(p("").is_empty());
        assert_eq!(p("\"\""), Vec::new());
    }

    #[test]
    fn get_returns_the_first_occurrence() {
        let pairs = p("k=1 k=2");
        assert_eq!(get(&pairs, "k"), Some("1"));
        assert_eq!(get(&pairs, "x"), None);
    }
}
