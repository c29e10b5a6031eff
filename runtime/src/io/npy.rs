//! `.npy` headers checked against ports (read with npyz), and streaming
//! `.npy`/raw frame writing.

use super::components;
use super::output::OutputFile;
use crate::error::{Result, RuntimeError};
use crate::graph::PortInfo;
use npyz::{DType, NpyHeader, Order, TypeStr};
use ptc_plan::types::Scalar;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
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

/// Longest `.npy` header text ptc reads (numpy's own reader refuses more
/// than 10 000 bytes by default; a plain dtype's header is under 200).
pub const MAX_NPY_HEADER: usize = 64 << 10;
/// Most brackets (`(`, `[`, `{`, in strings too) a `.npy` header may hold:
/// a plain dtype's header has two (`{'descr': '<f4', ..., 'shape': (2, 3), }`).
pub const MAX_NPY_BRACKETS: usize = 6;

/// Reads an `.npy` header (the reader at the start of the file) with npyz,
/// after checking what npyz trusts:
///
/// - the header length, which npyz allocates whole before reading: a
///   60-byte file claiming a 4 GiB header made ptc allocate 4 GiB (and
///   abort where that failed). At most [`MAX_NPY_HEADER`] bytes are read.
/// - nesting: npyz's Python-literal parser backtracks exponentially in the
///   depth of unclosed brackets (14 `{` took 30 s), so a header with more
///   than [`MAX_NPY_BRACKETS`] brackets is refused before it is parsed.
pub(super) fn read_header(r: &mut impl std::io::Read) -> std::io::Result<NpyHeader> {
    use std::io::{Error, ErrorKind, Read};
    let mut pre = [0u8; 12];
    let mut got = 0;
    while got < 10 {
        match r.read(&mut pre[got..10])? {
            0 => break,
            n => got += n,
        }
    }
    if got < 10 || &pre[..6] != b"\x93NUMPY" {
        // npyz's own message for a missing magic string or version.
        return NpyHeader::from_reader(&mut &pre[..got]);
    }
    let (len, pre_len) = if pre[6] == 1 {
        (usize::from(u16::from_le_bytes([pre[8], pre[9]])), 10)
    } else {
        r.read_exact(&mut pre[10..12])?;
        let n = u32::from_le_bytes([pre[8], pre[9], pre[10], pre[11]]);
        (usize::try_from(n).unwrap_or(usize::MAX), 12)
    };
    if len > MAX_NPY_HEADER {
        return Err(Error::new(
            ErrorKind::InvalidData,
            format!("its header claims {len} bytes; ptc reads headers of at most {MAX_NPY_HEADER}"),
        ));
    }
    let mut all = pre[..pre_len].to_vec();
    r.take(len as u64).read_to_end(&mut all)?;
    if all.len() < pre_len + len {
        return Err(Error::new(
            ErrorKind::UnexpectedEof,
            format!("the file ends inside its {len}-byte header"),
        ));
    }
    let brackets = all[pre_len..]
        .iter()
        .filter(|&&c| matches!(c, b'(' | b'[' | b'{'))
        .count();
    if brackets > MAX_NPY_BRACKETS {
        return Err(Error::new(
            ErrorKind::InvalidData,
            format!(
                "its header has {brackets} brackets; ptc reads plain dtypes \
                 (<f4, <u4, <i4, <u2, |u1), whose headers have two"
            ),
        ));
    }
    NpyHeader::from_reader(&mut all.as_slice())
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

/// An `.npy` version 1.0 header for `shape`, padded with spaces to exactly
/// `len` bytes (a multiple of 64) when given, else to the next multiple of 64.
fn header(descr: &str, shape: &[u64], len: Option<usize>) -> Vec<u8> {
    let dims = match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {dims}, }}");
    let unpadded = 10 + dict.len() + 1;
    let total = len.unwrap_or(unpadded.div_ceil(64) * 64);
    let mut h = Vec::with_capacity(total);
    h.extend_from_slice(b"\x93NUMPY\x01\x00");
    // invariant: headers are < 200 bytes plus a few dozen per dimension.
    let hl = u16::try_from(total - 10).unwrap_or(u16::MAX);
    h.extend_from_slice(&hl.to_le_bytes());
    h.extend_from_slice(dict.as_bytes());
    h.resize(total - 1, b' ');
    h.push(b'\n');
    h
}

/// Where a [`FrameWriter`] puts frames.
enum Body {
    /// Straight into the output (raw, or `.npy` on a seekable file).
    Direct(BufWriter<OutputFile>),
    /// `.npy` to a pipe: spooled, then copied behind the header.
    Spooled {
        spool: BufWriter<File>,
        out: OutputFile,
    },
}

/// Streams frames of one port to an [`OutputFile`] with buffered writes;
/// see [`super::FileSink`].
pub(super) struct FrameWriter {
    body: Option<Body>,
    port: PortInfo,
    /// `.npy`: descriptor, frame shape and the reserved header length.
    npy: Option<(NpyInfo, usize)>,
    count: u64,
    shown: std::path::PathBuf,
}

impl FrameWriter {
    /// Prepares `out` for frames of `port`, as `.npy` or raw bytes.
    pub(super) fn new(out: OutputFile, port: &PortInfo, npy: bool) -> Result<FrameWriter> {
        let shown = out.path().to_path_buf();
        let err = |e: std::io::Error| {
            RuntimeError::Io(format!("cannot write `{}`: {e}", shown.display()))
        };
        let npy = if npy {
            let info = npy_dtype_and_shape(port)?;
            let mut widest = vec![u64::MAX];
            widest.extend(&info.shape);
            let len = header(info.descr, &widest, None).len();
            Some((info, len))
        } else {
            None
        };
        let body = match &npy {
            Some((_, len)) if out.seekable() => {
                let mut w = BufWriter::with_capacity(1 << 20, out);
                // Placeholder: rewritten with the frame count by `finish`.
                w.write_all(&vec![b' '; *len]).map_err(err)?;
                Body::Direct(w)
            }
            Some(_) => Body::Spooled {
                spool: BufWriter::with_capacity(1 << 20, tempfile::tempfile().map_err(err)?),
                out,
            },
            None => Body::Direct(BufWriter::with_capacity(1 << 20, out)),
        };
        Ok(FrameWriter {
            body: Some(body),
            port: port.clone(),
            npy,
            count: 0,
            shown,
        })
    }

    fn err(&self, e: impl std::fmt::Display) -> RuntimeError {
        RuntimeError::Io(format!(
            "output `{}`: cannot write `{}`: {e}",
            self.port.name,
            self.shown.display()
        ))
    }

    /// Appends one frame (the port's bytes, little-endian as `.npy` stores them).
    pub(super) fn write_frame(&mut self, bytes: &[u8]) -> Result<()> {
        let r = match &mut self.body {
            Some(Body::Direct(w)) => w.write_all(bytes),
            Some(Body::Spooled { spool, .. }) => spool.write_all(bytes),
            None => Err(std::io::Error::other("the output was already finished")),
        };
        r.map_err(|e| self.err(e))?;
        self.count += 1;
        Ok(())
    }

    /// Completes the file (the `.npy` header gets the frame count) and
    /// commits it (see [`OutputFile::commit`]).
    pub(super) fn finish(&mut self) -> Result<()> {
        let Some(body) = self.body.take() else {
            return Ok(());
        };
        let final_header = self.npy.as_ref().map(|(info, len)| {
            let mut shape = info.shape.clone();
            if self.count != 1 {
                shape.insert(0, self.count);
            }
            header(info.descr, &shape, Some(*len))
        });
        let out = match body {
            Body::Direct(w) => {
                let mut out = w.into_inner().map_err(|e| self.err(e.error()))?;
                if let Some(h) = final_header {
                    out.file()
                        .seek(SeekFrom::Start(0))
                        .and_then(|_| out.file().write_all(&h))
                        .map_err(|e| self.err(e))?;
                }
                out
            }
            Body::Spooled { spool, mut out } => {
                let mut spool = spool.into_inner().map_err(|e| self.err(e.error()))?;
                let h = final_header.unwrap_or_default();
                spool
                    .seek(SeekFrom::Start(0))
                    .and_then(|_| {
                        let mut w = BufWriter::with_capacity(1 << 20, &mut out);
                        w.write_all(&h)?;
                        std::io::copy(&mut spool, &mut w)?;
                        w.flush()
                    })
                    .map_err(|e| self.err(e))?;
                out
            }
        };
        out.commit().map_err(|e| self.err(e))
    }
}
