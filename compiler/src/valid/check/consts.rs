//! Constants: `const NAME = EXPR;`, `--set NAME=VALUE` overrides, and the
//! evaluation of every expression (shapes, params, specs, grids, initial
//! values, priorities, template arguments).
//!
//! Integers are 64-bit signed and every operation is checked: overflow,
//! division by zero and `%` of fractions are errors (`ptc::const_eval`).
//! A number with a `.` or an exponent is a float (64-bit); an operation on
//! an integer and a float gives a float. Expressions are evaluated from
//! their postfix form on a value stack, and consts in dependency order with
//! an explicit stack, so neither deep parentheses nor a long chain of
//! consts recurses.

use super::errors::{CheckError, ConstError};
use super::types::{parse_num, NumVal};
use super::Checker;
use crate::front::ast::{self, Expr, ExprOp};
use crate::ir::{ConstInfo, ConstVal, Span};
use std::collections::HashMap;

/// A declared const.
pub(super) struct Const {
    pub decl: ast::ConstDecl,
    /// `None` until evaluated; `Some(None)` if it failed (reported).
    pub value: Option<Option<ConstVal>>,
    /// Set by `--set`.
    pub overridden: bool,
}

/// A name an expression may use besides consts: a template parameter.
#[derive(Clone, Debug)]
pub(super) struct Bound {
    pub value: Option<ConstVal>,
}

/// The result of an operation, or why it has none.
enum Fail {
    Overflow,
    DivZero,
    FracRem,
}

fn arith(op: &ExprOp, a: ConstVal, b: ConstVal) -> Result<ConstVal, Fail> {
    use ConstVal::{Float, Int};
    // Integers stay within i64 (a literal may be wider; any operation on
    // it overflows).
    let fit = |v: Option<i128>| match v {
        Some(v) if i64::try_from(v).is_ok() => Ok(Int(v)),
        _ => Err(Fail::Overflow),
    };
    let float = |v: f64| {
        if v.is_finite() {
            Ok(Float(v))
        } else {
            Err(Fail::Overflow)
        }
    };
    match (a, b) {
        (Int(x), Int(y)) => match op {
            ExprOp::Add => fit(x.checked_add(y)),
            ExprOp::Sub => fit(x.checked_sub(y)),
            ExprOp::Mul => fit(x.checked_mul(y)),
            ExprOp::Div if y == 0 => Err(Fail::DivZero),
            ExprOp::Div => fit(x.checked_div(y)),
            ExprOp::Rem if y == 0 => Err(Fail::DivZero),
            ExprOp::Rem => fit(x.checked_rem(y)),
            _ => Err(Fail::Overflow),
        },
        (a, b) => {
            let (x, y) = (a.as_f64(), b.as_f64());
            match op {
                ExprOp::Add => float(x + y),
                ExprOp::Sub => float(x - y),
                ExprOp::Mul => float(x * y),
                ExprOp::Div if y == 0.0 => Err(Fail::DivZero),
                ExprOp::Div => float(x / y),
                ExprOp::Rem => Err(Fail::FracRem),
                _ => Err(Fail::Overflow),
            }
        }
    }
}

/// The value of a number literal.
pub(super) fn literal(text: &str) -> Option<ConstVal> {
    match parse_num(text)? {
        NumVal::Int(v) => Some(ConstVal::Int(v)),
        NumVal::Float(f) => Some(ConstVal::Float(f)),
    }
}

/// A `--set` value: a number, optionally negative.
fn set_value(text: &str) -> Option<ConstVal> {
    let t = text.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t),
    };
    if !digits.starts_with(|c: char| c.is_ascii_digit())
        || !digits
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-'))
    {
        return None;
    }
    match literal(digits)? {
        ConstVal::Int(v) if neg => Some(ConstVal::Int(-v)),
        ConstVal::Float(f) if neg => Some(ConstVal::Float(-f)),
        v => Some(v),
    }
}

impl Checker<'_> {
    /// Declares the consts of every loaded file (one namespace), applies
    /// `--set`, and evaluates them all.
    pub(super) fn consts(&mut self, decls: Vec<ast::ConstDecl>) {
        for d in decls {
            if let Some(first) = self.consts.get(&d.name.name) {
                let first = first.decl.name.span;
                self.emit(CheckError::Duplicate {
                    name: d.name.name.clone(),
                    span: d.name.span,
                    first,
                });
                continue;
            }
            self.const_order.push(d.name.name.clone());
            self.consts.insert(
                d.name.name.clone(),
                Const {
                    decl: d,
                    value: None,
                    overridden: false,
                },
            );
        }
        for (name, text) in self.opts.sets.clone() {
            let Some(c) = self.consts.get_mut(&name) else {
                let mut known = self.const_order.clone();
                known.sort();
                let hint = self.suggest(&name, known.iter().map(String::as_str));
                self.emit(ConstError::UnknownSet { name, known, hint });
                continue;
            };
            match set_value(&text) {
                Some(v) => {
                    c.value = Some(Some(v));
                    c.overridden = true;
                }
                None => self.emit(ConstError::BadSet { name, value: text }),
            }
        }
        self.evaluate_consts();
    }

    /// Evaluates every const, dependencies first, with an explicit stack;
    /// reports cycles.
    fn evaluate_consts(&mut self) {
        let order = self.const_order.clone();
        for root in order {
            let mut stack: Vec<String> = vec![root];
            let mut on_stack: std::collections::HashSet<String> = Default::default();
            while let Some(top) = stack.last().cloned() {
                let Some(c) = self.consts.get(&top) else {
                    stack.pop();
                    continue;
                };
                if c.value.is_some() {
                    stack.pop();
                    on_stack.remove(&top);
                    continue;
                }
                // The first dependency not evaluated yet.
                let pending = c.decl.value.names().find_map(|(n, span)| {
                    self.consts
                        .get(n)
                        .filter(|d| d.value.is_none())
                        .map(|_| (n.to_string(), span))
                });
                match pending {
                    Some((dep, span)) if on_stack.contains(&dep) || dep == top => {
                        // A cycle: from `dep` around to `top`, then `dep`.
                        let from = stack.iter().position(|n| *n == dep).unwrap_or(0);
                        let mut path: Vec<String> = stack[from..].to_vec();
                        path.push(dep.clone());
                        self.emit(ConstError::Cycle { path, span });
                        // Fail every const on the cycle (reported once).
                        for n in &stack[from..] {
                            if let Some(c) = self.consts.get_mut(n) {
                                c.value = Some(None);
                            }
                        }
                    }
                    Some((dep, _)) => {
                        on_stack.insert(top);
                        stack.push(dep);
                    }
                    None => {
                        let e = c.decl.value.clone();
                        let v = self.eval(&e);
                        if let Some(c) = self.consts.get_mut(&top) {
                            c.value = Some(v);
                        }
                        stack.pop();
                        on_stack.remove(&top);
                    }
                }
            }
        }
    }

    /// The consts for the checked module (for tools).
    pub(super) fn const_infos(&self) -> Vec<ConstInfo> {
        self.const_order
            .iter()
            .filter_map(|n| self.consts.get(n))
            .map(|c| ConstInfo {
                name: c.decl.name.clone(),
                value: c.value.flatten(),
                overridden: c.overridden,
                span: c.decl.span,
            })
            .collect()
    }

    /// The value of a name in the current scope: a template parameter,
    /// else a const. `Err(true)`: it exists but has no value (an error
    /// was reported); `Err(false)`: unknown.
    fn lookup(&self, name: &str) -> Result<ConstVal, bool> {
        if let Some(b) = self.scope.get(name) {
            return b.value.ok_or(true);
        }
        match self.consts.get(name) {
            Some(c) => c.value.flatten().ok_or(true),
            None => Err(false),
        }
    }

    /// Evaluates an expression in the current scope. `None` if it has an
    /// error (reported here, or already when a name it uses failed).
    pub(super) fn eval(&mut self, e: &Expr) -> Option<ConstVal> {
        let mut stack: Vec<(ConstVal, Span)> = Vec::new();
        for t in &e.postfix {
            let v = match &t.op {
                ExprOp::Num(n) => match literal(n) {
                    Some(v) => v,
                    None => {
                        self.emit(ConstError::BadNumber {
                            text: n.clone(),
                            span: t.span,
                        });
                        return None;
                    }
                },
                ExprOp::Name(n) => match self.lookup(n) {
                    Ok(v) => v,
                    Err(true) => return None,
                    Err(false) => {
                        self.unknown_name(n, t.span);
                        return None;
                    }
                },
                ExprOp::Neg => {
                    let (a, sa) = stack.pop()?;
                    let v = match a {
                        ConstVal::Int(x) if i64::try_from(-x).is_ok() => ConstVal::Int(-x),
                        ConstVal::Float(f) => ConstVal::Float(-f),
                        ConstVal::Int(x) => {
                            self.emit(ConstError::Overflow {
                                what: format!("-{x}"),
                                span: Span::new(t.span.start, sa.end),
                                expr: e.text.clone(),
                            });
                            return None;
                        }
                    };
                    stack.push((v, Span::new(t.span.start, sa.end)));
                    continue;
                }
                op => {
                    let (b, sb) = stack.pop()?;
                    let (a, sa) = stack.pop()?;
                    let span = Span::new(sa.start, sb.end);
                    match arith(op, a, b) {
                        Ok(v) => {
                            stack.push((v, span));
                            continue;
                        }
                        Err(f) => {
                            let sym = match op {
                                ExprOp::Add => "+",
                                ExprOp::Sub => "-",
                                ExprOp::Mul => "*",
                                ExprOp::Div => "/",
                                _ => "%",
                            };
                            let what = format!("{a} {sym} {b}");
                            let expr = e.text.clone();
                            self.emit(match f {
                                Fail::Overflow => ConstError::Overflow { what, span, expr },
                                Fail::DivZero => ConstError::DivZero { what, span, expr },
                                Fail::FracRem => ConstError::FracRem { what, span, expr },
                            });
                            return None;
                        }
                    }
                }
            };
            stack.push((v, t.span));
        }
        match stack.as_slice() {
            [(v, _)] => Some(*v),
            // An expression that did not parse (reported by the parser).
            _ => None,
        }
    }

    fn unknown_name(&mut self, name: &str, span: Span) {
        let mut cands: Vec<&str> = self.const_order.iter().map(String::as_str).collect();
        cands.extend(self.scope.keys().map(String::as_str));
        let hint = self.suggest(name, cands.iter().copied());
        let mut known: Vec<String> = cands.iter().map(|s| s.to_string()).collect();
        known.sort();
        self.emit(ConstError::UnknownName {
            name: name.to_string(),
            span,
            hint,
            known,
        });
    }

    /// Binds template parameters for the duration of an instance's check.
    pub(super) fn with_scope(&mut self, scope: HashMap<String, Bound>) -> HashMap<String, Bound> {
        std::mem::replace(&mut self.scope, scope)
    }
}
