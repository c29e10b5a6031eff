//! The checker's errors as types. Each rule of the checker reports a value
//! of one of these enums, carrying what it found (names, spans, the
//! suggestion it computed); [`CheckError::to_diagnostic`] is the one place
//! that turns them into words, codes and labels.
//!
//! The enums follow the checker's files: [`TypeError`] (structs, types,
//! shapes, values, priorities), [`ClauseError`] (`from`/`to` clauses),
//! [`PtaskError`] (ptask bodies), [`ChannelError`] (channel ends) and
//! [`FlowError`] (connections, cycles, liveness).

use crate::diag::{Code, Diagnostic};
use crate::ir::Span;
use ptc_plan::types::{PortType, Scalar};
use std::path::PathBuf;

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

/// Problems with consts and expressions.
#[derive(Clone, Debug, PartialEq)]
pub enum ConstError {
    /// A name in an expression that is no const (or template parameter).
    UnknownName {
        name: String,
        span: Span,
        hint: Hint,
        known: Vec<String>,
    },
    /// `--set NAME=...` for a const the file does not declare.
    UnknownSet {
        name: String,
        known: Vec<String>,
        hint: Hint,
    },
    /// `--set NAME=VALUE` whose value is not a number.
    BadSet {
        name: String,
        value: String,
    },
    /// A dependency cycle, `path` (its first const again at the end);
    /// `span`: the use that closes it.
    Cycle {
        path: Vec<String>,
        span: Span,
    },
    /// `what` (e.g. `307200 * 100000000000`) overflows, inside `expr`.
    Overflow {
        what: String,
        span: Span,
        expr: String,
    },
    DivZero {
        what: String,
        span: Span,
        expr: String,
    },
    /// `%` of a fraction.
    FracRem {
        what: String,
        span: Span,
        expr: String,
    },
    BadNumber {
        text: String,
        span: Span,
    },
}

/// Problems with ptask templates and their instances.
#[derive(Clone, Debug, PartialEq)]
pub enum TemplateError {
    Unknown {
        name: String,
        span: Span,
        hint: Hint,
        known: Vec<String>,
    },
    UnknownParam {
        template: String,
        param: String,
        span: Span,
        hint: Hint,
        params: Vec<String>,
        decl: Span,
    },
    /// An instance without a value for a parameter that has no default.
    MissingArg {
        template: String,
        param: String,
        span: Span,
        decl: Span,
    },
    ArgTwice {
        param: String,
        span: Span,
        first: Span,
    },
    /// A template parameter whose type is not a u32, i32 or f32.
    ParamType { param: String, span: Span },
}

/// Problems with imports.
#[derive(Clone, Debug, PartialEq)]
pub enum ImportError {
    NotFound {
        path: String,
        span: Span,
        looked: Vec<PathBuf>,
    },
    /// The files of an import cycle, in order, the first again at the end.
    Cycle { files: Vec<String>, span: Span },
    /// The file could not be read: the reader's diagnostic, placed at the
    /// import.
    Unreadable {
        diagnostic: Box<Diagnostic>,
        span: Span,
    },
    /// Imports nest deeper, or name more files, than ptc follows.
    TooMany { span: Span, max: usize },
}

/// What a "did you mean" search or a listing of alternatives found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hint {
    /// A close match.
    DidYouMean(String),
    /// Nothing close: the default help of the rule.
    None,
}

/// Problems with structs, types, shapes and literal values.
#[derive(Clone, Debug, PartialEq)]
pub enum TypeError {
    /// `struct f32 { ... }`.
    BuiltinRedeclared {
        name: String,
        span: Span,
    },
    DuplicateStruct {
        name: String,
        span: Span,
        first: Span,
    },
    EmptyStruct {
        name: String,
        span: Span,
    },
    DuplicateField {
        field: String,
        strukt: String,
        span: Span,
        first: Span,
    },
    ArrayField {
        field: String,
        shape: Span,
    },
    NestedStruct {
        field: String,
        ty: String,
        span: Span,
    },
    /// An unknown element type; `vec_name`: it was written `vecN` without `<T>`.
    Unknown {
        name: String,
        span: Span,
        vec_name: bool,
        hint: Hint,
    },
    /// `vec2<u8>`.
    VectorComponent {
        scalar: Scalar,
        span: Span,
    },
    UnknownVectorComponent {
        name: String,
        span: Span,
        hint: Hint,
    },
    /// `vec5<f32>`.
    VectorSize {
        n: String,
        span: Span,
    },
    /// A port type whose size in bytes overflows.
    SizeOverflow {
        what: String,
        span: Span,
    },
    /// A port type larger than a storage buffer.
    BufferTooLarge {
        what: String,
        bytes: u64,
        span: Span,
    },
    EmptyShape {
        span: Span,
    },
    ZeroDimension {
        span: Span,
    },
    BadDimension {
        text: String,
        span: Span,
    },
    F32Range {
        text: String,
        what: String,
        span: Span,
    },
    UintRange {
        text: String,
        what: String,
        ty: Scalar,
        max: i128,
        span: Span,
    },
    I32Range {
        text: String,
        what: String,
        span: Span,
    },
    NotWhole {
        text: String,
        what: String,
        ty: Scalar,
        span: Span,
    },
    Priority {
        text: String,
        span: Span,
    },
    /// A bool spec value other than 0 or 1.
    BoolRange {
        text: String,
        what: String,
        span: Span,
    },
}

/// Problems with `from`/`to` clauses of graph ports.
#[derive(Clone, Debug, PartialEq)]
pub enum ClauseError {
    InputWithSink {
        port: String,
        kind: Span,
        endpoint: String,
    },
    OutputWithSource {
        port: String,
        kind: Span,
        endpoint: String,
    },
    UnknownArg {
        endpoint: String,
        arg: String,
        span: Span,
        hint: Hint,
        takes: Vec<&'static str>,
    },
    /// A positional argument where none (or no more) is accepted.
    UnexpectedArg {
        endpoint: String,
        span: Span,
        takes_none: bool,
    },
    ArgTwice {
        arg: String,
        span: Span,
    },
    /// `want_str`: the argument is a string (else a number).
    ArgKind {
        arg: String,
        endpoint: String,
        want_str: bool,
        span: Span,
    },
    MissingArg {
        endpoint: String,
        arg: String,
        span: Span,
    },
    Fps {
        text: String,
        span: Span,
    },
    Seed {
        text: String,
        span: Span,
    },
    UnknownSource {
        name: String,
        span: Span,
        hint: Hint,
        is_sink: bool,
    },
    UnknownSink {
        name: String,
        span: Span,
        hint: Hint,
        is_source: bool,
    },
}

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

/// What a ptask port is, for direction errors.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum EndKind {
    GraphInput,
    GraphOutput,
    Out,
    In,
    Sticky,
}

/// Problems with the ends of a channel.
#[derive(Clone, Debug, PartialEq)]
pub enum ChannelError {
    UnknownName {
        name: String,
        span: Span,
        hint: Hint,
    },
    /// `graphport.x`.
    GraphPortPort {
        name: String,
        span: Span,
        decl: Span,
    },
    /// A bare ptask name; `port`: a port to suggest.
    PtaskEnd {
        name: String,
        span: Span,
        port: Option<String>,
    },
    ParamEnd {
        text: String,
        span: Span,
        decl: Span,
    },
    NoSuchPort {
        ptask: String,
        port: String,
        span: Span,
        hint: Hint,
        ports: Vec<String>,
    },
    /// `from`: the end is the channel's source.
    WrongDirection {
        text: String,
        span: Span,
        kind: EndKind,
        channel: Span,
        from: bool,
    },
    MultipleWriters {
        text: String,
        span: Span,
        first: Span,
    },
    /// `types`: the element types differ (else the shapes).
    Mismatch {
        types: bool,
        from: (String, Span, PortType),
        to: (String, Span, PortType),
    },
}

/// Problems with how the graph is connected.
#[derive(Clone, Debug, PartialEq)]
pub enum FlowError {
    UnconnectedInput {
        ptask: String,
        port: String,
        span: Span,
    },
    UnreadOutput {
        ptask: String,
        port: String,
        span: Span,
    },
    UnusedInput {
        name: String,
        span: Span,
    },
    OutputUnconnected {
        name: String,
        span: Span,
    },
    /// `ptasks`: the cycle's members; `channels`: its channels (first is
    /// primary); `example`: the seeded declaration to suggest.
    UnseededCycle {
        ptasks: Vec<String>,
        channels: Vec<Span>,
        example: String,
    },
    NeverFires {
        ptask: String,
        span: Span,
        port: String,
        port_span: Span,
        writer: String,
    },
    /// `producer` feeds seeded ports with different initial values.
    ConflictingSeeds {
        producer: String,
        span: Span,
    },
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

impl ConstError {
    fn to_diagnostic(&self) -> Diagnostic {
        use ConstError as E;
        let eval_help = "integers are 64-bit signed and every operation is checked; \
                         write a float (`2.0`) for fractional arithmetic";
        match self {
            E::UnknownName {
                name,
                span,
                hint,
                known,
            } => Diagnostic::new(Code::UnknownName, format!("unknown const `{name}`"))
                .primary(*span, "not a const or template parameter")
                .help(names_help(
                    hint,
                    "the consts and parameters in scope are",
                    known,
                    &format!("declare it at the top level: `const {name} = 16;`"),
                )),
            E::UnknownSet { name, known, hint } => Diagnostic::new(
                Code::InvalidSet,
                format!("`--set {name}=...`: the file has no const `{name}`"),
            )
            .help(names_help(
                hint,
                "its consts are",
                known,
                "the file declares no consts (`const NAME = VALUE;`)",
            )),
            E::BadSet { name, value } => Diagnostic::new(
                Code::InvalidSet,
                format!("`--set {name}={value}`: `{value}` is not a number"),
            )
            .help(format!(
                "write a number, e.g. `--set {name}=320` or `--set {name}=1.5`"
            )),
            E::Cycle { path, span } => Diagnostic::new(
                Code::ConstEval,
                match path.as_slice() {
                    [one, _] => format!("const `{one}` depends on itself"),
                    _ => format!(
                        "consts depend on each other in a cycle: {}",
                        path.join(" -> ")
                    ),
                },
            )
            .primary(*span, "this use closes the cycle")
            .help("a const is computed from literals and other consts; break the cycle"),
            E::Overflow { what, span, expr } => Diagnostic::new(
                Code::ConstEval,
                if what == expr {
                    format!("`{expr}` does not fit in a 64-bit integer")
                } else {
                    format!("`{expr}` overflows: {what} does not fit in a 64-bit integer")
                },
            )
            .primary(*span, "overflows")
            .help(eval_help),
            E::DivZero { what, span, expr } => {
                Diagnostic::new(Code::ConstEval, format!("`{expr}` divides by zero: {what}"))
                    .primary(*span, "division by zero")
                    .help("make the divisor non-zero")
            }
            E::FracRem { what, span, expr } => Diagnostic::new(
                Code::ConstEval,
                if what == expr {
                    format!("`{expr}`: `%` needs whole numbers")
                } else {
                    format!("`{expr}`: `%` needs whole numbers, not {what}")
                },
            )
            .primary(*span, "a fraction")
            .help(eval_help),
            E::BadNumber { text, span } => {
                Diagnostic::new(Code::InvalidValue, format!("`{text}` is not a number"))
                    .primary(*span, "not a number")
            }
        }
    }
}

impl TemplateError {
    fn to_diagnostic(&self) -> Diagnostic {
        use TemplateError as E;
        match self {
            E::Unknown {
                name,
                span,
                hint,
                known,
            } => Diagnostic::new(Code::UnknownName, format!("unknown ptask template `{name}`"))
                .primary(*span, "no template of this name")
                .help(names_help(
                    hint,
                    "the templates in scope are",
                    known,
                    "declare it at the top level, `ptask NAME(P: TYPE) { ... }`, or import the file that does",
                )),
            E::UnknownParam {
                template,
                param,
                span,
                hint,
                params,
                decl,
            } => Diagnostic::new(
                Code::UnknownName,
                format!("template `{template}` has no parameter `{param}`"),
            )
            .primary(*span, "unknown parameter")
            .secondary(*decl, format!("template `{template}` is declared here"))
            .help(names_help(
                hint,
                "its parameters are",
                params,
                &format!("`{template}` takes no parameters"),
            )),
            E::MissingArg {
                template,
                param,
                span,
                decl,
            } => Diagnostic::new(
                Code::InvalidInstance,
                format!("template `{template}` needs a value for `{param}`"),
            )
            .primary(*span, format!("missing `{param}`"))
            .secondary(*decl, "declared without a default here")
            .help(format!("pass it, e.g. `{param}: 16`, or give it a default in the template")),
            E::ArgTwice { param, span, first } => Diagnostic::new(
                Code::InvalidInstance,
                format!("parameter `{param}` is given twice"),
            )
            .primary(*span, "given again here")
            .secondary(*first, "first given here"),
            E::ParamType { param, span } => Diagnostic::new(
                Code::InvalidInstance,
                format!("template parameter `{param}` must be a u32, i32 or f32"),
            )
            .primary(*span, "not a scalar")
            .help("template parameters are numbers, used wherever a const may be"),
        }
    }
}

impl ImportError {
    fn to_diagnostic(&self) -> Diagnostic {
        use ImportError as E;
        match self {
            E::NotFound { path, span, looked } => {
                let mut help = String::from("looked in:");
                for l in looked {
                    help.push_str(&format!("\n  - {}", l.display()));
                }
                help.push_str("\nadd a search root with `--kernel-path DIR`");
                Diagnostic::new(Code::ImportNotFound, format!("import `{path}` not found"))
                    .primary(*span, "no such file in any search root")
                    .help(help)
            }
            E::Cycle { files, span } => Diagnostic::new(
                Code::ImportCycle,
                format!("import cycle: {}", files.join(" -> ")),
            )
            .primary(*span, "this import closes the cycle")
            .help("files import each other; move what they share into a third file both import"),
            E::Unreadable { diagnostic, span } => {
                let d = (**diagnostic).clone();
                let label = d.message.clone();
                d.primary(*span, label)
            }
            E::TooMany { span, max } => Diagnostic::new(
                Code::ImportNotFound,
                format!("imports name more than {max} files; ptc stops following them here"),
            )
            .primary(*span, "not followed"),
        }
    }
}

impl TypeError {
    fn to_diagnostic(&self) -> Diagnostic {
        use TypeError as E;
        match self {
            E::BuiltinRedeclared { name, span } => Diagnostic::new(
                Code::DuplicateName,
                format!("`{name}` is a built-in type and cannot be redeclared"),
            )
            .primary(*span, "built-in type name")
            .help("pick another name for the struct"),
            E::DuplicateStruct { name, span, first } => Diagnostic::new(
                Code::DuplicateName,
                format!("struct `{name}` is declared twice"),
            )
            .primary(*span, "declared again here")
            .secondary(*first, "first declared here"),
            E::EmptyStruct { name, span } => {
                Diagnostic::new(Code::InvalidType, format!("struct `{name}` has no fields"))
                    .primary(*span, "empty struct")
                    .help("give it at least one field, e.g. `x: f32`")
            }
            E::DuplicateField {
                field,
                strukt,
                span,
                first,
            } => Diagnostic::new(
                Code::DuplicateName,
                format!("field `{field}` is declared twice in struct `{strukt}`"),
            )
            .primary(*span, "declared again here")
            .secondary(*first, "first declared here"),
            E::ArrayField { field, shape } => Diagnostic::new(
                Code::InvalidType,
                format!("struct field `{field}` cannot be an array"),
            )
            .primary(*shape, "arrays are not allowed in structs")
            .help("fields are scalars or vectors, e.g. `x: f32` or `p: vec4<f32>`"),
            E::NestedStruct { field, ty, span } => Diagnostic::new(
                Code::InvalidType,
                format!("struct field `{field}` cannot be a struct (`{ty}`)"),
            )
            .primary(*span, "a struct inside a struct")
            .help("nested structs are not supported; inline the fields"),
            E::Unknown {
                name,
                span,
                vec_name,
                hint,
            } => {
                let d = Diagnostic::new(Code::UnknownType, format!("unknown type `{name}`"))
                    .primary(*span, "not a scalar, vector or struct");
                match (vec_name, hint) {
                    (true, _) => d.help(format!(
                        "vectors are written with a component type: `{name}<f32>`"
                    )),
                    (false, Hint::DidYouMean(s)) => d.help(format!("did you mean `{s}`?")),
                    (false, Hint::None) => d.help(
                        "types are u8, u16, u32, i32, f32, vec2/3/4<f32|u32|i32> or a declared struct",
                    ),
                }
            }
            E::VectorComponent { scalar, span } => Diagnostic::new(
                Code::InvalidType,
                format!("vector components cannot be `{scalar}`"),
            )
            .primary(*span, "not a vector component type")
            .help("vector components are f32, u32 or i32"),
            E::UnknownVectorComponent { name, span, hint } => {
                let d = Diagnostic::new(
                    Code::InvalidType,
                    format!("unknown vector component type `{name}`"),
                )
                .primary(*span, "not f32, u32 or i32");
                match hint {
                    Hint::DidYouMean(s) => d.help(format!("did you mean `{s}`?")),
                    Hint::None => d.help("vector components are f32, u32 or i32"),
                }
            }
            E::VectorSize { n, span } => Diagnostic::new(
                Code::InvalidType,
                format!("`vec{n}` is not a vector type"),
            )
            .primary(*span, "vectors have 2, 3 or 4 components")
            .help("use vec2, vec3 or vec4, or an array such as `f32[8]`"),
            E::SizeOverflow { what, span } => Diagnostic::new(
                Code::InvalidShape,
                format!("{what} is too large: its size in bytes overflows"),
            )
            .primary(*span, "too many elements"),
            E::BufferTooLarge { what, bytes, span } => Diagnostic::new(
                Code::BufferTooLarge,
                format!(
                    "{what} needs a {} buffer; a storage buffer holds at most {}",
                    human_bytes(*bytes),
                    human_bytes(ptc_plan::MAX_BUFFER_BYTES)
                ),
            )
            .primary(*span, format!("{bytes} bytes"))
            .help("128 MiB is maxStorageBufferRange on lavapipe (the CPU driver ptc tests on); split the data across several ports"),
            E::EmptyShape { span } => Diagnostic::new(
                Code::InvalidShape,
                "an array shape needs at least one dimension",
            )
            .primary(*span, "empty shape")
            .help("write the dimensions, e.g. `f32[16]` or `u16[480, 640]`"),
            E::ZeroDimension { span } => {
                Diagnostic::new(Code::InvalidShape, "an array dimension cannot be zero")
                    .primary(*span, "zero")
                    .help("every dimension is at least 1")
            }
            E::BadDimension { text, span } => Diagnostic::new(
                Code::InvalidShape,
                format!("`{text}` is not a valid array dimension"),
            )
            .primary(*span, "expected a positive whole number")
            .help("dimensions are whole numbers from 1 up, e.g. `f32[480, 640]`"),
            E::F32Range { text, what, span } => Diagnostic::new(
                Code::InvalidValue,
                format!("`{text}` does not fit in an f32 ({what})"),
            )
            .primary(*span, "out of range for f32"),
            E::UintRange {
                text,
                what,
                ty,
                max,
                span,
            } => Diagnostic::new(
                Code::InvalidValue,
                format!("`{text}` does not fit in a {ty} ({what})"),
            )
            .primary(*span, format!("out of range for {ty}"))
            .help(format!("a {ty} holds 0 to {max}")),
            E::I32Range { text, what, span } => Diagnostic::new(
                Code::InvalidValue,
                format!("`{text}` does not fit in an i32 ({what})"),
            )
            .primary(*span, "out of range for i32")
            .help("an i32 holds -2147483648 to 2147483647"),
            E::NotWhole {
                text,
                what,
                ty,
                span,
            } => Diagnostic::new(
                Code::InvalidValue,
                format!(
                    "`{text}` is not a whole number, but {what} is {} {ty}",
                    article(*ty)
                ),
            )
            .primary(*span, "not a whole number")
            .help("write a whole number, or make it an f32"),
            E::BoolRange { text, what, span } => Diagnostic::new(
                Code::InvalidValue,
                format!("`{text}` is not a bool ({what})"),
            )
            .primary(*span, "expected 0 or 1")
            .help("a bool specialization constant is 0 (false) or 1 (true)"),
            E::Priority { text, span } => Diagnostic::new(
                Code::InvalidPriority,
                format!("priority `{text}` is out of range"),
            )
            .primary(*span, "expected a whole number from 1 to 100")
            .help("priorities run from 1 (lowest) to 100 (highest); the default is 50"),
        }
    }
}

impl ClauseError {
    fn to_diagnostic(&self) -> Diagnostic {
        use ClauseError as E;
        match self {
            E::InputWithSink {
                port,
                kind,
                endpoint,
            } => Diagnostic::new(
                Code::InvalidEndpoint,
                format!("input `{port}` cannot have a sink"),
            )
            .primary(*kind, "`to` is for outputs")
            .help(format!(
                "an input reads `from` a source: `input {port}: ... from {endpoint}`"
            )),
            E::OutputWithSource {
                port,
                kind,
                endpoint,
            } => Diagnostic::new(
                Code::InvalidEndpoint,
                format!("output `{port}` cannot have a source"),
            )
            .primary(*kind, "`from` is for inputs")
            .help(format!(
                "an output writes `to` a sink: `output {port}: ... to {endpoint}`"
            )),
            E::UnknownArg {
                endpoint,
                arg,
                span,
                hint,
                takes,
            } => {
                let d = Diagnostic::new(
                    Code::InvalidEndpoint,
                    format!("`{endpoint}` has no argument `{arg}`"),
                )
                .primary(*span, "unknown argument");
                match hint {
                    Hint::DidYouMean(s) => d.help(format!("did you mean `{s}`?")),
                    Hint::None if takes.is_empty() => {
                        d.help(format!("`{endpoint}` takes no arguments"))
                    }
                    Hint::None => d.help(format!("`{endpoint}` takes {}", list(takes))),
                }
            }
            E::UnexpectedArg {
                endpoint,
                span,
                takes_none,
            } => Diagnostic::new(
                Code::InvalidEndpoint,
                format!("unexpected argument to `{endpoint}`"),
            )
            .primary(*span, "not expected here")
            .help(if *takes_none {
                format!("`{endpoint}` takes no arguments")
            } else {
                "name the argument, e.g. `fps: 30`".to_string()
            }),
            E::ArgTwice { arg, span } => Diagnostic::new(
                Code::InvalidEndpoint,
                format!("argument `{arg}` is given twice"),
            )
            .primary(*span, "given again here"),
            E::ArgKind {
                arg,
                endpoint,
                want_str,
                span,
            } => {
                let want = if *want_str {
                    "a string in double quotes"
                } else {
                    "a number"
                };
                Diagnostic::new(
                    Code::InvalidEndpoint,
                    format!("argument `{arg}` of `{endpoint}` must be {want}"),
                )
                .primary(*span, format!("expected {want}"))
            }
            E::MissingArg {
                endpoint,
                arg,
                span,
            } => {
                let example = match endpoint.as_str() {
                    "file" => "file(\"frames.npy\")".to_string(),
                    "random" => "random(seed: 1)".to_string(),
                    w => format!("{w}({arg}: ...)"),
                };
                Diagnostic::new(
                    Code::InvalidEndpoint,
                    format!("`{endpoint}` needs the argument `{arg}`"),
                )
                .primary(*span, format!("missing `{arg}`"))
                .help(format!("write `{example}`"))
            }
            E::Fps { text, span } => Diagnostic::new(
                Code::InvalidEndpoint,
                format!("`fps: {text}` is not a frame rate"),
            )
            .primary(*span, "expected a number of frames per second above 0")
            .help("e.g. `fps: 30`"),
            E::Seed { text, span } => Diagnostic::new(
                Code::InvalidEndpoint,
                format!("`seed: {text}` is not a valid seed"),
            )
            .primary(*span, "expected a whole number from 0 up"),
            E::UnknownSource {
                name,
                span,
                hint,
                is_sink,
            } => {
                let d = Diagnostic::new(Code::InvalidEndpoint, format!("unknown source `{name}`"))
                    .primary(*span, "not a source");
                match hint {
                    Hint::DidYouMean(s) => d.help(format!("did you mean `{s}`?")),
                    Hint::None if *is_sink => d.help(format!(
                        "`{name}` is a sink (for outputs); sources are camera, file, random, zeros and stdin"
                    )),
                    Hint::None => d.help("sources are camera(fps: N, script: \"path\"), file(\"x.npy\"), random(seed: S), zeros and stdin"),
                }
            }
            E::UnknownSink {
                name,
                span,
                hint,
                is_source,
            } => {
                let d = Diagnostic::new(Code::InvalidEndpoint, format!("unknown sink `{name}`"))
                    .primary(*span, "not a sink");
                match hint {
                    Hint::DidYouMean(s) => d.help(format!("did you mean `{s}`?")),
                    Hint::None if *is_source => d.help(format!(
                        "`{name}` is a source (for inputs); sinks are stdout, file(\"x\"), null and hid"
                    )),
                    Hint::None => d.help("sinks are stdout, file(\"out.npy\"), null and hid"),
                }
            }
        }
    }
}

impl PtaskError {
    fn to_diagnostic(&self) -> Diagnostic {
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

impl ChannelError {
    fn to_diagnostic(&self) -> Diagnostic {
        use ChannelError as E;
        match self {
            E::UnknownName { name, span, hint } => {
                let d = Diagnostic::new(Code::UnknownName, format!("unknown name `{name}`"))
                    .primary(*span, "not declared in this graph");
                match hint {
                    Hint::DidYouMean(s) => d.help(format!("did you mean `{s}`?")),
                    Hint::None => d.help("declare it with `input`, `output` or `ptask`"),
                }
            }
            E::GraphPortPort { name, span, decl } => Diagnostic::new(
                Code::UnknownName,
                format!("`{name}` is a graph port, not a ptask"),
            )
            .primary(*span, "graph ports have no ports of their own")
            .secondary(*decl, format!("`{name}` is declared here"))
            .help(format!("write just `{name}`")),
            E::PtaskEnd { name, span, port } => {
                let d = Diagnostic::new(
                    Code::UnknownName,
                    format!("`{name}` is a ptask; a channel joins ports"),
                )
                .primary(*span, "name one of its ports");
                match port {
                    Some(p) => d.help(format!("write `{name}.{p}`")),
                    None => d,
                }
            }
            E::ParamEnd { text, span, decl } => Diagnostic::new(
                Code::UnknownName,
                format!("`{text}` is a param, not a port"),
            )
            .primary(*span, "params are push constants")
            .secondary(*decl, "declared as a param here")
            .help("channels join `in`/`sticky`/`out` ports; a param's value is fixed in the graph"),
            E::NoSuchPort {
                ptask,
                port,
                span,
                hint,
                ports,
            } => {
                let d = Diagnostic::new(
                    Code::UnknownName,
                    format!("ptask `{ptask}` has no port `{port}`"),
                )
                .primary(*span, "no such port");
                match hint {
                    Hint::DidYouMean(s) => d.help(format!("did you mean `{s}`?")),
                    Hint::None if !ports.is_empty() => {
                        d.help(format!("its ports are {}", list(ports)))
                    }
                    Hint::None => d,
                }
            }
            E::WrongDirection {
                text,
                span,
                kind,
                channel,
                from,
            } => {
                let desc = match kind {
                    EndKind::GraphInput => format!("`{text}` is a graph input"),
                    EndKind::GraphOutput => format!("`{text}` is a graph output"),
                    EndKind::Out => format!("`{text}` is an `out` port"),
                    EndKind::In => format!("`{text}` is an `in` port"),
                    EndKind::Sticky => format!("`{text}` is a `sticky` port"),
                };
                let (msg, help) = if *from {
                    (
                        format!("a channel cannot read from `{text}`"),
                        "a channel reads from a graph `input` or a ptask `out` port: `source -> destination`",
                    )
                } else {
                    (
                        format!("a channel cannot write into `{text}`"),
                        "a channel writes into a graph `output` or a ptask `in`/`sticky` port: `source -> destination`",
                    )
                };
                Diagnostic::new(Code::WrongDirection, msg)
                    .primary(*span, desc)
                    .secondary(*channel, "in this channel")
                    .help(help)
            }
            E::MultipleWriters { text, span, first } => Diagnostic::new(
                Code::MultipleWriters,
                format!("`{text}` has more than one incoming channel"),
            )
            .primary(*span, "second writer")
            .secondary(*first, "first writer")
            .help(
                "an input reads from exactly one channel; an output may fan out to several inputs",
            ),
            E::Mismatch { types, from, to } => {
                let (code, what) = if *types {
                    (Code::TypeMismatch, "types")
                } else {
                    (Code::ShapeMismatch, "shapes")
                };
                let (a, b) = (&from.2, &to.2);
                Diagnostic::new(
                    code,
                    format!("channel joins ports of different {what}: `{a}` -> `{b}`"),
                )
                .primary(to.1, format!("`{}` is `{b}`", to.0))
                .secondary(from.1, format!("`{}` is `{a}`", from.0))
                .help("both ends of a channel share one buffer, so they need the same element type and shape")
            }
        }
    }
}

impl FlowError {
    fn to_diagnostic(&self) -> Diagnostic {
        use FlowError as E;
        match self {
            E::UnconnectedInput { ptask, port, span } => Diagnostic::new(
                Code::UnconnectedInput,
                format!("input `{ptask}.{port}` has no incoming channel"),
            )
            .primary(*span, "nothing writes this port")
            .help(format!("connect it, e.g. `source -> {ptask}.{port};`")),
            E::UnreadOutput { ptask, port, span } => Diagnostic::new(
                Code::UnreadOutput,
                format!("output `{ptask}.{port}` is never read"),
            )
            .primary(*span, "no channel reads this port")
            .help("connect it to a ptask input or a graph `output`, or remove it"),
            E::UnusedInput { name, span } => Diagnostic::new(
                Code::UnusedInput,
                format!("graph input `{name}` feeds nothing"),
            )
            .primary(*span, "no channel reads this input")
            .help(format!(
                "connect it, e.g. `{name} -> ptask.port;`, or remove it"
            )),
            E::OutputUnconnected { name, span } => Diagnostic::new(
                Code::UnconnectedInput,
                format!("graph output `{name}` has no incoming channel"),
            )
            .primary(*span, "nothing writes this output")
            .help(format!("connect it, e.g. `ptask.port -> {name};`")),
            E::UnseededCycle {
                ptasks,
                channels,
                example,
            } => {
                let names: Vec<String> = ptasks.iter().map(|t| format!("`{t}`")).collect();
                let msg = if names.len() == 1 {
                    format!("ptask {} feeds itself with no initial value", names[0])
                } else {
                    format!(
                        "ptasks {} form a cycle with no initial value",
                        names.join(", ")
                    )
                };
                let mut d = Diagnostic::new(Code::UnseededCycle, msg);
                if let Some((first, rest)) = channels.split_first() {
                    d = d.primary(*first, "this channel is on the cycle");
                    for c in rest {
                        d = d.secondary(*c, "so is this one");
                    }
                }
                d.help(format!(
                    "every ptask on the cycle waits for another; give one input on it an initial value to seed the first firing, e.g. {example}"
                ))
            }
            E::NeverFires {
                ptask,
                span,
                port,
                port_span,
                writer,
            } => Diagnostic::new(Code::NeverFires, format!("ptask `{ptask}` can never fire"))
                .primary(*span, "never runs")
                .secondary(
                    *port_span,
                    format!("`{port}` is fed by `{writer}`, which never fires"),
                )
                .help(format!("fix `{writer}` first; this ptask waits on it")),
            E::ConflictingSeeds { producer, span } => Diagnostic::new(
                Code::InvalidValue,
                format!("`{producer}` feeds two seeded ports with different initial values"),
            )
            .primary(*span, "second initial value")
            .help("its consumers share one buffer, which starts with one value: give them the same initial value"),
        }
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
