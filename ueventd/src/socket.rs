//! The uevent socket: [`UeventSocket`] receives from NETLINK_KOBJECT_UEVENT and keeps
//! only what the kernel sent (DESIGN §6.1: SCM_CREDENTIALS with uid 0, sender port 0, a
//! non-zero group, fewer than [`UEVENT_MSG_MAX`] bytes), then parses it.
//! [`UeventSource`] abstracts "pending uevents" so coldboot runs against fakes in tests.

use std::os::fd::OwnedFd;
use std::time::Duration;

use crate::error::{UeventError, UeventdError};
use crate::sys;
use crate::uevent::{parse_uevent, Uevent, UEVENT_MSG_MAX};

/// Receive buffer used when ueventd.rc sets no `uevent_socket_rcvbuf_size`.
pub const DEFAULT_RCVBUF: usize = 256 * 1024;

/// Why a received message was dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropReason {
    /// It was at least [`UEVENT_MSG_MAX`] bytes (or truncated).
    TooLarge(usize),
    /// No SCM_CREDENTIALS came with it.
    NoCredentials,
    /// The sender port id was not 0 (not the kernel).
    NotKernel(u32),
    /// The credentials' uid was not 0.
    NotRoot(u32),
    /// It was sent to no multicast group (unicast).
    Unicast,
    /// It did not parse.
    Malformed(UeventError),
    /// The kernel reported a receive-buffer overrun (events were lost).
    Overrun,
}

/// One item from a [`UeventSource`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A kernel uevent.
    Event(Uevent),
    /// A message that was dropped, and why.
    Dropped(DropReason),
}

/// Pending uevents, read without blocking.
pub trait UeventSource {
    /// The next pending item, or `Ok(None)` when there is none right now.
    fn try_recv(&mut self) -> Result<Option<Received>, UeventdError>;
}

/// The sender checks of AOSP's `uevent_kernel_multicast_uid_recv`.
pub fn check_sender(
    sender_pid: Option<u32>,
    groups: u32,
    cred_uid: Option<u32>,
) -> Result<(), DropReason> {
    let uid = cred_uid.ok_or(DropReason::NoCredentials)?;
    match sender_pid {
        Some(0) => {}
        Some(pid) => return Err(DropReason::NotKernel(pid)),
        None => return Err(DropReason::NotKernel(u32::MAX)),
    }
    if uid != 0 {
        return Err(DropReason::NotRoot(uid));
    }
    if groups == 0 {
        return Err(DropReason::Unicast);
    }
    Ok(())
}

/// A NETLINK_KOBJECT_UEVENT socket.
pub struct UeventSocket {
    fd: OwnedFd,
    buf: Vec<u8>,
}

impl UeventSocket {
    /// Opens the socket with a receive buffer of `rcvbuf` bytes (SO_RCVBUFFORCE, falling
    /// back to SO_RCVBUF).
    pub fn open(rcvbuf: usize) -> Result<Self, UeventdError> {
        let fd = sys::open_uevent_socket(rcvbuf)
            .map_err(|(op, source)| UeventdError::Socket { op, source })?;
        Ok(UeventSocket {
            fd,
            buf: vec![0u8; UEVENT_MSG_MAX],
        })
    }

    /// Blocks until a message is pending.
    pub fn wait(&self) -> Result<(), UeventdError> {
        self.wait_timeout(None).map(drop)
    }

    /// Waits at most `timeout` (forever with `None`) for a pending message; returns
    /// whether one is pending. For a first stage that waits a bounded time for a
    /// partition: open the socket, [`crate::scan_block_devices`], then wait and read.
    pub fn wait_timeout(&self, timeout: Option<Duration>) -> Result<bool, UeventdError> {
        sys::wait_readable(&self.fd, timeout)
            .map_err(|source| UeventdError::Socket { op: "poll", source })
    }
}

impl UeventSource for UeventSocket {
    fn try_recv(&mut self) -> Result<Option<Received>, UeventdError> {
        let raw = match sys::recv_uevent(&self.fd, &mut self.buf) {
            Ok(Some(raw)) => raw,
            Ok(None) => return Ok(None),
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                return Ok(Some(Received::Dropped(DropReason::Overrun)))
            }
            Err(source) => {
                return Err(UeventdError::Socket {
                    op: "recvmsg",
                    source,
                })
            }
        };
        if let Err(reason) = check_sender(raw.sender_pid, raw.groups, raw.cred_uid) {
            return Ok(Some(Received::Dropped(reason)));
        }
        if raw.truncated || raw.len >= UEVENT_MSG_MAX {
            return Ok(Some(Received::Dropped(DropReason::TooLarge(raw.len))));
        }
        let msg = self.buf.get(..raw.len).unwrap_or_default();
        Ok(Some(match parse_uevent(msg) {
            Ok(ev) => Received::Event(ev),
            Err(e) => Received::Dropped(DropReason::Malformed(e)),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sender_checks() {
        assert_eq!(check_sender(Some(0), 1, Some(0)), Ok(()));
        assert_eq!(
            check_sender(Some(0), 1, None),
            Err(DropReason::NoCredentials)
        );
        assert_eq!(
            check_sender(Some(42), 1, Some(0)),
            Err(DropReason::NotKernel(42))
        );
        assert_eq!(
            check_sender(None, 1, Some(0)),
            Err(DropReason::NotKernel(u32::MAX))
        );
        assert_eq!(
            check_sender(Some(0), 1, Some(1000)),
            Err(DropReason::NotRoot(1000))
        );
        assert_eq!(check_sender(Some(0), 0, Some(0)), Err(DropReason::Unicast));
    }
}
