//! `.npy` headers checked against ports, and `.npy` writing (via npyz).

use super::components;
use crate::error::{Result, RuntimeError};
use crate::graph::PortInfo;
use npyz::{DType, NpyHeader, Order, TypeStr, WriterBuilder};
use ptc_plan::types::Scalar;
use std::io::Write;
use std::path::Path;

/// The dtype descriptor and per-frame shape a port has as `.npy`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpyInfo {
    /// NumPy descriptor, e.g. `<f4`.
    pub descr: &'static str,
    /// Shape of one frame (vectors add a trailing component axis; vec3 is 4 wide).
    pub shape: Vec<u64>,
}

/// The `.npy` dtype and frame shape of `port` (scalar/vector ports only).
pub fn npy_dtype_and_shape(port: &PortInfo) -> Result<NpyInfo> {
    let (s, comps) = components(&port.ty.elem).ok_or_else(|| RuntimeError::WrongType {
        port: port.name.clone(),
        why: format!(
            "struct elements ({}) cannot be read or written as .npy; use a raw file",
            port.ty.elem
        ),
    })?;
    let mut shape = port.ty.shape.clone();
    if comps > 1 {
        shape.push(comps);
    }
    Ok(NpyInfo {
        descr: s.npy_descr(),
        shape,
    })
}

pub(super) fn dtype_for(port: &PortInfo) -> Result<DType> {
    let info = npy_dtype_and_shape(port)?;
    let ts: TypeStr = info.descr.parse().map_err(|e| RuntimeError::WrongType {
        port: port.name.clone(),
        why: format!("{e}"),
    })?;
    Ok(DType::Plain(ts))
}

/// Checks a header against the port; returns the number of frames.
pub(super) fn check_header(h: &NpyHeader, port: &PortInfo, path: &Path) -> Result<u64> {
    let want = npy_dtype_and_shape(port)?;
    let bad = |why: String| RuntimeError::WrongType {
        port: port.name.clone(),
        why: format!("`{}`: {why}", path.display()),
    };
    let dt = h.dtype();
    let want_dt = dtype_for(port)?;
    let same = dt == want_dt
        || match (&dt, port.ty.elem.scalar()) {
            // `<u1` and `|u1` mean the same thing.
            (DType::Plain(t), Some(Scalar::U8)) => t.to_string() == "<u1" || t.to_string() == "|u1",
            _ => false,
        };
    if !same {
        return Err(bad(format!(
            "dtype is {} but the port is {} (expected {})",
            dt.descr(),
            port.ty,
            want.descr
        )));
    }
    if h.order() != Order::C {
        return Err(bad("Fortran-ordered arrays are not supported".into()));
    }
    let shape = h.shape();
    if shape == want.shape.as_slice() {
        return Ok(1);
    }
    if shape.len() == want.shape.len() + 1 && shape[1..] == want.shape[..] && shape[0] > 0 {
        return Ok(shape[0]);
    }
    Err(bad(format!(
        "shape is {shape:?} but the port needs {:?} (one frame) or [k, ...] (k frames)",
        want.shape
    )))
}

/// Writes `count` frames (`bytes`, concatenated) of `port` as an `.npy`.
pub(super) fn write(
    w: impl Write,
    port: &PortInfo,
    count: u64,
    bytes: &[u8],
) -> std::io::Result<()> {
    let info = npy_dtype_and_shape(port).map_err(|e| std::io::Error::other(e.to_string()))?;
    let dtype = dtype_for(port).map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut shape = info.shape.clone();
    if count != 1 {
        shape.insert(0, count);
    }
    let scalar = port.ty.elem.scalar().unwrap_or(Scalar::U8);
    macro_rules! go {
        ($t:ty, $n:expr) => {{
            let mut wr = npyz::WriteOptions::<$t>::new()
                .dtype(dtype)
                .shape(&shape)
                .writer(w)
                .begin_nd()?;
            for c in bytes.chunks_exact($n) {
                let mut a = [0u8; $n];
                a.copy_from_slice(c);
                wr.push(&<$t>::from_le_bytes(a))?;
            }
            wr.finish()
        }};
    }
    match scalar {
        Scalar::U8 => go!(u8, 1),
        Scalar::U16 => go!(u16, 2),
        Scalar::U32 => go!(u32, 4),
        Scalar::I32 => go!(i32, 4),
        Scalar::F32 => go!(f32, 4),
    }
}
