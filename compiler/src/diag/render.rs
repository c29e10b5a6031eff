//! Renderers over [`Diagnostic`]: `human` (miette's graphical report),
//! `json` (one JSON object per line, schema below) and `github` (workflow
//! command annotations).
//!
//! JSON schema (one object per diagnostic, one per line; stable):
//!
//! ```text
//! { "file": string, "line": int|null, "column": int|null,
//!   "end_line": int|null, "end_column": int|null,
//!   "severity": "error"|"warning", "code": "ptc::...", "message": string,
//!   "help": string|null,
//!   "labels": [ { "line", "column", "end_line", "end_column": int,
//!                 "message": string, "primary": bool } ],
//!   "related": [ { "file": string, "line": int, "column": int, "message": string } ] }
//! ```
//!
//! Lines and columns are 1-based; columns count characters (not bytes);
//! `end_line`/`end_column` point just past the last character of the span
//! (exclusive). Position fields are `null` for diagnostics about the whole
//! file (e.g. `ptc::io`).

use super::{Diagnostic, Related, Severity};
use crate::ir::Span;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// Maps byte offsets to 1-based (line, character column).
pub struct LineIndex<'s> {
    src: &'s str,
    starts: Vec<usize>,
}

impl<'s> LineIndex<'s> {
    /// Indexes the line starts of `src` (one pass).
    pub fn new(src: &'s str) -> LineIndex<'s> {
        let mut starts = vec![0];
        starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { src, starts }
    }

    /// 1-based line and character column of byte `offset` (clamped to the
    /// text and moved back to a character boundary).
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let mut off = offset.min(self.src.len());
        while !self.src.is_char_boundary(off) {
            off -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= off).saturating_sub(1);
        let start = self.starts[line.min(self.starts.len() - 1)];
        let col = self.src[start..off].chars().count();
        (line + 1, col + 1)
    }

    /// The byte offset of 1-based `line`, `column` (characters), clamped.
    pub fn offset(&self, line: usize, column: usize) -> usize {
        let Some(&start) = self.starts.get(line.saturating_sub(1)) else {
            return self.src.len();
        };
        let rest = &self.src[start..];
        let end = rest.find('\n').unwrap_or(rest.len());
        rest[..end]
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(start + end, |(i, _)| start + i)
    }
}

/// How to render human-readable reports.
#[derive(Clone, Debug)]
pub struct HumanStyle {
    /// ANSI colours (only when writing to a terminal).
    pub color: bool,
    /// Wrap width in columns.
    pub width: usize,
}

impl Default for HumanStyle {
    fn default() -> Self {
        HumanStyle {
            color: false,
            width: 100,
        }
    }
}

/// A [`Diagnostic`] seen through miette's protocol.
#[derive(Debug)]
struct MietteDiag {
    message: String,
    code: &'static str,
    severity: miette::Severity,
    help: Option<String>,
    source: Option<miette::NamedSource<Arc<str>>>,
    labels: Vec<miette::LabeledSpan>,
    related: Vec<MietteDiag>,
}

impl fmt::Display for MietteDiag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for MietteDiag {}

impl miette::Diagnostic for MietteDiag {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        (!self.code.is_empty()).then(|| Box::new(self.code) as Box<dyn fmt::Display>)
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(
                self.related.iter().map(|r| r as &dyn miette::Diagnostic),
            ))
        }
    }
}

fn clamp(span: Span, src: &str) -> Span {
    let fix = |mut o: usize| {
        o = o.min(src.len());
        while !src.is_char_boundary(o) {
            o -= 1;
        }
        o
    };
    let start = fix(span.start);
    Span::new(start, fix(span.end).max(start))
}

fn related_diag(r: &Related) -> MietteDiag {
    let text = std::fs::read_to_string(&r.file).ok();
    match text {
        Some(text) => {
            let idx = LineIndex::new(&text);
            let off = idx.offset(r.line, r.column);
            let end = text[off..].find('\n').map_or(text.len(), |n| off + n);
            let span = Span::new(off, end.max(off));
            let src: Arc<str> = Arc::from(text.as_str());
            MietteDiag {
                message: r.message.clone(),
                code: "",
                severity: miette::Severity::Advice,
                help: None,
                source: Some(miette::NamedSource::new(r.file.display().to_string(), src)),
                labels: vec![miette::LabeledSpan::new_primary_with_span(
                    Some(r.message.clone()),
                    span,
                )],
                related: Vec::new(),
            }
        }
        None => MietteDiag {
            message: format!(
                "{}:{}:{}: {}",
                r.file.display(),
                r.line,
                r.column,
                r.message
            ),
            code: "",
            severity: miette::Severity::Advice,
            help: None,
            source: None,
            labels: Vec::new(),
            related: Vec::new(),
        },
    }
}

/// Renders diagnostics as miette graphical reports, one after another.
pub fn human(path: &Path, source: &str, diags: &[Diagnostic], style: &HumanStyle) -> String {
    let theme = if style.color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_links(false);
    let src: Arc<str> = Arc::from(source);
    let name = path.display().to_string();
    let mut out = String::new();
    for d in diags {
        let labels: Vec<miette::LabeledSpan> = d
            .labels
            .iter()
            .map(|l| {
                let s = clamp(l.span, source);
                let text = (!l.message.is_empty()).then(|| l.message.clone());
                if l.primary {
                    miette::LabeledSpan::new_primary_with_span(text, s)
                } else {
                    miette::LabeledSpan::new_with_span(text, s)
                }
            })
            .collect();
        let m = MietteDiag {
            message: d.message.clone(),
            code: d.code.as_str(),
            severity: match d.severity {
                Severity::Error => miette::Severity::Error,
                Severity::Warning => miette::Severity::Warning,
            },
            help: d.help.clone(),
            source: (!labels.is_empty())
                .then(|| miette::NamedSource::new(name.clone(), Arc::clone(&src))),
            labels,
            related: d.related.iter().map(related_diag).collect(),
        };
        let mut s = String::new();
        if handler.render_report(&mut s, &m).is_err() {
            s = format!("{}: {}\n", d.code.as_str(), d.message);
        }
        // miette pads lines to the width; trailing spaces only make diffs noisy.
        for line in s.lines() {
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

fn position(idx: &LineIndex<'_>, span: Span) -> [usize; 4] {
    let (l, c) = idx.line_col(span.start);
    let (el, ec) = idx.line_col(span.end.max(span.start));
    [l, c, el, ec]
}

/// Renders diagnostics as JSON lines (see the module docs for the schema).
pub fn json(path: &Path, source: &str, diags: &[Diagnostic]) -> String {
    let idx = LineIndex::new(source);
    let mut out = String::new();
    for d in diags {
        let pos = d.primary_span().map(|s| position(&idx, s));
        let labels: Vec<serde_json::Value> = d
            .labels
            .iter()
            .map(|l| {
                let [line, column, end_line, end_column] = position(&idx, l.span);
                serde_json::json!({
                    "line": line, "column": column,
                    "end_line": end_line, "end_column": end_column,
                    "message": l.message, "primary": l.primary,
                })
            })
            .collect();
        let related: Vec<serde_json::Value> = d
            .related
            .iter()
            .map(|r| {
                serde_json::json!({
                    "file": r.file.display().to_string(),
                    "line": r.line, "column": r.column, "message": r.message,
                })
            })
            .collect();
        let v = serde_json::json!({
            "file": path.display().to_string(),
            "line": pos.map(|p| p[0]),
            "column": pos.map(|p| p[1]),
            "end_line": pos.map(|p| p[2]),
            "end_column": pos.map(|p| p[3]),
            "severity": d.severity.as_str(),
            "code": d.code.as_str(),
            "message": d.message,
            "help": d.help,
            "labels": labels,
            "related": related,
        });
        out.push_str(&v.to_string());
        out.push('\n');
    }
    out
}

/// Escapes the message part of a GitHub workflow command.
fn gh_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value of a GitHub workflow command.
fn gh_prop(s: &str) -> String {
    gh_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Renders diagnostics as GitHub Actions annotations
/// (`::error file=..,line=..,col=..,endLine=..,endColumn=..,title=..::message`).
pub fn github(path: &Path, source: &str, diags: &[Diagnostic]) -> String {
    let idx = LineIndex::new(source);
    let mut out = String::new();
    for d in diags {
        let kind = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut props = vec![format!("file={}", gh_prop(&path.display().to_string()))];
        if let Some(s) = d.primary_span() {
            let [l, c, el, ec] = position(&idx, s);
            props.push(format!("line={l}"));
            props.push(format!("col={c}"));
            props.push(format!("endLine={el}"));
            props.push(format!("endColumn={ec}"));
        }
        props.push(format!("title={}", gh_prop(d.code.as_str())));
        let mut msg = d.message.clone();
        if let Some(h) = &d.help {
            msg.push_str("\nhelp: ");
            msg.push_str(h);
        }
        for r in &d.related {
            msg.push_str(&format!(
                "\n{}:{}:{}: {}",
                r.file.display(),
                r.line,
                r.column,
                r.message
            ));
        }
        out.push_str(&format!(
            "::{kind} {}::{}\n",
            props.join(","),
            gh_data(&msg)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        let src = "ab\r\nçé x\n";
        let idx = LineIndex::new(src);
        assert_eq!(idx.line_col(0), (1, 1));
        assert_eq!(idx.line_col(4), (2, 1));
        // `x` is after two 2-byte characters and a space.
        let x = src.find('x').unwrap();
        assert_eq!(idx.line_col(x), (2, 4));
        assert_eq!(idx.offset(2, 4), x);
        // Inside a multibyte character: moved back to its start.
        assert_eq!(idx.line_col(5), (2, 1));
        assert_eq!(idx.line_col(999), (3, 1));
    }

    #[test]
    fn github_escapes() {
        assert_eq!(gh_prop("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
        assert_eq!(gh_data("a:b,c%\r\n"), "a:b,c%25%0D%0A");
    }
}
