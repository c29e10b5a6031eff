//! Lowers a checked module to a plan: buffers and aliasing, ping-pong,
//! pipelines with embedded SPIR-V, static dispatch order with barriers.
//!
//! Lowering takes what validation proved ([`ModuleInfo`]: every name
//! resolved, one writer per input, every input fed or seeded, every cycle
//! seeded, one checked kernel per ptask with its dispatch size) and does
//! not check any of it again: an inconsistency here is a bug in ptc, an
//! [`InternalError`], never a diagnostic about the user's graph.
//!
//! Buffers: one per *producing* endpoint. A graph input gets an `Input`
//! buffer with 2 slots (ping-pong). A ptask `out` port gets one buffer that
//! every consumer binds directly (no copies, fan-out shares it): `Internal`,
//! or `Output` when a graph output reads it, or `State` (2 slots, `init`
//! from the consumer's initial value) when it feeds the back edge of a
//! seeded cycle. A seeded `sticky` input that no channel feeds gets a
//! `Constant` buffer of its own, filled with its initial value once.
//!
//! Schedule: a topological order of the ptasks after removing back edges
//! (channels into a seeded port whose ends are in one strongly connected
//! component). Barriers: read-after-write on every buffer a dispatch reads
//! that an earlier dispatch of the frame wrote; write-after-read /
//! write-after-write where it writes a buffer read or written earlier in the
//! frame (state buffers). Hazards between frames are the runtime's (it
//! orders submissions with timeline semaphores).

use crate::ir::{self, Endpoint, GraphPortDir, PortKind};
use crate::valid::kernel::ParamsBlock;
use crate::valid::{InternalError, ModuleInfo};
use petgraph::graph::{DiGraph, NodeIndex};
use ptc_plan::types::{round_up, Scalar, Value};
use ptc_plan::{
    spirv, Access, Binding, Buffer, BufferBarrier, BufferRole, Dispatch, GraphInput, GraphOutput,
    Hazard, Module, Plan, PtaskPlan, PushConstant, Requirements, UniformParams, PLAN_VERSION,
};
use std::collections::HashMap;
use std::path::PathBuf;

pub use crate::valid::kernel::default_grid;

/// Lowers `module` given what validation proved about it.
pub fn lower(module: &ir::Module, info: &ModuleInfo) -> Result<Plan, InternalError> {
    let g = &module.graph;
    if info.kernels.len() != g.ptasks.len() {
        return Err(InternalError::new(format!(
            "{} kernels for {} ptasks",
            info.kernels.len(),
            g.ptasks.len()
        )));
    }
    let wires = Wires::new(g)?;
    let (back, order) = schedule_order(g)?;
    let (buffers, buffer_of) = buffers(module, &wires, &back)?;
    let (inputs, outputs) = graph_ports(g, &wires, &buffer_of)?;
    let (modules, ptasks, mut req) = pipelines(g, info, &wires, &buffer_of)?;
    for b in &buffers {
        req.max_buffer_bytes = req.max_buffer_bytes.max(b.size);
        let (s8, s16) = b.ty.elem.small_scalars(&module.structs);
        req.storage_8bit |= s8;
        req.storage_16bit |= s16;
    }
    let schedule = schedule(&order, &ptasks);
    let plan = Plan {
        version: PLAN_VERSION,
        graph: g.name.name.clone(),
        priority: g.priority,
        // Informational, and a plan is UTF-8 text: a non-UTF-8 file
        // name is kept lossily rather than making the plan unwritable.
        source: Some(PathBuf::from(module.path.to_string_lossy().into_owned())),
        requirements: req,
        structs: module.structs.clone(),
        buffers,
        inputs,
        outputs,
        modules,
        ptasks,
        schedule,
    };
    plan.validate()
        .map_err(|e| InternalError::new(format!("the lowered plan is invalid: {e}")))?;
    Ok(plan)
}

/// Numeric conversion of a literal to the scalar type it initialises.
pub fn convert_value(v: Value, to: Scalar) -> Value {
    let f = match v {
        Value::U32(x) => f64::from(x),
        Value::I32(x) => f64::from(x),
        Value::F32(x) => f64::from(x),
    };
    match to {
        Scalar::F32 => Value::F32(f as f32),
        Scalar::I32 => Value::I32(f as i32),
        Scalar::U32 | Scalar::U16 | Scalar::U8 => Value::U32(f as u32),
    }
}

/// `input` or `ptask.port` (buffer names and aliases).
fn ep_name(g: &ir::Graph, e: &Endpoint) -> String {
    match e {
        Endpoint::Graph(i) => g.ports[*i].name.name.clone(),
        Endpoint::Ptask(t, p) => {
            let pt = &g.ptasks[*t];
            format!("{}.{}", pt.name.name, pt.ports[*p].name.name)
        }
    }
}

/// The port at a ptask endpoint.
fn port<'g>(g: &'g ir::Graph, e: &Endpoint) -> Option<&'g ir::Port> {
    match e {
        Endpoint::Ptask(t, p) => g.ptasks.get(*t)?.ports.get(*p),
        Endpoint::Graph(_) => None,
    }
}

/// The channels by endpoint.
struct Wires {
    /// Destination → its one channel.
    incoming: HashMap<Endpoint, usize>,
    /// Source → its channels.
    outgoing: HashMap<Endpoint, Vec<usize>>,
}

impl Wires {
    fn new(g: &ir::Graph) -> Result<Wires, InternalError> {
        let mut incoming = HashMap::new();
        let mut outgoing: HashMap<Endpoint, Vec<usize>> = HashMap::new();
        let exists = |e: &Endpoint| match e {
            Endpoint::Graph(i) => *i < g.ports.len(),
            Endpoint::Ptask(t, p) => g.ptasks.get(*t).is_some_and(|pt| *p < pt.ports.len()),
        };
        for (ci, c) in g.channels.iter().enumerate() {
            if !exists(&c.from) || !exists(&c.to) {
                return Err(InternalError::new(format!(
                    "channel #{ci} refers to a port that does not exist"
                )));
            }
            if incoming.insert(c.to.clone(), ci).is_some() {
                return Err(InternalError::new(format!(
                    "`{}` has two writers after checking",
                    ep_name(g, &c.to)
                )));
            }
            outgoing.entry(c.from.clone()).or_default().push(ci);
        }
        Ok(Wires { incoming, outgoing })
    }
}

/// Back edges (channels into a seeded port inside a strongly connected
/// component of the ptask graph) and a topological order of the rest.
fn schedule_order(g: &ir::Graph) -> Result<(Vec<bool>, Vec<usize>), InternalError> {
    let mut pg: DiGraph<usize, usize> = DiGraph::new();
    let nodes: Vec<NodeIndex> = (0..g.ptasks.len()).map(|i| pg.add_node(i)).collect();
    for (ci, c) in g.channels.iter().enumerate() {
        if let (Endpoint::Ptask(a, _), Endpoint::Ptask(b, _)) = (&c.from, &c.to) {
            pg.add_edge(nodes[*a], nodes[*b], ci);
        }
    }
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); g.ptasks.len()];
    for c in &g.channels {
        if let (Endpoint::Ptask(a, _), Endpoint::Ptask(b, _)) = (&c.from, &c.to) {
            succ[*a].push(*b);
        }
    }
    let mut scc_of = vec![usize::MAX; g.ptasks.len()];
    for (k, comp) in crate::scc::tarjan(&succ).iter().enumerate() {
        for &t in comp {
            scc_of[t] = k;
        }
    }
    let mut back = vec![false; g.channels.len()];
    for (ci, c) in g.channels.iter().enumerate() {
        if let (Endpoint::Ptask(a, _), Endpoint::Ptask(b, _)) = (&c.from, &c.to) {
            let seeded = port(g, &c.to).is_some_and(|p| p.init.is_some());
            back[ci] = seeded && scc_of[*a] == scc_of[*b];
        }
    }
    let mut dag = pg.clone();
    dag.retain_edges(|gr, e| !back[gr[e]]);
    match petgraph::algo::toposort(&dag, None) {
        Ok(o) => Ok((back, o.into_iter().map(|n| dag[n]).collect())),
        Err(cyc) => Err(InternalError::new(format!(
            "ptask `{}` is on an unseeded cycle after checking",
            g.ptasks[dag[cyc.node_id()]].name.name
        ))),
    }
}

/// One buffer per producing endpoint: graph inputs first, then ptask
/// outputs, then unfed seeded sticky inputs, in declaration order.
fn buffers(
    m: &ir::Module,
    wires: &Wires,
    back: &[bool],
) -> Result<(Vec<Buffer>, HashMap<Endpoint, usize>), InternalError> {
    let g = &m.graph;
    let mut producers: Vec<Endpoint> = Vec::new();
    for (i, p) in g.ports.iter().enumerate() {
        if p.dir == GraphPortDir::Input {
            producers.push(Endpoint::Graph(i));
        }
    }
    for (t, pt) in g.ptasks.iter().enumerate() {
        for (i, p) in pt.ports.iter().enumerate() {
            if p.kind == PortKind::Out {
                producers.push(Endpoint::Ptask(t, i));
            }
        }
    }
    let constants: Vec<Endpoint> = g
        .ptasks
        .iter()
        .enumerate()
        .flat_map(|(t, pt)| {
            pt.ports
                .iter()
                .enumerate()
                .filter(|(_, p)| p.kind == PortKind::Sticky && p.init.is_some())
                .map(move |(i, _)| Endpoint::Ptask(t, i))
        })
        .filter(|e| !wires.incoming.contains_key(e))
        .collect();
    producers.extend(constants);
    let mut buffers = Vec::with_capacity(producers.len());
    let mut buffer_of = HashMap::with_capacity(producers.len());
    for prod in producers {
        let (ty, mut role, mut init) = match &prod {
            Endpoint::Graph(i) => (&g.ports[*i].ty, BufferRole::Input, None),
            Endpoint::Ptask(t, p) => {
                let port = &g.ptasks[*t].ports[*p];
                match port.kind {
                    PortKind::Out => (&port.ty, BufferRole::Internal, None),
                    PortKind::In | PortKind::Sticky => (&port.ty, BufferRole::Constant, port.init),
                }
            }
        };
        let size = ty.byte_size(&m.structs).ok_or_else(|| {
            InternalError::new(format!(
                "`{}` of type {ty} has no size after checking",
                ep_name(g, &prod)
            ))
        })?;
        let mut aliases = vec![ep_name(g, &prod)];
        for &ci in wires.outgoing.get(&prod).map(Vec::as_slice).unwrap_or(&[]) {
            let c = &g.channels[ci];
            aliases.push(ep_name(g, &c.to));
            if let Endpoint::Graph(_) = c.to {
                if role == BufferRole::Internal {
                    role = BufferRole::Output;
                }
            }
            if back[ci] {
                role = BufferRole::State;
            }
            // The checker proved that all seeded consumers agree.
            if let Some(v) = port(g, &c.to).and_then(|p| p.init) {
                init = Some(match ty.elem.scalar() {
                    Some(s) => convert_value(v, s),
                    None => v,
                });
            }
        }
        let slots = match role {
            BufferRole::Input | BufferRole::State => 2,
            BufferRole::Internal | BufferRole::Output | BufferRole::Constant => 1,
        };
        buffer_of.insert(prod.clone(), buffers.len());
        buffers.push(Buffer {
            name: ep_name(g, &prod),
            ty: ty.clone(),
            size,
            role,
            slots,
            aliases,
            init,
        });
    }
    Ok((buffers, buffer_of))
}

/// Graph inputs and outputs, each naming its buffer.
fn graph_ports(
    g: &ir::Graph,
    wires: &Wires,
    buffer_of: &HashMap<Endpoint, usize>,
) -> Result<(Vec<GraphInput>, Vec<GraphOutput>), InternalError> {
    let mut inputs = Vec::new();
    let mut outputs = Vec::new();
    for (i, p) in g.ports.iter().enumerate() {
        let me = Endpoint::Graph(i);
        let from = match p.dir {
            GraphPortDir::Input => Some(&me),
            GraphPortDir::Output => wires.incoming.get(&me).map(|&ci| &g.channels[ci].from),
        };
        let Some(&buffer) = from.and_then(|f| buffer_of.get(f)) else {
            return Err(InternalError::new(format!(
                "graph port `{}` has no buffer after checking",
                p.name.name
            )));
        };
        match p.dir {
            GraphPortDir::Input => inputs.push(GraphInput {
                name: p.name.name.clone(),
                buffer,
                source: p.source.clone(),
            }),
            GraphPortDir::Output => outputs.push(GraphOutput {
                name: p.name.name.clone(),
                buffer,
                sink: p.sink.clone(),
            }),
        }
    }
    Ok((inputs, outputs))
}

/// One module per distinct compiled kernel (ptasks sharing a kernel share
/// its `Arc`'d words), one pipeline per ptask, and what they require.
fn pipelines(
    g: &ir::Graph,
    info: &ModuleInfo,
    wires: &Wires,
    buffer_of: &HashMap<Endpoint, usize>,
) -> Result<(Vec<Module>, Vec<PtaskPlan>, Requirements), InternalError> {
    let mut module_of: HashMap<*const u32, usize> = HashMap::new();
    let mut modules: Vec<Module> = Vec::new();
    let mut ptasks = Vec::with_capacity(g.ptasks.len());
    let mut req = Requirements::default();
    for (t, (pt, k)) in g.ptasks.iter().zip(&info.kernels).enumerate() {
        let mut bindings = Vec::with_capacity(pt.ports.len());
        for (i, p) in pt.ports.iter().enumerate() {
            let me = Endpoint::Ptask(t, i);
            let producer = match (p.kind, wires.incoming.get(&me)) {
                (PortKind::In | PortKind::Sticky, Some(&ci)) => &g.channels[ci].from,
                _ => &me,
            };
            let Some(&buffer) = buffer_of.get(producer) else {
                return Err(InternalError::new(format!(
                    "port `{}.{}` has no buffer after checking",
                    pt.name.name, p.name.name
                )));
            };
            bindings.push(Binding {
                port: p.name.name.clone(),
                access: match p.kind {
                    PortKind::In => Access::In,
                    PortKind::Sticky => Access::Sticky,
                    PortKind::Out => Access::Out,
                },
                buffer,
            });
        }
        // Params at std430 offsets (std140 gives scalars the same ones).
        let mut members = Vec::with_capacity(pt.params.len());
        let mut off = 0u32;
        for p in &pt.params {
            off = round_up(off, p.ty.size());
            members.push(PushConstant {
                name: p.name.name.clone(),
                ty: p.ty,
                offset: off,
                value: convert_value(p.value, p.ty),
            });
            off += p.ty.size();
        }
        let (push_constants, push_constant_size, uniform_params) = match k.params {
            ParamsBlock::PushConstants => (members, round_up(off, 4), None),
            ParamsBlock::Uniform { binding, size } => {
                req.uniform_buffer_bytes = req.uniform_buffer_bytes.max(size);
                (
                    Vec::new(),
                    0,
                    Some(UniformParams {
                        binding,
                        size,
                        members,
                    }),
                )
            }
        };
        for (m, w) in req.max_workgroups.iter_mut().zip(k.workgroups) {
            *m = (*m).max(w);
        }
        req.push_constant_bytes = req.push_constant_bytes.max(push_constant_size);
        req.shared_memory_bytes = req.shared_memory_bytes.max(k.shared_memory_bytes);
        let f = k.features;
        req.shader_int8 |= f.int8;
        req.shader_int16 |= f.int16;
        req.shader_int64 |= f.int64;
        req.shader_float16 |= f.float16;
        req.shader_float64 |= f.float64;
        req.storage_8bit |= f.storage_8bit;
        req.storage_16bit |= f.storage_16bit;
        req.subgroup_operations |= f.subgroup;
        let module = *module_of.entry(k.spirv.as_ptr()).or_insert_with(|| {
            modules.push(Module {
                kernel: pt.kernel.clone(),
                spirv: spirv::to_base64(&k.spirv),
            });
            modules.len() - 1
        });
        ptasks.push(PtaskPlan {
            name: pt.name.name.clone(),
            kernel: pt.kernel.clone(),
            module,
            entry: k.entry.clone(),
            bindings,
            push_constants,
            push_constant_size,
            local_size: k.local_size,
            workgroups: k.workgroups,
            priority: pt.priority,
            specialization: k.specialization.clone(),
            uniform_params,
        });
    }
    Ok((modules, ptasks, req))
}

/// The dispatch order with the barriers each dispatch needs within a frame.
pub fn schedule(order: &[usize], ptasks: &[PtaskPlan]) -> Vec<Dispatch> {
    // Per buffer: written earlier in the frame; read since the last write.
    let mut written: HashMap<usize, bool> = HashMap::new();
    let mut read: HashMap<usize, bool> = HashMap::new();
    let mut out = Vec::with_capacity(order.len());
    for &t in order {
        let Some(p) = ptasks.get(t) else { continue };
        let mut barriers: Vec<BufferBarrier> = Vec::new();
        let mut add = |buffer: usize, hazard: Hazard| {
            let b = BufferBarrier { buffer, hazard };
            if !barriers.contains(&b) {
                barriers.push(b);
            }
        };
        for b in &p.bindings {
            match b.access {
                Access::In | Access::Sticky => {
                    if written.get(&b.buffer).copied().unwrap_or(false) {
                        add(b.buffer, Hazard::ReadAfterWrite);
                    }
                }
                Access::Out => {
                    if read.get(&b.buffer).copied().unwrap_or(false) {
                        add(b.buffer, Hazard::WriteAfterRead);
                    } else if written.get(&b.buffer).copied().unwrap_or(false) {
                        add(b.buffer, Hazard::WriteAfterWrite);
                    }
                }
            }
        }
        for b in &p.bindings {
            match b.access {
                Access::In | Access::Sticky => {
                    read.insert(b.buffer, true);
                }
                Access::Out => {
                    written.insert(b.buffer, true);
                    read.insert(b.buffer, false);
                }
            }
        }
        out.push(Dispatch { ptask: t, barriers });
    }
    out
}

#[cfg(test)]
mod tests;
