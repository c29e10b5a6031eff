//! Front end: reading source, the pest grammar, the AST with spans.

use crate::diag::{Code, Diagnostic};
use std::path::Path;

/// Reads a `.pt` file as UTF-8 text, turning I/O problems into diagnostics.
pub fn read_source(path: &Path) -> Result<String, Box<Diagnostic>> {
    std::fs::read_to_string(path).map_err(|e| {
        Box::new(
            Diagnostic::new(Code::Io, format!("cannot read `{}`: {e}", path.display()))
                .help("check the path and that it is a readable .pt file"),
        )
    })
}
