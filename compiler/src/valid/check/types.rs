//! Structs, element types, shapes, literal values and priorities.

use super::errors::{CheckError, TypeError};
use super::{is_vec_name, Checker};
use crate::front::ast::{self, ElemExpr, Expr, TypeExpr};
use crate::ir::ConstVal;
use crate::ir::Span;
use ptc_plan::types::{ElemType, PortType, Scalar, StructLayout, Value};
use ptc_plan::MAX_BUFFER_BYTES;
use std::collections::{HashMap, HashSet};

/// A number literal's value.
#[derive(Copy, Clone, Debug)]
pub(super) enum NumVal {
    Int(i128),
    Float(f64),
}

pub(super) fn parse_num(text: &str) -> Option<NumVal> {
    let t: String = text.chars().filter(|c| *c != '_').collect();
    if t.contains(['.', 'e', 'E']) {
        t.parse::<f64>().ok().map(NumVal::Float)
    } else {
        match t.parse::<i128>() {
            Ok(v) => Some(NumVal::Int(v)),
            // More digits than i128 holds: still a number, just huge.
            Err(_) => t.parse::<f64>().ok().map(NumVal::Float),
        }
    }
}

impl Checker<'_> {
    pub(super) fn structs(&mut self, decls: &[ast::StructDecl]) {
        for s in decls {
            let name = &s.name.name;
            if Scalar::from_name(name).is_some() || is_vec_name(name) {
                self.emit(TypeError::BuiltinRedeclared {
                    name: name.clone(),
                    span: s.name.span,
                });
                continue;
            }
            if let Some(first) = self.struct_spans.get(name) {
                let first = *first;
                self.emit(TypeError::DuplicateStruct {
                    name: name.clone(),
                    span: s.name.span,
                    first,
                });
                continue;
            }
            self.struct_spans.insert(name.clone(), s.name.span);
        }
        let declared: HashSet<String> = self.struct_spans.keys().cloned().collect();
        for s in decls {
            if self
                .struct_spans
                .get(&s.name.name)
                .is_none_or(|sp| *sp != s.name.span)
            {
                continue;
            }
            match self.struct_fields(s, &declared) {
                Some(fields) => {
                    if let Some(l) = StructLayout::std430(&s.name.name, &fields) {
                        self.structs.push(l);
                    }
                }
                None => {
                    self.broken_structs.insert(s.name.name.clone());
                }
            }
        }
    }

    /// The fields of one struct, or `None` if any is invalid (reported).
    fn struct_fields(
        &mut self,
        s: &ast::StructDecl,
        declared: &HashSet<String>,
    ) -> Option<Vec<(String, ElemType)>> {
        let mut ok = true;
        let mut seen: HashMap<&str, Span> = HashMap::new();
        let mut fields = Vec::new();
        if s.fields.is_empty() {
            ok = false;
            self.emit(TypeError::EmptyStruct {
                name: s.name.name.clone(),
                span: s.span,
            });
        }
        for f in &s.fields {
            if let Some(first) = seen.get(f.name.name.as_str()) {
                let first = *first;
                ok = false;
                self.emit(TypeError::DuplicateField {
                    field: f.name.name.clone(),
                    strukt: s.name.name.clone(),
                    span: f.name.span,
                    first,
                });
                continue;
            }
            seen.insert(&f.name.name, f.name.span);
            if let Some((_, shape_span)) = &f.ty.shape {
                ok = false;
                self.emit(TypeError::ArrayField {
                    field: f.name.name.clone(),
                    shape: *shape_span,
                });
                continue;
            }
            if let ElemExpr::Named(n) = &f.ty.elem {
                if declared.contains(&n.name) {
                    ok = false;
                    self.emit(TypeError::NestedStruct {
                        field: f.name.name.clone(),
                        ty: n.name.clone(),
                        span: n.span,
                    });
                    continue;
                }
            }
            match self.elem(&f.ty.elem, false) {
                Some(t) => fields.push((f.name.name.clone(), t)),
                None => ok = false,
            }
        }
        ok.then_some(fields)
    }

    /// Resolves an element type. `structs_ok`: struct names are allowed.
    pub(super) fn elem(&mut self, e: &ElemExpr, structs_ok: bool) -> Option<ElemType> {
        match e {
            ElemExpr::Named(n) => {
                if let Some(s) = Scalar::from_name(&n.name) {
                    return Some(ElemType::Scalar(s));
                }
                if structs_ok && self.struct_spans.contains_key(&n.name) {
                    if self.broken_structs.contains(&n.name) {
                        return None;
                    }
                    return Some(ElemType::Struct(n.name.clone()));
                }
                let vec_name = is_vec_name(&n.name);
                let hint = if vec_name {
                    super::Hint::None
                } else {
                    let scalars = ["u8", "u16", "u32", "i32", "f32"];
                    let mut cands: Vec<&str> = scalars.to_vec();
                    if structs_ok {
                        cands.extend(self.struct_spans.keys().map(String::as_str));
                    }
                    self.suggest(&n.name, cands)
                };
                self.emit(TypeError::Unknown {
                    name: n.name.clone(),
                    span: n.span,
                    vec_name,
                    hint,
                });
                None
            }
            ElemExpr::Vector { n, scalar, span } => {
                let count = n.text.parse::<u8>().ok().filter(|c| (2..=4).contains(c));
                let comp = match Scalar::from_name(&scalar.name) {
                    Some(s @ (Scalar::F32 | Scalar::U32 | Scalar::I32)) => Some(s),
                    Some(other) => {
                        self.emit(TypeError::VectorComponent {
                            scalar: other,
                            span: scalar.span,
                        });
                        None
                    }
                    None => {
                        let hint = self.suggest(&scalar.name, ["f32", "u32", "i32"]);
                        self.emit(TypeError::UnknownVectorComponent {
                            name: scalar.name.clone(),
                            span: scalar.span,
                            hint,
                        });
                        None
                    }
                };
                if count.is_none() {
                    self.emit(TypeError::VectorSize {
                        n: n.text.clone(),
                        span: *span,
                    });
                }
                Some(ElemType::Vector {
                    n: count?,
                    scalar: comp?,
                })
            }
        }
    }

    /// Resolves a port type (element and shape; no shape means `[1]`) and
    /// checks its buffer size. `None` if it is invalid (reported).
    pub(super) fn port_type(&mut self, t: &TypeExpr, what: &str) -> Option<PortType> {
        let elem = self.elem(&t.elem, true);
        let shape = match &t.shape {
            None => Some(vec![1]),
            Some((dims, span)) => self.shape(dims, *span),
        };
        let ty = PortType {
            elem: elem?,
            shape: shape?,
        };
        match ty.byte_size(&self.structs) {
            None => {
                self.emit(TypeError::SizeOverflow {
                    what: what.to_string(),
                    span: t.span,
                });
                None
            }
            Some(bytes) if bytes > MAX_BUFFER_BYTES => {
                self.emit(TypeError::BufferTooLarge {
                    what: what.to_string(),
                    bytes,
                    span: t.span,
                });
                None
            }
            Some(_) => Some(ty),
        }
    }

    fn shape(&mut self, dims: &[Expr], span: Span) -> Option<Vec<u64>> {
        if dims.is_empty() {
            self.emit(TypeError::EmptyShape { span });
            return None;
        }
        let mut out = Vec::with_capacity(dims.len());
        let mut ok = true;
        for d in dims {
            match self.eval(d) {
                Some(ConstVal::Int(v)) if v > 0 && v <= i128::from(u64::MAX) => out.push(v as u64),
                Some(ConstVal::Int(0)) => {
                    ok = false;
                    self.emit(TypeError::ZeroDimension { span: d.span });
                }
                Some(_) => {
                    ok = false;
                    self.emit(TypeError::BadDimension {
                        text: d.text.clone(),
                        span: d.span,
                    });
                }
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// Converts an expression's value to a value of scalar type `s`.
    pub(super) fn value(&mut self, n: &Expr, s: Scalar, what: &str) -> Option<Value> {
        let v = match self.eval(n)? {
            ConstVal::Int(i) => NumVal::Int(i),
            ConstVal::Float(f) => NumVal::Float(f),
        };
        match value_of(v, s) {
            Ok(v) => Some(v),
            Err(range) => {
                let (text, what, span) = (n.text.clone(), what.to_string(), n.span);
                self.emit(match range {
                    Range::F32 => TypeError::F32Range { text, what, span },
                    Range::Uint(ty, max) => TypeError::UintRange {
                        text,
                        what,
                        ty,
                        max,
                        span,
                    },
                    Range::I32 => TypeError::I32Range { text, what, span },
                    Range::NotWhole(ty) => TypeError::NotWhole {
                        text,
                        what,
                        ty,
                        span,
                    },
                });
                None
            }
        }
    }

    /// An integer 1..=100 priority.
    pub(super) fn priority(&mut self, n: &Expr) -> Option<u32> {
        match self.eval(n)? {
            ConstVal::Int(v) if (1..=100).contains(&v) => Some(v as u32),
            _ => {
                self.emit(CheckError::Type(TypeError::Priority {
                    text: n.text.clone(),
                    span: n.span,
                }));
                None
            }
        }
    }
}

/// Why a number does not fit a scalar type.
enum Range {
    F32,
    /// Out of range for an unsigned type holding 0..=max.
    Uint(Scalar, i128),
    I32,
    /// A fraction for an integer type.
    NotWhole(Scalar),
}

/// A number as a value of scalar type `s`.
fn value_of(v: NumVal, s: Scalar) -> Result<Value, Range> {
    match (s, v) {
        (Scalar::F32, NumVal::Int(i)) if (i as f64).abs() <= f64::from(f32::MAX) => {
            Ok(Value::F32(i as f32))
        }
        (Scalar::F32, NumVal::Float(f)) if f.is_finite() && f.abs() <= f64::from(f32::MAX) => {
            Ok(Value::F32(f as f32))
        }
        (Scalar::F32, _) => Err(Range::F32),
        (Scalar::I32, NumVal::Int(i)) if i32::try_from(i).is_ok() => Ok(Value::I32(i as i32)),
        (int @ (Scalar::U8 | Scalar::U16 | Scalar::U32), NumVal::Int(i)) => {
            let max: i128 = match int {
                Scalar::U8 => 0xff,
                Scalar::U16 => 0xffff,
                _ => 0xffff_ffff,
            };
            if (0..=max).contains(&i) {
                Ok(Value::U32(i as u32))
            } else {
                Err(Range::Uint(int, max))
            }
        }
        (Scalar::I32, NumVal::Int(_)) => Err(Range::I32),
        (int, NumVal::Float(_)) => Err(Range::NotWhole(int)),
    }
}
