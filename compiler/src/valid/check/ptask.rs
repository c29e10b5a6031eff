//! Ptask bodies: ports, params, the kernel, the grid and the priority.

use super::errors::PtaskError;
use super::types::{parse_num, NumVal};
use super::{placeholder, resolve_kernel, Checker};
use crate::front::ast::{self, ElemExpr, Num};
use crate::ir::{Endpoint, Param, Port, PortKind, Ptask, Span};
use ptc_plan::types::Scalar;
use std::collections::HashMap;
use std::path::PathBuf;

/// A ptask's kernel statement, resolved.
struct KernelRef {
    kernel: String,
    span: Span,
    path: Option<PathBuf>,
}

impl Checker<'_> {
    pub(super) fn ptask(&mut self, index: usize, t: &ast::PtaskDecl) -> Ptask {
        // Ports and params share one namespace.
        let mut names: HashMap<&str, Span> = HashMap::new();
        let ports = self.ports(index, t, &mut names);
        let params = self.params(t, &mut names);
        let kernel = self.kernel_stmt(t);
        let grid = self.grid(t);
        let priority = self.ptask_priority(t);
        Ptask {
            name: t.name.clone(),
            kernel: kernel.kernel,
            kernel_span: kernel.span,
            kernel_path: kernel.path,
            ports,
            params,
            grid,
            priority,
            span: t.span,
        }
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
        t: &'t ast::PtaskDecl,
        names: &mut HashMap<&'t str, Span>,
    ) -> Vec<Port> {
        let mut ports = Vec::with_capacity(t.ports.len());
        for (pi, p) in t.ports.iter().enumerate() {
            let before = self.error_count();
            self.declare(names, &p.name);
            let what = format!("port `{}.{}`", t.name.name, p.name.name);
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
            if let Some(value) = self.value(&p.value, ty, &what) {
                params.push(Param {
                    name: p.name.clone(),
                    ty,
                    ty_span: p.ty.span,
                    value,
                    span: p.span,
                });
            }
        }
        params
    }

    /// The one `kernel` statement, its file resolved.
    fn kernel_stmt(&mut self, t: &ast::PtaskDecl) -> KernelRef {
        let mut out = KernelRef {
            kernel: String::new(),
            span: t.name.span,
            path: None,
        };
        match t.kernels.as_slice() {
            [] if !t.body_errors => self.emit(PtaskError::NoKernel {
                ptask: t.name.name.clone(),
                span: t.name.span,
            }),
            [] => {}
            [(k, _), rest @ ..] => {
                for (_, extra) in rest {
                    self.emit(PtaskError::SecondKernel {
                        ptask: t.name.name.clone(),
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
    fn grid(&mut self, t: &ast::PtaskDecl) -> Option<([u64; 3], Span)> {
        let mut grid = None;
        for (i, (dims, span)) in t.grids.iter().enumerate() {
            if i > 0 {
                self.emit(PtaskError::SecondGrid {
                    ptask: t.name.name.clone(),
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
                ptask: t.name.name.clone(),
                span: t.name.span,
            });
        }
        grid
    }

    fn grid_dims(&mut self, dims: &[Num]) -> Option<[u64; 3]> {
        let mut g = [1u64; 3];
        let mut ok = true;
        for (j, d) in dims.iter().enumerate() {
            match parse_num(&d.text) {
                Some(NumVal::Int(v)) if v >= 1 && v <= i128::from(u32::MAX) => g[j] = v as u64,
                _ => {
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

    fn ptask_priority(&mut self, t: &ast::PtaskDecl) -> Option<u32> {
        let mut priority = None;
        for (i, (n, span)) in t.priorities.iter().enumerate() {
            if i > 0 {
                self.emit(PtaskError::SecondPriority {
                    ptask: t.name.name.clone(),
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
        let found = match self.kernel_cache.get(&k.value) {
            Some(r) => r.clone(),
            None => {
                let r = resolve_kernel(self.path, &k.value, &self.opts.kernel_paths);
                self.kernel_cache.insert(k.value.clone(), r.clone());
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
