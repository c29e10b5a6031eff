//! Resolves names, types and shapes; enforces the graph rules of design.md.
//!
//! Input: the AST from [`crate::front::parse`]. Output: an [`ir::Module`]
//! (whenever the file has a graph, even one with errors, so that tools like
//! the language server can still navigate it) and every diagnostic found.
//! Each rule reports its own [`Code`]; the checker keeps going after an error
//! so that a file's problems are all reported at once, and avoids follow-on
//! noise (an unknown name is reported once, not again as an unconnected port).

use crate::diag::{Code, Diagnostic};
use crate::front::ast::{self, ClauseKind, ElemExpr, Lit, Num, TypeExpr};
use crate::ir::{
    self, Channel, Endpoint, GraphPort, GraphPortDir, Ident, Param, Port, PortKind, Ptask, Span,
};
use crate::valid::suggest;
use crate::Options;
use petgraph::graph::{DiGraph, NodeIndex};
use ptc_plan::types::{ElemType, PortType, Scalar, StructLayout, Value};
use ptc_plan::{Sink, Source, MAX_BUFFER_BYTES};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Default graph and ptask priority.
pub const DEFAULT_PRIORITY: u32 = 50;

/// Parses and checks `source`; returns the module if the file has a graph
/// (it may still carry errors) and every diagnostic found.
pub fn check(path: &Path, source: &str, opts: &Options) -> (Option<ir::Module>, Vec<Diagnostic>) {
    let parsed = crate::front::parse(source);
    let syntax_errors = !parsed.diagnostics.is_empty();
    let mut cx = Checker {
        path,
        opts,
        diags: parsed.diagnostics,
        structs: Vec::new(),
        struct_spans: HashMap::new(),
        broken_structs: HashSet::new(),
        kernel_cache: HashMap::new(),
        suggest_budget: std::cell::Cell::new(200),
        noisy: HashSet::new(),
    };
    let module = cx.module(&parsed.file, syntax_errors);
    (module, cx.diags)
}

/// A number literal's value.
#[derive(Copy, Clone, Debug)]
enum NumVal {
    Int(i128),
    Float(f64),
}

fn parse_num(text: &str) -> Option<NumVal> {
    let t: String = text.chars().filter(|c| *c != '_').collect();
    if t.contains(['.', 'e', 'E']) {
        t.parse::<f64>().ok().map(NumVal::Float)
    } else {
        match t.parse::<i128>() {
            Ok(v) => Some(NumVal::Int(v)),
            // More digits than i128 holds: still a number, just huge.
            Err(_) => t.parse::<f64>().ok().map(NumVal::Float),
        }
    }
}

/// What an argument of a source or sink must be.
#[derive(Copy, Clone, PartialEq, Eq)]
enum ArgKind {
    Num,
    Str,
}

struct ArgSpec {
    name: &'static str,
    kind: ArgKind,
    required: bool,
    /// May be written without `name:` (only the first such one).
    positional: bool,
}

const SOURCES: &[&str] = &["camera", "file", "random", "zeros", "stdin"];
const SINKS: &[&str] = &["stdout", "file", "null", "hid"];

struct Checker<'a> {
    path: &'a Path,
    opts: &'a Options,
    diags: Vec<Diagnostic>,
    structs: Vec<StructLayout>,
    struct_spans: HashMap<String, Span>,
    /// Structs declared with errors: their uses are not reported again.
    broken_structs: HashSet<String>,
    kernel_cache: HashMap<String, Result<PathBuf, Vec<PathBuf>>>,
    /// "Did you mean" searches left: each costs a pass over the candidates,
    /// so a file with thousands of unknown names stays linear.
    suggest_budget: std::cell::Cell<usize>,
    /// Endpoints whose declaration already has an error: the flow rules
    /// (unconnected, unread, unused) say nothing more about them.
    noisy: HashSet<Endpoint>,
}

/// What a graph-scope name refers to.
#[derive(Copy, Clone)]
enum GraphName {
    Port(usize),
    Ptask(usize),
}

impl Checker<'_> {
    fn suggest<'c>(
        &self,
        name: &str,
        candidates: impl IntoIterator<Item = &'c str>,
    ) -> Option<String> {
        let left = self.suggest_budget.get();
        if left == 0 {
            return None;
        }
        self.suggest_budget.set(left - 1);
        suggest(name, candidates).map(str::to_string)
    }

    fn emit(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn module(&mut self, file: &ast::File, syntax_errors: bool) -> Option<ir::Module> {
        self.structs(&file.structs);
        let Some(g) = file.graphs.first() else {
            if !syntax_errors {
                let end = Span::new(0, 0);
                self.emit(
                    Diagnostic::new(Code::GraphCount, "this file has no graph")
                        .primary(end, "expected `graph NAME { ... }`")
                        .help("a .pt file holds one `graph NAME { ... }`; see graphs/saxpy2.pt"),
                );
            }
            return None;
        };
        for extra in &file.graphs[1..] {
            self.emit(
                Diagnostic::new(
                    Code::GraphCount,
                    format!(
                        "a file holds one graph; `{}` is a second one",
                        extra.name.name
                    ),
                )
                .primary(extra.name.span, "second graph")
                .secondary(g.name.span, "the first graph is here")
                .help("move each graph to its own .pt file"),
            );
        }
        let graph = self.graph(g);
        Some(ir::Module {
            path: self.path.to_path_buf(),
            structs: self.structs.clone(),
            graph,
        })
    }

    // ---------------------------------------------------------------- structs

    fn structs(&mut self, decls: &[ast::StructDecl]) {
        for s in decls {
            let name = &s.name.name;
            if Scalar::from_name(name).is_some() || is_vec_name(name) {
                self.emit(
                    Diagnostic::new(
                        Code::DuplicateName,
                        format!("`{name}` is a built-in type and cannot be redeclared"),
                    )
                    .primary(s.name.span, "built-in type name")
                    .help("pick another name for the struct"),
                );
                continue;
            }
            if let Some(first) = self.struct_spans.get(name) {
                let first = *first;
                self.emit(
                    Diagnostic::new(
                        Code::DuplicateName,
                        format!("struct `{name}` is declared twice"),
                    )
                    .primary(s.name.span, "declared again here")
                    .secondary(first, "first declared here"),
                );
                continue;
            }
            self.struct_spans.insert(name.clone(), s.name.span);
        }
        let declared: HashSet<String> = self.struct_spans.keys().cloned().collect();
        for s in decls {
            if self
                .struct_spans
                .get(&s.name.name)
                .is_none_or(|sp| *sp != s.name.span)
            {
                continue;
            }
            let mut ok = true;
            let mut seen: HashMap<&str, Span> = HashMap::new();
            let mut fields = Vec::new();
            if s.fields.is_empty() {
                ok = false;
                self.emit(
                    Diagnostic::new(
                        Code::InvalidType,
                        format!("struct `{}` has no fields", s.name.name),
                    )
                    .primary(s.span, "empty struct")
                    .help("give it at least one field, e.g. `x: f32`"),
                );
            }
            for f in &s.fields {
                if let Some(first) = seen.get(f.name.name.as_str()) {
                    let first = *first;
                    ok = false;
                    self.emit(
                        Diagnostic::new(
                            Code::DuplicateName,
                            format!(
                                "field `{}` is declared twice in struct `{}`",
                                f.name.name, s.name.name
                            ),
                        )
                        .primary(f.name.span, "declared again here")
                        .secondary(first, "first declared here"),
                    );
                    continue;
                }
                seen.insert(&f.name.name, f.name.span);
                if let Some((_, shape_span)) = &f.ty.shape {
                    ok = false;
                    self.emit(
                        Diagnostic::new(
                            Code::InvalidType,
                            format!("struct field `{}` cannot be an array", f.name.name),
                        )
                        .primary(*shape_span, "arrays are not allowed in structs")
                        .help("fields are scalars or vectors, e.g. `x: f32` or `p: vec4<f32>`"),
                    );
                    continue;
                }
                if let ElemExpr::Named(n) = &f.ty.elem {
                    if declared.contains(&n.name) {
                        ok = false;
                        self.emit(
                            Diagnostic::new(
                                Code::InvalidType,
                                format!(
                                    "struct field `{}` cannot be a struct (`{}`)",
                                    f.name.name, n.name
                                ),
                            )
                            .primary(n.span, "a struct inside a struct")
                            .help("nested structs are not supported; inline the fields"),
                        );
                        continue;
                    }
                }
                match self.elem(&f.ty.elem, false) {
                    Some(t) => fields.push((f.name.name.clone(), t)),
                    None => ok = false,
                }
            }
            if !ok {
                self.broken_structs.insert(s.name.name.clone());
                continue;
            }
            if let Some(l) = StructLayout::std430(&s.name.name, &fields) {
                self.structs.push(l);
            }
        }
    }

    // ------------------------------------------------------------------ types

    /// Resolves an element type. `structs_ok`: struct names are allowed.
    fn elem(&mut self, e: &ElemExpr, structs_ok: bool) -> Option<ElemType> {
        match e {
            ElemExpr::Named(n) => {
                if let Some(s) = Scalar::from_name(&n.name) {
                    return Some(ElemType::Scalar(s));
                }
                if structs_ok && self.struct_spans.contains_key(&n.name) {
                    if self.broken_structs.contains(&n.name) {
                        return None;
                    }
                    return Some(ElemType::Struct(n.name.clone()));
                }
                let mut d =
                    Diagnostic::new(Code::UnknownType, format!("unknown type `{}`", n.name))
                        .primary(n.span, "not a scalar, vector or struct");
                let scalars = ["u8", "u16", "u32", "i32", "f32"];
                let mut cands: Vec<&str> = scalars.to_vec();
                if structs_ok {
                    cands.extend(self.struct_spans.keys().map(String::as_str));
                }
                if is_vec_name(&n.name) {
                    d = d.help(format!(
                        "vectors are written with a component type: `{}<f32>`",
                        n.name
                    ));
                } else if let Some(s) = self.suggest(&n.name, cands.iter().copied()) {
                    d = d.help(format!("did you mean `{s}`?"));
                } else {
                    d = d.help("types are u8, u16, u32, i32, f32, vec2/3/4<f32|u32|i32> or a declared struct");
                }
                self.emit(d);
                None
            }
            ElemExpr::Vector { n, scalar, span } => {
                let count = n.text.parse::<u8>().ok().filter(|c| (2..=4).contains(c));
                let comp = match Scalar::from_name(&scalar.name) {
                    Some(s @ (Scalar::F32 | Scalar::U32 | Scalar::I32)) => Some(s),
                    Some(other) => {
                        self.emit(
                            Diagnostic::new(
                                Code::InvalidType,
                                format!("vector components cannot be `{other}`"),
                            )
                            .primary(scalar.span, "not a vector component type")
                            .help("vector components are f32, u32 or i32"),
                        );
                        None
                    }
                    None => {
                        let mut d = Diagnostic::new(
                            Code::InvalidType,
                            format!("unknown vector component type `{}`", scalar.name),
                        )
                        .primary(scalar.span, "not f32, u32 or i32");
                        if let Some(s) = self.suggest(&scalar.name, ["f32", "u32", "i32"]) {
                            d = d.help(format!("did you mean `{s}`?"));
                        } else {
                            d = d.help("vector components are f32, u32 or i32");
                        }
                        self.emit(d);
                        None
                    }
                };
                if count.is_none() {
                    self.emit(
                        Diagnostic::new(
                            Code::InvalidType,
                            format!("`vec{}` is not a vector type", n.text),
                        )
                        .primary(*span, "vectors have 2, 3 or 4 components")
                        .help("use vec2, vec3 or vec4, or an array such as `f32[8]`"),
                    );
                }
                Some(ElemType::Vector {
                    n: count?,
                    scalar: comp?,
                })
            }
        }
    }

    /// Resolves a port type (element and shape; no shape means `[1]`) and
    /// checks its buffer size. `None` if it is invalid (reported).
    fn port_type(&mut self, t: &TypeExpr, what: &str) -> Option<PortType> {
        let elem = self.elem(&t.elem, true);
        let shape = match &t.shape {
            None => Some(vec![1]),
            Some((dims, span)) => self.shape(dims, *span),
        };
        let ty = PortType {
            elem: elem?,
            shape: shape?,
        };
        match ty.byte_size(&self.structs) {
            None => {
                self.emit(
                    Diagnostic::new(
                        Code::InvalidShape,
                        format!("{what} is too large: its size in bytes overflows"),
                    )
                    .primary(t.span, "too many elements"),
                );
                None
            }
            Some(bytes) if bytes > MAX_BUFFER_BYTES => {
                self.emit(
                    Diagnostic::new(
                        Code::BufferTooLarge,
                        format!(
                            "{what} needs a {} buffer; a storage buffer holds at most {}",
                            human_bytes(bytes),
                            human_bytes(MAX_BUFFER_BYTES)
                        ),
                    )
                    .primary(t.span, format!("{bytes} bytes"))
                    .help("128 MiB is maxStorageBufferRange on lavapipe (the CPU driver ptc tests on); split the data across several ports"),
                );
                None
            }
            Some(_) => Some(ty),
        }
    }

    fn shape(&mut self, dims: &[Num], span: Span) -> Option<Vec<u64>> {
        if dims.is_empty() {
            self.emit(
                Diagnostic::new(
                    Code::InvalidShape,
                    "an array shape needs at least one dimension",
                )
                .primary(span, "empty shape")
                .help("write the dimensions, e.g. `f32[16]` or `u16[480, 640]`"),
            );
            return None;
        }
        let mut out = Vec::with_capacity(dims.len());
        let mut ok = true;
        for d in dims {
            match parse_num(&d.text) {
                Some(NumVal::Int(v)) if v > 0 && v <= i128::from(u64::MAX) => out.push(v as u64),
                Some(NumVal::Int(0)) => {
                    ok = false;
                    self.emit(
                        Diagnostic::new(Code::InvalidShape, "an array dimension cannot be zero")
                            .primary(d.span, "zero")
                            .help("every dimension is at least 1"),
                    );
                }
                _ => {
                    ok = false;
                    self.emit(
                        Diagnostic::new(
                            Code::InvalidShape,
                            format!("`{}` is not a valid array dimension", d.text),
                        )
                        .primary(d.span, "expected a positive whole number")
                        .help("dimensions are whole numbers from 1 up, e.g. `f32[480, 640]`"),
                    );
                }
            }
        }
        ok.then_some(out)
    }

    /// Converts a literal to a value of scalar type `s`.
    fn value(&mut self, n: &Num, s: Scalar, what: &str) -> Option<Value> {
        let bad = |msg: String, label: &str| {
            Diagnostic::new(Code::InvalidValue, msg).primary(n.span, label.to_string())
        };
        let v = match parse_num(&n.text) {
            Some(v) => v,
            None => {
                self.emit(bad(format!("`{}` is not a number", n.text), "not a number"));
                return None;
            }
        };
        let out = match (s, v) {
            (Scalar::F32, NumVal::Int(i)) if (i as f64).abs() <= f64::from(f32::MAX) => {
                Some(Value::F32(i as f32))
            }
            (Scalar::F32, NumVal::Float(f)) if f.is_finite() && f.abs() <= f64::from(f32::MAX) => {
                Some(Value::F32(f as f32))
            }
            (Scalar::F32, _) => {
                self.emit(bad(
                    format!("`{}` does not fit in an f32 ({what})", n.text),
                    "out of range for f32",
                ));
                None
            }
            (Scalar::I32, NumVal::Int(i)) if i32::try_from(i).is_ok() => Some(Value::I32(i as i32)),
            (int @ (Scalar::U8 | Scalar::U16 | Scalar::U32), NumVal::Int(i)) => {
                let max: i128 = match int {
                    Scalar::U8 => 0xff,
                    Scalar::U16 => 0xffff,
                    _ => 0xffff_ffff,
                };
                if (0..=max).contains(&i) {
                    Some(Value::U32(i as u32))
                } else {
                    self.emit(
                        bad(
                            format!("`{}` does not fit in a {int} ({what})", n.text),
                            &format!("out of range for {int}"),
                        )
                        .help(format!("a {int} holds 0 to {max}")),
                    );
                    None
                }
            }
            (Scalar::I32, NumVal::Int(_)) => {
                self.emit(
                    bad(
                        format!("`{}` does not fit in an i32 ({what})", n.text),
                        "out of range for i32",
                    )
                    .help("an i32 holds -2147483648 to 2147483647"),
                );
                None
            }
            (int, NumVal::Float(_)) => {
                self.emit(
                    bad(
                        format!(
                            "`{}` is not a whole number, but {what} is {} {int}",
                            n.text,
                            if int.name().starts_with('u') {
                                "a"
                            } else {
                                "an"
                            }
                        ),
                        "not a whole number",
                    )
                    .help("write a whole number, or make it an f32"),
                );
                None
            }
        };
        out
    }

    /// An integer 1..=100 priority.
    fn priority(&mut self, n: &Num) -> Option<u32> {
        match parse_num(&n.text) {
            Some(NumVal::Int(v)) if (1..=100).contains(&v) => Some(v as u32),
            _ => {
                self.emit(
                    Diagnostic::new(
                        Code::InvalidPriority,
                        format!("priority `{}` is out of range", n.text),
                    )
                    .primary(n.span, "expected a whole number from 1 to 100")
                    .help("priorities run from 1 (lowest) to 100 (highest); the default is 50"),
                );
                None
            }
        }
    }

    // ------------------------------------------------------------------ graph

    fn graph(&mut self, g: &ast::GraphDecl) -> ir::Graph {
        let priority = g
            .priority
            .as_ref()
            .and_then(|n| self.priority(n))
            .unwrap_or(DEFAULT_PRIORITY);

        // One namespace for graph ports and ptasks.
        let mut names: HashMap<&str, (GraphName, Span)> = HashMap::new();
        let mut ports = Vec::with_capacity(g.ports.len());
        for (i, p) in g.ports.iter().enumerate() {
            let before = self.diags.len();
            if let Some((_, first)) = names.get(p.name.name.as_str()) {
                let first = *first;
                self.dup(&p.name, first);
            } else {
                names.insert(&p.name.name, (GraphName::Port(i), p.name.span));
            }
            let port = self.graph_port(p);
            let failed = is_placeholder(&port.ty);
            ports.push(port);
            if self.diags.len() > before || failed {
                self.noisy.insert(Endpoint::Graph(i));
            }
        }
        let mut ptasks = Vec::with_capacity(g.ptasks.len());
        for (i, t) in g.ptasks.iter().enumerate() {
            let dup = if let Some((_, first)) = names.get(t.name.name.as_str()) {
                let first = *first;
                self.dup(&t.name, first);
                true
            } else {
                names.insert(&t.name.name, (GraphName::Ptask(i), t.name.span));
                false
            };
            ptasks.push(self.ptask(i, t));
            if dup {
                // Channels name the first ptask of that name; this one's
                // ports cannot be connected.
                for p in 0..t.ports.len() {
                    self.noisy.insert(Endpoint::Ptask(i, p));
                }
            }
        }

        let mut flow = Flow::new(&ports, &ptasks);
        let mut channels = Vec::with_capacity(g.channels.len());
        for c in &g.channels {
            let from = self.endpoint(c, &c.from, &names, g, &ports, &ptasks, true);
            let to = self.endpoint(c, &c.to, &names, g, &ports, &ptasks, false);
            // An end that did not resolve still names something: keep the
            // flow rules quiet about it.
            for (end, r) in [(&from, &c.from), (&to, &c.to)] {
                if end.is_none() {
                    match names.get(r.first.name.as_str()) {
                        Some((GraphName::Port(i), _)) => {
                            flow.touched.insert(Endpoint::Graph(*i));
                        }
                        Some((GraphName::Ptask(t), _)) => {
                            for p in 0..ptasks[*t].ports.len() {
                                flow.touched.insert(Endpoint::Ptask(*t, p));
                            }
                        }
                        None => {}
                    }
                }
            }
            match (from, to) {
                (Some(from), Some(to)) => {
                    flow.read(&from);
                    self.channel_types(c, &from, &to, &ports, &ptasks);
                    if let Some(first) = flow.write(&to, c.to.span, Some(&from)) {
                        self.emit(
                            Diagnostic::new(
                                Code::MultipleWriters,
                                format!("`{}` has more than one incoming channel", c.to.text()),
                            )
                            .primary(c.to.span, "second writer")
                            .secondary(first, "first writer")
                            .help("an input reads from exactly one channel; an output may fan out to several inputs"),
                        );
                    }
                    channels.push(Channel {
                        from,
                        to,
                        from_span: c.from.span,
                        to_span: c.to.span,
                        span: c.span,
                    });
                }
                // Half-resolved channels still count, so that the other end
                // is not reported as unconnected as well.
                (Some(from), None) => flow.read(&from),
                (None, Some(to)) => {
                    flow.write(&to, c.to.span, None);
                }
                (None, None) => {}
            }
        }

        let graph = ir::Graph {
            name: g.name.clone(),
            priority,
            ports,
            ptasks,
            channels,
            span: g.span,
        };
        if !g.body_errors && !g.ptasks.iter().any(|t| t.body_errors) {
            self.flow_rules(&graph, &flow);
        }
        graph
    }

    fn dup(&mut self, name: &Ident, first: Span) {
        self.emit(
            Diagnostic::new(
                Code::DuplicateName,
                format!("the name `{}` is declared twice", name.name),
            )
            .primary(name.span, "declared again here")
            .secondary(first, "first declared here")
            .help("names are unique within a graph (graph ports and ptasks) and within a ptask (ports and params)"),
        );
    }

    fn graph_port(&mut self, p: &ast::GraphPortDecl) -> GraphPort {
        let what = match p.dir {
            GraphPortDir::Input => format!("input `{}`", p.name.name),
            GraphPortDir::Output => format!("output `{}`", p.name.name),
        };
        let ty = self.port_type(&p.ty, &what);
        let mut source = Source::Host;
        let mut sink = Sink::Host;
        if let Some(c) = &p.clause {
            match (p.dir, c.kind) {
                (GraphPortDir::Input, ClauseKind::From) => {
                    source = self.source(c).unwrap_or(Source::Host)
                }
                (GraphPortDir::Output, ClauseKind::To) => sink = self.sink(c).unwrap_or(Sink::Host),
                (GraphPortDir::Input, ClauseKind::To) => self.emit(
                    Diagnostic::new(
                        Code::InvalidEndpoint,
                        format!("input `{}` cannot have a sink", p.name.name),
                    )
                    .primary(c.kind_span, "`to` is for outputs")
                    .help(format!(
                        "an input reads `from` a source: `input {}: ... from {}`",
                        p.name.name, c.name.name
                    )),
                ),
                (GraphPortDir::Output, ClauseKind::From) => self.emit(
                    Diagnostic::new(
                        Code::InvalidEndpoint,
                        format!("output `{}` cannot have a source", p.name.name),
                    )
                    .primary(c.kind_span, "`from` is for inputs")
                    .help(format!(
                        "an output writes `to` a sink: `output {}: ... to {}`",
                        p.name.name, c.name.name
                    )),
                ),
            }
        }
        GraphPort {
            name: p.name.clone(),
            dir: p.dir,
            ty: ty.unwrap_or_else(|| placeholder(&p.ty)),
            ty_span: p.ty.span,
            source,
            sink,
            span: p.span,
        }
    }

    /// Validates the arguments of a source/sink against `specs`.
    fn args<'c>(
        &mut self,
        c: &'c ast::Clause,
        specs: &[ArgSpec],
    ) -> Option<HashMap<&'static str, &'c Lit>> {
        let mut out: HashMap<&'static str, &Lit> = HashMap::new();
        let mut ok = true;
        let what = &c.name.name;
        let list: &[ast::Arg] = c.args.as_ref().map(|(a, _)| a.as_slice()).unwrap_or(&[]);
        for a in list {
            let spec = match &a.name {
                Some(n) => match specs.iter().find(|s| s.name == n.name) {
                    Some(s) => s,
                    None => {
                        ok = false;
                        let mut d = Diagnostic::new(
                            Code::InvalidEndpoint,
                            format!("`{what}` has no argument `{}`", n.name),
                        )
                        .primary(n.span, "unknown argument");
                        let names: Vec<&str> = specs.iter().map(|s| s.name).collect();
                        d = match self.suggest(&n.name, names.iter().copied()) {
                            Some(s) => d.help(format!("did you mean `{s}`?")),
                            None if names.is_empty() => {
                                d.help(format!("`{what}` takes no arguments"))
                            }
                            None => d.help(format!(
                                "`{what}` takes {}",
                                names
                                    .iter()
                                    .map(|n| format!("`{n}`"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )),
                        };
                        self.emit(d);
                        continue;
                    }
                },
                None => match specs.iter().find(|s| s.positional) {
                    Some(s) if !out.contains_key(s.name) => s,
                    _ => {
                        ok = false;
                        self.emit(
                            Diagnostic::new(
                                Code::InvalidEndpoint,
                                format!("unexpected argument to `{what}`"),
                            )
                            .primary(a.span, "not expected here")
                            .help(if specs.is_empty() {
                                format!("`{what}` takes no arguments")
                            } else {
                                "name the argument, e.g. `fps: 30`".to_string()
                            }),
                        );
                        continue;
                    }
                },
            };
            if out.contains_key(spec.name) {
                ok = false;
                self.emit(
                    Diagnostic::new(
                        Code::InvalidEndpoint,
                        format!("argument `{}` is given twice", spec.name),
                    )
                    .primary(a.span, "given again here"),
                );
                continue;
            }
            let kind_ok = matches!(
                (spec.kind, &a.value),
                (ArgKind::Num, Lit::Num(_)) | (ArgKind::Str, Lit::Str(_))
            );
            if !kind_ok {
                ok = false;
                let want = match spec.kind {
                    ArgKind::Num => "a number",
                    ArgKind::Str => "a string in double quotes",
                };
                self.emit(
                    Diagnostic::new(
                        Code::InvalidEndpoint,
                        format!("argument `{}` of `{what}` must be {want}", spec.name),
                    )
                    .primary(a.value.span(), format!("expected {want}")),
                );
                continue;
            }
            out.insert(spec.name, &a.value);
        }
        for s in specs.iter().filter(|s| s.required) {
            if !out.contains_key(s.name) && ok {
                ok = false;
                let example = match (what.as_str(), s.name) {
                    ("file", _) => "file(\"frames.npy\")".to_string(),
                    ("random", _) => "random(seed: 1)".to_string(),
                    (w, n) => format!("{w}({n}: ...)"),
                };
                self.emit(
                    Diagnostic::new(
                        Code::InvalidEndpoint,
                        format!("`{what}` needs the argument `{}`", s.name),
                    )
                    .primary(c.name.span, format!("missing `{}`", s.name))
                    .help(format!("write `{example}`")),
                );
            }
        }
        ok.then_some(out)
    }

    fn fps(&mut self, lit: Option<&&Lit>) -> Result<Option<f32>, ()> {
        let Some(Lit::Num(n)) = lit.copied() else {
            return Ok(None);
        };
        let v = match parse_num(&n.text) {
            Some(NumVal::Int(i)) => i as f64,
            Some(NumVal::Float(f)) => f,
            None => f64::NAN,
        };
        if v.is_finite() && v > 0.0 && v <= 1.0e6 {
            Ok(Some(v as f32))
        } else {
            self.emit(
                Diagnostic::new(
                    Code::InvalidEndpoint,
                    format!("`fps: {}` is not a frame rate", n.text),
                )
                .primary(n.span, "expected a number of frames per second above 0")
                .help("e.g. `fps: 30`"),
            );
            Err(())
        }
    }

    fn source(&mut self, c: &ast::Clause) -> Option<Source> {
        let spec = |name, kind, required, positional| ArgSpec {
            name,
            kind,
            required,
            positional,
        };
        match c.name.name.as_str() {
            "camera" => {
                let a = self.args(
                    c,
                    &[
                        spec("fps", ArgKind::Num, false, false),
                        spec("script", ArgKind::Str, false, false),
                    ],
                )?;
                let fps = self.fps(a.get("fps")).ok()?;
                let script = match a.get("script") {
                    Some(Lit::Str(s)) => Some(PathBuf::from(&s.value)),
                    _ => None,
                };
                Some(Source::Camera { fps, script })
            }
            "file" => {
                let a = self.args(c, &[spec("path", ArgKind::Str, true, true)])?;
                match a.get("path") {
                    Some(Lit::Str(s)) => Some(Source::File {
                        path: PathBuf::from(&s.value),
                    }),
                    _ => None,
                }
            }
            "random" => {
                let a = self.args(
                    c,
                    &[
                        spec("seed", ArgKind::Num, true, true),
                        spec("fps", ArgKind::Num, false, false),
                    ],
                )?;
                let fps = self.fps(a.get("fps")).ok()?;
                let seed = match a.get("seed") {
                    Some(Lit::Num(n)) => match parse_num(&n.text) {
                        Some(NumVal::Int(v)) if u64::try_from(v).is_ok() => v as u64,
                        _ => {
                            self.emit(
                                Diagnostic::new(
                                    Code::InvalidEndpoint,
                                    format!("`seed: {}` is not a valid seed", n.text),
                                )
                                .primary(n.span, "expected a whole number from 0 up"),
                            );
                            return None;
                        }
                    },
                    _ => return None,
                };
                Some(Source::Random { seed, fps })
            }
            "zeros" => {
                let a = self.args(c, &[spec("fps", ArgKind::Num, false, false)])?;
                let fps = self.fps(a.get("fps")).ok()?;
                Some(Source::Zeros { fps })
            }
            "stdin" => {
                self.args(c, &[])?;
                Some(Source::Stdin)
            }
            other => {
                let mut d =
                    Diagnostic::new(Code::InvalidEndpoint, format!("unknown source `{other}`"))
                        .primary(c.name.span, "not a source");
                d = match self.suggest(other, SOURCES.iter().copied()) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None if SINKS.contains(&other) => d.help(format!(
                        "`{other}` is a sink (for outputs); sources are camera, file, random, zeros and stdin"
                    )),
                    None => d.help("sources are camera(fps: N, script: \"path\"), file(\"x.npy\"), random(seed: S), zeros and stdin"),
                };
                self.emit(d);
                None
            }
        }
    }

    fn sink(&mut self, c: &ast::Clause) -> Option<Sink> {
        match c.name.name.as_str() {
            "stdout" => self.args(c, &[]).map(|_| Sink::Stdout),
            "null" => self.args(c, &[]).map(|_| Sink::Null),
            "hid" => self.args(c, &[]).map(|_| Sink::Hid),
            "file" => {
                let a = self.args(
                    c,
                    &[ArgSpec {
                        name: "path",
                        kind: ArgKind::Str,
                        required: true,
                        positional: true,
                    }],
                )?;
                match a.get("path") {
                    Some(Lit::Str(s)) => Some(Sink::File {
                        path: PathBuf::from(&s.value),
                    }),
                    _ => None,
                }
            }
            other => {
                let mut d =
                    Diagnostic::new(Code::InvalidEndpoint, format!("unknown sink `{other}`"))
                        .primary(c.name.span, "not a sink");
                d = match self.suggest(other, SINKS.iter().copied()) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None if SOURCES.contains(&other) => d.help(format!(
                        "`{other}` is a source (for inputs); sinks are stdout, file(\"x\"), null and hid"
                    )),
                    None => d.help("sinks are stdout, file(\"out.npy\"), null and hid"),
                };
                self.emit(d);
                None
            }
        }
    }

    // ----------------------------------------------------------------- ptasks

    fn ptask(&mut self, index: usize, t: &ast::PtaskDecl) -> Ptask {
        let mut names: HashMap<&str, Span> = HashMap::new();
        let mut ports = Vec::with_capacity(t.ports.len());
        for (pi, p) in t.ports.iter().enumerate() {
            let before = self.diags.len();
            if let Some(first) = names.get(p.name.name.as_str()) {
                let first = *first;
                self.dup(&p.name, first);
            } else {
                names.insert(&p.name.name, p.name.span);
            }
            let what = format!("port `{}.{}`", t.name.name, p.name.name);
            let ty = self.port_type(&p.ty, &what);
            let mut init = None;
            if let Some(n) = &p.init {
                if p.kind == PortKind::Out {
                    self.emit(
                        Diagnostic::new(
                            Code::InvalidValue,
                            format!("output port `{}` cannot have an initial value", p.name.name),
                        )
                        .primary(n.span, "initial values seed inputs")
                        .help("put the initial value on the `in` port that reads this output"),
                    );
                } else if let Some(ty) = &ty {
                    match ty.elem.scalar() {
                        Some(s) => init = self.value(n, s, &what),
                        None => self.emit(
                            Diagnostic::new(
                                Code::InvalidValue,
                                format!("{what} holds structs and cannot have an initial value"),
                            )
                            .primary(n.span, "only scalar and vector ports take an initial value"),
                        ),
                    }
                }
            }
            if self.diags.len() > before || ty.is_none() {
                self.noisy.insert(Endpoint::Ptask(index, pi));
            }
            ports.push(Port {
                name: p.name.clone(),
                kind: p.kind,
                ty: ty.unwrap_or_else(|| placeholder(&p.ty)),
                ty_span: p.ty.span,
                init,
                span: p.span,
            });
        }
        let mut params = Vec::with_capacity(t.params.len());
        for p in &t.params {
            if let Some(first) = names.get(p.name.name.as_str()) {
                let first = *first;
                self.dup(&p.name, first);
            } else {
                names.insert(&p.name.name, p.name.span);
            }
            let what = format!("param `{}`", p.name.name);
            let scalar = match (&p.ty.elem, &p.ty.shape) {
                (ElemExpr::Named(n), None) => match Scalar::from_name(&n.name) {
                    Some(s @ (Scalar::F32 | Scalar::U32 | Scalar::I32)) => Some(s),
                    _ => None,
                },
                _ => None,
            };
            let Some(scalar) = scalar else {
                self.emit(
                    Diagnostic::new(
                        Code::InvalidType,
                        format!("{what} must be a u32, i32 or f32"),
                    )
                    .primary(p.ty.span, "not a push-constant scalar")
                    .help("params are single push-constant scalars; pass arrays through a port"),
                );
                // Keep a best guess in the module (u8/u16 widen to u32, an
                // array or vector to its component) so that the kernel check
                // does not also report the param as missing.
                let named = match &p.ty.elem {
                    ElemExpr::Named(n) => &n.name,
                    ElemExpr::Vector { scalar, .. } => &scalar.name,
                };
                let guess = Scalar::from_name(named).map(|s| match s {
                    Scalar::U8 | Scalar::U16 => Scalar::U32,
                    other => other,
                });
                if let Some(g) = guess {
                    if let Some(value) = self.value(&p.value, g, &what) {
                        params.push(Param {
                            name: p.name.clone(),
                            ty: g,
                            ty_span: p.ty.span,
                            value,
                            span: p.span,
                        });
                    }
                }
                continue;
            };
            if let Some(value) = self.value(&p.value, scalar, &what) {
                params.push(Param {
                    name: p.name.clone(),
                    ty: scalar,
                    ty_span: p.ty.span,
                    value,
                    span: p.span,
                });
            }
        }

        // kernel
        let mut kernel = String::new();
        let mut kernel_span = t.name.span;
        let mut kernel_path = None;
        match t.kernels.as_slice() {
            [] if !t.body_errors => self.emit(
                Diagnostic::new(
                    Code::InvalidPtask,
                    format!("ptask `{}` has no `kernel` statement", t.name.name),
                )
                .primary(t.name.span, "no kernel")
                .help("add the GLSL compute shader it runs, e.g. `kernel \"kernels/scale.comp\";`"),
            ),
            [] => {}
            [(k, _), rest @ ..] => {
                for (_, extra) in rest {
                    self.emit(
                        Diagnostic::new(
                            Code::InvalidPtask,
                            format!(
                                "ptask `{}` has more than one `kernel` statement",
                                t.name.name
                            ),
                        )
                        .primary(*extra, "second kernel")
                        .secondary(k.span, "first kernel")
                        .help("a ptask runs exactly one kernel; split it into two ptasks"),
                    );
                }
                kernel = k.value.clone();
                kernel_span = k.span;
                kernel_path = self.kernel(k);
            }
        }

        // grid
        let mut grid = None;
        for (i, (dims, span)) in t.grids.iter().enumerate() {
            if i > 0 {
                self.emit(
                    Diagnostic::new(
                        Code::InvalidPtask,
                        format!("ptask `{}` has more than one `grid`", t.name.name),
                    )
                    .primary(*span, "second grid")
                    .secondary(t.grids[0].1, "first grid"),
                );
                continue;
            }
            if dims.is_empty() || dims.len() > 3 {
                self.emit(
                    Diagnostic::new(
                        Code::InvalidPtask,
                        format!("a grid has 1 to 3 dimensions, not {}", dims.len()),
                    )
                    .primary(
                        *span,
                        "expected `grid [x]`, `grid [x, y]` or `grid [x, y, z]`",
                    ),
                );
                continue;
            }
            let mut g = [1u64; 3];
            let mut ok = true;
            for (j, d) in dims.iter().enumerate() {
                match parse_num(&d.text) {
                    Some(NumVal::Int(v)) if v >= 1 && v <= i128::from(u32::MAX) => g[j] = v as u64,
                    _ => {
                        ok = false;
                        self.emit(
                            Diagnostic::new(
                                Code::InvalidPtask,
                                format!("grid size `{}` is not valid", d.text),
                            )
                            .primary(d.span, "expected a whole number of invocations from 1 up"),
                        );
                    }
                }
            }
            if ok {
                grid = Some((g, *span));
            }
        }
        if t.grids.is_empty() && !t.body_errors && !t.ports.iter().any(|p| p.kind == PortKind::Out)
        {
            self.emit(
                Diagnostic::new(
                    Code::InvalidPtask,
                    format!("ptask `{}` has no `out` port and no `grid`", t.name.name),
                )
                .primary(t.name.span, "cannot size its dispatch")
                .help("the dispatch size comes from the first `out` port; add one, or say `grid [x, y, z];`"),
            );
        }

        // priority
        let mut priority = None;
        for (i, (n, span)) in t.priorities.iter().enumerate() {
            if i > 0 {
                self.emit(
                    Diagnostic::new(
                        Code::InvalidPtask,
                        format!("ptask `{}` has more than one `priority`", t.name.name),
                    )
                    .primary(*span, "second priority")
                    .secondary(t.priorities[0].1, "first priority"),
                );
                continue;
            }
            priority = self.priority(n);
        }

        Ptask {
            name: t.name.clone(),
            kernel,
            kernel_span,
            kernel_path,
            ports,
            params,
            grid,
            priority,
            span: t.span,
        }
    }

    /// Resolves a kernel path (cached per path as written).
    fn kernel(&mut self, k: &ast::Str) -> Option<PathBuf> {
        if k.value.trim().is_empty() {
            self.emit(
                Diagnostic::new(Code::InvalidPtask, "the kernel path is empty")
                    .primary(k.span, "empty path")
                    .help("name a GLSL compute shader, e.g. `kernel \"kernels/scale.comp\";`"),
            );
            return None;
        }
        let found = match self.kernel_cache.get(&k.value) {
            Some(r) => r.clone(),
            None => {
                let r = resolve_kernel(self.path, &k.value, &self.opts.kernel_paths);
                self.kernel_cache.insert(k.value.clone(), r.clone());
                r
            }
        };
        match found {
            Ok(p) => Some(p),
            Err(looked) => {
                let mut help = String::from("looked in:");
                for l in &looked {
                    help.push_str(&format!("\n  - {}", l.display()));
                }
                help.push_str("\nadd a search root with `--kernel-path DIR`");
                self.emit(
                    Diagnostic::new(
                        Code::KernelNotFound,
                        format!("kernel `{}` not found", k.value),
                    )
                    .primary(k.span, "no such file in any search root")
                    .help(help),
                );
                None
            }
        }
    }

    // --------------------------------------------------------------- channels

    /// Resolves one end of a channel; `from`: it is the reading end.
    #[allow(clippy::too_many_arguments)]
    fn endpoint(
        &mut self,
        c: &ast::ChannelDecl,
        r: &ast::PortRef,
        names: &HashMap<&str, (GraphName, Span)>,
        g: &ast::GraphDecl,
        ports: &[GraphPort],
        ptasks: &[Ptask],
        from: bool,
    ) -> Option<Endpoint> {
        let _ = c;
        let first = &r.first.name;
        let ep = match (names.get(first.as_str()), &r.second) {
            (None, _) => {
                if g.broken_names.contains(first) {
                    return None;
                }
                let mut d = Diagnostic::new(Code::UnknownName, format!("unknown name `{first}`"))
                    .primary(r.first.span, "not declared in this graph");
                let cands: Vec<&str> = names.keys().copied().collect();
                if let Some(s) = self.suggest(first, cands) {
                    d = d.help(format!("did you mean `{s}`?"));
                } else {
                    d = d.help("declare it with `input`, `output` or `ptask`");
                }
                self.emit(d);
                return None;
            }
            (Some((GraphName::Port(i), _)), None) => Endpoint::Graph(*i),
            (Some((GraphName::Port(i), _)), Some(second)) => {
                self.emit(
                    Diagnostic::new(
                        Code::UnknownName,
                        format!("`{first}` is a graph port, not a ptask"),
                    )
                    .primary(second.span, "graph ports have no ports of their own")
                    .secondary(ports[*i].name.span, format!("`{first}` is declared here"))
                    .help(format!("write just `{first}`")),
                );
                return None;
            }
            (Some((GraphName::Ptask(t), _)), None) => {
                let t = &ptasks[*t];
                let choices: Vec<&str> = t
                    .ports
                    .iter()
                    .filter(|p| (p.kind == PortKind::Out) == from)
                    .map(|p| p.name.name.as_str())
                    .collect();
                let mut d = Diagnostic::new(
                    Code::UnknownName,
                    format!("`{first}` is a ptask; a channel joins ports"),
                )
                .primary(r.first.span, "name one of its ports");
                if let Some(p) = choices.first() {
                    d = d.help(format!("write `{first}.{p}`"));
                }
                self.emit(d);
                return None;
            }
            (Some((GraphName::Ptask(ti), _)), Some(second)) => {
                let t = &ptasks[*ti];
                match t.ports.iter().position(|p| p.name.name == second.name) {
                    Some(pi) => Endpoint::Ptask(*ti, pi),
                    None => {
                        let decl = g.ptasks.get(*ti);
                        if decl.is_some_and(|d| d.body_errors) {
                            return None;
                        }
                        if let Some(param) = t.params.iter().find(|p| p.name.name == second.name) {
                            self.emit(
                                Diagnostic::new(
                                    Code::UnknownName,
                                    format!("`{}` is a param, not a port", r.text()),
                                )
                                .primary(second.span, "params are push constants")
                                .secondary(param.name.span, "declared as a param here")
                                .help("channels join `in`/`sticky`/`out` ports; a param's value is fixed in the graph"),
                            );
                            return None;
                        }
                        let mut d = Diagnostic::new(
                            Code::UnknownName,
                            format!("ptask `{first}` has no port `{}`", second.name),
                        )
                        .primary(second.span, "no such port");
                        let cands: Vec<&str> =
                            t.ports.iter().map(|p| p.name.name.as_str()).collect();
                        if let Some(s) = self.suggest(&second.name, cands) {
                            d = d.help(format!("did you mean `{s}`?"));
                        } else if !t.ports.is_empty() {
                            d = d.help(format!(
                                "its ports are {}",
                                t.ports
                                    .iter()
                                    .map(|p| format!("`{}`", p.name.name))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ));
                        }
                        self.emit(d);
                        return None;
                    }
                }
            }
        };
        // Direction.
        let (readable, desc) = match &ep {
            Endpoint::Graph(i) => match ports[*i].dir {
                GraphPortDir::Input => (true, format!("`{first}` is a graph input")),
                GraphPortDir::Output => (false, format!("`{first}` is a graph output")),
            },
            Endpoint::Ptask(t, p) => match ptasks[*t].ports[*p].kind {
                PortKind::Out => (true, format!("`{}` is an `out` port", r.text())),
                PortKind::In => (false, format!("`{}` is an `in` port", r.text())),
                PortKind::Sticky => (false, format!("`{}` is a `sticky` port", r.text())),
            },
        };
        if readable != from {
            let (msg, help) = if from {
                (
                    format!("a channel cannot read from `{}`", r.text()),
                    "a channel reads from a graph `input` or a ptask `out` port: `source -> destination`",
                )
            } else {
                (
                    format!("a channel cannot write into `{}`", r.text()),
                    "a channel writes into a graph `output` or a ptask `in`/`sticky` port: `source -> destination`",
                )
            };
            self.emit(
                Diagnostic::new(Code::WrongDirection, msg)
                    .primary(r.span, desc)
                    .secondary(c.span, "in this channel")
                    .help(help),
            );
            return None;
        }
        Some(ep)
    }

    fn channel_types(
        &mut self,
        c: &ast::ChannelDecl,
        from: &Endpoint,
        to: &Endpoint,
        ports: &[GraphPort],
        ptasks: &[Ptask],
    ) {
        let ty = |e: &Endpoint| -> &PortType {
            match e {
                Endpoint::Graph(i) => &ports[*i].ty,
                Endpoint::Ptask(t, p) => &ptasks[*t].ports[*p].ty,
            }
        };
        let (a, b) = (ty(from), ty(to));
        if is_placeholder(a) || is_placeholder(b) {
            return;
        }
        let code = if a.elem != b.elem {
            Code::TypeMismatch
        } else if a.shape != b.shape {
            Code::ShapeMismatch
        } else {
            return;
        };
        let what = if code == Code::TypeMismatch {
            "types"
        } else {
            "shapes"
        };
        self.emit(
            Diagnostic::new(
                code,
                format!(
                    "channel joins ports of different {what}: `{a}` -> `{b}`"
                ),
            )
            .primary(c.to.span, format!("`{}` is `{b}`", c.to.text()))
            .secondary(c.from.span, format!("`{}` is `{a}`", c.from.text()))
            .help("both ends of a channel share one buffer, so they need the same element type and shape"),
        );
    }

    // ------------------------------------------------------------------- flow

    fn flow_rules(&mut self, g: &ir::Graph, flow: &Flow) {
        // Unconnected inputs, unread outputs, unused graph inputs.
        let mut broken: HashSet<usize> = HashSet::new();
        for (ti, t) in g.ptasks.iter().enumerate() {
            for (pi, p) in t.ports.iter().enumerate() {
                let ep = Endpoint::Ptask(ti, pi);
                if self.noisy.contains(&ep) || flow.touched.contains(&ep) {
                    continue;
                }
                match p.kind {
                    PortKind::In | PortKind::Sticky => {
                        let seeded_sticky = p.kind == PortKind::Sticky && p.init.is_some();
                        if !flow.written.contains_key(&ep) && !seeded_sticky {
                            broken.insert(ti);
                            self.emit(
                                Diagnostic::new(
                                    Code::UnconnectedInput,
                                    format!(
                                        "input `{}.{}` has no incoming channel",
                                        t.name.name, p.name.name
                                    ),
                                )
                                .primary(p.name.span, "nothing writes this port")
                                .help(format!(
                                    "connect it, e.g. `source -> {}.{};`",
                                    t.name.name, p.name.name
                                )),
                            );
                        }
                    }
                    PortKind::Out => {
                        if !flow.read.contains(&ep) {
                            self.emit(
                                Diagnostic::new(
                                    Code::UnreadOutput,
                                    format!(
                                        "output `{}.{}` is never read",
                                        t.name.name, p.name.name
                                    ),
                                )
                                .primary(p.name.span, "no channel reads this port")
                                .help(
                                    "connect it to a ptask input or a graph `output`, or remove it",
                                ),
                            );
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
            match p.dir {
                GraphPortDir::Input if !flow.read.contains(&ep) => self.emit(
                    Diagnostic::new(
                        Code::UnusedInput,
                        format!("graph input `{}` feeds nothing", p.name.name),
                    )
                    .primary(p.name.span, "no channel reads this input")
                    .help(format!(
                        "connect it, e.g. `{} -> ptask.port;`, or remove it",
                        p.name.name
                    )),
                ),
                GraphPortDir::Output if !flow.written.contains_key(&ep) => self.emit(
                    Diagnostic::new(
                        Code::UnconnectedInput,
                        format!("graph output `{}` has no incoming channel", p.name.name),
                    )
                    .primary(p.name.span, "nothing writes this output")
                    .help(format!("connect it, e.g. `ptask.port -> {};`", p.name.name)),
                ),
                _ => {}
            }
        }

        // Cycles: with every channel into a seeded port removed, the ptask
        // graph must be acyclic.
        let mut pg: DiGraph<usize, usize> =
            DiGraph::with_capacity(g.ptasks.len(), g.channels.len());
        let nodes: Vec<NodeIndex> = (0..g.ptasks.len()).map(|i| pg.add_node(i)).collect();
        for (ci, c) in g.channels.iter().enumerate() {
            if let (Endpoint::Ptask(a, _), Endpoint::Ptask(b, bp)) = (&c.from, &c.to) {
                if g.ptasks[*b].ports[*bp].init.is_none() {
                    pg.add_edge(nodes[*a], nodes[*b], ci);
                }
            }
        }
        let mut in_cycle: HashSet<usize> = HashSet::new();
        let mut cycles = Vec::new();
        for scc in petgraph::algo::tarjan_scc(&pg) {
            let self_loop = scc.len() == 1 && pg.contains_edge(scc[0], scc[0]);
            if scc.len() < 2 && !self_loop {
                continue;
            }
            let members: HashSet<NodeIndex> = scc.iter().copied().collect();
            let mut chans: Vec<usize> = pg
                .edge_indices()
                .filter_map(|e| {
                    let (a, b) = pg.edge_endpoints(e)?;
                    (members.contains(&a) && members.contains(&b)).then(|| pg[e])
                })
                .collect();
            chans.sort_unstable();
            let mut tasks: Vec<usize> = scc.iter().map(|n| pg[*n]).collect();
            tasks.sort_unstable();
            in_cycle.extend(tasks.iter().copied());
            cycles.push((tasks, chans));
        }
        cycles.sort();
        for (tasks, chans) in cycles {
            let names: Vec<String> = tasks
                .iter()
                .map(|t| format!("`{}`", g.ptasks[*t].name.name))
                .collect();
            let Some(&first) = chans.first() else {
                continue;
            };
            let msg = if names.len() == 1 {
                format!("ptask {} feeds itself with no initial value", names[0])
            } else {
                format!(
                    "ptasks {} form a cycle with no initial value",
                    names.join(", ")
                )
            };
            let mut d = Diagnostic::new(Code::UnseededCycle, msg)
                .primary(g.channels[first].span, "this channel is on the cycle");
            for &c in &chans[1..] {
                d = d.secondary(g.channels[c].span, "so is this one");
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
            self.emit(d.help(format!(
                "every ptask on the cycle waits for another; give one input on it an initial value to seed the first firing, e.g. {example}"
            )));
        }

        // Liveness: which ptasks can ever fire.
        self.never_fires(g, flow, &broken, &in_cycle);
    }

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
                self.emit(
                    Diagnostic::new(
                        Code::NeverFires,
                        format!("ptask `{}` can never fire", t.name.name),
                    )
                    .primary(t.name.span, "never runs")
                    .secondary(
                        p.name.span,
                        format!(
                            "`{}` is fed by `{}`, which never fires",
                            p.name.name, w.name.name
                        ),
                    )
                    .help(format!(
                        "fix `{}` first; this ptask waits on it",
                        w.name.name
                    )),
                );
            }
        }
    }
}

/// Who reads and writes each endpoint.
struct Flow {
    read: HashSet<Endpoint>,
    /// Destination → span of its first writer's channel end.
    written: HashMap<Endpoint, Span>,
    /// Destination → its (first) source.
    writer: HashMap<Endpoint, Endpoint>,
    /// Endpoints named by a channel whose other parts did not resolve.
    touched: HashSet<Endpoint>,
}

impl Flow {
    fn new(_ports: &[GraphPort], _ptasks: &[Ptask]) -> Flow {
        Flow {
            read: HashSet::new(),
            written: HashMap::new(),
            writer: HashMap::new(),
            touched: HashSet::new(),
        }
    }

    fn read(&mut self, e: &Endpoint) {
        self.read.insert(e.clone());
    }

    /// Records a write; returns the first writer's span if there was one.
    fn write(&mut self, e: &Endpoint, span: Span, from: Option<&Endpoint>) -> Option<Span> {
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

/// A stand-in type for a port whose type did not resolve (an error has
/// been reported): an unknown struct named after what was written. Its size
/// is unknown, and channel checks skip it.
fn placeholder(t: &TypeExpr) -> PortType {
    let name = match &t.elem {
        ElemExpr::Named(n) => n.name.clone(),
        ElemExpr::Vector { n, scalar, .. } => format!("vec{}<{}>", n.text, scalar.name),
    };
    PortType {
        elem: ElemType::Struct(format!("?{name}")),
        shape: vec![1],
    }
}

fn is_placeholder(t: &PortType) -> bool {
    matches!(&t.elem, ElemType::Struct(n) if n.starts_with('?'))
}

fn is_vec_name(name: &str) -> bool {
    name.strip_prefix("vec")
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

fn human_bytes(b: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if b % MIB == 0 {
        format!("{} MiB", b / MIB)
    } else {
        format!("{:.1} MiB", b as f64 / MIB as f64)
    }
}

/// Finds `rel` (a kernel path as written) in the search roots: the graph
/// file's directory and each of its ancestors; when the graph path is
/// relative, then each ancestor of the current directory; then `extra`
/// (`--kernel-path`). Returns the found path, or every place looked.
pub fn resolve_kernel(graph: &Path, rel: &str, extra: &[PathBuf]) -> Result<PathBuf, Vec<PathBuf>> {
    let relp = Path::new(rel);
    if relp.is_absolute() {
        return if relp.is_file() {
            Ok(relp.to_path_buf())
        } else {
            Err(vec![relp.to_path_buf()])
        };
    }
    let mut roots: Vec<PathBuf> = Vec::new();
    let dir = graph.parent().unwrap_or(Path::new(""));
    for a in dir.ancestors() {
        roots.push(a.to_path_buf());
    }
    if dir.is_relative() {
        if let Ok(cwd) = std::env::current_dir() {
            // The lexical ancestors of a relative path end at the current
            // directory (unless they climb with `..`); continue above it.
            let ups = dir
                .components()
                .filter(|c| matches!(c, std::path::Component::ParentDir))
                .count();
            let mut above = cwd.ancestors().skip(1 + ups);
            for a in above.by_ref() {
                roots.push(a.to_path_buf());
            }
        }
    }
    roots.extend(extra.iter().cloned());
    let mut looked = Vec::new();
    let mut seen = HashSet::new();
    for r in roots {
        let cand = r.join(relp);
        let key = std::path::absolute(&cand).unwrap_or_else(|_| cand.clone());
        if !seen.insert(key) {
            continue;
        }
        if cand.is_file() {
            return Ok(cand);
        }
        looked.push(cand);
    }
    Err(looked)
}
