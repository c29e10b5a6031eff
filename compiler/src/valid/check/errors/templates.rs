//! Errors of ptask templates and instances ([`TemplateError`]) and their
//! rendering.

use super::{names_help, Hint};
use crate::diag::{Code, Diagnostic};
use crate::ir::Span;

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

impl TemplateError {
    pub(super) fn to_diagnostic(&self) -> Diagnostic {
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
