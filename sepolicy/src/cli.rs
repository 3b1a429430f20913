//! The `sepolicy` applet (guest and host), with a hand-written parser.
//!
//! - `sepolicy lookup [-f FILE]... [--partner FILE]... [-m TYPE] PATH...` prints
//!   `PATH<TAB>CONTEXT` per path exactly as `matchpathcon -f` does: one
//!   trailing `/` is dropped from PATH, the mode comes from `lstat(PATH)`
//!   unless `-m` forces one, and `<<none>>` stands for no context.
//!   `-m` takes the class names `file dir chr_file blk_file lnk_file
//!   fifo_file sock_file`, and `pipe` as matchpathcon documents it.
//!   (matchpathcon 3.4 only reads the first letter, so its `fifo_file` is
//!   a regular file and unknown names are taken by their first letter; we
//!   reject unknown names.)
//! - `sepolicy restorecon [-R] [-n] [-v] [-f FILE]... [--partner FILE]... PATH...` labels PATH
//!   (recursively with `-R`; `-n`: change nothing; `-v`: print each change
//!   as `Relabeled PATH from OLD to NEW`).
//! - `sepolicy getcon PATH...` prints `PATH<TAB>LABEL` per path: the
//!   `security.selinux` attribute as `lgetxattr` returns it (a final
//!   symlink is not followed; trailing NULs are dropped), like libselinux's
//!   `lgetfilecon`. A path without the attribute (SELinux off, or a
//!   filesystem without labels) or that cannot be read is reported on
//!   stderr and makes the status 1; the other paths are still printed.
//!
//! Without `-f`/`--partner`, the Android file_contexts set under `/` is
//! used, with the Treble rule for the vendor and odm partitions' files.
//! `-f FILE` reads FILE as `matchpathcon -f` does, whatever it is called;
//! `--partner FILE` reads it as a vendor/odm file (entries that may label
//! outside the partner roots are skipped). Several files are merged in
//! command-line order. Bad lines are reported on stderr as warnings and
//! skipped. Exit status: 0 on success, 1 on failure, 2 on a usage error.

use std::ffi::{OsStr, OsString};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::android::{android_file_contexts_paths, ContextsFile};
use crate::file_contexts::{FileContexts, NONE_CONTEXT};
use crate::kind::FileKind;
use crate::label::{is_canonical, Labeler, Relabel, SystemXattr, XattrOps};
use crate::policy::selinux_active;

const USAGE: &str =
    "usage: sepolicy lookup [-f FILE]... [--partner FILE]... [-m TYPE] PATH...\n       \
sepolicy restorecon [-R] [-n] [-v] [-f FILE]... [--partner FILE]... PATH...\n       \
sepolicy getcon PATH...\n\
TYPE: file dir chr_file blk_file lnk_file fifo_file (or pipe) sock_file\n";

/// Where the guest mounts selinuxfs.
const SELINUXFS: &str = "/sys/fs/selinux";

/// Runs the applet; `args[0]` is the program name. Returns the exit status.
pub fn cli_main(args: &[OsString]) -> i32 {
    let stdout = io::stdout();
    let stderr = io::stderr();
    run(args, &mut stdout.lock(), &mut stderr.lock())
}

/// Parsed command line of a subcommand.
#[derive(Debug, Default)]
struct Options {
    files: Vec<ContextsFile>,
    kind: Option<FileKind>,
    recursive: bool,
    dry_run: bool,
    verbose: bool,
    paths: Vec<OsString>,
}

fn run(args: &[OsString], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let sub = args.get(1).map(|a| a.as_bytes());
    let rest = args.get(2..).unwrap_or_default();
    let (flags, with_type): (&[u8], bool) = match sub {
        Some(b"lookup") => (b"", true),
        Some(b"restorecon") => (b"Rnv", false),
        Some(b"getcon") => return getcon_main(rest, &SystemXattr, out, err),
        Some(b"help" | b"-h" | b"--help") => {
            let _ = out.write_all(USAGE.as_bytes());
            return 0;
        }
        _ => return usage_error(err, "expected a subcommand: lookup, restorecon or getcon"),
    };
    let opts = match parse_options(rest, flags, with_type) {
        Ok(opts) => opts,
        Err(msg) => return usage_error(err, &msg),
    };
    if opts.paths.is_empty() {
        return usage_error(err, "no PATH given");
    }
    let Some(contexts) = load(&opts.files, err) else {
        return 1;
    };
    let status = if sub == Some(b"lookup") {
        lookup(&contexts, &opts, out, err)
    } else {
        restorecon(&contexts, &opts, out, err)
    };
    if out.flush().is_err() {
        return 1;
    }
    status
}

fn usage_error(err: &mut dyn Write, msg: &str) -> i32 {
    let _ = writeln!(err, "sepolicy: {msg}");
    let _ = err.write_all(USAGE.as_bytes());
    2
}

/// getopt-like: flags may be grouped (`-Rv`), `-f`/`-m` take the rest of
/// the argument or the next one, options may follow paths, `--` ends them.
fn parse_options(args: &[OsString], flags: &[u8], with_type: bool) -> Result<Options, String> {
    let mut opts = Options::default();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let bytes = arg.as_bytes();
        if bytes == b"--" {
            opts.paths.extend(iter.by_ref().cloned());
            break;
        }
        if bytes == b"--partner" {
            let file = iter
                .next()
                .ok_or_else(|| "option --partner needs a value".to_owned())?;
            opts.files.push(ContextsFile::partner(file));
            continue;
        }
        if bytes.starts_with(b"--") {
            return Err(format!("unknown option {}", arg.to_string_lossy()));
        }
        let Some(letters) = bytes.strip_prefix(b"-").filter(|l| !l.is_empty()) else {
            opts.paths.push(arg.clone());
            continue;
        };
        for (i, &letter) in letters.iter().enumerate() {
            if letter == b'f' || (letter == b'm' && with_type) {
                let attached = letters.get(i + 1..).unwrap_or_default();
                let value = if attached.is_empty() {
                    iter.next()
                        .cloned()
                        .ok_or_else(|| format!("option -{} needs a value", char::from(letter)))?
                } else {
                    OsStr::from_bytes(attached).to_os_string()
                };
                if letter == b'f' {
                    opts.files.push(ContextsFile::plain(value));
                } else {
                    let name = value.to_string_lossy();
                    // `pipe` is matchpathcon's documented name for FIFOs.
                    let kind = match &*name {
                        "pipe" => Some(FileKind::Fifo),
                        other => FileKind::from_class_name(other),
                    };
                    opts.kind =
                        Some(kind.ok_or_else(|| format!("unknown file type {name:?} for -m"))?);
                }
                break;
            }
            match letter {
                b'R' if flags.contains(&b'R') => opts.recursive = true,
                b'n' if flags.contains(&b'n') => opts.dry_run = true,
                b'v' if flags.contains(&b'v') => opts.verbose = true,
                other => return Err(format!("unknown option -{}", char::from(other))),
            }
        }
    }
    Ok(opts)
}

fn load(files: &[ContextsFile], err: &mut dyn Write) -> Option<FileContexts> {
    let files = if files.is_empty() {
        android_file_contexts_paths(Path::new("/"))
    } else {
        files.to_vec()
    };
    if files.is_empty() {
        let _ = writeln!(err, "sepolicy: no file_contexts found; use -f FILE");
        return None;
    }
    match FileContexts::load_android(&files) {
        Ok(outcome) => {
            for e in outcome.errors.iter() {
                let _ = writeln!(err, "sepolicy: warning: {e}");
            }
            Some(outcome.contexts)
        }
        Err(e) => {
            let _ = writeln!(err, "sepolicy: {e}");
            None
        }
    }
}

fn lookup(
    contexts: &FileContexts,
    opts: &Options,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let mut status = 0;
    for arg in &opts.paths {
        let mut path = arg.as_bytes();
        if path.len() > 1 && path.last() == Some(&b'/') {
            path = path.get(..path.len() - 1).unwrap_or_default();
        }
        if path.is_empty() {
            let _ = writeln!(err, "sepolicy: lookup of an empty path failed");
            status = 1;
            continue;
        }
        let mode = match opts.kind {
            Some(kind) => kind.mode_bits(),
            None => std::fs::symlink_metadata(OsStr::from_bytes(path)).map_or(0, |m| m.mode()),
        };
        let context = contexts.lookup_mode(path, mode).unwrap_or(NONE_CONTEXT);
        let line = [path, b"\t", context.as_bytes(), b"\n"].concat();
        if out.write_all(&line).is_err() {
            return 1;
        }
    }
    status
}

fn restorecon(
    contexts: &FileContexts,
    opts: &Options,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    if !opts.dry_run && !selinux_active(Path::new(SELINUXFS)) {
        let _ = writeln!(err, "sepolicy: SELinux is not active; nothing labelled");
        return 0;
    }
    let labeler = Labeler::new(contexts, &SystemXattr).with_dry_run(opts.dry_run);
    let mut status = 0;
    for arg in &opts.paths {
        let path = absolute(Path::new(arg));
        let mut print = |r: &Relabel<'_>| {
            if opts.verbose {
                let verb: &[u8] = if r.applied {
                    b"Relabeled "
                } else {
                    b"Would relabel "
                };
                let old = r.old.unwrap_or(b"<no context>");
                let line = [
                    verb,
                    r.path.as_os_str().as_bytes(),
                    b" from ",
                    old,
                    b" to ",
                    r.new.as_bytes(),
                    b"\n",
                ]
                .concat();
                let _ = out.write_all(&line);
            }
        };
        if let Err(e) = labeler.restorecon_with(&path, opts.recursive, &mut print) {
            let _ = writeln!(err, "sepolicy: {e}");
            status = 1;
        }
    }
    status
}

/// `getcon [--] PATH...`: no options.
fn getcon_main(
    args: &[OsString],
    ops: &dyn XattrOps,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let (paths, after_dashes) = match args.first() {
        Some(first) if first.as_bytes() == b"--" => (args.get(1..).unwrap_or_default(), true),
        _ => (args, false),
    };
    if !after_dashes {
        if let Some(opt) = paths
            .iter()
            .find(|a| a.as_bytes().len() > 1 && a.as_bytes().starts_with(b"-"))
        {
            let msg = format!("unknown option {} for getcon", opt.to_string_lossy());
            return usage_error(err, &msg);
        }
    }
    if paths.is_empty() {
        return usage_error(err, "no PATH given");
    }
    let status = getcon(paths, ops, out, err);
    if out.flush().is_err() {
        return 1;
    }
    status
}

/// Prints `PATH<TAB>LABEL` for each path (see the module documentation).
fn getcon(paths: &[OsString], ops: &dyn XattrOps, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let mut status = 0;
    for arg in paths {
        let path = Path::new(arg);
        match ops.get(path) {
            Ok(Some(mut label)) => {
                while label.last() == Some(&0) {
                    label.pop();
                }
                let line = [arg.as_bytes(), b"\t", &label, b"\n"].concat();
                if out.write_all(&line).is_err() {
                    return 1;
                }
            }
            Ok(None) => {
                let _ = writeln!(
                    err,
                    "sepolicy: {}: no security.selinux attribute",
                    path.display()
                );
                status = 1;
            }
            Err(e) => {
                let _ = writeln!(err, "sepolicy: {}: {e}", path.display());
                status = 1;
            }
        }
    }
    status
}

/// A relative or non-canonical command-line path, made canonical (falling
/// back to the path as given, which the labeler then rejects).
fn absolute(path: &Path) -> PathBuf {
    if is_canonical(path) {
        path.to_path_buf()
    } else {
        std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
    }
}

#[cfg(test)]
mod tests;
