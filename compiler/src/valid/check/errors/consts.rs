//! Errors of consts and expressions ([`ConstError`]) and their rendering.

use super::{names_help, Hint};
use crate::diag::{Code, Diagnostic};
use crate::ir::Span;

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

impl ConstError {
    pub(super) fn to_diagnostic(&self) -> Diagnostic {
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
