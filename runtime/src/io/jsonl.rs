//! The JSON-lines sink for struct outputs (`to stdout`, or a `.jsonl` file).
//!
//! Each frame of a `Struct[N]` output becomes up to N lines, one per element:
//! `{"frame":12,"t_ms":400.0,"kind":"move","x":0.5,"y":0.25,"t":12}`.
//! `frame` and `t_ms` are the source frame's index and time stamp; then come
//! the struct's fields in declaration order (vectors as arrays). A struct with
//! a `kind: u32` field is treated as an event list: elements with kind 0 are
//! empty slots and are skipped. For the event struct of
//! [`super::event`] (fields `kind: u32, x: f32, y: f32, t: f32`) the kind is
//! written as its name (`move`, `press`, `release`, `swipe_left`,
//! `swipe_right`).

use super::event::{is_event_layout, EventKind};
use ptc_plan::types::{ElemType, Scalar, StructLayout};
use std::fmt::Write as _;
use std::io::{self, Write};

/// Writes struct elements as JSON lines.
#[derive(Debug)]
pub struct JsonlSink<W: Write> {
    out: W,
    layout: StructLayout,
    kind_field: Option<usize>,
    named_kinds: bool,
}

impl<W: Write> JsonlSink<W> {
    /// A sink writing elements of `layout` to `out`.
    pub fn new(out: W, layout: &StructLayout) -> JsonlSink<W> {
        let kind_field = layout
            .fields
            .iter()
            .position(|f| f.name == "kind" && f.ty == ElemType::Scalar(Scalar::U32));
        JsonlSink {
            out,
            layout: layout.clone(),
            kind_field,
            named_kinds: is_event_layout(layout),
        }
    }

    /// Writes one frame's elements (`bytes` = the whole `Struct[N]` buffer,
    /// std430); returns how many lines were written. A trailing partial
    /// element is ignored.
    pub fn write_frame(&mut self, frame: u64, t_ms: f64, bytes: &[u8]) -> io::Result<usize> {
        let stride = self.layout.size.max(1) as usize;
        let mut lines = 0;
        let mut line = String::new();
        for elem in bytes.chunks_exact(stride) {
            if let Some(k) = self.kind_field {
                if read_u32(elem, self.layout.fields[k].offset as usize) == Some(0) {
                    continue;
                }
            }
            line.clear();
            let _ = write!(line, "{{\"frame\":{frame},\"t_ms\":{}", num_f64(t_ms));
            for (i, f) in self.layout.fields.iter().enumerate() {
                let _ = write!(line, ",\"{}\":", escape(&f.name));
                let off = f.offset as usize;
                if Some(i) == self.kind_field && self.named_kinds {
                    let k = read_u32(elem, off).unwrap_or(0);
                    match EventKind::from_u32(k) {
                        EventKind::None => line.push_str(&k.to_string()),
                        named => {
                            let _ = write!(line, "\"{}\"", named.name());
                        }
                    }
                    continue;
                }
                match &f.ty {
                    ElemType::Scalar(s) => line.push_str(&scalar(elem, off, *s)),
                    ElemType::Vector { n, scalar: s } => {
                        line.push('[');
                        for j in 0..usize::from(*n) {
                            if j > 0 {
                                line.push(',');
                            }
                            line.push_str(&scalar(elem, off + j * s.size() as usize, *s));
                        }
                        line.push(']');
                    }
                    ElemType::Struct(_) => line.push_str("null"),
                }
            }
            line.push_str("}\n");
            self.out.write_all(line.as_bytes())?;
            lines += 1;
        }
        self.out.flush()?;
        Ok(lines)
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// The `to stdout` sink: struct outputs as [`JsonlSink`] lines; other
/// outputs as one line per frame, `{"frame":N,"t_ms":T,"values":[...]}`.
/// `t_ms` is the wall-clock time since the sink was opened (the run's start)
/// at which the frame's data was written.
pub struct JsonlPortSink<W: Write + Send> {
    inner: Option<JsonlSink<W>>,
    raw: Option<(W, ptc_plan::types::PortType)>,
    start: std::time::Instant,
}

impl<W: Write + Send> JsonlPortSink<W> {
    /// A sink for output `port` writing to `out`.
    pub fn new(out: W, port: &crate::PortInfo) -> JsonlPortSink<W> {
        let start = std::time::Instant::now();
        match &port.layout {
            Some(l) => JsonlPortSink {
                inner: Some(JsonlSink::new(out, l)),
                raw: None,
                start,
            },
            None => JsonlPortSink {
                inner: None,
                raw: Some((out, port.ty.clone())),
                start,
            },
        }
    }
}

impl<W: Write + Send> super::FrameSink for JsonlPortSink<W> {
    fn write_frame(&mut self, frame_index: u64, bytes: &[u8]) -> crate::Result<()> {
        let t_ms = self.start.elapsed().as_secs_f64() * 1000.0;
        let err = |e: io::Error| crate::RuntimeError::Io(format!("writing JSON lines: {e}"));
        if let Some(s) = &mut self.inner {
            s.write_frame(frame_index, t_ms, bytes).map_err(err)?;
        } else if let Some((out, ty)) = &mut self.raw {
            let s = ty.elem.scalar().unwrap_or(Scalar::U8);
            let mut line = format!(
                "{{\"frame\":{frame_index},\"t_ms\":{},\"values\":[",
                num_f64(t_ms)
            );
            for (i, c) in bytes.chunks_exact(s.size() as usize).enumerate() {
                if i > 0 {
                    line.push(',');
                }
                line.push_str(&scalar(c, 0, s));
            }
            line.push_str("]}\n");
            out.write_all(line.as_bytes())
                .and_then(|_| out.flush())
                .map_err(err)?;
        }
        Ok(())
    }
}

fn read_u32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off + 4)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn scalar(b: &[u8], off: usize, s: Scalar) -> String {
    let Some(bytes) = b.get(off..off + s.size() as usize) else {
        return "null".into();
    };
    match s {
        Scalar::U8 => bytes[0].to_string(),
        Scalar::U16 => u16::from_le_bytes([bytes[0], bytes[1]]).to_string(),
        Scalar::U32 => u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]).to_string(),
        Scalar::I32 => i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]).to_string(),
        Scalar::F32 => {
            let v = f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            // f32's Display is the shortest text that reads back exactly.
            if v.is_finite() {
                format!("{v}")
            } else {
                "null".into()
            }
        }
    }
}

fn num_f64(v: f64) -> String {
    if v.is_finite() {
        let r = (v * 1000.0).round() / 1000.0;
        format!("{r:?}")
    } else {
        "null".into()
    }
}

fn escape(s: &str) -> String {
    serde_json::to_string(s)
        .map(|q| q[1..q.len() - 1].to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event_layout() -> StructLayout {
        let f = |n: &str, s| (n.to_string(), ElemType::Scalar(s));
        StructLayout::std430(
            "Event",
            &[
                f("kind", Scalar::U32),
                f("x", Scalar::F32),
                f("y", Scalar::F32),
                f("t", Scalar::F32),
            ],
        )
        .unwrap()
    }

    fn ev(kind: u32, x: f32, y: f32, t: f32) -> Vec<u8> {
        [
            kind.to_le_bytes(),
            x.to_le_bytes(),
            y.to_le_bytes(),
            t.to_le_bytes(),
        ]
        .concat()
    }

    #[test]
    fn events_become_lines_and_empty_slots_are_skipped() {
        let mut bytes = ev(1, 0.5, 0.25, 12.0);
        bytes.extend(ev(0, 9.0, 9.0, 9.0));
        bytes.extend(ev(2, 0.5, 0.3, 12.0));
        bytes.extend(ev(7, 0.0, 0.0, 1.0));
        let mut sink = JsonlSink::new(Vec::new(), &event_layout());
        assert_eq!(sink.write_frame(12, 400.0, &bytes).unwrap(), 3);
        let text = String::from_utf8(sink.into_inner()).unwrap();
        assert_eq!(
            text,
            "{\"frame\":12,\"t_ms\":400.0,\"kind\":\"move\",\"x\":0.5,\"y\":0.25,\"t\":12}\n\
             {\"frame\":12,\"t_ms\":400.0,\"kind\":\"press\",\"x\":0.5,\"y\":0.3,\"t\":12}\n\
             {\"frame\":12,\"t_ms\":400.0,\"kind\":7,\"x\":0,\"y\":0,\"t\":1}\n"
        );
        for l in text.lines() {
            serde_json::from_str::<serde_json::Value>(l).unwrap();
        }
    }

    #[test]
    fn other_structs_print_every_field_including_vectors() {
        let l = StructLayout::std430(
            "P",
            &[
                (
                    "pos".to_string(),
                    ElemType::Vector {
                        n: 3,
                        scalar: Scalar::F32,
                    },
                ),
                ("id".to_string(), ElemType::Scalar(Scalar::I32)),
            ],
        )
        .unwrap();
        let mut b = Vec::new();
        for v in [1.0f32, 2.5, f32::NAN] {
            b.extend(v.to_le_bytes());
        }
        b.extend((-3i32).to_le_bytes());
        let mut sink = JsonlSink::new(Vec::new(), &l);
        assert_eq!(sink.write_frame(0, 33.3333, &b).unwrap(), 1);
        let text = String::from_utf8(sink.into_inner()).unwrap();
        assert_eq!(
            text,
            "{\"frame\":0,\"t_ms\":33.333,\"pos\":[1,2.5,null],\"id\":-3}\n"
        );
    }
}
