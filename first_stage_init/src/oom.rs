//! Memory allocation failure in the multi-call binary. Rust's default is to print a line
//! and abort; a SIGABRT in PID 1 is a kernel panic ("Attempted to kill init"). The binary's
//! global allocator ([`FatalOnFailure`], declared in `main.rs`) wraps the system
//! allocator and sends a null return here instead:
//!
//! - in PID 1 (the first stage or the second stage): one fatal line, the same path as a
//!   panic (`FIRST_STAGE_FATAL reason=PANIC memory allocation of <n> bytes failed`, or
//!   `INIT_FATAL reason=PANIC …` once the rc interpreter runs), sync, power off;
//! - in any other process (ueventd, modprobe, the tools rc files run): one line
//!   `<applet>: memory allocation of <n> bytes failed; exiting` on stderr and in the
//!   kernel log, and exit status 1, so init sees an ordinary failure (and restarts a
//!   service as its options say).
//!
//! Nothing on this path allocates: the line is formatted into a stack buffer and written
//! on a fresh descriptor, without the logger (whose lock the failing code may hold).
//! Every allocation failure takes this path, also those `try_reserve` would have
//! reported: as AOSP's init, whose `new` aborts, PID 1 does not run on without memory.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use crate::multicall::Applet;
use crate::sys;

/// The applet this process runs; unknown until the multi-call entry sets it.
static APPLET: OnceLock<Applet> = OnceLock::new();
/// Set on the first failure: a failure while reporting one halts (or exits) at once.
static FAILING: AtomicBool = AtomicBool::new(false);

/// Records which applet this process runs (the multi-call entry calls it first; later
/// calls change nothing).
pub fn set_applet(applet: Applet) {
    let _ = APPLET.set(applet);
}

fn applet() -> Option<Applet> {
    APPLET.get().copied()
}

/// A line formatted without allocating (longer text is cut).
pub struct StackLine {
    buf: [u8; 256],
    len: usize,
}

impl StackLine {
    /// An empty line.
    pub const fn new() -> StackLine {
        StackLine {
            buf: [0; 256],
            len: 0,
        }
    }

    /// The text so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Default for StackLine {
    fn default() -> StackLine {
        StackLine::new()
    }
}

impl std::fmt::Write for StackLine {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let room = self.buf.len() - self.len;
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// The line for a failed allocation of `size` bytes in `applet` (PID 1 or not).
pub fn failure_line(applet: Option<Applet>, pid1: bool, size: usize) -> StackLine {
    let mut line = StackLine::new();
    let _ = match (pid1, applet) {
        (true, Some(Applet::FirstStage)) => write!(line, "FIRST_STAGE_FATAL reason=PANIC "),
        (true, _) => write!(line, "INIT_FATAL reason=PANIC "),
        (false, a) => write!(line, "{}: ", a.map_or("init", Applet::name)),
    };
    let _ = write!(line, "memory allocation of {size} bytes failed");
    if !pid1 {
        let _ = write!(line, "; exiting");
    }
    line
}

/// Writes `line` to the kernel log on a fresh descriptor (no allocation, no logger
/// lock); returns whether that worked.
pub fn write_kmsg(line: &[u8]) -> bool {
    let Ok(mut f) = std::fs::OpenOptions::new().write(true).open("/dev/kmsg") else {
        return false;
    };
    // One write, one record: priority, text (cut at the buffer's size) and newline.
    let mut rec = [0u8; 1024];
    let n = line.len().min(rec.len() - 4);
    rec[..3].copy_from_slice(b"<2>");
    rec[3..3 + n].copy_from_slice(&line[..n]);
    rec[3 + n] = b'\n';
    f.write_all(&rec[..4 + n]).is_ok()
}

/// Reports a failed allocation of `size` bytes and ends this process's work: PID 1
/// powers off, anything else exits with status 1. Never returns; never allocates.
pub fn allocation_failed(size: usize) -> ! {
    let pid1 = sys::getpid() == 1;
    if FAILING.swap(true, Ordering::SeqCst) {
        if pid1 {
            sys::halt_forever()
        }
        std::process::exit(1)
    }
    let line = failure_line(applet(), pid1, size);
    let in_kmsg = write_kmsg(line.as_bytes());
    if !(pid1 && in_kmsg) {
        let mut err = std::io::stderr();
        let _ = err.write_all(line.as_bytes());
        let _ = err.write_all(b"\n");
    }
    if pid1 {
        sys::sync();
        let _ = sys::power_off();
        sys::halt_forever()
    }
    std::process::exit(1)
}

/// The system allocator, with a failed allocation sent to [`allocation_failed`].
pub struct FatalOnFailure;

// SAFETY: every method forwards to `System` with the caller's arguments unchanged and
// returns its result; a null result never returns (`allocation_failed` diverges).
unsafe impl GlobalAlloc for FatalOnFailure {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract for `layout`.
        let p = unsafe { System.alloc(layout) };
        if p.is_null() {
            allocation_failed(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() {
            allocation_failed(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was returned by this allocator (i.e. by `System`) for `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract; `ptr` came from
        // `System` with `layout`.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() {
            allocation_failed(new_size);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(l: &StackLine) -> &str {
        std::str::from_utf8(l.as_bytes()).unwrap()
    }

    #[test]
    fn lines_per_process() {
        assert_eq!(
            text(&failure_line(Some(Applet::FirstStage), true, 4096)),
            "FIRST_STAGE_FATAL reason=PANIC memory allocation of 4096 bytes failed"
        );
        assert_eq!(
            text(&failure_line(Some(Applet::SecondStage), true, 1 << 40)),
            "INIT_FATAL reason=PANIC memory allocation of 1099511627776 bytes failed"
        );
        assert_eq!(
            text(&failure_line(Some(Applet::Ueventd), false, 64)),
            "ueventd: memory allocation of 64 bytes failed; exiting"
        );
        assert_eq!(
            text(&failure_line(None, false, 1)),
            "init: memory allocation of 1 bytes failed; exiting"
        );
    }

    #[test]
    fn stack_line_cuts_long_text() {
        let mut l = StackLine::new();
        for _ in 0..100 {
            let _ = write!(l, "0123456789");
        }
        assert_eq!(l.as_bytes().len(), 256);
    }

    #[test]
    fn the_applet_is_set_once() {
        set_applet(Applet::Modprobe);
        set_applet(Applet::Ueventd);
        assert_eq!(applet(), Some(Applet::Modprobe));
    }
}
