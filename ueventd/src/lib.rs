//! ueventd for the Microdroid-style guest: the ueventd.rc parser, uevent handling,
//! device nodes with AOSP's naming and permissions, `/dev/block/by-name` links, coldboot,
//! firmware and modalias loading (AOSP `system/core/init/ueventd*.cpp`, `devices.cpp`,
//! `firmware_handler.cpp`; DESIGN §6 and §6.1).
//!
//! Layout:
//! - [`config`]: the ueventd.rc language ([`parse_config`], [`parse_config_files`]);
//! - [`uevent`]: kernel messages ([`parse_uevent`]);
//! - [`socket`]: the NETLINK_KOBJECT_UEVENT socket and sender checks;
//! - [`block`]: block device scan, by-name lookup and node creation, shared with the
//!   first stage;
//! - [`daemon`]: [`Ueventd`] (event handling, coldboot, the loop);
//! - [`firmware`], [`coldboot`]: firmware requests and the sysfs walk;
//! - [`ops`]/[`fake`]: the [`DeviceOps`] trait and its recording fake; the real
//!   implementation lives in the private `sys` module ([`RealDeviceOps`]);
//! - [`applet`]: [`applet_main`] for the multi-call binary.

pub mod applet;
pub mod block;
pub mod coldboot;
pub mod config;
pub mod daemon;
pub mod error;
pub mod fake;
pub mod firmware;
pub mod ops;
mod paths;
pub mod pattern;
pub mod socket;
mod sys;
mod tokenizer;
pub mod uevent;

pub use android_ids::resolve_id;
pub use applet::{applet_main, Hooks};
pub use block::{
    boot_device_of, create_block_device_node, find_by_partname, remove_block_device_node,
    sanitize_partition_name, scan_block_devices, BlockDevice, BootDevices,
};
pub use coldboot::ColdbootReport;
pub use config::{
    parse_config, parse_config_files, DevnameSource, ExternalFirmwareHandler, Permissions,
    Subsystem, SysfsPermissions, UeventdConfig,
};
pub use daemon::{
    ModaliasHandler, NodeLabeler, NoopLabeler, PropertySetter, Ueventd, COLD_BOOT_DONE_PROP,
};
pub use error::{ConfigError, UeventError, UeventdError};
pub use fake::{FakeDeviceOps, FakeEntry, Op};
pub use firmware::{load_firmware, FirmwareOutcome, FirmwareRequest};
pub use ops::{DeviceOps, DirEntry, EntryKind, NodeKind, ProgramOutput};
pub use pattern::PathPattern;
pub use socket::{check_sender, DropReason, Received, UeventSocket, UeventSource};
pub use sys::RealDeviceOps;
pub use uevent::{parse_uevent, Uevent, UeventAction, UEVENT_MSG_MAX};
