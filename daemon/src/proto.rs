//! The wire protocol between `ptc` clients and the daemon.
//!
//! A connection is a Unix stream socket. Each message is a 4-byte
//! little-endian length followed by that many bytes of [postcard]-encoded
//! [`ClientMsg`] or [`ServerMsg`]; file descriptors travel with a message as
//! `SCM_RIGHTS` ancillary data on its first bytes (a message carries at most
//! [`MAX_FDS`]). Frames never travel in the byte stream: they are in files
//! the client opened and passed (runs), or in shared-memory slots
//! ([`crate::shm`]) passed once when a graph opens (push/pull graphs).
//!
//! The first message each way is the handshake: the client's
//! [`ClientMsg::Hello`] names [`PROTOCOL_VERSION`]; the daemon answers
//! [`ServerMsg::Welcome`] or, on a mismatch, [`ServerMsg::Refused`] and
//! closes. Anything else out of order, undecodable, larger than
//! [`MAX_MESSAGE`], or cut short disconnects the client (the daemon logs why).
//!
//! [postcard]: https://docs.rs/postcard

use serde::{Deserialize, Serialize};
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;

/// Bumped on any incompatible change to the messages below.
pub const PROTOCOL_VERSION: u32 = 1;

/// Identifies a ptc client's first message.
pub const MAGIC: [u8; 4] = *b"PTCd";

/// Largest message accepted (a plan with many embedded kernels fits).
pub const MAX_MESSAGE: usize = 64 << 20;

/// Most file descriptors one message may carry.
pub const MAX_FDS: usize = 64;

/// Client → daemon.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum ClientMsg {
    /// The handshake (first message).
    Hello {
        /// [`MAGIC`].
        magic: [u8; 4],
        /// The client's [`PROTOCOL_VERSION`].
        version: u32,
        /// Free text, for the log (e.g. `ptc 0.1.0`).
        client: String,
    },
    /// A request; the daemon answers with [`ServerMsg::Reply`] of the same id.
    Request {
        /// Chosen by the client, echoed in the reply.
        id: u64,
        /// What to do.
        req: Request,
    },
}

/// What a client may ask.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum Request {
    /// Run a graph from its sources to its sinks (`ptc run`). The message
    /// carries the descriptors named by `inputs`/`outputs`, in that order.
    OpenRun(OpenRun),
    /// Open a graph whose inputs and outputs the client pushes and pulls
    /// (the library client). The reply carries one shared-memory file per
    /// port (inputs, then outputs).
    OpenGraph {
        /// The plan as YAML (validated by the daemon as untrusted input).
        plan_yaml: String,
    },
    /// Slot `slot` of input `port` holds a frame: push it.
    Push {
        /// Graph id.
        graph: u64,
        /// Input index (plan order).
        port: u32,
        /// Shared-memory slot.
        slot: u32,
    },
    /// Deliver the next frame of output `port` into its shared-memory slot.
    Pull {
        /// Graph id.
        graph: u64,
        /// Output index (plan order).
        port: u32,
    },
    /// Change a graph's priority (policy applies).
    SetPriority {
        /// Graph id.
        graph: u64,
        /// 1..=100.
        priority: u32,
    },
    /// Stop a run cleanly (no new frames; the work in flight completes).
    Stop {
        /// Graph id.
        graph: u64,
    },
    /// End a graph: as `Stop` for a run (its client exits 143), an
    /// immediate termination for a push/pull graph.
    Kill {
        /// Graph id.
        graph: u64,
    },
    /// Close a push/pull graph (the library's `terminate`).
    Terminate {
        /// Graph id.
        graph: u64,
    },
    /// Every graph the daemon runs.
    List,
    /// The daemon itself: device, memory, clients.
    Status,
}

/// A graph to run from its sources to its sinks.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct OpenRun {
    /// The plan as YAML; its sources and sinks say what each port does.
    pub plan_yaml: String,
    /// Per plan input: true if a descriptor for it is attached (its file,
    /// camera script or standard input).
    pub inputs: Vec<bool>,
    /// Per plan output: what is attached.
    pub outputs: Vec<OutputFd>,
    /// Stop after this many frames.
    pub frames: Option<u64>,
    /// Stop after this long (ms).
    pub duration_ms: Option<u64>,
    /// Feed paced sources as fast as the graph takes them (`--unpaced`).
    pub unpaced: bool,
    /// Keep running after the client disconnects (`ptc run --detach`).
    pub detach: bool,
    /// Send the graph's Chrome trace with its report.
    pub trace: bool,
}

/// The descriptor attached for one output.
#[derive(Copy, Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum OutputFd {
    /// None (null or host sink).
    None,
    /// The output's file (or standard output), written as the plan's sink says.
    File,
    /// A pipe to the client, which relays the raw frames (`to hid`).
    Relay,
}

/// Daemon → client.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum ServerMsg {
    /// The handshake accepted.
    Welcome {
        /// The daemon's [`PROTOCOL_VERSION`].
        version: u32,
        /// The daemon's process id.
        pid: u32,
        /// The device it runs graphs on.
        device: String,
        /// It runs with the validation layer on (`ptc daemon --validate`).
        validation: bool,
        /// Its scheduling mode (`priority` or `fifo`).
        sched: String,
    },
    /// The handshake refused (the daemon closes the connection).
    Refused {
        /// The daemon's [`PROTOCOL_VERSION`].
        version: u32,
        /// Why, in a sentence that says what to do.
        reason: String,
    },
    /// The answer to request `id`.
    Reply {
        /// The request's id.
        id: u64,
        /// What happened.
        result: Result<Reply, WireError>,
    },
    /// A run's progress: frames done (at most a few per second).
    Progress {
        /// Graph id.
        graph: u64,
        /// Frames done.
        frames: u64,
    },
    /// A run ended (successfully or not).
    RunEnded {
        /// Graph id.
        graph: u64,
        /// Its report, or why it failed.
        outcome: Result<RunReport, WireError>,
    },
    /// The frame pushed from `slot` is in the graph: the slot is free.
    PushDone {
        /// Graph id.
        graph: u64,
        /// Input index.
        port: u32,
        /// The slot.
        slot: u32,
        /// The push failed (the slot is free all the same).
        error: Option<WireError>,
    },
    /// The frame asked for by `Pull` is in the output's slot (or why not).
    Pulled {
        /// Graph id.
        graph: u64,
        /// Output index.
        port: u32,
        /// Ok, or why no frame can come.
        result: Result<(), WireError>,
    },
    /// The daemon is stopping; every graph of this client has ended.
    Shutdown {
        /// Why.
        reason: String,
    },
}

/// A successful answer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum Reply {
    /// Done, nothing to say.
    Done,
    /// A graph opened: its id and its ports.
    Opened {
        /// Graph id (unique for the daemon's lifetime).
        graph: u64,
        /// The plan's input names (plan order).
        inputs: Vec<PortDesc>,
        /// The plan's output names.
        outputs: Vec<PortDesc>,
    },
    /// Every graph the daemon runs.
    Graphs(Vec<GraphStatus>),
    /// The daemon's state.
    Status(DaemonStatus),
}

/// A port of an opened graph.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PortDesc {
    /// Port name.
    pub name: String,
    /// Bytes per frame.
    pub bytes: u64,
    /// Shared-memory slots (push/pull graphs; 0 for runs).
    pub slots: u32,
}

/// An error crossing the socket.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct WireError {
    /// One line, saying what to do.
    pub message: String,
    /// About the plan or data (exit 1) rather than usage/device (exit 2).
    pub bad_input: bool,
}

impl WireError {
    /// A usage/device/policy error (exit 2).
    pub fn usage(message: impl Into<String>) -> WireError {
        WireError {
            message: message.into(),
            bad_input: false,
        }
    }
}

impl From<ptc_runtime::RuntimeError> for WireError {
    fn from(e: ptc_runtime::RuntimeError) -> WireError {
        WireError {
            bad_input: e.is_bad_input(),
            message: e.to_string(),
        }
    }
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// What a run did, as its client reports it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RunReport {
    /// Frames delivered per output.
    pub delivered: Vec<(String, u64)>,
    /// Frames pushed per input.
    pub pushed: Vec<(String, u64)>,
    /// Frames fed but never consumed, per input.
    pub unconsumed: Vec<(String, u64)>,
    /// Wall time of the run, ns.
    pub elapsed_ns: u64,
    /// Why it stopped feeding: `exhausted`, `frames`, `deadline`, `stopped`.
    pub end: String,
    /// Uid of whoever ended it with `ptc kill`, if someone did.
    pub killed_by: Option<u32>,
    /// The scheduler's statistics (schema `ptc-stats/1`) of this graph.
    pub stats_json: String,
    /// Its Chrome trace, if asked for.
    pub trace_json: Option<String>,
    /// Validation messages the daemon's device reported during the run
    /// (only when the daemon runs with validation on).
    pub validation: Vec<String>,
}

/// One graph as `ptc ps` shows it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct GraphStatus {
    /// Graph id.
    pub id: u64,
    /// Graph name.
    pub name: String,
    /// Process id of the client that opened it.
    pub pid: u32,
    /// Its user.
    pub uid: u32,
    /// Current priority.
    pub priority: u32,
    /// Share of the device's GPU time over the last second (0..=1).
    pub gpu_share: f64,
    /// GPU time used since it opened.
    pub gpu_ns: u64,
    /// Frames completed.
    pub frames: u64,
    /// Device memory its buffers hold.
    pub memory_bytes: u64,
    /// `running`, `stopping`, `detached` or `host` (push/pull).
    pub state: String,
    /// Seconds since it opened.
    pub age_s: f64,
}

/// The daemon as `ptc top` shows it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DaemonStatus {
    /// Its process id.
    pub pid: u32,
    /// The device.
    pub device: String,
    /// Device memory held by all graphs.
    pub memory_bytes: u64,
    /// Connected clients.
    pub clients: u32,
    /// Open graphs.
    pub graphs: u32,
    /// Seconds since it started.
    pub uptime_s: f64,
    /// Scheduling mode.
    pub sched: String,
}

/// Why a message could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The peer closed the connection cleanly (between messages).
    #[error("the connection closed")]
    Closed,
    /// I/O failure, or the connection closed in the middle of a message.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// A length beyond [`MAX_MESSAGE`].
    #[error("message of {0} bytes exceeds the {MAX_MESSAGE}-byte limit")]
    TooLarge(usize),
    /// Bytes that do not decode as a message.
    #[error("undecodable message: {0}")]
    Garbage(String),
}

/// Encodes a message: its 4-byte length and body, ready to write.
pub fn encode<T: Serialize>(msg: &T) -> io::Result<Vec<u8>> {
    let body = postcard::to_stdvec(msg).map_err(io::Error::other)?;
    if body.len() > MAX_MESSAGE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("message of {} bytes exceeds the protocol limit", body.len()),
        ));
    }
    let mut v = Vec::with_capacity(4 + body.len());
    v.extend_from_slice(&(body.len() as u32).to_le_bytes());
    v.extend_from_slice(&body);
    Ok(v)
}

/// Writes one message (and `fds`) to `sock`. Not safe to interleave with
/// another writer on the same socket: callers hold one writer per socket.
pub fn send<T: Serialize>(sock: &UnixStream, msg: &T, fds: &[BorrowedFd<'_>]) -> io::Result<()> {
    let body = postcard::to_stdvec(msg).map_err(io::Error::other)?;
    if body.len() > MAX_MESSAGE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("message of {} bytes exceeds the protocol limit", body.len()),
        ));
    }
    if fds.len() > MAX_FDS {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} descriptors in one message (at most {MAX_FDS})",
                fds.len()
            ),
        ));
    }
    let len = (body.len() as u32).to_le_bytes();
    let mut sent = if fds.is_empty() {
        0
    } else {
        let mut space = vec![MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
        let mut control = rustix::net::SendAncillaryBuffer::new(&mut space);
        if !control.push(rustix::net::SendAncillaryMessage::ScmRights(fds)) {
            return Err(io::Error::other("descriptor buffer too small"));
        }
        let iov = [IoSlice::new(&len), IoSlice::new(&body)];
        rustix::net::sendmsg(sock, &iov, &mut control, rustix::net::SendFlags::NOSIGNAL)?
    };
    // The rest (or everything, without descriptors) as plain bytes.
    let mut w = sock;
    if sent < 4 {
        w.write_all(&len[sent..])?;
        sent = 4;
    }
    w.write_all(&body[sent - 4..])?;
    Ok(())
}

/// Reads one message from `sock`, with the descriptors that came with it.
pub fn recv<T: for<'de> Deserialize<'de>>(
    sock: &UnixStream,
) -> Result<(T, Vec<OwnedFd>), ReadError> {
    let mut len = [0u8; 4];
    let mut fds = Vec::new();
    let mut got = 0;
    while got < 4 {
        let mut space = vec![MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(MAX_FDS))];
        let mut control = rustix::net::RecvAncillaryBuffer::new(&mut space);
        let mut iov = [IoSliceMut::new(&mut len[got..])];
        let r = match rustix::net::recvmsg(
            sock.as_fd(),
            &mut iov,
            &mut control,
            rustix::net::RecvFlags::CMSG_CLOEXEC,
        ) {
            Ok(r) => r,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(ReadError::Io(e.into())),
        };
        for m in control.drain() {
            if let rustix::net::RecvAncillaryMessage::ScmRights(it) = m {
                fds.extend(it);
            }
        }
        if r.bytes == 0 {
            return Err(if got == 0 {
                ReadError::Closed
            } else {
                ReadError::Io(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the connection closed in the middle of a message",
                ))
            });
        }
        got += r.bytes;
    }
    let n = u32::from_le_bytes(len) as usize;
    if n > MAX_MESSAGE {
        return Err(ReadError::TooLarge(n));
    }
    let mut body = vec![0u8; n];
    let mut r = sock;
    r.read_exact(&mut body).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            ReadError::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the connection closed in the middle of a message",
            ))
        } else {
            ReadError::Io(e)
        }
    })?;
    let msg = postcard::from_bytes(&body).map_err(|e| ReadError::Garbage(e.to_string()))?;
    Ok((msg, fds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_descriptors_round_trip() {
        let (a, b) = UnixStream::pair().unwrap();
        let f = tempfile::tempfile().unwrap();
        let msg = ClientMsg::Request {
            id: 7,
            req: Request::OpenRun(OpenRun {
                plan_yaml: "x".repeat(300_000),
                inputs: vec![true],
                outputs: vec![OutputFd::File],
                frames: Some(3),
                duration_ms: None,
                unpaced: true,
                detach: false,
                trace: true,
            }),
        };
        let writer = std::thread::spawn(move || {
            send(&a, &msg, &[f.as_fd()]).unwrap();
            send(
                &a,
                &ClientMsg::Request {
                    id: 8,
                    req: Request::List,
                },
                &[],
            )
            .unwrap();
            msg
        });
        let (got, fds): (ClientMsg, _) = recv(&b).unwrap();
        assert_eq!(fds.len(), 1);
        let (second, none): (ClientMsg, _) = recv(&b).unwrap();
        assert!(none.is_empty());
        assert_eq!(got, writer.join().unwrap());
        assert_eq!(
            second,
            ClientMsg::Request {
                id: 8,
                req: Request::List
            }
        );
        assert!(matches!(recv::<ClientMsg>(&b), Err(ReadError::Closed)));
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        // Garbage.
        let (a, b) = UnixStream::pair().unwrap();
        let mut w = &a;
        w.write_all(&[5, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff])
            .unwrap();
        assert!(matches!(recv::<ClientMsg>(&b), Err(ReadError::Garbage(_))));
        // Oversized.
        w.write_all(&u32::MAX.to_le_bytes()).unwrap();
        assert!(matches!(recv::<ClientMsg>(&b), Err(ReadError::TooLarge(_))));
        // Truncated.
        let (a, b) = UnixStream::pair().unwrap();
        let mut w = &a;
        w.write_all(&[100, 0, 0, 0, 1, 2, 3]).unwrap();
        drop(a);
        assert!(matches!(recv::<ClientMsg>(&b), Err(ReadError::Io(_))));
    }
}
