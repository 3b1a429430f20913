//! [`Ueventd`]: handles uevents (AOSP `DeviceHandler`, `FirmwareHandler`,
//! `ModaliasHandler`), runs coldboot and the event loop. Integration points are traits:
//! [`PropertySetter`] (for `ro.cold_boot_done`), [`NodeLabeler`] (SELinux labels) and
//! [`ModaliasHandler`] (module loading).
//!
//! Node paths follow AOSP: block devices `/dev/block/<basename DEVPATH>` with
//! `/dev/block/by-name/<PARTNAME>` (every named partition, or only those on
//! `androidboot.boot_devices` when it is set: [`Ueventd::boot_devices`]) and, for device-mapper
//! devices, `/dev/block/mapper/<dm name>` and `/dev/block/mapper/by-uuid/<uuid>` (read
//! from `/sys/<DEVPATH>/dm/`); a `subsystem` section's `dirname`/`devname`; USB devices
//! `/dev/<DEVNAME>` or `/dev/bus/usb/BBB/DDD`; other `usb*` subsystems are ignored;
//! `misc` `dm-user/*` and `vfio/vfio` keep their DEVNAME; everything else
//! `/dev/<basename DEVPATH>`. Mode and owner come from the last matching `/dev` line
//! (node or link), else 0600 root:root. Not done: `/dev/block/<type>/<device>/…`
//! platform/pci links, USB character-device links, the ashmem duplicate and restorecon.

use std::collections::{HashMap, HashSet, VecDeque};
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use crate::block::{
    by_name_link_path, create_block_device_node, make_link, make_node, remove_link_to, remove_node,
    BlockDevice, BootDevices, NodeAttrs,
};
use crate::coldboot::{ColdbootReport, ColdbootWalk};
use crate::config::{DevnameSource, UeventdConfig};
use crate::error::UeventdError;
use crate::firmware::{load_firmware, FirmwareOutcome, FirmwareRequest};
use crate::ops::{DeviceOps, NodeKind, S_IFDIR, S_IFLNK};
use crate::paths::{dev_path, is_safe_component, is_safe_relative, sys_path};
use crate::socket::{DropReason, Received, UeventSocket, UeventSource, DEFAULT_RCVBUF};
use crate::uevent::{Uevent, UeventAction};

/// The property set when coldboot is done.
pub const COLD_BOOT_DONE_PROP: &str = "ro.cold_boot_done";
/// Distinct MODALIAS values remembered for de-duplication.
pub const MAX_REMEMBERED_ALIASES: usize = 8192;
/// Firmware loads in flight before the loop waits for the oldest.
pub const MAX_FIRMWARE_THREADS: usize = 16;
/// Firmware outcomes kept for [`Ueventd::wait_for_firmware`] (the oldest are dropped).
pub const MAX_FIRMWARE_OUTCOMES: usize = 64;
/// Consecutive socket errors after which [`Ueventd::run`] gives up.
const MAX_SOCKET_ERRORS: usize = 100;

/// Sets and reads system properties (the lead wires it to the rc interpreter's property
/// service).
pub trait PropertySetter {
    /// Sets `name` to `value`.
    fn set(&self, name: &str, value: &str) -> Result<(), String>;
    /// The value of `name`, if set (and readable).
    fn get(&self, name: &str) -> Option<String>;
}

/// `android::base::GetBoolProperty`'s true values.
fn is_true(value: &str) -> bool {
    matches!(value, "1" | "y" | "yes" | "on" | "true")
}

/// Gives created nodes, links and directories their SELinux label.
pub trait NodeLabeler {
    /// Labels `path`; `mode` includes the `S_IF*` type bits.
    fn label(&self, path: &Path, mode: u32);
}

/// Loads the kernel module(s) for a MODALIAS (`modalias_handling enabled`).
pub trait ModaliasHandler {
    /// Loads modules matching `modalias`.
    fn handle(&self, modalias: &str) -> Result<(), String>;
}

/// A [`NodeLabeler`] that labels nothing and logs at debug level.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopLabeler;

impl NodeLabeler for NoopLabeler {
    fn label(&self, path: &Path, mode: u32) {
        log::debug!("ueventd: not labelling {} ({mode:o})", path.display());
    }
}

/// Where a device's node and links go.
struct NodePlan {
    /// `/dev/…` path as ueventd.rc lines name it.
    logical: String,
    path: PathBuf,
    kind: NodeKind,
    /// `(logical, real)` link paths.
    links: Vec<(String, PathBuf)>,
}

/// The daemon.
pub struct Ueventd<'a> {
    /// The parsed ueventd.rc files.
    pub config: UeventdConfig,
    /// Where `/dev` is.
    pub dev_root: PathBuf,
    /// Where `/sys` is.
    pub sys_root: PathBuf,
    /// Filesystem and privileged operations.
    pub ops: &'a dyn DeviceOps,
    /// Property service.
    pub props: &'a dyn PropertySetter,
    /// SELinux labeller.
    pub labeler: &'a dyn NodeLabeler,
    /// Module loader for MODALIAS (used only with `modalias_handling enabled`).
    pub modalias: Option<&'a dyn ModaliasHandler>,
    /// Whose partitions get by-name links (`androidboot.boot_devices`; default: all).
    pub boot_devices: BootDevices,
    links: HashMap<String, Vec<PathBuf>>,
    aliases: HashSet<String>,
    firmware: Vec<JoinHandle<FirmwareOutcome>>,
    finished: VecDeque<FirmwareOutcome>,
}

impl<'a> Ueventd<'a> {
    /// A daemon over the given roots and integration points.
    pub fn new(
        config: UeventdConfig,
        dev_root: PathBuf,
        sys_root: PathBuf,
        ops: &'a dyn DeviceOps,
        props: &'a dyn PropertySetter,
        labeler: &'a dyn NodeLabeler,
        modalias: Option<&'a dyn ModaliasHandler>,
    ) -> Self {
        Ueventd {
            config,
            dev_root,
            sys_root,
            ops,
            props,
            labeler,
            modalias,
            boot_devices: BootDevices::Any,
            links: HashMap::new(),
            aliases: HashSet::new(),
            firmware: Vec::new(),
            finished: VecDeque::new(),
        }
    }

    /// Handles one uevent: sysfs attribute permissions, the device node and its links,
    /// firmware requests (on a thread), modalias loading. Every step is attempted; the
    /// first error is returned and the others are logged.
    pub fn handle_uevent(&mut self, ev: &Uevent) -> Result<(), UeventdError> {
        let mut errors = FirstError::default();
        if matches!(
            ev.action,
            UeventAction::Add | UeventAction::Change | UeventAction::Bind | UeventAction::Online
        ) {
            for e in self.fixup_sysfs(ev) {
                errors.note(Err(e));
            }
        }
        errors.note(self.handle_device(ev));
        if ev.action == UeventAction::Add && ev.subsystem.as_deref() == Some("firmware") {
            if let Some(fw) = &ev.firmware {
                self.start_firmware(FirmwareRequest {
                    devpath: ev.devpath.clone(),
                    firmware: fw.clone(),
                });
            }
        }
        if ev.action == UeventAction::Add {
            if let Some(alias) = ev.modalias.as_deref().filter(|a| !a.is_empty()) {
                self.load_modalias(alias);
            }
        }
        errors.finish()
    }

    /// Coldboot on the real socket: see [`Self::coldboot_from`].
    pub fn coldboot(&mut self, socket: &mut UeventSocket) -> Result<ColdbootReport, UeventdError> {
        self.coldboot_from(socket)
    }

    /// Writes `add` into every `uevent` file of the walk (see [`crate::coldboot`]),
    /// handling the replayed events after each write, then sets `ro.cold_boot_done=true`.
    pub fn coldboot_from(
        &mut self,
        source: &mut dyn UeventSource,
    ) -> Result<ColdbootReport, UeventdError> {
        let start = Instant::now();
        let mut report = ColdbootReport::default();
        let ops = self.ops;
        let mut walk = ColdbootWalk::new(&self.sys_root);
        while let Some(file) = walk.next_file(ops) {
            match ops.write_file(&file, b"add\n") {
                Ok(()) => report.uevent_writes += 1,
                Err(e) => {
                    report.write_errors += 1;
                    log::debug!("ueventd: coldboot: writing {}: {e}", file.display());
                }
            }
            self.drain(source, &mut report);
        }
        self.drain(source, &mut report);
        report.dirs_visited = walk.visited;
        report.truncated = walk.truncated;
        report.elapsed = start.elapsed();
        log::info!(
            "ueventd: coldboot took {} ms: {} uevent files, {} events, {} errors, {} dropped",
            report.elapsed.as_millis(),
            report.uevent_writes,
            report.events_handled,
            report.event_errors,
            report.dropped
        );
        self.props
            .set(COLD_BOOT_DONE_PROP, "true")
            .map_err(|message| UeventdError::Property {
                name: COLD_BOOT_DONE_PROP.into(),
                value: "true".into(),
                message,
            })?;
        Ok(report)
    }

    /// Whether coldboot must run: not when `ro.cold_boot_done` is already true (a
    /// restarted ueventd, AOSP `ueventd_main`), which is logged.
    pub fn coldboot_needed(&self) -> bool {
        match self.props.get(COLD_BOOT_DONE_PROP) {
            Some(v) if is_true(&v) => {
                log::info!("ueventd: {COLD_BOOT_DONE_PROP} is set: not replaying coldboot");
                false
            }
            _ => true,
        }
    }

    /// Opens the socket (`uevent_socket_rcvbuf_size`, default [`DEFAULT_RCVBUF`]), runs
    /// coldboot unless it was done already, then handles uevents forever. Returns only on
    /// a socket failure.
    pub fn run(&mut self) -> Result<Infallible, UeventdError> {
        self.log_unused_directives();
        let rcvbuf = self
            .config
            .uevent_socket_rcvbuf_size
            .unwrap_or(DEFAULT_RCVBUF);
        let mut socket = UeventSocket::open(rcvbuf)?;
        if self.coldboot_needed() {
            if let Err(e) = self.coldboot(&mut socket) {
                log::error!("ueventd: coldboot: {e}");
            }
        }
        let mut errors = 0usize;
        loop {
            socket.wait()?;
            loop {
                match socket.try_recv() {
                    Ok(Some(Received::Event(ev))) => {
                        errors = 0;
                        if let Err(e) = self.handle_uevent(&ev) {
                            log::error!("ueventd: {} {}: {e}", ev.action.as_str(), ev.devpath);
                        }
                    }
                    Ok(Some(Received::Dropped(reason))) => log_drop(&reason),
                    Ok(None) => break,
                    Err(e) => {
                        errors += 1;
                        log::error!("ueventd: {e}");
                        if errors >= MAX_SOCKET_ERRORS {
                            return Err(e);
                        }
                        break;
                    }
                }
            }
            self.reap_firmware(false);
        }
    }

    /// Waits for every firmware load in flight, then returns the outcomes of the loads
    /// finished since the last call (at most [`MAX_FIRMWARE_OUTCOMES`], latest kept).
    pub fn wait_for_firmware(&mut self) -> Vec<FirmwareOutcome> {
        self.reap_firmware(true);
        std::mem::take(&mut self.finished).into()
    }

    fn drain(&mut self, source: &mut dyn UeventSource, report: &mut ColdbootReport) {
        loop {
            match source.try_recv() {
                Ok(Some(Received::Event(ev))) => {
                    report.events_handled += 1;
                    if let Err(e) = self.handle_uevent(&ev) {
                        report.event_errors += 1;
                        log::error!("ueventd: {} {}: {e}", ev.action.as_str(), ev.devpath);
                    }
                }
                Ok(Some(Received::Dropped(reason))) => {
                    report.dropped += 1;
                    log_drop(&reason);
                }
                Ok(None) => return,
                Err(e) => {
                    log::error!("ueventd: {e}");
                    return;
                }
            }
        }
    }

    fn log_unused_directives(&self) {
        if self.config.parallel_restorecon || !self.config.parallel_restorecon_dirs.is_empty() {
            log::info!(
                "ueventd: parallel_restorecon/parallel_restorecon_dir parsed but not acted \
                 upon (nodes are labelled when created; sysfs relies on genfscon)"
            );
        }
        if self.config.modalias_handling && self.modalias.is_none() {
            log::warn!("ueventd: modalias_handling enabled but no module loader was given");
        }
    }

    /// `/sys` attribute lines (AOSP `FixupSysPermissions`); returns the failures.
    fn fixup_sysfs(&self, ev: &Uevent) -> Vec<UeventdError> {
        let mut errors = Vec::new();
        let logical = format!("/sys{}", ev.devpath);
        let dir = sys_path(&self.sys_root, &ev.devpath);
        for s in &self.config.sysfs_permissions {
            if !s.matches_with_subsystem(&logical, ev.subsystem_str()) {
                continue;
            }
            let attr = dir.join(&s.attribute);
            if !self.ops.exists(&attr) {
                continue;
            }
            log::debug!(
                "ueventd: fixup {} {}:{} {:o}",
                attr.display(),
                s.uid,
                s.gid,
                s.mode
            );
            if let Err(e) = self.ops.chown(&attr, s.uid, s.gid) {
                errors.push(UeventdError::io("chown", &attr, e));
            }
            if let Err(e) = self.ops.chmod(&attr, s.mode) {
                errors.push(UeventdError::io("chmod", &attr, e));
            }
        }
        errors
    }

    fn handle_device(&mut self, ev: &Uevent) -> Result<(), UeventdError> {
        let Some(plan) = self.plan_node(ev)? else {
            return Ok(());
        };
        match ev.action {
            UeventAction::Add => self.add_device(ev, &plan),
            UeventAction::Change if plan.logical.starts_with("/dev/block/dm-") => {
                // Device-mapper names arrive with the table: (re)make the mapper links.
                let mut errors = FirstError::default();
                self.make_links(ev, &plan, None, &mut errors);
                errors.finish()
            }
            UeventAction::Remove => self.remove_device(ev, &plan),
            _ => Ok(()),
        }
    }

    fn add_device(&mut self, ev: &Uevent, plan: &NodePlan) -> Result<(), UeventdError> {
        let logical_links: Vec<String> = plan.links.iter().map(|(l, _)| l.clone()).collect();
        let perms = self
            .config
            .device_permissions(&plan.logical, &logical_links);
        let attrs = NodeAttrs::of(perms);
        let (major, minor) = ev.device_numbers().unwrap_or_default();
        if let Some(parent) = plan.path.parent() {
            self.mkdir_labelled(parent)?;
        }
        let mut errors = FirstError::default();
        let mut by_name = None;
        match BlockDevice::from_uevent(ev).filter(|_| plan.kind == NodeKind::Block) {
            Some(dev) => {
                // The node and by-name link, made as the first stage makes them.
                by_name = by_name_link_path(&self.dev_root, &dev);
                let on_boot_device = self.boot_devices.allows(&self.sys_root, &dev);
                if by_name.is_some() && !on_boot_device {
                    log::info!(
                        "ueventd: no by-name link for {}: {}",
                        dev.name,
                        self.boot_devices.refusal(&self.sys_root, &dev)
                    );
                    by_name = None;
                }
                if let Some(parent) = by_name.as_deref().and_then(Path::parent) {
                    self.mkdir_labelled(parent)?;
                }
                match create_block_device_node(
                    &self.dev_root,
                    &dev,
                    self.ops,
                    perms,
                    on_boot_device,
                ) {
                    Ok(_) => {
                        if let Some(link) = &by_name {
                            self.labeler.label(link, S_IFLNK | 0o777);
                            self.remember_link(ev, link);
                        }
                    }
                    Err(e @ UeventdError::LinkConflict { .. }) => errors.note(Err(e)),
                    Err(e) => return Err(e),
                }
            }
            None => make_node(self.ops, &plan.path, plan.kind, major, minor, attrs)?,
        }
        self.labeler
            .label(&plan.path, plan.kind.type_bits() | attrs.mode);
        self.make_links(ev, plan, by_name.as_deref(), &mut errors);
        errors.finish()
    }

    /// Makes the links of `plan` (except `skip`) and remembers them.
    fn make_links(
        &mut self,
        ev: &Uevent,
        plan: &NodePlan,
        skip: Option<&Path>,
        errors: &mut FirstError,
    ) {
        for (_, link) in &plan.links {
            if Some(link.as_path()) == skip {
                continue;
            }
            let made = link
                .parent()
                .map_or(Ok(()), |parent| self.mkdir_labelled(parent))
                .and_then(|()| make_link(self.ops, &plan.path, link));
            match made {
                Ok(()) => {
                    self.labeler.label(link, S_IFLNK | 0o777);
                    self.remember_link(ev, link);
                }
                Err(e) => errors.note(Err(e)),
            }
        }
    }

    fn remember_link(&mut self, ev: &Uevent, link: &Path) {
        let remembered = self.links.entry(ev.devpath.clone()).or_default();
        if !remembered.iter().any(|l| l == link) {
            remembered.push(link.to_path_buf());
        }
    }

    fn remove_device(&mut self, ev: &Uevent, plan: &NodePlan) -> Result<(), UeventdError> {
        let mut links = self.links.remove(&ev.devpath).unwrap_or_default();
        for (_, link) in &plan.links {
            if !links.contains(link) {
                links.push(link.clone());
            }
        }
        let mut errors = FirstError::default();
        for link in &links {
            errors.note(remove_link_to(self.ops, link, &plan.path));
        }
        errors.note(remove_node(self.ops, &plan.path));
        errors.finish()
    }

    fn mkdir_labelled(&self, dir: &Path) -> Result<(), UeventdError> {
        let created = self
            .ops
            .mkdir_p(dir, 0o755)
            .map_err(|e| UeventdError::io("mkdir", dir, e))?;
        for d in created {
            self.labeler.label(&d, S_IFDIR | 0o755);
        }
        Ok(())
    }

    /// AOSP `HandleUevent`'s choice of node path (None: no node for this event).
    fn plan_node(&self, ev: &Uevent) -> Result<Option<NodePlan>, UeventdError> {
        let Some((_, minor)) = ev.device_numbers() else {
            return Ok(None);
        };
        let subsystem = ev.subsystem_str();
        let base = ev.devpath_basename();
        let devname = ev.devname.as_deref().unwrap_or("");
        let mut kind = NodeKind::Char;
        let mut links = Vec::new();
        let logical = if subsystem == "block" {
            kind = NodeKind::Block;
            check_component("block device name", base)?;
            if ev.devpath.starts_with("/devices") {
                links = self.block_links(ev);
            }
            format!("/dev/block/{base}")
        } else if let Some(sub) = self.config.subsystem(subsystem) {
            let name = match sub.devname {
                DevnameSource::UeventDevname => devname.to_string(),
                DevnameSource::UeventDevpath => base.to_string(),
                DevnameSource::SysName => self.sys_name(ev, devname),
            };
            check_relative("DEVNAME", &name)?;
            format!("{}/{name}", sub.dirname)
        } else if subsystem == "usb" {
            if devname.is_empty() {
                format!("/dev/bus/usb/{:03}/{:03}", minor / 128 + 1, minor % 128 + 1)
            } else {
                check_relative("DEVNAME", devname)?;
                format!("/dev/{devname}")
            }
        } else if subsystem.starts_with("usb") {
            return Ok(None);
        } else if subsystem == "misc" && devname.starts_with("dm-user/") {
            check_relative("DEVNAME", devname)?;
            format!("/dev/{devname}")
        } else if subsystem == "misc" && devname == "vfio/vfio" {
            "/dev/vfio/vfio".to_string()
        } else {
            check_component("DEVPATH basename", base)?;
            format!("/dev/{base}")
        };
        let path = dev_path(&self.dev_root, &logical).ok_or_else(|| UeventdError::UnsafeName {
            what: "device path",
            name: logical.clone(),
        })?;
        let links = links
            .into_iter()
            .filter_map(|l: String| dev_path(&self.dev_root, &l).map(|p| (l, p)))
            .collect();
        Ok(Some(NodePlan {
            logical,
            path,
            kind,
            links,
        }))
    }

    /// `/dev/block/by-name/<PARTNAME>` (on a boot device) and the device-mapper links.
    fn block_links(&self, ev: &Uevent) -> Vec<String> {
        let mut links = Vec::new();
        if let Some(dev) = BlockDevice::from_uevent(ev) {
            if let Some(name) = dev
                .by_name()
                .filter(|_| self.boot_devices.allows(&self.sys_root, &dev))
            {
                links.push(format!("/dev/block/by-name/{name}"));
            }
        }
        if ev.devpath.starts_with("/devices/virtual/block/dm-") && ev.action != UeventAction::Remove
        {
            let dm = sys_path(&self.sys_root, &ev.devpath).join("dm");
            if let Some(name) = self.read_sys_line(&dm.join("name")) {
                links.push(format!("/dev/block/mapper/{name}"));
            }
            if let Some(uuid) = self.read_sys_line(&dm.join("uuid")) {
                links.push(format!("/dev/block/mapper/by-uuid/{uuid}"));
            }
        }
        links
    }

    /// A one-line sysfs value that is a safe file name.
    fn read_sys_line(&self, path: &Path) -> Option<String> {
        let data = self.ops.read_file(path, 4096).ok()?;
        let text = String::from_utf8(data).ok()?;
        let line = text.trim_end_matches('\n').to_string();
        is_safe_component(&line).then_some(line)
    }

    /// `devname sys_name`: `/sys/<DEVPATH>/name`, else DEVNAME.
    fn sys_name(&self, ev: &Uevent, devname: &str) -> String {
        let path = sys_path(&self.sys_root, &ev.devpath).join("name");
        match self.ops.read_file(&path, 4096).map(String::from_utf8) {
            Ok(Ok(mut s)) => {
                // AOSP drops the last character (the newline).
                s.pop();
                s
            }
            _ => devname.to_string(),
        }
    }

    fn start_firmware(&mut self, req: FirmwareRequest) {
        self.reap_firmware(false);
        if self.firmware.len() >= MAX_FIRMWARE_THREADS {
            let mut pending = std::mem::take(&mut self.firmware).into_iter();
            if let Some(oldest) = pending.next() {
                self.record_firmware(oldest.join());
            }
            self.firmware = pending.collect();
        }
        let dirs = self.config.firmware_directories.clone();
        let handlers = self.config.external_firmware_handlers.clone();
        let sys_root = self.sys_root.clone();
        if let Some(shared) = self.ops.shared() {
            let job = req.clone();
            let thread_dirs = dirs.clone();
            let thread_handlers = handlers.clone();
            let thread_root = sys_root.clone();
            let spawned = std::thread::Builder::new()
                .name("ueventd-firmware".into())
                .spawn(move || {
                    let ops: Arc<dyn DeviceOps> = shared;
                    load_firmware(&*ops, &thread_root, &thread_dirs, &thread_handlers, &job)
                });
            match spawned {
                Ok(handle) => {
                    self.firmware.push(handle);
                    return;
                }
                Err(e) => log::error!("ueventd: firmware thread: {e}; loading inline"),
            }
        }
        let outcome = load_firmware(self.ops, &sys_root, &dirs, &handlers, &req);
        self.record_firmware(Ok(outcome));
    }

    /// Logs a finished load and keeps its outcome for [`Self::wait_for_firmware`].
    fn record_firmware(&mut self, result: std::thread::Result<FirmwareOutcome>) {
        if let Some(outcome) = log_firmware(result) {
            if self.finished.len() >= MAX_FIRMWARE_OUTCOMES {
                self.finished.pop_front();
            }
            self.finished.push_back(outcome);
        }
    }

    /// Joins finished firmware threads (all of them with `all`).
    fn reap_firmware(&mut self, all: bool) {
        let mut pending = Vec::new();
        for handle in std::mem::take(&mut self.firmware) {
            if all || handle.is_finished() {
                self.record_firmware(handle.join());
            } else {
                pending.push(handle);
            }
        }
        self.firmware = pending;
    }

    fn load_modalias(&mut self, alias: &str) {
        let Some(handler) = self.modalias.filter(|_| self.config.modalias_handling) else {
            return;
        };
        if self.aliases.contains(alias) {
            return;
        }
        if self.aliases.len() < MAX_REMEMBERED_ALIASES {
            self.aliases.insert(alias.to_string());
        }
        if let Err(e) = handler.handle(alias) {
            log::warn!("ueventd: modalias {alias}: {e}");
        }
    }
}

/// Keeps the first error and logs the later ones.
#[derive(Default)]
struct FirstError(Option<UeventdError>);

impl FirstError {
    fn note(&mut self, result: Result<(), UeventdError>) {
        if let Err(e) = result {
            if self.0.is_some() {
                log::error!("ueventd: {e}");
            } else {
                self.0 = Some(e);
            }
        }
    }

    fn finish(self) -> Result<(), UeventdError> {
        self.0.map_or(Ok(()), Err)
    }
}

fn check_component(what: &'static str, name: &str) -> Result<(), UeventdError> {
    if is_safe_component(name) {
        Ok(())
    } else {
        Err(UeventdError::UnsafeName {
            what,
            name: name.to_string(),
        })
    }
}

fn check_relative(what: &'static str, name: &str) -> Result<(), UeventdError> {
    if is_safe_relative(name) {
        Ok(())
    } else {
        Err(UeventdError::UnsafeName {
            what,
            name: name.to_string(),
        })
    }
}

/// Messages from user space (udev-style broadcasts) are routine; the rest are not.
fn log_drop(reason: &DropReason) {
    match reason {
        DropReason::NotKernel(_) | DropReason::NotRoot(_) | DropReason::Unicast => {
            log::debug!("ueventd: dropped a uevent message: {reason:?}")
        }
        _ => log::warn!("ueventd: dropped a uevent message: {reason:?}"),
    }
}

fn log_firmware(result: std::thread::Result<FirmwareOutcome>) -> Option<FirmwareOutcome> {
    match result {
        Ok(outcome) => {
            match &outcome {
                FirmwareOutcome::Loaded { path, bytes } => {
                    log::info!(
                        "ueventd: firmware: loaded {} ({bytes} bytes)",
                        path.display()
                    )
                }
                FirmwareOutcome::NotFound { name } => {
                    log::error!("ueventd: firmware: could not find {name}")
                }
                FirmwareOutcome::Failed(why) => log::error!("ueventd: firmware: {why}"),
            }
            Some(outcome)
        }
        Err(_) => {
            log::error!("ueventd: firmware thread panicked");
            None
        }
    }
}
