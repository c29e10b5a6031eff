//! The `.pt` front end: pest grammar, error recovery, AST building.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // `ptc check` refuses non-UTF-8 files before parsing (`ptc::not_text`).
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = ptc_compiler::front::parse(text);
    }
});
