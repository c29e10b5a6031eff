//! Ptask templates: `ptask NAME(P: TYPE [= DEFAULT], ...) { ... }` at the
//! top level, instantiated in a graph by `ptask b = NAME(P: EXPR, ...);`.
//!
//! An instance is checked as the template's body with its parameters bound
//! (they shadow consts of the same name), under the instance's name; every
//! error found in the body names the instantiation too. Arguments are
//! evaluated in the graph's scope (consts), defaults in the template's (consts
//! and the parameters before them).

use super::consts::Bound;
use super::errors::{CheckError, TemplateError};
use super::Checker;
use crate::front::ast::{self, ElemExpr};
use crate::ir::{ConstVal, Span, TemplateInfo};
use ptc_plan::types::{Scalar, Value};
use std::collections::HashMap;

/// A declared template.
pub(super) struct Template {
    pub decl: ast::TemplateDecl,
    /// The file declaring it (kernel paths in its body resolve from there).
    pub file: std::path::PathBuf,
    /// Each parameter's type (`None` if invalid: reported).
    pub types: Vec<Option<Scalar>>,
}

/// What an instance is checked with.
pub(super) struct Bind {
    pub template: usize,
    pub scope: HashMap<String, Bound>,
}

impl Checker<'_> {
    /// Declares the templates of every loaded file (one namespace).
    pub(super) fn templates(&mut self, decls: Vec<(ast::TemplateDecl, std::path::PathBuf)>) {
        for (d, file) in decls {
            if let Some(&first) = self.template_index.get(&d.name.name) {
                let first = self.templates[first].decl.name.span;
                self.emit(CheckError::Duplicate {
                    name: d.name.name.clone(),
                    span: d.name.span,
                    first,
                });
                continue;
            }
            let mut seen: HashMap<&str, Span> = HashMap::new();
            let mut types = Vec::with_capacity(d.params.len());
            for p in &d.params {
                if let Some(first) = seen.get(p.name.name.as_str()) {
                    self.emit(CheckError::Duplicate {
                        name: p.name.name.clone(),
                        span: p.name.span,
                        first: *first,
                    });
                }
                seen.insert(&p.name.name, p.name.span);
                let ty = match (&p.ty.elem, &p.ty.shape) {
                    (ElemExpr::Named(n), None) => match Scalar::from_name(&n.name) {
                        Some(s @ (Scalar::U32 | Scalar::I32 | Scalar::F32)) => Some(s),
                        _ => None,
                    },
                    _ => None,
                };
                if ty.is_none() {
                    self.emit(TemplateError::ParamType {
                        param: p.name.name.clone(),
                        span: p.ty.span,
                    });
                }
                types.push(ty);
            }
            self.template_index
                .insert(d.name.name.clone(), self.templates.len());
            self.templates.push(Template {
                decl: d,
                file,
                types,
            });
        }
    }

    /// The templates for the checked module (for tools).
    pub(super) fn template_infos(&self) -> Vec<TemplateInfo> {
        self.templates
            .iter()
            .map(|t| TemplateInfo {
                name: t.decl.name.clone(),
                params: t
                    .decl
                    .params
                    .iter()
                    .map(|p| {
                        let ty = match &p.ty.elem {
                            ElemExpr::Named(n) => n.name.clone(),
                            ElemExpr::Vector { n, scalar, .. } => {
                                format!("vec{}<{}>", n.text, scalar.name)
                            }
                        };
                        (
                            p.name.clone(),
                            ty,
                            p.default.as_ref().map(|d| d.text.clone()),
                        )
                    })
                    .collect(),
                span: t.decl.head,
            })
            .collect()
    }

    /// Resolves an instance's template and binds its parameters; `None`
    /// if the template is unknown or an argument is wrong (reported).
    pub(super) fn bind(&mut self, inst: &ast::Instance) -> Option<Bind> {
        let Some(&ti) = self.template_index.get(&inst.template.name) else {
            let mut known: Vec<String> = self.template_index.keys().cloned().collect();
            known.sort();
            let hint = self.suggest(&inst.template.name, known.iter().map(String::as_str));
            self.emit(TemplateError::Unknown {
                name: inst.template.name.clone(),
                span: inst.template.span,
                hint,
                known,
            });
            return None;
        };
        let decl = self.templates[ti].decl.clone();
        let types = self.templates[ti].types.clone();
        let mut ok = true;
        // Arguments, by parameter.
        let mut given: HashMap<&str, &ast::InstArg> = HashMap::new();
        for a in &inst.args {
            if !decl.params.iter().any(|p| p.name.name == a.name.name) {
                ok = false;
                let params: Vec<String> = decl.params.iter().map(|p| p.name.name.clone()).collect();
                let hint = self.suggest(&a.name.name, params.iter().map(String::as_str));
                self.emit(TemplateError::UnknownParam {
                    template: decl.name.name.clone(),
                    param: a.name.name.clone(),
                    span: a.name.span,
                    hint,
                    params,
                    decl: decl.name.span,
                });
                continue;
            }
            if let Some(first) = given.get(a.name.name.as_str()) {
                ok = false;
                self.emit(TemplateError::ArgTwice {
                    param: a.name.name.clone(),
                    span: a.span,
                    first: first.span,
                });
                continue;
            }
            given.insert(&a.name.name, a);
        }
        // Arguments evaluate in the graph's scope; defaults in the
        // template's, with the parameters bound so far.
        let mut scope: HashMap<String, Bound> = HashMap::new();
        for (p, ty) in decl.params.iter().zip(&types) {
            let what = format!(
                "parameter `{}` of template `{}`",
                p.name.name, decl.name.name
            );
            let value = match (given.get(p.name.name.as_str()), &p.default) {
                (Some(a), _) => {
                    let outer = self.with_scope(HashMap::new());
                    let v = ty.and_then(|ty| self.value(&a.value, ty, &what));
                    self.with_scope(outer);
                    v
                }
                (None, Some(d)) => {
                    let outer = self.with_scope(scope.clone());
                    let v = ty.and_then(|ty| self.value(d, ty, &what));
                    self.with_scope(outer);
                    v
                }
                (None, None) => {
                    ok = false;
                    self.emit(TemplateError::MissingArg {
                        template: decl.name.name.clone(),
                        param: p.name.name.clone(),
                        span: inst.template.span,
                        decl: p.span,
                    });
                    None
                }
            };
            if value.is_none() {
                ok = false;
            }
            scope.insert(
                p.name.name.clone(),
                Bound {
                    value: value.map(|v| match v {
                        Value::U32(x) => ConstVal::Int(i128::from(x)),
                        Value::I32(x) => ConstVal::Int(i128::from(x)),
                        Value::F32(x) => ConstVal::Float(f64::from(x)),
                    }),
                },
            );
        }
        ok.then_some(Bind {
            template: ti,
            scope,
        })
    }
}
