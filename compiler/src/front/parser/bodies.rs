//! Walking the file and the `{ ... }` bodies of graphs and ptasks, item by
//! item, with recovery after each failed item.

use super::items::{
    channel, const_decl, graph_head, graph_port, instance, ptask_stmt, struct_decl, template_head,
};
use super::recovery::{first_word, open_brace_after, second_word};
use super::{ident, sp, string, Driver, Level, Rule};
use crate::diag::{Code, Diagnostic};
use crate::front::ast::*;
use crate::ir::{Ident, Span};

impl Driver<'_> {
    pub(super) fn file(&mut self) -> File {
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

/// What follows inside a `{ ... }` body (see `Parser::body_at`).
enum BodyAt {
    /// The file ended before the closing `}`.
    End,
    /// The closing `}`, now consumed.
    Close,
    /// Another item to parse.
    Item,
}
