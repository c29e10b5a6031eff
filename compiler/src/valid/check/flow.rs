//! The flow rules: every input written, every output read, cycles seeded,
//! and which ptasks can never fire.

use super::errors::FlowError;
use super::Checker;
use crate::ir::{self, Endpoint, GraphPortDir, PortKind, Span};
use ptc_plan::types::{Scalar, Value};
use std::collections::{HashMap, HashSet};

/// Who reads and writes each endpoint.
#[derive(Default)]
pub(super) struct Flow {
    pub read: HashSet<Endpoint>,
    /// Destination → span of its first writer's channel end.
    pub written: HashMap<Endpoint, Span>,
    /// Destination → its (first) source.
    pub writer: HashMap<Endpoint, Endpoint>,
    /// Endpoints named by a channel whose other parts did not resolve.
    pub touched: HashSet<Endpoint>,
}

impl Flow {
    pub fn read(&mut self, e: &Endpoint) {
        self.read.insert(e.clone());
    }

    /// Records a write; returns the first writer's span if there was one.
    pub fn write(&mut self, e: &Endpoint, span: Span, from: Option<&Endpoint>) -> Option<Span> {
        if let Some(first) = self.written.get(e) {
            return Some(*first);
        }
        self.written.insert(e.clone(), span);
        if let Some(from) = from {
            self.writer.insert(e.clone(), from.clone());
        }
        None
    }
}

impl Checker<'_> {
    pub(super) fn flow_rules(&mut self, g: &ir::Graph, flow: &Flow) {
        let broken = self.connections(g, flow);
        self.seeds(g);
        let in_cycle = self.cycles(g);
        self.never_fires(g, flow, &broken, &in_cycle);
    }

    /// Unconnected inputs, unread outputs, unused graph inputs. Returns the
    /// ptasks with an unconnected input.
    fn connections(&mut self, g: &ir::Graph, flow: &Flow) -> HashSet<usize> {
        let mut broken: HashSet<usize> = HashSet::new();
        for (ti, t) in g.ptasks.iter().enumerate() {
            for (pi, p) in t.ports.iter().enumerate() {
                let ep = Endpoint::Ptask(ti, pi);
                if self.noisy.contains(&ep) || flow.touched.contains(&ep) {
                    continue;
                }
                let (ptask, port, span) = (t.name.name.clone(), p.name.name.clone(), p.name.span);
                match p.kind {
                    PortKind::In | PortKind::Sticky => {
                        let seeded_sticky = p.kind == PortKind::Sticky && p.init.is_some();
                        if !flow.written.contains_key(&ep) && !seeded_sticky {
                            broken.insert(ti);
                            self.emit(FlowError::UnconnectedInput { ptask, port, span });
                        }
                    }
                    PortKind::Out => {
                        if !flow.read.contains(&ep) {
                            self.emit(FlowError::UnreadOutput { ptask, port, span });
                        }
                    }
                }
            }
        }
        for (i, p) in g.ports.iter().enumerate() {
            let ep = Endpoint::Graph(i);
            if self.noisy.contains(&ep) || flow.touched.contains(&ep) {
                continue;
            }
            let (name, span) = (p.name.name.clone(), p.name.span);
            match p.dir {
                GraphPortDir::Input if !flow.read.contains(&ep) => {
                    self.emit(FlowError::UnusedInput { name, span })
                }
                GraphPortDir::Output if !flow.written.contains_key(&ep) => {
                    self.emit(FlowError::OutputUnconnected { name, span })
                }
                _ => {}
            }
        }
        broken
    }

    /// One buffer carries one initial value: a producer may not feed two
    /// seeded ports with different ones.
    fn seeds(&mut self, g: &ir::Graph) {
        let mut seed: HashMap<&Endpoint, Value> = HashMap::new();
        for c in &g.channels {
            let Endpoint::Ptask(t, p) = &c.to else {
                continue;
            };
            let Some(v) = g.ptasks[*t].ports[*p].init else {
                continue;
            };
            match seed.get(&c.from) {
                Some(prev) if *prev != v => self.emit(FlowError::ConflictingSeeds {
                    producer: endpoint_name(g, &c.from),
                    span: c.to_span,
                }),
                Some(_) => {}
                None => {
                    seed.insert(&c.from, v);
                }
            }
        }
    }

    /// Cycles: with every channel into a seeded port removed, the ptask
    /// graph must be acyclic. Returns the ptasks on unseeded cycles.
    fn cycles(&mut self, g: &ir::Graph) -> HashSet<usize> {
        let mut succ: Vec<Vec<usize>> = vec![Vec::new(); g.ptasks.len()];
        // (from ptask, to ptask, channel) of every unseeded ptask-to-ptask channel.
        let mut edges = Vec::new();
        for (ci, c) in g.channels.iter().enumerate() {
            if let (Endpoint::Ptask(a, _), Endpoint::Ptask(b, bp)) = (&c.from, &c.to) {
                if g.ptasks[*b].ports[*bp].init.is_none() {
                    succ[*a].push(*b);
                    edges.push((*a, *b, ci));
                }
            }
        }
        let comps = crate::scc::tarjan(&succ);
        let mut comp_of = vec![0usize; g.ptasks.len()];
        for (k, comp) in comps.iter().enumerate() {
            for &t in comp {
                comp_of[t] = k;
            }
        }
        // The channels inside each component: a component is a cycle if
        // it has any (two or more ptasks, or one feeding itself).
        let mut chans: Vec<Vec<usize>> = vec![Vec::new(); comps.len()];
        for &(a, b, ci) in &edges {
            if comp_of[a] == comp_of[b] {
                chans[comp_of[a]].push(ci);
            }
        }
        let mut in_cycle: HashSet<usize> = HashSet::new();
        let mut cycles = Vec::new();
        for (comp, mut chans) in comps.into_iter().zip(chans) {
            if chans.is_empty() {
                continue;
            }
            chans.sort_unstable();
            let mut tasks = comp;
            tasks.sort_unstable();
            in_cycle.extend(tasks.iter().copied());
            cycles.push((tasks, chans));
        }
        cycles.sort();
        for (tasks, chans) in cycles {
            if chans.is_empty() {
                continue;
            }
            let example = chans
                .iter()
                .filter_map(|&c| match &g.channels[c].to {
                    Endpoint::Ptask(t, p) => Some(&g.ptasks[*t].ports[*p]),
                    Endpoint::Graph(_) => None,
                })
                .next()
                .map(|p| {
                    let zero = match p.ty.elem.scalar() {
                        Some(Scalar::F32) => "0.0",
                        _ => "0",
                    };
                    format!("`in {}: {} = {zero};`", p.name.name, p.ty)
                })
                .unwrap_or_else(|| "`in state: f32[16] = 0.0;`".to_string());
            self.emit(FlowError::UnseededCycle {
                ptasks: tasks
                    .iter()
                    .map(|t| g.ptasks[*t].name.name.clone())
                    .collect(),
                channels: chans.iter().map(|&c| g.channels[c].span).collect(),
                example,
            });
        }
        in_cycle
    }

    /// Liveness: reports ptasks that can never fire because a ptask they
    /// wait on has its own reported problem.
    fn never_fires(
        &mut self,
        g: &ir::Graph,
        flow: &Flow,
        broken: &HashSet<usize>,
        in_cycle: &HashSet<usize>,
    ) {
        let n = g.ptasks.len();
        // Inputs still waiting for a live writer, per ptask.
        let mut pending = vec![0usize; n];
        // Consumers of each ptask's outputs: (consumer ptask, port).
        let mut consumers: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
        let mut live_port: HashSet<(usize, usize)> = HashSet::new();
        for c in &g.channels {
            if let (Endpoint::Ptask(a, _), Endpoint::Ptask(b, bp)) = (&c.from, &c.to) {
                consumers[*a].push((*b, *bp));
            }
        }
        for (ti, t) in g.ptasks.iter().enumerate() {
            for (pi, p) in t.ports.iter().enumerate() {
                if p.kind == PortKind::Out {
                    continue;
                }
                let from_graph = matches!(
                    flow.writer.get(&Endpoint::Ptask(ti, pi)),
                    Some(Endpoint::Graph(_))
                );
                if p.init.is_some() || from_graph {
                    live_port.insert((ti, pi));
                } else {
                    pending[ti] += 1;
                }
            }
        }
        let mut fires = vec![false; n];
        let mut work: Vec<usize> = (0..n).filter(|&t| pending[t] == 0).collect();
        for &t in &work {
            fires[t] = true;
        }
        while let Some(t) = work.pop() {
            for &(b, bp) in &consumers[t] {
                if live_port.insert((b, bp)) {
                    pending[b] = pending[b].saturating_sub(1);
                    if pending[b] == 0 && !fires[b] {
                        fires[b] = true;
                        work.push(b);
                    }
                }
            }
        }
        for (ti, t) in g.ptasks.iter().enumerate() {
            if fires[ti] || broken.contains(&ti) || in_cycle.contains(&ti) {
                continue;
            }
            // Report at the frontier: a dead input whose writer is a ptask
            // with its own reported problem.
            let cause = t.ports.iter().enumerate().find_map(|(pi, p)| {
                if p.kind == PortKind::Out || live_port.contains(&(ti, pi)) {
                    return None;
                }
                match flow.writer.get(&Endpoint::Ptask(ti, pi)) {
                    Some(Endpoint::Ptask(w, _)) if broken.contains(w) || in_cycle.contains(w) => {
                        Some((p, &g.ptasks[*w]))
                    }
                    _ => None,
                }
            });
            if let Some((p, w)) = cause {
                self.emit(FlowError::NeverFires {
                    ptask: t.name.name.clone(),
                    span: t.name.span,
                    port: p.name.name.clone(),
                    port_span: p.name.span,
                    writer: w.name.name.clone(),
                });
            }
        }
    }
}

/// `input` or `ptask.port`, as written in channels.
pub(super) fn endpoint_name(g: &ir::Graph, e: &Endpoint) -> String {
    match e {
        Endpoint::Graph(i) => g.ports[*i].name.name.clone(),
        Endpoint::Ptask(t, p) => {
            let t = &g.ptasks[*t];
            format!("{}.{}", t.name.name, t.ports[*p].name.name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::errors::CheckError;
    use super::*;
    use crate::back::testutil::*;
    use crate::Options;
    use std::path::Path;

    /// The flow rules on a ring of `n` ptasks, seeded or not.
    fn ring(n: usize, seeded: bool) -> Vec<CheckError> {
        let mut mb = Mb::new("ring");
        for i in 0..n {
            let init = (seeded && i == 0).then_some(Value::F32(0.0));
            mb.ptask(
                &format!("p{i}"),
                "k",
                &[(In, "a", f32s(&[4]), init), (Out, "b", f32s(&[4]), None)],
                &[],
            );
        }
        let mut flow = Flow::default();
        for i in 0..n {
            let (from, to) = (Endpoint::Ptask(i, 1), Endpoint::Ptask((i + 1) % n, 0));
            flow.read(&from);
            flow.write(&to, Span::default(), Some(&from));
            mb.connect(from, to);
        }
        let opts = Options::default();
        let mut cx = super::super::Checker::new(Path::new("ring.pt"), &opts);
        cx.flow_rules(&mb.m.graph, &flow);
        cx.errors
    }

    /// 100,000 ptasks on one cycle: found without recursing once per ptask
    /// (petgraph's recursive Tarjan overflowed the test's 2 MiB stack).
    #[test]
    fn a_100k_ptask_ring_is_one_cycle() {
        let e = ring(100_000, false);
        assert_eq!(e.len(), 1);
        let CheckError::Flow(FlowError::UnseededCycle {
            ptasks, channels, ..
        }) = &e[0]
        else {
            panic!("not a cycle: {:?}", e[0]);
        };
        assert_eq!((ptasks.len(), channels.len()), (100_000, 100_000));
        assert!(ring(100_000, true).is_empty());
    }
}
