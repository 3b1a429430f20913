//! Firmware loading (AOSP `init/firmware_handler.cpp`): when the kernel asks for a file
//! (`SUBSYSTEM=firmware`, `ACTION=add`, `FIRMWARE=<name>`), search `firmware_directories` in
//! order and feed the first match through `/sys/<DEVPATH>/loading` (`1`), `data`, then
//! `loading` (`0`); if nothing is found or the copy fails, write `-1` to `loading` so the
//! kernel aborts the request cleanly.
//!
//! A matching `external_firmware_handler` runs first (as its user and group, with
//! `FIRMWARE` and `DEVPATH` in the environment); its trimmed standard output names the
//! file to load instead, unless it fails or the name contains `..` (then the kernel's
//! name is used). Differences from AOSP: names that are absolute or contain `..` are
//! refused (`-1`); there is no retry loop while `/dev/.booting` exists and no
//! `/apex/*/etc/firmware` search.

use std::fs;
use std::path::{Path, PathBuf};

use crate::config::ExternalFirmwareHandler;
use crate::ops::DeviceOps;
use crate::paths::{is_safe_relative, sys_path};

/// A firmware request taken from a uevent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirmwareRequest {
    /// DEVPATH of the firmware loader device (`/devices/…/firmware/<name>`).
    pub devpath: String,
    /// FIRMWARE: the file the driver wants.
    pub firmware: String,
}

/// How a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirmwareOutcome {
    /// The file was fed to the kernel.
    Loaded {
        /// The file used.
        path: PathBuf,
        /// Its size.
        bytes: u64,
    },
    /// No directory had the file; `-1` was written.
    NotFound {
        /// The name that was searched for.
        name: String,
    },
    /// The request could not be served (reason); `-1` was written where possible.
    Failed(String),
}

/// Serves one request synchronously.
pub fn load_firmware(
    ops: &dyn DeviceOps,
    sys_root: &Path,
    directories: &[String],
    handlers: &[ExternalFirmwareHandler],
    req: &FirmwareRequest,
) -> FirmwareOutcome {
    let dir = sys_path(sys_root, &req.devpath);
    let loading = dir.join("loading");
    let data = dir.join("data");
    if !ops.exists(&loading) || !ops.exists(&data) {
        return FirmwareOutcome::Failed(format!("{} has no loading/data files", dir.display()));
    }
    let abort = |why: String| {
        if let Err(e) = ops.write_file(&loading, b"-1") {
            log::error!(
                "ueventd: firmware: writing -1 to {}: {e}",
                loading.display()
            );
        }
        why
    };
    let name = firmware_name(ops, handlers, req);
    if !is_safe_relative(&name) {
        return FirmwareOutcome::Failed(abort(format!("refusing firmware name {name:?}")));
    }
    let Some(file) = directories
        .iter()
        .map(|d| Path::new(d).join(&name))
        .find(|f| fs::metadata(f).is_ok_and(|m| m.is_file()))
    else {
        abort(String::new());
        return FirmwareOutcome::NotFound { name };
    };
    if let Err(e) = ops.write_file(&loading, b"1") {
        return FirmwareOutcome::Failed(abort(format!("writing 1 to {}: {e}", loading.display())));
    }
    match ops.copy_into(&file, &data) {
        Ok(bytes) => match ops.write_file(&loading, b"0") {
            Ok(()) => FirmwareOutcome::Loaded { path: file, bytes },
            Err(e) => {
                FirmwareOutcome::Failed(abort(format!("writing 0 to {}: {e}", loading.display())))
            }
        },
        Err(e) => FirmwareOutcome::Failed(abort(format!(
            "copying {} into {}: {e}",
            file.display(),
            data.display()
        ))),
    }
}

/// The kernel's name, or what a matching external handler prints instead.
fn firmware_name(
    ops: &dyn DeviceOps,
    handlers: &[ExternalFirmwareHandler],
    req: &FirmwareRequest,
) -> String {
    let Some(handler) = handlers.iter().find(|h| h.devpath.matches(&req.devpath)) else {
        return req.firmware.clone();
    };
    let argv: Vec<String> = handler
        .handler
        .split(' ')
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect();
    log::info!(
        "ueventd: firmware: running external handler '{}' for {} ({})",
        handler.handler,
        req.devpath,
        req.firmware
    );
    let env = [
        ("FIRMWARE", req.firmware.as_str()),
        ("DEVPATH", req.devpath.as_str()),
    ];
    match ops.run_program(&argv, handler.uid, handler.gid, &env) {
        Ok(out) => {
            for line in String::from_utf8_lossy(&out.stderr).lines() {
                if !line.is_empty() {
                    log::error!("ueventd: external firmware handler: {line}");
                }
            }
            let name = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if !out.success {
                log::error!(
                    "ueventd: firmware: external handler failed ({}); using {}",
                    out.status,
                    req.firmware
                );
                req.firmware.clone()
            } else if name.contains("..") || name.is_empty() {
                log::error!(
                    "ueventd: firmware: external handler gave an invalid name {name:?}; using {}",
                    req.firmware
                );
                req.firmware.clone()
            } else {
                log::info!(
                    "ueventd: firmware: loading {name} in place of {}",
                    req.firmware
                );
                name
            }
        }
        Err(e) => {
            log::error!(
                "ueventd: firmware: external handler could not run ({e}); using {}",
                req.firmware
            );
            req.firmware.clone()
        }
    }
}
