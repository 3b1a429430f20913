//! `vendor_image`: build, inspect and package the Microdroid vendor image (host tool).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use avb::{Algorithm, Descriptor};
use clap::{Parser, Subcommand};
use vendor_image::{dtb, explain, VendorImageOptions, DEFAULT_PARTITION_NAME};

#[derive(Parser)]
#[command(
    name = "vendor_image",
    about = "Build and inspect the signed microdroid-vendor image"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build ext4(SRC) + hash tree + signed vbmeta + AVB footer.
    Build {
        /// Directory to put in the image.
        #[arg(long)]
        src: PathBuf,
        /// Output image.
        #[arg(long)]
        out: PathBuf,
        /// PEM RSA private key.
        #[arg(long)]
        key: PathBuf,
        /// Signing algorithm (default: SHA256 with the key's size).
        #[arg(long)]
        algorithm: Option<Algorithm>,
        /// Hash tree salt in hex (default: random).
        #[arg(long)]
        salt: Option<String>,
        /// vbmeta rollback index.
        #[arg(long, default_value_t = 0)]
        rollback_index: u64,
        /// Partition name in the hashtree descriptor.
        #[arg(long, default_value = DEFAULT_PARTITION_NAME)]
        partition_name: String,
        /// ext4 size in bytes (default: content + margin).
        #[arg(long)]
        ext4_size: Option<u64>,
        /// Partition size in bytes (default: just large enough).
        #[arg(long)]
        partition_size: Option<u64>,
        /// Print only the DT digest value on stdout.
        #[arg(long)]
        print_digest: bool,
        /// Label every file from this file_contexts (paths as mounted at /vendor), like
        /// e2fsdroid.
        #[arg(long)]
        file_contexts: Option<PathBuf>,
    },
    /// Verify an image and print its footer, vbmeta and descriptors (like avbtool
    /// info_image), then recompute every hash tree from the data and compare it with the
    /// descriptor's root digest and the stored tree (like avbtool verify_image); fails
    /// naming the first corrupted block as dm-verity numbers it.
    Info {
        /// The image.
        image: PathBuf,
    },
    /// Put the Microdroid vendor image's root digest into a host image's footer vbmeta as
    /// the property `com.android.build.microdroid-vendor.root_digest` (lowercase hex, as
    /// AOSP's build does for the host vendor.img), re-signing that vbmeta.
    AddReferenceDigest {
        /// The host image (e.g. the device's vendor.img) with a signed AVB footer; changed
        /// in place.
        #[arg(long)]
        host_image: PathBuf,
        /// The Microdroid vendor image whose root digest is recorded (verified first).
        #[arg(long)]
        vendor_image: PathBuf,
        /// PEM RSA private key that re-signs the host image's vbmeta.
        #[arg(long)]
        key: PathBuf,
    },
    /// Say what the guest's first stage will do with an image, without booting: its own
    /// decisions on these inputs, phase by phase, and the FIRST_STAGE_FATAL line it
    /// would print (or ok); the AVB summary, the hash-tree check, the dm-verity table,
    /// the DICE node, the module plan against a kernel and the lint of the image's rc,
    /// ueventd.rc and file_contexts. Exit status 0 when the guest gets through the first
    /// stage with an intact hash tree, 1 when not.
    #[command(group(clap::ArgGroup::new("digest_source").required(true).args(["dtb", "digest", "no_digest"])))]
    Explain {
        /// The vendor partition image.
        #[arg(long)]
        image: PathBuf,
        /// The guest's DTB: /avf/vendor_hashtree_descriptor_root_digest and
        /// /chosen/avf,strict-boot as the guest reads them.
        #[arg(long)]
        dtb: Option<PathBuf>,
        /// The digest property's value, verbatim (not validated: the guest does that).
        #[arg(long)]
        digest: Option<String>,
        /// No digest in the device tree.
        #[arg(long)]
        no_digest: bool,
        /// The kernel command line (default: what the host passes with a vendor image).
        #[arg(long, default_value = "androidboot.microdroid.mount_vendor=1")]
        cmdline: String,
        /// A /proc/bootconfig file.
        #[arg(long)]
        bootconfig: Option<PathBuf>,
        /// Strict boot (also set by the DTB's /chosen/avf,strict-boot).
        #[arg(long)]
        strict: bool,
        /// The guest kernel's release (uname -r), for the vendor module pass.
        #[arg(long, requires = "modules_dir")]
        kernel_release: Option<String>,
        /// That kernel's module tree (/lib/modules/<release>): its version magic,
        /// machine and modules.builtin.
        #[arg(long, requires = "kernel_release")]
        modules_dir: Option<PathBuf>,
        /// The initramfs's first-stage module directory (its /lib/modules), to predict
        /// that pass too.
        #[arg(long)]
        first_stage_modules: Option<PathBuf>,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the device-tree digest value of a verified image.
    Digest {
        /// The image.
        image: PathBuf,
        /// Hashtree descriptor to use.
        #[arg(long, default_value = DEFAULT_PARTITION_NAME)]
        partition_name: String,
    },
    /// Make a GPT disk from NAME=IMAGE pairs (1 MiB aligned).
    Disk {
        /// Output disk image.
        #[arg(long)]
        out: PathBuf,
        /// Partitions as NAME=IMAGE.
        #[arg(required = true)]
        partitions: Vec<String>,
    },
    /// Copy a QEMU-dumped DTB, adding /avf and /chosen/avf,strict-boot.
    Dtb {
        /// Base DTB (qemu -machine dumpdtb=...).
        #[arg(long)]
        base: PathBuf,
        /// Output DTB.
        #[arg(long)]
        out: PathBuf,
        /// Root digest (lowercase hex; validated).
        #[arg(long, conflicts_with = "digest_raw")]
        digest: Option<String>,
        /// Property value written verbatim, unvalidated (adversarial tests).
        #[arg(long)]
        digest_raw: Option<String>,
        /// Add the empty /chosen/avf,strict-boot property.
        #[arg(long)]
        strict_boot: bool,
    },
    /// Compute a file's dm-verity hash tree; print root digest and throughput.
    Hashtree {
        /// Input file.
        #[arg(long = "in")]
        input: PathBuf,
        /// Salt in hex (default: none).
        #[arg(long, default_value = "")]
        salt: String,
        /// Data and hash block size.
        #[arg(long, default_value_t = 4096)]
        block_size: u32,
        /// Threads (0 = all cores).
        #[arg(long, default_value_t = 0)]
        threads: usize,
    },
    /// Generate an RSA signing key (PEM, mode 0600).
    Genkey {
        /// Modulus size: 2048, 4096 or 8192.
        #[arg(long, default_value_t = 4096)]
        bits: u32,
        /// Output PEM file.
        #[arg(long)]
        out: PathBuf,
    },
}

fn hex_arg(s: &str) -> Result<Vec<u8>> {
    avb::from_hex(s).with_context(|| format!("{s:?} is not hex"))
}

fn info(image: &Path) -> Result<()> {
    let mut f =
        std::fs::File::open(image).with_context(|| format!("opening {}", image.display()))?;
    let v = avb::read_vbmeta_from_device(&mut f).context("verifying vbmeta")?;
    let ft = v.footer();
    let h = v.header();
    let sha1 = openssl::sha::sha1(v.public_key_blob());
    println!(
        "Footer version:           {}.{}",
        ft.version_major, ft.version_minor
    );
    println!("Image size:               {} bytes", v.partition_size());
    println!("Original image size:      {} bytes", ft.original_image_size);
    println!("VBMeta offset:            {}", ft.vbmeta_offset);
    println!("VBMeta size:              {} bytes", ft.vbmeta_size);
    println!("--");
    println!(
        "Minimum libavb version:   {}.{}",
        h.required_libavb_version_major, h.required_libavb_version_minor
    );
    println!("Header Block:             256 bytes");
    println!(
        "Authentication Block:     {} bytes",
        h.authentication_data_block_size
    );
    println!(
        "Auxiliary Block:          {} bytes",
        h.auxiliary_data_block_size
    );
    println!("Public key (sha1):        {}", avb::to_hex(&sha1));
    println!("Algorithm:                {}", v.algorithm());
    println!("Rollback Index:           {}", v.rollback_index());
    println!("Flags:                    {}", h.flags);
    println!("Rollback Index Location:  {}", h.rollback_index_location);
    println!("Release String:           '{}'", h.release_string());
    println!("Descriptors:");
    for d in v.descriptors() {
        match d {
            Descriptor::Hashtree(t) => {
                println!("    Hashtree descriptor:");
                println!("      Version of dm-verity:  {}", t.dm_verity_version);
                println!("      Image Size:            {} bytes", t.image_size);
                println!("      Tree Offset:           {}", t.tree_offset);
                println!("      Tree Size:             {} bytes", t.tree_size);
                println!("      Data Block Size:       {} bytes", t.data_block_size);
                println!("      Hash Block Size:       {} bytes", t.hash_block_size);
                println!("      FEC num roots:         {}", t.fec_num_roots);
                println!("      FEC offset:            {}", t.fec_offset);
                println!("      FEC size:              {} bytes", t.fec_size);
                println!("      Hash Algorithm:        {}", t.hash_algorithm);
                println!("      Partition Name:        {}", t.partition_name);
                println!("      Salt:                  {}", avb::to_hex(&t.salt));
                println!(
                    "      Root Digest:           {}",
                    avb::to_hex(&t.root_digest)
                );
                println!("      Flags:                 {}", t.flags);
            }
            Descriptor::Hash(t) => {
                println!("    Hash descriptor:");
                println!("      Image Size:            {} bytes", t.image_size);
                println!("      Hash Algorithm:        {}", t.hash_algorithm);
                println!("      Partition Name:        {}", t.partition_name);
                println!("      Salt:                  {}", avb::to_hex(&t.salt));
                println!("      Digest:                {}", avb::to_hex(&t.digest));
                println!("      Flags:                 {}", t.flags);
            }
            Descriptor::Property(p) => {
                println!(
                    "    Prop: {} -> {:?}",
                    p.key,
                    String::from_utf8_lossy(&p.value)
                );
            }
            Descriptor::KernelCmdline(k) => {
                println!("    Kernel Cmdline descriptor:");
                println!("      Flags:                 {}", k.flags);
                println!("      Kernel Cmdline:        '{}'", k.kernel_cmdline);
            }
            Descriptor::ChainPartition(c) => {
                println!("    Chain Partition descriptor:");
                println!("      Partition Name:          {}", c.partition_name);
                println!(
                    "      Rollback Index Location: {}",
                    c.rollback_index_location
                );
                println!(
                    "      Public key (sha1):       {}",
                    avb::to_hex(&openssl::sha::sha1(&c.public_key))
                );
                println!("      Flags:                   {}", c.flags);
            }
            Descriptor::Unknown { tag, data } => {
                println!("    Unknown descriptor:");
                println!("      Tag:  {tag}");
                println!("      Data: {} bytes", data.len());
            }
        }
    }
    for d in v.descriptors() {
        let Descriptor::Hashtree(t) = d else {
            continue;
        };
        match avb::verify_hashtree(&f, t, 0).context("checking the hash tree")? {
            avb::HashtreeCheck::Verified { data_blocks, .. } => println!(
                "Hashtree {}: verified ({data_blocks} data blocks and the stored tree match the root digest)",
                t.partition_name
            ),
            avb::HashtreeCheck::Corrupt {
                computed_root,
                block,
            } => bail!(
                "hashtree {} does not verify: {block}; recomputed root digest {} (descriptor: {})",
                t.partition_name,
                avb::to_hex(&computed_root),
                avb::to_hex(&t.root_digest)
            ),
        }
    }
    Ok(())
}

/// Reads a bootconfig file as the guest reads `/proc/bootconfig` (bounded, invalid UTF-8
/// replaced).
fn read_bootconfig(p: &Path) -> Result<String> {
    let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
    if bytes.len() as u64 > boot_config::MAX_KERNEL_PARAMS {
        bail!(
            "{} is larger than the {} bytes the guest reads",
            p.display(),
            boot_config::MAX_KERNEL_PARAMS
        );
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn write_private(path: &Path, data: &[u8]) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(data)
        .with_context(|| format!("writing {}", path.display()))
}

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Build {
            src,
            out,
            key,
            algorithm,
            salt,
            rollback_index,
            partition_name,
            ext4_size,
            partition_size,
            print_digest,
            file_contexts,
        } => {
            let mut opts = VendorImageOptions::new(key);
            opts.file_contexts = file_contexts;
            opts.partition_name = partition_name;
            opts.salt = salt.as_deref().map(hex_arg).transpose()?;
            opts.algorithm = algorithm;
            opts.rollback_index = rollback_index;
            opts.ext4_size = ext4_size;
            opts.partition_size = partition_size;
            let i = vendor_image::build_vendor_image(&src, &out, &opts)?;
            if print_digest {
                println!("{}", i.root_digest_hex);
            } else {
                println!("image: {}", out.display());
                println!("partition_name: {}", i.partition_name);
                println!("root_digest: {}", i.root_digest_hex);
                println!("salt: {}", avb::to_hex(&i.salt));
                println!("algorithm: {}", i.algorithm);
                println!("rollback_index: {}", i.rollback_index);
                println!("original_image_size: {}", i.original_image_size);
                println!("image_size: {}", i.image_size);
                println!("tree_offset: {}", i.tree_offset);
                println!("tree_size: {}", i.tree_size);
                println!("vbmeta_offset: {}", i.vbmeta_offset);
                println!("vbmeta_size: {}", i.vbmeta_size);
                println!("partition_size: {}", i.partition_size);
                println!(
                    "public_key_sha256: {}",
                    avb::to_hex(&openssl::sha::sha256(&i.public_key_blob))
                );
            }
        }
        Cmd::Info { image } => info(&image)?,
        Cmd::Explain {
            image,
            dtb,
            digest,
            no_digest: _,
            cmdline,
            bootconfig,
            strict,
            kernel_release,
            modules_dir,
            first_stage_modules,
            json,
        } => {
            let inputs = explain::Inputs {
                image,
                digest: match (dtb, digest) {
                    (Some(p), _) => explain::DigestSource::Dtb(p),
                    (None, Some(d)) => explain::DigestSource::Value(d.into_bytes()),
                    (None, None) => explain::DigestSource::Absent,
                },
                cmdline,
                bootconfig: bootconfig
                    .as_deref()
                    .map(read_bootconfig)
                    .transpose()?
                    .unwrap_or_default(),
                strict,
                kernel: kernel_release
                    .zip(modules_dir)
                    .map(|(release, modules_dir)| explain::KernelTarget {
                        release,
                        modules_dir,
                    }),
                first_stage_modules,
            };
            let x = explain::explain(&inputs)?;
            if json {
                println!("{}", explain::to_json(&x));
            } else {
                print!("{}", explain::to_text(&x));
            }
            if !x.boots() {
                std::process::exit(1);
            }
        }
        Cmd::AddReferenceDigest {
            host_image,
            vendor_image,
            key,
        } => {
            let i = vendor_image::read_vendor_image(&vendor_image, DEFAULT_PARTITION_NAME)?;
            let key = avb::SigningKey::from_pem_file(&key)?;
            let prop = avb::MICRODROID_VENDOR_ROOT_DIGEST_PROPERTY;
            let u = avb::set_footer_property(&host_image, &key, prop, i.root_digest_hex.as_bytes())
                .with_context(|| format!("updating {}", host_image.display()))?;
            println!(
                "{} {prop} -> '{}' in {} (vbmeta {} -> {} bytes, re-signed)",
                if u.replaced { "replaced" } else { "added" },
                i.root_digest_hex,
                host_image.display(),
                u.old_vbmeta_size,
                u.new_vbmeta_size
            );
        }
        Cmd::Digest {
            image,
            partition_name,
        } => {
            let i = vendor_image::read_vendor_image(&image, &partition_name)?;
            println!("{}", i.root_digest_hex);
        }
        Cmd::Disk { out, partitions } => {
            let mut parsed = Vec::new();
            for p in &partitions {
                let Some((name, img)) = p.split_once('=') else {
                    bail!("partition {p:?} is not NAME=IMAGE");
                };
                parsed.push((name, PathBuf::from(img)));
            }
            let refs: Vec<(&str, &Path)> = parsed.iter().map(|(n, p)| (*n, p.as_path())).collect();
            for pl in vendor_image::make_gpt_disk(&out, &refs)? {
                println!(
                    "{} {} first_lba={} last_lba={} offset={} size={} partuuid={}",
                    pl.number,
                    pl.name,
                    pl.first_lba,
                    pl.last_lba,
                    pl.offset_bytes,
                    pl.size_bytes,
                    pl.partition_guid
                );
            }
        }
        Cmd::Dtb {
            base,
            out,
            digest,
            digest_raw,
            strict_boot,
        } => {
            let b = std::fs::read(&base).with_context(|| format!("reading {}", base.display()))?;
            let dt = match (&digest, &digest_raw) {
                (_, Some(raw)) => dtb::add_avf_node_raw(&b, Some(raw.as_bytes()), strict_boot)?,
                (d, None) => dtb::add_avf_node(&b, d.as_deref(), strict_boot)?,
            };
            std::fs::write(&out, dt).with_context(|| format!("writing {}", out.display()))?;
        }
        Cmd::Hashtree {
            input,
            salt,
            block_size,
            threads,
        } => {
            let salt = hex_arg(&salt)?;
            let size = std::fs::metadata(&input)
                .with_context(|| format!("stat {}", input.display()))?
                .len();
            let (root, took) =
                vendor_image::bench_hashtree_with(&input, &salt, block_size, threads)?;
            let secs = took.as_secs_f64();
            println!("root_digest: {}", avb::to_hex(&root));
            println!("bytes: {size}");
            println!("seconds: {secs:.6}");
            println!("mb_per_s: {:.1}", size as f64 / 1e6 / secs.max(1e-9));
        }
        Cmd::Genkey { bits, out } => {
            let key = avb::SigningKey::generate(bits)?;
            write_private(&out, &key.to_pem()?)?;
        }
    }
    Ok(())
}
