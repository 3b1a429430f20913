//! Reproducible initramfs images: an in-memory tree written as a newc ("070701") cpio
//! archive, optionally gzip-compressed.
//!
//! Reproducibility: entries are written sorted by path (parents before children), every
//! entry has owner 0:0 and the same mtime, inode numbers are assigned in that order, and
//! the gzip header carries no name or time. The same inputs give the same bytes.

pub mod archive;
pub mod modules;
pub mod newc;

pub use archive::{Archive, ArchiveError, Entry};
pub use modules::{add_kernel_modules, AddedModules, ModulesError};
