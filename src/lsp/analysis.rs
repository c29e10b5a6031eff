//! Editor queries over a checked graph ([`ptc_compiler::ir::Module`]) and its source text:
//! what is under the cursor, hover text, go to definition, completion and
//! the document outline. Pure functions, unit-tested without a client.

use ptc_compiler::ir::{Endpoint, GraphPortDir, Module, PortKind, Span};
use ptc_compiler::valid::kernel::{KernelFacts, SpecConstant};
use ptc_plan::spirv::SpecType;
use ptc_plan::types::{round_up, Scalar, Value};
use ptc_plan::{Sink, Source};

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
    /// A struct type, by index into [`Module::structs`].
    Struct(usize),
    /// A `const`, by index into [`Module::consts`].
    Const(usize),
    /// A ptask template, by index into [`Module::templates`].
    Template(usize),
    /// An `import`, by index into [`Module::imports`].
    Import(usize),
    /// A `spec` of a ptask: (ptask index, spec index).
    Spec(usize, usize),
}

/// Where a definition is: a span (in the check's span space: possibly in
/// an imported file) or a whole file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Def {
    Span(Span),
    File(std::path::PathBuf),
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
        for (i, spec) in t.specs.iter().enumerate() {
            if contains(spec.name.span, offset) {
                return Some((Target::Spec(p, i), spec.name.span));
            }
        }
    }
    for (i, imp) in m.imports.iter().enumerate() {
        if contains(imp.path_span, offset) && imp.path_span.end <= text.len() {
            return Some((Target::Import(i), imp.path_span));
        }
    }
    // A struct, template or const name: matched by the word.
    let word = word_at(text, offset)?;
    let name = &text[word.start..word.end];
    if let Some(i) = m.structs.iter().position(|st| st.name == name) {
        return Some((Target::Struct(i), word));
    }
    if let Some(i) = m.templates.iter().position(|t| t.name.name == name) {
        return Some((Target::Template(i), word));
    }
    let i = m.consts.iter().position(|c| c.name.name == name)?;
    Some((Target::Const(i), word))
}

/// The identifier around byte `offset`, if any.
fn word_at(text: &str, offset: usize) -> Option<Span> {
    let bytes = text.as_bytes();
    if offset > bytes.len() {
        return None;
    }
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut start = offset;
    while start > 0 && is_word(bytes[start - 1]) {
        start -= 1;
    }
    let mut end = offset;
    while end < bytes.len() && is_word(bytes[end]) {
        end += 1;
    }
    (start < end).then_some(Span::new(start, end))
}

/// The span of `name` in its `struct name {` declaration.
fn struct_decl(text: &str, name: &str) -> Option<Span> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    for (i, _) in text.match_indices("struct") {
        if text[..i].chars().next_back().is_some_and(is_word) {
            continue;
        }
        let rest = &text[i + "struct".len()..];
        let trimmed = rest.trim_start();
        if trimmed.len() == rest.len() {
            continue; // `structs`, `struct_x`, ...
        }
        if trimmed.starts_with(name) && !trimmed[name.len()..].chars().next().is_some_and(is_word) {
            let start = text.len() - trimmed.len();
            return Some(Span::new(start, start + name.len()));
        }
    }
    None
}

/// The span of the declaring name of `target` (`text` is the module's
/// source, searched for struct declarations, which the IR has no spans for).
pub fn definition(m: &Module, text: &str, target: Target) -> Option<Span> {
    let g = &m.graph;
    Some(match target {
        Target::Struct(i) => struct_decl(text, &m.structs.get(i)?.name)?,
        Target::GraphPort(i) => g.ports.get(i)?.name.span,
        Target::PtaskPort(p, i) => g.ptasks.get(p)?.ports.get(i)?.name.span,
        Target::Param(p, i) => g.ptasks.get(p)?.params.get(i)?.name.span,
        Target::Ptask(p) => g.ptasks.get(p)?.name.span,
        Target::Spec(p, i) => g.ptasks.get(p)?.specs.get(i)?.name.span,
        Target::Const(i) => m.consts.get(i)?.name.span,
        Target::Template(i) => m.templates.get(i)?.name.span,
        Target::Import(_) => return None,
    })
}

/// Where `target` is defined: [`definition`], or the file an import names.
pub fn definition_of(m: &Module, text: &str, target: Target) -> Option<Def> {
    match target {
        Target::Import(i) => m.imports.get(i)?.resolved.clone().map(Def::File),
        _ => definition(m, text, target).map(Def::Span),
    }
}

/// Every place `target` is named: its declaration (if `declaration`) and
/// each channel end that uses it (for a ptask, the ptask part of its ports'
/// channel ends), in source order.
pub fn references(m: &Module, text: &str, target: Target, declaration: bool) -> Vec<Span> {
    let mut out = Vec::new();
    if declaration {
        out.extend(definition(m, text, target));
    }
    for c in &m.graph.channels {
        for (ep, span) in [(&c.from, c.from_span), (&c.to, c.to_span)] {
            let hit = match (target, ep) {
                (Target::GraphPort(i), Endpoint::Graph(j)) => i == *j,
                (Target::PtaskPort(p, i), Endpoint::Ptask(q, j)) => p == *q && i == *j,
                (Target::Ptask(p), Endpoint::Ptask(q, _)) => p == *q,
                _ => false,
            };
            if !hit {
                continue;
            }
            // Re-resolve the span of the part that names the target.
            let probe = match target {
                Target::Ptask(_) => span.start,
                _ => span.end,
            };
            if let Some((_, part)) = target_at(m, text, probe) {
                out.push(part);
            }
        }
    }
    out.sort_by_key(|s| s.start);
    out.dedup();
    out
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

fn source_str(s: &Source) -> Option<String> {
    Some(match s {
        Source::Host => return None,
        Source::Camera { fps: f, script } => {
            let mut args = Vec::new();
            if f.is_some() {
                args.push(fps(*f));
            }
            if let Some(p) = script {
                args.push(format!("script: {:?}", p.display().to_string()));
            }
            format!("camera({})", args.join(", "))
        }
        Source::File { path: p } => format!("file({:?})", p.display().to_string()),
        Source::Random { seed, fps: f } => {
            let mut args = vec![format!("seed: {seed}")];
            if f.is_some() {
                args.push(fps(*f));
            }
            format!("random({})", args.join(", "))
        }
        Source::Zeros { fps: None } => "zeros".into(),
        Source::Zeros { fps: f } => format!("zeros({})", fps(*f)),
        Source::Stdin => "stdin".into(),
    })
}

fn sink_str(s: &Sink) -> Option<String> {
    Some(match s {
        Sink::Host => return None,
        Sink::Stdout => "stdout".into(),
        Sink::File { path: p } => format!("file({:?})", p.display().to_string()),
        Sink::Null => "null".into(),
        Sink::Hid => "hid".into(),
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
        Target::Struct(i) => {
            let st = m.structs.get(i)?;
            let fields: Vec<String> = st
                .fields
                .iter()
                .map(|f| format!("{}: {}", f.name, f.ty))
                .collect();
            format!("struct {} {{ {} }}", st.name, fields.join(", "))
        }
        Target::Spec(p, i) => {
            let spec = g.ptasks.get(p)?.specs.get(i)?;
            format!(
                "spec {}: {} = {}",
                spec.name.name,
                spec.ty,
                value_str(spec.value)
            )
        }
        Target::Const(i) => {
            let c = m.consts.get(i)?;
            match c.value {
                Some(v) => format!("const {} = {v}", c.name.name),
                None => format!("const {}", c.name.name),
            }
        }
        Target::Template(i) => {
            let t = m.templates.get(i)?;
            let params: Vec<String> = t
                .params
                .iter()
                .map(|(n, ty, d)| match d {
                    Some(d) => format!("{}: {ty} = {d}", n.name),
                    None => format!("{}: {ty}", n.name),
                })
                .collect();
            format!("ptask {}({})", t.name.name, params.join(", "))
        }
        Target::Import(i) => format!("import {:?}", m.imports.get(i)?.path),
    })
}

/// Markdown hover text for a target: its declaration, then what it is
/// (kind, owner, binding or push-constant offset, size in bytes).
#[cfg(test)]
pub fn hover(m: &Module, target: Target) -> Option<String> {
    hover_with(m, &[], target)
}

/// A kernel constant in words: `` `WG` (constant_id 0, u32, default 64) ``.
fn spec_constant_str(c: &SpecConstant) -> String {
    let default = match &c.ty {
        SpecType::Scalar(Scalar::F32) => format!("{:?}", f32::from_bits(c.default)),
        SpecType::Scalar(Scalar::I32) => (c.default as i32).to_string(),
        SpecType::Bool => (c.default != 0).to_string(),
        _ => c.default.to_string(),
    };
    let name = match &c.name {
        Some(n) => format!("`{n}`"),
        None => "an unnamed constant".to_string(),
    };
    format!("{name} (constant_id {}, {}, default {default})", c.id, c.ty)
}

/// `hover` with what was reflected of each ptask's kernel (by ptask
/// index; a `spec`'s hover shows the kernel constant it sets).
pub fn hover_with(m: &Module, facts: &[KernelFacts], target: Target) -> Option<String> {
    let g = &m.graph;
    let sig = signature(m, target)?;
    let detail = match target {
        Target::Spec(p, i) => {
            let t = g.ptasks.get(p)?;
            let spec = t.specs.get(i)?;
            let consts = facts.get(p).map(|f| &f.spec_constants);
            let named = consts.and_then(|cs| {
                cs.iter()
                    .find(|c| c.name.as_deref() == Some(spec.name.name.as_str()))
            });
            match (consts, named) {
                (None, _) => format!(
                    "specialization constant of kernel `{}` (not reflected: check with kernels)",
                    t.kernel
                ),
                (Some(_), None) => format!("kernel `{}` has no constant of this name", t.kernel),
                (Some(cs), Some(c)) => {
                    let mut s = format!("sets {} of kernel `{}`", spec_constant_str(c), t.kernel);
                    let others: Vec<String> = cs
                        .iter()
                        .filter(|o| o.id == c.id && o.name != c.name)
                        .map(spec_constant_str)
                        .collect();
                    if !others.is_empty() {
                        s.push_str(&format!(" · also {}", others.join(", ")));
                    }
                    s
                }
            }
        }
        Target::Const(i) => {
            let c = m.consts.get(i)?;
            let value = match c.value {
                Some(v) => format!("= {v}"),
                None => "has an error".to_string(),
            };
            if c.overridden {
                format!("const {value} (set with `--set`)")
            } else {
                format!("const {value}")
            }
        }
        Target::Template(i) => {
            let t = m.templates.get(i)?;
            format!(
                "ptask template with {} parameter{}; instantiate with `ptask NAME = {}(...);`",
                t.params.len(),
                if t.params.len() == 1 { "" } else { "s" },
                t.name.name
            )
        }
        Target::Import(i) => {
            let imp = m.imports.get(i)?;
            match &imp.resolved {
                Some(p) => format!("imports `{}`", p.display()),
                None => "not found".to_string(),
            }
        }
        Target::GraphPort(i) => {
            let gp = g.ports.get(i)?;
            let what = match gp.dir {
                GraphPortDir::Input => match gp.source {
                    Source::Host => "graph input, pushed by the caller",
                    _ => "graph input",
                },
                GraphPortDir::Output => match gp.sink {
                    Sink::Host => "graph output, pulled by the caller",
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
        Target::Struct(i) => {
            let st = m.structs.get(i)?;
            let offsets: Vec<String> = st
                .fields
                .iter()
                .map(|f| format!("`{}` @ {}", f.name, f.offset))
                .collect();
            format!(
                "std430 layout: {} · size {} bytes, align {}",
                offsets.join(", "),
                st.size,
                st.align
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

#[cfg(test)]
mod tests {
    use super::*;
    use ptc_compiler::{check_source, Options};
    use std::path::Path;

    const SRC: &str = "struct Event { kind: u32, x: f32, y: f32, t: f32 }
graph g priority 7 {
    input  cam: u16[4, 8] from camera(fps: 120);
    input  cal: f32[4] from zeros;
    output ev: Event[16] to stdout;
    ptask p {
        kernel \"kernels/none.comp\";
        in     img: u16[4, 8];
        sticky c: f32[4];
        param  a: u32 = 3;
        param  b: f32 = 0.5;
        out    o: Event[16];
    }
    cam -> p . img;
    cal -> p.c;
    p.o -> ev;
}
";

    fn module() -> Module {
        let opts = Options {
            skip_kernels: true,
            ..Options::default()
        };
        let r = check_source(Path::new("g.pt"), SRC.to_string(), &opts);
        r.module
            .unwrap_or_else(|| panic!("no module: {:#?}", r.diagnostics))
    }

    fn offset(needle: &str, nth: usize) -> usize {
        SRC.match_indices(needle)
            .nth(nth)
            .map(|(i, _)| i)
            .expect("needle present")
    }

    #[test]
    fn endpoint_with_spaces_splits_ptask_and_port() {
        let m = module();
        let at = offset("p . img", 0);
        let (t, span) = target_at(&m, SRC, at).expect("ptask part");
        assert_eq!(t, Target::Ptask(0));
        assert_eq!(&SRC[span.start..span.end], "p");
        let (t, span) = target_at(&m, SRC, at + 5).expect("port part");
        assert_eq!(t, Target::PtaskPort(0, 0));
        assert_eq!(&SRC[span.start..span.end], "img");
        let def = definition(&m, SRC, t).expect("declared");
        assert_eq!(def.start, offset("img:", 0));
    }

    #[test]
    fn struct_hover_and_definition_by_name() {
        let m = module();
        let at = offset("Event[16]", 0) + 2;
        let (t, span) = target_at(&m, SRC, at).expect("struct");
        assert_eq!(&SRC[span.start..span.end], "Event");
        let h = hover(&m, t).expect("hover");
        assert!(
            h.contains("struct Event { kind: u32, x: f32, y: f32, t: f32 }"),
            "{h}"
        );
        assert!(h.contains("`t` @ 12 · size 16 bytes, align 4"), "{h}");
        let def = definition(&m, SRC, t).expect("declared");
        assert_eq!(def, Span::new(7, 12));
        // A word that is no struct: nothing.
        assert_eq!(target_at(&m, SRC, offset("priority", 0) + 1), None);
    }

    #[test]
    fn references_of_ports_ptasks_and_graph_ports() {
        let m = module();
        let words = |v: Vec<Span>| -> Vec<(usize, &str)> {
            v.into_iter()
                .map(|s| (s.start, &SRC[s.start..s.end]))
                .collect()
        };
        // Port `img`: its declaration and the `img` of `p . img`.
        let r = references(&m, SRC, Target::PtaskPort(0, 0), true);
        assert_eq!(
            words(r),
            [(offset("img:", 0), "img"), (offset("img;", 0), "img")]
        );
        // Ptask `p` without its declaration: the three channel ends naming it.
        let r = references(&m, SRC, Target::Ptask(0), false);
        assert_eq!(
            words(r),
            [
                (offset("p . img", 0), "p"),
                (offset("p.c", 0), "p"),
                (offset("p.o", 0), "p")
            ]
        );
        // Graph output `ev`.
        let r = references(&m, SRC, Target::GraphPort(2), true);
        assert_eq!(
            words(r),
            [(offset("ev:", 0), "ev"), (offset("ev;", 0), "ev")]
        );
    }

    #[test]
    fn hover_texts() {
        let m = module();
        let h = hover(&m, Target::GraphPort(0)).expect("hover");
        assert!(
            h.contains("input cam: u16[4, 8] from camera(fps: 120)"),
            "{h}"
        );
        assert!(h.contains("64 bytes"), "{h}");
        let h = hover(&m, Target::PtaskPort(0, 1)).expect("hover");
        assert!(h.contains("sticky c: f32[4]"), "{h}");
        assert!(h.contains("binding 1"), "{h}");
        let h = hover(&m, Target::PtaskPort(0, 2)).expect("hover");
        assert!(h.contains("out o: Event[16]"), "{h}");
        assert!(h.contains("256 bytes"), "{h}");
        let h = hover(&m, Target::Param(0, 1)).expect("hover");
        assert!(h.contains("param b: f32 = 0.5"), "{h}");
        assert!(h.contains("offset 4"), "{h}");
        let h = hover(&m, Target::GraphPort(2)).expect("hover");
        assert!(h.contains("output ev: Event[16] to stdout"), "{h}");
    }

    #[test]
    fn completion_after_dot_and_elsewhere() {
        let m = module();
        let text = SRC.replace("    p.o -> ev;", "    p.o -> ev;\n    cal -> p.");
        let after_dot = text.rfind("p.").expect("p.") + 2;
        let c = complete(&m, &text, after_dot);
        let labels: Vec<&str> = c.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(labels, ["img", "c", "o"]);
        assert_eq!(c[1].detail, "sticky f32[4]");
        // With a typed prefix the client filters; the candidates are the same.
        let text2 = format!("{}i", &text[..after_dot]);
        assert_eq!(complete(&m, &text2, text2.len()).len(), 3);
        // Unknown ptask: nothing.
        assert!(complete(&m, "q.", 2).is_empty());
        // Elsewhere: ptasks and graph ports.
        let c = complete(&m, SRC, 0);
        let labels: Vec<&str> = c.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(labels, ["p", "cam", "cal", "ev"]);
    }

    #[test]
    fn outline_nests_ports_and_params_in_source_order() {
        let m = module();
        let s = symbols(&m);
        assert_eq!(s.name, "g");
        let names: Vec<&str> = s.children.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["cam", "cal", "ev", "p"]);
        let p: Vec<&str> = s.children[3]
            .children
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(p, ["img", "c", "a", "b", "o"]);
    }
}
