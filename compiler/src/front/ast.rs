//! The syntax tree of a `.pt` file, as written: every node carries the byte
//! span it was parsed from. Numbers are kept as their source text; the
//! checker decides what each one may be (a dimension, a priority, a value).

use crate::ir::{GraphPortDir, Ident, PortKind, Span};

/// A whole file: struct declarations and graphs, in source order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct File {
    pub structs: Vec<StructDecl>,
    pub graphs: Vec<GraphDecl>,
}

/// A number literal as written (`3`, `-1.5e3`, `1_000`).
#[derive(Clone, Debug, PartialEq)]
pub struct Num {
    pub text: String,
    pub span: Span,
}

/// A string literal, escapes resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Str {
    pub value: String,
    pub span: Span,
}

/// `struct Name { field: type, ... }`.
#[derive(Clone, Debug, PartialEq)]
pub struct StructDecl {
    pub name: Ident,
    pub fields: Vec<Field>,
    pub span: Span,
}

/// One field of a struct.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub name: Ident,
    pub ty: TypeExpr,
    pub span: Span,
}

/// The element part of a type.
#[derive(Clone, Debug, PartialEq)]
pub enum ElemExpr {
    /// A scalar or struct name (`f32`, `Event`).
    Named(Ident),
    /// `vecN<T>`: `n` is the text after `vec`, with its span.
    Vector { n: Num, scalar: Ident, span: Span },
}

impl ElemExpr {
    /// Span of the element type.
    pub fn span(&self) -> Span {
        match self {
            ElemExpr::Named(i) => i.span,
            ElemExpr::Vector { span, .. } => *span,
        }
    }
}

/// A type: element type and optional array shape (`f32[480, 640]`).
#[derive(Clone, Debug, PartialEq)]
pub struct TypeExpr {
    pub elem: ElemExpr,
    /// The dimensions and the span of the brackets, if written.
    pub shape: Option<(Vec<Num>, Span)>,
    pub span: Span,
}

/// `graph NAME [priority N] { ... }`.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphDecl {
    pub name: Ident,
    pub priority: Option<Num>,
    pub ports: Vec<GraphPortDecl>,
    pub ptasks: Vec<PtaskDecl>,
    pub channels: Vec<ChannelDecl>,
    /// True if a syntax error was found in the body (items were skipped).
    pub body_errors: bool,
    /// Names of graph ports and ptasks whose declarations failed to parse;
    /// references to them are not reported again as unknown.
    pub broken_names: Vec<String>,
    pub span: Span,
}

/// Source or sink direction of a clause.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ClauseKind {
    From,
    To,
}

/// `from SOURCE` / `to SINK`.
#[derive(Clone, Debug, PartialEq)]
pub struct Clause {
    pub kind: ClauseKind,
    pub kind_span: Span,
    pub name: Ident,
    /// Arguments in parentheses, if written, with the span of the parentheses.
    pub args: Option<(Vec<Arg>, Span)>,
    pub span: Span,
}

/// A literal argument value.
#[derive(Clone, Debug, PartialEq)]
pub enum Lit {
    Num(Num),
    Str(Str),
}

impl Lit {
    /// Span of the literal.
    pub fn span(&self) -> Span {
        match self {
            Lit::Num(n) => n.span,
            Lit::Str(s) => s.span,
        }
    }
}

/// `name: value` or a positional `value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    pub name: Option<Ident>,
    pub value: Lit,
    pub span: Span,
}

/// `input NAME: TYPE [from SOURCE];` / `output NAME: TYPE [to SINK];`.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphPortDecl {
    pub dir: GraphPortDir,
    pub dir_span: Span,
    pub name: Ident,
    pub ty: TypeExpr,
    pub clause: Option<Clause>,
    pub span: Span,
}

/// `ptask NAME { ... }`.
#[derive(Clone, Debug, PartialEq)]
pub struct PtaskDecl {
    pub name: Ident,
    /// `kernel "path";` statements (one is required).
    pub kernels: Vec<(Str, Span)>,
    pub ports: Vec<PortDecl>,
    pub params: Vec<ParamDecl>,
    /// `grid [...]` statements with their dimensions.
    pub grids: Vec<(Vec<Num>, Span)>,
    /// `priority N;` statements.
    pub priorities: Vec<(Num, Span)>,
    /// True if a statement in the body failed to parse.
    pub body_errors: bool,
    pub span: Span,
}

/// `in|sticky|out NAME: TYPE [= value];`.
#[derive(Clone, Debug, PartialEq)]
pub struct PortDecl {
    pub kind: PortKind,
    pub kind_span: Span,
    pub name: Ident,
    pub ty: TypeExpr,
    pub init: Option<Num>,
    pub span: Span,
}

/// `param NAME: SCALAR = value;`.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamDecl {
    pub name: Ident,
    pub ty: TypeExpr,
    pub value: Num,
    pub span: Span,
}

/// `x` or `ptask.port`, one end of a channel.
#[derive(Clone, Debug, PartialEq)]
pub struct PortRef {
    pub first: Ident,
    pub second: Option<Ident>,
    pub span: Span,
}

impl PortRef {
    /// The reference as written, `a` or `a.b`.
    pub fn text(&self) -> String {
        match &self.second {
            Some(s) => format!("{}.{}", self.first.name, s.name),
            None => self.first.name.clone(),
        }
    }
}

/// `from -> to;`.
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelDecl {
    pub from: PortRef,
    pub to: PortRef,
    pub span: Span,
}
