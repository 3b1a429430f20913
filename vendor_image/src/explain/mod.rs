//! `vendor_image explain`: what the guest's first stage will do with a vendor image,
//! without booting it. It runs the first stage's own decision code (the `first_stage_init`
//! library: [`vendor::plan`], [`vendor::read_vbmeta`], [`vendor::check_digest`] with the
//! strict-boot descriptor rules, [`vendor::verity_target`], [`kmods::prepare`] and its
//! report lines, [`kmods::first_stage_verdict`], [`fatal::fatal_line`]) on the host's
//! inputs ([`BootConfig::from_parts`] from the command line, bootconfig and device tree)
//! in the guest's order of steps, and reports, phase by phase, what the guest would log
//! and the first `FIRST_STAGE_FATAL` line it would print, or `ok`. Beside that: the AVB
//! summary, the hash-tree check of `vendor_image info` ([`avb::verify_hashtree`]), the
//! dm-verity table (device numbers are the guest's: placeholders here), the DICE node
//! ([`ExpectedNode`]), the vendor module pass against a target kernel ([`modules`]) and
//! the lint of the image's rc, ueventd.rc and file_contexts with the guest's parsers
//! ([`lint`]).
//!
//! What files cannot say is named in the report and not guessed: whether the partition
//! is found (GPT name, `androidboot.boot_devices`), whether `/dev/open-dice0` appears on a
//! strict boot, and what the kernel's ext4 mount thinks of the filesystem.

mod dt;
mod json;
mod lint;
pub mod modules;
mod report;

use std::fs::File;
use std::path::PathBuf;

use boot_config::{BootConfig, DtProperty};
use dice_vendor::ExpectedNode;
use first_stage_init::fatal::{self, Fatal, Reason};
use first_stage_init::vendor::{self, VendorPlan};
use first_stage_init::{dice, kmods};

use crate::error::{io_err, Result};

pub use dt::read_dtb;
pub use lint::LintEntry;
pub use modules::{KernelTarget, ModulesReport};

/// The device numbers of the partition are the guest's: the table shows this instead.
pub const DEVICE_PLACEHOLDER: &str = "<major>:<minor>";

/// Where the expected root digest comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigestSource {
    /// A DTB: its `/avf/vendor_hashtree_descriptor_root_digest` (and `/chosen/avf,strict-boot`).
    Dtb(PathBuf),
    /// The property's value, verbatim (as the host would write it).
    Value(Vec<u8>),
    /// No digest in the device tree.
    Absent,
}

/// What the host gives the guest, and what to check the image against.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The vendor partition image.
    pub image: PathBuf,
    /// The device-tree digest.
    pub digest: DigestSource,
    /// The kernel command line.
    pub cmdline: String,
    /// The bootconfig text.
    pub bootconfig: String,
    /// Strict boot forced on (else the DTB's `/chosen/avf,strict-boot` decides).
    pub strict: bool,
    /// The kernel the guest boots, for the vendor module pass.
    pub kernel: Option<KernelTarget>,
    /// The initramfs's first-stage module directory (its `/lib/modules`), to predict the
    /// first-stage pass too.
    pub first_stage_modules: Option<PathBuf>,
}

/// One phase of the first stage and what the guest logs or does in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    /// The phase (`first_stage: phase=<name>`), or `inputs` for the decisions before any.
    pub name: &'static str,
    /// The guest's log lines (without the `first_stage: ` tag), and explain's notes in
    /// parentheses.
    pub lines: Vec<String>,
}

/// The AVB facts of the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvbSummary {
    /// Signing algorithm.
    pub algorithm: String,
    /// Rollback index (the node's security version).
    pub rollback_index: u64,
    /// SHA-1 of the public key blob (as avbtool prints it).
    pub public_key_sha1: String,
    /// The `microdroid-vendor` hashtree descriptor's root digest.
    pub root_digest: String,
    /// Its salt.
    pub salt: String,
    /// Its flags.
    pub flags: u32,
    /// Bytes of data under dm-verity.
    pub image_size: u64,
    /// The partition (file) size.
    pub partition_size: u64,
}

/// The hash-tree check (`vendor_image info`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashtreeReport {
    /// Data and stored tree match the descriptor.
    Verified {
        /// Data blocks checked.
        data_blocks: u64,
    },
    /// The first block dm-verity would refuse (its message), and the recomputed root.
    Corrupt {
        /// `data block N is corrupted …` / `metadata block N is corrupted`.
        block: String,
        /// The root digest of the data as it is.
        computed_root: String,
    },
    /// The check could not run (the tree is outside the file, …).
    Failed(String),
}

/// Everything `explain` found.
#[derive(Debug)]
pub struct Explanation {
    /// The decisions from the inputs.
    pub config: BootConfig,
    /// Phase by phase, up to the fatal error (if any).
    pub phases: Vec<Phase>,
    /// The first fatal error the guest would hit.
    pub fatal: Option<Fatal>,
    /// AVB facts (when the vbmeta verifies).
    pub avb: Option<AvbSummary>,
    /// The hash-tree check.
    pub hashtree: Option<HashtreeReport>,
    /// The guest's `dm-verity table: …` line with [`DEVICE_PLACEHOLDER`] for the devices.
    pub verity_table: Option<String>,
    /// The "Microdroid vendor" node.
    pub node: Option<ExpectedNode>,
    /// The vendor module pass.
    pub modules: Option<ModulesReport>,
    /// The first-stage module pass (with [`Inputs::first_stage_modules`]).
    pub first_stage: Option<ModulesReport>,
    /// Problems in the image's rc, ueventd.rc and file_contexts, as the guest reports them.
    pub lint: Vec<LintEntry>,
    /// What explain could not tell, or chose not to follow.
    pub notes: Vec<String>,
}

impl Explanation {
    /// The guest's fatal line, byte for byte, if it stops.
    pub fn fatal_line(&self) -> Option<String> {
        self.fatal.as_ref().map(fatal::fatal_line)
    }

    /// `ok`, or the fatal token.
    pub fn outcome(&self) -> &'static str {
        self.fatal.as_ref().map_or("ok", |f| f.reason.token())
    }

    /// The fatal detail, or empty.
    pub fn detail(&self) -> &str {
        self.fatal.as_ref().map_or("", |f| f.detail.as_str())
    }

    /// Whether the guest would get through the first stage and read the whole image
    /// without dm-verity refusing a block.
    pub fn boots(&self) -> bool {
        self.fatal.is_none() && !matches!(self.hashtree, Some(HashtreeReport::Corrupt { .. }))
    }

    fn phase(&mut self, name: &'static str, lines: Vec<String>) {
        self.phases.push(Phase { name, lines });
    }
}

/// The hashtree descriptor the guest uses.
const PARTITION: &str = vendor::VENDOR_PARTITION;

/// Runs the first stage's decisions on `inputs`. `Err` only when an input cannot be read
/// (the DTB, the first-stage module directory); everything about the image is part of
/// the answer.
pub fn explain(inputs: &Inputs) -> Result<Explanation> {
    let (dt_strict, digest) = match &inputs.digest {
        DigestSource::Dtb(p) => {
            let bytes = std::fs::read(p).map_err(io_err(format!("reading {}", p.display())))?;
            read_dtb(&bytes)?
        }
        DigestSource::Value(v) => (false, DtProperty::Present(dt::bounded(v))),
        DigestSource::Absent => (false, DtProperty::Absent),
    };
    let config = BootConfig::from_parts(
        &inputs.cmdline,
        &inputs.bootconfig,
        inputs.strict || dt_strict,
        digest,
    );
    let mut x = Explanation {
        config: config.clone(),
        phases: Vec::new(),
        fatal: None,
        avb: None,
        hashtree: None,
        verity_table: None,
        node: None,
        modules: None,
        first_stage: None,
        lint: Vec::new(),
        notes: Vec::new(),
    };
    let first_stage = inputs
        .first_stage_modules
        .as_deref()
        .map(|dir| modules::first_stage_pass(dir, inputs.kernel.as_ref(), &config))
        .transpose()?;
    let loaded_first: Vec<String> = first_stage
        .as_ref()
        .map(|r| r.loaded.clone())
        .unwrap_or_default();
    x.first_stage = first_stage;
    describe_image(&mut x, inputs, &config, &loaded_first);
    if let Err(f) = run(&mut x, inputs, &config) {
        x.fatal = Some(f);
    }
    Ok(x)
}

/// The first stage's steps in its order; the first `Err` is the guest's fatal error.
fn run(x: &mut Explanation, inputs: &Inputs, cfg: &BootConfig) -> std::result::Result<(), Fatal> {
    let plan = vendor::plan(cfg).inspect_err(|_| {
        x.phase("inputs", vec![format!("(decisions: {})", cfg.describe())]);
    })?;
    x.phase("inputs", vec![vendor::boot_line(cfg, &plan)]);
    let modules_problem = x.first_stage.as_ref().and_then(|r| r.problem.clone());
    let modules_lines = x
        .first_stage
        .as_ref()
        .map(ModulesReport::guest_lines)
        .unwrap_or_else(|| {
            vec!["(first-stage modules not checked: give --first-stage-modules)".to_owned()]
        });
    let expected = match &plan {
        VendorPlan::Skip { why } => {
            x.phase("partition", vec![vendor::skip_line(why)]);
            x.phase("modules", modules_lines);
            let going_on = kmods::first_stage_verdict(modules_problem.as_deref(), cfg, false)?;
            if going_on {
                x.phases
                    .last_mut()
                    .into_iter()
                    .for_each(|p| p.lines.push(kmods::GOING_ON.to_owned()));
            }
            if cfg.strict_boot {
                x.phase("dice_driver", vec![driver_note()]);
            }
            x.phase("selinux", vec![selinux_line(cfg)]);
            return Ok(());
        }
        VendorPlan::Mount { expected_digest } => expected_digest.clone(),
    };
    x.phase(
        "partition",
        vec![format!(
            "(the image stands for the partition: the guest waits up to {} s for a block \
             device with PARTNAME={PARTITION}, on androidboot.boot_devices when set)",
            vendor::PARTITION_TIMEOUT.as_secs()
        )],
    );
    // The vbmeta is read while the modules load; a module failure is reported first.
    let vbmeta = vendor::read_vbmeta(&inputs.image);
    x.phase("modules", modules_lines);
    kmods::first_stage_verdict(modules_problem.as_deref(), cfg, true)?;
    let vbmeta = vbmeta?;
    let desc = vendor::check_digest(&vbmeta, &expected, cfg.strict_boot)?;
    x.phase("vbmeta", vec![vendor::vbmeta_line(&vbmeta)]);
    if cfg.strict_boot {
        x.phase("dice_driver", vec![driver_note()]);
    }
    // The DICE node is derived while dm-verity is set up; its failure is reported first.
    let node = ExpectedNode::vendor(&dice::measurement(&vbmeta, desc)).map_err(|e| {
        Fatal::new(
            Reason::from_token(e.reason()).unwrap_or(Reason::DiceDerive),
            e.to_string(),
        )
    })?;
    let target = vendor::verity_target(desc, DEVICE_PLACEHOLDER)?;
    x.phase(
        "verity",
        vec![
            "(BLKROSET on the partition)".to_owned(),
            vendor::table_line(&target),
        ],
    );
    let mut mount = vec![format!(
        "vendor: /dev/block/mapper/{} mounted read-only on /vendor",
        vendor::VERITY_NAME
    )];
    if let Some(HashtreeReport::Corrupt { block, .. }) = &x.hashtree {
        mount.push(format!(
            "(dm-verity will refuse {block}: the kernel restarts the VM ('dm-verity device \
             corrupted') when the mount or a read reaches it)"
        ));
    }
    x.phase("vendor_mount", mount);
    x.phase(
        "dice",
        vec![format!(
            "dice: \"Microdroid vendor\" node written to {}/{} (parent: {})",
            dice::RESOURCES_DIR,
            dice::CHAIN_FILE,
            if cfg.strict_boot {
                "Device"
            } else {
                "Device, or Sample without /dev/open-dice0"
            }
        )],
    );
    x.node = Some(node);
    let vendor_lines = x
        .modules
        .as_ref()
        .map(ModulesReport::guest_lines)
        .unwrap_or_default();
    x.phase("vendor_modules", vendor_lines);
    x.phase("selinux", vec![selinux_line(cfg)]);
    Ok(())
}

fn driver_note() -> String {
    format!(
        "(strict boot: the guest waits up to {} s for {} and stops with DICE_DRIVER_MISSING \
         without it; files cannot say whether the VM has the driver)",
        dice::DRIVER_TIMEOUT.as_secs(),
        dice::DRIVER
    )
}

fn selinux_line(cfg: &BootConfig) -> String {
    let mode = cfg.selinux_mode();
    format!(
        "selinux: policy loaded (… bytes); {}: {}",
        if mode.enforcing {
            "enforcing"
        } else {
            "permissive"
        },
        mode.why
    )
}

/// Everything about the image that does not depend on the boot's order: AVB, the hash
/// tree, and the files (modules and lint).
fn describe_image(x: &mut Explanation, inputs: &Inputs, cfg: &BootConfig, loaded_first: &[String]) {
    let Ok(mut f) = File::open(&inputs.image) else {
        x.notes
            .push(format!("{}: cannot be opened", inputs.image.display()));
        return;
    };
    match avb::read_vbmeta_from_device(&mut f) {
        Ok(v) => {
            // The facts of the named descriptor even when strict boot refuses it (the
            // phases say so).
            if let Ok(d) = v.hashtree_descriptor(PARTITION) {
                x.avb = Some(AvbSummary {
                    algorithm: v.algorithm().name().to_owned(),
                    rollback_index: v.rollback_index(),
                    public_key_sha1: avb::to_hex(&openssl::sha::sha1(v.public_key_blob())),
                    root_digest: avb::to_hex(&d.root_digest),
                    salt: avb::to_hex(&d.salt),
                    flags: d.flags,
                    image_size: d.image_size,
                    partition_size: v.partition_size(),
                });
                x.node = ExpectedNode::vendor(&dice::measurement(&v, d)).ok();
                x.verity_table = vendor::verity_target(d, DEVICE_PLACEHOLDER)
                    .ok()
                    .map(|t| vendor::table_line(&t));
                x.hashtree = Some(match avb::verify_hashtree(&f, d, 0) {
                    Ok(avb::HashtreeCheck::Verified { data_blocks, .. }) => {
                        HashtreeReport::Verified { data_blocks }
                    }
                    Ok(avb::HashtreeCheck::Corrupt {
                        computed_root,
                        block,
                    }) => HashtreeReport::Corrupt {
                        block: block.to_string(),
                        computed_root: avb::to_hex(&computed_root),
                    },
                    Err(e) => HashtreeReport::Failed(e.to_string()),
                });
            }
        }
        Err(e) => x.notes.push(format!("vbmeta: {e}")),
    }
    match modules::image_files(&inputs.image) {
        Ok(files) => {
            x.notes.extend(files.notes());
            x.lint = lint::lint(files.root(), files.symlinks());
            x.modules = Some(modules::vendor_pass(
                &files,
                inputs.kernel.as_ref(),
                cfg,
                loaded_first,
            ));
        }
        Err(e) => x.notes.push(format!(
            "the image's files could not be read ({e}): the guest's ext4 mount may fail \
             (VENDOR_MOUNT); no module plan, no lint"
        )),
    }
}

/// The text report.
pub fn to_text(x: &Explanation) -> String {
    report::text(x)
}

/// The JSON report: one object.
pub fn to_json(x: &Explanation) -> String {
    report::json(x)
}
