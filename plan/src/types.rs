//! The value types of ports and channels, with their std430 layout.
//!
//! These types are shared by the checker (which resolves source types into
//! them), the kernel checker (which compares them with reflected SPIR-V) and
//! the [`Plan`](crate::Plan) (which carries them to the runtime).

use serde::{Deserialize, Serialize};
use std::fmt;

/// A scalar component type.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scalar {
    /// `u8` (GLSL `uint8_t`).
    U8,
    /// `u16` (GLSL `uint16_t`).
    U16,
    /// `u32` (GLSL `uint`).
    U32,
    /// `i32` (GLSL `int`).
    I32,
    /// `f32` (GLSL `float`).
    F32,
}

impl Scalar {
    /// Size in bytes (also the std430 alignment).
    pub fn size(self) -> u32 {
        match self {
            Scalar::U8 => 1,
            Scalar::U16 => 2,
            Scalar::U32 | Scalar::I32 | Scalar::F32 => 4,
        }
    }

    /// The keyword spelling used in `.pt` files.
    pub fn name(self) -> &'static str {
        match self {
            Scalar::U8 => "u8",
            Scalar::U16 => "u16",
            Scalar::U32 => "u32",
            Scalar::I32 => "i32",
            Scalar::F32 => "f32",
        }
    }

    /// Parses a scalar keyword.
    pub fn from_name(s: &str) -> Option<Scalar> {
        Some(match s {
            "u8" => Scalar::U8,
            "u16" => Scalar::U16,
            "u32" => Scalar::U32,
            "i32" => Scalar::I32,
            "f32" => Scalar::F32,
            _ => return None,
        })
    }

    /// NumPy dtype descriptor (little-endian), e.g. `<f4`.
    pub fn npy_descr(self) -> &'static str {
        match self {
            Scalar::U8 => "|u1",
            Scalar::U16 => "<u2",
            Scalar::U32 => "<u4",
            Scalar::I32 => "<i4",
            Scalar::F32 => "<f4",
        }
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The element type of a port: what one array element is.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ElemType {
    /// A scalar.
    Scalar(Scalar),
    /// `vecN<T>`, N in 2..=4, T one of f32/u32/i32.
    Vector {
        /// Component count, 2..=4.
        n: u8,
        /// Component type.
        scalar: Scalar,
    },
    /// A named struct; its layout is in the enclosing module or plan.
    Struct(String),
}

impl fmt::Display for ElemType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElemType::Scalar(s) => write!(f, "{s}"),
            ElemType::Vector { n, scalar } => write!(f, "vec{n}<{scalar}>"),
            ElemType::Struct(name) => f.write_str(name),
        }
    }
}

/// A struct field, laid out with std430 rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldLayout {
    /// Field name.
    pub name: String,
    /// Field type (scalar or vector; nested structs are not supported).
    pub ty: ElemType,
    /// Byte offset inside the struct.
    pub offset: u32,
}

/// A struct type with its std430 layout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StructLayout {
    /// Struct name.
    pub name: String,
    /// Fields in declaration order.
    pub fields: Vec<FieldLayout>,
    /// Size rounded up to `align` (the array stride in std430).
    pub size: u32,
    /// std430 base alignment (the largest field alignment).
    pub align: u32,
}

impl StructLayout {
    /// Lays out `fields` (name, type) with std430 rules. Field types must be
    /// scalars or vectors; returns `None` for a struct-typed field.
    pub fn std430(name: &str, fields: &[(String, ElemType)]) -> Option<StructLayout> {
        let mut offset = 0u32;
        let mut align = 1u32;
        let mut out = Vec::with_capacity(fields.len());
        for (fname, ty) in fields {
            let (a, s) = match ty {
                ElemType::Struct(_) => return None,
                other => (base_align(other)?, base_size(other)?),
            };
            offset = round_up(offset, a);
            out.push(FieldLayout {
                name: fname.clone(),
                ty: ty.clone(),
                offset,
            });
            offset += s;
            align = align.max(a);
        }
        Some(StructLayout {
            name: name.to_string(),
            fields: out,
            size: round_up(offset.max(1), align),
            align,
        })
    }
}

/// std430 base alignment of a scalar/vector type (None for structs).
pub fn base_align(ty: &ElemType) -> Option<u32> {
    match ty {
        ElemType::Scalar(s) => Some(s.size()),
        ElemType::Vector { n, scalar } => Some(match n {
            2 => 2 * scalar.size(),
            _ => 4 * scalar.size(),
        }),
        ElemType::Struct(_) => None,
    }
}

/// Size in bytes of a scalar/vector type, without array padding.
pub fn base_size(ty: &ElemType) -> Option<u32> {
    match ty {
        ElemType::Scalar(s) => Some(s.size()),
        ElemType::Vector { n, scalar } => Some(u32::from(*n) * scalar.size()),
        ElemType::Struct(_) => None,
    }
}

/// Rounds `v` up to a multiple of `a` (a > 0).
pub fn round_up(v: u32, a: u32) -> u32 {
    v.div_ceil(a) * a
}

/// Looks up struct layouts by name.
pub trait StructTable {
    /// The layout of struct `name`, if known.
    fn struct_layout(&self, name: &str) -> Option<&StructLayout>;
}

impl StructTable for [StructLayout] {
    fn struct_layout(&self, name: &str) -> Option<&StructLayout> {
        self.iter().find(|s| s.name == name)
    }
}

impl StructTable for Vec<StructLayout> {
    fn struct_layout(&self, name: &str) -> Option<&StructLayout> {
        self.as_slice().struct_layout(name)
    }
}

impl ElemType {
    /// std430 array stride of this element type (vec3 pads to 16 bytes;
    /// a struct to its aligned size). `None` if a struct is unknown.
    pub fn stride(&self, structs: &impl StructTable) -> Option<u32> {
        match self {
            ElemType::Struct(name) => structs.struct_layout(name).map(|s| s.size),
            other => base_align(other).map(|a| round_up(base_size(other).unwrap_or(a), a)),
        }
    }

    /// The scalar component type, if this is a scalar or vector.
    pub fn scalar(&self) -> Option<Scalar> {
        match self {
            ElemType::Scalar(s) | ElemType::Vector { scalar: s, .. } => Some(*s),
            ElemType::Struct(_) => None,
        }
    }

    /// Whether this element type has 8-bit / 16-bit scalars (struct fields
    /// included), i.e. needs `storageBuffer8BitAccess` / `16BitAccess`.
    pub fn small_scalars(&self, structs: &impl StructTable) -> (bool, bool) {
        let check = |s: Scalar| (s == Scalar::U8, s == Scalar::U16);
        match self {
            ElemType::Struct(n) => structs
                .struct_layout(n)
                .map(|l| {
                    l.fields.iter().fold((false, false), |(a, b), f| {
                        let (x, y) = f.ty.scalar().map(check).unwrap_or((false, false));
                        (a | x, b | y)
                    })
                })
                .unwrap_or((false, false)),
            other => other.scalar().map(check).unwrap_or((false, false)),
        }
    }
}

/// A port's full type: element type and array shape.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PortType {
    /// What one element is.
    pub elem: ElemType,
    /// Dimensions, outermost first (row-major; last index fastest). Never empty.
    pub shape: Vec<u64>,
}

impl PortType {
    /// Number of elements (product of the shape); `None` on overflow.
    pub fn count(&self) -> Option<u64> {
        self.shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d))
    }

    /// Size in bytes with std430 array stride; `None` on overflow or unknown struct.
    pub fn byte_size(&self, structs: &impl StructTable) -> Option<u64> {
        let stride = u64::from(self.elem.stride(structs)?);
        self.count()?.checked_mul(stride)
    }
}

impl fmt::Display for PortType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[", self.elem)?;
        for (i, d) in self.shape.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]")
    }
}

/// A literal value of a param or an initial value, typed by the port.
#[derive(Copy, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Value {
    /// An unsigned integer (also for `u8`/`u16`).
    U32(u32),
    /// A signed integer.
    I32(i32),
    /// A float.
    F32(f32),
}

impl Value {
    /// Little-endian bytes of this value.
    pub fn to_le_bytes(self) -> [u8; 4] {
        match self {
            Value::U32(v) => v.to_le_bytes(),
            Value::I32(v) => v.to_le_bytes(),
            Value::F32(v) => v.to_le_bytes(),
        }
    }

    /// Bytes of this value as `scalar`, converting numerically.
    pub fn encode_as(self, scalar: Scalar) -> Vec<u8> {
        let f = match self {
            Value::U32(v) => f64::from(v),
            Value::I32(v) => f64::from(v),
            Value::F32(v) => f64::from(v),
        };
        match scalar {
            Scalar::U8 => vec![f as u8],
            Scalar::U16 => (f as u16).to_le_bytes().to_vec(),
            Scalar::U32 => (f as u32).to_le_bytes().to_vec(),
            Scalar::I32 => (f as i32).to_le_bytes().to_vec(),
            Scalar::F32 => (f as f32).to_le_bytes().to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn std430_event_struct_is_16_bytes() {
        let f = |n: &str, s| (n.to_string(), ElemType::Scalar(s));
        let l = StructLayout::std430(
            "Event",
            &[
                f("kind", Scalar::U32),
                f("x", Scalar::F32),
                f("y", Scalar::F32),
                f("t", Scalar::F32),
            ],
        )
        .unwrap();
        assert_eq!(l.size, 16);
        assert_eq!(l.fields[3].offset, 12);
    }

    #[test]
    fn vec3_pads_to_16_and_struct_aligns() {
        let v3 = ElemType::Vector {
            n: 3,
            scalar: Scalar::F32,
        };
        assert_eq!(v3.stride(&Vec::<StructLayout>::new()), Some(16));
        let l = StructLayout::std430(
            "P",
            &[
                ("a".into(), ElemType::Scalar(Scalar::F32)),
                ("b".into(), v3),
                ("c".into(), ElemType::Scalar(Scalar::U32)),
            ],
        )
        .unwrap();
        assert_eq!(l.fields[1].offset, 16);
        assert_eq!(l.fields[2].offset, 28);
        assert_eq!(l.size, 32);
    }

    #[test]
    fn u16_image_size() {
        let t = PortType {
            elem: ElemType::Scalar(Scalar::U16),
            shape: vec![480, 640],
        };
        assert_eq!(
            t.byte_size(&Vec::<StructLayout>::new()),
            Some(480 * 640 * 2)
        );
        assert_eq!(t.to_string(), "u16[480, 640]");
    }
}
