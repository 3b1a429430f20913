//! SELinux for the guest boot: file_contexts with libselinux semantics,
//! labelling, policy load.
//!
//! - [`FileContexts`]: parse file_contexts ([`FileContexts::parse`],
//!   [`FileContexts::load_android`]) and look paths up
//!   ([`FileContexts::lookup`]) exactly as libselinux 3.4's
//!   `selabel_lookup` does; regexes are translated to `regex-lite`
//!   ([`pattern`]) and whatever cannot be translated exactly is rejected.
//! - [`Labeler`]: `restorecon`-like labelling through [`XattrOps`].
//! - [`load_policy`], [`set_enforce`], [`selinux_active`]: the selinuxfs
//!   side of the first stage.
//! - [`exec_domain`]: the domain init starts a program in (its `seclabel`,
//!   or the policy's transition; refused when there is none).
//! - [`cli_main`]: the `sepolicy lookup` / `sepolicy restorecon` applet.
//!
//! Behaviour, decisions and measurements: `sepolicy/README.md`.

mod android;
mod cli;
mod context;
mod domain;
mod error;
mod file_contexts;
mod kind;
mod label;
pub mod pattern;
mod policy;
mod sys;
mod treble;

pub use android::{
    android_file_contexts_paths, ContextsFile, ANDROID_FILE_CONTEXTS, MAX_FILE_CONTEXTS_SIZE,
};
pub use cli::cli_main;
pub use domain::{exec_domain, DomainOps, KernelDomainOps};
pub use error::SepolicyError;
pub use file_contexts::{
    FileContexts, ParseError, ParseErrorKind, ParseErrors, ParseOutcome, NONE_CONTEXT,
};
pub use kind::FileKind;
pub use label::{
    FakeXattr, LabelFailure, Labeler, Relabel, RestoreconReport, SystemXattr, XattrOps,
    XATTR_NAME_SELINUX,
};
pub use pattern::{RegexError, RegexErrorKind, SpecRegex};
pub use policy::{load_policy, selinux_active, set_enforce};
