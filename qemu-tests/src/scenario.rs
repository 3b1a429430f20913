//! One test guest, described declaratively and built into real artifacts: the
//! initramfs (base plus test files), a signed vendor image on a GPT disk, extra disks,
//! the device tree with the `/avf` node (aarch64), the kernel command line.
//!
//! ```no_run
//! # fn main() -> Result<(), qemu_tests::HarnessError> {
//! use qemu_tests::{scenario::{Guest, VendorTree}, Arch};
//! let mut g = Guest::new(Arch::Aarch64)?;
//! let mut tree = VendorTree::new()?;
//! tree.file("etc/hello", 0o644, b"hi\n")?;
//! g.vendor(&tree, &Default::default())?;
//! g.shutdown_when_booted()?;
//! let log = g.boot()?;
//! log.assert_clean_poweroff();
//! # Ok(()) }
//! ```

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use initramfs::Archive;
use vendor_image::{VendorImageInfo, VendorImageOptions};

use crate::console::BootLog;
use crate::error::{io, HarnessError};
use crate::kernel::{self, Kernel};
use crate::vm::{Disk, VmConfig};
use crate::{debian, guest, selinux, workspace_root, Arch};

/// The DT node and property carrying the expected vendor digest.
pub const AVF_NODE: &str = "/avf";
/// See [`AVF_NODE`].
pub const DIGEST_PROPERTY: &str = "vendor_hashtree_descriptor_root_digest";

/// The RSA-4096 test key vendor images are signed with (a test key, nothing else).
pub fn test_key() -> PathBuf {
    workspace_root().join("qemu-tests/testdata/vendor_test_key.pem")
}

fn vi_err(e: vendor_image::Error) -> HarnessError {
    HarnessError::Missing(format!("vendor image: {e}"))
}

/// The files of a vendor partition, in a temporary directory.
pub struct VendorTree {
    dir: tempfile::TempDir,
}

impl VendorTree {
    /// An empty tree.
    pub fn new() -> Result<VendorTree, HarnessError> {
        Ok(VendorTree {
            dir: tempfile::tempdir().map_err(io("vendor tree tempdir"))?,
        })
    }

    /// The directory (the partition's root).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Adds a file at `rel` (relative to the partition root).
    pub fn file(&mut self, rel: &str, mode: u32, data: &[u8]) -> Result<(), HarnessError> {
        let p = self.dir.path().join(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).map_err(io(format!("mkdir {}", parent.display())))?;
        }
        fs::write(&p, data).map_err(io(format!("write {}", p.display())))?;
        fs::set_permissions(&p, fs::Permissions::from_mode(mode))
            .map_err(io(format!("chmod {}", p.display())))
    }

    /// Copies a host file to `rel`.
    pub fn copy(&mut self, rel: &str, mode: u32, src: &Path) -> Result<(), HarnessError> {
        let data = fs::read(src).map_err(io(format!("read {}", src.display())))?;
        self.file(rel, mode, &data)
    }

    /// Adds Debian's static busybox at `bin/busybox` (a probe for test rc files).
    pub fn busybox(&mut self, arch: Arch) -> Result<(), HarnessError> {
        self.copy("bin/busybox", 0o755, &debian::busybox(arch)?)
    }
}

/// How to sign a vendor image.
#[derive(Debug, Clone)]
pub struct VendorOptions {
    /// PEM key (default: [`test_key`]).
    pub key: PathBuf,
    /// vbmeta rollback index.
    pub rollback_index: u64,
    /// Hash tree salt (default: fixed, so images are reproducible).
    pub salt: Vec<u8>,
    /// Put the digest in the device tree (aarch64).
    pub digest_in_dt: bool,
    /// Label the image's files from this file_contexts at build time (paths as mounted
    /// at `/vendor`), as AOSP's e2fsdroid does; `None`: the shipped vendor file_contexts
    /// plus the tests' instrument labels ([`selinux::test_vendor_file_contexts`]).
    pub file_contexts: Option<PathBuf>,
    /// Set the hashtree descriptor's `check_at_most_once` flag.
    pub check_at_most_once: bool,
}

impl Default for VendorOptions {
    fn default() -> VendorOptions {
        VendorOptions {
            key: test_key(),
            rollback_index: 0,
            salt: b"microdroid-vendor-test-salt".to_vec(),
            digest_in_dt: true,
            file_contexts: None,
            check_at_most_once: false,
        }
    }
}

/// A guest under construction.
pub struct Guest {
    /// Architecture.
    pub arch: Arch,
    /// Kernel.
    pub kernel: Kernel,
    /// Scratch directory for the artifacts.
    pub work: tempfile::TempDir,
    /// The initramfs (base plus whatever the test adds).
    pub initramfs: Archive,
    /// Extra kernel command line words.
    pub append: Vec<String>,
    /// Disks in attachment order.
    pub disks: Vec<Disk>,
    /// Device tree properties to add: (node path, name, value).
    pub dt: Vec<(String, String, Vec<u8>)>,
    /// Boot deadline override.
    pub timeout: Option<Duration>,
    /// Echo the console live.
    pub echo: bool,
    /// Open a QEMU monitor socket.
    pub monitor: bool,
    /// Further QEMU arguments (see [`VmConfig::extra_args`]).
    pub qemu_args: Vec<String>,
}

impl Guest {
    /// A guest with the base initramfs and the current Debian kernel.
    pub fn new(arch: Arch) -> Result<Guest, HarnessError> {
        let kernel = kernel::obtain(arch)?;
        let mut initramfs = guest::base_initramfs(arch, &kernel)?;
        selinux::instrument(&mut initramfs)?;
        let mut append = Vec::new();
        if std::env::var_os(selinux::AUDIT_ENV).is_some() {
            append.extend(selinux::PERMISSIVE_ARGS.iter().map(|s| s.to_string()));
        }
        Ok(Guest {
            arch,
            kernel,
            work: tempfile::tempdir().map_err(io("guest tempdir"))?,
            initramfs,
            append,
            disks: Vec::new(),
            dt: Vec::new(),
            timeout: None,
            echo: std::env::var_os("QEMU_TESTS_ECHO").is_some(),
            monitor: false,
            qemu_args: Vec::new(),
        })
    }

    /// Adds a system rc file that powers the guest off once boot completes
    /// (`dev.bootcomplete=1`, set at the end of `on boot`).
    pub fn shutdown_when_booted(&mut self) -> Result<(), HarnessError> {
        self.initramfs.add_file(
            "/system/etc/init/zz-test-shutdown.rc",
            0o644,
            b"on property:dev.bootcomplete=1\n    setprop sys.powerctl shutdown\n".to_vec(),
        )?;
        Ok(())
    }

    /// Boots the test build instead of the shipped `/init` ([`guest::build_init_test_hooks`])
    /// and links `/system/bin/init_probe` to it.
    pub fn use_test_hooks_build(&mut self) -> Result<(), HarnessError> {
        let init = guest::build_init_test_hooks(self.arch)?;
        let mut a = Archive::new();
        for (path, e) in self.initramfs.entries() {
            if path != "init" {
                a.insert_entry(path, e.clone())?;
            }
        }
        a.add_host_file("/init", &init)?;
        a.add_symlink("/system/bin/init_probe", "/init")?;
        self.initramfs = a;
        Ok(())
    }

    /// Adds Debian's static busybox to the initramfs at `/system/bin/busybox` (probes
    /// for guests without a vendor partition).
    pub fn busybox(&mut self) -> Result<(), HarnessError> {
        self.initramfs
            .add_host_file("/system/bin/busybox", &debian::busybox(self.arch)?)?;
        Ok(())
    }

    /// Removes the rc interpreter, so the first stage powers off when done.
    pub fn first_stage_only(&mut self) -> Result<(), HarnessError> {
        self.initramfs.remove("/system/etc/init/hw/init.rc");
        Ok(())
    }

    /// Sets a device tree property (aarch64 only; x86_64 kernels have no DT).
    pub fn dt_property(&mut self, node: &str, name: &str, value: &[u8]) {
        self.dt.retain(|(n, p, _)| !(n == node && p == name));
        self.dt
            .push((node.to_owned(), name.to_owned(), value.to_vec()));
    }

    /// Sets `/avf/vendor_hashtree_descriptor_root_digest` to `value` verbatim and asks for
    /// `/vendor` on the command line ([`Guest::request_vendor`]): the two things virtmgr
    /// does when it attaches a vendor image. (A digest alone is ignored by the guest; set it
    /// with [`Guest::dt_property`] to test that.)
    pub fn vendor_digest(&mut self, value: &[u8]) {
        self.dt_property(AVF_NODE, DIGEST_PROPERTY, value);
        self.request_vendor();
    }

    /// Adds `androidboot.microdroid.mount_vendor=1` to the command line (once).
    pub fn request_vendor(&mut self) {
        let flag = format!("{}=1", boot_config::MOUNT_VENDOR_FLAG);
        if !self.append.contains(&flag) {
            self.append.push(flag);
        }
    }

    /// Sets `/chosen/avf,strict-boot`.
    pub fn strict_boot(&mut self) {
        self.dt_property("/chosen", "avf,strict-boot", b"");
    }

    /// Builds a vendor image from `tree`, puts it on a GPT disk as `microdroid-vendor`,
    /// attaches the disk read-only, and (by default) puts its digest in the device tree.
    /// Returns the image facts and leaves the image at `work/vendor.img`.
    pub fn vendor(
        &mut self,
        tree: &VendorTree,
        opts: &VendorOptions,
    ) -> Result<VendorImageInfo, HarnessError> {
        let (img, info) = self.build_vendor(tree, opts)?;
        self.attach_vendor(&img)?;
        if opts.digest_in_dt {
            self.vendor_digest(info.root_digest_hex.as_bytes());
        }
        Ok(info)
    }

    /// Builds the signed vendor image at `work/vendor.img` without attaching it (tests
    /// that tamper with it do so before [`Guest::attach_vendor`]).
    pub fn build_vendor(
        &self,
        tree: &VendorTree,
        opts: &VendorOptions,
    ) -> Result<(PathBuf, VendorImageInfo), HarnessError> {
        let img = self.work.path().join("vendor.img");
        let mut o = VendorImageOptions::new(&opts.key);
        o.salt = Some(opts.salt.clone());
        o.rollback_index = opts.rollback_index;
        o.file_contexts = match &opts.file_contexts {
            Some(fc) => Some(fc.clone()),
            None => {
                let fc = self.work.path().join("vendor_image_file_contexts");
                fs::write(&fc, selinux::test_vendor_file_contexts()?)
                    .map_err(io(format!("write {}", fc.display())))?;
                Some(fc)
            }
        };
        o.check_at_most_once = opts.check_at_most_once;
        let info = vendor_image::build_vendor_image(tree.path(), &img, &o).map_err(vi_err)?;
        Ok((img, info))
    }

    /// Puts the partition image `img` on a GPT disk as `microdroid-vendor` and attaches it.
    pub fn attach_vendor(&mut self, img: &Path) -> Result<(), HarnessError> {
        let n = self.disks.len();
        let disk = self.work.path().join(format!("vendor-disk{n}.img"));
        self.gpt_disk(&disk, &[(vendor_image::DEFAULT_PARTITION_NAME, img)])
    }

    /// Writes a GPT disk holding `parts` and attaches it read-only.
    pub fn gpt_disk(&mut self, out: &Path, parts: &[(&str, &Path)]) -> Result<(), HarnessError> {
        vendor_image::make_gpt_disk(out, parts).map_err(vi_err)?;
        self.disks.push(Disk {
            path: out.to_owned(),
            readonly: true,
        });
        Ok(())
    }

    /// A writable raw disk of `size` bytes (zeroed) the guest can leave results on; it
    /// is attached after the disks added so far. Returns its path.
    pub fn results_disk(&mut self, size: u64) -> Result<PathBuf, HarnessError> {
        let n = self.disks.len();
        let p = self.work.path().join(format!("results{n}.img"));
        let f = fs::File::create(&p).map_err(io(format!("create {}", p.display())))?;
        f.set_len(size)
            .map_err(io(format!("size {}", p.display())))?;
        self.disk(&p, false);
        Ok(p)
    }

    /// Attaches a raw disk image.
    pub fn disk(&mut self, path: &Path, readonly: bool) {
        self.disks.push(Disk {
            path: path.to_owned(),
            readonly,
        });
    }

    /// Writes the artifacts and returns the QEMU configuration.
    pub fn vm(&self) -> Result<VmConfig, HarnessError> {
        let initrd = self.work.path().join("initramfs.img");
        self.initramfs.write_to(&initrd, true)?;
        let mut vm = VmConfig::new(&self.kernel, &initrd);
        vm.append = self.append.clone();
        vm.disks = self.disks.clone();
        vm.echo = self.echo;
        vm.extra_args = self.qemu_args.clone();
        if let Some(t) = self.timeout {
            vm.timeout = t;
        }
        if self.monitor {
            vm.monitor = Some(self.work.path().join("monitor.sock"));
        }
        if !self.dt.is_empty() && self.arch == Arch::Aarch64 {
            let base = self.work.path().join("base.dtb");
            vm.dump_dtb(&base)?;
            let bytes = fs::read(&base).map_err(io(format!("read {}", base.display())))?;
            let props: Vec<(&str, &str, &[u8])> = self
                .dt
                .iter()
                .map(|(n, p, v)| (n.as_str(), p.as_str(), v.as_slice()))
                .collect();
            let dtb = vendor_image::dtb::with_properties(&bytes, &props).map_err(vi_err)?;
            let out = self.work.path().join("guest.dtb");
            fs::write(&out, dtb).map_err(io(format!("write {}", out.display())))?;
            vm.dtb = Some(out);
        }
        Ok(vm)
    }

    /// Builds everything and boots to the end.
    pub fn boot(&self) -> Result<BootLog, HarnessError> {
        self.vm()?.boot()
    }
}

/// The byte offset, inside an ext4 image, of the first data block of the file at `path`.
pub fn ext4_file_offset(img: &Path, path: &str) -> Result<u64, HarnessError> {
    ext4_block_offset(img, path, 0)
}

/// The byte offset, inside an ext4 image, of data block `n` of the file at `path`
/// (found with `debugfs -R "bmap <path> <n>"`).
pub fn ext4_block_offset(img: &Path, path: &str, n: u64) -> Result<u64, HarnessError> {
    let out = crate::error::run(
        std::process::Command::new("debugfs")
            .arg("-R")
            .arg(format!("bmap {path} {n}"))
            .arg(img),
    )?;
    let text = String::from_utf8_lossy(&out.stdout);
    let block: u64 = text
        .trim()
        .parse()
        .map_err(|_| HarnessError::Missing(format!("debugfs bmap {path} {n}: {text:?}")))?;
    Ok(block * 4096)
}

/// Flips every bit of the byte at `offset` in `file`.
pub fn flip_byte(file: &Path, offset: u64) -> Result<(), HarnessError> {
    use std::io::{Read, Seek, SeekFrom, Write};
    let mut f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(file)
        .map_err(io(format!("open {}", file.display())))?;
    let mut b = [0u8; 1];
    f.seek(SeekFrom::Start(offset)).map_err(io("seek"))?;
    f.read_exact(&mut b).map_err(io("read"))?;
    b[0] ^= 0xff;
    f.seek(SeekFrom::Start(offset)).map_err(io("seek"))?;
    f.write_all(&b).map_err(io("write"))
}
