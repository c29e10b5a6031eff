//! Ptask bodies: ports, params, specialization constants, macros, the
//! kernel and its entry point, the grid and the priority.

use super::errors::{CheckError, PtaskError, TypeError};
use super::{placeholder, resolve_kernel, Checker};
use crate::front::ast::{self, DefineValue, ElemExpr, Expr};
use crate::ir::{
    ConstVal, Define, Endpoint, Ident, Param, Port, PortKind, Ptask, Span, Spec, SpecTy,
};
use ptc_plan::types::{Scalar, Value};
use std::collections::HashMap;
use std::path::PathBuf;

/// A ptask's kernel statement, resolved.
struct KernelRef {
    kernel: String,
    span: Span,
    path: Option<PathBuf>,
}

impl Checker<'_> {
    /// Checks ptask body `t` under the name `name`; `call`: the instance
    /// declaration when `t` is a template's body (the ptask's span).
    pub(super) fn ptask(
        &mut self,
        index: usize,
        name: &Ident,
        t: &ast::PtaskDecl,
        call: Option<Span>,
    ) -> Ptask {
        // Ports and params share one namespace.
        let mut names: HashMap<&str, Span> = HashMap::new();
        let ports = self.ports(index, name, t, &mut names);
        let params = self.params(t, &mut names);
        let specs = self.specs(t);
        let defines = self.defines(t);
        let entry = self.entry(name, t);
        let kernel = self.kernel_stmt(name, t);
        let grid = self.grid(name, t);
        let priority = self.ptask_priority(name, t);
        Ptask {
            name: name.clone(),
            kernel: kernel.kernel,
            kernel_span: kernel.span,
            kernel_path: kernel.path,
            specs,
            defines,
            entry,
            instance: None,
            ports,
            params,
            grid,
            priority,
            span: call.unwrap_or(t.span),
        }
    }

    /// A ptask with nothing but its name (its declaration could not be
    /// checked; an error has been reported).
    pub(super) fn ptask_shell(&mut self, t: &ast::PtaskDecl) -> Ptask {
        Ptask {
            name: t.name.clone(),
            kernel: String::new(),
            kernel_span: t.name.span,
            kernel_path: None,
            specs: Vec::new(),
            defines: Vec::new(),
            entry: None,
            instance: None,
            ports: Vec::new(),
            params: Vec::new(),
            grid: None,
            priority: None,
            span: t.span,
        }
    }

    /// `spec NAME: TYPE = EXPR;` statements.
    fn specs(&mut self, t: &ast::PtaskDecl) -> Vec<Spec> {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        let mut out = Vec::with_capacity(t.specs.len());
        for sd in &t.specs {
            if let Some(first) = seen.get(sd.name.name.as_str()) {
                self.dup(&sd.name, *first);
                continue;
            }
            seen.insert(&sd.name.name, sd.name.span);
            let what = format!("spec `{}`", sd.name.name);
            let ty = match (&sd.ty.elem, &sd.ty.shape) {
                (ElemExpr::Named(n), None) if n.name == "bool" => Some(SpecTy::Bool),
                (ElemExpr::Named(n), None) => match Scalar::from_name(&n.name) {
                    Some(s @ (Scalar::U32 | Scalar::I32 | Scalar::F32)) => Some(SpecTy::Scalar(s)),
                    _ => None,
                },
                _ => None,
            };
            let Some(ty) = ty else {
                self.emit(PtaskError::SpecType {
                    what,
                    span: sd.ty.span,
                });
                continue;
            };
            let value = match ty {
                SpecTy::Scalar(s) => self.value(&sd.value, s, &what),
                SpecTy::Bool => self.bool_value(&sd.value, &what),
            };
            if let Some(value) = value {
                out.push(Spec {
                    name: sd.name.clone(),
                    ty,
                    ty_span: sd.ty.span,
                    value,
                    span: sd.span,
                });
            }
        }
        out
    }

    /// A bool spec's value: 0 or 1.
    fn bool_value(&mut self, e: &Expr, what: &str) -> Option<Value> {
        match self.eval(e)? {
            ConstVal::Int(v @ (0 | 1)) => Some(Value::U32(v as u32)),
            _ => {
                self.emit(CheckError::Type(TypeError::BoolRange {
                    text: e.text.clone(),
                    what: what.to_string(),
                    span: e.span,
                }));
                None
            }
        }
    }

    /// `define NAME = "VALUE";` statements.
    fn defines(&mut self, t: &ast::PtaskDecl) -> Vec<Define> {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        let mut out = Vec::with_capacity(t.defines.len());
        for d in &t.defines {
            if let Some(first) = seen.get(d.name.name.as_str()) {
                self.dup(&d.name, *first);
                continue;
            }
            seen.insert(&d.name.name, d.name.span);
            if d.name.name.starts_with("GL_") || d.name.name.contains("__") {
                self.emit(PtaskError::DefineName {
                    name: d.name.name.clone(),
                    span: d.name.span,
                });
                continue;
            }
            let value = match &d.value {
                DefineValue::Str(s) => {
                    if s.value.chars().any(char::is_control) {
                        self.emit(PtaskError::DefineValue {
                            name: d.name.name.clone(),
                            span: s.span,
                        });
                        continue;
                    }
                    s.value.clone()
                }
                DefineValue::Expr(e) => match self.eval(e) {
                    Some(v) => v.to_string(),
                    None => continue,
                },
            };
            out.push(Define {
                name: d.name.clone(),
                value,
                span: d.span,
            });
        }
        out
    }

    /// The `entry "name";` statement, if one.
    fn entry(&mut self, name: &Ident, t: &ast::PtaskDecl) -> Option<(String, Span)> {
        let mut out = None;
        for (i, (e, span)) in t.entries.iter().enumerate() {
            if i > 0 {
                self.emit(PtaskError::SecondEntry {
                    ptask: name.name.clone(),
                    span: *span,
                    first: t.entries[0].1,
                });
                continue;
            }
            if e.value.trim().is_empty() || e.value.contains('\0') {
                self.emit(PtaskError::EmptyEntry { span: e.span });
                continue;
            }
            out = Some((e.value.clone(), e.span));
        }
        out
    }

    /// Declares `name` in a ptask's namespace (reporting a duplicate).
    fn declare<'t>(&mut self, names: &mut HashMap<&'t str, Span>, name: &'t crate::ir::Ident) {
        if let Some(first) = names.get(name.name.as_str()) {
            let first = *first;
            self.dup(name, first);
        } else {
            names.insert(&name.name, name.span);
        }
    }

    fn ports<'t>(
        &mut self,
        index: usize,
        name: &Ident,
        t: &'t ast::PtaskDecl,
        names: &mut HashMap<&'t str, Span>,
    ) -> Vec<Port> {
        let mut ports = Vec::with_capacity(t.ports.len());
        for (pi, p) in t.ports.iter().enumerate() {
            let before = self.error_count();
            self.declare(names, &p.name);
            let what = format!("port `{}.{}`", name.name, p.name.name);
            let ty = self.port_type(&p.ty, &what);
            let mut init = None;
            if let Some(n) = &p.init {
                if p.kind == PortKind::Out {
                    self.emit(PtaskError::OutputInit {
                        port: p.name.name.clone(),
                        span: n.span,
                    });
                } else if let Some(ty) = &ty {
                    match ty.elem.scalar() {
                        Some(s) => init = self.value(n, s, &what),
                        None => self.emit(PtaskError::StructInit { what, span: n.span }),
                    }
                }
            }
            if self.error_count() > before || ty.is_none() {
                self.noisy.insert(Endpoint::Ptask(index, pi));
            }
            ports.push(Port {
                name: p.name.clone(),
                kind: p.kind,
                ty: ty.unwrap_or_else(|| placeholder(&p.ty)),
                ty_span: p.ty.span,
                init,
                span: p.span,
            });
        }
        ports
    }

    fn params<'t>(
        &mut self,
        t: &'t ast::PtaskDecl,
        names: &mut HashMap<&'t str, Span>,
    ) -> Vec<Param> {
        let mut params = Vec::with_capacity(t.params.len());
        for p in &t.params {
            self.declare(names, &p.name);
            let what = format!("param `{}`", p.name.name);
            let scalar = match (&p.ty.elem, &p.ty.shape) {
                (ElemExpr::Named(n), None) => match Scalar::from_name(&n.name) {
                    Some(s @ (Scalar::F32 | Scalar::U32 | Scalar::I32)) => Some(s),
                    _ => None,
                },
                _ => None,
            };
            let ty = match scalar {
                Some(s) => Some(s),
                None => {
                    self.emit(PtaskError::ParamNotScalar {
                        what: what.clone(),
                        span: p.ty.span,
                    });
                    // Keep a best guess in the module (u8/u16 widen to u32,
                    // an array or vector to its component) so that the
                    // kernel check does not also report the param as missing.
                    let named = match &p.ty.elem {
                        ElemExpr::Named(n) => &n.name,
                        ElemExpr::Vector { scalar, .. } => &scalar.name,
                    };
                    Scalar::from_name(named).map(|s| match s {
                        Scalar::U8 | Scalar::U16 => Scalar::U32,
                        other => other,
                    })
                }
            };
            let Some(ty) = ty else { continue };
            // A value with an error (reported) keeps the param, with 0, so
            // that the kernel check does not report it missing as well.
            let value = self.value(&p.value, ty, &what).unwrap_or(match ty {
                Scalar::F32 => Value::F32(0.0),
                Scalar::I32 => Value::I32(0),
                _ => Value::U32(0),
            });
            params.push(Param {
                name: p.name.clone(),
                ty,
                ty_span: p.ty.span,
                value,
                span: p.span,
            });
        }
        params
    }

    /// The one `kernel` statement, its file resolved.
    fn kernel_stmt(&mut self, name: &Ident, t: &ast::PtaskDecl) -> KernelRef {
        let mut out = KernelRef {
            kernel: String::new(),
            span: t.name.span,
            path: None,
        };
        match t.kernels.as_slice() {
            [] if !t.body_errors => self.emit(PtaskError::NoKernel {
                ptask: name.name.clone(),
                span: t.name.span,
            }),
            [] => {}
            [(k, _), rest @ ..] => {
                for (_, extra) in rest {
                    self.emit(PtaskError::SecondKernel {
                        ptask: name.name.clone(),
                        span: *extra,
                        first: k.span,
                    });
                }
                out.kernel = k.value.clone();
                out.span = k.span;
                out.path = self.kernel(k);
            }
        }
        out
    }

    /// The `grid` override, if one is written and valid.
    fn grid(&mut self, name: &Ident, t: &ast::PtaskDecl) -> Option<([u64; 3], Span)> {
        let mut grid = None;
        for (i, (dims, span)) in t.grids.iter().enumerate() {
            if i > 0 {
                self.emit(PtaskError::SecondGrid {
                    ptask: name.name.clone(),
                    span: *span,
                    first: t.grids[0].1,
                });
                continue;
            }
            if dims.is_empty() || dims.len() > 3 {
                self.emit(PtaskError::GridRank {
                    n: dims.len(),
                    span: *span,
                });
                continue;
            }
            if let Some(g) = self.grid_dims(dims) {
                grid = Some((g, *span));
            }
        }
        if t.grids.is_empty() && !t.body_errors && !t.ports.iter().any(|p| p.kind == PortKind::Out)
        {
            self.emit(PtaskError::NoOutNoGrid {
                ptask: name.name.clone(),
                span: t.name.span,
            });
        }
        grid
    }

    fn grid_dims(&mut self, dims: &[Expr]) -> Option<[u64; 3]> {
        let mut g = [1u64; 3];
        let mut ok = true;
        for (j, d) in dims.iter().enumerate() {
            match self.eval(d) {
                Some(ConstVal::Int(v)) if v >= 1 && v <= i128::from(u32::MAX) => g[j] = v as u64,
                None => ok = false,
                Some(_) => {
                    ok = false;
                    self.emit(PtaskError::GridSize {
                        text: d.text.clone(),
                        span: d.span,
                    });
                }
            }
        }
        ok.then_some(g)
    }

    fn ptask_priority(&mut self, name: &Ident, t: &ast::PtaskDecl) -> Option<u32> {
        let mut priority = None;
        for (i, (n, span)) in t.priorities.iter().enumerate() {
            if i > 0 {
                self.emit(PtaskError::SecondPriority {
                    ptask: name.name.clone(),
                    span: *span,
                    first: t.priorities[0].1,
                });
                continue;
            }
            priority = self.priority(n);
        }
        priority
    }

    /// Resolves a kernel path (cached per path as written).
    fn kernel(&mut self, k: &ast::Str) -> Option<PathBuf> {
        if k.value.trim().is_empty() {
            self.emit(PtaskError::EmptyKernelPath { span: k.span });
            return None;
        }
        let key = (self.base.clone(), k.value.clone());
        let found = match self.kernel_cache.get(&key) {
            Some(r) => r.clone(),
            None => {
                let mut r = resolve_kernel(&self.base, &k.value, &self.opts.kernel_paths);
                // A template's kernel: next to its file first, then as the
                // graph's own kernels resolve.
                if let (Err(looked), false) = (&r, self.base == self.path) {
                    let looked = looked.clone();
                    r = resolve_kernel(self.path, &k.value, &self.opts.kernel_paths).map_err(
                        |more| {
                            let extra: Vec<PathBuf> =
                                more.into_iter().filter(|m| !looked.contains(m)).collect();
                            let mut all = looked;
                            all.extend(extra);
                            all
                        },
                    );
                }
                self.kernel_cache.insert(key, r.clone());
                r
            }
        };
        match found {
            Ok(p) => Some(p),
            Err(looked) => {
                self.emit(PtaskError::KernelNotFound {
                    path: k.value.clone(),
                    span: k.span,
                    looked,
                });
                None
            }
        }
    }
}
