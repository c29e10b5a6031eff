//! Opening a graph: a worker thread prepares it, the engine admits it
//! against the caps, then schedules it and answers its client.

use super::files::run_files;
use super::{bad_input, err, Command, ConnId, Engine, Entry, Kind, Pending, PUSH_SLOTS};
use crate::policy::Peer;
use crate::proto::{OpenRun, PortDesc, Reply, ServerMsg, WireError};
use crate::server::conn;
use ptc_runtime::io::IoRegistry;
use ptc_runtime::{GraphFactory, GraphId, Plan, PortInfo, PreparedGraph, RunLimits};
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

/// What [`Engine::register`] records about a new graph.
struct NewEntry {
    graph: GraphId,
    kind: Kind,
    detached: bool,
    log_mark: usize,
    memory_estimate: u64,
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

impl Engine {
    /// Admission: the policy's priority limit and the user's caps (graphs
    /// open and being opened count; `token`: the open asking, not counted).
    pub(super) fn admit(
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
    pub(super) fn start_open(
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
    pub(super) fn opened(&mut self, token: u64, result: Result<Box<Ready>, WireError>) {
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
