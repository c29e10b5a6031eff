//! One client connection: a reader thread (handshake, then requests to the
//! engine) and a writer thread (the engine's replies and events to the
//! socket). The engine never touches a socket, so a slow or stuck client
//! cannot stall it or anyone else.

use super::engine::{Command, ConnId};
use crate::policy::Peer;
use crate::proto::{self, ClientMsg, ReadError, ServerMsg, MAGIC, PROTOCOL_VERSION};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Duration;

/// A message for the writer thread.
pub enum Outgoing {
    /// A message and the descriptors that go with it.
    Msg(ServerMsg, Vec<OwnedFd>),
    /// The rest of a message the engine began writing itself.
    Rest(Vec<u8>),
}

/// Where the engine sends a client's messages. A message without
/// descriptors goes straight to the socket from the engine's thread when
/// nothing is queued and the socket takes it without blocking (no thread
/// hop on the frame path); anything else is queued for the writer thread,
/// which may block on a slow client without stalling the engine.
pub struct Outbox {
    sock: std::sync::Mutex<UnixStream>,
    queue: SyncSender<Outgoing>,
    /// Messages queued and not yet written by the writer thread.
    queued: Arc<AtomicUsize>,
}

/// Why [`Outbox::send`] failed.
pub enum SendError {
    /// The client does not read its socket (its queue is full).
    Full,
    /// The connection is gone.
    Closed,
}

impl Outbox {
    /// Sends `msg` (see the type's docs).
    pub fn send(&self, msg: ServerMsg, fds: Vec<OwnedFd>) -> Result<(), SendError> {
        if fds.is_empty() && self.queued.load(Ordering::SeqCst) == 0 {
            if let Ok(sock) = self.sock.try_lock() {
                if self.queued.load(Ordering::SeqCst) == 0 {
                    let bytes = proto::encode(&msg).map_err(|_| SendError::Closed)?;
                    return match rustix::net::send(
                        &*sock,
                        &bytes,
                        rustix::net::SendFlags::DONTWAIT | rustix::net::SendFlags::NOSIGNAL,
                    ) {
                        Ok(n) if n == bytes.len() => Ok(()),
                        Ok(n) => self.enqueue(Outgoing::Rest(bytes[n..].to_vec())),
                        Err(rustix::io::Errno::AGAIN) | Err(rustix::io::Errno::INTR) => {
                            self.enqueue(Outgoing::Rest(bytes))
                        }
                        Err(_) => Err(SendError::Closed),
                    };
                }
            }
        }
        self.enqueue(Outgoing::Msg(msg, fds))
    }

    fn enqueue(&self, o: Outgoing) -> Result<(), SendError> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        match self.queue.try_send(o) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.queued.fetch_sub(1, Ordering::SeqCst);
                Err(match e {
                    TrySendError::Full(_) => SendError::Full,
                    TrySendError::Disconnected(_) => SendError::Closed,
                })
            }
        }
    }
}

/// Events queued for one client before it counts as not reading its socket
/// (it is then disconnected).
pub const OUTBOX: usize = 4096;

/// What the daemon tells every client in its welcome.
#[derive(Clone, Debug)]
pub struct Welcome {
    /// The device.
    pub device: String,
    /// Validation on.
    pub validation: bool,
    /// Scheduling mode.
    pub sched: String,
}

/// What the engine needs to know about a new connection.
pub struct Hello {
    /// Its id.
    pub conn: ConnId,
    /// Who it is.
    pub peer: Peer,
    /// Where its messages go.
    pub out: Arc<Outbox>,
    /// The client's own description (`ptc 0.1.0`).
    pub client: String,
}

/// Serves one accepted connection (spawns its threads and returns).
pub fn spawn(
    conn: ConnId,
    sock: UnixStream,
    engine: Sender<Command>,
    info: Welcome,
) -> std::io::Result<()> {
    let peer = Peer::of(&sock)?;
    // A client that stops reading must not block its writer forever.
    sock.set_write_timeout(Some(Duration::from_secs(10)))?;
    let wsock = sock.try_clone()?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Outgoing>(OUTBOX);
    let queued = Arc::new(AtomicUsize::new(0));
    let outbox = Arc::new(Outbox {
        sock: std::sync::Mutex::new(sock.try_clone()?),
        queue: tx,
        queued: queued.clone(),
    });
    let shared = Arc::downgrade(&outbox);
    std::thread::Builder::new()
        .name(format!("ptc-conn-{}-w", conn.0))
        .spawn(move || writer(wsock, rx, shared, queued))?;
    let tx = outbox;
    std::thread::Builder::new()
        .name(format!("ptc-conn-{}-r", conn.0))
        .spawn(move || reader(conn, sock, peer, tx, engine, info))?;
    Ok(())
}

fn writer(
    sock: UnixStream,
    rx: Receiver<Outgoing>,
    outbox: std::sync::Weak<Outbox>,
    queued: Arc<AtomicUsize>,
) {
    use std::io::Write;
    // The outbox owns the sender: the loop ends once the engine (and the
    // reader) dropped theirs and the queue is empty.
    for o in rx {
        let r = {
            // Hold the socket while writing, so the engine's direct writes
            // cannot interleave with this message.
            let guard = outbox.upgrade();
            let lock = guard.as_ref().map(|b| b.sock.lock());
            let res = match &o {
                Outgoing::Msg(msg, fds) => {
                    let fds: Vec<_> = fds.iter().map(|f| f.as_fd()).collect();
                    proto::send(&sock, msg, &fds)
                }
                Outgoing::Rest(bytes) => (&sock).write_all(bytes),
            };
            drop(lock);
            res
        };
        queued.fetch_sub(1, Ordering::SeqCst);
        if r.is_err() {
            break;
        }
    }
    let _ = sock.shutdown(std::net::Shutdown::Both);
}

fn reader(
    conn: ConnId,
    sock: UnixStream,
    peer: Peer,
    out: Arc<Outbox>,
    engine: Sender<Command>,
    info: Welcome,
) {
    let drop_client = |reason: String| {
        let _ = sock.shutdown(std::net::Shutdown::Both);
        let _ = engine.send(Command::Disconnected { conn, reason });
    };
    // The handshake.
    let client = match proto::recv::<ClientMsg>(&sock) {
        Ok((
            ClientMsg::Hello {
                magic,
                version,
                client,
            },
            _,
        )) if magic == MAGIC => {
            if version != PROTOCOL_VERSION {
                let reason = format!(
                    "this daemon speaks ptc protocol {PROTOCOL_VERSION}, the client speaks {version}: \
                     use a ptc of the same version as the daemon (or restart the daemon)"
                );
                let _ = proto::send(
                    &sock,
                    &ServerMsg::Refused {
                        version: PROTOCOL_VERSION,
                        reason: reason.clone(),
                    },
                    &[],
                );
                log(conn, &peer, &format!("refused: protocol {version}"));
                let _ = sock.shutdown(std::net::Shutdown::Both);
                return;
            }
            client
        }
        Ok(_) => {
            log(
                conn,
                &peer,
                "disconnected: the first message was not a ptc hello",
            );
            let _ = sock.shutdown(std::net::Shutdown::Both);
            return;
        }
        Err(ReadError::Closed) => return,
        Err(e) => {
            log(
                conn,
                &peer,
                &format!("disconnected during the handshake: {e}"),
            );
            let _ = sock.shutdown(std::net::Shutdown::Both);
            return;
        }
    };
    let welcome = ServerMsg::Welcome {
        version: PROTOCOL_VERSION,
        pid: std::process::id(),
        device: info.device,
        validation: info.validation,
        sched: info.sched,
    };
    if out.send(welcome, Vec::new()).is_err() {
        return;
    }
    if engine
        .send(Command::Connected(Hello {
            conn,
            peer,
            out,
            client,
        }))
        .is_err()
    {
        return;
    }
    loop {
        match proto::recv::<ClientMsg>(&sock) {
            Ok((ClientMsg::Request { id, req }, fds)) => {
                if engine
                    .send(Command::Request { conn, id, req, fds })
                    .is_err()
                {
                    return;
                }
            }
            Ok((ClientMsg::Hello { .. }, _)) => {
                drop_client("a second hello (out of order)".into());
                return;
            }
            Err(ReadError::Closed) => {
                let _ = engine.send(Command::Disconnected {
                    conn,
                    reason: String::new(),
                });
                return;
            }
            Err(e) => {
                drop_client(e.to_string());
                return;
            }
        }
    }
}

/// Logs a line about a connection on the daemon's standard error.
pub fn log(conn: ConnId, peer: &Peer, what: &str) {
    eprintln!(
        "ptc daemon: client #{} (pid {}, uid {}): {what}",
        conn.0, peer.pid, peer.uid
    );
}
