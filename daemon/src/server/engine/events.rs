//! What the engine's loop reports as graphs move: progress, ended runs,
//! failures, and dying graphs reaped once off the GPU.

use super::{err, Engine, Kind};
use crate::proto::{Reply, RunReport, ServerMsg, WireError};
use ptc_runtime::{EndReason, RunSummary};
use std::time::{Duration, Instant};

/// How often a run's client hears how far it got.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

impl Engine {
    /// Every graph fails (device error or shutdown): clients hear why.
    pub(super) fn fail_all(&mut self, why: &str) {
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
    pub(super) fn finish_runs(&mut self) -> bool {
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
        // The session's report: the scheduler's plus each graph's source
        // and sink costs (the daemon's own CPU time is not the client's).
        let mut stats = self.session.report();
        stats.graphs.retain(|g| g.id == id);
        stats.host = None;
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

    /// Terminates dying graphs once nothing of them is on the GPU.
    pub(super) fn reap_dying(&mut self) -> bool {
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

    pub(super) fn progress(&mut self) {
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
}
