//! Errors of channel ends ([`ChannelError`], [`EndKind`]) and their
//! rendering.

use super::{list, Hint};
use crate::diag::{Code, Diagnostic};
use crate::ir::Span;
use ptc_plan::types::PortType;

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

impl ChannelError {
    pub(super) fn to_diagnostic(&self) -> Diagnostic {
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
