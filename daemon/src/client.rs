//! The client side: a [`Connection`] to a daemon (handshake, requests,
//! events), and [`Client`], the library's push/pull API over it — the same
//! verbs as [`ptc_runtime::Runtime`], behind [`ptc_runtime::GraphHost`].

use crate::proto::{
    self, ClientMsg, PortDesc, ReadError, Reply, Request, ServerMsg, WireError, MAGIC,
    PROTOCOL_VERSION,
};
use crate::shm::SharedSlots;
use ptc_runtime::{GraphHost, GraphId, Plan, RuntimeError};
use std::collections::{HashMap, VecDeque};
use std::os::fd::{BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A received message and its descriptors.
pub type Incoming = (ServerMsg, Vec<OwnedFd>);

/// Why talking to a daemon failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No daemon listens at the path (no socket, or nobody accepts).
    #[error("no ptc daemon listens at `{path}`: {why}")]
    NoDaemon {
        /// The socket path.
        path: String,
        /// The system's reason.
        why: String,
    },
    /// The daemon refused the handshake (protocol version).
    #[error("the daemon at `{path}` refused the connection: {reason}")]
    Refused {
        /// The socket path.
        path: String,
        /// Its reason.
        reason: String,
    },
    /// The connection broke (the daemon stopped or died).
    #[error("the daemon at `{path}` closed the connection ({why}): it stopped or crashed; the graph did not finish")]
    Gone {
        /// The socket path.
        path: String,
        /// What was seen.
        why: String,
    },
    /// The daemon answered with an error.
    #[error("{0}")]
    Refusal(WireError),
    /// Anything else on this side.
    #[error("{0}")]
    Io(String),
}

impl ClientError {
    /// True if the error is about the plan or data (exit 1), not usage (2).
    pub fn is_bad_input(&self) -> bool {
        matches!(self, ClientError::Refusal(w) if w.bad_input)
    }
}

impl From<ClientError> for RuntimeError {
    fn from(e: ClientError) -> RuntimeError {
        RuntimeError::Daemon {
            bad_input: e.is_bad_input(),
            message: e.to_string(),
        }
    }
}

/// An open connection to a daemon.
pub struct Connection {
    sock: UnixStream,
    next_id: u64,
    path: PathBuf,
    /// Events that arrived while waiting for a reply.
    events: VecDeque<Incoming>,
    /// The daemon's pid.
    pub daemon_pid: u32,
    /// The device the daemon runs graphs on.
    pub device: String,
    /// The daemon runs with validation on.
    pub validation: bool,
    /// The daemon's scheduling mode.
    pub sched: String,
}

impl Connection {
    /// Connects to the daemon at `path` and does the handshake (10 s at most).
    pub fn connect(path: &Path) -> Result<Connection, ClientError> {
        let shown = path.display().to_string();
        let sock = UnixStream::connect(path).map_err(|e| ClientError::NoDaemon {
            path: shown.clone(),
            why: e.to_string(),
        })?;
        let hello = ClientMsg::Hello {
            magic: MAGIC,
            version: PROTOCOL_VERSION,
            client: format!("ptc {}", env!("CARGO_PKG_VERSION")),
        };
        proto::send(&sock, &hello, &[]).map_err(|e| ClientError::Gone {
            path: shown.clone(),
            why: e.to_string(),
        })?;
        let mut c = Connection {
            sock,
            next_id: 1,
            path: path.to_path_buf(),
            events: VecDeque::new(),
            daemon_pid: 0,
            device: String::new(),
            validation: false,
            sched: String::new(),
        };
        match c.recv(Some(Duration::from_secs(10)))? {
            Some((
                ServerMsg::Welcome {
                    pid,
                    device,
                    validation,
                    sched,
                    ..
                },
                _,
            )) => {
                c.daemon_pid = pid;
                c.device = device;
                c.validation = validation;
                c.sched = sched;
                Ok(c)
            }
            Some((ServerMsg::Refused { reason, .. }, _)) => Err(ClientError::Refused {
                path: shown,
                reason,
            }),
            Some(_) => Err(ClientError::Gone {
                path: shown,
                why: "it answered the handshake with something else".into(),
            }),
            None => Err(ClientError::Gone {
                path: shown,
                why: "no answer to the handshake within 10 s".into(),
            }),
        }
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn gone(&self, why: impl std::fmt::Display) -> ClientError {
        ClientError::Gone {
            path: self.path.display().to_string(),
            why: why.to_string(),
        }
    }

    /// The next message from the daemon, waiting at most `timeout` (`None`:
    /// forever); `Ok(None)` on timeout.
    fn recv(&mut self, timeout: Option<Duration>) -> Result<Option<Incoming>, ClientError> {
        // Read on this thread (no reader thread: one hop less per message);
        // wait for the first byte with a timeout, then read the whole
        // message, which the daemon writes in one go.
        if let Some(t) = timeout {
            use rustix::event::{poll, PollFd, PollFlags, Timespec};
            let ts = Timespec {
                tv_sec: t.as_secs() as i64,
                tv_nsec: t.subsec_nanos() as _,
            };
            let mut fds = [PollFd::new(&self.sock, PollFlags::IN)];
            match poll(&mut fds, Some(&ts)) {
                Ok(0) => return Ok(None),
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => return Ok(None),
                Err(e) => return Err(self.gone(e)),
            }
        }
        match proto::recv::<ServerMsg>(&self.sock) {
            Ok((ServerMsg::Shutdown { reason }, _)) => Err(self.gone(reason)),
            Ok(x) => Ok(Some(x)),
            Err(ReadError::Closed) => Err(self.gone("closed")),
            Err(e) => Err(self.gone(e)),
        }
    }

    /// Sends a request without waiting for its reply; returns its id.
    pub fn send(&mut self, req: Request, fds: &[BorrowedFd<'_>]) -> Result<u64, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        proto::send(&self.sock, &ClientMsg::Request { id, req }, fds).map_err(|e| self.gone(e))?;
        Ok(id)
    }

    /// Sends a request and waits for its reply (events that arrive
    /// meanwhile are kept for [`Connection::next_event`]).
    pub fn request(
        &mut self,
        req: Request,
        fds: &[BorrowedFd<'_>],
    ) -> Result<(Reply, Vec<OwnedFd>), ClientError> {
        let id = self.send(req, fds)?;
        loop {
            match self.recv(None)? {
                Some((ServerMsg::Reply { id: rid, result }, fds)) if rid == id => {
                    return result.map(|r| (r, fds)).map_err(ClientError::Refusal);
                }
                Some(ev) => self.events.push_back(ev),
                None => {}
            }
        }
    }

    /// The next event (progress, run ended, push done, pulled), waiting at
    /// most `timeout`; `Ok(None)` on timeout.
    pub fn next_event(&mut self, timeout: Duration) -> Result<Option<Incoming>, ClientError> {
        if let Some(e) = self.events.pop_front() {
            return Ok(Some(e));
        }
        self.recv(Some(timeout))
    }
}

/// Where a client looks for the daemon, and whether it must be there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocketChoice {
    /// Paths to try, in order.
    pub paths: Vec<PathBuf>,
    /// Named explicitly (`--socket`): no daemon there is an error rather
    /// than a reason to run in-process.
    pub required: bool,
}

/// The daemon's own default socket: `$PTC_SOCKET`, else
/// `$XDG_RUNTIME_DIR/ptc.sock` (a user instance), else `/run/ptc/ptc.sock`
/// for root (the system instance).
pub fn daemon_default_socket() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PTC_SOCKET").filter(|s| !s.is_empty()) {
        return Some(PathBuf::from(p));
    }
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR").filter(|s| !s.is_empty()) {
        return Some(PathBuf::from(d).join("ptc.sock"));
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return Some(PathBuf::from(SYSTEM_SOCKET));
    }
    None
}

/// The system instance's socket.
pub const SYSTEM_SOCKET: &str = "/run/ptc/ptc.sock";

/// Where a client looks: `--socket` (required), else `$PTC_SOCKET`, else
/// the user instance (`$XDG_RUNTIME_DIR/ptc.sock`) then the system one.
pub fn client_socket(explicit: Option<&Path>) -> SocketChoice {
    if let Some(p) = explicit {
        return SocketChoice {
            paths: vec![p.to_path_buf()],
            required: true,
        };
    }
    if let Some(p) = std::env::var_os("PTC_SOCKET").filter(|s| !s.is_empty()) {
        return SocketChoice {
            paths: vec![PathBuf::from(p)],
            required: false,
        };
    }
    let mut paths = Vec::new();
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR").filter(|s| !s.is_empty()) {
        paths.push(PathBuf::from(d).join("ptc.sock"));
    }
    paths.push(PathBuf::from(SYSTEM_SOCKET));
    SocketChoice {
        paths,
        required: false,
    }
}

/// Connects to the first daemon that answers: `Ok(None)` if none listens
/// and none was required (run in-process then); an error if the required
/// one does not answer or one refuses.
pub fn connect_any(choice: &SocketChoice) -> Result<Option<Connection>, ClientError> {
    for p in &choice.paths {
        match Connection::connect(p) {
            Ok(c) => return Ok(Some(c)),
            Err(ClientError::NoDaemon { .. }) if !choice.required => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// One input of a remote graph.
struct RemoteIn {
    desc: PortDesc,
    shm: SharedSlots,
    free: Vec<u32>,
}

/// One output of a remote graph.
struct RemoteOut {
    desc: PortDesc,
    shm: SharedSlots,
}

struct RemoteGraph {
    name: String,
    inputs: Vec<RemoteIn>,
    outputs: Vec<RemoteOut>,
    /// An error of an earlier push, reported by the next call.
    pending_error: Option<WireError>,
}

/// The library's client: graphs run in the daemon, frames cross through
/// shared memory. Implements [`GraphHost`], like [`ptc_runtime::Runtime`].
pub struct Client {
    conn: Connection,
    graphs: HashMap<u64, RemoteGraph>,
}

impl Client {
    /// A client over an open connection.
    pub fn new(conn: Connection) -> Client {
        Client {
            conn,
            graphs: HashMap::new(),
        }
    }

    /// The connection (for requests the trait does not cover).
    pub fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }

    fn graph(&mut self, g: GraphId) -> Result<&mut RemoteGraph, RuntimeError> {
        self.graphs
            .get_mut(&(g.index() as u64))
            .ok_or(RuntimeError::NoSuchGraph(g.index()))
    }

    /// Handles one event about push/pull traffic; returns a `Pulled`
    /// result for (graph, port) if that is what came.
    fn absorb(&mut self, ev: Incoming) -> Option<(u64, u32, Result<(), WireError>)> {
        match ev.0 {
            ServerMsg::PushDone {
                graph,
                port,
                slot,
                error,
            } => {
                if let Some(g) = self.graphs.get_mut(&graph) {
                    if let Some(i) = g.inputs.get_mut(port as usize) {
                        i.free.push(slot);
                    }
                    if error.is_some() && g.pending_error.is_none() {
                        g.pending_error = error;
                    }
                }
                None
            }
            ServerMsg::Pulled {
                graph,
                port,
                result,
            } => Some((graph, port, result)),
            _ => None,
        }
    }

    fn take_error(&mut self, g: u64) -> Result<(), RuntimeError> {
        match self.graphs.get_mut(&g).and_then(|r| r.pending_error.take()) {
            Some(e) => Err(ClientError::Refusal(e).into()),
            None => Ok(()),
        }
    }
}

fn unknown_port(graph: &str, dir: &'static str, port: &str, names: Vec<&str>) -> RuntimeError {
    RuntimeError::UnknownPort {
        graph: graph.to_string(),
        dir,
        port: port.to_string(),
        hint: format!(" ({dir}s: {})", names.join(", ")),
    }
}

impl GraphHost for Client {
    fn open_graph(&mut self, plan: &Plan) -> Result<GraphId, RuntimeError> {
        let yaml = plan
            .to_yaml()
            .map_err(|e| RuntimeError::InvalidPlan(e.to_string()))?;
        let (reply, fds) = self
            .conn
            .request(Request::OpenGraph { plan_yaml: yaml }, &[])?;
        let Reply::Opened {
            graph,
            inputs,
            outputs,
        } = reply
        else {
            return Err(ClientError::Io("unexpected reply to OpenGraph".into()).into());
        };
        if fds.len() != inputs.len() + outputs.len() {
            return Err(ClientError::Io("the daemon sent the wrong shared memory".into()).into());
        }
        let mut fds = fds.into_iter();
        let map = |fd: OwnedFd, d: &PortDesc| {
            SharedSlots::map(fd, d.bytes, d.slots.max(1))
                .map_err(|e| RuntimeError::Io(format!("mapping `{}`: {e}", d.name)))
        };
        let mut ins = Vec::new();
        for d in inputs {
            let fd = fds.next().ok_or(RuntimeError::Poisoned)?;
            let shm = map(fd, &d)?;
            ins.push(RemoteIn {
                free: (0..d.slots).rev().collect(),
                desc: d,
                shm,
            });
        }
        let mut outs = Vec::new();
        for d in outputs {
            let fd = fds.next().ok_or(RuntimeError::Poisoned)?;
            let shm = map(fd, &d)?;
            outs.push(RemoteOut { desc: d, shm });
        }
        self.graphs.insert(
            graph,
            RemoteGraph {
                name: plan.graph.clone(),
                inputs: ins,
                outputs: outs,
                pending_error: None,
            },
        );
        Ok(GraphId::from_index(graph as usize))
    }

    fn push(&mut self, g: GraphId, port: &str, bytes: &[u8]) -> Result<(), RuntimeError> {
        let id = g.index() as u64;
        self.take_error(id)?;
        let rg = self.graph(g)?;
        let Some(p) = rg.inputs.iter().position(|i| i.desc.name == port) else {
            let names = rg.inputs.iter().map(|i| i.desc.name.as_str()).collect();
            return Err(unknown_port(&rg.name, "input", port, names));
        };
        let want = rg.inputs[p].desc.bytes;
        if bytes.len() as u64 != want {
            return Err(RuntimeError::WrongSize {
                port: port.to_string(),
                expected: want,
                got: bytes.len() as u64,
                ty: "the port's frame".into(),
            });
        }
        // A free slot: wait for the daemon to hand one back.
        loop {
            let rg = self.graph(g)?;
            if let Some(slot) = rg.inputs[p].free.pop() {
                rg.inputs[p]
                    .shm
                    .slot_mut(slot)
                    .map_err(|e| RuntimeError::Io(e.to_string()))?
                    .copy_from_slice(bytes);
                self.conn.send(
                    Request::Push {
                        graph: id,
                        port: p as u32,
                        slot,
                    },
                    &[],
                )?;
                return Ok(());
            }
            let ev = self
                .conn
                .next_event(Duration::from_secs(3600))?
                .ok_or_else(|| ClientError::Io("no slot came back within an hour".into()))?;
            self.absorb(ev);
            self.take_error(id)?;
        }
    }

    fn pull(&mut self, g: GraphId, port: &str) -> Result<Vec<u8>, RuntimeError> {
        let id = g.index() as u64;
        self.take_error(id)?;
        let rg = self.graph(g)?;
        let Some(p) = rg.outputs.iter().position(|o| o.desc.name == port) else {
            let names = rg.outputs.iter().map(|o| o.desc.name.as_str()).collect();
            return Err(unknown_port(&rg.name, "output", port, names));
        };
        self.conn.send(
            Request::Pull {
                graph: id,
                port: p as u32,
            },
            &[],
        )?;
        let started = Instant::now();
        loop {
            let ev = self.conn.next_event(Duration::from_secs(1))?;
            let Some(ev) = ev else {
                if started.elapsed() > Duration::from_secs(3600) {
                    return Err(ClientError::Io("no frame within an hour".into()).into());
                }
                continue;
            };
            if let Some((gr, po, result)) = self.absorb(ev) {
                if gr == id && po == p as u32 {
                    result.map_err(ClientError::Refusal)?;
                    let rg = self.graph(g)?;
                    let bytes = rg.outputs[p]
                        .shm
                        .slot(0)
                        .map_err(|e| RuntimeError::Io(e.to_string()))?
                        .to_vec();
                    return Ok(bytes);
                }
            }
        }
    }

    fn set_priority(&mut self, g: GraphId, priority: u32) -> Result<(), RuntimeError> {
        self.conn.request(
            Request::SetPriority {
                graph: g.index() as u64,
                priority,
            },
            &[],
        )?;
        Ok(())
    }

    fn terminate(&mut self, g: GraphId) -> Result<(), RuntimeError> {
        self.conn.request(
            Request::Terminate {
                graph: g.index() as u64,
            },
            &[],
        )?;
        self.graphs.remove(&(g.index() as u64));
        Ok(())
    }
}

/// The daemon's graphs if one listens where `choice` says, else a
/// [`ptc_runtime::Runtime`] in this process with `options`: an application
/// decides neither at compile time.
pub fn connect_or_local(
    choice: &SocketChoice,
    options: &ptc_runtime::RuntimeOptions,
) -> Result<Box<dyn GraphHost>, RuntimeError> {
    match connect_any(choice)? {
        Some(c) => Ok(Box::new(Client::new(c))),
        None => Ok(Box::new(ptc_runtime::Runtime::new(options)?)),
    }
}
