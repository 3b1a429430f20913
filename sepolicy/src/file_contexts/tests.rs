//! Parser and lookup tests (expected results checked against libselinux
//! 3.4's `matchpathcon`).

use super::*;

fn fc(text: &str) -> FileContexts {
    let outcome = FileContexts::parse(text, "test_fc");
    assert!(outcome.errors.is_empty(), "{}", outcome.errors);
    outcome.contexts
}

fn errors(text: &str) -> Vec<(usize, ParseErrorKind)> {
    FileContexts::parse(text, "test_fc")
        .errors
        .0
        .into_iter()
        .map(|e| (e.line, e.kind))
        .collect()
}

#[test]
fn every_type_specifier() {
    let fc = fc("/x/f -- u:object_r:f:s0\n\
         /x/f -d u:object_r:d:s0\n\
         /x/f -c u:object_r:c:s0\n\
         /x/f -b u:object_r:b:s0\n\
         /x/f -l u:object_r:l:s0\n\
         /x/f -p u:object_r:p:s0\n\
         /x/f -s u:object_r:s:s0\n");
    for (kind, want) in [
        (FileKind::File, "u:object_r:f:s0"),
        (FileKind::Dir, "u:object_r:d:s0"),
        (FileKind::Chr, "u:object_r:c:s0"),
        (FileKind::Blk, "u:object_r:b:s0"),
        (FileKind::Lnk, "u:object_r:l:s0"),
        (FileKind::Fifo, "u:object_r:p:s0"),
        (FileKind::Sock, "u:object_r:s:s0"),
    ] {
        assert_eq!(fc.lookup("/x/f", Some(kind)), Some(want), "{kind:?}");
        assert_eq!(
            fc.lookup_mode(b"/x/f", kind.mode_bits() | 0o644),
            Some(want),
            "{kind:?}"
        );
    }
    // No mode: every spec takes part, the last one wins.
    assert_eq!(fc.lookup("/x/f", None), Some("u:object_r:s:s0"));
    assert_eq!(fc.lookup_mode(b"/x/f", 0), Some("u:object_r:s:s0"));
    // A type no spec can name only sees untyped specs (none here).
    assert_eq!(fc.lookup_mode(b"/x/f", 0o030_000), None);
}

#[test]
fn untyped_entries_match_every_mode() {
    let fc = fc("/a(/.*)? u:object_r:any:s0\n/a/b -d u:object_r:dir:s0\n");
    assert_eq!(
        fc.lookup("/a/b", Some(FileKind::Dir)),
        Some("u:object_r:dir:s0")
    );
    assert_eq!(
        fc.lookup("/a/b", Some(FileKind::File)),
        Some("u:object_r:any:s0")
    );
    assert_eq!(fc.lookup("/a/b", None), Some("u:object_r:dir:s0"));
    assert_eq!(
        fc.lookup_mode(b"/a/b", 0o030_000),
        Some("u:object_r:any:s0")
    );
}

#[test]
fn comments_blank_lines_tabs_and_extra_fields() {
    let fc = fc("# comment\n\
         \n\
         \t  \n\
         \t# indented comment\n\
         /a\tu:object_r:a:s0\n\
         \t/b \t -- \t u:object_r:b:s0 \t\r\n\
         /c -- u:object_r:c:s0 # fields after the third are ignored\n\
         /d -d u:object_r:d:s0 extra fields ignored\n\
         /e\x0bu:object_r:e:s0\x0c\n\
         /f u:object_r:f:s0\0 after a NUL\n");
    assert_eq!(fc.lookup("/a", None), Some("u:object_r:a:s0"));
    assert_eq!(
        fc.lookup("/b", Some(FileKind::File)),
        Some("u:object_r:b:s0")
    );
    assert_eq!(fc.lookup("/c", None), Some("u:object_r:c:s0"));
    // After two fields, a third is the context: a trailing comment is not.
    assert!(matches!(
        errors("/c u:object_r:c:s0 # no\n")[..],
        [(1, ParseErrorKind::InvalidFileType(_))]
    ));
    assert_eq!(fc.lookup("/d", None), Some("u:object_r:d:s0"));
    assert_eq!(fc.lookup("/e", None), Some("u:object_r:e:s0"));
    assert_eq!(fc.lookup("/f", None), Some("u:object_r:f:s0"));
    assert_eq!(fc.len(), 6);
    // `#` only starts a comment as the first field.
    assert_eq!(
        errors("/g u:object_r:#g:s0\n"),
        [(
            1,
            ParseErrorKind::InvalidContext {
                context: "u:object_r:#g:s0".into(),
                reason: "invalid type name"
            }
        )]
    );
}

#[test]
fn malformed_lines_are_reported_with_line_numbers_and_skipped() {
    let text = "/ok u:object_r:ok:s0\n\
         /only-one-field\n\
         /bad -x u:object_r:t:s0\n\
         /bad u:object_r:t:s0 trailing\n\
         /bad notacontext\n\
         /bad(  u:object_r:t:s0\n\
         /bad\u{e9} u:object_r:t:s0\n\
         /a$b u:object_r:t:s0\n\
         /ok2 -- <<none>>\n";
    let outcome = FileContexts::parse(text, "plat_file_contexts");
    let got: Vec<_> = outcome
        .errors
        .iter()
        .map(|e| (e.line, e.kind.clone()))
        .collect();
    assert_eq!(got.len(), 7, "{}", outcome.errors);
    assert_eq!(got[0], (2, ParseErrorKind::MissingFields));
    assert_eq!(got[1], (3, ParseErrorKind::InvalidFileType("-x".into())));
    // Three fields: the middle one must be a type specifier.
    assert_eq!(
        got[2],
        (4, ParseErrorKind::InvalidFileType("u:object_r:t:s0".into()))
    );
    assert!(matches!(got[3], (5, ParseErrorKind::InvalidContext { .. })));
    assert!(matches!(
        &got[4],
        (6, ParseErrorKind::InvalidRegex { regex, error }) if regex == "/bad(" && matches!(error.kind, pattern::RegexErrorKind::Invalid(_))
    ));
    assert_eq!(got[5], (7, ParseErrorKind::NonAscii));
    assert!(matches!(
        &got[6],
        (8, ParseErrorKind::InvalidRegex { error, .. }) if matches!(error.kind, pattern::RegexErrorKind::Unsupported(_))
    ));
    let first = outcome.errors.0[0].to_string();
    assert!(first.starts_with("plat_file_contexts:2: "), "{first}");
    // The good lines are still usable.
    assert_eq!(outcome.contexts.len(), 2);
    assert_eq!(
        outcome.contexts.lookup("/ok", None),
        Some("u:object_r:ok:s0")
    );
    assert_eq!(outcome.contexts.lookup("/ok2", None), None);
    assert!(outcome.into_result().is_err());
}

#[test]
fn overlong_fields_and_compiled_files() {
    let long = format!("/{} u:object_r:t:s0\n", "a".repeat(MAX_FIELD_LEN));
    assert_eq!(errors(&long), [(1, ParseErrorKind::FieldTooLong)]);
    let mut bin = COMPILED_MAGIC.to_le_bytes().to_vec();
    bin.extend_from_slice(b"\x05\0\0\0rest");
    let outcome = FileContexts::parse_bytes(&bin, "file_contexts.bin");
    assert_eq!(outcome.errors.0[0].kind, ParseErrorKind::CompiledFormat);
    assert!(outcome.contexts.is_empty());
    let not_utf8 = FileContexts::parse_bytes(b"/a\xff u:object_r:t:s0\n/b u:object_r:t:s0", "x");
    assert_eq!(not_utf8.errors.0[0].kind, ParseErrorKind::NonAscii);
    assert_eq!(not_utf8.contexts.len(), 1);
}

#[test]
fn last_match_wins_among_regex_specs() {
    let fc = fc("/dev(/.*)?       u:object_r:device:s0\n\
         /dev/block(/.*)? u:object_r:block_device:s0\n\
         /dev/.*          u:object_r:late:s0\n");
    assert_eq!(
        fc.lookup("/dev/block/vda", None),
        Some("u:object_r:late:s0")
    );
    assert_eq!(fc.lookup("/dev", None), Some("u:object_r:device:s0"));
}

#[test]
fn exact_specs_beat_regex_specs_and_duplicates_keep_the_last() {
    let fc = fc("/dev/null     u:object_r:null_device:s0\n\
         /dev(/.*)?    u:object_r:device:s0\n\
         /dev/nu.*     u:object_r:nu:s0\n\
         /dev/null     u:object_r:null_again:s0\n\
         /dev/zero     u:object_r:zero:s0\n\
         /dev/z.*      u:object_r:z:s0\n");
    assert_eq!(
        fc.lookup("/dev/null", None),
        Some("u:object_r:null_again:s0")
    );
    assert_eq!(fc.lookup("/dev/zero", None), Some("u:object_r:zero:s0"));
    assert_eq!(fc.lookup("/dev/nul", None), Some("u:object_r:nu:s0"));
    // An escaped dot is not a meta character: still an exact spec.
    let fc2 = self::fc("/a\\.b u:object_r:exact:s0\n/a.b u:object_r:regex:s0\n");
    assert_eq!(fc2.lookup("/a.b", None), Some("u:object_r:exact:s0"));
    assert_eq!(fc2.lookup("/axb", None), Some("u:object_r:regex:s0"));
}

#[test]
fn none_context_stops_the_search() {
    let fc = fc("/data(/.*)? u:object_r:data:s0\n\
         /data/tmp(/.*)? <<none>>\n\
         /data/tmp/keep u:object_r:keep:s0\n");
    assert_eq!(fc.lookup("/data/x", None), Some("u:object_r:data:s0"));
    assert_eq!(fc.lookup("/data/tmp/y", None), None);
    assert_eq!(
        fc.lookup("/data/tmp/keep", None),
        Some("u:object_r:keep:s0")
    );
}

#[test]
fn stems_filter_specs() {
    // The stem is the text before the second `/` (without meta characters).
    assert_eq!(spec_stem_len(b"/dev/null"), 4);
    assert_eq!(spec_stem_len(b"/dev(/.*)?"), 0);
    assert_eq!(spec_stem_len(b"/sys/x|y"), 4);
    assert_eq!(spec_stem_len(b"/"), 0);
    assert_eq!(spec_stem_len(b"/a"), 0);
    assert_eq!(spec_stem_len(b"/d.v/x"), 0);
    assert_eq!(spec_stem_len(b"/fo\\-o/bar"), 6);
    assert_eq!(path_stem(b"/dev/null"), Some(&b"/dev"[..]));
    assert_eq!(path_stem(b"/dev"), None);
    assert_eq!(path_stem(b"dev/x"), Some(&b"dev"[..]));
    let fc = fc("/sys/x|y u:object_r:xy:s0\n\
         /fo\\-o/bar u:object_r:never:s0\n");
    // `y$` only applies to paths with the /sys stem.
    assert_eq!(fc.lookup("/sys/qqy", None), Some("u:object_r:xy:s0"));
    assert_eq!(fc.lookup("/sys/xq", None), Some("u:object_r:xy:s0"));
    assert_eq!(fc.lookup("/qqy", None), None);
    assert_eq!(fc.lookup("/y", None), None);
    // The stem of `/fo\-o/bar` is literally `/fo\-o`: no path has it.
    assert_eq!(fc.lookup("/fo-o/bar", None), None);
}

#[test]
fn paths_are_cleaned_like_libselinux() {
    let fc = fc("/x/y u:object_r:t:s0\n/ u:object_r:root:s0\n");
    assert_eq!(fc.lookup("/x/y/", None), Some("u:object_r:t:s0"));
    assert_eq!(fc.lookup("/x//y", None), Some("u:object_r:t:s0"));
    assert_eq!(fc.lookup("//x///y//", None), Some("u:object_r:t:s0"));
    assert_eq!(fc.lookup("/x/y/./", None), None);
    assert_eq!(fc.lookup("/", None), Some("u:object_r:root:s0"));
    assert_eq!(fc.lookup("//", None), Some("u:object_r:root:s0"));
    assert_eq!(fc.lookup("", None), None);
    assert_eq!(fc.lookup("/x/y\0/ignored", None), Some("u:object_r:t:s0"));
    assert_eq!(fc.lookup("\0/x/y", None), None);
    assert_eq!(clean_path(b"/a/"), Some(Cow::Owned(b"/a".to_vec())));
    assert!(matches!(clean_path(b"/a/b"), Some(Cow::Borrowed(_))));
}

#[test]
fn non_utf8_paths_are_bytes() {
    let fc = fc("/data/[^/]+ u:object_r:one:s0\n/data/.. u:object_r:two:s0\n");
    assert_eq!(
        fc.lookup_bytes(b"/data/\xc3\xa9", None),
        Some("u:object_r:two:s0")
    );
    assert_eq!(
        fc.lookup_bytes(b"/data/\xff", None),
        Some("u:object_r:one:s0")
    );
}

#[test]
fn merge_keeps_global_exact_after_regex_order() {
    let mut a = fc("/v/x u:object_r:exact_a:s0\n/v(/.*)? u:object_r:regex_a:s0\n");
    let b = fc("/v/.* u:object_r:regex_b:s0\n/v/y u:object_r:exact_b:s0\n");
    a.merge(b);
    assert_eq!(a.lookup("/v/x", None), Some("u:object_r:exact_a:s0"));
    assert_eq!(a.lookup("/v/y", None), Some("u:object_r:exact_b:s0"));
    assert_eq!(a.lookup("/v/z", None), Some("u:object_r:regex_b:s0"));
    assert_eq!(a.len(), 4);
}

#[test]
fn partner_files_skip_treble_violations() {
    let text = b"/vendor(/.*)? u:object_r:vendor_file:s0\n\
        /system/bin/sh u:object_r:sh:s0\n\
        /dev/foo u:object_r:foo:s0\n\
        .* u:object_r:everything:s0\n";
    let outcome = FileContexts::parse_partner(text, "vendor_file_contexts");
    let lines: Vec<_> = outcome.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [2, 4]);
    assert!(outcome
        .errors
        .iter()
        .all(|e| matches!(e.kind, ParseErrorKind::TrebleViolation { .. })));
    assert_eq!(outcome.contexts.len(), 2);
    assert_eq!(outcome.contexts.lookup("/system/bin/sh", None), None);
    // The same text is fine as a platform file.
    assert!(FileContexts::parse_bytes(text, "plat_file_contexts")
        .errors
        .is_empty());
}

#[test]
fn kind_names_round_trip() {
    for kind in FileKind::ALL {
        assert_eq!(FileKind::from_specifier(kind.specifier()), Some(kind));
        assert_eq!(FileKind::from_class_name(kind.class_name()), Some(kind));
        assert_eq!(FileKind::from_mode(kind.mode_bits() | 0o7777), Some(kind));
    }
    assert_eq!(FileKind::from_mode(0o644), None);
    assert_eq!(FileKind::from_specifier("-x"), None);
    assert_eq!(FileKind::from_specifier("-"), None);
    assert_eq!(FileKind::from_class_name("bogus"), None);
}
