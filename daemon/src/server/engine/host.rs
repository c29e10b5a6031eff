//! Push/pull graphs: their ports' shared-memory slots, and frames moved
//! between a client's slots and its graph.

use super::{bad_input, err, ConnId, Engine, Entry, Kind, PUSH_SLOTS};
use crate::proto::{ServerMsg, WireError};
use crate::shm::SharedSlots;
use ptc_runtime::{GraphId, InputPort, OutputPort, Plan, PortInfo};
use std::collections::VecDeque;
use std::os::fd::OwnedFd;

/// A pushed input: its port, slots, and the slots waiting to be pushed.
pub(super) struct HostIn {
    port: InputPort,
    shm: SharedSlots,
    queue: VecDeque<u32>,
}

/// A pulled output: its port, its slot, whether a pull waits.
pub(super) struct HostOut {
    port: OutputPort,
    shm: SharedSlots,
    wanted: bool,
}

impl Engine {
    /// A push/pull graph's shared-memory slots (and their descriptors).
    pub(super) fn host_ports(
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

    pub(super) fn push(
        &mut self,
        conn: ConnId,
        graph: u64,
        port: u32,
        slot: u32,
    ) -> Result<(), WireError> {
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

    pub(super) fn pull(&mut self, conn: ConnId, graph: u64, port: u32) -> Result<(), WireError> {
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

    /// Moves frames between push/pull clients' shared memory and their graphs.
    pub(super) fn serve_hosts(&mut self) -> bool {
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
