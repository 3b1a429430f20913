//! The property-service socket as the event loop serves it: nothing here ever blocks.
//! The listener and every connection are non-blocking; each accepted connection keeps a
//! small state (its peer's credentials, the bytes received so far, a deadline) and is
//! answered as soon as a whole request has arrived ([`decode`]). A connection that has
//! not delivered a request within [`REQUEST_TIMEOUT`] of being accepted gets AOSP's
//! read-error answer and is closed; a uid may hold at most [`MAX_CONNECTIONS_PER_UID`]
//! unanswered connections (and all peers together [`MAX_CONNECTIONS`]): one more is
//! closed at once without an answer, with one log line until that uid is below the cap
//! again. So idle or slow clients cost init a few bytes each and never delay reaping, the
//! other uids' requests or `sys.powerctl`.
//!
//! AOSP serves one connection at a time with a 2 s budget (`property_service.cpp`
//! `handle_property_set_fd`); the cap per uid is **Ours**.

use std::collections::BTreeSet;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::socket::{self, sockopt};

use crate::error::RcError;
use crate::prop_proto::{decode, Decoded, Request, RequestError, REQUEST_TIMEOUT};

/// Who sent a request (`SO_PEERCRED` at accept time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Process id.
    pub pid: i32,
}

/// Unanswered connections one uid may hold.
pub const MAX_CONNECTIONS_PER_UID: usize = 16;
/// Unanswered connections of all peers together.
pub const MAX_CONNECTIONS: usize = 128;
/// Connections accepted per [`PropertyServer::serve`], so a flood of connects cannot
/// keep the event loop from reaping.
pub const MAX_ACCEPTS_PER_SERVE: usize = 32;

/// One accepted connection waiting for its request.
struct Conn {
    stream: UnixStream,
    peer: Peer,
    buf: Vec<u8>,
    deadline: Instant,
}

/// What became of a connection after reading what it sent.
enum Outcome {
    /// Still waiting for bytes.
    Pending,
    /// Answered (or gone): drop it.
    Done,
}

/// The listening socket and the connections waiting for their requests.
pub struct PropertyServer {
    listener: UnixListener,
    conns: Vec<Conn>,
    /// uids refused for the cap whose refusal was logged (until they are below it).
    capped: BTreeSet<u32>,
}

impl PropertyServer {
    /// Binds `path` (replacing a stale node), mode 0666, non-blocking.
    pub fn bind(path: &Path) -> Result<PropertyServer, RcError> {
        let shown = path.display().to_string();
        if let Some(dir) = path.parent() {
            std::fs::DirBuilder::new()
                .mode(0o755)
                .recursive(true)
                .create(dir)
                .map_err(|e| RcError::io("mkdir", dir.display(), e))?;
        }
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(RcError::io("unlink", &shown, e)),
        }
        let listener = UnixListener::bind(path).map_err(|e| RcError::io("bind", &shown, e))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))
            .map_err(|e| RcError::io("chmod", &shown, e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| RcError::io("set non-blocking", &shown, e))?;
        Ok(PropertyServer {
            listener,
            conns: Vec::new(),
            capped: BTreeSet::new(),
        })
    }

    /// The descriptors to poll for input: the listener, then every open connection.
    pub fn fds(&self) -> Vec<BorrowedFd<'_>> {
        std::iter::once(self.listener.as_fd())
            .chain(self.conns.iter().map(|c| c.stream.as_fd()))
            .collect()
    }

    /// Connections waiting for their request.
    pub fn open_connections(&self) -> usize {
        self.conns.len()
    }

    /// When the next connection runs out of time.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.conns.iter().map(|c| c.deadline).min()
    }

    /// How long the event loop may sleep before the next connection runs out of time.
    pub fn time_left(&self, now: Instant) -> Option<Duration> {
        self.next_deadline()
            .map(|d| d.saturating_duration_since(now))
    }

    /// Accepts what is pending (at most [`MAX_ACCEPTS_PER_SERVE`]), reads what every
    /// connection has sent, answers each whole request with `handle` (which returns the
    /// reply bytes), and closes connections past their deadline. Never blocks.
    pub fn serve(&mut self, now: Instant, handle: &mut dyn FnMut(Request, Peer) -> Vec<u8>) {
        self.accept(now);
        let mut i = 0;
        while i < self.conns.len() {
            match service(&mut self.conns[i], now, handle) {
                Outcome::Pending => i += 1,
                Outcome::Done => {
                    self.conns.swap_remove(i);
                }
            }
        }
        let conns = &self.conns;
        self.capped
            .retain(|uid| count_uid(conns, *uid) >= MAX_CONNECTIONS_PER_UID);
    }

    fn accept(&mut self, now: Instant) {
        for _ in 0..MAX_ACCEPTS_PER_SERVE {
            let stream = match self.listener.accept() {
                Ok((s, _)) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::error!("init: property service accept: {e}");
                    return;
                }
            };
            let peer = match socket::getsockopt(&stream, sockopt::PeerCredentials) {
                Ok(c) => Peer {
                    uid: c.uid(),
                    gid: c.gid(),
                    pid: c.pid(),
                },
                Err(e) => {
                    log::error!("init: property service: no peer credentials: {e}");
                    continue;
                }
            };
            let held = count_uid(&self.conns, peer.uid);
            if held >= MAX_CONNECTIONS_PER_UID || self.conns.len() >= MAX_CONNECTIONS {
                if self.capped.insert(peer.uid) {
                    log::warn!(
                        "init: property service: uid {} has {held} unanswered connection(s) \
                         ({} in all): refusing more until it is below {MAX_CONNECTIONS_PER_UID}",
                        peer.uid,
                        self.conns.len()
                    );
                }
                continue;
            }
            if let Err(e) = stream.set_nonblocking(true) {
                log::error!("init: property service: set non-blocking: {e}");
                continue;
            }
            self.conns.push(Conn {
                stream,
                peer,
                buf: Vec::new(),
                deadline: now + REQUEST_TIMEOUT,
            });
        }
    }
}

fn count_uid(conns: &[Conn], uid: u32) -> usize {
    conns.iter().filter(|c| c.peer.uid == uid).count()
}

/// Reads what `c` has sent and answers it when its request is whole or its time is up.
fn service(
    c: &mut Conn,
    now: Instant,
    handle: &mut dyn FnMut(Request, Peer) -> Vec<u8>,
) -> Outcome {
    let mut chunk = [0u8; 4096];
    let mut eof = false;
    loop {
        match decode(&c.buf) {
            Decoded::Complete(req, _) => {
                let reply = handle(req, c.peer);
                send_reply(&c.stream, &reply);
                return Outcome::Done;
            }
            Decoded::Invalid(e) => {
                log::warn!(
                    "init: property service: bad request from pid {} (uid {}): {e}",
                    c.peer.pid,
                    c.peer.uid
                );
                send_reply(&c.stream, &e.reply().to_ne_bytes());
                return Outcome::Done;
            }
            Decoded::Incomplete { .. } if eof => {
                log::debug!(
                    "init: property service: pid {} closed before a whole request",
                    c.peer.pid
                );
                return Outcome::Done;
            }
            Decoded::Incomplete { need, what } => {
                let want = need.min(chunk.len());
                match (&c.stream).read(&mut chunk[..want]) {
                    Ok(0) => eof = true,
                    Ok(n) => c.buf.extend_from_slice(&chunk[..n]),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        if now < c.deadline {
                            return Outcome::Pending;
                        }
                        let err = RequestError::truncated(what);
                        log::warn!(
                            "init: property service: pid {} (uid {}) sent no whole request \
                             within {}ms: {err}; closing",
                            c.peer.pid,
                            c.peer.uid,
                            REQUEST_TIMEOUT.as_millis()
                        );
                        send_reply(&c.stream, &err.reply().to_ne_bytes());
                        return Outcome::Done;
                    }
                    Err(e) => {
                        log::debug!("init: property service: read from pid {}: {e}", c.peer.pid);
                        return Outcome::Done;
                    }
                }
            }
        }
    }
}

/// Sends `reply` without waiting: replies are at most a few bytes plus one value, far
/// below a socket's buffer; a peer that does not take them loses them.
fn send_reply(stream: &UnixStream, reply: &[u8]) {
    let flags = socket::MsgFlags::MSG_NOSIGNAL | socket::MsgFlags::MSG_DONTWAIT;
    let mut off = 0;
    while let Some(rest) = reply.get(off..).filter(|r| !r.is_empty()) {
        match socket::send(stream.as_raw_fd(), rest, flags) {
            Ok(0) => return,
            Ok(n) => off = off.saturating_add(n),
            Err(Errno::EINTR) => continue,
            Err(e) => {
                log::debug!("init: property service reply: {e}");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prop_proto::{
        encode_get_reply, encode_set, get_property, set_property, PROP_ERROR_INVALID_CMD,
        PROP_ERROR_READ_CMD, PROP_ERROR_READ_DATA, PROP_SUCCESS,
    };
    use std::io::Write;

    fn server() -> (tempfile::TempDir, std::path::PathBuf, PropertyServer) {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("socket/property_service");
        let s = PropertyServer::bind(&path).unwrap();
        (d, path, s)
    }

    fn reply_of(c: &mut UnixStream) -> Option<u32> {
        let mut b = [0u8; 4];
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        c.read_exact(&mut b).ok().map(|()| u32::from_ne_bytes(b))
    }

    #[test]
    fn round_trip_through_the_event_loop() {
        let (_d, path, mut server) = server();
        let client_path = path.clone();
        let client = std::thread::spawn(move || {
            set_property(&client_path, "ro.cold_boot_done", "true").unwrap();
            let rejected = set_property(&client_path, "bad..name", "x").unwrap_err();
            let got = get_property(&client_path, "ro.cold_boot_done").unwrap();
            let missing = get_property(&client_path, "nope").unwrap();
            (rejected.to_string(), got, missing)
        });
        let mut store = crate::property::PropertyStore::new();
        let mut handled = 0;
        while handled < 4 {
            let ready = crate::sys::wait_readable(&server.fds(), Some(Duration::from_secs(5)));
            assert!(ready.iter().any(|r| *r), "nothing to serve");
            server.serve(Instant::now(), &mut |req, peer| {
                handled += 1;
                assert!(peer.pid > 0);
                match req {
                    Request::Set { name, value } => match store.set(&name, &value) {
                        Ok(()) => PROP_SUCCESS.to_ne_bytes().to_vec(),
                        Err(_) => crate::prop_proto::PROP_ERROR_INVALID_NAME
                            .to_ne_bytes()
                            .to_vec(),
                    },
                    Request::Get { name } => encode_get_reply(store.get(&name)),
                }
            });
        }
        let (rejected, got, missing) = client.join().unwrap();
        assert!(rejected.contains("0x10"), "{rejected}");
        assert_eq!(got.as_deref(), Some("true"));
        assert_eq!(missing, None);
    }

    #[test]
    fn malformed_request_gets_an_error_reply() {
        let (_d, path, mut server) = server();
        let mut c = UnixStream::connect(&path).unwrap();
        c.write_all(&7u32.to_ne_bytes()).unwrap();
        server.serve(Instant::now(), &mut |_, _| panic!("no request expected"));
        assert_eq!(reply_of(&mut c), Some(PROP_ERROR_INVALID_CMD));
        assert_eq!(server.open_connections(), 0);
    }

    #[test]
    fn a_request_in_pieces_is_answered_when_whole() {
        let (_d, path, mut server) = server();
        let msg = encode_set("debug.x", "1").unwrap();
        let mut c = UnixStream::connect(&path).unwrap();
        let t0 = Instant::now();
        let mut answered = 0;
        for piece in msg.chunks(3) {
            c.write_all(piece).unwrap();
            server.serve(t0, &mut |req, _| {
                answered += 1;
                assert_eq!(
                    req,
                    Request::Set {
                        name: "debug.x".into(),
                        value: "1".into()
                    }
                );
                PROP_SUCCESS.to_ne_bytes().to_vec()
            });
        }
        assert_eq!(answered, 1);
        assert_eq!(reply_of(&mut c), Some(PROP_SUCCESS));
    }

    #[test]
    fn idle_clients_never_block_and_time_out_with_aosps_answer() {
        let (_d, path, mut server) = server();
        // Idle: connected, nothing sent. Slow: half a request.
        let mut idle = UnixStream::connect(&path).unwrap();
        let mut slow = UnixStream::connect(&path).unwrap();
        slow.write_all(&encode_set("debug.x", "1").unwrap()[..6])
            .unwrap();
        let t0 = Instant::now();
        let start = Instant::now();
        server.serve(t0, &mut |_, _| panic!("nothing whole yet"));
        assert!(
            start.elapsed() < Duration::from_millis(500),
            "serve blocked"
        );
        assert_eq!(server.open_connections(), 2);
        assert_eq!(server.next_deadline(), Some(t0 + REQUEST_TIMEOUT));
        // A third client is served at once meanwhile.
        let mut quick = UnixStream::connect(&path).unwrap();
        quick
            .write_all(&encode_set("debug.y", "2").unwrap())
            .unwrap();
        server.serve(t0, &mut |_, _| PROP_SUCCESS.to_ne_bytes().to_vec());
        assert_eq!(reply_of(&mut quick), Some(PROP_SUCCESS));
        assert_eq!(server.open_connections(), 2);
        // Past the deadline both get AOSP's read errors and are closed.
        server.serve(t0 + REQUEST_TIMEOUT, &mut |_, _| panic!("no request"));
        assert_eq!(server.open_connections(), 0);
        assert_eq!(reply_of(&mut idle), Some(PROP_ERROR_READ_CMD));
        assert_eq!(reply_of(&mut slow), Some(PROP_ERROR_READ_DATA));
    }

    #[test]
    fn connections_are_capped_per_uid() {
        let (_d, path, mut server) = server();
        let t0 = Instant::now();
        let mut clients: Vec<UnixStream> = (0..MAX_CONNECTIONS_PER_UID + 4)
            .map(|_| UnixStream::connect(&path).unwrap())
            .collect();
        server.serve(t0, &mut |_, _| panic!("no request"));
        assert_eq!(server.open_connections(), MAX_CONNECTIONS_PER_UID);
        // The refused ones were closed without an answer.
        for c in clients.iter_mut().skip(MAX_CONNECTIONS_PER_UID) {
            assert_eq!(reply_of(c), None);
        }
        // Once the held ones time out, the uid may connect again.
        server.serve(t0 + REQUEST_TIMEOUT, &mut |_, _| panic!("no request"));
        assert_eq!(server.open_connections(), 0);
        let mut again = UnixStream::connect(&path).unwrap();
        again
            .write_all(&encode_set("debug.z", "3").unwrap())
            .unwrap();
        server.serve(t0 + REQUEST_TIMEOUT, &mut |_, _| {
            PROP_SUCCESS.to_ne_bytes().to_vec()
        });
        assert_eq!(reply_of(&mut again), Some(PROP_SUCCESS));
    }
}
