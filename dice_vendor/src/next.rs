//! The payload manager's next step (AVF `microdroid_manager`): read the vendor node's
//! `dice_chain.raw`, delete it, derive the next node ("Microdroid payload"-style inputs
//! given on the command line), write the new `dice_chain.raw`, and unmount
//! `/microdroid_resources`.
//!
//! What AVF does, in this order: `DiceDriver::from_file` reads
//! `/microdroid_resources/dice_chain.raw` and removes the file at once; after the payload's
//! DICE derivation, `umount2("/microdroid_resources", MNT_DETACH)` ("a defence-in-depth
//! effort to ensure that payload can't get hold of dice chain stored there"). The file is
//! removed even when the derivation then fails, as in AVF.
//!
//! Arguments are parsed by hand ([`parse_args`]) so the same code serves the guest's
//! static multi-call binary (no clap) and the host's `dice_vendor next-step`:
//!
//! ```text
//! --output FILE                 where the new dice_chain.raw goes (required; 0600, atomic)
//! --input FILE                  default /microdroid_resources/dice_chain.raw
//! --resources DIR               unmounted afterwards; default /microdroid_resources
//! --no-unmount                  leave it mounted (host use)
//! --component-name NAME         default "Microdroid payload"
//! --component-version N         optional
//! --security-version N          optional
//! --code-hash HEX | --code-file FILE            64-byte hash, or SHA-512 of the file
//! --authority-hash HEX | --authority-file FILE  likewise
//! --mode normal|debug|maintenance|not-initialized   default normal
//! --hidden HEX                  64 bytes; default all zero
//! ```

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::config_descriptor::ConfigValues;
use crate::crypto::sha512;
use crate::dice::{Config, InputValues, Mode, HASH_SIZE, HIDDEN_SIZE};
use crate::dice_chain_raw::DiceChainRaw;
use crate::error::DiceError;
use crate::handover::{main_flow, Handover};

/// The file the first stage writes.
pub const DEFAULT_INPUT: &str = "/microdroid_resources/dice_chain.raw";
/// The tmpfs it lives on.
pub const DEFAULT_RESOURCES: &str = "/microdroid_resources";
/// AVF's payload component name.
pub const PAYLOAD_COMPONENT_NAME: &str = "Microdroid payload";

/// The privileged operation of the step, behind a trait so tests record it.
pub trait ResourcesOps {
    /// Detaches the mount at `dir` (`umount2(dir, MNT_DETACH)`).
    fn unmount(&self, dir: &Path) -> std::io::Result<()>;
}

/// The real system call.
pub struct SystemOps;

impl ResourcesOps for SystemOps {
    fn unmount(&self, dir: &Path) -> std::io::Result<()> {
        crate::sys::umount_detach(dir)
    }
}

/// What the next node measures, and where things are.
#[derive(Clone, PartialEq, Eq)]
pub struct NextStep {
    /// The parent `dice_chain.raw`.
    pub input: PathBuf,
    /// The new `dice_chain.raw`.
    pub output: PathBuf,
    /// The mount to detach afterwards (`None`: leave it).
    pub unmount: Option<PathBuf>,
    /// Component name (−70002).
    pub component_name: String,
    /// Component version (−70003).
    pub component_version: Option<u64>,
    /// Security version (−70005).
    pub security_version: Option<u64>,
    /// Code hash.
    pub code_hash: [u8; HASH_SIZE],
    /// Authority hash.
    pub authority_hash: [u8; HASH_SIZE],
    /// Mode.
    pub mode: Mode,
    /// Hidden input (secret-ish: never printed).
    pub hidden: Zeroizing<[u8; HIDDEN_SIZE]>,
}

impl std::fmt::Debug for NextStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NextStep")
            .field("input", &self.input)
            .field("output", &self.output)
            .field("unmount", &self.unmount)
            .field("component_name", &self.component_name)
            .field("security_version", &self.security_version)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl NextStep {
    /// The DICE inputs of the next node.
    pub fn inputs(&self) -> InputValues {
        InputValues {
            code_hash: self.code_hash,
            config: Config::Descriptor(
                ConfigValues {
                    component_name: Some(self.component_name.clone()),
                    component_version: self.component_version,
                    security_version: self.security_version,
                    ..ConfigValues::default()
                }
                .encode(),
            ),
            authority_hash: self.authority_hash,
            code_descriptor: None,
            authority_descriptor: None,
            mode: self.mode,
            hidden: *self.hidden,
        }
    }
}

/// Why the step failed.
#[derive(Debug, thiserror::Error)]
pub enum NextError {
    /// Bad arguments.
    #[error("{0}")]
    Usage(String),
    /// Reading, deriving or writing failed.
    #[error(transparent)]
    Dice(#[from] DiceError),
    /// Removing the input or unmounting failed.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// The operation.
        what: &'static str,
        /// Its path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

fn usage(msg: impl Into<String>) -> NextError {
    NextError::Usage(msg.into())
}

fn hash_arg(
    name: &str,
    hex: Option<&str>,
    file: Option<&str>,
) -> Result<[u8; HASH_SIZE], NextError> {
    match (hex, file) {
        (Some(h), None) => avb::from_hex(h)
            .and_then(|b| <[u8; HASH_SIZE]>::try_from(b).ok())
            .ok_or_else(|| usage(format!("--{name}-hash must be {HASH_SIZE} bytes of hex"))),
        (None, Some(f)) => std::fs::read(f)
            .map(|data| sha512(&data))
            .map_err(|source| NextError::Io {
                what: "reading",
                path: f.into(),
                source,
            }),
        (Some(_), Some(_)) => Err(usage(format!(
            "give one of --{name}-hash and --{name}-file"
        ))),
        (None, None) => Err(usage(format!(
            "--{name}-hash HEX or --{name}-file FILE is required"
        ))),
    }
}

/// Parses the arguments after the program name (see the module documentation).
pub fn parse_args<S: AsRef<str>>(args: &[S]) -> Result<NextStep, NextError> {
    let mut input = DEFAULT_INPUT.to_owned();
    let mut resources = Some(DEFAULT_RESOURCES.to_owned());
    let mut output = None;
    let mut component_name = PAYLOAD_COMPONENT_NAME.to_owned();
    let (mut component_version, mut security_version) = (None, None);
    let (mut code_hash, mut code_file, mut authority_hash, mut authority_file) =
        (None, None, None, None);
    let mut mode = Mode::Normal;
    let mut hidden = Zeroizing::new([0u8; HIDDEN_SIZE]);
    let mut it = args.iter().map(AsRef::as_ref);
    while let Some(flag) = it.next() {
        if flag == "--no-unmount" {
            resources = None;
            continue;
        }
        let mut value = || {
            it.next()
                .ok_or_else(|| usage(format!("{flag} needs a value")))
        };
        let number = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| usage(format!("{flag} {v:?} is not a decimal integer")))
        };
        match flag {
            "--input" => input = value()?.to_owned(),
            "--output" => output = Some(value()?.to_owned()),
            "--resources" => resources = Some(value()?.to_owned()),
            "--component-name" => component_name = value()?.to_owned(),
            "--component-version" => component_version = Some(number(value()?)?),
            "--security-version" => security_version = Some(number(value()?)?),
            "--code-hash" => code_hash = Some(value()?),
            "--code-file" => code_file = Some(value()?),
            "--authority-hash" => authority_hash = Some(value()?),
            "--authority-file" => authority_file = Some(value()?),
            "--mode" => {
                let v = value()?;
                mode = Mode::from_name(v).ok_or_else(|| {
                    usage(format!(
                        "--mode {v:?} is not normal, debug, maintenance or not-initialized"
                    ))
                })?;
            }
            "--hidden" => {
                let v = Zeroizing::new(value()?.to_owned());
                let bytes = Zeroizing::new(avb::from_hex(&v).unwrap_or_default());
                if bytes.len() != HIDDEN_SIZE {
                    return Err(usage(format!(
                        "--hidden must be {HIDDEN_SIZE} bytes of hex"
                    )));
                }
                hidden.copy_from_slice(&bytes);
            }
            other => return Err(usage(format!("unknown argument {other:?}"))),
        }
    }
    let output = PathBuf::from(output.ok_or_else(|| usage("--output FILE is required"))?);
    let unmount = resources.map(PathBuf::from);
    if let Some(dir) = &unmount {
        if output.starts_with(dir) {
            return Err(usage(format!(
                "--output {} is inside {}, which is unmounted afterwards",
                output.display(),
                dir.display()
            )));
        }
    }
    if component_name.is_empty() {
        return Err(usage("--component-name is empty"));
    }
    Ok(NextStep {
        input: input.into(),
        output,
        unmount,
        component_name,
        component_version,
        security_version,
        code_hash: hash_arg("code", code_hash, code_file)?,
        authority_hash: hash_arg("authority", authority_hash, authority_file)?,
        mode,
        hidden,
    })
}

/// What the step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextReport {
    /// Certificates in the new chain.
    pub certificates: usize,
}

/// Runs the step: read and remove the input, derive, write the output, unmount.
pub fn run(step: &NextStep, ops: &dyn ResourcesOps) -> Result<NextReport, NextError> {
    let parent = DiceChainRaw::read(&step.input);
    // AVF removes the file as soon as it is read, whatever follows.
    std::fs::remove_file(&step.input).map_err(|source| NextError::Io {
        what: "removing",
        path: step.input.clone(),
        source,
    })?;
    let parent = parent?;
    let handover = Handover::new(
        &parent.cdi_attest,
        &parent.cdi_seal,
        Some(parent.bcc.clone()),
    );
    let next = main_flow(&handover, &step.inputs())?;
    let raw = DiceChainRaw::from_handover(&next)
        .ok_or(DiceError::Measurement("the main flow returned no chain"))?;
    raw.write_atomic(&step.output)?;
    if let Some(dir) = &step.unmount {
        ops.unmount(dir).map_err(|source| NextError::Io {
            what: "unmounting",
            path: dir.clone(),
            source,
        })?;
    }
    let certificates = crate::handover::chain_entries(&raw.bcc)
        .map(|e| e.len().saturating_sub(1))
        .unwrap_or_default();
    Ok(NextReport { certificates })
}

/// The applet / subcommand: parses `args` (after the program name), runs the step with
/// `ops` and returns the line to print.
pub fn cli<S: AsRef<str>>(args: &[S], ops: &dyn ResourcesOps) -> Result<String, NextError> {
    let step = parse_args(args)?;
    let report = run(&step, ops)?;
    Ok(format!(
        "dice_next: {:?} node written to {} ({} certificates); removed {}{}",
        step.component_name,
        step.output.display(),
        report.certificates,
        step.input.display(),
        step.unmount
            .as_ref()
            .map(|d| format!("; unmounted {}", d.display()))
            .unwrap_or_default()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::verify_chain_bytes;
    use std::cell::RefCell;

    /// Records unmounts; fails them when asked.
    #[derive(Default)]
    struct Recorder {
        unmounted: RefCell<Vec<PathBuf>>,
        fail: bool,
    }

    impl ResourcesOps for Recorder {
        fn unmount(&self, dir: &Path) -> std::io::Result<()> {
            self.unmounted.borrow_mut().push(dir.to_owned());
            if self.fail {
                Err(std::io::ErrorKind::ResourceBusy.into())
            } else {
                Ok(())
            }
        }
    }

    fn vendor_chain(dir: &Path) -> PathBuf {
        let parent = Handover::parse(&crate::source::sample_handover().unwrap()).unwrap();
        let m = crate::VendorMeasurement {
            public_key_blob: &[1; 8],
            root_digest: &[2; 32],
            rollback_index: 3,
        };
        let p = dir.join("dice_chain.raw");
        crate::derive_vendor_node(&parent, &m)
            .unwrap()
            .write_atomic(&p)
            .unwrap();
        p
    }

    #[test]
    fn derives_the_payload_node_removes_the_file_and_unmounts() {
        let d = tempfile::tempdir().unwrap();
        let res = d.path().join("res");
        std::fs::create_dir(&res).unwrap();
        let input = vendor_chain(&res);
        let out = d.path().join("out/payload.raw");
        std::fs::create_dir(d.path().join("out")).unwrap();
        let code = "11".repeat(64);
        let args = [
            "--input",
            input.to_str().unwrap(),
            "--resources",
            res.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
            "--code-hash",
            &code,
            "--authority-hash",
            &"22".repeat(64),
            "--security-version",
            "5",
            "--component-version",
            "2",
        ];
        let rec = Recorder::default();
        let line = cli(&args, &rec).unwrap();
        assert!(
            line.starts_with("dice_next: \"Microdroid payload\" node written to "),
            "{line}"
        );
        assert!(line.contains("(5 certificates); removed "), "{line}");
        assert!(
            line.ends_with(&format!("; unmounted {}", res.display())),
            "{line}"
        );
        assert!(!input.exists());
        assert_eq!(*rec.unmounted.borrow(), vec![res.clone()]);
        let chain = verify_chain_bytes(&std::fs::read(&out).unwrap()).unwrap();
        assert!(chain.has_cdis);
        let names: Vec<_> = chain
            .nodes
            .iter()
            .map(|n| n.component_name.clone().unwrap_or_default())
            .collect();
        assert_eq!(names[3..], ["Microdroid vendor", "Microdroid payload"]);
        let leaf = chain.nodes.last().unwrap();
        assert_eq!(avb::to_hex(&leaf.code_hash), code);
        assert_eq!(leaf.security_version, Some(5));
        assert_eq!(leaf.mode, Mode::Normal);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn failures_still_remove_the_input() {
        let d = tempfile::tempdir().unwrap();
        let input = d.path().join("dice_chain.raw");
        std::fs::write(&input, b"\xa0").unwrap();
        let out = d.path().join("o.raw");
        let args = [
            "--input",
            input.to_str().unwrap(),
            "--no-unmount",
            "--output",
            out.to_str().unwrap(),
            "--code-hash",
            &"00".repeat(64),
            "--authority-hash",
            &"00".repeat(64),
        ];
        let rec = Recorder::default();
        let e = cli(&args, &rec).unwrap_err();
        assert!(e.to_string().contains("invalid dice_chain.raw"), "{e}");
        assert!(!input.exists() && !out.exists());
        assert!(rec.unmounted.borrow().is_empty());
        // Missing input: nothing to remove, an error naming it.
        let e = cli(&args, &rec).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("removing {}", input.display())),
            "{e}"
        );
        // Unmount failure is reported after the output is written.
        let res = d.path().join("res");
        std::fs::create_dir(&res).unwrap();
        let input = vendor_chain(&res);
        let failing = Recorder {
            fail: true,
            ..Default::default()
        };
        let args = [
            "--input",
            input.to_str().unwrap(),
            "--resources",
            res.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
            "--code-file",
            input.to_str().unwrap(),
            "--authority-hash",
            &"00".repeat(64),
        ];
        let e = cli(&args, &failing).unwrap_err();
        assert!(e.to_string().starts_with("unmounting "), "{e}");
        assert!(out.exists() && !input.exists());
    }

    #[test]
    fn bad_arguments() {
        let h = "00".repeat(64);
        let cases: &[(&[&str], &str)] = &[
            (&[], "--output FILE is required"),
            (&["--output"], "needs a value"),
            (
                &["--output", "/o", "--authority-hash", &h],
                "--code-hash HEX or --code-file",
            ),
            (
                &[
                    "--output",
                    "/o",
                    "--code-hash",
                    "00",
                    "--authority-hash",
                    &h,
                ],
                "64 bytes of hex",
            ),
            (
                &[
                    "--output",
                    "/o",
                    "--code-hash",
                    &h,
                    "--code-file",
                    "/x",
                    "--authority-hash",
                    &h,
                ],
                "one of",
            ),
            (
                &[
                    "--output",
                    "/o",
                    "--code-hash",
                    &h,
                    "--authority-hash",
                    &h,
                    "--mode",
                    "weird",
                ],
                "is not normal",
            ),
            (
                &[
                    "--output",
                    "/o",
                    "--code-hash",
                    &h,
                    "--authority-hash",
                    &h,
                    "--security-version",
                    "-1",
                ],
                "not a decimal",
            ),
            (
                &[
                    "--output",
                    "/o",
                    "--code-hash",
                    &h,
                    "--authority-hash",
                    &h,
                    "--hidden",
                    "00",
                ],
                "--hidden must be",
            ),
            (
                &[
                    "--output",
                    "/microdroid_resources/x",
                    "--code-hash",
                    &h,
                    "--authority-hash",
                    &h,
                ],
                "inside /microdroid_resources",
            ),
            (&["--output", "/o", "--frob"], "unknown argument"),
            (
                &[
                    "--output",
                    "/o",
                    "--code-hash",
                    &h,
                    "--authority-hash",
                    &h,
                    "--component-name",
                    "",
                ],
                "empty",
            ),
        ];
        for (args, needle) in cases {
            let e = parse_args(args).unwrap_err().to_string();
            assert!(e.contains(needle), "{args:?}: {e}");
        }
        let ok = parse_args(&[
            "--output",
            "/o",
            "--code-hash",
            &h,
            "--authority-hash",
            &h,
            "--mode",
            "debug",
            "--hidden",
            &"ab".repeat(64),
        ])
        .unwrap();
        assert_eq!(ok.mode, Mode::Debug);
        assert_eq!(ok.unmount.as_deref(), Some(Path::new(DEFAULT_RESOURCES)));
        assert_eq!(ok.input, Path::new(DEFAULT_INPUT));
        assert!(!format!("{ok:?}").contains("abab"));
    }
}
