//! Expressions (shunting-yard into postfix) and type expressions.

use super::{ident, sp, Rule};
use crate::diag::{Code, Diagnostic};
use crate::front::ast::*;
use crate::ir::{Ident, Span};
use pest::iterators::Pair;

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
pub(super) fn expr(
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
pub(super) fn exprs(pair: Pair<'_, Rule>, base: usize, errs: &mut Vec<Diagnostic>) -> Vec<Expr> {
    pair.into_inner()
        .filter(|d| d.as_rule() == Rule::expr)
        .map(|d| expr(d, base, false, errs).0)
        .collect()
}

pub(super) fn type_expr(pair: Pair<'_, Rule>, base: usize, errs: &mut Vec<Diagnostic>) -> TypeExpr {
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
