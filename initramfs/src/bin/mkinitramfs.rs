//! `mkinitramfs`: build a reproducible newc initramfs from host files and trees.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Parser;
use initramfs::Archive;

/// Build a reproducible newc cpio initramfs (always includes /dev/console).
#[derive(Parser)]
struct Args {
    /// Output image.
    #[arg(long)]
    out: PathBuf,
    /// gzip-compress the archive.
    #[arg(long)]
    gzip: bool,
    /// Add a host file: DEST=SRC (keeps the host file's mode).
    #[arg(long = "file", value_name = "DEST=SRC")]
    files: Vec<String>,
    /// Add a host directory recursively: DEST=SRCDIR.
    #[arg(long = "tree", value_name = "DEST=SRCDIR")]
    trees: Vec<String>,
    /// Add a symlink: DEST=TARGET.
    #[arg(long = "symlink", value_name = "DEST=TARGET")]
    symlinks: Vec<String>,
    /// Add an empty directory.
    #[arg(long = "dir", value_name = "DEST")]
    dirs: Vec<String>,
    /// A kernel module tree (`lib/modules/<release>` with modules.dep) to take
    /// first-stage modules from.
    #[arg(long)]
    modules_dir: Option<PathBuf>,
    /// A module to include with its dependencies (repeatable; needs --modules-dir). They
    /// go flat into /lib/modules with an Android-form modules.dep and a modules.load.
    #[arg(long = "module", value_name = "NAME")]
    modules: Vec<String>,
}

fn split(arg: &str) -> Result<(&str, &str)> {
    match arg.split_once('=') {
        Some((a, b)) if !a.is_empty() && !b.is_empty() => Ok((a, b)),
        _ => bail!("expected DEST=VALUE, got {arg:?}"),
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let mut a = Archive::new();
    for d in &args.dirs {
        a.add_dir(d, 0o755)?;
    }
    for f in &args.files {
        let (dest, src) = split(f)?;
        a.add_host_file(dest, src.as_ref())?;
    }
    for t in &args.trees {
        let (dest, src) = split(t)?;
        a.add_host_tree(dest, src.as_ref())?;
    }
    for l in &args.symlinks {
        let (dest, target) = split(l)?;
        a.add_symlink(dest, target)?;
    }
    if !args.modules.is_empty() {
        let Some(tree) = &args.modules_dir else {
            bail!("--module needs --modules-dir");
        };
        let names: Vec<&str> = args.modules.iter().map(String::as_str).collect();
        let added = initramfs::add_kernel_modules(&mut a, tree, &names, "/lib/modules")?;
        eprintln!(
            "mkinitramfs: {} modules: {}",
            added.modules.len(),
            added.modules.join(" ")
        );
    }
    a.write_to(&args.out, args.gzip)
        .with_context(|| format!("writing {}", args.out.display()))?;
    Ok(())
}
