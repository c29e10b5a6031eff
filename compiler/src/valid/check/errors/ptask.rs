//! Errors inside ptask bodies ([`PtaskError`]) and their rendering.

use crate::diag::{Code, Diagnostic};
use crate::ir::Span;
use std::path::PathBuf;

/// Problems inside a ptask body.
#[derive(Clone, Debug, PartialEq)]
pub enum PtaskError {
    OutputInit {
        port: String,
        span: Span,
    },
    StructInit {
        what: String,
        span: Span,
    },
    ParamNotScalar {
        what: String,
        span: Span,
    },
    NoKernel {
        ptask: String,
        span: Span,
    },
    SecondKernel {
        ptask: String,
        span: Span,
        first: Span,
    },
    SecondGrid {
        ptask: String,
        span: Span,
        first: Span,
    },
    GridRank {
        n: usize,
        span: Span,
    },
    GridSize {
        text: String,
        span: Span,
    },
    NoOutNoGrid {
        ptask: String,
        span: Span,
    },
    SecondPriority {
        ptask: String,
        span: Span,
        first: Span,
    },
    EmptyKernelPath {
        span: Span,
    },
    KernelNotFound {
        path: String,
        span: Span,
        looked: Vec<PathBuf>,
    },
    /// A `spec` type that is not bool, u32, i32 or f32.
    SpecType {
        what: String,
        span: Span,
    },
    SecondEntry {
        ptask: String,
        span: Span,
        first: Span,
    },
    EmptyEntry {
        span: Span,
    },
    /// A `define` whose value holds a control character.
    DefineValue {
        name: String,
        span: Span,
    },
    /// A `define` name the compiler reserves (`GL_`, `__`).
    DefineName {
        name: String,
        span: Span,
    },
}

impl PtaskError {
    pub(super) fn to_diagnostic(&self) -> Diagnostic {
        use PtaskError as E;
        match self {
            E::OutputInit { port, span } => Diagnostic::new(
                Code::InvalidValue,
                format!("output port `{port}` cannot have an initial value"),
            )
            .primary(*span, "initial values seed inputs")
            .help("put the initial value on the `in` port that reads this output"),
            E::StructInit { what, span } => Diagnostic::new(
                Code::InvalidValue,
                format!("{what} holds structs and cannot have an initial value"),
            )
            .primary(*span, "only scalar and vector ports take an initial value"),
            E::ParamNotScalar { what, span } => Diagnostic::new(
                Code::InvalidType,
                format!("{what} must be a u32, i32 or f32"),
            )
            .primary(*span, "not a push-constant scalar")
            .help("params are single push-constant scalars; pass arrays through a port"),
            E::NoKernel { ptask, span } => Diagnostic::new(
                Code::InvalidPtask,
                format!("ptask `{ptask}` has no `kernel` statement"),
            )
            .primary(*span, "no kernel")
            .help("add the GLSL compute shader it runs, e.g. `kernel \"kernels/scale.comp\";`"),
            E::SecondKernel { ptask, span, first } => Diagnostic::new(
                Code::InvalidPtask,
                format!("ptask `{ptask}` has more than one `kernel` statement"),
            )
            .primary(*span, "second kernel")
            .secondary(*first, "first kernel")
            .help("a ptask runs exactly one kernel; split it into two ptasks"),
            E::SecondGrid { ptask, span, first } => Diagnostic::new(
                Code::InvalidPtask,
                format!("ptask `{ptask}` has more than one `grid`"),
            )
            .primary(*span, "second grid")
            .secondary(*first, "first grid"),
            E::GridRank { n, span } => Diagnostic::new(
                Code::InvalidPtask,
                format!("a grid has 1 to 3 dimensions, not {n}"),
            )
            .primary(
                *span,
                "expected `grid [x]`, `grid [x, y]` or `grid [x, y, z]`",
            ),
            E::GridSize { text, span } => Diagnostic::new(
                Code::InvalidPtask,
                format!("grid size `{text}` is not valid"),
            )
            .primary(*span, "expected a whole number of invocations from 1 up"),
            E::NoOutNoGrid { ptask, span } => Diagnostic::new(
                Code::InvalidPtask,
                format!("ptask `{ptask}` has no `out` port and no `grid`"),
            )
            .primary(*span, "cannot size its dispatch")
            .help("the dispatch size comes from the first `out` port; add one, or say `grid [x, y, z];`"),
            E::SecondPriority { ptask, span, first } => Diagnostic::new(
                Code::InvalidPtask,
                format!("ptask `{ptask}` has more than one `priority`"),
            )
            .primary(*span, "second priority")
            .secondary(*first, "first priority"),
            E::EmptyKernelPath { span } => {
                Diagnostic::new(Code::InvalidPtask, "the kernel path is empty")
                    .primary(*span, "empty path")
                    .help("name a GLSL compute shader, e.g. `kernel \"kernels/scale.comp\";`")
            }
            E::SpecType { what, span } => Diagnostic::new(
                Code::InvalidType,
                format!("{what} must be a bool, u32, i32 or f32"),
            )
            .primary(*span, "not a specialization-constant type")
            .help("a `spec` sets one of the kernel's scalar `constant_id` constants"),
            E::SecondEntry { ptask, span, first } => Diagnostic::new(
                Code::InvalidPtask,
                format!("ptask `{ptask}` has more than one `entry`"),
            )
            .primary(*span, "second entry")
            .secondary(*first, "first entry"),
            E::EmptyEntry { span } => Diagnostic::new(Code::InvalidPtask, "the entry point name is empty")
                .primary(*span, "empty name")
                .help("name the kernel's entry function, e.g. `entry \"CSMain\";`"),
            E::DefineValue { name, span } => Diagnostic::new(
                Code::InvalidValue,
                format!("the value of `define {name}` holds a control character"),
            )
            .primary(*span, "not allowed in a macro")
            .help("a macro value is one line of text without NUL characters"),
            E::DefineName { name, span } => Diagnostic::new(
                Code::InvalidValue,
                format!("`{name}` is reserved by the kernel compiler"),
            )
            .primary(*span, "reserved macro name")
            .help("names starting with `GL_` or containing `__` are reserved; pick another"),
            E::KernelNotFound { path, span, looked } => {
                let mut help = String::from("looked in:");
                for l in looked {
                    help.push_str(&format!("\n  - {}", l.display()));
                }
                help.push_str("\nadd a search root with `--kernel-path DIR`");
                Diagnostic::new(Code::KernelNotFound, format!("kernel `{path}` not found"))
                    .primary(*span, "no such file in any search root")
                    .help(help)
            }
        }
    }
}
