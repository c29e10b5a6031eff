//! The engine: the one thread that owns the device ([`Session`] over a
//! [`Runtime`](ptc_runtime::Runtime)) and every graph of every client. Connection threads hand it
//! [`Command`]s; it answers through each client's outbox and never blocks
//! on a client.

use super::conn::{self, Hello, Outbox, SendError};
use crate::policy::{Config, Peer};
use crate::proto::{
    DaemonStatus, GraphStatus, OpenRun, OutputFd, PortDesc, Reply, Request, RunReport, ServerMsg,
    WireError,
};
use crate::shm::SharedSlots;
use ptc_runtime::io::{InputFile, IoRegistry, OutputFile, PortFiles};
use ptc_runtime::plan::{Sink, Source};
use ptc_runtime::{
    EndReason, GraphFactory, GraphId, InputPort, OutputPort, Plan, PortInfo, PreparedGraph, RunId,
    RunLimits, RunSummary, Session,
};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fs::File;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// How often a run's client hears how far it got.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Longest the engine sleeps while work is on the GPU before it looks at
/// its clients' requests again.
const GPU_WAIT_CAP: Duration = Duration::from_millis(5);

/// After a stop (SIGTERM), how long runs get before the daemon exits.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

struct Client {
    peer: Peer,
    out: Arc<Outbox>,
}

/// A pushed input: its port, slots, and the slots waiting to be pushed.
struct HostIn {
    port: InputPort,
    shm: SharedSlots,
    queue: VecDeque<u32>,
}

/// A pulled output: its port, its slot, whether a pull waits.
struct HostOut {
    port: OutputPort,
    shm: SharedSlots,
    wanted: bool,
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

/// What [`Engine::register`] records about a new graph.
struct NewEntry {
    graph: GraphId,
    kind: Kind,
    detached: bool,
    log_mark: usize,
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

/// What a worker made: the graph, opened and recorded, not yet scheduled.
pub struct Ready {
    plan: Plan,
    graph: PreparedGraph,
    what: ReadyKind,
}

enum ReadyKind {
    Run {
        feeds: Vec<ptc_runtime::Feed>,
        drains: Vec<ptc_runtime::Drain>,
        open: OpenRun,
    },
    Host,
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
            io: IoRegistry::new(),
        }
    }

    /// Builds runs' sources and sinks with `io` (the runtime's built-ins
    /// plus the program's factories, e.g. `from camera(...)`) instead of
    /// the built-ins alone.
    pub fn with_io(mut self, io: IoRegistry) -> Engine {
        self.io = io;
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

    /// Checks that `peer` may act on `graph` (its owner, or root; `any`:
    /// anyone may).
    fn own(&self, peer: Peer, graph: u64, any: bool) -> Result<(), WireError> {
        let e = self
            .graphs
            .get(&graph)
            .ok_or_else(|| err(format!("no graph #{graph} (see `ptc ps`)")))?;
        if any || peer.is_root() || e.peer.uid == peer.uid {
            Ok(())
        } else {
            Err(err(format!(
                "graph #{graph} `{}` belongs to uid {}; uid {} may only renice or kill its own graphs (root may act on any)",
                e.name, e.peer.uid, peer.uid
            )))
        }
    }

    /// Admission: the policy's priority limit and the user's caps (graphs
    /// open and being opened count; `token`: the open asking, not counted).
    fn admit(
        &self,
        peer: Peer,
        priority: u32,
        estimate: u64,
        token: Option<u64>,
    ) -> Result<(), WireError> {
        self.config.check_priority(&peer, priority).map_err(err)?;
        let limits = self.config.limits_for(&peer);
        let mine: Vec<&Entry> = self
            .graphs
            .values()
            .filter(|e| e.peer.uid == peer.uid)
            .collect();
        let opening: Vec<&Pending> = self
            .pending
            .iter()
            .filter(|(t, p)| p.peer.uid == peer.uid && Some(**t) != token && p.reserved > 0)
            .map(|(_, p)| p)
            .collect();
        if let Some(max) = limits.graphs {
            let n = mine.len() + opening.len();
            if n as u64 >= u64::from(max) {
                return Err(err(format!(
                    "uid {} already has {n} graph(s) open, the daemon's limit (`limits.graphs` in its --config)",
                    peer.uid,
                )));
            }
        }
        if let Some(max) = limits.memory {
            let used: u64 = mine.iter().map(|e| e.memory_estimate).sum::<u64>()
                + opening.iter().map(|p| p.reserved).sum::<u64>();
            if used.saturating_add(estimate) > max {
                return Err(err(format!(
                    "the graph needs {estimate} bytes of device memory; uid {} already holds {used} of its {max}-byte limit (`limits.memory` in the daemon's --config)",
                    peer.uid
                )));
            }
        }
        Ok(())
    }

    /// Records a graph opened for `conn` (see [`Entry`]).
    fn register(&mut self, conn: ConnId, peer: Peer, plan: &Plan, new: NewEntry) -> u64 {
        let id = new.graph.index() as u64;
        self.graphs.insert(
            id,
            Entry {
                graph: new.graph,
                name: plan.graph.clone(),
                peer,
                owner: Some(conn),
                kind: new.kind,
                opened: Instant::now(),
                detached: new.detached,
                killed_by: None,
                dying: false,
                on_gone: Vec::new(),
                log_mark: new.log_mark,
                memory_estimate: new.memory_estimate,
            },
        );
        id
    }

    /// Starts opening a graph on a worker thread: a run (`open`) with its
    /// descriptors, or a push/pull graph (`host_yaml`). The worker parses
    /// and validates the plan, asks for admission, builds the sources and
    /// sinks, and compiles and allocates the graph; [`Engine::opened`]
    /// schedules it and replies.
    fn start_open(
        &mut self,
        conn: ConnId,
        id: u64,
        peer: Peer,
        open: Option<OpenRun>,
        fds: Vec<OwnedFd>,
        host_yaml: Option<String>,
    ) {
        let token = self.next_token;
        self.next_token += 1;
        self.pending.insert(
            token,
            Pending {
                conn,
                id,
                peer,
                reserved: 0,
            },
        );
        let tx = self.tx.clone();
        let factory = self.factory.clone();
        let io = self.io.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("ptc-open-{token}"))
            .spawn(move || {
                let result = prepare(token, &tx, &factory, &io, open, fds, host_yaml).map(Box::new);
                let _ = tx.send(Command::Opened { token, result });
            });
        if let Err(e) = spawned {
            self.pending.remove(&token);
            self.reply(
                conn,
                id,
                Err(err(format!("cannot start opening the graph: {e}"))),
            );
        }
    }

    /// Schedules a graph a worker opened, and answers its client.
    fn opened(&mut self, token: u64, result: Result<Box<Ready>, WireError>) {
        let Some(p) = self.pending.remove(&token) else {
            return;
        };
        let ready = match result {
            Ok(r) => r,
            Err(e) => {
                self.reply(p.conn, p.id, Err(e));
                return;
            }
        };
        if !self.clients.contains_key(&p.conn) {
            return; // The client left: dropping the graph releases it.
        }
        match self.schedule(p.conn, p.peer, *ready, p.reserved) {
            Ok((reply, fds)) => self.send(
                p.conn,
                ServerMsg::Reply {
                    id: p.id,
                    result: Ok(reply),
                },
                fds,
            ),
            Err(e) => self.reply(p.conn, p.id, Err(e)),
        }
    }

    fn schedule(
        &mut self,
        conn: ConnId,
        peer: Peer,
        ready: Ready,
        estimate: u64,
    ) -> Result<(Reply, Vec<OwnedFd>), WireError> {
        let Ready { plan, graph, what } = ready;
        let group = u64::from(peer.uid);
        let cap = self
            .config
            .limits_for(&peer)
            .frames_in_flight
            .map(|n| n.max(1) as usize);
        let log_mark = self.validation.messages().len();
        let rt = self.session.runtime_mut();
        rt.set_group_inflight(group, cap)?;
        let graph = rt.add_prepared(graph, group)?;
        let made = match what {
            ReadyKind::Run {
                feeds,
                drains,
                open,
            } => self.schedule_run(graph, feeds, drains, &open),
            ReadyKind::Host => self.host_ports(graph, &plan),
        };
        let (kind, detached, fds) = match made {
            Ok(x) => x,
            Err(e) => {
                let _ = self.session.runtime_mut().terminate(graph);
                let _ = self.session.runtime_mut().forget(graph);
                return Err(e);
            }
        };
        let host = matches!(kind, Kind::Host { .. });
        let id = self.register(
            conn,
            peer,
            &plan,
            NewEntry {
                graph,
                kind,
                detached,
                log_mark,
                memory_estimate: estimate,
            },
        );
        conn::log(
            conn,
            &peer,
            &format!(
                "opened graph #{id} `{}` (priority {}{})",
                plan.graph,
                plan.priority,
                if host {
                    ", push/pull"
                } else if detached {
                    ", detached run"
                } else {
                    ", run"
                }
            ),
        );
        Ok((opened(id, &plan, if host { PUSH_SLOTS } else { 0 }), fds))
    }

    /// Attaches a run's sources and sinks to its scheduled graph.
    fn schedule_run(
        &mut self,
        graph: GraphId,
        feeds: Vec<ptc_runtime::Feed>,
        drains: Vec<ptc_runtime::Drain>,
        o: &OpenRun,
    ) -> Result<(Kind, bool, Vec<OwnedFd>), WireError> {
        let limits = RunLimits {
            frames: o.frames,
            deadline: o
                .duration_ms
                .map(|ms| Instant::now() + Duration::from_millis(ms)),
            unpaced: o.unpaced,
        };
        let run = self.session.add(graph, feeds, drains, limits)?;
        Ok((
            Kind::Run {
                run,
                trace: o.trace,
                last_progress: Instant::now(),
                last_frames: 0,
            },
            o.detach,
            Vec::new(),
        ))
    }

    /// A push/pull graph's shared-memory slots (and their descriptors).
    fn host_ports(
        &mut self,
        graph: GraphId,
        plan: &Plan,
    ) -> Result<(Kind, bool, Vec<OwnedFd>), WireError> {
        let rt = self.session.runtime();
        let mut inputs = Vec::new();
        for (i, info) in PortInfo::inputs_of(plan).iter().enumerate() {
            let port = rt.input_port(graph, &info.name)?;
            let shm = SharedSlots::create(&format!("ptc-in-{i}"), info.bytes, PUSH_SLOTS)
                .map_err(|e| err(format!("shared memory for input `{}`: {e}", info.name)))?;
            inputs.push(HostIn {
                port,
                shm,
                queue: VecDeque::new(),
            });
        }
        let mut outputs = Vec::new();
        for (o, info) in PortInfo::outputs_of(plan).iter().enumerate() {
            let port = rt.output_port(graph, &info.name)?;
            let shm = SharedSlots::create(&format!("ptc-out-{o}"), info.bytes, 1)
                .map_err(|e| err(format!("shared memory for output `{}`: {e}", info.name)))?;
            outputs.push(HostOut {
                port,
                shm,
                wanted: false,
            });
        }
        let mut fds = Vec::new();
        for s in inputs
            .iter()
            .map(|i| &i.shm)
            .chain(outputs.iter().map(|o| &o.shm))
        {
            fds.push(
                s.fd()
                    .try_clone_to_owned()
                    .map_err(|e| err(format!("cannot share memory: {e}")))?,
            );
        }
        Ok((Kind::Host { inputs, outputs }, false, fds))
    }

    fn host_entry(&mut self, conn: ConnId, graph: u64) -> Result<&mut Entry, WireError> {
        match self.graphs.get_mut(&graph) {
            Some(e) if e.owner == Some(conn) && !e.dying && matches!(e.kind, Kind::Host { .. }) => {
                Ok(e)
            }
            _ => Err(err(format!(
                "graph #{graph} is not a push/pull graph of this connection"
            ))),
        }
    }

    fn push(&mut self, conn: ConnId, graph: u64, port: u32, slot: u32) -> Result<(), WireError> {
        let e = self.host_entry(conn, graph)?;
        let Kind::Host { inputs, .. } = &mut e.kind else {
            return Err(err("not a push/pull graph"));
        };
        let hi = inputs
            .get_mut(port as usize)
            .ok_or_else(|| err(format!("graph #{graph} has no input #{port}")))?;
        if slot >= hi.shm.slots() || hi.queue.contains(&slot) {
            return Err(err(format!("input slot {slot} is not free")));
        }
        hi.queue.push_back(slot);
        Ok(())
    }

    fn pull(&mut self, conn: ConnId, graph: u64, port: u32) -> Result<(), WireError> {
        let e = self.host_entry(conn, graph)?;
        let Kind::Host { outputs, .. } = &mut e.kind else {
            return Err(err("not a push/pull graph"));
        };
        let ho = outputs
            .get_mut(port as usize)
            .ok_or_else(|| err(format!("graph #{graph} has no output #{port}")))?;
        if ho.wanted {
            return Err(err("a pull of this output is already waiting"));
        }
        ho.wanted = true;
        Ok(())
    }

    fn set_priority(&mut self, peer: Peer, graph: u64, priority: u32) -> Result<(), WireError> {
        self.own(peer, graph, false)?;
        self.config.check_priority(&peer, priority).map_err(err)?;
        let g = self.graphs[&graph].graph;
        self.session.runtime_mut().set_priority(g, priority)?;
        Ok(())
    }

    /// `Stop` (clean) or `Kill` of a graph.
    fn stop(&mut self, peer: Peer, graph: u64, kill: bool) -> Result<(), WireError> {
        self.own(peer, graph, false)?;
        let Some(e) = self.graphs.get_mut(&graph) else {
            return Ok(());
        };
        match e.kind {
            Kind::Run { run, .. } => {
                if kill {
                    e.killed_by = Some(peer.uid);
                }
                self.session.stop(run);
            }
            Kind::Host { .. } => {
                if kill {
                    self.kill_now(graph);
                }
            }
        }
        Ok(())
    }

    /// Ends a graph at once (held; terminated when idle).
    fn kill_now(&mut self, graph: u64) {
        if let Some(e) = self.graphs.get_mut(&graph) {
            if let Kind::Run { run, .. } = e.kind {
                self.session.cancel(run);
            }
            e.dying = true;
            let _ = self.session.runtime_mut().set_held(e.graph, true);
        }
    }

    /// Every graph fails (device error or shutdown): clients hear why.
    fn fail_all(&mut self, why: &str) {
        let ids: Vec<u64> = self.graphs.keys().copied().collect();
        for id in ids {
            let Some(e) = self.graphs.get(&id) else {
                continue;
            };
            let owner = e.owner;
            if let (Kind::Run { .. }, Some(c)) = (&e.kind, owner) {
                self.send(
                    c,
                    ServerMsg::RunEnded {
                        graph: id,
                        outcome: Err(err(why)),
                    },
                    Vec::new(),
                );
            }
            self.kill_now(id);
        }
    }

    /// Reports runs that ended and closes their graphs.
    fn finish_runs(&mut self) -> bool {
        let ended = self.session.take_ended();
        let moved = !ended.is_empty();
        for (run, outcome) in ended {
            let Some((&id, _)) = self
                .graphs
                .iter()
                .find(|(_, e)| matches!(e.kind, Kind::Run { run: r, .. } if r == run))
            else {
                continue;
            };
            let report = outcome.map(|s| self.report(id, &s));
            let e = &self.graphs[&id];
            let (owner, graph) = (e.owner, e.graph);
            if let Some(c) = owner {
                self.send(
                    c,
                    ServerMsg::RunEnded {
                        graph: id,
                        outcome: report.map_err(WireError::from),
                    },
                    Vec::new(),
                );
            } else if let Err(e) = &report {
                eprintln!("ptc daemon: detached graph #{id} failed: {e}");
            }
            let _ = self.session.runtime_mut().set_held(graph, true);
            if let Some(e) = self.graphs.get_mut(&id) {
                e.dying = true;
            }
        }
        moved
    }

    /// What a finished run did, for its client.
    fn report(&self, id: u64, s: &RunSummary) -> RunReport {
        let e = &self.graphs[&id];
        let rt = self.session.runtime();
        let mut stats = rt.sched_report();
        stats.graphs.retain(|g| g.id == id);
        let trace = match e.kind {
            Kind::Run { trace: true, .. } => Some(rt.trace_json().to_string()),
            _ => None,
        };
        let validation = self
            .validation
            .messages()
            .into_iter()
            .skip(e.log_mark)
            .collect();
        RunReport {
            delivered: s.delivered.clone(),
            pushed: s.pushed.clone(),
            unconsumed: s.unconsumed.clone(),
            elapsed_ns: s.elapsed.as_nanos() as u64,
            end: match s.end {
                EndReason::Exhausted => "exhausted",
                EndReason::Frames => "frames",
                EndReason::Deadline => "deadline",
                EndReason::Stopped => "stopped",
            }
            .into(),
            killed_by: e.killed_by,
            stats_json: stats.to_json(),
            trace_json: trace,
            validation,
        }
    }

    /// Moves frames between push/pull clients' shared memory and their graphs.
    fn serve_hosts(&mut self) -> bool {
        let mut moved = false;
        let mut events: Vec<(ConnId, ServerMsg)> = Vec::new();
        for (&id, e) in self.graphs.iter_mut() {
            if e.dying {
                continue;
            }
            let Some(owner) = e.owner else { continue };
            let Kind::Host { inputs, outputs } = &mut e.kind else {
                continue;
            };
            let rt = self.session.runtime_mut();
            for (p, hi) in inputs.iter_mut().enumerate() {
                while let Some(&slot) = hi.queue.front() {
                    match rt.can_push_port_now(hi.port) {
                        Ok(true) => {}
                        Ok(false) => break,
                        Err(er) => {
                            hi.queue.pop_front();
                            events.push((owner, push_done(id, p, slot, Some(er.into()))));
                            continue;
                        }
                    }
                    let r = hi
                        .shm
                        .slot(slot)
                        .map_err(|er| err(er.to_string()))
                        .and_then(|bytes| rt.push_port(hi.port, bytes).map_err(WireError::from));
                    hi.queue.pop_front();
                    events.push((owner, push_done(id, p, slot, r.err())));
                    moved = true;
                }
            }
            for (p, ho) in outputs.iter_mut().enumerate() {
                if !ho.wanted {
                    continue;
                }
                match rt.output_port_ready(ho.port) {
                    Ok(true) => {
                        let r = ho
                            .shm
                            .slot_mut(0)
                            .map_err(|er| err(er.to_string()))
                            .and_then(|dst| rt.pull_port(ho.port, dst).map_err(WireError::from));
                        ho.wanted = false;
                        events.push((owner, pulled(id, p, r)));
                        moved = true;
                    }
                    Ok(false) => {}
                    Err(er) => {
                        ho.wanted = false;
                        events.push((owner, pulled(id, p, Err(er.into()))));
                    }
                }
            }
            // Nothing can ever come: say so instead of leaving the client
            // waiting (as `Runtime::pull` fails with MissingInput).
            let waiting = outputs.iter().any(|o| o.wanted);
            let queued = inputs.iter().any(|i| !i.queue.is_empty());
            let stuck = (waiting || queued)
                && !rt.graph_busy(e.graph).unwrap_or(true)
                && !rt.graph_has_ready_work(e.graph).unwrap_or(true);
            if stuck {
                for (p, ho) in outputs.iter_mut().enumerate() {
                    if ho.wanted && !rt.output_port_ready(ho.port).unwrap_or(false) {
                        ho.wanted = false;
                        let name = rt
                            .output_info(ho.port)
                            .map(|i| i.name.clone())
                            .unwrap_or_default();
                        events.push((
                            owner,
                            pulled(
                                id,
                                p,
                                Err(bad_input(format!(
                                    "output `{name}` has no data: push the graph's inputs first"
                                ))),
                            ),
                        ));
                    }
                }
                for (p, hi) in inputs.iter_mut().enumerate() {
                    if !hi.queue.is_empty() && !rt.can_push_port(hi.port).unwrap_or(false) {
                        let name = rt
                            .input_info(hi.port)
                            .map(|i| i.name.clone())
                            .unwrap_or_default();
                        for slot in hi.queue.drain(..) {
                            events.push((
                                owner,
                                push_done(
                                    id,
                                    p,
                                    slot,
                                    Some(bad_input(format!(
                                        "input `{name}` is full: its slots hold frames no ptask can consume yet (pull the outputs first)"
                                    ))),
                                ),
                            ));
                        }
                    }
                }
            }
        }
        for (c, m) in events {
            self.send(c, m, Vec::new());
        }
        moved
    }

    /// Terminates dying graphs once nothing of them is on the GPU.
    fn reap_dying(&mut self) -> bool {
        let mut gone = Vec::new();
        for (&id, e) in &self.graphs {
            if e.dying && !self.session.runtime().graph_busy(e.graph).unwrap_or(false) {
                gone.push(id);
            }
        }
        for id in &gone {
            if let Some(e) = self.graphs.remove(id) {
                let rt = self.session.runtime_mut();
                let _ = rt.terminate(e.graph);
                // Reported already (runs) or never (push/pull): the daemon
                // must not grow with every graph it ever ran.
                let _ = rt.forget(e.graph);
                self.shares.remove(id);
                for (c, rid) in e.on_gone {
                    self.reply(c, rid, Ok(Reply::Done));
                }
            }
        }
        !gone.is_empty()
    }

    fn progress(&mut self) {
        let mut events = Vec::new();
        for (&id, e) in self.graphs.iter_mut() {
            let Some(owner) = e.owner else { continue };
            if let Kind::Run {
                run,
                last_progress,
                last_frames,
                ..
            } = &mut e.kind
            {
                if last_progress.elapsed() < PROGRESS_EVERY {
                    continue;
                }
                *last_progress = Instant::now();
                if let Some(n) = self.session.frames_done(*run) {
                    if n != *last_frames {
                        *last_frames = n;
                        events.push((
                            owner,
                            ServerMsg::Progress {
                                graph: id,
                                frames: n,
                            },
                        ));
                    }
                }
            }
        }
        for (c, m) in events {
            self.send(c, m, Vec::new());
        }
    }

    /// Every second: each graph's share of the GPU time used since.
    fn sample_shares(&mut self) {
        if self.share_mark.0.elapsed() < Duration::from_secs(1) {
            return;
        }
        let rt = self.session.runtime();
        let now: HashMap<u64, u64> = self
            .graphs
            .iter()
            .map(|(&id, e)| (id, rt.gpu_ns(e.graph)))
            .collect();
        let delta = |id: &u64, v: &u64| v.saturating_sub(*self.share_mark.1.get(id).unwrap_or(&0));
        let total: u64 = now.iter().map(|(id, v)| delta(id, v)).sum();
        self.shares = now
            .iter()
            .map(|(id, v)| {
                let d = delta(id, v);
                (
                    *id,
                    if total > 0 {
                        d as f64 / total as f64
                    } else {
                        0.0
                    },
                )
            })
            .collect();
        self.share_mark = (Instant::now(), now);
    }

    fn list(&self) -> Vec<GraphStatus> {
        let rt = self.session.runtime();
        self.graphs
            .iter()
            .map(|(&id, e)| GraphStatus {
                id,
                name: e.name.clone(),
                pid: e.peer.pid,
                uid: e.peer.uid,
                priority: rt.priority(e.graph).unwrap_or(0),
                gpu_share: self.shares.get(&id).copied().unwrap_or(0.0),
                gpu_ns: rt.gpu_ns(e.graph),
                frames: rt.frames_done(e.graph),
                memory_bytes: rt.memory_bytes(e.graph).unwrap_or(0),
                state: if e.dying {
                    "ending"
                } else {
                    match e.kind {
                        Kind::Host { .. } => "host",
                        Kind::Run { .. } if e.detached => "detached",
                        Kind::Run { .. } => "running",
                    }
                }
                .into(),
                age_s: e.opened.elapsed().as_secs_f64(),
            })
            .collect()
    }

    fn status(&self) -> DaemonStatus {
        let rt = self.session.runtime();
        DaemonStatus {
            pid: std::process::id(),
            device: rt.device().name.clone(),
            memory_bytes: self
                .graphs
                .values()
                .map(|e| rt.memory_bytes(e.graph).unwrap_or(0))
                .sum(),
            clients: self.clients.len() as u32,
            graphs: self.graphs.len() as u32,
            uptime_s: self.started.elapsed().as_secs_f64(),
            sched: rt.sched_report().mode,
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

/// A worker's part of opening a graph (see [`Engine::start_open`]).
fn prepare(
    token: u64,
    tx: &std::sync::mpsc::Sender<Command>,
    factory: &GraphFactory,
    io: &IoRegistry,
    open: Option<OpenRun>,
    fds: Vec<OwnedFd>,
    host_yaml: Option<String>,
) -> Result<Ready, WireError> {
    let yaml = match (&open, &host_yaml) {
        (Some(o), _) => &o.plan_yaml,
        (None, Some(y)) => y,
        (None, None) => return Err(err("nothing to open")),
    };
    let plan = Plan::from_yaml(yaml).map_err(|e| bad_input(e.to_string()))?;
    if open.is_none() && !fds.is_empty() {
        return Err(err("OpenGraph takes no descriptors"));
    }
    let files = match &open {
        Some(o) => Some(run_files(&plan, o, fds)?),
        None => None,
    };
    // Admission before anything is allocated.
    let estimate: u64 = plan
        .buffers
        .iter()
        .map(|b| b.size.saturating_mul(u64::from(b.slots)))
        .sum();
    let (atx, arx) = std::sync::mpsc::channel();
    tx.send(Command::Admit {
        token,
        priority: plan.priority,
        estimate,
        answer: atx,
    })
    .map_err(|_| err("the daemon is stopping"))?;
    arx.recv().map_err(|_| err("the daemon is stopping"))??;
    let what = match (open, files) {
        (Some(open), Some(files)) => {
            let (feeds, drains) = io.attach(&plan, files)?;
            ReadyKind::Run {
                feeds,
                drains,
                open,
            }
        }
        _ => ReadyKind::Host,
    };
    let graph = factory.prepare(&plan)?;
    Ok(Ready { plan, graph, what })
}

/// A run's descriptors as the files of its ports: a source or sink that
/// names a path must come with one (the daemon never opens a path for a
/// client).
fn run_files(plan: &Plan, o: &OpenRun, fds: Vec<OwnedFd>) -> Result<PortFiles, WireError> {
    if o.inputs.len() != plan.inputs.len() || o.outputs.len() != plan.outputs.len() {
        return Err(bad_input(format!(
            "the run names {} input(s) and {} output(s), the plan has {} and {}",
            o.inputs.len(),
            o.outputs.len(),
            plan.inputs.len(),
            plan.outputs.len()
        )));
    }
    let wanted = o.inputs.iter().filter(|b| **b).count()
        + o.outputs.iter().filter(|f| **f != OutputFd::None).count();
    if wanted != fds.len() {
        return Err(err(format!(
            "the run names {wanted} descriptor(s) but {} came with it",
            fds.len()
        )));
    }
    let mut fds = fds.into_iter();
    let mut files = PortFiles::default();
    for (gi, has) in plan.inputs.iter().zip(&o.inputs) {
        let shown = match &gi.source {
            Source::File { path } => path.clone(),
            Source::Camera {
                script: Some(p), ..
            } => p.clone(),
            Source::Stdin => "<stdin>".into(),
            _ => format!("<input {}>", gi.name).into(),
        };
        let needs = matches!(
            gi.source,
            Source::File { .. }
                | Source::Stdin
                | Source::Camera {
                    script: Some(_),
                    ..
                }
        );
        if needs && !has {
            return Err(err(format!(
                "input `{}` reads `{}`: the client must open it and pass its descriptor",
                gi.name,
                shown.display()
            )));
        }
        if matches!(gi.source, Source::Host) {
            return Err(err(format!(
                "input `{}` has no source: a run needs one (pass --input {}=FILE)",
                gi.name, gi.name
            )));
        }
        let fd = if *has { fds.next() } else { None };
        files.inputs.push(fd.map(|fd| InputFile {
            file: File::from(fd),
            path: shown,
        }));
    }
    for (go, what) in plan.outputs.iter().zip(&o.outputs) {
        let needs = matches!(go.sink, Sink::File { .. } | Sink::Stdout | Sink::Hid);
        if needs && *what == OutputFd::None {
            return Err(err(format!(
                "output `{}` needs a descriptor from the client",
                go.name
            )));
        }
        if *what == OutputFd::Relay && go.sink != Sink::Hid {
            return Err(err(format!(
                "output `{}` is not a `to hid` output",
                go.name
            )));
        }
        let shown = match &go.sink {
            Sink::File { path } => path.clone(),
            Sink::Stdout => "<stdout>".into(),
            _ => format!("<output {}>", go.name).into(),
        };
        files.outputs.push(match what {
            OutputFd::None => None,
            _ => fds
                .next()
                .map(|fd| OutputFile::in_place(File::from(fd), shown)),
        });
    }
    Ok(files)
}

fn opened(id: u64, plan: &Plan, slots: u32) -> Reply {
    let desc = |v: Vec<PortInfo>, slots: u32| {
        v.into_iter()
            .map(|p| PortDesc {
                name: p.name,
                bytes: p.bytes,
                slots,
            })
            .collect()
    };
    Reply::Opened {
        graph: id,
        inputs: desc(PortInfo::inputs_of(plan), slots),
        outputs: desc(PortInfo::outputs_of(plan), if slots > 0 { 1 } else { 0 }),
    }
}

fn push_done(graph: u64, port: usize, slot: u32, error: Option<WireError>) -> ServerMsg {
    ServerMsg::PushDone {
        graph,
        port: port as u32,
        slot,
        error,
    }
}

fn pulled(graph: u64, port: usize, result: Result<(), WireError>) -> ServerMsg {
    ServerMsg::Pulled {
        graph,
        port: port as u32,
        result,
    }
}
