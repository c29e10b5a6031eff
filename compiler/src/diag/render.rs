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

/// Bytes between two checkpoints of [`TextCounts`].
const COUNT_BLOCK: usize = 4096;

/// How many characters and UTF-16 code units precede every 4 KiB of a
/// text, so that counting the characters before an offset (a column)
/// costs at most 4 KiB however long its line: columns counted from the
/// line start made 20 000 diagnostics on a one-line file quadratic (3.7 s
/// as JSON, 19 s as SARIF for 430 KB).
#[derive(Clone, Debug, Default)]
pub struct TextCounts {
    /// (characters, UTF-16 units) in `text[..k * COUNT_BLOCK]`.
    at: Vec<(usize, usize)>,
}

/// (characters, UTF-16 code units) in UTF-8 `bytes`, which may start or end
/// inside a character: characters are counted at their first byte, and a
/// 4-byte character (outside the BMP) is two UTF-16 units.
fn count(bytes: &[u8]) -> (usize, usize) {
    let chars = bytes.iter().filter(|&&b| (b as i8) >= -0x40).count();
    let astral = bytes.iter().filter(|&&b| b >= 0xF0).count();
    (chars, chars + astral)
}

impl TextCounts {
    /// One pass over `text`.
    pub fn new(text: &str) -> TextCounts {
        let mut at = vec![(0, 0)];
        let mut total = (0, 0);
        for block in text.as_bytes().chunks(COUNT_BLOCK) {
            let (c, u) = count(block);
            total = (total.0 + c, total.1 + u);
            at.push(total);
        }
        TextCounts { at }
    }

    /// (characters, UTF-16 units) in `text[..offset]` (`text` as indexed;
    /// `offset` clamped to it, and best on a character boundary).
    pub fn before(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let k = (offset / COUNT_BLOCK).min(self.at.len().saturating_sub(1));
        let (c0, u0) = self.at.get(k).copied().unwrap_or((0, 0));
        let (c, u) = count(&text.as_bytes()[k * COUNT_BLOCK..offset]);
        (c0 + c, u0 + u)
    }
}

/// Maps byte offsets to 1-based (line, character column).
pub struct LineIndex<'s> {
    src: &'s str,
    starts: Vec<usize>,
    counts: TextCounts,
}

impl<'s> LineIndex<'s> {
    /// Indexes the line starts of `src` (one pass).
    pub fn new(src: &'s str) -> LineIndex<'s> {
        let mut starts = vec![0];
        starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex {
            src,
            starts,
            counts: TextCounts::new(src),
        }
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
        let col = self.counts.before(self.src, off).0 - self.counts.before(self.src, start).0;
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
    source: Option<miette::NamedSource<Arc<IndexedSource>>>,
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

/// How many diagnostics [`human`] renders per file; the others are
/// summed up in one line (errors are shown before warnings when there are
/// more).
pub const MAX_RENDERED: usize = 200;

/// A source text with the positions of its line breaks as miette counts
/// them (`\n`, `\r\n` as one, a lone `\r`). miette's own `str` source
/// scans from the start of the text for every label it draws, so 20 000
/// diagnostics on a 500 KB file took 28 s; this one hands miette a window
/// that starts a few lines before the span, and shifts the answer back, so
/// each snippet costs its own length. The output is the same byte for byte
/// (tested against the plain source below).
#[derive(Debug)]
pub(crate) struct IndexedSource {
    text: Arc<str>,
    /// Offset of the last byte of each line break, ascending.
    breaks: Vec<usize>,
}

impl IndexedSource {
    pub(crate) fn new(text: Arc<str>) -> IndexedSource {
        let b = text.as_bytes();
        let breaks = b
            .iter()
            .enumerate()
            .filter(|&(i, &c)| c == b'\n' || (c == b'\r' && b.get(i + 1) != Some(&b'\n')))
            .map(|(i, _)| i)
            .collect();
        IndexedSource { text, breaks }
    }
}

/// A snippet line longer than this (bytes) is shown as an excerpt around
/// its label, without context lines: miette prints whole lines, so 200
/// diagnostics on a 430 KB one-line file printed 86 MB.
const LONG_LINE: usize = 1000;
/// Bytes of a long line shown on each side of a label.
const EXCERPT: usize = 100;
/// Longest label (bytes) underlined on a long line.
const MAX_LONG_LABEL: usize = 200;

impl IndexedSource {
    /// (0-based line as miette counts, start offset, end offset (its line
    /// break, or the end of the text)) of the line holding `pos`.
    fn line_of(&self, pos: usize) -> (usize, usize, usize) {
        let k = self.breaks.partition_point(|&p| p < pos);
        let start = if k == 0 { 0 } else { self.breaks[k - 1] + 1 };
        let end = self.breaks.get(k).copied().unwrap_or(self.text.len());
        (k, start, end)
    }

    /// Whether any line a snippet of `span` with this context would show
    /// is longer than [`LONG_LINE`].
    fn shows_a_long_line(&self, span: Span, before: usize, after: usize) -> bool {
        let (first, _, _) = self.line_of(span.start);
        let (last, _, _) = self.line_of(span.end.saturating_sub(1).max(span.start));
        let lines = first.saturating_sub(before)..=last.saturating_add(after);
        lines.into_iter().take(LONG_LINE).any(|j| {
            let start = if j == 0 {
                0
            } else {
                match self.breaks.get(j - 1) {
                    Some(&b) => b + 1,
                    None => return false,
                }
            };
            let end = self.breaks.get(j).copied().unwrap_or(self.text.len());
            end - start > LONG_LINE
        })
    }

    /// A label's span as drawn: on a line longer than [`LONG_LINE`], at
    /// most [`MAX_LONG_LABEL`] bytes and not past the line's end.
    pub(crate) fn label_span(&self, span: Span) -> Span {
        let (_, start, end) = self.line_of(span.start);
        if end - start <= LONG_LINE {
            return span;
        }
        let mut e = span.end.min(end).min(span.start + MAX_LONG_LABEL);
        while e > span.start && !self.text.is_char_boundary(e) {
            e -= 1;
        }
        Span::new(span.start, e.max(span.start))
    }

    /// The snippet of `span` when it would show a long line: the part of
    /// the span's line(s) from [`EXCERPT`] bytes before it to as many after.
    fn excerpt<'a>(
        &'a self,
        span: &miette::SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let (s, e) = (span.offset(), span.offset() + span.len());
        if e > self.text.len() {
            return Err(miette::MietteError::OutOfBounds);
        }
        if span.len() > 2 * (MAX_LONG_LABEL + EXCERPT) {
            // Two labels far apart: miette then draws them one by one.
            return Err(miette::MietteError::OutOfBounds);
        }
        let (line, ls, _) = self.line_of(s);
        let (_, _, le) = self.line_of(e.saturating_sub(1).max(s));
        let mut a = if before == 0 {
            s
        } else {
            s.saturating_sub(EXCERPT).max(ls)
        };
        while !self.text.is_char_boundary(a) {
            a += 1;
        }
        let mut b = if after == 0 {
            e
        } else {
            (e + EXCERPT).min(le).max(e)
        };
        while !self.text.is_char_boundary(b) {
            b -= 1;
        }
        // (Only for a span that is not on character boundaries.)
        let a = a.min(b);
        let data = &self.text.as_bytes()[a..b];
        Ok(Box::new(miette::MietteSpanContents::new(
            data,
            miette::SourceSpan::new(a.into(), b - a),
            line,
            a - ls,
            self.breaks.partition_point(|&p| p < b),
        )))
    }
}

impl miette::SourceCode for IndexedSource {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let sp = Span::new(span.offset(), span.offset() + span.len());
        if self.shows_a_long_line(sp, context_lines_before, context_lines_after) {
            return self.excerpt(span, context_lines_before, context_lines_after);
        }
        // Breaks before the span, as miette decides it (the break's last
        // byte is before the span's offset).
        let before = self.breaks.partition_point(|&p| p < span.offset());
        // Start the window at a line start with more context lines before
        // the span than miette keeps, so it drops lines exactly as it
        // would reading from offset 0.
        let (start, skipped) = match before.checked_sub(context_lines_before + 2) {
            Some(k) => (self.breaks[k] + 1, k + 1),
            None => (0, 0),
        };
        let window: &'a [u8] = &self.text.as_bytes()[start.min(self.text.len())..];
        let shifted =
            miette::SourceSpan::new(span.offset().saturating_sub(start).into(), span.len());
        let c = <[u8] as miette::SourceCode>::read_span(
            window,
            &shifted,
            context_lines_before,
            context_lines_after,
        )?;
        Ok(Box::new(miette::MietteSpanContents::new(
            c.data(),
            miette::SourceSpan::new((c.span().offset() + start).into(), c.span().len()),
            c.line() + skipped,
            c.column(),
            c.line_count() + skipped,
        )))
    }
}

/// The indices of the diagnostics [`human`] shows, in order: all of them
/// up to [`MAX_RENDERED`], else the first errors, then the first warnings.
fn shown(diags: &[Diagnostic]) -> Vec<usize> {
    if diags.len() <= MAX_RENDERED {
        return (0..diags.len()).collect();
    }
    let of = |sev: Severity| {
        diags
            .iter()
            .enumerate()
            .filter(move |(_, d)| d.severity == sev)
            .map(|(i, _)| i)
    };
    let mut pick: Vec<usize> = of(Severity::Error)
        .chain(of(Severity::Warning))
        .take(MAX_RENDERED)
        .collect();
    pick.sort_unstable();
    pick
}

/// "... and 3 more errors and 19 800 more warnings (not shown; ...)".
fn not_shown(diags: &[Diagnostic], shown: &[usize]) -> Option<String> {
    let hidden = diags.len() - shown.len();
    if hidden == 0 {
        return None;
    }
    let errors = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count()
        - shown
            .iter()
            .filter(|&&i| diags[i].severity == Severity::Error)
            .count();
    let warnings = hidden - errors;
    let plural = |n: usize, what: &str| format!("{n} more {what}{}", if n == 1 { "" } else { "s" });
    let what = match (errors, warnings) {
        (0, w) => plural(w, "warning"),
        (e, 0) => plural(e, "error"),
        (e, w) => format!("{} and {}", plural(e, "error"), plural(w, "warning")),
    };
    Some(format!(
        "... and {what} (not shown: the first {MAX_RENDERED} are; `ptc check --format json` lists every one)\n"
    ))
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

/// A related file's text for a snippet: at most the size of a `.pt` file
/// ([`MAX_SOURCE_BYTES`](crate::front::MAX_SOURCE_BYTES)); `None` when it
/// is larger, unreadable or not UTF-8 (the message is shown without it).
fn read_related(path: &Path) -> Option<String> {
    use std::io::Read;
    let limit = crate::front::MAX_SOURCE_BYTES;
    let mut text = String::new();
    std::fs::File::open(path)
        .ok()?
        .take(limit + 1)
        .read_to_string(&mut text)
        .ok()?;
    (text.len() as u64 <= limit).then_some(text)
}

fn related_diag(r: &Related) -> MietteDiag {
    let text = read_related(&r.file);
    match text {
        Some(text) => {
            let idx = LineIndex::new(&text);
            let off = idx.offset(r.line, r.column);
            let end = text[off..].find('\n').map_or(text.len(), |n| off + n);
            let src = Arc::new(IndexedSource::new(Arc::from(text.as_str())));
            let span = src.label_span(Span::new(off, end.max(off)));
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
    let src = Arc::new(IndexedSource::new(Arc::from(source)));
    let name = path.display().to_string();
    let mut out = String::new();
    let shown = shown(diags);
    for d in shown.iter().map(|&i| &diags[i]) {
        let labels: Vec<miette::LabeledSpan> = d
            .labels
            .iter()
            .map(|l| {
                let s = src.label_span(clamp(l.span, source));
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
    if let Some(line) = not_shown(diags, &shown) {
        out.push_str(&line);
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

    /// Every field miette reads from a snippet: data, (offset, len), line,
    /// column, line count.
    type Snippet = (Vec<u8>, (usize, usize), usize, usize, usize);

    fn read(
        src: &dyn miette::SourceCode,
        at: (usize, usize),
        ctx: (usize, usize),
    ) -> Option<Snippet> {
        let c = src.read_span(&at.into(), ctx.0, ctx.1).ok()?;
        Some((
            c.data().to_vec(),
            (c.span().offset(), c.span().len()),
            c.line(),
            c.column(),
            c.line_count(),
        ))
    }

    proptest::proptest! {
        /// The indexed source answers exactly as miette's own `str` source,
        /// whatever the line breaks (`\n`, `\r\n`, lone `\r`), characters,
        /// spans and context.
        #[test]
        fn indexed_source_reads_as_miette_does(
            parts in proptest::collection::vec(
                proptest::prop_oneof!["\n", "\r\n", "\r", "ab", "é", " x ", ""], 0..40),
            start in 0usize..120,
            len in 0usize..30,
            before in 0usize..4,
            after in 0usize..4,
        ) {
            let text: String = parts.concat();
            let plain: Arc<str> = Arc::from(text.as_str());
            let indexed = IndexedSource::new(Arc::clone(&plain));
            proptest::prop_assert_eq!(
                read(&plain, (start, len), (before, after)),
                read(&indexed, (start, len), (before, after))
            );
        }
    }

    fn warning_at(src: &str, word: &str, i: usize) -> Diagnostic {
        let at = src.match_indices(word).nth(i).expect("occurrence").0;
        Diagnostic::new(super::super::Code::UnusedInput, format!("{word} {i}"))
            .primary(Span::new(at, at + word.len()), "here")
    }

    #[test]
    fn snippets_after_every_kind_of_line_break() {
        let src = "graph g {\r\n    input a: f32;\n\n    input b: f32;\r    input c: f32;\n}\n";
        let diags: Vec<Diagnostic> = ["a", "b", "c"]
            .iter()
            .map(|w| warning_at(src, &format!("input {w}"), 0))
            .collect();
        let got = human(Path::new("g.pt"), src, &diags, &HumanStyle::default());
        // (miette counts a lone `\r` as a line break for positions but
        // draws the two lines as one, the `\r` included; so it did before.)
        for want in [
            "[g.pt:2:5]\n 1 │ graph g {\n 2 │     input a: f32;",
            "[g.pt:4:5]\n 3 │\n 4 │     input b: f32;\r    input c: f32;\n   ·     ───┬───",
            "[g.pt:5:5]\n 4 │     input b: f32;\r    input c: f32;\n   ·                      ───┬───",
        ] {
            assert!(got.contains(want), "{want:?} in\n{got}");
        }
    }

    proptest::proptest! {
        /// Checkpointed counts equal counting from the start.
        #[test]
        fn text_counts_match_counting(
            parts in proptest::collection::vec(
                proptest::prop_oneof!["a", "é", "€", "😀", "\n"], 0..6000),
            at in 0usize..30_000,
        ) {
            let text: String = parts.concat();
            let mut off = at.min(text.len());
            while !text.is_char_boundary(off) {
                off -= 1;
            }
            let want = (
                text[..off].chars().count(),
                text[..off].chars().map(char::len_utf16).sum::<usize>(),
            );
            proptest::prop_assert_eq!(TextCounts::new(&text).before(&text, off), want);
        }
    }

    #[test]
    fn long_lines_are_shown_as_excerpts() {
        // 300 diagnostics on one 600 KB line: each snippet shows ~100 bytes
        // on each side of its label, not the line (200 whole lines were
        // 86 MB for a 430 KB file), and positions stay right.
        let src = format!(
            "graph g {{ {} }}\n",
            (0..30_000)
                .map(|i| format!("input x{i}: f32[4];"))
                .collect::<Vec<_>>()
                .join(" ")
        );
        let diags: Vec<Diagnostic> = (0..300)
            .map(|i| warning_at(&src, &format!("x{}:", i * 100), 0))
            .collect();
        let t = std::time::Instant::now();
        let out = human(Path::new("g.pt"), &src, &diags, &HumanStyle::default());
        assert!(out.len() < 200 * 1500, "{} bytes", out.len());
        assert!(
            t.elapsed() < std::time::Duration::from_secs(10),
            "{:?}",
            t.elapsed()
        );
        let at = src.find("x5000:").unwrap();
        assert!(
            out.contains(&format!("[g.pt:1:{}]", at + 1)),
            "{}",
            &out[..2000]
        );
        assert!(out.contains("input x4999: f32[4]; input x5000: f32[4];"));
        assert_eq!(out.matches("ptc::unused_input").count(), 200);
        // A huge label on a long line is underlined for its first 200 bytes.
        let big = Diagnostic::new(super::super::Code::UnusedInput, "big")
            .primary(Span::new(10, src.len() - 3), "all of it");
        let out = human(Path::new("g.pt"), &src, &[big], &HumanStyle::default());
        assert!(out.len() < 3000, "{} bytes:\n{out}", out.len());
        assert!(out.contains("all of it"), "{out}");
    }

    #[test]
    fn at_most_max_rendered_are_rendered_errors_first() {
        // 250 warnings, then 3 errors: the errors are shown, then the first
        // 197 warnings; one line counts the rest.
        let mut src = String::new();
        for i in 0..253 {
            src.push_str(&format!("input x{i}: f32;\n"));
        }
        let mut diags: Vec<Diagnostic> = (0..250)
            .map(|i| warning_at(&src, &format!("x{i}:"), 0))
            .collect();
        for i in 250..253 {
            let w = format!("x{i}:");
            let at = src.find(&w).unwrap();
            diags.push(
                Diagnostic::new(super::super::Code::TypeMismatch, format!("bad {i}"))
                    .primary(Span::new(at, at + w.len()), "here"),
            );
        }
        let out = human(Path::new("g.pt"), &src, &diags, &HumanStyle::default());
        assert_eq!(out.matches("ptc::unused_input").count(), 197);
        assert_eq!(out.matches("ptc::type_mismatch").count(), 3);
        assert!(out.contains("x196: 0"), "the first warnings are shown");
        assert!(!out.contains("x197: 0"));
        assert!(
            out.ends_with(
                "... and 53 more warnings (not shown: the first 200 are; \
             `ptc check --format json` lists every one)\n"
            ),
            "{}",
            &out[out.len() - 300..]
        );
        // 200 or fewer: all of them, no summary line.
        let out = human(
            Path::new("g.pt"),
            &src,
            &diags[..200],
            &HumanStyle::default(),
        );
        assert_eq!(out.matches("ptc::unused_input").count(), 200);
        assert!(!out.contains("... and"));
    }

    #[test]
    fn github_escapes() {
        assert_eq!(gh_prop("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
        assert_eq!(gh_data("a:b,c%\r\n"), "a:b,c%25%0D%0A");
    }
}
