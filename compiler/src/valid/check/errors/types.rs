//! Errors of structs, types, shapes and values ([`TypeError`]) and their
//! rendering.

use super::{article, human_bytes, Hint};
use crate::diag::{Code, Diagnostic};
use crate::ir::Span;
use ptc_plan::types::Scalar;

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

impl TypeError {
    pub(super) fn to_diagnostic(&self) -> Diagnostic {
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
