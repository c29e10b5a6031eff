//! Diagnostics as data: every problem ptc finds is a [`Diagnostic`] with a
//! stable [`Code`], a severity, labelled spans and a hint. Renderers (human
//! via miette, JSON, GitHub annotations, SARIF) all work from this one type.

pub mod render;
pub mod sarif;

use crate::ir::Span;
use std::path::PathBuf;

/// Error or warning.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

macro_rules! codes {
    ($( $(#[doc = $doc:literal])* $variant:ident = $name:literal, $sev:ident; )*) => {
        /// Every diagnostic ptc can emit. The string form (`ptc::type_mismatch`)
        /// is stable and documented: tools may match on it.
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $( $(#[doc = $doc])* $variant, )* }

        impl Code {
            /// All codes, in declaration order.
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];

            /// The stable string form, e.g. `ptc::type_mismatch`.
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$variant => $name, )* }
            }

            /// The default severity of this code.
            pub fn severity(self) -> Severity {
                match self { $( Code::$variant => Severity::$sev, )* }
            }

            /// One-line description (used for SARIF rules and docs).
            pub fn description(self) -> &'static str {
                match self { $( Code::$variant => concat!($($doc),*).trim_ascii(), )* }
            }
        }
    };
}

codes! {
    /// The file could not be read (missing, a directory, permission denied).
    Io = "ptc::io", Error;
    /// The file is not UTF-8 text.
    NotText = "ptc::not_text", Error;
    /// The file is larger than ptc accepts.
    FileTooLarge = "ptc::file_too_large", Error;
    /// The source does not match the grammar.
    Syntax = "ptc::syntax", Error;
    /// A file has no graph, or more than one.
    GraphCount = "ptc::graph_count", Error;
    /// A name is declared twice in the same scope.
    DuplicateName = "ptc::duplicate_name", Error;
    /// A name does not refer to anything declared.
    UnknownName = "ptc::unknown_name", Error;
    /// A type name is not a scalar, vector or declared struct.
    UnknownType = "ptc::unknown_type", Error;
    /// A type is malformed (vec5, `vec<u8>`, a struct inside a struct, ...).
    InvalidType = "ptc::invalid_type", Error;
    /// An array shape is empty, has a zero dimension, or is too large.
    InvalidShape = "ptc::invalid_shape", Error;
    /// A literal does not fit the type it initialises.
    InvalidValue = "ptc::invalid_value", Error;
    /// A priority is outside 1..=100.
    InvalidPriority = "ptc::invalid_priority", Error;
    /// A `from`/`to` clause names an unknown source or sink, or has bad arguments.
    InvalidEndpoint = "ptc::invalid_endpoint", Error;
    /// A constant expression overflows, divides by zero, or a const depends on itself.
    ConstEval = "ptc::const_eval", Error;
    /// A `--set NAME=VALUE` names no const of the file, or its value is not a number.
    InvalidSet = "ptc::invalid_set", Error;
    /// An instance of a ptask template lacks an argument, repeats one, or a parameter type is invalid.
    InvalidInstance = "ptc::invalid_instance", Error;
    /// An imported file was not found in any search root.
    ImportNotFound = "ptc::import_not_found", Error;
    /// Files import each other.
    ImportCycle = "ptc::import_cycle", Error;
    /// A ptask has no `kernel`, or more than one, or a bad `grid`.
    InvalidPtask = "ptc::invalid_ptask", Error;
    /// A channel joins ports of different element types.
    TypeMismatch = "ptc::type_mismatch", Error;
    /// A channel joins ports of different shapes.
    ShapeMismatch = "ptc::shape_mismatch", Error;
    /// A channel goes the wrong way (reads from an input sink, writes into a source).
    WrongDirection = "ptc::wrong_direction", Error;
    /// A ptask input has no incoming channel.
    UnconnectedInput = "ptc::unconnected_input", Error;
    /// A ptask input or graph output has more than one incoming channel.
    MultipleWriters = "ptc::multiple_writers", Error;
    /// A cycle has no port with an initial value to seed its first firing.
    UnseededCycle = "ptc::unseeded_cycle", Error;
    /// A kernel file was not found in any search root.
    KernelNotFound = "ptc::kernel_not_found", Error;
    /// A kernel failed to compile (GLSL error).
    KernelCompile = "ptc::kernel_compile", Error;
    /// The kernel's storage-buffer bindings do not match the ptask's ports.
    BindingMismatch = "ptc::binding_mismatch", Error;
    /// An `in` or `sticky` port is bound to a buffer the kernel may write.
    WritableInput = "ptc::writable_input", Error;
    /// The kernel's array element stride differs from the port's element type.
    ElementMismatch = "ptc::element_mismatch", Error;
    /// A `spec` names no specialization constant of the kernel, has another type, or shares its id.
    SpecMismatch = "ptc::spec_mismatch", Error;
    /// A kernel's `#include` was not found.
    IncludeNotFound = "ptc::include_not_found", Error;
    /// The kernel's push-constant block does not match the ptask's params.
    PushConstantMismatch = "ptc::push_constant_mismatch", Error;
    /// The kernel's workgroup size is invalid or exceeds device limits.
    LocalSize = "ptc::local_size", Error;
    /// A kernel or dispatch needs more of the device than ptc's baseline
    /// limits allow (shared memory, workgroup count, push-constant bytes).
    DeviceLimit = "ptc::device_limit", Error;
    /// A buffer is larger than a Vulkan storage buffer may be.
    BufferTooLarge = "ptc::buffer_too_large", Error;
    /// An inconsistency inside ptc (a bug, not a problem with the input).
    Internal = "ptc::internal", Error;
    /// A graph output or ptask output that nobody reads.
    UnreadOutput = "ptc::unread_output", Warning;
    /// A graph input that feeds nothing.
    UnusedInput = "ptc::unused_input", Warning;
    /// A ptask that can never fire (an input can never receive data).
    NeverFires = "ptc::never_fires", Warning;
}

/// A labelled span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub message: String,
    /// The primary label is where the problem is; others give context.
    pub primary: bool,
}

/// A location in another file (e.g. a line of a kernel's GLSL source).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Related {
    pub file: PathBuf,
    /// 1-based line and column.
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// One problem found in a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    /// Spans in the `.pt` file being checked.
    pub labels: Vec<Label>,
    /// What to do about it.
    pub help: Option<String>,
    /// Locations in other files (kernel sources).
    pub related: Vec<Related>,
}

impl Diagnostic {
    /// A diagnostic with the code's default severity and no labels.
    pub fn new(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            labels: Vec::new(),
            help: None,
            related: Vec::new(),
        }
    }

    /// Adds the primary label.
    pub fn primary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: true,
        });
        self
    }

    /// Adds a secondary label.
    pub fn secondary(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: false,
        });
        self
    }

    /// Sets the hint.
    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Adds a location in another file.
    pub fn related(mut self, r: Related) -> Diagnostic {
        self.related.push(r);
        self
    }

    /// The primary span (first primary label, else first label).
    pub fn primary_span(&self) -> Option<Span> {
        self.labels
            .iter()
            .find(|l| l.primary)
            .or_else(|| self.labels.first())
            .map(|l| l.span)
    }
}

/// Places every diagnostic in the file given: a label in an imported file
/// becomes a related location (file, line, column) there, and a diagnostic
/// left without a label in the file given gets one at the `import` that
/// brought the other file in (or keeps a label it had there, such as a
/// template instance, as its primary one).
pub fn externalize(diags: Vec<Diagnostic>, sources: &crate::front::Sources) -> Vec<Diagnostic> {
    if sources.files.len() < 2 {
        return diags;
    }
    diags
        .into_iter()
        .map(|mut d| {
            let mut kept = Vec::with_capacity(d.labels.len());
            let mut moved = Vec::new();
            let mut anchor = None;
            let mut lost_primary = false;
            for l in d.labels.drain(..) {
                match sources.locate(l.span) {
                    Some((f, local)) if f.origin > 0 => {
                        let (line, column) = render::LineIndex::new(&f.text).line_col(local.start);
                        moved.push(Related {
                            file: f.path.clone(),
                            line,
                            column,
                            message: l.message,
                        });
                        anchor = anchor.or(f.anchor);
                        lost_primary |= l.primary;
                    }
                    _ => kept.push(l),
                }
            }
            if lost_primary && !kept.iter().any(|l| l.primary) {
                match kept.first_mut() {
                    Some(first) => first.primary = true,
                    None => {
                        if let Some(a) = anchor {
                            kept.push(Label {
                                span: a,
                                message: "in the file imported here".into(),
                                primary: true,
                            });
                        }
                    }
                }
            }
            d.labels = kept;
            moved.append(&mut d.related);
            d.related = moved;
            d
        })
        .collect()
}
