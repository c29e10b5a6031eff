//! Editor queries over a checked graph ([`ir::Module`]) and its source text:
//! what is under the cursor, hover text, go to definition, completion and
//! the document outline. Pure functions, unit-tested without a client.

use ptc_compiler::ir::{Endpoint, GraphPortDir, Module, PortKind, SinkSpec, SourceSpec, Span};
use ptc_compiler::types::{round_up, Value};

/// A named thing in a graph.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A graph `input`/`output`, by index.
    GraphPort(usize),
    /// A ptask port: (ptask index, port index).
    PtaskPort(usize, usize),
    /// A ptask param: (ptask index, param index).
    Param(usize, usize),
    /// A ptask.
    Ptask(usize),
}

fn contains(span: Span, offset: usize) -> bool {
    span.start <= offset && offset <= span.end
}

/// What is at byte `offset`, and the span of the name there: a channel
/// endpoint (`xform.cloud` → the ptask part or the port part), or the name
/// in a declaration.
pub fn target_at(m: &Module, text: &str, offset: usize) -> Option<(Target, Span)> {
    let g = &m.graph;
    for c in &g.channels {
        for (ep, span) in [(&c.from, c.from_span), (&c.to, c.to_span)] {
            if !contains(span, offset) {
                continue;
            }
            return Some(match *ep {
                Endpoint::Graph(i) => (Target::GraphPort(i), span),
                Endpoint::Ptask(p, port) => {
                    let written = text.get(span.start..span.end).unwrap_or("");
                    match written.find('.') {
                        Some(dot) if offset <= span.start + dot => {
                            let name_end = span.start + written[..dot].trim_end().len();
                            (Target::Ptask(p), Span::new(span.start, name_end))
                        }
                        Some(dot) => {
                            let after = &written[dot + 1..];
                            let lead = after.len() - after.trim_start().len();
                            (
                                Target::PtaskPort(p, port),
                                Span::new(span.start + dot + 1 + lead, span.end),
                            )
                        }
                        None => (Target::PtaskPort(p, port), span),
                    }
                }
            });
        }
    }
    for (i, gp) in g.ports.iter().enumerate() {
        if contains(gp.name.span, offset) {
            return Some((Target::GraphPort(i), gp.name.span));
        }
    }
    for (p, t) in g.ptasks.iter().enumerate() {
        if contains(t.name.span, offset) {
            return Some((Target::Ptask(p), t.name.span));
        }
        for (i, port) in t.ports.iter().enumerate() {
            if contains(port.name.span, offset) {
                return Some((Target::PtaskPort(p, i), port.name.span));
            }
        }
        for (i, param) in t.params.iter().enumerate() {
            if contains(param.name.span, offset) {
                return Some((Target::Param(p, i), param.name.span));
            }
        }
    }
    None
}

/// The span of the declaring name of `target`.
pub fn definition(m: &Module, target: Target) -> Option<Span> {
    let g = &m.graph;
    Some(match target {
        Target::GraphPort(i) => g.ports.get(i)?.name.span,
        Target::PtaskPort(p, i) => g.ptasks.get(p)?.ports.get(i)?.name.span,
        Target::Param(p, i) => g.ptasks.get(p)?.params.get(i)?.name.span,
        Target::Ptask(p) => g.ptasks.get(p)?.name.span,
    })
}

/// The keyword of a ptask port kind.
pub fn kind_str(k: PortKind) -> &'static str {
    match k {
        PortKind::In => "in",
        PortKind::Sticky => "sticky",
        PortKind::Out => "out",
    }
}

fn value_str(v: Value) -> String {
    match v {
        Value::U32(x) => x.to_string(),
        Value::I32(x) => x.to_string(),
        Value::F32(x) => format!("{x:?}"),
    }
}

fn fps(f: Option<f32>) -> String {
    f.map(|f| format!("fps: {f}")).unwrap_or_default()
}

fn source_str(s: &SourceSpec) -> Option<String> {
    Some(match s {
        SourceSpec::Host => return None,
        SourceSpec::Camera { fps: f, script } => {
            let mut args = Vec::new();
            if f.is_some() {
                args.push(fps(*f));
            }
            if let Some(p) = script {
                args.push(format!("script: {:?}", p.display().to_string()));
            }
            format!("camera({})", args.join(", "))
        }
        SourceSpec::File(p) => format!("file({:?})", p.display().to_string()),
        SourceSpec::Random { seed, fps: f } => {
            let mut args = vec![format!("seed: {seed}")];
            if f.is_some() {
                args.push(fps(*f));
            }
            format!("random({})", args.join(", "))
        }
        SourceSpec::Zeros { fps: None } => "zeros".into(),
        SourceSpec::Zeros { fps: f } => format!("zeros({})", fps(*f)),
        SourceSpec::Stdin => "stdin".into(),
    })
}

fn sink_str(s: &SinkSpec) -> Option<String> {
    Some(match s {
        SinkSpec::Host => return None,
        SinkSpec::Stdout => "stdout".into(),
        SinkSpec::File(p) => format!("file({:?})", p.display().to_string()),
        SinkSpec::Null => "null".into(),
        SinkSpec::Hid => "hid".into(),
    })
}

fn bytes_str(n: Option<u64>) -> String {
    match n {
        Some(n) => format!("{n} bytes"),
        None => "size unknown".into(),
    }
}

/// A one-line signature of a target, as it would be declared.
pub fn signature(m: &Module, target: Target) -> Option<String> {
    let g = &m.graph;
    Some(match target {
        Target::GraphPort(i) => {
            let gp = g.ports.get(i)?;
            let (kw, ext) = match gp.dir {
                GraphPortDir::Input => (
                    "input",
                    source_str(&gp.source).map(|s| format!(" from {s}")),
                ),
                GraphPortDir::Output => ("output", sink_str(&gp.sink).map(|s| format!(" to {s}"))),
            };
            format!(
                "{kw} {}: {}{}",
                gp.name.name,
                gp.ty,
                ext.unwrap_or_default()
            )
        }
        Target::PtaskPort(p, i) => {
            let port = g.ptasks.get(p)?.ports.get(i)?;
            let init = port
                .init
                .map(|v| format!(" = {}", value_str(v)))
                .unwrap_or_default();
            format!(
                "{} {}: {}{init}",
                kind_str(port.kind),
                port.name.name,
                port.ty
            )
        }
        Target::Param(p, i) => {
            let param = g.ptasks.get(p)?.params.get(i)?;
            format!(
                "param {}: {} = {}",
                param.name.name,
                param.ty,
                value_str(param.value)
            )
        }
        Target::Ptask(p) => {
            let t = g.ptasks.get(p)?;
            format!("ptask {} {{ kernel {:?}; }}", t.name.name, t.kernel)
        }
    })
}

/// Markdown hover text for a target: its declaration, then what it is
/// (kind, owner, binding or push-constant offset, size in bytes).
pub fn hover(m: &Module, target: Target) -> Option<String> {
    let g = &m.graph;
    let sig = signature(m, target)?;
    let detail = match target {
        Target::GraphPort(i) => {
            let gp = g.ports.get(i)?;
            let what = match gp.dir {
                GraphPortDir::Input => match gp.source {
                    SourceSpec::Host => "graph input, pushed by the caller",
                    _ => "graph input",
                },
                GraphPortDir::Output => match gp.sink {
                    SinkSpec::Host => "graph output, pulled by the caller",
                    _ => "graph output",
                },
            };
            format!(
                "{what} of `{}` · {}",
                g.name.name,
                bytes_str(gp.ty.byte_size(&m.structs))
            )
        }
        Target::PtaskPort(p, i) => {
            let t = g.ptasks.get(p)?;
            let port = t.ports.get(i)?;
            let what = match port.kind {
                PortKind::In => "input port",
                PortKind::Sticky => "sticky input port (keeps its last value)",
                PortKind::Out => "output port",
            };
            format!(
                "{what} of ptask `{}` · binding {i} · {}",
                t.name.name,
                bytes_str(port.ty.byte_size(&m.structs))
            )
        }
        Target::Param(p, i) => {
            let t = g.ptasks.get(p)?;
            let mut offset = 0u32;
            for param in &t.params[..i] {
                offset = round_up(offset, param.ty.size()) + param.ty.size();
            }
            let param = t.params.get(i)?;
            let offset = round_up(offset, param.ty.size());
            format!(
                "push constant of ptask `{}` · offset {offset} · {} bytes",
                t.name.name,
                param.ty.size()
            )
        }
        Target::Ptask(p) => {
            let t = g.ptasks.get(p)?;
            let resolved = match &t.kernel_path {
                Some(path) => format!("kernel `{}`", path.display()),
                None => format!("kernel `{}` (not found)", t.kernel),
            };
            let ins = t.ports.iter().filter(|p| p.kind != PortKind::Out).count();
            let outs = t.ports.len() - ins;
            format!(
                "ptask of `{}` · {resolved} · {ins} in, {outs} out, {} params",
                g.name.name,
                t.params.len()
            )
        }
    };
    Some(format!("```ptask\n{sig}\n```\n{detail}"))
}

/// One completion candidate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub label: String,
    /// e.g. `in f32[1048576]`.
    pub detail: String,
    pub kind: CandidateKind,
}

/// What a completion candidate names.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CandidateKind {
    Port,
    Ptask,
    GraphPort,
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Completion at byte `offset` of `text`: after `name.` the ports of ptask
/// `name` (looked up by name, so a module from an earlier version of the
/// text works while the current one does not parse); otherwise the graph's
/// ptasks and ports.
pub fn complete(m: &Module, text: &str, offset: usize) -> Vec<Candidate> {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let prefix_start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_ident(*c))
        .last()
        .map(|(i, _)| i)
        .unwrap_or(before.len());
    let head = before[..prefix_start].trim_end();
    let g = &m.graph;
    if let Some(head) = head.strip_suffix('.') {
        let head = head.trim_end();
        let name_start = head
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_ident(*c))
            .last()
            .map(|(i, _)| i)
            .unwrap_or(head.len());
        let name = &head[name_start..];
        let Some(t) = g.ptasks.iter().find(|t| t.name.name == name) else {
            return Vec::new();
        };
        return t
            .ports
            .iter()
            .map(|p| Candidate {
                label: p.name.name.clone(),
                detail: format!("{} {}", kind_str(p.kind), p.ty),
                kind: CandidateKind::Port,
            })
            .collect();
    }
    let mut out: Vec<Candidate> = g
        .ptasks
        .iter()
        .map(|t| Candidate {
            label: t.name.name.clone(),
            detail: format!("ptask ({})", t.kernel),
            kind: CandidateKind::Ptask,
        })
        .collect();
    out.extend(g.ports.iter().map(|gp| Candidate {
        label: gp.name.name.clone(),
        detail: format!(
            "{} {}",
            match gp.dir {
                GraphPortDir::Input => "input",
                GraphPortDir::Output => "output",
            },
            gp.ty
        ),
        kind: CandidateKind::GraphPort,
    }));
    out
}

/// A node of the document outline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Symbol {
    pub name: String,
    pub detail: String,
    pub kind: SymbolKind,
    /// The whole declaration.
    pub span: Span,
    /// The name.
    pub name_span: Span,
    pub children: Vec<Symbol>,
}

/// What an outline node is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SymbolKind {
    Graph,
    GraphPort,
    Ptask,
    Port,
    Param,
}

/// The outline: graph → its inputs/outputs and ptasks → ports and params.
pub fn symbols(m: &Module) -> Symbol {
    let g = &m.graph;
    let mut children: Vec<Symbol> = g
        .ports
        .iter()
        .enumerate()
        .map(|(i, gp)| Symbol {
            name: gp.name.name.clone(),
            detail: signature(m, Target::GraphPort(i)).unwrap_or_default(),
            kind: SymbolKind::GraphPort,
            span: gp.span,
            name_span: gp.name.span,
            children: Vec::new(),
        })
        .collect();
    for t in &g.ptasks {
        let mut kids: Vec<Symbol> = t
            .ports
            .iter()
            .map(|p| Symbol {
                name: p.name.name.clone(),
                detail: format!("{} {}", kind_str(p.kind), p.ty),
                kind: SymbolKind::Port,
                span: p.span,
                name_span: p.name.span,
                children: Vec::new(),
            })
            .collect();
        kids.extend(t.params.iter().map(|p| Symbol {
            name: p.name.name.clone(),
            detail: format!("param {} = {}", p.ty, value_str(p.value)),
            kind: SymbolKind::Param,
            span: p.span,
            name_span: p.name.span,
            children: Vec::new(),
        }));
        kids.sort_by_key(|s| s.span.start);
        children.push(Symbol {
            name: t.name.name.clone(),
            detail: t.kernel.clone(),
            kind: SymbolKind::Ptask,
            span: t.span,
            name_span: t.name.span,
            children: kids,
        });
    }
    children.sort_by_key(|s| s.span.start);
    Symbol {
        name: g.name.name.clone(),
        detail: format!("graph, priority {}", g.priority),
        kind: SymbolKind::Graph,
        span: g.span,
        name_span: g.name.span,
        children,
    }
}
