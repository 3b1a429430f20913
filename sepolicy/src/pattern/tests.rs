//! Tests of the PCRE2 translation (expected results checked against
//! libselinux 3.4 / PCRE2 10.42 with `matchpathcon`).

use super::*;

fn re(regex: &str) -> SpecRegex {
    SpecRegex::new(regex).unwrap_or_else(|e| panic!("{regex}: {e}"))
}

fn matches(regex: &str, path: &[u8]) -> bool {
    re(regex).is_match(path)
}

fn kind(regex: &str) -> RegexErrorKind {
    match SpecRegex::new(regex) {
        Ok(_) => panic!("{regex} accepted"),
        Err(e) => e.kind,
    }
}

fn is_invalid(regex: &str) -> bool {
    matches!(kind(regex), RegexErrorKind::Invalid(_))
}

fn is_unsupported(regex: &str) -> bool {
    matches!(kind(regex), RegexErrorKind::Unsupported(_))
}

#[test]
fn whole_path_is_anchored() {
    assert!(matches("/system/bin/sh", b"/system/bin/sh"));
    assert!(!matches("/system/bin/sh", b"/system/bin/sh2"));
    assert!(!matches("/system/bin/sh", b"x/system/bin/sh"));
    assert!(matches("/system(/.*)?", b"/system"));
    assert!(matches("/system(/.*)?", b"/system/a/b"));
    assert!(!matches("/system(/.*)?", b"/systemx"));
    assert!(matches("/dev/tty[0-9]+", b"/dev/tty12"));
    assert!(!matches("/dev/tty[0-9]+", b"/dev/tty"));
}

#[test]
fn top_level_alternation_is_not_grouped() {
    // libselinux builds "^" + re + "$", so `^/a|/b$` has two branches.
    assert!(matches("/dev/a|/dev/b", b"/dev/a"));
    assert!(matches("/dev/a|/dev/b", b"/dev/axx"));
    assert!(matches("/dev/a|/dev/b", b"/xx/dev/b"));
    assert!(!matches("/dev/a|/dev/b", b"/dev/qb"));
    // An empty last branch matches everything (its `$` always holds).
    assert!(matches("/a|", b"/anything"));
}

#[test]
fn dollar_also_matches_before_a_final_newline() {
    assert!(matches("/data/foo", b"/data/foo\n"));
    assert!(!matches("/data/foo", b"/data/foo\n\n"));
    assert!(matches("/data/.*", b"/data/x\n"));
    assert!(matches("/x$", b"/x\n"));
    assert!(matches("/x\\Z", b"/x\n"));
    assert!(!matches("/x\\z", b"/x\n"));
    assert!(matches("/x\\z", b"/x"));
    assert!(matches("(/a$|/b)", b"/a\n"));
}

#[test]
fn dot_matches_every_byte_including_newline() {
    assert!(matches("/a.b", b"/a\nb"));
    assert!(matches("/a.b", b"/a\xffb"));
    // One byte, not one UTF-8 character.
    assert!(!matches("/data/b.", "/data/bé".as_bytes()));
    assert!(matches("/data/b..", "/data/bé".as_bytes()));
    assert!(matches("/data/[^/]+", "/data/é".as_bytes()));
    assert!(!matches("/data/\\w+", "/data/é".as_bytes()));
    assert!(matches("/\\xe9", b"/\xe9"));
    assert!(matches("/[\\x80-\\xff]{2}", "/é".as_bytes()));
}

#[test]
fn escapes_and_classes() {
    assert!(matches("/a\\.b", b"/a.b"));
    assert!(!matches("/a\\.b", b"/axb"));
    assert!(matches("/\\d\\D\\s\\S\\w\\W", b"/1a\tb_-"));
    assert!(matches("/\\x41\\x{42}", b"/AB"));
    assert!(matches("/\\n\\t\\r\\f\\e\\a", b"/\n\t\r\x0c\x1b\x07"));
    assert!(matches("/\\cA\\c[", b"/\x01\x1b"));
    assert!(matches("/[]a]", b"/]"));
    assert!(matches("/[^]a]", b"/b"));
    assert!(!matches("/[^]a]", b"/]"));
    assert!(matches("/[a-]", b"/-"));
    assert!(matches("/[a-c-e]", b"/-"));
    assert!(!matches("/[a-c-e]", b"/d"));
    assert!(matches("/[]-a]", b"/^"));
    assert!(matches("/[%--]", b"/,"));
    assert!(matches("/[[:alpha:][:digit:]]", b"/7"));
    assert!(matches("/[[:^digit:]]", b"/x"));
    assert!(!matches("/[[:^digit:]]", b"/7"));
    assert!(matches("/[[:alpha]", b"/:"));
    assert!(matches("/[\\]]", b"/]"));
    assert!(matches("/[\\b]", b"/\x08"));
    assert!(matches("/[\\d_]", b"/_"));
    assert!(matches("/[a\\E]", b"/a"));
    assert!(matches("/\\Qa.b\\E", b"/a.b"));
    assert!(!matches("/\\Qa.b\\E", b"/axb"));
    assert!(matches("/a\\b", b"/a"));
    assert!(!matches("/a\\B", b"/a"));
    assert!(matches("/a\\Bb", b"/ab"));
    assert!(!matches("/a\\bb", b"/ab"));
    assert!(matches("/\\N", b"/x"));
    assert!(matches("/\\N{2}", b"/xy"));
    assert!(matches("/[\\E]a]", b"/]"));
    assert!(matches("/[\\E^a]", b"/b"));
    assert!(!matches("/[\\E^a]", b"/a"));
    assert!(matches("/[^\\Q\\E]a]", b"/b"));
    assert!(matches("/[^:alpha:]", b"/b"));
    assert!(matches("/[\\E-b]", b"/-"));
    assert!(!matches("/[\\E-b]", b"/a"));
    assert!(!matches("/\\N", b"/\n"));
}

#[test]
fn odd_but_valid_pcre_syntax() {
    // A trailing backslash escapes the `$` libselinux appends.
    assert!(matches("/x\\", b"/x$"));
    assert!(!matches("/x\\", b"/x"));
    // \Q without \E runs to the end, swallowing the `$` too.
    assert!(matches("/a\\Qb", b"/ab$tail"));
    // `{` that is not a counted quantifier is a literal.
    assert!(matches("/a{,3}", b"/a{,3}"));
    assert!(matches("/x{2", b"/x{2"));
    assert!(matches("/x{2,3", b"/x{2,3"));
    assert!(matches("/a}", b"/a}"));
    assert!(matches("/a]", b"/a]"));
    assert!(matches("/x{0}", b"/"));
    assert!(matches("/a{2}?", b"/aa"));
    assert!(matches("/a{2,}?", b"/aaa"));
    assert!(matches("/a??", b"/"));
    assert!(matches("/()", b"/"));
    assert!(matches("/(|a)", b"/"));
    assert!(matches("/(?:a)", b"/a"));
    assert!(matches("/x(?#comment)", b"/x"));
}

#[test]
fn invalid_patterns_are_rejected_as_invalid() {
    for bad in [
        "*foo",
        "/a**",
        "/a{2}{3}",
        "/a?*",
        "/a|*b",
        "/(+a)",
        "{2}a",
        "/a$*",
        "/a\\b*",
        "/(a",
        "/a)",
        "/[a",
        "/[]",
        "/[^]",
        "/[z-a]",
        "/x{3,2}",
        "/x{65536}",
        "/[[:foo:]]",
        "/[[:digit:]-z]",
        "/[\\d-z]",
        "/[a-[:digit:]]",
        "/\\y",
        "/\\i",
        "/\\T",
        "/\\O",
        "/[\\N]",
        "/[\\B]",
        "/[\\A]",
        "/[\\z]",
        "/[[.a.]]",
        "/[[=a=]]",
        "/\\x{100}",
        "/(?#x",
        "/a*?+",
        "/\\N{",
        "/\\N{,2}",
        "/[:alpha:]",
        "/a[.x.]",
        "/[=a=]b",
    ] {
        assert!(is_invalid(bad), "{bad}: {:?}", SpecRegex::new(bad).err());
    }
}

#[test]
fn untranslatable_patterns_are_rejected_as_unsupported() {
    for unsupported in [
        "/(a)\\1",
        "/\\0",
        "/\\g1",
        "/\\k<a>",
        "/(?i)a",
        "/(?=a)",
        "/(?<n>a)",
        "/(*UTF)a",
        "/a*+a",
        "/a{1,2}+",
        "/\\p{L}",
        "/\\R",
        "/\\X",
        "/\\K",
        "/\\G",
        "/\\C",
        "/\\x",
        "/\\x{}",
        "/[[:<:]]a",
        "/[\\Q]\\E]",
        "/\\Q\\E*",
        "/\\E*",
        "/a(?#x)*",
        "/[a-\\Eb]",
        "/(a|b$)c",
        "/a$b",
        "/(a$)*",
        "/a$\\z",
        "/a{1001}",
        "/a{1,65535}",
        "/[\\8]",
    ] {
        assert!(
            is_unsupported(unsupported),
            "{unsupported}: {:?}",
            SpecRegex::new(unsupported).err()
        );
    }
}

#[test]
fn limits() {
    let deep = format!("{}a{}", "(".repeat(65), ")".repeat(65));
    assert!(is_unsupported(&deep));
    let ok = format!("{}a{}", "(".repeat(64), ")".repeat(64));
    assert!(matches(&ok, b"a"));
    assert_eq!(
        kind(&"a".repeat(parse::MAX_REGEX_LEN + 1)),
        RegexErrorKind::TooLarge
    );
    assert!(matches!(
        kind("(a{1000}){1000}"),
        RegexErrorKind::TooComplex(_)
    ));
    assert!(is_invalid("/a\u{e9}"));
    assert!(is_invalid("/a\0"));
}

#[test]
fn error_offsets_point_into_the_spec() {
    let err = SpecRegex::new("/ab)").expect_err("unmatched");
    assert_eq!(err.offset, 3);
    let err = SpecRegex::new("/a[bc").expect_err("unterminated");
    assert_eq!(err.offset, 2);
    let err = SpecRegex::new("/a$b").expect_err("dollar");
    assert_eq!(err.offset, 2);
    assert!(err.to_string().contains("offset 2"), "{err}");
}

#[test]
fn literal_fast_path_and_prefix() {
    assert!(matches!(re("/dev/null").matcher, Matcher::Literal(_)));
    assert!(matches!(re("/dev/foo\\.bar").matcher, Matcher::Literal(_)));
    match re("/dev/tty[0-9]*").matcher {
        Matcher::Regex {
            prefix, compiled, ..
        } => {
            assert_eq!(&prefix[..], b"/dev/tty");
            // Compiled on first use only.
            assert!(compiled.get().is_none());
        }
        Matcher::Literal(_) => panic!("not a literal"),
    }
    match re("/a|/b").matcher {
        Matcher::Regex { prefix, .. } => assert!(prefix.is_empty()),
        Matcher::Literal(_) => panic!("not a literal"),
    }
    assert!(matches("/dev/null", b"/dev/null\n"));
    assert!(!matches("/dev/null", b"/dev/nul\n"));
}

#[test]
fn counted_repetition_is_compiled_at_parse_time() {
    for (regex, eager) in [
        ("/a{2}", true),
        ("/a{0,5}", true),
        ("/(a{3})*", true),
        ("/a*b+c?", false),
        ("/a{1}", false),
        ("/a{0,1}", false),
    ] {
        let Matcher::Regex { compiled, .. } = re(regex).matcher else {
            panic!("{regex} is not a literal");
        };
        assert_eq!(compiled.get().is_some(), eager, "{regex}");
    }
    let long = format!("/{}", "[ab]".repeat(2000));
    let Matcher::Regex { compiled, .. } = re(&long).matcher else {
        panic!("not a literal");
    };
    assert!(compiled.get().is_some());
    assert!(SpecRegex::new(&long)
        .expect("compiles")
        .is_match(format!("/{}", "a".repeat(2000)).as_bytes()));
}

#[test]
fn translation_is_readable_regex_lite() {
    assert_eq!(
        translate("/a.b").expect("ok"),
        r"^/a[\x{00}-\x{FF}]b(?:\n?\z)"
    );
    assert_eq!(
        translate("/a(b|c)*").expect("ok"),
        r"^/a(?:(?:(?:b|c)))*(?:\n?\z)"
    );
}
