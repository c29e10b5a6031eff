//! Errors of how the graph is connected ([`FlowError`]) and their
//! rendering.

use crate::diag::{Code, Diagnostic};
use crate::ir::Span;

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

impl FlowError {
    pub(super) fn to_diagnostic(&self) -> Diagnostic {
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
