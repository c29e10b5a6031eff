//! ptc's compiler: `.pt` source → checked [`ir::Module`] → [`ptc_plan::Plan`].
//!
//! Stages mirror the folder layout: `front` (grammar, parser, AST), `valid`
//! (name/type/shape checking, kernel reflection), `back` (lowering to a plan).
//! [`check_file`] / [`check_source`] run the whole pipeline and collect every
//! diagnostic. The plan types, the std430 value types and SPIR-V reflection
//! live in the `ptc-plan` crate, which the runtime uses without this one.

pub mod back;
pub mod diag;
pub mod dot;
pub mod front;
pub mod ir;
pub mod scc;
pub mod valid;

use diag::{Diagnostic, Severity};
use std::path::{Path, PathBuf};

// Re-exports of `ptc-plan` for downstream convenience (`ptc_compiler::Plan`,
// `ptc_compiler::plan::Source`, `ptc_compiler::types::Scalar`); code in this
// repository imports `ptc_plan` directly.
pub use ptc_plan as plan;
pub use ptc_plan::types;
pub use ptc_plan::{Plan, PlanError, PLAN_VERSION};

/// Options for checking and compiling.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Extra roots to resolve `kernel "..."` paths against (`--kernel-path`),
    /// searched after the graph's directory and its ancestors.
    pub kernel_paths: Vec<PathBuf>,
    /// Skip compiling/reflecting kernels (syntax and graph checks only;
    /// used by the language server while typing).
    pub skip_kernels: bool,
    /// `--set NAME=VALUE` overrides of consts, in order (a later one wins).
    pub sets: Vec<(String, String)>,
}

/// Everything known about one checked file.
#[derive(Debug)]
pub struct Report {
    /// The file as given.
    pub path: PathBuf,
    /// Its text (empty if it could not be read).
    pub source: String,
    /// All diagnostics, in source order.
    pub diagnostics: Vec<Diagnostic>,
    /// The checked graph, if the file parsed and resolved.
    pub module: Option<ir::Module>,
    /// The plan, if there were no errors.
    pub plan: Option<Plan>,
    /// The file and the files it imports (spans of the module that are not
    /// in the file lie in these).
    pub sources: front::Sources,
    /// What was reflected of each ptask's kernel (empty if kernels were
    /// not checked).
    pub kernel_facts: Vec<valid::kernel::KernelFacts>,
}

impl Report {
    /// The report on a file that was not checked at all (too large, not
    /// text, unreadable): `diagnostic` says why.
    pub fn refused(path: &Path, diagnostic: Diagnostic) -> Report {
        Report {
            path: path.to_path_buf(),
            source: String::new(),
            diagnostics: vec![diagnostic],
            module: None,
            plan: None,
            sources: front::Sources::default(),
            kernel_facts: Vec::new(),
        }
    }

    /// True if any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// Reads and checks a file: parse, resolve, type-check, check kernels, lower.
pub fn check_file(path: &Path, opts: &Options) -> Report {
    match front::read_source(path) {
        Ok(text) => check_source(path, text, opts),
        Err(d) => Report::refused(path, *d),
    }
}

/// Checks source text as if read from `path` (kernel paths resolve relative to it).
pub fn check_source(path: &Path, source: String, opts: &Options) -> Report {
    let checked = valid::check::check(path, &source, opts);
    let (module, mut diagnostics, sources) = (checked.module, checked.diagnostics, checked.sources);
    let mut plan = None;
    let mut kernel_facts = Vec::new();
    if let Some(m) = &module {
        let kernels = if opts.skip_kernels {
            None
        } else {
            let roots = valid::check::search_roots(path, &opts.kernel_paths);
            let mut cache = valid::kernel::KernelCache::with_include_roots(roots);
            let (k, d, facts) = valid::kernel::check_kernels_with_facts(m, &mut cache);
            diagnostics.extend(d);
            kernel_facts = facts;
            Some(k)
        };
        let clean = !diagnostics.iter().any(|d| d.severity == Severity::Error);
        if let (true, Some(k)) = (clean, kernels) {
            match valid::ModuleInfo::new(k).and_then(|info| back::lower::lower(m, &info)) {
                Ok(p) => plan = Some(p),
                Err(e) => diagnostics.push(e.to_diagnostic()),
            }
        }
    }
    let mut diagnostics = diag::externalize(diagnostics, &sources);
    diagnostics.sort_by_key(|d| d.primary_span().map(|s| s.start).unwrap_or(0));
    Report {
        path: path.to_path_buf(),
        source,
        diagnostics,
        module,
        plan,
        sources,
        kernel_facts,
    }
}
