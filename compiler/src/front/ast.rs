//! The syntax tree of a `.pt` file, as written: every node carries the byte
//! span it was parsed from. Numbers are kept as their source text; the
//! checker decides what each one may be (a dimension, a priority, a value).

use crate::ir::{GraphPortDir, Ident, PortKind, Span};

/// A whole file: its items by kind, each kind in source order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct File {
    pub structs: Vec<StructDecl>,
    pub graphs: Vec<GraphDecl>,
    pub consts: Vec<ConstDecl>,
    pub imports: Vec<ImportDecl>,
    pub templates: Vec<TemplateDecl>,
}

/// One step of an expression in postfix order.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprOp {
    /// A number as written (no sign).
    Num(String),
    /// A const or template parameter.
    Name(String),
    /// Unary minus.
    Neg,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

/// An expression step with the span of its token.
#[derive(Clone, Debug, PartialEq)]
pub struct ExprTok {
    pub op: ExprOp,
    pub span: Span,
}

/// An expression (`W * 2 + 1`), in postfix order: evaluating it takes a
/// value stack, never recursion.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// Empty if the expression did not parse (a syntax error was reported).
    pub postfix: Vec<ExprTok>,
    /// The source text, for messages.
    pub text: String,
    pub span: Span,
}

impl Expr {
    /// The names it uses, with their spans.
    pub fn names(&self) -> impl Iterator<Item = (&str, Span)> {
        self.postfix.iter().filter_map(|t| match &t.op {
            ExprOp::Name(n) => Some((n.as_str(), t.span)),
            _ => None,
        })
    }

    /// A literal number alone (no names, no operators): its text.
    pub fn literal(&self) -> Option<&str> {
        match self.postfix.as_slice() {
            [ExprTok {
                op: ExprOp::Num(n), ..
            }] => Some(n),
            _ => None,
        }
    }
}

/// `const NAME = EXPR;`.
#[derive(Clone, Debug, PartialEq)]
pub struct ConstDecl {
    pub name: Ident,
    pub value: Expr,
    pub span: Span,
}

/// `import "path";`.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportDecl {
    pub path: Str,
    pub span: Span,
}

/// A parameter of a ptask template: `NAME: TYPE [= DEFAULT]`.
#[derive(Clone, Debug, PartialEq)]
pub struct TemplateParam {
    pub name: Ident,
    pub ty: TypeExpr,
    pub default: Option<Expr>,
    pub span: Span,
}

/// `ptask NAME(P: TYPE [= DEFAULT], ...) { ... }` at the top level.
#[derive(Clone, Debug, PartialEq)]
pub struct TemplateDecl {
    pub name: Ident,
    pub params: Vec<TemplateParam>,
    /// The body, as a ptask named after the template.
    pub body: PtaskDecl,
    /// The header, `ptask NAME(...)`.
    pub head: Span,
    pub span: Span,
}

/// `NAME: EXPR` in an instantiation.
#[derive(Clone, Debug, PartialEq)]
pub struct InstArg {
    pub name: Ident,
    pub value: Expr,
    pub span: Span,
}

/// `= TEMPLATE(P: EXPR, ...)` of `ptask b = TEMPLATE(...);`.
#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    pub template: Ident,
    pub args: Vec<InstArg>,
    pub span: Span,
}

/// `spec NAME: TYPE = EXPR;`.
#[derive(Clone, Debug, PartialEq)]
pub struct SpecDecl {
    pub name: Ident,
    pub ty: TypeExpr,
    pub value: Expr,
    pub span: Span,
}

/// The value of a `define`.
#[derive(Clone, Debug, PartialEq)]
pub enum DefineValue {
    Str(Str),
    Expr(Expr),
}

/// `define NAME = "VALUE";` (or an expression).
#[derive(Clone, Debug, PartialEq)]
pub struct DefineDecl {
    pub name: Ident,
    pub value: DefineValue,
    pub span: Span,
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
    pub shape: Option<(Vec<Expr>, Span)>,
    pub span: Span,
}

/// `graph NAME [priority N] { ... }`.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphDecl {
    pub name: Ident,
    pub priority: Option<Expr>,
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

/// `ptask NAME { ... }`, or `ptask NAME = TEMPLATE(...);` (then `instance`
/// is set and the body is empty).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct PtaskDecl {
    pub name: Ident,
    /// `kernel "path";` statements (one is required).
    pub kernels: Vec<(Str, Span)>,
    pub ports: Vec<PortDecl>,
    pub params: Vec<ParamDecl>,
    pub specs: Vec<SpecDecl>,
    pub defines: Vec<DefineDecl>,
    /// `entry "name";` statements.
    pub entries: Vec<(Str, Span)>,
    /// `grid [...]` statements with their dimensions.
    pub grids: Vec<(Vec<Expr>, Span)>,
    /// `priority N;` statements.
    pub priorities: Vec<(Expr, Span)>,
    /// `= TEMPLATE(...)`.
    pub instance: Option<Instance>,
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
    pub init: Option<Expr>,
    pub span: Span,
}

/// `param NAME: SCALAR = value;`.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamDecl {
    pub name: Ident,
    pub ty: TypeExpr,
    pub value: Expr,
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

/// Moves every span of a tree by a fixed offset: an imported file is
/// parsed on its own, then placed at its origin in the checker's one span
/// space (see `valid::check::imports`).
pub trait Shift {
    fn shift(&mut self, by: usize);
}

impl Shift for Span {
    fn shift(&mut self, by: usize) {
        self.start += by;
        self.end += by;
    }
}

impl<T: Shift> Shift for Vec<T> {
    fn shift(&mut self, by: usize) {
        for x in self {
            x.shift(by);
        }
    }
}

impl<T: Shift> Shift for Option<T> {
    fn shift(&mut self, by: usize) {
        if let Some(x) = self {
            x.shift(by);
        }
    }
}

impl<A: Shift, B: Shift> Shift for (A, B) {
    fn shift(&mut self, by: usize) {
        self.0.shift(by);
        self.1.shift(by);
    }
}

macro_rules! shift_fields {
    ($($t:ty { $($f:ident),* })*) => {$(
        impl Shift for $t {
            fn shift(&mut self, by: usize) {
                $( self.$f.shift(by); )*
            }
        }
    )*};
}

shift_fields! {
    Ident { span }
    Num { span }
    Str { span }
    ExprTok { span }
    Expr { postfix, span }
    StructDecl { name, fields, span }
    Field { name, ty, span }
    TypeExpr { elem, shape, span }
    GraphDecl { name, priority, ports, ptasks, channels, span }
    Clause { kind_span, name, args, span }
    Arg { name, value, span }
    GraphPortDecl { dir_span, name, ty, clause, span }
    PtaskDecl { name, kernels, ports, params, specs, defines, entries, grids, priorities, instance, span }
    PortDecl { kind_span, name, ty, init, span }
    ParamDecl { name, ty, value, span }
    SpecDecl { name, ty, value, span }
    DefineDecl { name, value, span }
    Instance { template, args, span }
    InstArg { name, value, span }
    PortRef { first, second, span }
    ChannelDecl { from, to, span }
    ConstDecl { name, value, span }
    ImportDecl { path, span }
    TemplateParam { name, ty, default, span }
    TemplateDecl { name, params, body, head, span }
    File { structs, graphs, consts, imports, templates }
}

impl Shift for ElemExpr {
    fn shift(&mut self, by: usize) {
        match self {
            ElemExpr::Named(i) => i.shift(by),
            ElemExpr::Vector { n, scalar, span } => {
                n.shift(by);
                scalar.shift(by);
                span.shift(by);
            }
        }
    }
}

impl Shift for Lit {
    fn shift(&mut self, by: usize) {
        match self {
            Lit::Num(n) => n.shift(by),
            Lit::Str(s) => s.shift(by),
        }
    }
}

impl Shift for DefineValue {
    fn shift(&mut self, by: usize) {
        match self {
            DefineValue::Str(s) => s.shift(by),
            DefineValue::Expr(e) => e.shift(by),
        }
    }
}
