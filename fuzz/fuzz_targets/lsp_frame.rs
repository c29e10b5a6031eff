//! `ptc lsp`'s transport: Content-Length framing and JSON-RPC decoding,
//! the very file the server uses (`src/lsp/framing.rs`), over any stream.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../src/lsp/framing.rs"]
#[allow(dead_code)]
mod framing;

fuzz_target!(|data: &[u8]| {
    let mut r = std::io::Cursor::new(data);
    // Every frame costs at least its header's bytes: the loop ends.
    while let Ok(Some(body)) = framing::read_frame(&mut r) {
        assert!(body.len() <= framing::MAX_BODY);
        let _ = framing::parse_body(&body);
    }
});
