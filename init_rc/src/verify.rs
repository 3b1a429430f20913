//! The host verifier (like AOSP's `host_init_verifier`): parses rc files on the host and
//! prints every syntax error and every unsupported command or option with `file:line`.
//! Imports are listed but not followed (their paths name guest files). The exit status is
//! `0` when there is no syntax error, `1` when there is one (or a file cannot be read),
//! `2` for a usage error; unsupported keywords alone never fail.

use std::ffi::OsString;
use std::io::Write;
use std::path::Path;

use crate::parser::{is_known_unsupported, DiagKind, Parser};
use crate::property::PropertyStore;

/// Runs the verifier on `files` (the operands after `--verify` / `verify`), printing to
/// stdout. Returns the exit status.
pub fn verify_main(files: &[OsString]) -> i32 {
    let mut out = std::io::stdout().lock();
    verify_to(files, &mut out)
}

/// [`verify_main`] writing its report to `out`.
pub fn verify_to(files: &[OsString], out: &mut dyn Write) -> i32 {
    if files.is_empty() {
        let _ = writeln!(out, "usage: init_rc verify FILE...");
        return 2;
    }
    let props = PropertyStore::new();
    let mut parser = Parser::without_imports(&props);
    let mut unreadable = 0usize;
    for f in files {
        if !parser.parse_file(Path::new(f)) {
            let _ = writeln!(out, "{}: cannot read file", Path::new(f).display());
            unreadable += 1;
        }
    }
    let config = parser.finish();
    for d in &config.diagnostics {
        let note = match d.kind {
            DiagKind::Unsupported if !is_known_unsupported(&d.message) => {
                " (not an AOSP keyword we know)"
            }
            _ => "",
        };
        let _ = writeln!(out, "{d}{note}");
    }
    let syntax = config.syntax_errors();
    let unsupported = config.diagnostics.len() - syntax;
    let _ = writeln!(
        out,
        "{} file(s), {} action(s), {} service(s): {syntax} syntax error(s), {unsupported} unsupported",
        config.files.len(),
        config.actions.len(),
        config.services.len()
    );
    i32::from(syntax > 0 || unreadable > 0)
}
