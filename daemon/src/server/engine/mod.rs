//! The engine: the one thread that owns the device ([`Session`] over a
//! [`Runtime`](ptc_runtime::Runtime)) and every graph of every client. Connection threads hand it
//! [`Command`]s; it answers through each client's outbox and never blocks
//! on a client.

mod events;
mod files;
mod host;
mod open;
mod status;

use super::conn::{self, Hello, Outbox, SendError};
use crate::policy::{Config, Peer};
use crate::proto::{Reply, Request, ServerMsg, WireError};
use host::{HostIn, HostOut};
use ptc_runtime::io::IoRegistry;
use ptc_runtime::{GraphFactory, GraphId, RunId, Session};
use std::collections::{BTreeMap, HashMap};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use open::Ready;

/// Identifies a connection.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// What connection threads (and the signal handler) tell the engine.
pub enum Command {
    /// A client finished its handshake.
    Connected(Hello),
    /// A request, with the descriptors that came with it.
    Request {
        /// The client.
        conn: ConnId,
        /// Echoed in the reply.
        id: u64,
        /// What to do.
        req: Request,
        /// Its descriptors.
        fds: Vec<OwnedFd>,
    },
    /// A worker parsed a plan: may its owner open it? (see `Engine::admit`)
    Admit {
        /// The open in progress.
        token: u64,
        /// Its plan's priority.
        priority: u32,
        /// Its plan's device memory, bytes.
        estimate: u64,
        /// The answer.
        answer: std::sync::mpsc::Sender<Result<(), WireError>>,
    },
    /// A worker finished opening a graph (or failed to).
    Opened {
        /// The open in progress.
        token: u64,
        /// What the worker made.
        result: Result<Box<Ready>, WireError>,
    },
    /// The client went away (`reason` empty: it closed cleanly).
    Disconnected {
        /// The client.
        conn: ConnId,
        /// Why it was dropped.
        reason: String,
    },
}

/// Shared-memory slots per pushed input (frames a client may have in
/// flight to the daemon per input).
pub const PUSH_SLOTS: u32 = 4;

/// Longest the engine sleeps while work is on the GPU before it looks at
/// its clients' requests again.
const GPU_WAIT_CAP: Duration = Duration::from_millis(5);

/// After a stop (SIGTERM), how long runs get before the daemon exits.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

struct Client {
    peer: Peer,
    out: Arc<Outbox>,
}

enum Kind {
    /// Driven by its sources and sinks.
    Run {
        run: RunId,
        trace: bool,
        last_progress: Instant,
        last_frames: u64,
    },
    /// Pushed and pulled by its client.
    Host {
        inputs: Vec<HostIn>,
        outputs: Vec<HostOut>,
    },
}

struct Entry {
    graph: GraphId,
    name: String,
    peer: Peer,
    /// The connection that owns it (`None` once a detached run's client left).
    owner: Option<ConnId>,
    kind: Kind,
    opened: Instant,
    detached: bool,
    killed_by: Option<u32>,
    /// Being terminated: held, ended once nothing of it is on the GPU.
    dying: bool,
    /// Requests answered `Done` once the graph is gone (`Terminate`).
    on_gone: Vec<(ConnId, u64)>,
    /// Validation messages logged before it opened.
    log_mark: usize,
    /// Estimated device memory (plan), bytes, for the caps.
    memory_estimate: u64,
}

/// The engine's state.
pub struct Engine {
    session: Session,
    clients: HashMap<ConnId, Client>,
    graphs: BTreeMap<u64, Entry>,
    config: Config,
    started: Instant,
    /// GPU time per graph at the last sample, and the share since.
    share_mark: (Instant, HashMap<u64, u64>),
    shares: HashMap<u64, f64>,
    validation: ptc_runtime::ValidationLog,
    /// Opens in progress on worker threads, by token.
    pending: HashMap<u64, Pending>,
    next_token: u64,
    /// Where workers send their results.
    tx: std::sync::mpsc::Sender<Command>,
    factory: GraphFactory,
    /// Builds runs' sources and sinks (the program's plug-ins included).
    io: IoRegistry,
}

/// An open a worker thread is doing (plan parsing, validation, pipeline
/// compilation and allocation take long on some drivers: the engine keeps
/// scheduling meanwhile).
struct Pending {
    conn: ConnId,
    id: u64,
    peer: Peer,
    /// Device memory reserved once admitted.
    reserved: u64,
}

fn err(msg: impl Into<String>) -> WireError {
    WireError::usage(msg)
}

fn bad_input(msg: impl Into<String>) -> WireError {
    WireError {
        message: msg.into(),
        bad_input: true,
    }
}

impl Engine {
    /// An engine over `session` (a runtime with its device) and a policy;
    /// `tx` is the sending end of the engine's own command channel (its
    /// worker threads report there).
    pub fn new(session: Session, config: Config, tx: std::sync::mpsc::Sender<Command>) -> Engine {
        let validation = session.runtime().validation_log();
        let factory = session.runtime().factory();
        Engine {
            pending: HashMap::new(),
            next_token: 1,
            tx,
            factory,
            session,
            clients: HashMap::new(),
            graphs: BTreeMap::new(),
            config,
            started: Instant::now(),
            share_mark: (Instant::now(), HashMap::new()),
            shares: HashMap::new(),
            validation,
            io: threaded_sinks(IoRegistry::new()),
        }
    }

    /// Builds runs' sources and sinks with `io` (the runtime's built-ins
    /// plus the program's factories, e.g. `from camera(...)`) instead of
    /// the built-ins alone.
    pub fn with_io(mut self, io: IoRegistry) -> Engine {
        self.io = threaded_sinks(io);
        self
    }

    /// Runs until `stop` is set, then ends every graph (clients get a clear
    /// error) and returns.
    pub fn run(&mut self, commands: &Receiver<Command>, stop: &Arc<AtomicBool>) {
        loop {
            if stop.load(Ordering::Relaxed) {
                self.shutdown(commands);
                return;
            }
            let mut moved = false;
            while let Ok(c) = commands.try_recv() {
                self.handle(c);
                moved = true;
            }
            let pass = match self.session.poll() {
                Ok(p) => p,
                Err(e) => {
                    // The device failed: every graph fails with it.
                    eprintln!("ptc daemon: device error: {e}");
                    self.fail_all(&format!("the daemon's device failed: {e}"));
                    ptc_runtime::session::Pass {
                        moved: true,
                        ..Default::default()
                    }
                }
            };
            moved |= pass.moved;
            moved |= self.finish_runs();
            moved |= self.serve_hosts();
            moved |= self.reap_dying();
            self.progress();
            self.sample_shares();
            if moved {
                continue;
            }
            // Nothing moved: sleep until the GPU completes something, a
            // paced source is due, or a client asks for something.
            let now_ns = self.session.runtime().clock_ns();
            let mut timeout = Duration::from_millis(100);
            if let Some(d) = pass.next_due {
                timeout = timeout.min(Duration::from_nanos(d.saturating_sub(now_ns)));
            }
            if let Some(d) = pass.deadline {
                timeout = timeout.min(d.saturating_duration_since(Instant::now()));
            }
            if pass.lending {
                // A sink's writer thread gives its frame back silently.
                timeout = timeout.min(ptc_runtime::session::Pass::LEND_POLL);
            }
            if self.session.runtime().busy() {
                let t = timeout.min(GPU_WAIT_CAP);
                if let Err(e) = self.session.runtime_mut().wait_any(t.as_nanos() as u64) {
                    eprintln!("ptc daemon: device error: {e}");
                    self.fail_all(&format!("the daemon's device failed: {e}"));
                }
            } else {
                match commands.recv_timeout(timeout) {
                    Ok(c) => self.handle(c),
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return,
                }
            }
        }
    }

    fn send(&mut self, conn: ConnId, msg: ServerMsg, fds: Vec<OwnedFd>) {
        let Some(c) = self.clients.get(&conn) else {
            return;
        };
        match c.out.send(msg, fds) {
            Ok(()) => {}
            Err(SendError::Full) => {
                conn::log(conn, &c.peer, "disconnected: it does not read its socket");
                self.disconnect(conn);
            }
            Err(SendError::Closed) => self.disconnect(conn),
        }
    }

    fn reply(&mut self, conn: ConnId, id: u64, result: Result<Reply, WireError>) {
        self.send(conn, ServerMsg::Reply { id, result }, Vec::new());
    }

    fn handle(&mut self, c: Command) {
        match c {
            Command::Connected(h) => {
                conn::log(h.conn, &h.peer, &format!("connected ({})", h.client));
                self.clients.insert(
                    h.conn,
                    Client {
                        peer: h.peer,
                        out: h.out,
                    },
                );
            }
            Command::Disconnected { conn, reason } => {
                if let Some(c) = self.clients.get(&conn) {
                    if !reason.is_empty() {
                        conn::log(conn, &c.peer, &format!("disconnected: {reason}"));
                    }
                }
                self.disconnect(conn);
            }
            Command::Request { conn, id, req, fds } => {
                if !self.clients.contains_key(&conn) {
                    return;
                }
                self.request(conn, id, req, fds);
            }
            Command::Admit {
                token,
                priority,
                estimate,
                answer,
            } => {
                let r = match self.pending.get(&token) {
                    Some(p) if self.clients.contains_key(&p.conn) => {
                        self.admit(p.peer, priority, estimate, Some(token))
                    }
                    _ => Err(err("the client went away")),
                };
                if r.is_ok() {
                    if let Some(p) = self.pending.get_mut(&token) {
                        p.reserved = estimate;
                    }
                }
                let _ = answer.send(r);
            }
            Command::Opened { token, result } => self.opened(token, result),
        }
    }

    /// Forgets a client: its attached graphs end now (their outputs are
    /// not committed: nobody is left to commit them), detached runs stay.
    fn disconnect(&mut self, conn: ConnId) {
        self.clients.remove(&conn);
        let ids: Vec<u64> = self
            .graphs
            .iter()
            .filter(|(_, e)| e.owner == Some(conn))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            let Some(e) = self.graphs.get_mut(&id) else {
                continue;
            };
            e.owner = None;
            if e.detached {
                continue;
            }
            if let Kind::Run { run, .. } = e.kind {
                self.session.cancel(run);
            }
            e.dying = true;
            let _ = self.session.runtime_mut().set_held(e.graph, true);
        }
    }

    fn peer(&self, conn: ConnId) -> Peer {
        self.clients.get(&conn).map(|c| c.peer).unwrap_or(Peer {
            pid: 0,
            uid: u32::MAX,
            gid: u32::MAX,
        })
    }

    fn request(&mut self, conn: ConnId, id: u64, req: Request, fds: Vec<OwnedFd>) {
        let peer = self.peer(conn);
        match req {
            Request::OpenRun(o) => self.start_open(conn, id, peer, Some(o), fds, None),
            Request::OpenGraph { plan_yaml } => {
                self.start_open(conn, id, peer, None, fds, Some(plan_yaml))
            }
            Request::Push { graph, port, slot } => {
                let r = self.push(conn, graph, port, slot);
                if let Err(e) = r {
                    self.send(
                        conn,
                        ServerMsg::PushDone {
                            graph,
                            port,
                            slot,
                            error: Some(e),
                        },
                        Vec::new(),
                    );
                }
            }
            Request::Pull { graph, port } => {
                if let Err(e) = self.pull(conn, graph, port) {
                    self.send(
                        conn,
                        ServerMsg::Pulled {
                            graph,
                            port,
                            result: Err(e),
                        },
                        Vec::new(),
                    );
                }
            }
            Request::SetPriority { graph, priority } => {
                let r = self.set_priority(peer, graph, priority);
                self.reply(conn, id, r.map(|()| Reply::Done));
            }
            Request::Stop { graph } => {
                let r = self.stop(peer, graph, false);
                self.reply(conn, id, r.map(|()| Reply::Done));
            }
            Request::Kill { graph } => {
                let r = self.stop(peer, graph, true);
                self.reply(conn, id, r.map(|()| Reply::Done));
            }
            Request::Terminate { graph } => match self.own(peer, graph, false) {
                Ok(()) => {
                    if let Some(e) = self.graphs.get_mut(&graph) {
                        e.on_gone.push((conn, id));
                        self.kill_now(graph);
                    }
                }
                Err(e) => self.reply(conn, id, Err(e)),
            },
            Request::List => {
                let l = self.list();
                self.reply(conn, id, Ok(Reply::Graphs(l)));
            }
            Request::Status => {
                let s = self.status();
                self.reply(conn, id, Ok(Reply::Status(s)));
            }
        }
    }

    /// SIGTERM/SIGINT: every graph is terminated, clients are told why.
    fn shutdown(&mut self, commands: &Receiver<Command>) {
        eprintln!(
            "ptc daemon: stopping: terminating {} graph(s)",
            self.graphs.len()
        );
        self.fail_all("the daemon is shutting down (it was stopped): the graph was terminated");
        let until = Instant::now() + SHUTDOWN_GRACE;
        while !self.graphs.is_empty() && Instant::now() < until {
            while let Ok(c) = commands.try_recv() {
                if let Command::Disconnected { conn, .. } = c {
                    self.clients.remove(&conn);
                }
            }
            let _ = self.session.poll();
            self.reap_dying();
            if self.session.runtime().busy() {
                let _ = self.session.runtime_mut().wait_any(10_000_000);
            } else {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        let conns: Vec<ConnId> = self.clients.keys().copied().collect();
        for c in conns {
            self.send(
                c,
                ServerMsg::Shutdown {
                    reason: "the daemon is shutting down".into(),
                },
                Vec::new(),
            );
        }
        self.clients.clear();
    }

    /// True if graphs are open (for the caller's exit path).
    pub fn has_graphs(&self) -> bool {
        !self.graphs.is_empty()
    }

    /// Validation messages reported so far (a daemon started with validation).
    pub fn validation_messages(&self) -> Vec<String> {
        self.validation.messages()
    }

    /// The session (for the caller's teardown).
    pub fn into_session(self) -> Session {
        self.session
    }
}

/// `io` with threaded file sinks: the engine's thread runs every client's
/// graphs, and a file sink must not make them all wait for its disk.
fn threaded_sinks(mut io: IoRegistry) -> IoRegistry {
    io.set_threaded_file_sinks(true);
    io
}
