//! Front end: reading source, the pest grammar, the AST with spans.

pub mod ast;
pub mod parser;

pub use parser::{parse, Parsed};

use crate::diag::{Code, Diagnostic};
use std::io::Read;
use std::path::Path;

/// Largest `.pt` file ptc reads (16 MiB). Real graphs are a few KiB; a
/// generated 10,000-ptask graph is about 2 MiB.
pub const MAX_SOURCE_BYTES: u64 = 16 * 1024 * 1024;

/// Reads a `.pt` file as UTF-8 text, turning I/O problems into diagnostics:
/// `ptc::io` (missing, a directory, unreadable), `ptc::file_too_large`
/// (over [`MAX_SOURCE_BYTES`]), `ptc::not_text` (not UTF-8).
pub fn read_source(path: &Path) -> Result<String, Box<Diagnostic>> {
    let io = |what: String| {
        Box::new(
            Diagnostic::new(
                Code::Io,
                format!("cannot read `{}`: {what}", path.display()),
            )
            .help("check the path and that it is a readable .pt file"),
        )
    };
    let meta = std::fs::metadata(path).map_err(|e| io(e.to_string()))?;
    if meta.is_dir() {
        return Err(io("it is a directory".into()));
    }
    let file = std::fs::File::open(path).map_err(|e| io(e.to_string()))?;
    // Read at most one byte past the limit, so a file that grows while we
    // read (or a device file) cannot make us read without bound.
    let mut bytes = Vec::new();
    file.take(MAX_SOURCE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io(e.to_string()))?;
    if bytes.len() as u64 > MAX_SOURCE_BYTES {
        return Err(Box::new(
            Diagnostic::new(
                Code::FileTooLarge,
                format!(
                    "`{}` is larger than {} MiB; ptc does not read .pt files that large",
                    path.display(),
                    MAX_SOURCE_BYTES / (1024 * 1024)
                ),
            )
            .help("is this really a .pt graph? Split it, or generate a smaller one"),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        Box::new(
            Diagnostic::new(
                Code::NotText,
                format!(
                    "`{}` is not UTF-8 text (invalid byte at offset {at})",
                    path.display()
                ),
            )
            .help(".pt files are UTF-8 text; is this a binary file?"),
        )
    })
}

/// One file of a check: the file given, or one it imports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    pub path: std::path::PathBuf,
    pub text: String,
    /// Where its offsets start in the check's one span space (0 for the
    /// file given; an imported file's spans are `origin + its own offset`).
    pub origin: usize,
    /// The `import` in the file given that brought it in (directly or
    /// through other imports); `None` for the file given.
    pub anchor: Option<crate::ir::Span>,
}

/// The files of one check, with their places in the span space.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sources {
    pub files: Vec<SourceFile>,
}

impl Sources {
    /// The file a span starts in, and the span in that file's own offsets.
    pub fn locate(&self, span: crate::ir::Span) -> Option<(&SourceFile, crate::ir::Span)> {
        let i = self
            .files
            .partition_point(|f| f.origin <= span.start)
            .checked_sub(1)?;
        let f = &self.files[i];
        let start = span.start - f.origin;
        let end = span.end.saturating_sub(f.origin).max(start);
        (start <= f.text.len()).then(|| (f, crate::ir::Span::new(start, end.min(f.text.len()))))
    }

    /// Where the next file goes: past the end of the last one (with a gap,
    /// so that an end-of-file position is not the next file's start).
    pub fn next_origin(&self) -> usize {
        self.files.last().map_or(0, |f| f.origin + f.text.len() + 1)
    }
}
