//! Errors of imports ([`ImportError`]) and their rendering.

use crate::diag::{Code, Diagnostic};
use crate::ir::Span;
use std::path::PathBuf;

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

impl ImportError {
    pub(super) fn to_diagnostic(&self) -> Diagnostic {
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
