//! One client connection: a reader thread (handshake, then requests to the
//! engine) and a writer thread (the engine's replies and events to the
//! socket). The engine never touches a socket, so a slow or stuck client
//! cannot stall it or anyone else.

use super::engine::{Command, ConnId};
use crate::policy::Peer;
use crate::proto::{self, ClientMsg, ReadError, ServerMsg, MAGIC, PROTOCOL_VERSION};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::mpsc::{Receiver, Sender, SyncSender};
use std::time::Duration;

/// A message for the writer thread.
pub struct Outgoing {
    /// The message.
    pub msg: ServerMsg,
    /// Descriptors to send with it.
    pub fds: Vec<OwnedFd>,
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
    pub out: SyncSender<Outgoing>,
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
    std::thread::Builder::new()
        .name(format!("ptc-conn-{}-w", conn.0))
        .spawn(move || writer(wsock, rx))?;
    std::thread::Builder::new()
        .name(format!("ptc-conn-{}-r", conn.0))
        .spawn(move || reader(conn, sock, peer, tx, engine, info))?;
    Ok(())
}

fn writer(sock: UnixStream, rx: Receiver<Outgoing>) {
    for o in rx {
        let fds: Vec<_> = o.fds.iter().map(|f| f.as_fd()).collect();
        if proto::send(&sock, &o.msg, &fds).is_err() {
            break;
        }
    }
    let _ = sock.shutdown(std::net::Shutdown::Both);
}

fn reader(
    conn: ConnId,
    sock: UnixStream,
    peer: Peer,
    out: SyncSender<Outgoing>,
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
    let welcome = Outgoing {
        msg: ServerMsg::Welcome {
            version: PROTOCOL_VERSION,
            pid: std::process::id(),
            device: info.device,
            validation: info.validation,
            sched: info.sched,
        },
        fds: Vec::new(),
    };
    if out.send(welcome).is_err() {
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
