//! The checked graph: the output of the checker and the input of kernel
//! checking and lowering. Every name is resolved, every type is a
//! [`PortType`], every channel joins two known endpoints. Spans point back
//! into the `.pt` source for diagnostics.

use ptc_plan::types::{PortType, StructLayout, Value};
use ptc_plan::{Sink, Source};
use std::path::PathBuf;

/// A byte range in a source file.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(s: Span) -> Self {
        (s.start, s.end.saturating_sub(s.start)).into()
    }
}

/// A name with the span where it is written.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A graph-level port kind.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum GraphPortDir {
    Input,
    Output,
}

/// An `input` or `output` of a graph.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphPort {
    pub name: Ident,
    pub dir: GraphPortDir,
    pub ty: PortType,
    /// Span of the type expression.
    pub ty_span: Span,
    /// Where an input's frames come from (the `from` clause; `Host` if none,
    /// and for outputs).
    pub source: Source,
    /// Where an output's frames go (the `to` clause; `Host` if none, and
    /// for inputs).
    pub sink: Sink,
    /// Span of the whole declaration.
    pub span: Span,
}

/// The kind of a ptask port.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PortKind {
    /// `in`: consumed by each firing; blocks firing until data arrives.
    In,
    /// `sticky`: an input that keeps its last value and never blocks firing
    /// once it holds one.
    Sticky,
    /// `out`: produced by each firing.
    Out,
}

/// A storage-buffer port of a ptask (`in`, `sticky` or `out`).
#[derive(Clone, Debug, PartialEq)]
pub struct Port {
    pub name: Ident,
    pub kind: PortKind,
    pub ty: PortType,
    pub ty_span: Span,
    /// Initial value (`= 0.0`), broadcast to every scalar component; seeds
    /// the first firing (required on the back edge of a cycle).
    pub init: Option<Value>,
    pub span: Span,
}

/// A `param` of a ptask: one member of its push-constant block.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: Ident,
    pub ty: ptc_plan::types::Scalar,
    pub ty_span: Span,
    pub value: Value,
    pub span: Span,
}

/// The type a `spec` declares.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SpecTy {
    /// `bool` (0 or 1).
    Bool,
    /// `u32`, `i32` or `f32`.
    Scalar(ptc_plan::types::Scalar),
}

impl std::fmt::Display for SpecTy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpecTy::Bool => f.write_str("bool"),
            SpecTy::Scalar(s) => write!(f, "{s}"),
        }
    }
}

/// `spec NAME: TYPE = EXPR;`: a value for the kernel's specialization
/// constant NAME.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    pub name: Ident,
    pub ty: SpecTy,
    pub ty_span: Span,
    /// Its value (a bool is `U32(0 | 1)`).
    pub value: Value,
    pub span: Span,
}

/// `define NAME = "VALUE";`: a macro for the kernel's preprocessor.
#[derive(Clone, Debug, PartialEq)]
pub struct Define {
    pub name: Ident,
    pub value: String,
    pub span: Span,
}

/// Where a ptask instantiated from a template comes from.
#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    /// The template's name.
    pub template: String,
    /// `ptask b = T(...);` in the graph.
    pub call: Span,
}

/// A ptask: a kernel with typed ports.
#[derive(Clone, Debug, PartialEq)]
pub struct Ptask {
    pub name: Ident,
    /// The kernel path as written.
    pub kernel: String,
    pub kernel_span: Span,
    /// The kernel file, resolved (the declaring file's directory, then its
    /// ancestors, then `--kernel-path` roots). `None` if it could not be
    /// found (an error has been reported).
    pub kernel_path: Option<PathBuf>,
    /// Specialization constant values, in declaration order.
    pub specs: Vec<Spec>,
    /// Preprocessor macros, in declaration order.
    pub defines: Vec<Define>,
    /// `entry "name";` (HLSL and SPIR-V kernels), if written.
    pub entry: Option<(String, Span)>,
    /// The template it was instantiated from, if any.
    pub instance: Option<Instance>,
    /// `in`/`sticky`/`out` ports in declaration order (= binding order).
    pub ports: Vec<Port>,
    /// Params in declaration order (= push-constant order).
    pub params: Vec<Param>,
    /// `grid [x, y, z]` override, in invocations.
    pub grid: Option<([u64; 3], Span)>,
    /// Per-ptask priority override.
    pub priority: Option<u32>,
    pub span: Span,
}

/// One end of a channel.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// A graph `input`/`output`, by index into [`Graph::ports`].
    Graph(usize),
    /// A ptask port: (ptask index, port index into `Ptask::ports`).
    Ptask(usize, usize),
}

/// A channel `a -> b`.
#[derive(Clone, Debug, PartialEq)]
pub struct Channel {
    pub from: Endpoint,
    pub to: Endpoint,
    pub from_span: Span,
    pub to_span: Span,
    pub span: Span,
}

/// A checked graph.
#[derive(Clone, Debug, PartialEq)]
pub struct Graph {
    pub name: Ident,
    /// 1..=100, default 50.
    pub priority: u32,
    pub ports: Vec<GraphPort>,
    pub ptasks: Vec<Ptask>,
    pub channels: Vec<Channel>,
    pub span: Span,
}

/// The value of a constant expression.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum ConstVal {
    /// A whole number (arithmetic stays within i64; a literal may be wider).
    Int(i128),
    /// A number with a fraction or an exponent.
    Float(f64),
}

impl ConstVal {
    /// As a float.
    pub fn as_f64(self) -> f64 {
        match self {
            ConstVal::Int(i) => i as f64,
            ConstVal::Float(f) => f,
        }
    }
}

impl std::fmt::Display for ConstVal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConstVal::Int(i) => write!(f, "{i}"),
            // `{:?}` keeps a `.` (or an exponent): `3.0`, `1e-7`.
            ConstVal::Float(x) => write!(f, "{x:?}"),
        }
    }
}

/// A `const`, evaluated (for tools: hover, go to definition).
#[derive(Clone, Debug, PartialEq)]
pub struct ConstInfo {
    pub name: Ident,
    /// `None` if it has an error.
    pub value: Option<ConstVal>,
    /// Its value came from `--set`.
    pub overridden: bool,
    pub span: Span,
}

/// A ptask template (for tools).
#[derive(Clone, Debug, PartialEq)]
pub struct TemplateInfo {
    pub name: Ident,
    /// Each parameter: name, type as written, default as written.
    pub params: Vec<(Ident, String, Option<String>)>,
    pub span: Span,
}

/// An `import` (for tools).
#[derive(Clone, Debug, PartialEq)]
pub struct ImportInfo {
    /// The path as written, and the span of the string.
    pub path: String,
    pub path_span: Span,
    /// The file it names, if found.
    pub resolved: Option<PathBuf>,
    pub span: Span,
}

/// A checked `.pt` file.
#[derive(Clone, Debug, PartialEq)]
pub struct Module {
    /// The file as given on the command line.
    pub path: PathBuf,
    pub structs: Vec<StructLayout>,
    pub graph: Graph,
    /// Every const of the file and its imports.
    pub consts: Vec<ConstInfo>,
    /// Every ptask template of the file and its imports.
    pub templates: Vec<TemplateInfo>,
    /// Every import of the file and its imports.
    pub imports: Vec<ImportInfo>,
}
