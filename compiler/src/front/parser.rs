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

use super::ast::*;
use crate::diag::{Code, Diagnostic};
use crate::ir::{GraphPortDir, Ident, PortKind, Span};
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

/// An expression token before ordering.
enum Tok {
    Num(String),
    Name(String),
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Open,
    Close,
}

/// An operator waiting on the stack: (op, precedence, span) or an open
/// parenthesis.
enum Pending {
    Op(ExprOp, u8, Span),
    Open(Span),
}

/// Builds an expression from its flat token run (shunting-yard, with an
/// explicit operator stack: no recursion, however deep the parentheses).
/// `list_end`: the expression is the last one in a `( ... )` list, whose
/// closing `)` the grammar let it take: an unmatched `)` at its end is
/// given back (the second value says whether it was there).
fn expr(
    pair: Pair<'_, Rule>,
    base: usize,
    list_end: bool,
    errs: &mut Vec<Diagnostic>,
) -> (Expr, bool) {
    let whole = pair.as_str();
    let origin = base + pair.as_span().start();
    let mut toks: Vec<(Tok, Span)> = Vec::new();
    for t in pair.into_inner() {
        let span = sp(&t, base);
        let tok = match t.as_rule() {
            Rule::unsigned => Tok::Num(t.as_str().to_string()),
            Rule::ident => Tok::Name(t.as_str().to_string()),
            Rule::op_add => Tok::Add,
            Rule::op_sub => Tok::Sub,
            Rule::op_mul => Tok::Mul,
            Rule::op_div => Tok::Div,
            Rule::op_rem => Tok::Rem,
            Rule::lparen => Tok::Open,
            Rule::rparen => Tok::Close,
            _ => continue,
        };
        toks.push((tok, span));
    }
    // Give back the list's closing `)`: the last `)` when the parentheses
    // before it balance.
    let mut gave_back = false;
    if list_end && matches!(toks.last(), Some((Tok::Close, _))) {
        let depth: i64 = toks[..toks.len() - 1]
            .iter()
            .map(|(t, _)| match t {
                Tok::Open => 1,
                Tok::Close => -1,
                _ => 0,
            })
            .sum();
        if depth == 0 {
            toks.pop();
            gave_back = true;
        }
    }
    let span = match (toks.first(), toks.last()) {
        (Some((_, a)), Some((_, b))) => Span::new(a.start, b.end),
        _ => Span::new(base, base),
    };
    let text = whole
        .get(span.start.saturating_sub(origin)..span.end.saturating_sub(origin))
        .unwrap_or(whole)
        .to_string();
    let mut e = Expr {
        postfix: Vec::with_capacity(toks.len()),
        text,
        span,
    };
    match order(toks, &mut e.postfix) {
        Ok(()) => {}
        Err(d) => {
            errs.push(d);
            e.postfix.clear();
        }
    }
    (e, gave_back)
}

fn describe(t: &Tok) -> &'static str {
    match t {
        Tok::Num(_) => "a number",
        Tok::Name(_) => "a name",
        Tok::Add => "`+`",
        Tok::Sub => "`-`",
        Tok::Mul => "`*`",
        Tok::Div => "`/`",
        Tok::Rem => "`%`",
        Tok::Open => "`(`",
        Tok::Close => "`)`",
    }
}

/// Orders expression tokens into postfix form.
fn order(toks: Vec<(Tok, Span)>, out: &mut Vec<ExprTok>) -> Result<(), Diagnostic> {
    let bad = |msg: String, span: Span, label: &str| {
        Diagnostic::new(Code::Syntax, msg)
            .primary(span, label.to_string())
            .help("an expression is numbers and consts joined by `+ - * / %`, with parentheses, e.g. `W * 2 + 1`")
    };
    let mut ops: Vec<Pending> = Vec::new();
    // True when the next token must be a value (start, after an operator or `(`).
    let mut want_value = true;
    let mut last: Option<Span> = None;
    fn pop_op(p: Pending, out: &mut Vec<ExprTok>) {
        if let Pending::Op(op, _, span) = p {
            out.push(ExprTok { op, span });
        }
    }
    for (t, span) in toks {
        match t {
            Tok::Num(_) | Tok::Name(_) => {
                if !want_value {
                    return Err(bad(
                        format!("expected an operator before {}", describe(&t)),
                        span,
                        "expected `+`, `-`, `*`, `/` or `%` before this",
                    ));
                }
                let op = match t {
                    Tok::Num(n) => ExprOp::Num(n),
                    Tok::Name(n) => ExprOp::Name(n),
                    _ => ExprOp::Neg, // invariant: matched above
                };
                out.push(ExprTok { op, span });
                want_value = false;
            }
            Tok::Open => {
                if !want_value {
                    return Err(bad(
                        "expected an operator before `(`".into(),
                        span,
                        "expected `+`, `-`, `*`, `/` or `%` before this",
                    ));
                }
                ops.push(Pending::Open(span));
            }
            Tok::Close => {
                if want_value {
                    return Err(bad(
                        "expected a value before `)`".into(),
                        span,
                        "expected a number or a name before this",
                    ));
                }
                loop {
                    match ops.pop() {
                        Some(Pending::Open(_)) => break,
                        Some(p) => pop_op(p, out),
                        None => {
                            return Err(bad(
                                "this `)` closes nothing".into(),
                                span,
                                "unmatched `)`",
                            ))
                        }
                    }
                }
            }
            Tok::Sub if want_value => ops.push(Pending::Op(ExprOp::Neg, 3, span)),
            Tok::Add | Tok::Sub | Tok::Mul | Tok::Div | Tok::Rem => {
                if want_value {
                    return Err(bad(
                        format!("expected a value before {}", describe(&t)),
                        span,
                        "expected a number or a name before this",
                    ));
                }
                let (op, prec) = match t {
                    Tok::Add => (ExprOp::Add, 1),
                    Tok::Sub => (ExprOp::Sub, 1),
                    Tok::Mul => (ExprOp::Mul, 2),
                    Tok::Div => (ExprOp::Div, 2),
                    _ => (ExprOp::Rem, 2),
                };
                while let Some(Pending::Op(_, p, _)) = ops.last() {
                    if *p < prec {
                        break;
                    }
                    if let Some(p) = ops.pop() {
                        pop_op(p, out);
                    }
                }
                ops.push(Pending::Op(op, prec, span));
                want_value = true;
            }
        }
        last = Some(span);
    }
    if want_value {
        let at = last.map_or(Span::default(), |l| Span::new(l.end, l.end));
        return Err(bad(
            "the expression ends without a value".into(),
            at,
            "expected a number or a name here",
        ));
    }
    while let Some(p) = ops.pop() {
        if let Pending::Open(span) = p {
            return Err(bad("this `(` is never closed".into(), span, "unclosed `(`"));
        }
        pop_op(p, out);
    }
    Ok(())
}

/// All the expressions in `pair`'s children (shapes, grids), in order.
fn exprs(pair: Pair<'_, Rule>, base: usize, errs: &mut Vec<Diagnostic>) -> Vec<Expr> {
    pair.into_inner()
        .filter(|d| d.as_rule() == Rule::expr)
        .map(|d| expr(d, base, false, errs).0)
        .collect()
}

fn type_expr(pair: Pair<'_, Rule>, base: usize, errs: &mut Vec<Diagnostic>) -> TypeExpr {
    let span = sp(&pair, base);
    let mut elem = None;
    let mut shape = None;
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::elem_type => {
                for e in p.into_inner() {
                    match e.as_rule() {
                        Rule::ident => elem = Some(ElemExpr::Named(ident(e, base))),
                        Rule::vec_type => {
                            let vspan = sp(&e, base);
                            let mut n = None;
                            let mut scalar = None;
                            for v in e.into_inner() {
                                match v.as_rule() {
                                    Rule::kw_vec => {
                                        let s = sp(&v, base);
                                        n = Some(Num {
                                            text: v.as_str()[3..].to_string(),
                                            span: Span::new(s.start + 3, s.end),
                                        });
                                    }
                                    Rule::ident => scalar = Some(ident(v, base)),
                                    _ => {}
                                }
                            }
                            if let (Some(n), Some(scalar)) = (n, scalar) {
                                elem = Some(ElemExpr::Vector {
                                    n,
                                    scalar,
                                    span: vspan,
                                });
                            }
                        }
                        _ => {}
                    }
                }
            }
            Rule::shape => {
                let sspan = sp(&p, base);
                shape = Some((exprs(p, base, errs), sspan));
            }
            _ => {}
        }
    }
    TypeExpr {
        // invariant: the grammar's type_expr always contains an elem_type
        elem: elem.unwrap_or_else(|| {
            ElemExpr::Named(Ident {
                name: String::new(),
                span,
            })
        }),
        shape,
        span,
    }
}

/// The first word (or character) at `pos`, its span, and a description for
/// "found ..." messages.
fn token_at(src: &str, pos: usize) -> (String, Span) {
    let rest = &src[pos..];
    let Some(c) = rest.chars().next() else {
        return ("end of file".to_string(), Span::new(pos, pos));
    };
    if c.is_alphanumeric() || c == '_' {
        let len: usize = rest
            .char_indices()
            .find(|(_, ch)| !(ch.is_alphanumeric() || *ch == '_'))
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        return (format!("`{}`", &rest[..len]), Span::new(pos, pos + len));
    }
    if rest.starts_with("->") {
        return ("`->`".to_string(), Span::new(pos, pos + 2));
    }
    let desc = if c.is_control() || c == '\u{FFFD}' {
        format!("the character {:?}", c)
    } else {
        format!("`{c}`")
    };
    (desc, Span::new(pos, pos + c.len_utf8()))
}

/// A user-facing name for what a grammar rule stands for.
fn friendly(rule: Rule) -> &'static str {
    match rule {
        Rule::semi => "`;`",
        Rule::colon => "`:`",
        Rule::comma => "`,`",
        Rule::lbrace => "`{`",
        Rule::rbrace => "`}`",
        Rule::lbracket | Rule::shape => "`[`",
        Rule::rbracket => "`]`",
        Rule::lparen | Rule::args => "`(`",
        Rule::rparen => "`)`",
        Rule::langle => "`<`",
        Rule::rangle => "`>`",
        Rule::arrow => "`->`",
        Rule::dot => "`.`",
        Rule::eq => "`=`",
        Rule::ident => "a name",
        Rule::number => "a number",
        Rule::string | Rule::string_inner => {
            "a string in double quotes, such as \"kernels/k.comp\""
        }
        Rule::type_expr | Rule::elem_type | Rule::vec_type | Rule::kw_vec => {
            "a type such as `f32[16]`"
        }
        Rule::kw_struct => "`struct`",
        Rule::kw_graph => "`graph`",
        Rule::kw_priority => "`priority`",
        Rule::kw_input => "`input`",
        Rule::kw_output => "`output`",
        Rule::kw_from => "`from`",
        Rule::kw_to => "`to`",
        Rule::kw_ptask => "`ptask`",
        Rule::kw_kernel => "`kernel`",
        Rule::kw_in => "`in`",
        Rule::kw_sticky => "`sticky`",
        Rule::kw_out => "`out`",
        Rule::kw_param => "`param`",
        Rule::kw_grid => "`grid`",
        Rule::kw_const => "`const`",
        Rule::kw_import => "`import`",
        Rule::kw_spec => "`spec`",
        Rule::kw_define => "`define`",
        Rule::kw_entry => "`entry`",
        Rule::expr | Rule::expr_token | Rule::unsigned => "a value such as `16` or `W * 2`",
        Rule::op_add | Rule::op_sub | Rule::op_mul | Rule::op_div | Rule::op_rem => "an operator",
        Rule::tparam => "a template parameter such as `n: u32 = 16`",
        Rule::tparams => "`(`",
        Rule::inst_arg => "an argument such as `n: 16`",
        Rule::inst_args => "`(`",
        Rule::instance => "`ptask NAME = TEMPLATE(...)`",
        Rule::const_decl => "`const`",
        Rule::import_decl => "`import`",
        Rule::template_head => "`ptask`",
        Rule::clause => "`from` or `to`",
        Rule::endpoint => "a source or sink such as `file(\"x.npy\")`",
        Rule::literal => "a number or a string",
        Rule::arg => "an argument such as `fps: 30`",
        Rule::port_ref => "a port such as `x` or `ptask.port`",
        Rule::field => "a field such as `x: f32`",
        Rule::port_stmt => "a port declaration",
        Rule::graph_port => "`input` or `output`",
        Rule::ptask_head => "`ptask`",
        Rule::channel => "a channel",
        Rule::struct_decl => "`struct`",
        Rule::graph_head => "`graph`",
        Rule::kernel_stmt
        | Rule::spec_stmt
        | Rule::define_stmt
        | Rule::entry_stmt
        | Rule::param_stmt
        | Rule::grid_stmt
        | Rule::prio_stmt
        | Rule::ptask_stmt
        | Rule::graph_item
        | Rule::top_item
        | Rule::trivia
        | Rule::keyword
        | Rule::WHITESPACE
        | Rule::COMMENT
        | Rule::ident_char => "a declaration",
    }
}

/// Joins alternatives: "a", "a or b", "a, b or c".
fn one_of(items: &[&str]) -> String {
    match items {
        [] => "something else".to_string(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    }
}

const KEYWORDS: &[&str] = &[
    "struct", "graph", "priority", "input", "output", "from", "to", "ptask", "kernel", "in",
    "sticky", "out", "param", "grid", "const", "import", "spec", "define", "entry",
];

/// What the item starting with `word` is called in messages.
fn item_context(word: &str, level: Level) -> &'static str {
    match word {
        "struct" => "the struct declaration",
        "graph" => "the graph header",
        "input" => "the `input` declaration",
        "output" => "the `output` declaration",
        "ptask" if level == Level::Top => "the template header",
        "ptask" => "the ptask header",
        "kernel" => "the `kernel` statement",
        "in" | "sticky" | "out" => "the port declaration",
        "param" => "the `param` declaration",
        "grid" => "the `grid` statement",
        "const" => "the `const` declaration",
        "import" => "the `import` declaration",
        "spec" => "the `spec` declaration",
        "define" => "the `define` statement",
        "entry" => "the `entry` statement",
        "priority" if level == Level::Ptask => "the `priority` statement",
        "priority" => "the graph header",
        _ => "the channel",
    }
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

    /// Reports a failed item parse and moves to where parsing can resume.
    /// Returns the position of the error.
    fn fail(&mut self, e: pest::error::Error<Rule>, item_start: usize, level: Level) -> usize {
        let rel = match e.location {
            pest::error::InputLocation::Pos(p) => p,
            pest::error::InputLocation::Span((s, _)) => s,
        };
        let at = (item_start + rel).min(self.src.len());
        let d = self.describe(&e, item_start, at, level);
        self.push(d);
        self.pos = if self.errors > MAX_SYNTAX_ERRORS {
            // Stop: each further error would cost a scan of the rest.
            self.src.len()
        } else {
            self.resume_point(item_start, at, level)
        };
        at
    }

    fn describe(
        &self,
        e: &pest::error::Error<Rule>,
        item_start: usize,
        at: usize,
        level: Level,
    ) -> Diagnostic {
        let src = self.src;
        let rest = &src[at..];
        let (found, found_span) = token_at(src, at);
        // Unterminated block comment: everything after it is a comment.
        if rest.starts_with("/*") {
            self.unterminated.set(true);
            return Diagnostic::new(Code::Syntax, "unterminated block comment")
                .primary(Span::new(at, at + 2), "this comment is never closed")
                .help("close it with `*/` (block comments do not nest)");
        }
        if rest.starts_with('"') {
            let line_end = rest.find('\n').unwrap_or(rest.len());
            if !rest[1..line_end].contains('"') {
                return Diagnostic::new(Code::Syntax, "unterminated string")
                    .primary(Span::new(at, at + 1), "this string is never closed")
                    .help("strings end with `\"` on the same line");
            }
        }
        let (first_word, _) = token_at(src, item_start);
        let first_word = first_word.trim_matches('`').to_string();
        let ctx = item_context(&first_word, level);

        let positives: Vec<Rule> = match &e.variant {
            pest::error::ErrorVariant::ParsingError { positives, .. } => positives.clone(),
            pest::error::ErrorVariant::CustomError { message } => {
                return Diagnostic::new(Code::Syntax, format!("cannot parse this: {message}"))
                    .primary(found_span, "here");
            }
        };

        let mut help = None;
        let message;
        let label;
        if at == item_start {
            // Nothing of the item matched: say what may stand here.
            let (what, options): (&str, &[&str]) = match level {
                Level::Top => (
                    "`struct`, `const`, `import`, a ptask template or `graph`",
                    &["struct", "const", "import", "graph"],
                ),
                Level::Graph => (
                    "`input`, `output`, `ptask`, a channel such as `a -> b.port;`, or `}`",
                    &["input", "output", "ptask"],
                ),
                Level::Ptask => (
                    "`kernel`, `in`, `sticky`, `out`, `param`, `spec`, `define`, `entry`, `grid`, `priority` or `}`",
                    &[
                        "kernel", "in", "sticky", "out", "param", "spec", "define", "entry", "grid",
                        "priority",
                    ],
                ),
            };
            message = format!("expected {what}, found {found}");
            label = "unexpected here".to_string();
            let word = found.trim_matches('`');
            if let Some(s) = crate::valid::suggest(word, options.iter().copied()) {
                help = Some(format!("did you mean `{s}`?"));
            } else if level == Level::Top && ["input", "output"].contains(&word) {
                help = Some(
                    "ports, ptasks and channels go inside a `graph NAME { ... }` block".into(),
                );
            } else if level == Level::Graph
                && ["in", "out", "sticky", "kernel", "param"].contains(&word)
            {
                help = Some(format!(
                    "`{word}` belongs inside a `ptask NAME {{ ... }}` block; graph ports are `input` and `output`"
                ));
            } else if level == Level::Ptask && ["input", "output", "ptask"].contains(&word) {
                help = Some(format!(
                    "`{word}` belongs in the graph body; is a `}}` missing before it?"
                ));
            }
        } else if level == Level::Graph
            && !KEYWORDS.contains(&first_word.as_str())
            && src[item_start..at].trim_end() == first_word
            && !rest.starts_with('.')
            && !rest.starts_with("->")
        {
            // `inptu x: ...`: a misspelt keyword parsed as the start of a channel.
            if let Some(s) = crate::valid::suggest(&first_word, ["input", "output", "ptask"]) {
                return Diagnostic::new(Code::Syntax, format!("unknown keyword `{first_word}`"))
                    .primary(
                        Span::new(item_start, item_start + first_word.len()),
                        "not a keyword",
                    )
                    .help(format!("did you mean `{s}`?"));
            }
            message = format!("expected `.` or `->` in the channel, found {found}");
            label = "expected `->` here".into();
        } else {
            let mut names: Vec<&str> = Vec::new();
            for r in &positives {
                let f = match *r {
                    Rule::clause => "`from`",
                    other => friendly(other),
                };
                if !names.contains(&f) {
                    names.push(f);
                }
                if *r == Rule::clause && !names.contains(&"`to`") {
                    names.push("`to`");
                }
            }
            let wants_semi = positives.contains(&Rule::semi);
            let prep = if wants_semi { "after" } else { "in" };
            message = format!("expected {} {prep} {ctx}, found {found}", one_of(&names));
            label = if names.len() == 1 {
                format!("expected {} here", names[0])
            } else {
                "unexpected here".to_string()
            };
            let word = found.trim_matches('`');
            if positives.contains(&Rule::ident) && KEYWORDS.contains(&word) {
                help = Some(format!(
                    "`{word}` is a keyword and cannot be used as a name"
                ));
            }
        }
        if help.is_none() && (rest.starts_with("*/") || src[..at].trim_end().ends_with("*/")) {
            help = Some("block comments do not nest: the first `*/` ends the comment".into());
        }
        if help.is_none()
            && rest
                .chars()
                .next()
                .is_some_and(|c| !c.is_ascii() && c.is_alphanumeric())
        {
            help = Some("names are ASCII: letters, digits and `_`".into());
        }
        let mut d = Diagnostic::new(Code::Syntax, message).primary(found_span, label);
        if let Some(h) = help {
            d = d.help(h);
        }
        d
    }

    /// Where to continue after an item starting at `start` failed at `at`.
    fn resume_point(&self, start: usize, at: usize, level: Level) -> usize {
        let src = self.src;
        let bytes = src.as_bytes();
        if src[at..].starts_with("/*") {
            return src.len();
        }
        // A token on a new line after a partial item: the item most likely
        // lacks its terminator; resume at the token.
        if at > start && at < src.len() {
            let before = &src[start..at];
            let trimmed = before.trim_end_matches([' ', '\t', '\r']);
            if trimmed.ends_with('\n') {
                return at;
            }
            if src[at..].starts_with('}') && level != Level::Top {
                return at;
            }
        }
        // Scan from the item's start so that braces it opened are matched.
        let mut i = start;
        let mut depth = 0usize;
        while i < bytes.len() {
            match bytes[i] {
                b'/' if bytes.get(i + 1) == Some(&b'/') => {
                    i = src[i..].find('\n').map_or(src.len(), |n| i + n);
                    continue;
                }
                b'/' if bytes.get(i + 1) == Some(&b'*') => {
                    i = src[i + 2..].find("*/").map_or(src.len(), |n| i + 2 + n + 2);
                    continue;
                }
                b'"' => {
                    let line_end = src[i + 1..].find('\n').map_or(src.len(), |n| i + 1 + n);
                    i = src[i + 1..line_end]
                        .find('"')
                        .map_or(line_end, |n| i + 1 + n + 1);
                    continue;
                }
                b';' if depth == 0 => return i + 1,
                b'{' => depth += 1,
                b'}' => {
                    if depth == 0 {
                        if level == Level::Top {
                            // A stray `}` at the top level: skip it.
                            i += 1;
                            continue;
                        }
                        // Closes the enclosing block: let the caller see it.
                        return if i > start { i } else { i + 1 };
                    }
                    depth -= 1;
                    if depth == 0 {
                        return i + 1;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        src.len()
    }

    fn file(&mut self) -> File {
        let mut file = File::default();
        loop {
            self.skip_trivia();
            if self.pos >= self.src.len() {
                break;
            }
            let start = self.pos;
            match self.item(Rule::top_item) {
                Ok(pair) => {
                    let base = start;
                    let Some(inner) = pair.into_inner().next() else {
                        continue;
                    };
                    let mut errs = Vec::new();
                    match inner.as_rule() {
                        Rule::struct_decl => file.structs.push(struct_decl(inner, base, &mut errs)),
                        Rule::const_decl => {
                            if let Some(c) = const_decl(inner, base, &mut errs) {
                                file.consts.push(c);
                            }
                        }
                        Rule::import_decl => {
                            let span = sp(&inner, base);
                            if let Some(s) =
                                inner.into_inner().find(|p| p.as_rule() == Rule::string)
                            {
                                file.imports.push(ImportDecl {
                                    path: string(s, base),
                                    span,
                                });
                            }
                        }
                        Rule::graph_head => {
                            let (name, priority) = graph_head(inner, base, &mut errs);
                            self.push_all(errs);
                            let g = self.graph_body(name, priority, start);
                            file.graphs.push(g);
                            continue;
                        }
                        Rule::template_head => {
                            let head = sp(&inner, base);
                            let (name, params) = template_head(inner, base, &mut errs);
                            self.push_all(errs);
                            let body = self.ptask_body(name.clone(), start);
                            file.templates.push(TemplateDecl {
                                name,
                                params,
                                span: body.span,
                                body,
                                head,
                            });
                            continue;
                        }
                        _ => {}
                    }
                    self.push_all(errs);
                }
                Err(e) => {
                    let word = first_word(self.src, start).0;
                    let (is_graph, is_ptask) = (word == "graph", word == "ptask");
                    let at = self.fail(e, start, Level::Top);
                    // A broken graph or template header: still parse (and
                    // check) the body.
                    if is_graph || is_ptask {
                        if let Some(open) = open_brace_after(self.src, at) {
                            let name = second_word(self.src, start).unwrap_or(Ident {
                                name: String::new(),
                                span: Span::new(start, start + 5),
                            });
                            self.pos = open + 1;
                            if is_graph {
                                let g = self.graph_body(name, None, start);
                                file.graphs.push(g);
                            } else {
                                let _ = self.ptask_body(name, start);
                            }
                        }
                    }
                }
            }
        }
        file
    }

    /// Reports the syntax errors found inside an item (its expressions).
    fn push_all(&mut self, errs: Vec<Diagnostic>) {
        for d in errs {
            self.push(d);
        }
    }

    /// Steps over trivia inside a `{ ... }` body and says what comes next:
    /// the end of the file (reported once as an unclosed `what`), the closing
    /// `}` (consumed), or another item.
    fn body_at(&mut self, what: &str, name: &Ident) -> BodyAt {
        self.skip_trivia();
        if self.pos >= self.src.len() {
            if !self.unterminated.get() {
                let d = Diagnostic::new(
                    Code::Syntax,
                    format!(
                        "{what} `{}` is never closed: expected `}}` before the end of the file",
                        name.name
                    ),
                )
                .primary(
                    name.span,
                    format!("this {what}'s `{{` has no matching `}}`"),
                );
                self.push(d);
            }
            return BodyAt::End;
        }
        if self.rest().starts_with('}') {
            self.pos += 1;
            return BodyAt::Close;
        }
        BodyAt::Item
    }

    fn graph_body(&mut self, name: Ident, priority: Option<Expr>, start: usize) -> GraphDecl {
        let mut g = GraphDecl {
            name,
            priority,
            ports: Vec::new(),
            ptasks: Vec::new(),
            channels: Vec::new(),
            body_errors: false,
            broken_names: Vec::new(),
            span: Span::default(),
        };
        loop {
            match self.body_at("graph", &g.name) {
                BodyAt::End => {
                    g.body_errors = true;
                    break;
                }
                BodyAt::Close => break,
                BodyAt::Item => {}
            }
            let istart = self.pos;
            match self.item(Rule::graph_item) {
                Ok(pair) => {
                    let Some(inner) = pair.into_inner().next() else {
                        continue;
                    };
                    let mut errs = Vec::new();
                    match inner.as_rule() {
                        Rule::graph_port => g.ports.push(graph_port(inner, istart, &mut errs)),
                        Rule::channel => g.channels.push(channel(inner, istart)),
                        Rule::instance => {
                            let (t, closed) = instance(inner, istart, &mut errs);
                            if !closed {
                                errs.push(
                                    Diagnostic::new(
                                        Code::Syntax,
                                        format!(
                                            "the arguments of ptask `{}` are never closed",
                                            t.name.name
                                        ),
                                    )
                                    .primary(
                                        Span::new(t.span.end, t.span.end),
                                        "expected `)` before the `;`",
                                    ),
                                );
                                g.body_errors = true;
                            }
                            g.ptasks.push(t);
                        }
                        Rule::ptask_head => {
                            let name = inner
                                .into_inner()
                                .find(|p| p.as_rule() == Rule::ident)
                                .map(|p| ident(p, istart));
                            let Some(name) = name else { continue };
                            let t = self.ptask_body(name, istart);
                            g.ptasks.push(t);
                        }
                        _ => {}
                    }
                    if !errs.is_empty() {
                        g.body_errors = true;
                    }
                    self.push_all(errs);
                }
                Err(e) => {
                    g.body_errors = true;
                    // Remember the name a broken declaration was giving,
                    // so that uses of it are not reported as unknown.
                    let name = second_word(self.src, istart);
                    if let Some(n) = &name {
                        g.broken_names.push(n.name.clone());
                    }
                    let is_ptask = first_word(self.src, istart).0 == "ptask";
                    let at = self.fail(e, istart, Level::Graph);
                    // A broken ptask header: parse its body for its errors.
                    if is_ptask {
                        if let Some(open) = open_brace_after(self.src, at) {
                            let name = name.unwrap_or(Ident {
                                name: String::new(),
                                span: Span::new(istart, istart + 5),
                            });
                            self.pos = open + 1;
                            let _ = self.ptask_body(name, istart);
                        }
                    }
                }
            }
        }
        g.span = Span::new(start, self.pos);
        g
    }

    fn ptask_body(&mut self, name: Ident, start: usize) -> PtaskDecl {
        let mut t = PtaskDecl {
            name,
            ..PtaskDecl::default()
        };
        loop {
            match self.body_at("ptask", &t.name) {
                BodyAt::End => {
                    t.body_errors = true;
                    break;
                }
                BodyAt::Close => break,
                BodyAt::Item => {}
            }
            let istart = self.pos;
            match self.item(Rule::ptask_stmt) {
                Ok(pair) => {
                    let Some(inner) = pair.into_inner().next() else {
                        continue;
                    };
                    let mut errs = Vec::new();
                    ptask_stmt(&mut t, inner, istart, &mut errs);
                    if !errs.is_empty() {
                        t.body_errors = true;
                    }
                    self.push_all(errs);
                }
                Err(e) => {
                    t.body_errors = true;
                    self.fail(e, istart, Level::Ptask);
                }
            }
        }
        t.span = Span::new(start, self.pos);
        t
    }
}

/// The word (ASCII identifier characters) at `pos`, and its end.
fn first_word(src: &str, pos: usize) -> (&str, usize) {
    let rest = &src[pos..];
    let len = rest
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    (&rest[..len], pos + len)
}

/// The identifier after the first word at `pos` (`ptask NAME`), if any.
fn second_word(src: &str, pos: usize) -> Option<Ident> {
    let (w, end) = first_word(src, pos);
    if w.is_empty() {
        return None;
    }
    let rest = &src[end..];
    let skip = rest.len() - rest.trim_start().len();
    let start = end + skip;
    let (name, nend) = first_word(src, start);
    let ok = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
    ok.then(|| Ident {
        name: name.to_string(),
        span: Span::new(start, nend),
    })
}

/// The `{` that opens a block after a broken header at `from`, if one
/// comes before any `;` or `}`.
fn open_brace_after(src: &str, from: usize) -> Option<usize> {
    for (i, b) in src.as_bytes()[from.min(src.len())..].iter().enumerate() {
        match b {
            b'{' => return Some(from + i),
            b';' | b'}' => return None,
            _ => {}
        }
    }
    None
}

fn struct_decl(pair: Pair<'_, Rule>, base: usize, errs: &mut Vec<Diagnostic>) -> StructDecl {
    let span = sp(&pair, base);
    let mut name = None;
    let mut fields = Vec::new();
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::ident => name = Some(ident(p, base)),
            Rule::field => {
                let fspan = sp(&p, base);
                let mut fname = None;
                let mut ty = None;
                for f in p.into_inner() {
                    match f.as_rule() {
                        Rule::ident => fname = Some(ident(f, base)),
                        Rule::type_expr => ty = Some(type_expr(f, base, errs)),
                        _ => {}
                    }
                }
                if let (Some(name), Some(ty)) = (fname, ty) {
                    fields.push(Field {
                        name,
                        ty,
                        span: fspan,
                    });
                }
            }
            _ => {}
        }
    }
    StructDecl {
        // invariant: the grammar requires a name after `struct`
        name: name.unwrap_or(Ident {
            name: String::new(),
            span,
        }),
        fields,
        span,
    }
}

fn graph_head(
    pair: Pair<'_, Rule>,
    base: usize,
    errs: &mut Vec<Diagnostic>,
) -> (Ident, Option<Expr>) {
    let span = sp(&pair, base);
    let mut name = None;
    let mut prio = None;
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::ident => name = Some(ident(p, base)),
            Rule::expr => prio = Some(expr(p, base, false, errs).0),
            _ => {}
        }
    }
    (
        // invariant: the grammar requires a name after `graph`
        name.unwrap_or(Ident {
            name: String::new(),
            span,
        }),
        prio,
    )
}

fn graph_port(pair: Pair<'_, Rule>, base: usize, errs: &mut Vec<Diagnostic>) -> GraphPortDecl {
    let span = sp(&pair, base);
    let mut dir = (GraphPortDir::Input, span);
    let mut name = None;
    let mut ty = None;
    let mut clause = None;
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::kw_input => dir = (GraphPortDir::Input, sp(&p, base)),
            Rule::kw_output => dir = (GraphPortDir::Output, sp(&p, base)),
            Rule::ident => name = Some(ident(p, base)),
            Rule::type_expr => ty = Some(type_expr(p, base, errs)),
            Rule::clause => clause = clause_of(p, base),
            _ => {}
        }
    }
    let name = name.unwrap_or(Ident {
        name: String::new(),
        span,
    });
    GraphPortDecl {
        dir: dir.0,
        dir_span: dir.1,
        ty: ty.unwrap_or(TypeExpr {
            elem: ElemExpr::Named(name.clone()),
            shape: None,
            span,
        }),
        name,
        clause,
        span,
    }
}

fn clause_of(pair: Pair<'_, Rule>, base: usize) -> Option<Clause> {
    let span = sp(&pair, base);
    let mut kind = None;
    let mut name = None;
    let mut args = None;
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::kw_from => kind = Some((ClauseKind::From, sp(&p, base))),
            Rule::kw_to => kind = Some((ClauseKind::To, sp(&p, base))),
            Rule::endpoint => {
                for e in p.into_inner() {
                    match e.as_rule() {
                        Rule::ident => name = Some(ident(e, base)),
                        Rule::args => {
                            let aspan = sp(&e, base);
                            let list = e
                                .into_inner()
                                .filter(|a| a.as_rule() == Rule::arg)
                                .filter_map(|a| arg(a, base))
                                .collect();
                            args = Some((list, aspan));
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    let (kind, kind_span) = kind?;
    Some(Clause {
        kind,
        kind_span,
        name: name?,
        args,
        span,
    })
}

fn arg(pair: Pair<'_, Rule>, base: usize) -> Option<Arg> {
    let span = sp(&pair, base);
    let mut name = None;
    let mut value = None;
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::ident => name = Some(ident(p, base)),
            Rule::literal => {
                let l = p.into_inner().next()?;
                value = Some(match l.as_rule() {
                    Rule::string => Lit::Str(string(l, base)),
                    _ => Lit::Num(num(l, base)),
                });
            }
            _ => {}
        }
    }
    Some(Arg {
        name,
        value: value?,
        span,
    })
}

fn port_ref(pair: Pair<'_, Rule>, base: usize) -> Option<PortRef> {
    let span = sp(&pair, base);
    let mut ids = pair
        .into_inner()
        .filter(|p| p.as_rule() == Rule::ident)
        .map(|p| ident(p, base));
    let first = ids.next()?;
    let second = ids.next();
    Some(PortRef {
        first,
        second,
        span,
    })
}

fn channel(pair: Pair<'_, Rule>, base: usize) -> ChannelDecl {
    let span = sp(&pair, base);
    let mut refs = pair
        .into_inner()
        .filter(|p| p.as_rule() == Rule::port_ref)
        .filter_map(|p| port_ref(p, base));
    let blank = || PortRef {
        first: Ident {
            name: String::new(),
            span,
        },
        second: None,
        span,
    };
    // invariant: the grammar's channel has exactly two port_refs
    let from = refs.next().unwrap_or_else(blank);
    let to = refs.next().unwrap_or_else(blank);
    ChannelDecl { from, to, span }
}

fn ptask_stmt(t: &mut PtaskDecl, pair: Pair<'_, Rule>, base: usize, errs: &mut Vec<Diagnostic>) {
    let span = sp(&pair, base);
    match pair.as_rule() {
        Rule::kernel_stmt => {
            if let Some(s) = pair.into_inner().find(|p| p.as_rule() == Rule::string) {
                t.kernels.push((string(s, base), span));
            }
        }
        Rule::entry_stmt => {
            if let Some(s) = pair.into_inner().find(|p| p.as_rule() == Rule::string) {
                t.entries.push((string(s, base), span));
            }
        }
        Rule::port_stmt => {
            let mut kind = (PortKind::In, span);
            let mut name = None;
            let mut ty = None;
            let mut init = None;
            for p in pair.into_inner() {
                match p.as_rule() {
                    Rule::kw_in => kind = (PortKind::In, sp(&p, base)),
                    Rule::kw_sticky => kind = (PortKind::Sticky, sp(&p, base)),
                    Rule::kw_out => kind = (PortKind::Out, sp(&p, base)),
                    Rule::ident => name = Some(ident(p, base)),
                    Rule::type_expr => ty = Some(type_expr(p, base, errs)),
                    Rule::expr => init = Some(expr(p, base, false, errs).0),
                    _ => {}
                }
            }
            if let (Some(name), Some(ty)) = (name, ty) {
                t.ports.push(PortDecl {
                    kind: kind.0,
                    kind_span: kind.1,
                    name,
                    ty,
                    init,
                    span,
                });
            }
        }
        Rule::param_stmt | Rule::spec_stmt => {
            let is_spec = pair.as_rule() == Rule::spec_stmt;
            let mut name = None;
            let mut ty = None;
            let mut value = None;
            for p in pair.into_inner() {
                match p.as_rule() {
                    Rule::ident => name = Some(ident(p, base)),
                    Rule::type_expr => ty = Some(type_expr(p, base, errs)),
                    Rule::expr => value = Some(expr(p, base, false, errs).0),
                    _ => {}
                }
            }
            if let (Some(name), Some(ty), Some(value)) = (name, ty, value) {
                if is_spec {
                    t.specs.push(SpecDecl {
                        name,
                        ty,
                        value,
                        span,
                    });
                } else {
                    t.params.push(ParamDecl {
                        name,
                        ty,
                        value,
                        span,
                    });
                }
            }
        }
        Rule::define_stmt => {
            let mut name = None;
            let mut value = None;
            for p in pair.into_inner() {
                match p.as_rule() {
                    Rule::ident => name = Some(ident(p, base)),
                    Rule::string => value = Some(DefineValue::Str(string(p, base))),
                    Rule::expr => value = Some(DefineValue::Expr(expr(p, base, false, errs).0)),
                    _ => {}
                }
            }
            if let (Some(name), Some(value)) = (name, value) {
                t.defines.push(DefineDecl { name, value, span });
            }
        }
        Rule::grid_stmt => {
            t.grids.push((exprs(pair, base, errs), span));
        }
        Rule::prio_stmt => {
            if let Some(n) = pair.into_inner().find(|p| p.as_rule() == Rule::expr) {
                t.priorities.push((expr(n, base, false, errs).0, span));
            }
        }
        _ => {}
    }
}

fn const_decl(pair: Pair<'_, Rule>, base: usize, errs: &mut Vec<Diagnostic>) -> Option<ConstDecl> {
    let span = sp(&pair, base);
    let mut name = None;
    let mut value = None;
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::ident => name = Some(ident(p, base)),
            Rule::expr => value = Some(expr(p, base, false, errs).0),
            _ => {}
        }
    }
    Some(ConstDecl {
        name: name?,
        value: value?,
        span,
    })
}

/// Whether a `( ... )` list was closed: by its own `)` or by one its last
/// expression gave back.
fn list_closed(rparen: bool, gave_back: bool) -> bool {
    rparen || gave_back
}

/// `ptask NAME(P: TYPE [= DEFAULT], ...)`: the name and parameters.
fn template_head(
    pair: Pair<'_, Rule>,
    base: usize,
    errs: &mut Vec<Diagnostic>,
) -> (Ident, Vec<TemplateParam>) {
    let span = sp(&pair, base);
    let mut name = None;
    let mut params = Vec::new();
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::ident => name = Some(ident(p, base)),
            Rule::tparams => {
                let lspan = sp(&p, base);
                let items: Vec<Pair<'_, Rule>> = p.into_inner().collect();
                let rparen = items.iter().any(|i| i.as_rule() == Rule::rparen);
                let n = items.iter().filter(|i| i.as_rule() == Rule::tparam).count();
                let mut gave_back = false;
                for (k, item) in items
                    .into_iter()
                    .filter(|i| i.as_rule() == Rule::tparam)
                    .enumerate()
                {
                    let pspan = sp(&item, base);
                    let mut pname = None;
                    let mut ty = None;
                    let mut default = None;
                    for q in item.into_inner() {
                        match q.as_rule() {
                            Rule::ident => pname = Some(ident(q, base)),
                            Rule::type_expr => ty = Some(type_expr(q, base, errs)),
                            Rule::expr => {
                                let (e, g) = expr(q, base, k + 1 == n && !rparen, errs);
                                gave_back |= g;
                                default = Some(e);
                            }
                            _ => {}
                        }
                    }
                    if let (Some(name), Some(ty)) = (pname, ty) {
                        params.push(TemplateParam {
                            name,
                            ty,
                            default,
                            span: pspan,
                        });
                    }
                }
                if !list_closed(rparen, gave_back) {
                    errs.push(
                        Diagnostic::new(
                            Code::Syntax,
                            "the template's parameter list is never closed",
                        )
                        .primary(Span::new(lspan.end, lspan.end), "expected `)` here"),
                    );
                }
            }
            _ => {}
        }
    }
    (
        // invariant: the grammar requires a name after `ptask`
        name.unwrap_or(Ident {
            name: String::new(),
            span,
        }),
        params,
    )
}

/// `ptask NAME = TEMPLATE(ARG: EXPR, ...);`: a ptask declaration with its
/// instance, and whether the argument list was closed.
fn instance(pair: Pair<'_, Rule>, base: usize, errs: &mut Vec<Diagnostic>) -> (PtaskDecl, bool) {
    let span = sp(&pair, base);
    let mut names = Vec::new();
    let mut args = Vec::new();
    let mut closed = false;
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::ident => names.push(ident(p, base)),
            Rule::inst_args => {
                let items: Vec<Pair<'_, Rule>> = p.into_inner().collect();
                let rparen = items.iter().any(|i| i.as_rule() == Rule::rparen);
                let n = items
                    .iter()
                    .filter(|i| i.as_rule() == Rule::inst_arg)
                    .count();
                let mut gave_back = false;
                for (k, item) in items
                    .into_iter()
                    .filter(|i| i.as_rule() == Rule::inst_arg)
                    .enumerate()
                {
                    let aspan = sp(&item, base);
                    let mut aname = None;
                    let mut value = None;
                    for q in item.into_inner() {
                        match q.as_rule() {
                            Rule::ident => aname = Some(ident(q, base)),
                            Rule::expr => {
                                let (e, g) = expr(q, base, k + 1 == n && !rparen, errs);
                                gave_back |= g;
                                value = Some(e);
                            }
                            _ => {}
                        }
                    }
                    if let (Some(name), Some(value)) = (aname, value) {
                        args.push(InstArg {
                            name,
                            value,
                            span: aspan,
                        });
                    }
                }
                closed = list_closed(rparen, gave_back);
            }
            _ => {}
        }
    }
    let mut names = names.into_iter();
    // invariant: the grammar requires two names: `ptask NAME = TEMPLATE(`
    let name = names.next().unwrap_or_default();
    let template = names.next().unwrap_or_default();
    (
        PtaskDecl {
            name,
            instance: Some(Instance {
                template,
                args,
                span,
            }),
            span,
            ..PtaskDecl::default()
        },
        closed,
    )
}

/// What follows inside a `{ ... }` body (see `Parser::body_at`).
enum BodyAt {
    /// The file ended before the closing `}`.
    End,
    /// The closing `}`, now consumed.
    Close,
    /// Another item to parse.
    Item,
}
