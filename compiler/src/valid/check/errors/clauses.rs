//! Errors of `from`/`to` clauses ([`ClauseError`]) and their rendering.

use super::{list, Hint};
use crate::diag::{Code, Diagnostic};
use crate::ir::Span;

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

impl ClauseError {
    pub(super) fn to_diagnostic(&self) -> Diagnostic {
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
