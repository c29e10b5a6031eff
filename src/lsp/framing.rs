//! The language server's transport: `Content-Length` framed JSON-RPC
//! messages on a byte stream, every part bounded.
//!
//! Self-contained (std, `lsp-server`, `serde_json`) so that the fuzz target
//! `fuzz/fuzz_targets/lsp_frame.rs` can include this very file.

use lsp_server::{ErrorCode, Message, RequestId};
use serde_json::Value;
use std::io::{self, BufRead, Read};

/// Largest message body accepted (a `.pt` file is at most 16 MiB).
pub const MAX_BODY: usize = 64 << 20;
/// Longest header line accepted, line break included (real headers are
/// `Content-Length: N` and `Content-Type: ...`, well under 100 bytes).
pub const MAX_HEADER_LINE: usize = 1024;
/// Most header lines before the blank line that ends a header.
pub const MAX_HEADER_LINES: usize = 32;

/// What the reader thread hands to the main loop.
pub enum Incoming {
    /// A JSON-RPC message.
    Message(Message),
    /// A frame that is not a JSON-RPC message: answer with an error.
    Invalid {
        /// The request's id, if one could be read.
        id: Option<RequestId>,
        /// `ParseError` or `InvalidRequest`.
        code: ErrorCode,
        /// What is wrong with it.
        message: String,
    },
}

fn invalid(why: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why)
}

/// Reads one frame body. `Ok(None)` at a clean end of input; `Err` when the
/// header is unusable (the stream cannot be resynchronised): no
/// `Content-Length`, a bad one, a body over [`MAX_BODY`], a header line
/// over [`MAX_HEADER_LINE`] bytes (a stream without line breaks used to
/// be buffered whole) or more than [`MAX_HEADER_LINES`] lines, or the
/// input ending inside a frame.
pub fn read_frame(r: &mut impl BufRead) -> io::Result<Option<Vec<u8>>> {
    let mut length = None;
    let mut line = String::new();
    let mut lines = 0usize;
    loop {
        line.clear();
        let n = r
            .by_ref()
            .take(MAX_HEADER_LINE as u64)
            .read_line(&mut line)?;
        if n == 0 {
            return if lines > 0 {
                Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "end of input inside a header",
                ))
            } else {
                Ok(None)
            };
        }
        lines += 1;
        if !line.ends_with('\n') && n == MAX_HEADER_LINE {
            return Err(invalid(format!(
                "header line longer than {MAX_HEADER_LINE} bytes"
            )));
        }
        if lines > MAX_HEADER_LINES {
            return Err(invalid(format!(
                "header of more than {MAX_HEADER_LINES} lines"
            )));
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            break;
        }
        if let Some((name, value)) = l.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                let n: usize = value
                    .trim()
                    .parse()
                    .map_err(|_| invalid(format!("bad Content-Length: {value:?}")))?;
                length = Some(n);
            }
        }
    }
    let n = length.ok_or_else(|| invalid("header without Content-Length".into()))?;
    if n > MAX_BODY {
        return Err(invalid(format!("message of {n} bytes is too large")));
    }
    // Grows with what arrives (a header promising 64 MiB and sending
    // nothing costs nothing).
    let mut body = Vec::new();
    r.by_ref().take(n as u64).read_to_end(&mut body)?;
    if body.len() < n {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("end of input inside a body ({} of {n} bytes)", body.len()),
        ));
    }
    Ok(Some(body))
}

/// Turns a frame body into a message, or the error to answer it with.
pub fn parse_body(body: &[u8]) -> Incoming {
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return Incoming::Invalid {
                id: None,
                code: ErrorCode::ParseError,
                message: format!("invalid JSON: {e}"),
            }
        }
    };
    let id = value
        .get("id")
        .and_then(|id| serde_json::from_value::<RequestId>(id.clone()).ok());
    let well_formed = value.is_object()
        && (value.get("method").is_some_and(Value::is_string) || value.get("id").is_some());
    if !well_formed {
        return Incoming::Invalid {
            id,
            code: ErrorCode::InvalidRequest,
            message: "not a JSON-RPC request, response or notification".into(),
        };
    }
    match serde_json::from_value::<Message>(value) {
        Ok(m) => Incoming::Message(m),
        Err(e) => Incoming::Invalid {
            id,
            code: ErrorCode::InvalidRequest,
            message: format!("invalid JSON-RPC message: {e}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_parse_errors() {
        let good = br#"{"jsonrpc":"2.0","id":1,"method":"x"}"#;
        let input = [
            format!("Content-Length: {}\r\n\r\n", good.len()).into_bytes(),
            good.to_vec(),
            b"Content-Length: 5\r\n\r\n{oops".to_vec(),
            b"Content-Length: 2\r\n\r\n[]".to_vec(),
        ]
        .concat();
        let mut r = io::Cursor::new(input);
        let f1 = read_frame(&mut r).unwrap().unwrap();
        assert!(
            matches!(parse_body(&f1), Incoming::Message(Message::Request(q)) if q.method == "x")
        );
        let f2 = read_frame(&mut r).unwrap().unwrap();
        assert!(matches!(
            parse_body(&f2),
            Incoming::Invalid {
                code: ErrorCode::ParseError,
                id: None,
                ..
            }
        ));
        let f3 = read_frame(&mut r).unwrap().unwrap();
        assert!(matches!(
            parse_body(&f3),
            Incoming::Invalid {
                code: ErrorCode::InvalidRequest,
                ..
            }
        ));
        assert!(read_frame(&mut r).unwrap().is_none());
        let mut bad = io::Cursor::new(b"Content-Type: x\r\n\r\n{}".to_vec());
        assert!(read_frame(&mut bad).is_err());
    }

    /// A reader that yields `prefix`, then the byte `fill` forever, and
    /// counts what was taken from it.
    struct Endless {
        prefix: Vec<u8>,
        fill: u8,
        taken: usize,
        buf: Vec<u8>,
    }

    impl Read for Endless {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.fill_buf()?.len().min(out.len());
            out[..n].copy_from_slice(&self.buf[..n]);
            self.consume(n);
            Ok(n)
        }
    }

    impl BufRead for Endless {
        fn fill_buf(&mut self) -> io::Result<&[u8]> {
            self.buf.clear();
            let p = self.prefix.len().saturating_sub(self.taken);
            if p > 0 {
                self.buf.extend_from_slice(&self.prefix[self.taken..]);
            } else {
                self.buf.resize(4096, self.fill);
            }
            Ok(&self.buf)
        }
        fn consume(&mut self, n: usize) {
            self.taken += n;
        }
    }

    #[test]
    fn header_lines_are_bounded() {
        // A header line that never ends: refused after MAX_HEADER_LINE
        // bytes (before, read_line buffered the whole stream).
        let mut r = Endless {
            prefix: b"Content-Length: 2\r\nX-Pad: ".to_vec(),
            fill: b'a',
            taken: 0,
            buf: Vec::new(),
        };
        let e = read_frame(&mut r).unwrap_err();
        assert_eq!(e.to_string(), "header line longer than 1024 bytes");
        assert!(r.taken < 2 * MAX_HEADER_LINE, "{}", r.taken);
        // Endless short header lines: refused after MAX_HEADER_LINES.
        let mut r = io::Cursor::new(b"X: y\r\n".repeat(1000));
        let e = read_frame(&mut r).unwrap_err();
        assert_eq!(e.to_string(), "header of more than 32 lines");
        // A line of exactly the limit is still a line.
        let pad = format!("X-Pad: {}\r\n", "a".repeat(MAX_HEADER_LINE - 9));
        assert_eq!(pad.len(), MAX_HEADER_LINE);
        let mut r = io::Cursor::new(format!("{pad}Content-Length: 2\r\n\r\n{{}}").into_bytes());
        assert_eq!(read_frame(&mut r).unwrap(), Some(b"{}".to_vec()));
    }

    #[test]
    fn bodies_are_bounded_and_complete() {
        let mut r =
            io::Cursor::new(format!("Content-Length: {}\r\n\r\n", MAX_BODY + 1).into_bytes());
        assert!(read_frame(&mut r)
            .unwrap_err()
            .to_string()
            .contains("too large"));
        // A body cut short is an error, not a frame.
        let mut r = io::Cursor::new(b"Content-Length: 10\r\n\r\n{}".to_vec());
        let e = read_frame(&mut r).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(e.to_string(), "end of input inside a body (2 of 10 bytes)");
    }
}
