//! Specialization constants and what specializing a kernel changes.
//!
//! A compute kernel may declare specialization constants (GLSL
//! `layout(constant_id = K) const uint N = 64;`, HLSL
//! `[[vk::constant_id(K)]] const uint N = 64;`), size its workgroup with
//! them (`layout(local_size_x_id = K) in;`) and size `shared` arrays with
//! expressions of them. [`spec_constants`] lists them (id, name, type,
//! default); [`specialize`] evaluates, for given values, the two facts ptc
//! checks against device limits: the workgroup size and the bytes of
//! workgroup (`shared`) memory.
//!
//! This reads the module's words directly (one pass, bounds-checked; a
//! malformed module is an error, never a panic). Constants are evaluated
//! the way a driver specializes them: `OpConstant`, `OpSpecConstant`
//! (its `SpecId` overridden by the given values), and `OpSpecConstantOp`
//! with the integer operations GLSL emits for array sizes.

use crate::types::Scalar;
use std::collections::HashMap;

/// The type of a specialization constant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpecType {
    /// `bool` (set as a 32-bit 0 or 1).
    Bool,
    /// A 32-bit `uint`, `int` or `float`.
    Scalar(Scalar),
    /// Anything else ptc cannot set (16/64-bit types), spelt for messages.
    Other(String),
}

impl std::fmt::Display for SpecType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpecType::Bool => f.write_str("bool"),
            SpecType::Scalar(s) => write!(f, "{s}"),
            SpecType::Other(o) => f.write_str(o),
        }
    }
}

/// One specialization constant of a kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecConstant {
    /// Its `SpecId` (`constant_id`, `local_size_x_id`...).
    pub id: u32,
    /// Its name (`OpName`), if the module keeps names.
    pub name: Option<String>,
    /// Its type.
    pub ty: SpecType,
    /// Its default value: the 32 bits of a 32-bit scalar, 0/1 for a bool.
    pub default: u32,
}

/// What specializing a kernel with given values gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Specialized {
    /// The workgroup size (the `WorkgroupSize` built-in, else
    /// `LocalSizeId`, else `LocalSize`), or why it cannot be known.
    pub local_size: Result<[u32; 3], String>,
    /// The spec constant id that sets each workgroup dimension, if any.
    pub local_size_ids: [Option<u32>; 3],
    /// Bytes of all `Workgroup` (shared) variables, counted as the
    /// validation layers do (scalars at their width, no padding).
    pub shared_memory_bytes: u64,
}

// Opcodes and enumerants this pass reads (SPIR-V 1.6 unified spec).
const OP_NAME: u32 = 5;
const OP_ENTRY_POINT: u32 = 15;
const EXEC_MODEL_GLCOMPUTE: u32 = 5;
const OP_EXECUTION_MODE: u32 = 16;
const OP_TYPE_BOOL: u32 = 20;
const OP_TYPE_INT: u32 = 21;
const OP_TYPE_FLOAT: u32 = 22;
const OP_TYPE_VECTOR: u32 = 23;
const OP_TYPE_MATRIX: u32 = 24;
const OP_TYPE_ARRAY: u32 = 28;
const OP_TYPE_STRUCT: u32 = 30;
const OP_TYPE_POINTER: u32 = 32;
const OP_CONSTANT_TRUE: u32 = 41;
const OP_CONSTANT_FALSE: u32 = 42;
const OP_CONSTANT: u32 = 43;
const OP_CONSTANT_COMPOSITE: u32 = 44;
const OP_SPEC_CONSTANT_TRUE: u32 = 48;
const OP_SPEC_CONSTANT_FALSE: u32 = 49;
const OP_SPEC_CONSTANT: u32 = 50;
const OP_SPEC_CONSTANT_COMPOSITE: u32 = 51;
const OP_SPEC_CONSTANT_OP: u32 = 52;
const OP_VARIABLE: u32 = 59;
const OP_DECORATE: u32 = 71;
const OP_EXECUTION_MODE_ID: u32 = 331;
const DECORATION_SPEC_ID: u32 = 1;
const DECORATION_BUILTIN: u32 = 11;
const BUILTIN_WORKGROUP_SIZE: u32 = 25;
const EXEC_MODE_LOCAL_SIZE: u32 = 17;
const EXEC_MODE_LOCAL_SIZE_ID: u32 = 38;
const STORAGE_WORKGROUP: u32 = 4;

/// A type, as far as sizes and spec constants need.
#[derive(Clone, Debug)]
enum Ty {
    Bool,
    Int {
        width: u32,
        signed: bool,
    },
    Float {
        width: u32,
    },
    /// Vector or matrix: `count` of `elem`.
    Repeat {
        elem: u32,
        count: u32,
    },
    /// `elem` times the value of constant `len`.
    Array {
        elem: u32,
        len: u32,
    },
    Struct(Vec<u32>),
    Pointer {
        pointee: u32,
    },
}

/// A constant as defined in the module.
#[derive(Clone, Debug)]
enum Const {
    /// A literal (first word; wider types are not evaluated).
    Value(u64),
    /// A spec constant: its default, overridden through its `SpecId`.
    Spec {
        default: u64,
    },
    /// `OpSpecConstantOp`: (type, opcode, operand ids).
    Op {
        op: u32,
        args: Vec<u32>,
    },
    Composite(Vec<u32>),
}

/// The instructions this pass reads, indexed.
#[derive(Default)]
struct Module {
    names: HashMap<u32, String>,
    spec_ids: HashMap<u32, u32>,
    workgroup_size: Option<u32>,
    types: HashMap<u32, Ty>,
    /// Constant id → (type id, definition).
    consts: HashMap<u32, (u32, Const)>,
    /// Constant ids in definition order.
    const_order: Vec<u32>,
    /// Type ids of `Workgroup` variables (their pointer types).
    workgroup_vars: Vec<u32>,
    /// GLCompute entry points: (function id, name).
    entries: Vec<(u32, String)>,
    /// `LocalSize` by function id.
    local_size: HashMap<u32, [u32; 3]>,
    /// `LocalSizeId` by function id.
    local_size_id: HashMap<u32, [u32; 3]>,
}

fn malformed(what: &str) -> String {
    format!("malformed SPIR-V: {what}")
}

/// A null-terminated literal string starting at `words[0]`.
fn string(words: &[u32]) -> Option<String> {
    let mut bytes = Vec::new();
    for w in words {
        for b in w.to_le_bytes() {
            if b == 0 {
                return String::from_utf8(bytes).ok();
            }
            bytes.push(b);
        }
    }
    None
}

fn index(words: &[u32]) -> Result<Module, String> {
    if words.len() < 5 || words[0] != crate::spirv::MAGIC {
        return Err("not a SPIR-V module (no SPIR-V header)".into());
    }
    let mut m = Module::default();
    let mut at = 5;
    while at < words.len() {
        let count = (words[at] >> 16) as usize;
        let op = words[at] & 0xffff;
        if count == 0 || at + count > words.len() {
            return Err(malformed("an instruction runs past the end of the module"));
        }
        let o = &words[at + 1..at + count];
        at += count;
        let arg = |i: usize| {
            o.get(i)
                .copied()
                .ok_or_else(|| malformed("missing operand"))
        };
        match op {
            OP_NAME => {
                if let Some(name) = o.get(1..).and_then(string) {
                    m.names.insert(arg(0)?, name);
                }
            }
            OP_ENTRY_POINT if arg(0)? == EXEC_MODEL_GLCOMPUTE => {
                let name = o.get(2..).and_then(string).unwrap_or_default();
                m.entries.push((arg(1)?, name));
            }
            OP_EXECUTION_MODE | OP_EXECUTION_MODE_ID => {
                let (f, mode) = (arg(0)?, arg(1)?);
                let v = || -> Result<[u32; 3], String> { Ok([arg(2)?, arg(3)?, arg(4)?]) };
                match (op, mode) {
                    (OP_EXECUTION_MODE, EXEC_MODE_LOCAL_SIZE) => {
                        m.local_size.insert(f, v()?);
                    }
                    (OP_EXECUTION_MODE_ID, EXEC_MODE_LOCAL_SIZE_ID) => {
                        m.local_size_id.insert(f, v()?);
                    }
                    _ => {}
                }
            }
            OP_DECORATE => match arg(1)? {
                DECORATION_SPEC_ID => {
                    m.spec_ids.insert(arg(0)?, arg(2)?);
                }
                DECORATION_BUILTIN if arg(2)? == BUILTIN_WORKGROUP_SIZE => {
                    m.workgroup_size = Some(arg(0)?);
                }
                _ => {}
            },
            OP_TYPE_BOOL => {
                m.types.insert(arg(0)?, Ty::Bool);
            }
            OP_TYPE_INT => {
                m.types.insert(
                    arg(0)?,
                    Ty::Int {
                        width: arg(1)?,
                        signed: arg(2)? != 0,
                    },
                );
            }
            OP_TYPE_FLOAT => {
                m.types.insert(arg(0)?, Ty::Float { width: arg(1)? });
            }
            OP_TYPE_VECTOR | OP_TYPE_MATRIX => {
                m.types.insert(
                    arg(0)?,
                    Ty::Repeat {
                        elem: arg(1)?,
                        count: arg(2)?,
                    },
                );
            }
            OP_TYPE_ARRAY => {
                m.types.insert(
                    arg(0)?,
                    Ty::Array {
                        elem: arg(1)?,
                        len: arg(2)?,
                    },
                );
            }
            OP_TYPE_STRUCT => {
                m.types.insert(arg(0)?, Ty::Struct(o[1..].to_vec()));
            }
            OP_TYPE_POINTER => {
                m.types.insert(arg(0)?, Ty::Pointer { pointee: arg(2)? });
            }
            OP_CONSTANT_TRUE
            | OP_CONSTANT_FALSE
            | OP_CONSTANT
            | OP_SPEC_CONSTANT_TRUE
            | OP_SPEC_CONSTANT_FALSE
            | OP_SPEC_CONSTANT => {
                let (ty, id) = (arg(0)?, arg(1)?);
                let value = match op {
                    OP_CONSTANT_TRUE | OP_SPEC_CONSTANT_TRUE => 1,
                    OP_CONSTANT_FALSE | OP_SPEC_CONSTANT_FALSE => 0,
                    _ => u64::from(arg(2)?),
                };
                let c = if matches!(
                    op,
                    OP_SPEC_CONSTANT_TRUE | OP_SPEC_CONSTANT_FALSE | OP_SPEC_CONSTANT
                ) {
                    Const::Spec { default: value }
                } else {
                    Const::Value(value)
                };
                m.consts.insert(id, (ty, c));
                m.const_order.push(id);
            }
            OP_CONSTANT_COMPOSITE | OP_SPEC_CONSTANT_COMPOSITE => {
                let (ty, id) = (arg(0)?, arg(1)?);
                m.consts.insert(id, (ty, Const::Composite(o[2..].to_vec())));
                m.const_order.push(id);
            }
            OP_SPEC_CONSTANT_OP => {
                let (ty, id) = (arg(0)?, arg(1)?);
                let c = Const::Op {
                    op: arg(2)?,
                    args: o[3..].to_vec(),
                };
                m.consts.insert(id, (ty, c));
                m.const_order.push(id);
            }
            OP_VARIABLE if arg(2)? == STORAGE_WORKGROUP => m.workgroup_vars.push(arg(0)?),
            _ => {}
        }
    }
    Ok(m)
}

impl Module {
    fn spec_type(&self, ty: u32) -> SpecType {
        match self.types.get(&ty) {
            Some(Ty::Bool) => SpecType::Bool,
            Some(Ty::Int {
                width: 32,
                signed: false,
            }) => SpecType::Scalar(Scalar::U32),
            Some(Ty::Int {
                width: 32,
                signed: true,
            }) => SpecType::Scalar(Scalar::I32),
            Some(Ty::Float { width: 32 }) => SpecType::Scalar(Scalar::F32),
            Some(Ty::Int { width, signed }) => {
                SpecType::Other(format!("{}int{width}_t", if *signed { "" } else { "u" }))
            }
            Some(Ty::Float { width }) => SpecType::Other(format!("float{width}_t")),
            _ => SpecType::Other("a composite".into()),
        }
    }

    /// Every constant's value (integers and bits of 32-bit floats), with
    /// spec constants overridden by `values` (SpecId → 32 bits). Constants
    /// that cannot be evaluated are absent.
    fn evaluate(&self, values: &HashMap<u32, u32>) -> HashMap<u32, u64> {
        let mut v: HashMap<u32, u64> = HashMap::new();
        for id in &self.const_order {
            let Some((_, c)) = self.consts.get(id) else {
                continue;
            };
            let value = match c {
                Const::Value(x) => Some(*x),
                Const::Spec { default } => Some(
                    self.spec_ids
                        .get(id)
                        .and_then(|sid| values.get(sid))
                        .map_or(*default, |x| u64::from(*x)),
                ),
                Const::Op { op, args } => spec_op(*op, args, &v),
                Const::Composite(_) => None,
            };
            if let Some(x) = value {
                v.insert(*id, x);
            }
        }
        v
    }

    /// Size in bytes of type `ty` (`None` if it has a part whose size is
    /// not known, e.g. an array sized by an unevaluated constant).
    fn size(&self, ty: u32, v: &HashMap<u32, u64>) -> Option<u64> {
        // An explicit stack: struct and array nesting is bounded by the
        // module, not by this function's frames.
        let mut total = 0u64;
        let mut work: Vec<(u32, u64)> = vec![(ty, 1)];
        while let Some((t, times)) = work.pop() {
            match self.types.get(&t)? {
                Ty::Bool => total = total.checked_add(times.checked_mul(4)?)?,
                Ty::Int { width, .. } | Ty::Float { width } => {
                    total = total.checked_add(times.checked_mul(u64::from(*width / 8))?)?
                }
                Ty::Repeat { elem, count } => {
                    work.push((*elem, times.checked_mul(u64::from(*count))?))
                }
                Ty::Array { elem, len } => work.push((*elem, times.checked_mul(*v.get(len)?)?)),
                Ty::Struct(members) => work.extend(members.iter().map(|m| (*m, times))),
                Ty::Pointer { .. } => total = total.checked_add(times.checked_mul(8)?)?,
            }
            if work.len() > 1 << 20 {
                return None;
            }
        }
        Some(total)
    }
}

/// An `OpSpecConstantOp` on 32-bit integers (what array sizes use).
fn spec_op(op: u32, args: &[u32], v: &HashMap<u32, u64>) -> Option<u64> {
    let get = |i: usize| v.get(args.get(i)?).map(|x| *x as u32);
    let (a, b) = (get(0)?, get(1));
    let r: u32 = match op {
        // OpIAdd, OpISub, OpIMul
        128 => a.wrapping_add(b?),
        130 => a.wrapping_sub(b?),
        132 => a.wrapping_mul(b?),
        // OpUDiv, OpSDiv, OpUMod, OpSRem, OpSMod
        134 => a.checked_div(b?)?,
        135 => (a as i32).checked_div(b? as i32)? as u32,
        137 => a.checked_rem(b?)?,
        138 | 139 => (a as i32).checked_rem(b? as i32)? as u32,
        // OpShiftRightLogical, OpShiftRightArithmetic, OpShiftLeftLogical
        194 => a.checked_shr(b?)?,
        195 => (a as i32).checked_shr(b?)? as u32,
        196 => a.checked_shl(b?)?,
        // OpBitwiseOr, OpBitwiseXor, OpBitwiseAnd, OpNot, OpSNegate
        197 => a | b?,
        198 => a ^ b?,
        199 => a & b?,
        200 => !a,
        126 => (a as i32).wrapping_neg() as u32,
        // OpUConvert, OpSConvert (32-bit to 32-bit)
        113 | 114 => a,
        _ => return None,
    };
    Some(u64::from(r))
}

/// The specialization constants of a module, by id (a `SpecId` on several
/// constants is listed once per constant).
pub fn spec_constants(words: &[u32]) -> Result<Vec<SpecConstant>, String> {
    let m = index(words)?;
    let mut out: Vec<SpecConstant> = m
        .const_order
        .iter()
        .filter_map(|id| {
            let sid = *m.spec_ids.get(id)?;
            let (ty, Const::Spec { default }) = m.consts.get(id)? else {
                return None;
            };
            Some(SpecConstant {
                id: sid,
                name: m.names.get(id).filter(|n| !n.is_empty()).cloned(),
                ty: m.spec_type(*ty),
                default: *default as u32,
            })
        })
        .collect();
    out.sort_by_key(|c| c.id);
    Ok(out)
}

/// The workgroup size and shared memory of the module's (first) compute
/// kernel with spec constants set to `values` (SpecId → 32 bits; the others
/// keep their defaults).
pub fn specialize(words: &[u32], values: &[(u32, u32)]) -> Result<Specialized, String> {
    specialize_entry(words, None, values)
}

/// [`specialize`] for the compute entry point named `entry` (the first if
/// `None`).
pub fn specialize_entry(
    words: &[u32],
    entry: Option<&str>,
    values: &[(u32, u32)],
) -> Result<Specialized, String> {
    let m = index(words)?;
    let func = m
        .entries
        .iter()
        .find(|(_, n)| entry.is_none_or(|e| e == n))
        .map(|(f, _)| *f);
    let values: HashMap<u32, u32> = values.iter().copied().collect();
    let v = m.evaluate(&values);
    let spec_of = |id: u32| m.spec_ids.get(&id).copied();
    let eval = |id: u32| -> Result<u32, String> {
        v.get(&id)
            .map(|x| *x as u32)
            .ok_or_else(|| "the kernel's local size is not an integer constant".to_string())
    };
    let mut local_size_ids = [None; 3];
    let local_size = if let Some(wg) = m.workgroup_size {
        // The WorkgroupSize built-in overrides any execution mode.
        match m.consts.get(&wg) {
            Some((_, Const::Composite(parts))) if parts.len() == 3 => {
                let mut ls = [0u32; 3];
                for i in 0..3 {
                    ls[i] = eval(parts[i])?;
                    local_size_ids[i] = spec_of(parts[i]);
                }
                Ok(ls)
            }
            _ => Err("the kernel's WorkgroupSize is not a 3-component constant".to_string()),
        }
    } else if let Some(ids) = func.and_then(|f| m.local_size_id.get(&f).copied()) {
        let mut ls = [0u32; 3];
        for i in 0..3 {
            ls[i] = eval(ids[i])?;
            local_size_ids[i] = spec_of(ids[i]);
        }
        Ok(ls)
    } else {
        func.and_then(|f| m.local_size.get(&f).copied())
            .ok_or_else(|| "the kernel declares no `layout(local_size_x = ...) in;`".to_string())
    };
    let mut shared = 0u64;
    for ptr in &m.workgroup_vars {
        let Some(Ty::Pointer { pointee, .. }) = m.types.get(ptr) else {
            return Err(malformed("a variable's type is not a pointer"));
        };
        let bytes = m.size(*pointee, &v).ok_or_else(|| {
            "the size of a `shared` variable cannot be computed (an array sized by an \
             expression ptc does not evaluate)"
                .to_string()
        })?;
        shared = shared.saturating_add(bytes);
    }
    Ok(Specialized {
        local_size,
        local_size_ids,
        shared_memory_bytes: shared,
    })
}

/// `words` with every `OpSpecConstantOp` that no array type's length
/// depends on replaced by an `OpUndef` of its type, for spirq: its
/// reflection evaluates each one and refuses those it cannot (a `Select`
/// of floats, say), although reflection needs none but array lengths.
/// Specialization values are evaluated by this module, not by spirq.
pub(crate) fn without_spec_ops(words: &[u32]) -> Result<Vec<u32>, String> {
    if words.len() < 5 {
        return Err("not a SPIR-V module (no SPIR-V header)".into());
    }
    // Pass 1: array lengths, and each spec op's operands.
    let mut lengths: Vec<u32> = Vec::new();
    let mut ops: HashMap<u32, Vec<u32>> = HashMap::new();
    let mut at = 5;
    while at < words.len() {
        let count = (words[at] >> 16) as usize;
        let op = words[at] & 0xffff;
        if count == 0 || at + count > words.len() {
            return Err(malformed("an instruction runs past the end of the module"));
        }
        let o = &words[at + 1..at + count];
        match op {
            OP_TYPE_ARRAY if o.len() >= 3 => lengths.push(o[2]),
            OP_SPEC_CONSTANT_OP if o.len() >= 3 => {
                ops.insert(o[1], o[3..].to_vec());
            }
            _ => {}
        }
        at += count;
    }
    if ops.is_empty() {
        return Ok(words.to_vec());
    }
    // The spec ops array lengths depend on, transitively.
    let mut keep: std::collections::HashSet<u32> = std::collections::HashSet::new();
    let mut work = lengths;
    while let Some(id) = work.pop() {
        if let Some(args) = ops.get(&id) {
            if keep.insert(id) {
                work.extend(args.iter().copied());
            }
        }
    }
    // Pass 2: rewrite.
    const OP_UNDEF: u32 = 1;
    let mut out = Vec::with_capacity(words.len());
    out.extend_from_slice(&words[..5]);
    let mut at = 5;
    while at < words.len() {
        let count = (words[at] >> 16) as usize;
        let op = words[at] & 0xffff;
        let inst = &words[at..at + count];
        if op == OP_SPEC_CONSTANT_OP && count >= 4 && !keep.contains(&inst[2]) {
            out.extend_from_slice(&[(3 << 16) | OP_UNDEF, inst[1], inst[2]]);
        } else {
            out.extend_from_slice(inst);
        }
        at += count;
    }
    Ok(out)
}
