//! What clients see and may change: ownership checks, `ptc ps` and the
//! daemon's status, GPU shares, renice, stop and kill.

use super::{err, Engine, Kind};
use crate::policy::Peer;
use crate::proto::{DaemonStatus, GraphStatus, WireError};
use std::collections::HashMap;
use std::time::{Duration, Instant};

impl Engine {
    /// Checks that `peer` may act on `graph` (its owner, or root; `any`:
    /// anyone may).
    pub(super) fn own(&self, peer: Peer, graph: u64, any: bool) -> Result<(), WireError> {
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

    pub(super) fn set_priority(
        &mut self,
        peer: Peer,
        graph: u64,
        priority: u32,
    ) -> Result<(), WireError> {
        self.own(peer, graph, false)?;
        self.config.check_priority(&peer, priority).map_err(err)?;
        let g = self.graphs[&graph].graph;
        self.session.runtime_mut().set_priority(g, priority)?;
        Ok(())
    }

    /// `Stop` (clean) or `Kill` of a graph.
    pub(super) fn stop(&mut self, peer: Peer, graph: u64, kill: bool) -> Result<(), WireError> {
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
    pub(super) fn kill_now(&mut self, graph: u64) {
        if let Some(e) = self.graphs.get_mut(&graph) {
            if let Kind::Run { run, .. } = e.kind {
                self.session.cancel(run);
            }
            e.dying = true;
            let _ = self.session.runtime_mut().set_held(e.graph, true);
        }
    }

    /// Every second: each graph's share of the GPU time used since.
    pub(super) fn sample_shares(&mut self) {
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

    pub(super) fn list(&self) -> Vec<GraphStatus> {
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

    pub(super) fn status(&self) -> DaemonStatus {
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
}
