//! Resolves names, types and shapes; enforces the graph rules.
//!
//! Input: the AST from [`crate::front::parse`]. Output: an [`ir::Module`]
//! (whenever the file has a graph, even one with errors, so that tools like
//! the language server can still navigate it) and every diagnostic found.
//! The checker keeps going after an error so that a file's problems are all
//! reported at once, and avoids follow-on noise (an unknown name is reported
//! once, not again as an unconnected port).
//!
//! Each rule reports a typed [`CheckError`] (`errors.rs` renders them all);
//! the rules live by subject: `types.rs` (structs, types, shapes, values),
//! `clauses.rs` (sources and sinks), `ptask.rs` (ptask bodies),
//! `channels.rs` (channel ends and types), `flow.rs` (connections, cycles,
//! liveness).

mod channels;
mod clauses;
pub mod errors;
mod flow;
mod ptask;
mod types;

pub use errors::CheckError;

use crate::diag::Diagnostic;
use crate::front::ast::{self, ElemExpr, TypeExpr};
use crate::ir::{self, Endpoint, Ident, Span};
use crate::valid::suggest;
use crate::Options;
use errors::Hint;
use ptc_plan::types::{ElemType, PortType, StructLayout};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Default graph and ptask priority.
pub const DEFAULT_PRIORITY: u32 = 50;

/// Parses and checks `source`; returns the module if the file has a graph
/// (it may still carry errors) and every diagnostic found.
pub fn check(path: &Path, source: &str, opts: &Options) -> (Option<ir::Module>, Vec<Diagnostic>) {
    let parsed = crate::front::parse(source);
    let syntax_errors = !parsed.diagnostics.is_empty();
    let mut cx = Checker::new(path, opts);
    let module = cx.module(&parsed.file, syntax_errors);
    let mut diags = parsed.diagnostics;
    diags.extend(cx.errors.iter().map(CheckError::to_diagnostic));
    (module, diags)
}

/// The state of one check.
struct Checker<'a> {
    path: &'a Path,
    opts: &'a Options,
    /// Everything found so far, in the order found.
    errors: Vec<CheckError>,
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

impl<'a> Checker<'a> {
    fn new(path: &'a Path, opts: &'a Options) -> Checker<'a> {
        Checker {
            path,
            opts,
            errors: Vec::new(),
            structs: Vec::new(),
            struct_spans: HashMap::new(),
            broken_structs: HashSet::new(),
            kernel_cache: HashMap::new(),
            suggest_budget: std::cell::Cell::new(200),
            noisy: HashSet::new(),
        }
    }
}

impl Checker<'_> {
    /// A "did you mean" for `name` among `candidates`, within the budget.
    fn suggest<'c>(&self, name: &str, candidates: impl IntoIterator<Item = &'c str>) -> Hint {
        let left = self.suggest_budget.get();
        if left == 0 {
            return Hint::None;
        }
        self.suggest_budget.set(left - 1);
        match suggest(name, candidates) {
            Some(s) => Hint::DidYouMean(s.to_string()),
            None => Hint::None,
        }
    }

    fn emit(&mut self, e: impl Into<CheckError>) {
        self.errors.push(e.into());
    }

    /// How many errors have been reported so far (to tell whether a
    /// declaration added any).
    fn error_count(&self) -> usize {
        self.errors.len()
    }

    fn module(&mut self, file: &ast::File, syntax_errors: bool) -> Option<ir::Module> {
        self.structs(&file.structs);
        let Some(g) = file.graphs.first() else {
            if !syntax_errors {
                self.emit(CheckError::NoGraph);
            }
            return None;
        };
        for extra in &file.graphs[1..] {
            self.emit(CheckError::SecondGraph {
                name: extra.name.name.clone(),
                span: extra.name.span,
                first: g.name.span,
            });
        }
        let graph = self.graph(g);
        Some(ir::Module {
            path: self.path.to_path_buf(),
            structs: self.structs.clone(),
            graph,
        })
    }

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
            let before = self.error_count();
            if let Some((_, first)) = names.get(p.name.name.as_str()) {
                let first = *first;
                self.dup(&p.name, first);
            } else {
                names.insert(&p.name.name, (GraphName::Port(i), p.name.span));
            }
            let port = self.graph_port(p);
            let failed = is_placeholder(&port.ty);
            ports.push(port);
            if self.error_count() > before || failed {
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

        let scope = channels::Scope {
            names: &names,
            decl: g,
            ports: &ports,
            ptasks: &ptasks,
        };
        let (channels, flow) = self.channels(&scope);

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
        self.emit(CheckError::Duplicate {
            name: name.name.clone(),
            span: name.span,
            first,
        });
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
