//! `.npy` headers read (a small strict parser of numpy's format, versions
//! 1.0 to 3.0) and checked against ports, and streaming `.npy`/raw frame
//! writing.

use super::components;
use super::direct::{DirectWriter, DIRECT_ALIGN};
use super::output::OutputFile;
use crate::error::{Result, RuntimeError};
use crate::graph::PortInfo;
use ptc_plan::types::Scalar;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
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

/// Longest `.npy` header text ptc reads (numpy's own reader refuses more
/// than 10 000 bytes by default; a plain dtype's header is under 200).
pub const MAX_NPY_HEADER: usize = 64 << 10;
/// Most dimensions a `.npy` shape may have (numpy's `NPY_MAXDIMS`).
pub const MAX_NPY_DIMS: usize = 64;

/// What an `.npy` header says: `{'descr': ..., 'fortran_order': ..., 'shape': ...}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Header {
    /// The dtype descriptor, e.g. `<f4` (only plain dtypes: a string).
    pub descr: String,
    /// True for column-major data.
    pub fortran_order: bool,
    /// The array's shape (`()` is a single element).
    pub shape: Vec<u64>,
}

fn invalid(msg: impl Into<String>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg.into())
}

/// Reads an `.npy` header from the start of `r`, leaving `r` at the first
/// data byte. Versions 1.0 (u16 header length), 2.0 and 3.0 (u32) are read;
/// the header text is at most [`MAX_NPY_HEADER`] bytes (a 60-byte file once
/// claimed a 4 GiB header, which the reader allocated whole) and is parsed
/// by [`parse_header`] in one pass, without backtracking or recursion.
pub(super) fn read_header(r: &mut impl std::io::Read) -> std::io::Result<Header> {
    use std::io::{Error, ErrorKind, Read};
    let mut pre = [0u8; 12];
    let mut got = 0;
    while got < 8 {
        match r.read(&mut pre[got..8]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    if got < 8 || &pre[..6] != b"\x93NUMPY" {
        return Err(invalid("magic not found for NPY file"));
    }
    let pre_len = match (pre[6], pre[7]) {
        (1, 0) => 10,
        (2, 0) | (3, 0) => 12,
        (major, minor) => {
            return Err(invalid(format!(
                "unsupported .npy version {major}.{minor}; ptc reads 1.0, 2.0 and 3.0"
            )))
        }
    };
    r.read_exact(&mut pre[8..pre_len]).map_err(|e| {
        if e.kind() == ErrorKind::UnexpectedEof {
            Error::new(e.kind(), "the file ends before its header length")
        } else {
            e
        }
    })?;
    let len = if pre_len == 10 {
        usize::from(u16::from_le_bytes([pre[8], pre[9]]))
    } else {
        let n = u32::from_le_bytes([pre[8], pre[9], pre[10], pre[11]]);
        usize::try_from(n).unwrap_or(usize::MAX)
    };
    if len > MAX_NPY_HEADER {
        return Err(invalid(format!(
            "its header claims {len} bytes; ptc reads headers of at most {MAX_NPY_HEADER}"
        )));
    }
    let mut text = Vec::with_capacity(len);
    r.take(len as u64).read_to_end(&mut text)?;
    if text.len() < len {
        return Err(Error::new(
            ErrorKind::UnexpectedEof,
            format!("the file ends inside its {len}-byte header"),
        ));
    }
    parse_header(&text).map_err(|e| invalid(format!("header: {e}")))
}

/// Parses `.npy` header text: a Python dict literal with exactly the keys
/// `'descr'` (a string), `'fortran_order'` (`True` or `False`) and
/// `'shape'` (a tuple of non-negative integers), in any order, quoted with
/// `'` or `"`, with an optional trailing comma; whitespace (numpy pads with
/// spaces and ends with `\n`) around any token. Anything else — structured
/// dtypes, other keys, nested values, escapes in strings — is an error
/// naming what was found and where. One pass over the bytes: linear time,
/// constant depth.
pub(super) fn parse_header(text: &[u8]) -> std::result::Result<Header, String> {
    let mut p = Parser { s: text, i: 0 };
    let mut descr = None;
    let mut fortran_order = None;
    let mut shape = None;
    p.ws();
    p.expect(b'{', "the header to start with `{` (a Python dict)")?;
    loop {
        p.ws();
        if p.eat(b'}') {
            break;
        }
        let at = p.i;
        let key = match p.peek() {
            Some(b'\'' | b'"') => p.string("a key")?,
            _ => return Err(p.unexpected("a key ('descr', 'fortran_order' or 'shape') or `}`")),
        };
        p.ws();
        p.expect(b':', &format!("`:` after the key '{key}'"))?;
        p.ws();
        let slot_taken = match key {
            "descr" => {
                let d = p.descr()?;
                descr.replace(d).is_some()
            }
            "fortran_order" => {
                let f = p.boolean()?;
                fortran_order.replace(f).is_some()
            }
            "shape" => {
                let s = p.shape()?;
                shape.replace(s).is_some()
            }
            other => {
                return Err(format!(
                    "unknown key '{}' at offset {at}; an .npy header has exactly \
                     'descr', 'fortran_order' and 'shape'",
                    other.escape_debug()
                ))
            }
        };
        if slot_taken {
            return Err(format!("the key '{key}' appears twice (at offset {at})"));
        }
        p.ws();
        if p.eat(b'}') {
            break;
        }
        p.expect(b',', &format!("`,` or `}}` after the value of '{key}'"))?;
    }
    p.ws();
    if p.i < p.s.len() {
        return Err(p.unexpected("only spaces and a newline after the dict"));
    }
    let missing = |k: &str| format!("the key '{k}' is missing");
    Ok(Header {
        descr: descr.ok_or_else(|| missing("descr"))?,
        fortran_order: fortran_order.ok_or_else(|| missing("fortran_order"))?,
        shape: shape.ok_or_else(|| missing("shape"))?,
    })
}

/// A cursor over header text; every method moves forward only.
struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.i += 1;
        }
        hit
    }

    /// Skips Python whitespace (a dict literal may span lines).
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n' | b'\x0c')) {
            self.i += 1;
        }
    }

    /// "expected X, found Y at offset N".
    fn unexpected(&self, wanted: &str) -> String {
        let found = match self.peek() {
            None => return format!("expected {wanted}, found the end of the header"),
            Some(c @ b'!'..=b'~') => format!("`{}`", char::from(c)),
            Some(b' ') => "a space".into(),
            Some(c) => format!("byte {c:#04x}"),
        };
        format!("expected {wanted}, found {found} at offset {}", self.i)
    }

    fn expect(&mut self, c: u8, wanted: &str) -> std::result::Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.unexpected(wanted))
        }
    }

    /// A string literal in `'` or `"` without escapes, on one line.
    fn string(&mut self, what: &str) -> std::result::Result<&'a str, String> {
        let start = self.i;
        let Some(q @ (b'\'' | b'"')) = self.peek() else {
            return Err(self.unexpected(what));
        };
        self.i += 1;
        let body = self.i;
        loop {
            match self.peek() {
                Some(c) if c == q => break,
                Some(b'\\') => {
                    return Err(format!(
                        "{what} at offset {start} holds a `\\` escape, which ptc does not read"
                    ))
                }
                None | Some(b'\n' | b'\r') => {
                    return Err(format!("{what} at offset {start} is not closed"))
                }
                Some(_) => self.i += 1,
            }
        }
        let s = std::str::from_utf8(&self.s[body..self.i])
            .map_err(|_| format!("{what} at offset {start} is not UTF-8"))?;
        self.i += 1;
        Ok(s)
    }

    fn descr(&mut self) -> std::result::Result<String, String> {
        match self.peek() {
            Some(b'\'' | b'"') => Ok(self.string("'descr'")?.to_string()),
            Some(b'[' | b'(' | b'{') => Err(format!(
                "'descr' at offset {} is a list, tuple or dict: structured and subarray \
                 dtypes are not supported; ptc reads plain dtypes (<f4, <u4, <i4, <u2, |u1)",
                self.i
            )),
            _ => Err(self.unexpected("a string as 'descr' (such as '<f4')")),
        }
    }

    fn boolean(&mut self) -> std::result::Result<bool, String> {
        let rest = &self.s[self.i..];
        let word_len = rest
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
            .count();
        let v = match &rest[..word_len] {
            b"True" => true,
            b"False" => false,
            _ => return Err(self.unexpected("`True` or `False` as 'fortran_order'")),
        };
        self.i += word_len;
        Ok(v)
    }

    fn shape(&mut self) -> std::result::Result<Vec<u64>, String> {
        const WANT: &str = "a tuple of non-negative integers as 'shape' (such as (2, 3) or (5,))";
        let start = self.i;
        self.expect(b'(', WANT)?;
        let mut dims = Vec::new();
        loop {
            self.ws();
            if self.eat(b')') {
                break;
            }
            if dims.len() == MAX_NPY_DIMS {
                return Err(format!(
                    "'shape' at offset {start} has more than {MAX_NPY_DIMS} dimensions"
                ));
            }
            dims.push(self.dim()?);
            self.ws();
            if self.eat(b')') {
                if dims.len() == 1 {
                    // `(5)` is the integer 5 in Python, not a tuple.
                    return Err(format!(
                        "'shape' at offset {start} is ({0}), the integer {0}, \
                         not a tuple: a 1-d shape is written ({0},)",
                        dims[0]
                    ));
                }
                break;
            }
            self.expect(b',', "`,` or `)` in 'shape'")?;
        }
        Ok(dims)
    }

    /// A non-negative decimal integer as Python writes it (no leading zeros).
    fn dim(&mut self) -> std::result::Result<u64, String> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            return Err(format!(
                "'shape' has a negative dimension at offset {start}"
            ));
        }
        let digits = self.s[start..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if digits == 0 {
            return Err(self.unexpected("a non-negative integer in 'shape'"));
        }
        let text = &self.s[start..start + digits];
        if digits > 1 && text[0] == b'0' {
            return Err(format!(
                "'shape' has a dimension with a leading zero at offset {start}"
            ));
        }
        self.i += digits;
        text.iter()
            .try_fold(0u64, |n, &d| {
                n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
            })
            .ok_or_else(|| {
                format!(
                    "'shape' has a dimension at offset {start} larger than {}",
                    u64::MAX
                )
            })
    }
}

/// Checks a header against the port; returns the number of frames.
pub(super) fn check_header(h: &Header, port: &PortInfo, path: &Path) -> Result<u64> {
    let want = npy_dtype_and_shape(port)?;
    let bad = |why: String| RuntimeError::WrongType {
        port: port.name.clone(),
        why: format!("`{}`: {why}", path.display()),
    };
    let same = h.descr == want.descr
        // `<u1` and `|u1` mean the same thing.
        || (port.ty.elem.scalar() == Some(Scalar::U8) && matches!(h.descr.as_str(), "<u1" | "|u1"));
    if !same {
        let mut shown: String = h.descr.escape_debug().take(40).collect();
        if shown.len() < h.descr.escape_debug().count() {
            shown.push_str("...");
        }
        return Err(bad(format!(
            "dtype is '{shown}' but the port is {} (expected {})",
            port.ty, want.descr
        )));
    }
    if h.fortran_order {
        return Err(bad("Fortran-ordered arrays are not supported".into()));
    }
    let shape = h.shape.as_slice();
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
    /// Large frames straight from their memory to the disk (`O_DIRECT`,
    /// see [`super::direct`]); the `.npy` header, if any, fills the first
    /// [`DIRECT_ALIGN`] bytes at the end.
    Unbuffered { out: OutputFile, w: DirectWriter },
    /// Through a buffer into the output (raw, or `.npy` on a seekable file).
    Buffered(BufWriter<OutputFile>),
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
    pub(super) fn new(mut out: OutputFile, port: &PortInfo, npy: bool) -> Result<FrameWriter> {
        let shown = out.path().to_path_buf();
        let err = |e: std::io::Error| {
            RuntimeError::Io(format!("cannot write `{}`: {e}", shown.display()))
        };
        let info = if npy {
            Some(npy_dtype_and_shape(port)?)
        } else {
            None
        };
        let direct = if out.seekable() {
            let start = if npy { DIRECT_ALIGN as u64 } else { 0 };
            let frame = usize::try_from(port.bytes).unwrap_or(usize::MAX);
            DirectWriter::try_new(out.file(), start, frame)
        } else {
            None
        };
        let npy = info.map(|info| {
            let len = if direct.is_some() {
                DIRECT_ALIGN
            } else {
                let mut widest = vec![u64::MAX];
                widest.extend(&info.shape);
                header(info.descr, &widest, None).len()
            };
            (info, len)
        });
        let body = match (&npy, direct) {
            (_, Some(w)) => Body::Unbuffered { out, w },
            (Some((_, len)), None) if out.seekable() => {
                let mut w = BufWriter::with_capacity(1 << 20, out);
                // Placeholder: rewritten with the frame count by `finish`.
                w.write_all(&vec![b' '; *len]).map_err(err)?;
                Body::Buffered(w)
            }
            (Some(_), None) => Body::Spooled {
                spool: BufWriter::with_capacity(1 << 20, tempfile::tempfile().map_err(err)?),
                out,
            },
            (None, None) => Body::Buffered(BufWriter::with_capacity(1 << 20, out)),
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
            Some(Body::Unbuffered { out, w }) => w.write_frame(out.file(), bytes),
            Some(Body::Buffered(w)) => w.write_all(bytes),
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
            Body::Unbuffered { mut out, mut w } => {
                let end = w.end();
                w.stop_direct(out.file())
                    .and_then(|()| match &final_header {
                        Some(h) => out.file().write_all_at(h, 0),
                        None => Ok(()),
                    })
                    // Leave the file position after the last frame, as
                    // buffered writes would.
                    .and_then(|()| out.file().seek(SeekFrom::Start(end)).map(drop))
                    .map_err(|e| self.err(e))?;
                out
            }
            Body::Buffered(w) => {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> std::result::Result<Header, String> {
        parse_header(text.as_bytes())
    }

    fn ok(text: &str) -> Header {
        parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    fn err(text: &str) -> String {
        match parse(text) {
            Ok(h) => panic!("{text:?} parsed as {h:?}"),
            Err(e) => e,
        }
    }

    fn h(descr: &str, shape: &[u64]) -> Header {
        Header {
            descr: descr.into(),
            fortran_order: false,
            shape: shape.to_vec(),
        }
    }

    fn read(bytes: &[u8]) -> std::io::Result<(Header, usize)> {
        let mut r = bytes;
        let h = read_header(&mut r)?;
        Ok((h, bytes.len() - r.len()))
    }

    /// Files as numpy 2.4 writes them: `np.save` (version 1.0) and
    /// `np.lib.format.write_array(..., version=(2, 0) / (3, 0))`, up to the
    /// data; numpy pads for growth, then to 64 bytes.
    const NUMPY: [(&[u8], &str, &[u64]); 6] = [
        (b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }                                                          \n", "<f4", &[3, 4]),
        (b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (), }                                                              \n", "<f4", &[]),
        (b"\x93NUMPY\x01\x00v\x00{'descr': '|u1', 'fortran_order': False, 'shape': (5,), }                                                            \n", "|u1", &[5]),
        (b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4), }                                                          \n", "<f4", &[0, 4]),
        (b"\x93NUMPY\x02\x00t\x00\x00\x00{'descr': '<u2', 'fortran_order': False, 'shape': (2, 3), }                                                        \n", "<u2", &[2, 3]),
        (b"\x93NUMPY\x03\x00t\x00\x00\x00{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }                                                        \n", "<i4", &[2, 3]),
    ];

    #[test]
    fn reads_what_numpy_writes() {
        for (file, descr, shape) in NUMPY {
            let mut with_data = file.to_vec();
            with_data.extend_from_slice(b"DATA");
            let (got, used) = read(&with_data).unwrap();
            assert_eq!(got, h(descr, shape));
            assert_eq!(used, 128, "stops at the data");
        }
    }

    #[test]
    fn quotes_key_order_commas_and_whitespace() {
        let want = h("<f4", &[2, 3]);
        for text in [
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
            r#"{"descr": "<f4", "fortran_order": False, "shape": (2, 3)}"#,
            "{'shape': (2, 3), 'descr': '<f4', 'fortran_order': False}",
            "{'fortran_order': False, 'shape': (2,3,), \"descr\": '<f4',}",
            "  {\n\t'descr' :'<f4' ,\r\n 'fortran_order':False,'shape':( 2 , 3 )}   \n",
        ] {
            assert_eq!(ok(text), want, "{text:?}");
        }
        assert_eq!(
            ok("{'descr': '>f8', 'fortran_order': True, 'shape': ()}"),
            Header {
                descr: ">f8".into(),
                fortran_order: true,
                shape: vec![]
            }
        );
        assert_eq!(
            ok("{'descr':'<u4','fortran_order':False,'shape':(0, 18446744073709551615)}").shape,
            [0, u64::MAX]
        );
        let max = format!(
            "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}), }}",
            "1, ".repeat(MAX_NPY_DIMS)
        );
        assert_eq!(ok(&max).shape.len(), MAX_NPY_DIMS);
    }

    #[test]
    fn malformed_headers_say_what_is_wrong() {
        let cases: &[(&str, &str)] = &[
            ("", "expected the header to start with `{` (a Python dict), found the end"),
            ("[1]", "expected the header to start with `{`"),
            ("{'descr': '<f4', 'fortran_order': False}", "the key 'shape' is missing"),
            ("{'shape': (), 'fortran_order': False}", "the key 'descr' is missing"),
            ("{'descr': '<f4', 'shape': ()}", "the key 'fortran_order' is missing"),
            ("{}", "the key 'descr' is missing"),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': (), 'extra': 1}",
                "unknown key 'extra' at offset 54; an .npy header has exactly",
            ),
            (
                "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': ()}",
                "the key 'descr' appears twice (at offset 17)",
            ),
            ("{descr: '<f4'}", "expected a key ('descr', 'fortran_order' or 'shape') or `}`, found `d` at offset 1"),
            ("{1: 2}", "found `1` at offset 1"),
            (
                "{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': ()}",
                "'descr' at offset 10 is a list, tuple or dict: structured and subarray dtypes are not supported",
            ),
            ("{'descr': ('<i4', (2,)), 'fortran_order': False, 'shape': ()}", "subarray dtypes"),
            ("{'descr': 4, 'fortran_order': False, 'shape': ()}", "expected a string as 'descr' (such as '<f4'), found `4`"),
            ("{'descr': '<f4, 'fortran_order': False, 'shape': ()}", "expected `,` or `}` after the value of 'descr', found `f` at offset 17"),
            (
                "{'descr': '<f4\", 'fortran_order': False, 'shape': ()}",
                "after the value of 'descr', found `f` at offset 18",
            ),
            ("{'descr': '<f4", "'descr' at offset 10 is not closed"),
            ("{'descr': '<f\\x34'}", "'descr' at offset 10 holds a `\\` escape"),
            ("{'descr': b'<f4'}", "expected a string as 'descr' (such as '<f4'), found `b`"),
            ("{'descr' '<f4'}", "expected `:` after the key 'descr', found `'` at offset 9"),
            ("{'fortran_order': false}", "expected `True` or `False` as 'fortran_order', found `f`"),
            ("{'fortran_order': 0}", "`True` or `False`"),
            ("{'fortran_order': Falsey}", "`True` or `False`"),
            ("{'fortran_order': None}", "`True` or `False`"),
            ("{'shape': [2, 3]}", "expected a tuple of non-negative integers as 'shape' (such as (2, 3) or (5,)), found `[`"),
            ("{'shape': 5}", "as 'shape'"),
            ("{'shape': (5)}", "'shape' at offset 10 is (5), the integer 5, not a tuple: a 1-d shape is written (5,)"),
            ("{'shape': (2, -3)}", "'shape' has a negative dimension at offset 14"),
            ("{'shape': (2, 03)}", "leading zero at offset 14"),
            ("{'shape': (2., 3)}", "expected `,` or `)` in 'shape', found `.`"),
            ("{'shape': (2L, 3)}", "found `L`"),
            ("{'shape': (2 3)}", "expected `,` or `)` in 'shape', found `3`"),
            ("{'shape': (2,,)}", "expected a non-negative integer in 'shape', found `,`"),
            ("{'shape': (,)}", "expected a non-negative integer in 'shape', found `,`"),
            ("{'shape': ((2,),)}", "expected a non-negative integer in 'shape', found `(`"),
            ("{'shape': (2, 3", "expected `,` or `)` in 'shape', found the end of the header"),
            ("{'shape': (18446744073709551616,)}", "larger than 18446744073709551615"),
            (
                "{'descr': '<f4', 'fortran_order': False, 'shape': ()} x",
                "expected only spaces and a newline after the dict, found `x` at offset 54",
            ),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': ()}\0", "found byte 0x00"),
            ("{'descr': '<f4' 'fortran_order': False}", "expected `,` or `}` after the value of 'descr', found `'`"),
            ("{'descr': '<f4',, 'shape': ()}", "found `,` at offset 16"),
        ];
        let wrong: Vec<String> = cases
            .iter()
            .map(|(text, want)| (text, want, err(text)))
            .filter(|(_, want, e)| !e.contains(*want))
            .map(|(text, _, e)| format!("{text:?}: {e}"))
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
        let too_many = format!("{{'shape': ({})}}", "1, ".repeat(MAX_NPY_DIMS + 1));
        assert!(err(&too_many).contains("has more than 64 dimensions"));
        // Not UTF-8 inside a string.
        let e = parse_header(b"{'descr': '\xff'}").err().unwrap_or_default();
        assert!(e.contains("'descr' at offset 10 is not UTF-8"), "{e}");
    }

    #[test]
    fn preamble_errors() {
        let e = |b: &[u8]| read(b).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(e(b""), "magic not found for NPY file");
        assert_eq!(e(b"\x93NUMP"), "magic not found for NPY file");
        assert_eq!(e(b"PK\x03\x04 a zip"), "magic not found for NPY file");
        assert_eq!(
            e(b"\x93NUMPY\x04\x00\x10\x00"),
            "unsupported .npy version 4.0; ptc reads 1.0, 2.0 and 3.0"
        );
        assert!(e(b"\x93NUMPY\x01\x01\x10\x00").contains("version 1.1"));
        assert_eq!(
            e(b"\x93NUMPY\x01\x00\x10"),
            "the file ends before its header length"
        );
        assert_eq!(
            e(b"\x93NUMPY\x02\x00\x10\x00\x00"),
            "the file ends before its header length"
        );
        assert_eq!(
            e(b"\x93NUMPY\x01\x00\x10\x00{}"),
            "the file ends inside its 16-byte header"
        );
        assert_eq!(
            e(b"\x93NUMPY\x03\x00\x01\x00\x01\x00"),
            "its header claims 65537 bytes; ptc reads headers of at most 65536"
        );
        assert!(e(b"\x93NUMPY\x01\x00\x02\x00{\n").starts_with("header: expected a key"));
    }

    #[test]
    fn deep_brackets_fail_at_the_first_bracket() {
        // npyz's parser backtracked exponentially in unclosed brackets;
        // this one stops where a value cannot start.
        for (open, at) in [("(", 11), ("[", 10), ("{", 10)] {
            let text = format!("{{'shape': {}", open.repeat(60_000));
            let t = std::time::Instant::now();
            let e = err(&text);
            assert!(e.contains(&format!("found `{open}` at offset {at}")), "{e}");
            assert!(t.elapsed() < std::time::Duration::from_secs(1));
        }
        // A long but flat header is one pass too.
        let text = format!(
            "{{'descr': '{}', 'fortran_order': False, 'shape': (), }}{}",
            "f".repeat(30_000),
            " ".repeat(30_000)
        );
        assert_eq!(ok(&text).descr.len(), 30_000);
    }

    #[test]
    fn the_writer_header_reads_back() {
        for shape in [&[][..], &[7], &[3, 4], &[u64::MAX, 2, 4]] {
            let bytes = header("<f4", shape, None);
            assert_eq!(bytes.len() % 64, 0);
            let (got, used) = read(&bytes).unwrap();
            assert_eq!(got, h("<f4", shape));
            assert_eq!(used, bytes.len());
        }
        // Padded to a reserved length (the frame count is patched in later).
        let wide = header("|u1", &[u64::MAX, 5], None).len();
        let bytes = header("|u1", &[2, 5], Some(wide));
        assert_eq!(bytes.len(), wide);
        assert_eq!(read(&bytes).unwrap().0, h("|u1", &[2, 5]));
        // Byte for byte what numpy writes (its growth padding for the
        // first axis fits in the same 64 bytes here).
        for (file, descr, shape) in &NUMPY[..4] {
            assert_eq!(header(descr, shape, None), *file);
        }
    }
}
