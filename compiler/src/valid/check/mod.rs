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
mod consts;
pub mod errors;
mod flow;
mod imports;
mod ptask;
mod templates;
mod types;

pub use errors::CheckError;

use crate::diag::Diagnostic;
use crate::front::ast::{self, ElemExpr, TypeExpr};
use crate::front::Sources;
use crate::ir::{self, Endpoint, Ident, Span};
use crate::valid::suggest;
use crate::Options;
use errors::Hint;
use ptc_plan::types::{ElemType, PortType, StructLayout};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Default graph and ptask priority.
pub const DEFAULT_PRIORITY: u32 = 50;

/// What a check found.
pub struct Checked {
    /// The module, if the file has a graph (it may still carry errors).
    pub module: Option<ir::Module>,
    /// Every diagnostic, in the order found (spans in the [`Sources`]' space).
    pub diagnostics: Vec<Diagnostic>,
    /// The file given and every file it imports.
    pub sources: Sources,
}

/// Parses and checks `source` (the file at `path`) and the files it imports.
pub fn check(path: &Path, source: &str, opts: &Options) -> Checked {
    let mut cx = Checker::new(path, opts);
    let loaded = cx.load(path, source);
    let syntax_errors = !loaded.syntax.is_empty();
    let module = cx.module(loaded.files, syntax_errors);
    let mut diagnostics = loaded.syntax;
    diagnostics.extend(cx.errors.iter().map(CheckError::to_diagnostic));
    Checked {
        module,
        diagnostics,
        sources: cx.sources,
    }
}

/// The instance whose template body is being checked.
#[derive(Clone)]
struct InstanceCx {
    ptask: String,
    template: String,
    call: Span,
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
    /// Kernel paths by (declaring file, path as written).
    kernel_cache: HashMap<(PathBuf, String), Result<PathBuf, Vec<PathBuf>>>,
    /// "Did you mean" searches left: each costs a pass over the candidates,
    /// so a file with thousands of unknown names stays linear.
    suggest_budget: std::cell::Cell<usize>,
    /// Endpoints whose declaration already has an error: the flow rules
    /// (unconnected, unread, unused) say nothing more about them.
    noisy: HashSet<Endpoint>,
    /// The files of the check.
    sources: Sources,
    imports: Vec<ir::ImportInfo>,
    consts: HashMap<String, consts::Const>,
    /// Const names in declaration order.
    const_order: Vec<String>,
    templates: Vec<templates::Template>,
    template_index: HashMap<String, usize>,
    /// Template parameters bound while checking an instance.
    scope: HashMap<String, consts::Bound>,
    /// The instance being checked, if any: its errors name it.
    instance: Option<InstanceCx>,
    /// The file whose ptask is being checked (kernel paths resolve from it).
    base: PathBuf,
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
            sources: Sources::default(),
            imports: Vec::new(),
            consts: HashMap::new(),
            const_order: Vec::new(),
            templates: Vec::new(),
            template_index: HashMap::new(),
            scope: HashMap::new(),
            instance: None,
            base: path.to_path_buf(),
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
        let e = e.into();
        let e = match &self.instance {
            Some(i) => CheckError::InInstance {
                error: Box::new(e),
                ptask: i.ptask.clone(),
                template: i.template.clone(),
                call: i.call,
            },
            None => e,
        };
        self.errors.push(e);
    }

    /// How many errors have been reported so far (to tell whether a
    /// declaration added any).
    fn error_count(&self) -> usize {
        self.errors.len()
    }

    fn module(&mut self, mut files: Vec<ast::File>, syntax_errors: bool) -> Option<ir::Module> {
        // Structs, consts and templates of every file share one namespace.
        let main = &files[0];
        let library =
            !main.templates.is_empty() || !main.consts.is_empty() || !main.imports.is_empty();
        let mut structs = Vec::new();
        let mut consts = Vec::new();
        let mut templates = Vec::new();
        for (i, f) in files.iter_mut().enumerate() {
            structs.append(&mut f.structs);
            consts.append(&mut f.consts);
            let path = self.sources.files[i].path.clone();
            templates.extend(f.templates.drain(..).map(|t| (t, path.clone())));
        }
        self.structs(&structs);
        self.consts(consts);
        self.templates(templates);
        let main = files.swap_remove(0);
        let Some(g) = main.graphs.first() else {
            if !syntax_errors && !library {
                self.emit(CheckError::NoGraph);
            }
            return None;
        };
        for extra in &main.graphs[1..] {
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
            consts: self.const_infos(),
            templates: self.template_infos(),
            imports: self.imports.clone(),
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
        // Ptasks whose body has syntax errors or whose template failed:
        // channels naming their ports are not reported again.
        let mut broken = Vec::with_capacity(g.ptasks.len());
        for (i, t) in g.ptasks.iter().enumerate() {
            let dup = if let Some((_, first)) = names.get(t.name.name.as_str()) {
                let first = *first;
                self.dup(&t.name, first);
                true
            } else {
                names.insert(&t.name.name, (GraphName::Ptask(i), t.name.span));
                false
            };
            let (pt, body_errors) = self.graph_ptask(i, t);
            let nports = pt.ports.len();
            ptasks.push(pt);
            broken.push(body_errors);
            if dup {
                // Channels name the first ptask of that name; this one's
                // ports cannot be connected.
                for p in 0..nports {
                    self.noisy.insert(Endpoint::Ptask(i, p));
                }
            }
        }

        let scope = channels::Scope {
            names: &names,
            decl: g,
            ports: &ports,
            ptasks: &ptasks,
            broken: &broken,
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
        if !g.body_errors && !broken.iter().any(|b| *b) {
            self.flow_rules(&graph, &flow);
        }
        graph
    }

    /// Checks one ptask of the graph: its body, or its template's body
    /// with the instance's arguments. Also says whether its body is broken.
    fn graph_ptask(&mut self, i: usize, t: &ast::PtaskDecl) -> (ir::Ptask, bool) {
        let Some(inst) = &t.instance else {
            self.base = self.path.to_path_buf();
            return (self.ptask(i, &t.name, t, None), t.body_errors);
        };
        let Some(bind) = self.bind(inst) else {
            // Nothing to check it against: an empty ptask of that name.
            let empty = ast::PtaskDecl {
                name: t.name.clone(),
                span: t.span,
                ..ast::PtaskDecl::default()
            };
            let mut pt = self.ptask_shell(&empty);
            pt.instance = Some(ir::Instance {
                template: inst.template.name.clone(),
                call: t.span,
            });
            return (pt, true);
        };
        let template = &self.templates[bind.template];
        let body = template.decl.body.clone();
        self.base = template.file.clone();
        let cx = InstanceCx {
            ptask: t.name.name.clone(),
            template: inst.template.name.clone(),
            call: t.span,
        };
        let outer_scope = self.with_scope(bind.scope);
        let outer = self.instance.replace(cx);
        let mut pt = self.ptask(i, &t.name, &body, Some(t.span));
        self.instance = outer;
        self.with_scope(outer_scope);
        pt.instance = Some(ir::Instance {
            template: inst.template.name.clone(),
            call: t.span,
        });
        (pt, body.body_errors)
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

/// The kernel search roots of a graph file: its directory and each of its
/// ancestors; when the path is relative, then each ancestor of the current
/// directory above it; then `extra` (`--kernel-path`), in that order.
pub fn search_roots(graph: &Path, extra: &[PathBuf]) -> Vec<PathBuf> {
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
    roots
}

/// Finds `rel` (a kernel or import path as written) in the search roots of
/// `graph` ([`search_roots`]). Returns the found path, or every place looked.
pub fn resolve_kernel(graph: &Path, rel: &str, extra: &[PathBuf]) -> Result<PathBuf, Vec<PathBuf>> {
    let relp = Path::new(rel);
    if relp.is_absolute() {
        return if relp.is_file() {
            Ok(relp.to_path_buf())
        } else {
            Err(vec![relp.to_path_buf()])
        };
    }
    let mut looked = Vec::new();
    let mut seen = HashSet::new();
    for r in search_roots(graph, extra) {
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
