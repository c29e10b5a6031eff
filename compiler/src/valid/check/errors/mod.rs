//! The checker's errors as types. Each rule of the checker reports a value
//! of one of these enums, carrying what it found (names, spans, the
//! suggestion it computed); [`CheckError::to_diagnostic`] is the one place
//! that turns them into words, codes and labels.
//!
//! The enums follow the checker's files: [`TypeError`] (structs, types,
//! shapes, values, priorities), [`ClauseError`] (`from`/`to` clauses),
//! [`PtaskError`] (ptask bodies), [`ChannelError`] (channel ends) and
//! [`FlowError`] (connections, cycles, liveness).
//!
//! Each of those enums, with its rendering, lives in the submodule named
//! like the checker file that reports it (`types`, `clauses`, `ptask`,
//! `channels`, `flow`, `consts`, `templates`, `imports`); this module holds
//! [`CheckError`] itself, the shared helpers and the one entry point,
//! [`CheckError::to_diagnostic`].

mod channels;
mod clauses;
mod consts;
mod flow;
mod imports;
mod ptask;
mod templates;
mod types;

pub use channels::{ChannelError, EndKind};
pub use clauses::ClauseError;
pub use consts::ConstError;
pub use flow::FlowError;
pub use imports::ImportError;
pub use ptask::PtaskError;
pub use templates::TemplateError;
pub use types::TypeError;

use crate::diag::{Code, Diagnostic};
use crate::ir::Span;
use ptc_plan::types::Scalar;

/// Any problem the checker reports.
#[derive(Clone, Debug, PartialEq)]
pub enum CheckError {
    /// The file has no graph (and no syntax errors that could explain it).
    NoGraph,
    /// A second `graph` in one file.
    SecondGraph {
        name: String,
        span: Span,
        first: Span,
    },
    /// A graph port, ptask, port or param name declared twice in one scope.
    Duplicate {
        name: String,
        span: Span,
        first: Span,
    },
    Type(TypeError),
    Clause(ClauseError),
    Ptask(PtaskError),
    Channel(ChannelError),
    Flow(FlowError),
    Const(ConstError),
    Template(TemplateError),
    Import(ImportError),
    /// An error inside a template's body while checking one instance.
    InInstance {
        error: Box<CheckError>,
        ptask: String,
        template: String,
        call: Span,
    },
}

/// What a "did you mean" search or a listing of alternatives found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hint {
    /// A close match.
    DidYouMean(String),
    /// Nothing close: the default help of the rule.
    None,
}

macro_rules! from_kind {
    ($($t:ident => $v:ident),*) => {$(
        impl From<$t> for CheckError {
            fn from(e: $t) -> CheckError {
                CheckError::$v(e)
            }
        }
    )*};
}
from_kind!(
    TypeError => Type,
    ClauseError => Clause,
    PtaskError => Ptask,
    ChannelError => Channel,
    FlowError => Flow,
    ConstError => Const,
    TemplateError => Template,
    ImportError => Import
);

/// `a` or `an` before a scalar type name.
fn article(s: Scalar) -> &'static str {
    if s.name().starts_with('u') {
        "a"
    } else {
        "an"
    }
}

fn list(names: &[impl AsRef<str>]) -> String {
    names
        .iter()
        .map(|n| format!("`{}`", n.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl CheckError {
    /// The diagnostic a user sees for this error.
    pub fn to_diagnostic(&self) -> Diagnostic {
        match self {
            CheckError::NoGraph => Diagnostic::new(Code::GraphCount, "this file has no graph")
                .primary(Span::new(0, 0), "expected `graph NAME { ... }`")
                .help("a .pt file holds one `graph NAME { ... }`; see graphs/saxpy2.pt"),
            CheckError::SecondGraph { name, span, first } => Diagnostic::new(
                Code::GraphCount,
                format!("a file holds one graph; `{name}` is a second one"),
            )
            .primary(*span, "second graph")
            .secondary(*first, "the first graph is here")
            .help("move each graph to its own .pt file"),
            CheckError::Duplicate { name, span, first } => Diagnostic::new(
                Code::DuplicateName,
                format!("the name `{name}` is declared twice"),
            )
            .primary(*span, "declared again here")
            .secondary(*first, "first declared here")
            .help("names are unique within a graph (graph ports and ptasks) and within a ptask (ports and params)"),
            CheckError::Type(e) => e.to_diagnostic(),
            CheckError::Clause(e) => e.to_diagnostic(),
            CheckError::Ptask(e) => e.to_diagnostic(),
            CheckError::Channel(e) => e.to_diagnostic(),
            CheckError::Flow(e) => e.to_diagnostic(),
            CheckError::Const(e) => e.to_diagnostic(),
            CheckError::Template(e) => e.to_diagnostic(),
            CheckError::Import(e) => e.to_diagnostic(),
            CheckError::InInstance {
                error,
                ptask,
                template,
                call,
            } => error.to_diagnostic().secondary(
                *call,
                format!("in ptask `{ptask}`, an instance of template `{template}`"),
            ),
        }
    }
}

/// `did you mean` if there is a close name, else `names` listed (or
/// `none` when there are none).
fn names_help(hint: &Hint, what: &str, names: &[String], none: &str) -> String {
    match hint {
        Hint::DidYouMean(s) => format!("did you mean `{s}`?"),
        Hint::None if names.is_empty() => none.to_string(),
        Hint::None => format!("{what} {}", list(names)),
    }
}

/// A byte count in MiB, e.g. `128 MiB` or `130.5 MiB`.
pub fn human_bytes(b: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if b % MIB == 0 {
        format!("{} MiB", b / MIB)
    } else {
        format!("{:.1} MiB", b as f64 / MIB as f64)
    }
}
