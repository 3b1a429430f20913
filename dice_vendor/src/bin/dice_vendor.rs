//! `dice_vendor`: host tool to verify and show DICE chains, handovers and dice_chain.raw
//! files (optionally against a DICE policy), print a vendor image's expected node, derive
//! a vendor node by hand, run the payload manager's next step, and time the derivation.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use dice_vendor::{
    derive_vendor_node, expected_vendor_node, inspect_chain_bytes, sample_handover,
    verify_chain_bytes, verify_with_policy, Handover, Policy, PolicyError, VendorMeasurement,
};
use zeroize::Zeroizing;

#[derive(Parser)]
#[command(about = "Android-profile DICE: verify, show and derive (Microdroid vendor node)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify a chain, handover or dice_chain.raw (signatures, linkage, hashes, encoding)
    /// and, with --policy, check it against a DICE policy. Exit status 0 only when the
    /// chain verifies and meets the policy.
    Verify {
        /// The file to verify.
        file: PathBuf,
        /// A DICE policy (text format; see the dice_vendor::policy documentation).
        #[arg(long)]
        policy: Option<PathBuf>,
    },
    /// Print the "Microdroid vendor" node a vendor image will produce (computed with the
    /// guest's code from the verified vbmeta, without booting).
    Expect {
        /// The vendor image (with its AVB footer).
        #[arg(long)]
        image: PathBuf,
        /// One JSON object (a relying party's allowlist entry).
        #[arg(long, conflicts_with = "policy")]
        json: bool,
        /// A DICE policy that accepts this node (security version at least this one).
        #[arg(long)]
        policy: bool,
    },
    /// The payload manager's next step: read dice_chain.raw, remove it, derive the next
    /// node, write the new dice_chain.raw, unmount /microdroid_resources (arguments as the
    /// guest's `dice_next` applet: --output FILE --code-hash HEX --authority-hash HEX …).
    NextStep {
        /// The applet's arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Print one line per certificate of a chain, handover or dice_chain.raw.
    Show {
        /// The file to show.
        file: PathBuf,
    },
    /// Derive the Microdroid vendor node and write dice_chain.raw.
    Derive {
        /// Parent handover file (`{1: CDI_Attest, 2: CDI_Seal, ? 3: chain}`).
        #[arg(
            long,
            required_unless_present = "sample_parent",
            conflicts_with = "sample_parent"
        )]
        parent: Option<PathBuf>,
        /// Use AOSP's sample chain as the parent instead of a file.
        #[arg(long)]
        sample_parent: bool,
        /// The vbmeta public key blob (AvbRSAPublicKeyHeader ‖ n ‖ rr).
        #[arg(long)]
        vbmeta_key_blob: PathBuf,
        /// The hashtree root digest, in hex.
        #[arg(long)]
        root_digest: String,
        /// The vbmeta rollback index.
        #[arg(long)]
        rollback_index: u64,
        /// Where to write dice_chain.raw (mode 0600, atomically).
        #[arg(long)]
        out: PathBuf,
    },
    /// Write AOSP's sample handover (the non-strict fallback parent).
    SampleHandover {
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Time vendor-node derivation and 6-certificate chain verification (medians).
    Bench {
        /// Runs per measurement.
        #[arg(long, default_value_t = 200)]
        iterations: usize,
    },
}

/// Reads a file that may hold CDIs into a buffer zeroized on drop.
fn read(path: &Path) -> Result<Zeroizing<Vec<u8>>> {
    Ok(Zeroizing::new(
        std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
    ))
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Verify { file, policy } => {
            let policy = policy
                .map(|p| {
                    let text =
                        std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
                    Policy::parse(&text).with_context(|| format!("{}", p.display()))
                })
                .transpose()?;
            let bytes = read(&file)?;
            let summary = match &policy {
                Some(p) => verify_with_policy(&bytes, p),
                None => verify_chain_bytes(&bytes).map_err(PolicyError::from),
            }
            .with_context(|| format!("{}", file.display()))?;
            println!(
                "OK: {:?} with {} certificate(s){}",
                summary.kind,
                summary.nodes.len(),
                if summary.has_cdis {
                    ", leaf key matches CDI_Attest"
                } else {
                    ""
                }
            );
            if let Some(p) = &policy {
                let constraints: usize = p.nodes.iter().map(|n| n.constraints.len()).sum();
                println!(
                    "OK: meets the policy ({constraints} constraint(s) on {} node(s){})",
                    p.nodes.len(),
                    p.certificates
                        .map(|n| format!(", {n} certificates"))
                        .unwrap_or_default()
                );
            }
        }
        Command::Expect {
            image,
            json,
            policy,
        } => {
            let node = expected_vendor_node(&image)?;
            if json {
                println!("{}", node.to_json());
            } else if policy {
                print!("{}", node.to_policy().to_text());
            } else {
                println!("component_name: {}", node.component_name);
                println!("code_hash: {}", avb::to_hex(&node.code_hash));
                println!("authority_hash: {}", avb::to_hex(&node.authority_hash));
                println!("security_version: {}", node.security_version);
                println!(
                    "config_descriptor: {}",
                    avb::to_hex(&node.config_descriptor)
                );
                println!("mode: {}", node.mode.name());
            }
        }
        Command::NextStep { args } => {
            println!(
                "{}",
                dice_vendor::next::cli(&args, &dice_vendor::next::SystemOps)?
            );
        }
        Command::Show { file } => {
            let summary = inspect_chain_bytes(&read(&file)?)
                .with_context(|| format!("{}", file.display()))?;
            println!("node 0: root key {}", avb::to_hex(&summary.root_public_key));
            for (i, node) in summary.nodes.iter().enumerate() {
                println!("{}", node.show_line(i + 1));
            }
        }
        Command::Derive {
            parent,
            sample_parent,
            vbmeta_key_blob,
            root_digest,
            rollback_index,
            out,
        } => {
            let parent_bytes = match (parent, sample_parent) {
                (Some(path), false) => read(&path)?,
                (None, true) => Zeroizing::new(sample_handover()?),
                _ => bail!("give exactly one of --parent and --sample-parent"),
            };
            let parent = Handover::parse(&parent_bytes)?;
            let key_blob = read(&vbmeta_key_blob)?;
            let Some(digest) = avb::from_hex(root_digest.trim()) else {
                bail!("--root-digest is not hex: {root_digest:?}");
            };
            let m = VendorMeasurement {
                public_key_blob: &key_blob,
                root_digest: &digest,
                rollback_index,
            };
            derive_vendor_node(&parent, &m)?.write_atomic(&out)?;
            println!("wrote {}", out.display());
        }
        Command::SampleHandover { out } => {
            std::fs::write(&out, sample_handover()?)
                .with_context(|| format!("writing {}", out.display()))?;
            println!("wrote {}", out.display());
        }
        Command::Bench { iterations } => {
            let report = dice_vendor::bench(iterations)?;
            println!(
                "iterations={} derive_median_us={} verify_6_node_median_us={}",
                report.iterations,
                report.derive_median.as_micros(),
                report.verify_6_node_median.as_micros()
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dice_vendor: {e:#}");
            ExitCode::FAILURE
        }
    }
}
