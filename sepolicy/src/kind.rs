//! File types: the file_contexts specifiers (`--`, `-d`, ...), the
//! `matchpathcon -m` class names and the `st_mode` type bits.

/// The file type a spec may be restricted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// Regular file (`--`, `file`).
    File,
    /// Directory (`-d`, `dir`).
    Dir,
    /// Character device (`-c`, `chr_file`).
    Chr,
    /// Block device (`-b`, `blk_file`).
    Blk,
    /// Symbolic link (`-l`, `lnk_file`).
    Lnk,
    /// Named pipe (`-p`, `fifo_file`).
    Fifo,
    /// Socket (`-s`, `sock_file`).
    Sock,
}

/// Mask of the file type bits of `st_mode`.
pub(crate) const S_IFMT: u32 = 0o170_000;

impl FileKind {
    /// All kinds, in specifier order.
    pub const ALL: [FileKind; 7] = [
        FileKind::File,
        FileKind::Dir,
        FileKind::Chr,
        FileKind::Blk,
        FileKind::Lnk,
        FileKind::Fifo,
        FileKind::Sock,
    ];

    /// The kind encoded in `mode & S_IFMT`, or `None` for 0 or an unknown type.
    pub fn from_mode(mode: u32) -> Option<FileKind> {
        Some(match mode & S_IFMT {
            0o100_000 => FileKind::File,
            0o040_000 => FileKind::Dir,
            0o020_000 => FileKind::Chr,
            0o060_000 => FileKind::Blk,
            0o120_000 => FileKind::Lnk,
            0o010_000 => FileKind::Fifo,
            0o140_000 => FileKind::Sock,
            _ => return None,
        })
    }

    /// The `S_IF*` value of this kind.
    pub fn mode_bits(self) -> u32 {
        match self {
            FileKind::File => 0o100_000,
            FileKind::Dir => 0o040_000,
            FileKind::Chr => 0o020_000,
            FileKind::Blk => 0o060_000,
            FileKind::Lnk => 0o120_000,
            FileKind::Fifo => 0o010_000,
            FileKind::Sock => 0o140_000,
        }
    }

    /// Parses a file_contexts type specifier (`--`, `-d`, `-c`, `-b`, `-l`,
    /// `-p`, `-s`), as libselinux's `string_to_mode`.
    pub fn from_specifier(s: &str) -> Option<FileKind> {
        Some(match s {
            "--" => FileKind::File,
            "-d" => FileKind::Dir,
            "-c" => FileKind::Chr,
            "-b" => FileKind::Blk,
            "-l" => FileKind::Lnk,
            "-p" => FileKind::Fifo,
            "-s" => FileKind::Sock,
            _ => return None,
        })
    }

    /// The file_contexts type specifier.
    pub fn specifier(self) -> &'static str {
        match self {
            FileKind::File => "--",
            FileKind::Dir => "-d",
            FileKind::Chr => "-c",
            FileKind::Blk => "-b",
            FileKind::Lnk => "-l",
            FileKind::Fifo => "-p",
            FileKind::Sock => "-s",
        }
    }

    /// Parses a security class name as accepted by `matchpathcon -m`.
    pub fn from_class_name(s: &str) -> Option<FileKind> {
        FileKind::ALL.into_iter().find(|k| k.class_name() == s)
    }

    /// The SELinux security class name (`file`, `dir`, `chr_file`, ...).
    pub fn class_name(self) -> &'static str {
        match self {
            FileKind::File => "file",
            FileKind::Dir => "dir",
            FileKind::Chr => "chr_file",
            FileKind::Blk => "blk_file",
            FileKind::Lnk => "lnk_file",
            FileKind::Fifo => "fifo_file",
            FileKind::Sock => "sock_file",
        }
    }
}

/// Which specs a lookup considers, from a mode as libselinux sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ModeFilter {
    /// Mode 0 / none given: every spec (matchpathcon semantics).
    Any,
    /// Untyped specs and specs of this kind.
    Kind(FileKind),
    /// A non-zero type no spec can name: untyped specs only.
    Unknown,
}

impl ModeFilter {
    /// The filter for a raw `st_mode` (libselinux compares `mode & S_IFMT`).
    pub(crate) fn from_mode(mode: u32) -> ModeFilter {
        match FileKind::from_mode(mode) {
            Some(kind) => ModeFilter::Kind(kind),
            None if mode & S_IFMT == 0 => ModeFilter::Any,
            None => ModeFilter::Unknown,
        }
    }

    /// Whether a spec restricted to `spec_kind` takes part.
    pub(crate) fn admits(self, spec_kind: Option<FileKind>) -> bool {
        match (self, spec_kind) {
            (_, None) | (ModeFilter::Any, _) => true,
            (ModeFilter::Kind(k), Some(s)) => k == s,
            (ModeFilter::Unknown, Some(_)) => false,
        }
    }
}

impl From<Option<FileKind>> for ModeFilter {
    fn from(kind: Option<FileKind>) -> ModeFilter {
        kind.map_or(ModeFilter::Any, ModeFilter::Kind)
    }
}
