//! Building the AST of one parsed item (a top-level item, a graph item or a
//! ptask statement) from its pest pairs.

use super::exprs::{expr, exprs, type_expr};
use super::{ident, num, sp, string, Rule};
use crate::diag::{Code, Diagnostic};
use crate::front::ast::*;
use crate::ir::{GraphPortDir, Ident, PortKind, Span};
use pest::iterators::Pair;

pub(super) fn struct_decl(
    pair: Pair<'_, Rule>,
    base: usize,
    errs: &mut Vec<Diagnostic>,
) -> StructDecl {
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

pub(super) fn graph_head(
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

pub(super) fn graph_port(
    pair: Pair<'_, Rule>,
    base: usize,
    errs: &mut Vec<Diagnostic>,
) -> GraphPortDecl {
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

pub(super) fn channel(pair: Pair<'_, Rule>, base: usize) -> ChannelDecl {
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

pub(super) fn ptask_stmt(
    t: &mut PtaskDecl,
    pair: Pair<'_, Rule>,
    base: usize,
    errs: &mut Vec<Diagnostic>,
) {
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

pub(super) fn const_decl(
    pair: Pair<'_, Rule>,
    base: usize,
    errs: &mut Vec<Diagnostic>,
) -> Option<ConstDecl> {
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
pub(super) fn template_head(
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
pub(super) fn instance(
    pair: Pair<'_, Rule>,
    base: usize,
    errs: &mut Vec<Diagnostic>,
) -> (PtaskDecl, bool) {
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
