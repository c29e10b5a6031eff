//! The parser: drives the pest grammar one item at a time, builds the AST
//! and turns pest's failures into diagnostics a user can act on.
//!
//! Recovery: a file is a sequence of top-level items, a graph body a
//! sequence of graph items, a ptask body a sequence of statements. Each item
//! is parsed on its own; when one fails, the error is reported and parsing
//! resumes after the next `;` (or the end of the `{ ... }` block the bad item
//! opened), or at the offending token when it starts a new line (the usual
//! "forgot the `;`" case). So every syntax error in a file is reported, each
//! once.
//!
//! Layout: this module holds the driver (pest one item at a time, within a
//! window); `exprs` builds expressions and types, `items` the AST of
//! each item, `bodies` walks the file and the `{ ... }` bodies, and
//! `recovery` turns failures into diagnostics and finds where to resume.

mod bodies;
mod exprs;
mod items;
mod recovery;

use super::ast::*;
use crate::diag::{Code, Diagnostic};
use crate::ir::{Ident, Span};
use pest::iterators::Pair;
use pest::Parser as _;

#[derive(pest_derive::Parser)]
#[grammar = "front/grammar.pest"]
struct PtParser;

/// At most this many syntax errors are reported per file; the rest would
/// mostly be consequences of the first ones.
const MAX_SYNTAX_ERRORS: usize = 50;

/// Bytes of input handed to pest per item (see `Driver::window`).
const WINDOW: usize = 64 * 1024;

// invariant: a successful parse of a non-silent rule yields its pair; this
// error only exists to keep that path panic-free.
fn empty_parse() -> pest::error::Error<Rule> {
    pest::error::Error::new_from_pos(
        pest::error::ErrorVariant::CustomError {
            message: "empty parse".into(),
        },
        pest::Position::from_start(""),
    )
}

/// The result of parsing: the tree of everything that parsed, and the
/// syntax errors.
#[derive(Debug)]
pub struct Parsed {
    pub file: File,
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses a whole `.pt` source text. Never panics; every syntax error is a
/// `ptc::syntax` diagnostic.
pub fn parse(src: &str) -> Parsed {
    let mut p = Driver {
        src,
        pos: 0,
        diags: Vec::new(),
        errors: 0,
        unterminated: std::cell::Cell::new(false),
    };
    let file = p.file();
    Parsed {
        file,
        diagnostics: p.diags,
    }
}

/// Where in the nesting an item is parsed; decides what may come next.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Level {
    Top,
    Graph,
    Ptask,
}

struct Driver<'s> {
    src: &'s str,
    pos: usize,
    diags: Vec<Diagnostic>,
    errors: usize,
    /// An unterminated block comment swallowed the rest of the file.
    unterminated: std::cell::Cell<bool>,
}

fn sp(pair: &Pair<'_, Rule>, base: usize) -> Span {
    let s = pair.as_span();
    Span::new(base + s.start(), base + s.end())
}

fn ident(pair: Pair<'_, Rule>, base: usize) -> Ident {
    Ident {
        name: pair.as_str().to_string(),
        span: sp(&pair, base),
    }
}

fn num(pair: Pair<'_, Rule>, base: usize) -> Num {
    Num {
        text: pair.as_str().to_string(),
        span: sp(&pair, base),
    }
}

fn string(pair: Pair<'_, Rule>, base: usize) -> Str {
    let span = sp(&pair, base);
    let raw = pair.into_inner().next().map(|p| p.as_str()).unwrap_or("");
    let mut value = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(e @ ('"' | '\\')) => value.push(e),
                Some(other) => {
                    value.push('\\');
                    value.push(other);
                }
                None => value.push('\\'),
            }
        } else {
            value.push(c);
        }
    }
    Str { value, span }
}

impl<'s> Driver<'s> {
    fn rest(&self) -> &str {
        &self.src[self.pos..]
    }

    /// The text pest is given for one item: at most [`WINDOW`] bytes (or
    /// all of the rest). pest scans the whole input it is given to build an
    /// error message, so a window keeps each error's cost independent of the
    /// file size; an item that reaches the window's end is parsed again with
    /// the whole rest.
    fn window(&self, full: bool) -> &'s str {
        let rest = &self.src[self.pos..];
        if full || rest.len() <= WINDOW {
            return rest;
        }
        let mut cut = WINDOW;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        &rest[..cut]
    }

    fn skip_trivia(&mut self) {
        loop {
            let mut text = self.window(false);
            let Ok(mut pairs) = PtParser::parse(Rule::trivia, text) else {
                return;
            };
            let mut end = pairs.next().map_or(0, |p| p.as_span().end());
            let cut = text.len() < self.src.len() - self.pos;
            // A block comment that may close beyond the window, or trivia
            // that runs to the cut (which may split a line comment: the
            // rest of its line is not trivia on its own). Parsing the
            // whole rest costs only the trivia it consumes.
            if cut && (text[end..].starts_with("/*") || end == text.len()) {
                text = self.window(true);
                let Ok(mut pairs) = PtParser::parse(Rule::trivia, text) else {
                    return;
                };
                end = pairs.next().map_or(0, |p| p.as_span().end());
            }
            self.pos += end;
            // Stop unless the trivia ran to the window's end (more may follow).
            if end < text.len() || end == 0 {
                return;
            }
        }
    }

    /// Parses `rule` at the current position; on success advances past it.
    fn item(&mut self, rule: Rule) -> Result<Pair<'s, Rule>, pest::error::Error<Rule>> {
        let text = self.window(false);
        let result = match PtParser::parse(rule, text) {
            Ok(mut pairs) => match pairs.next() {
                Some(p)
                    if p.as_span().end() < text.len()
                        || text.len() == self.src.len() - self.pos =>
                {
                    Ok(p)
                }
                // The item reaches the window's end: parse it whole.
                _ => PtParser::parse(rule, self.window(true))
                    .and_then(|mut p| p.next().ok_or_else(empty_parse)),
            },
            Err(e) => {
                let at = match e.location {
                    pest::error::InputLocation::Pos(p) => p,
                    pest::error::InputLocation::Span((s, _)) => s,
                };
                // Truncated by the window (or a string that may close
                // beyond it): parse the whole rest.
                let cut = text.len() < self.src.len() - self.pos;
                if cut && (at >= text.len() || text[at.min(text.len())..].starts_with('"')) {
                    PtParser::parse(rule, self.window(true))
                        .and_then(|mut p| p.next().ok_or_else(empty_parse))
                } else {
                    Err(e)
                }
            }
        };
        if let Ok(p) = &result {
            self.pos += p.as_span().end();
        }
        result
    }

    fn push(&mut self, d: Diagnostic) {
        if self.errors < MAX_SYNTAX_ERRORS {
            self.diags.push(d);
        } else if self.errors == MAX_SYNTAX_ERRORS {
            self.diags.push(
                Diagnostic::new(
                    Code::Syntax,
                    format!("too many syntax errors; stopped reporting after {MAX_SYNTAX_ERRORS}"),
                )
                .primary(
                    d.primary_span().unwrap_or_default(),
                    "further errors not shown",
                ),
            );
        }
        self.errors += 1;
    }
}
