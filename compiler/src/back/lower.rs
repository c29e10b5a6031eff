//! Lowers a checked module to a plan: buffers and aliasing, ping-pong,
//! pipelines with embedded SPIR-V, static dispatch order with barriers.
//!
//! Buffers: one per *producing* endpoint. A graph input gets an `Input`
//! buffer with 2 slots (ping-pong). A ptask `out` port gets one buffer that
//! every consumer binds directly (no copies, fan-out shares it): `Internal`,
//! or `Output` when a graph output reads it, or `State` (2 slots, `init`
//! from the consumer's initial value) when it feeds the back edge of a
//! seeded cycle.
//!
//! Schedule: a topological order of the ptasks (petgraph) after removing
//! back edges (channels into a seeded port whose ends are in one strongly
//! connected component). Barriers: read-after-write on every buffer a
//! dispatch reads that an earlier dispatch of the frame wrote;
//! write-after-read / write-after-write where it writes a buffer read or
//! written earlier in the frame (state buffers). Hazards between frames are
//! the runtime's (it orders submissions with timeline semaphores).

use crate::diag::{Code, Diagnostic};
use crate::ir::{self, Endpoint, GraphPortDir, PortKind};
use crate::valid::kernel::KernelInfo;
use petgraph::graph::{DiGraph, NodeIndex};
use ptc_plan::types::{round_up, Scalar, Value};
use ptc_plan::{
    spirv, Access, Binding, Buffer, BufferBarrier, BufferRole, Dispatch, GraphInput, GraphOutput,
    Hazard, Module, Plan, PtaskPlan, PushConstant, Requirements, MAX_BUFFER_BYTES,
    MAX_PUSH_CONSTANT_BYTES, PLAN_VERSION,
};
use std::collections::HashMap;
use std::path::PathBuf;

/// Lowers `module` given the compiled kernel of each ptask (one entry per
/// ptask, as returned by [`check_kernels`](crate::valid::kernel::check_kernels)).
pub fn lower(module: &ir::Module, kernels: &[Option<KernelInfo>]) -> Result<Plan, Vec<Diagnostic>> {
    Lowerer::new(module, kernels).run()
}

struct Lowerer<'a> {
    m: &'a ir::Module,
    g: &'a ir::Graph,
    kernels: &'a [Option<KernelInfo>],
    diags: Vec<Diagnostic>,
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

impl<'a> Lowerer<'a> {
    fn new(m: &'a ir::Module, kernels: &'a [Option<KernelInfo>]) -> Self {
        Lowerer {
            m,
            g: &m.graph,
            kernels,
            diags: Vec::new(),
        }
    }

    fn ep_name(&self, e: &Endpoint) -> String {
        match e {
            Endpoint::Graph(i) => self
                .g
                .ports
                .get(*i)
                .map(|p| p.name.name.clone())
                .unwrap_or_else(|| format!("<graph port {i}>")),
            Endpoint::Ptask(t, p) => {
                let Some(pt) = self.g.ptasks.get(*t) else {
                    return format!("<ptask {t}>");
                };
                match pt.ports.get(*p) {
                    Some(port) => format!("{}.{}", pt.name.name, port.name.name),
                    None => format!("{}.<port {p}>", pt.name.name),
                }
            }
        }
    }

    fn port(&self, e: &Endpoint) -> Option<&'a ir::Port> {
        match e {
            Endpoint::Ptask(t, p) => self.g.ptasks.get(*t)?.ports.get(*p),
            Endpoint::Graph(_) => None,
        }
    }

    fn run(mut self) -> Result<Plan, Vec<Diagnostic>> {
        let g = self.g;
        if self.kernels.len() != g.ptasks.len() {
            return Err(vec![Diagnostic::new(
                Code::InvalidPtask,
                format!(
                    "internal error: {} kernels for {} ptasks",
                    self.kernels.len(),
                    g.ptasks.len()
                ),
            )]);
        }
        // Channels by endpoint, checking that they refer to existing ports.
        let mut incoming: HashMap<Endpoint, usize> = HashMap::new();
        let mut outgoing: HashMap<Endpoint, Vec<usize>> = HashMap::new();
        for (ci, c) in g.channels.iter().enumerate() {
            let ok = |e: &Endpoint| match e {
                Endpoint::Graph(i) => *i < g.ports.len(),
                Endpoint::Ptask(t, p) => g.ptasks.get(*t).is_some_and(|pt| *p < pt.ports.len()),
            };
            if !ok(&c.from) || !ok(&c.to) {
                self.diags.push(
                    Diagnostic::new(
                        Code::UnknownName,
                        "internal error: a channel refers to a port that does not exist",
                    )
                    .primary(c.span, "this channel"),
                );
                continue;
            }
            if let Some(prev) = incoming.insert(c.to.clone(), ci) {
                self.diags.push(
                    Diagnostic::new(
                        Code::MultipleWriters,
                        format!(
                            "`{}` has more than one incoming channel",
                            self.ep_name(&c.to)
                        ),
                    )
                    .primary(c.span, "second writer")
                    .secondary(g.channels[prev].span, "first writer"),
                );
            }
            outgoing.entry(c.from.clone()).or_default().push(ci);
        }

        // Back edges: channels into a seeded port inside a strongly connected
        // component of the ptask graph.
        let mut pg: DiGraph<usize, usize> = DiGraph::new();
        let nodes: Vec<NodeIndex> = (0..g.ptasks.len()).map(|i| pg.add_node(i)).collect();
        for (ci, c) in g.channels.iter().enumerate() {
            if let (Endpoint::Ptask(a, _), Endpoint::Ptask(b, _)) = (&c.from, &c.to) {
                if *a < nodes.len() && *b < nodes.len() {
                    pg.add_edge(nodes[*a], nodes[*b], ci);
                }
            }
        }
        let mut scc_of = vec![usize::MAX; g.ptasks.len()];
        for (k, comp) in petgraph::algo::tarjan_scc(&pg).iter().enumerate() {
            for n in comp {
                scc_of[pg[*n]] = k;
            }
        }
        let mut back = vec![false; g.channels.len()];
        for (ci, c) in g.channels.iter().enumerate() {
            if let (Endpoint::Ptask(a, _), Endpoint::Ptask(b, _)) = (&c.from, &c.to) {
                let seeded = self.port(&c.to).is_some_and(|p| p.init.is_some());
                if seeded && scc_of.get(*a) == scc_of.get(*b) {
                    back[ci] = true;
                }
            }
        }
        let mut dag = pg.clone();
        dag.retain_edges(|gr, e| !back[gr[e]]);
        let order: Vec<usize> = match petgraph::algo::toposort(&dag, None) {
            Ok(o) => o.into_iter().map(|n| dag[n]).collect(),
            Err(cyc) => {
                let t = dag[cyc.node_id()];
                self.diags.push(
                    Diagnostic::new(
                        Code::UnseededCycle,
                        format!(
                            "ptask `{}` is on a cycle with no seeded port",
                            g.ptasks[t].name.name
                        ),
                    )
                    .primary(g.ptasks[t].name.span, "on a cycle")
                    .help("give one input on the cycle an initial value, e.g. `in state: f32[N] = 0.0;`"),
                );
                Vec::new()
            }
        };

        // Buffers: graph inputs first, then ptask outputs, in declaration order.
        let mut buffers: Vec<Buffer> = Vec::new();
        let mut buffer_of: HashMap<Endpoint, usize> = HashMap::new();
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
        for prod in producers {
            let (ty, ty_span) = match &prod {
                Endpoint::Graph(i) => (&g.ports[*i].ty, g.ports[*i].ty_span),
                Endpoint::Ptask(t, p) => {
                    (&g.ptasks[*t].ports[*p].ty, g.ptasks[*t].ports[*p].ty_span)
                }
            };
            let Some(size) = ty.byte_size(&self.m.structs) else {
                self.diags.push(
                    Diagnostic::new(
                        Code::BufferTooLarge,
                        format!(
                            "`{}` of type {ty} has no computable size",
                            self.ep_name(&prod)
                        ),
                    )
                    .primary(ty_span, "size overflows or names an unknown struct"),
                );
                continue;
            };
            if size > MAX_BUFFER_BYTES {
                self.diags.push(
                    Diagnostic::new(
                        Code::BufferTooLarge,
                        format!(
                            "`{}` needs a {size}-byte buffer; a Vulkan storage buffer holds at most {MAX_BUFFER_BYTES} bytes",
                            self.ep_name(&prod)
                        ),
                    )
                    .primary(ty_span, format!("{size} bytes"))
                    .help("split the data over several ports"),
                );
                continue;
            }
            let consumers: &[usize] = outgoing.get(&prod).map(Vec::as_slice).unwrap_or(&[]);
            let mut role = match prod {
                Endpoint::Graph(_) => BufferRole::Input,
                Endpoint::Ptask(..) => BufferRole::Internal,
            };
            let mut init = None;
            let mut aliases = vec![self.ep_name(&prod)];
            for &ci in consumers {
                let c = &g.channels[ci];
                aliases.push(self.ep_name(&c.to));
                if let Endpoint::Graph(_) = c.to {
                    if role == BufferRole::Internal {
                        role = BufferRole::Output;
                    }
                }
                if back[ci] {
                    role = BufferRole::State;
                }
                if let Some(v) = self.port(&c.to).and_then(|p| p.init) {
                    let v = match ty.elem.scalar() {
                        Some(s) => convert_value(v, s),
                        None => v,
                    };
                    match init {
                        Some(prev) if prev != v => self.diags.push(
                            Diagnostic::new(
                                Code::InvalidValue,
                                format!(
                                    "`{}` feeds two seeded ports with different initial values",
                                    self.ep_name(&prod)
                                ),
                            )
                            .primary(c.to_span, "second initial value"),
                        ),
                        _ => init = Some(v),
                    }
                }
            }
            let slots = match role {
                BufferRole::Input | BufferRole::State => 2,
                BufferRole::Internal | BufferRole::Output => 1,
            };
            buffer_of.insert(prod.clone(), buffers.len());
            buffers.push(Buffer {
                name: self.ep_name(&prod),
                ty: ty.clone(),
                size,
                role,
                slots,
                aliases,
                init,
            });
        }

        // Graph inputs and outputs.
        let mut inputs = Vec::new();
        let mut outputs = Vec::new();
        for (i, p) in g.ports.iter().enumerate() {
            match p.dir {
                GraphPortDir::Input => {
                    if let Some(&b) = buffer_of.get(&Endpoint::Graph(i)) {
                        inputs.push(GraphInput {
                            name: p.name.name.clone(),
                            buffer: b,
                            source: p.source.clone(),
                        });
                    }
                }
                GraphPortDir::Output => {
                    let from = incoming
                        .get(&Endpoint::Graph(i))
                        .map(|&ci| &g.channels[ci].from);
                    match from.and_then(|f| buffer_of.get(f)) {
                        Some(&b) => outputs.push(GraphOutput {
                            name: p.name.name.clone(),
                            buffer: b,
                            sink: p.sink.clone(),
                        }),
                        None if from.is_none() => self.diags.push(
                            Diagnostic::new(
                                Code::UnconnectedInput,
                                format!("graph output `{}` has no incoming channel", p.name.name),
                            )
                            .primary(p.span, "nothing writes this output")
                            .help(format!(
                                "connect a ptask output to it: `PTASK.PORT -> {};`",
                                p.name.name
                            )),
                        ),
                        None => {} // its producer's buffer was rejected above
                    }
                }
            }
        }

        // Pipelines.
        // One module per distinct compiled kernel (ptasks sharing a kernel
        // share its `Arc`'d words).
        let mut module_of: HashMap<*const u32, usize> = HashMap::new();
        let mut modules: Vec<Module> = Vec::new();
        let mut ptasks = Vec::with_capacity(g.ptasks.len());
        let mut req = Requirements::default();
        for (t, pt) in g.ptasks.iter().enumerate() {
            let Some(k) = &self.kernels[t] else {
                self.diags.push(
                    Diagnostic::new(
                        Code::KernelCompile,
                        format!("ptask `{}` has no checked kernel", pt.name.name),
                    )
                    .primary(pt.kernel_span, "this kernel was not compiled"),
                );
                continue;
            };
            let mut bindings = Vec::with_capacity(pt.ports.len());
            for (i, p) in pt.ports.iter().enumerate() {
                let me = Endpoint::Ptask(t, i);
                let buffer = match p.kind {
                    PortKind::Out => buffer_of.get(&me).copied(),
                    PortKind::In | PortKind::Sticky => match incoming.get(&me) {
                        Some(&ci) => buffer_of.get(&g.channels[ci].from).copied(),
                        None => {
                            self.diags.push(
                                Diagnostic::new(
                                    Code::UnconnectedInput,
                                    format!(
                                        "input `{}` of ptask `{}` has no incoming channel",
                                        p.name.name, pt.name.name
                                    ),
                                )
                                .primary(p.span, "nothing feeds this input")
                                .help(format!(
                                    "connect a graph input or a ptask output to it: `SOURCE -> {}.{};`",
                                    pt.name.name, p.name.name
                                )),
                            );
                            None
                        }
                    },
                };
                if let Some(buffer) = buffer {
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
            }
            let mut push_constants = Vec::with_capacity(pt.params.len());
            let mut off = 0u32;
            for p in &pt.params {
                off = round_up(off, p.ty.size());
                push_constants.push(PushConstant {
                    name: p.name.name.clone(),
                    ty: p.ty,
                    offset: off,
                    value: convert_value(p.value, p.ty),
                });
                off += p.ty.size();
            }
            let push_constant_size = round_up(off, 4);
            if push_constant_size > MAX_PUSH_CONSTANT_BYTES {
                let span = pt.params.last().map(|p| p.span).unwrap_or(pt.span);
                self.diags.push(
                    Diagnostic::new(
                        Code::PushConstantMismatch,
                        format!(
                            "the params of ptask `{}` need {push_constant_size} bytes of push constants; ptc allows {MAX_PUSH_CONSTANT_BYTES}",
                            pt.name.name
                        ),
                    )
                    .primary(span, "too many params")
                    .help("pass large parameter sets through a `sticky` input buffer"),
                );
            }
            let Some(workgroups) = self.workgroups(pt, k.local_size) else {
                continue;
            };
            for (m, w) in req.max_workgroups.iter_mut().zip(workgroups) {
                *m = (*m).max(w);
            }
            req.push_constant_bytes = req.push_constant_bytes.max(push_constant_size);
            let f = k.features;
            req.shader_int8 |= f.int8;
            req.shader_int16 |= f.int16;
            req.shader_int64 |= f.int64;
            req.shader_float16 |= f.float16;
            req.shader_float64 |= f.float64;
            req.storage_8bit |= f.storage_8bit;
            req.storage_16bit |= f.storage_16bit;
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
                workgroups,
                priority: pt.priority,
            });
        }

        for b in &buffers {
            req.max_buffer_bytes = req.max_buffer_bytes.max(b.size);
            let (s8, s16) = b.ty.elem.small_scalars(&self.m.structs);
            req.storage_8bit |= s8;
            req.storage_16bit |= s16;
        }

        if !self.diags.is_empty() {
            return Err(self.diags);
        }
        let schedule = schedule(&order, &ptasks);
        let plan = Plan {
            version: PLAN_VERSION,
            graph: g.name.name.clone(),
            priority: g.priority,
            // Informational, and a plan is UTF-8 text: a non-UTF-8 file
            // name is kept lossily rather than making the plan unwritable.
            source: Some(PathBuf::from(self.m.path.to_string_lossy().into_owned())),
            requirements: req,
            structs: self.m.structs.clone(),
            buffers,
            inputs,
            outputs,
            modules,
            ptasks,
            schedule,
        };
        match plan.validate() {
            Ok(_) => Ok(plan),
            Err(e) => Err(vec![Diagnostic::new(
                Code::InvalidPtask,
                format!("internal error: the lowered plan is invalid: {e}"),
            )
            .primary(g.name.span, "while lowering this graph")
            .help("this is a bug in ptc; please report it with the .pt file")]),
        }
    }

    /// Workgroup counts: the `grid` override, else one invocation per element
    /// of the first `out` port (last dim → x, previous → y, the rest folded
    /// into z), divided by the local size, rounded up.
    fn workgroups(&mut self, pt: &ir::Ptask, local: [u32; 3]) -> Option<[u32; 3]> {
        let (grid, span) = match &pt.grid {
            Some((g, s)) => (*g, *s),
            None => {
                let Some(port) = pt
                    .ports
                    .iter()
                    .find(|p| p.kind == PortKind::Out)
                    .or_else(|| pt.ports.first())
                else {
                    self.diags.push(
                        Diagnostic::new(
                            Code::InvalidPtask,
                            format!("ptask `{}` has no ports and no `grid`", pt.name.name),
                        )
                        .primary(pt.name.span, "cannot size its dispatch")
                        .help("add `grid [x, y, z];` to the ptask"),
                    );
                    return None;
                };
                (default_grid(&port.ty.shape), port.ty_span)
            }
        };
        let mut out = [1u32; 3];
        for i in 0..3 {
            let n = grid[i].div_ceil(u64::from(local[i].max(1)));
            match u32::try_from(n) {
                Ok(n) if n > 0 => out[i] = n,
                _ => {
                    self.diags.push(
                        Diagnostic::new(
                            Code::InvalidPtask,
                            format!(
                                "ptask `{}` needs {n} workgroups along {}, which does not fit a dispatch",
                                pt.name.name,
                                ["x", "y", "z"][i]
                            ),
                        )
                        .primary(span, "grid derived from here")
                        .help("use a larger local size, or set a `grid` that covers the data in chunks"),
                    );
                    return None;
                }
            }
        }
        Some(out)
    }
}

/// The default grid of a shape: last dim → x, the one before → y, the
/// product of the rest → z (saturating).
pub fn default_grid(shape: &[u64]) -> [u64; 3] {
    let n = shape.len();
    let x = if n >= 1 { shape[n - 1] } else { 1 };
    let y = if n >= 2 { shape[n - 2] } else { 1 };
    let z = if n >= 3 {
        shape[..n - 2]
            .iter()
            .fold(1u64, |a, &d| a.saturating_mul(d))
    } else {
        1
    };
    [x, y, z]
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
