//! The checker behind `ptc check --skip-kernels` (parse, resolve, types,
//! channels, cycles, warnings) and every diagnostics renderer over its
//! report: what a user sees for any text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ptc_compiler::diag::{render, sarif};
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let opts = ptc_compiler::Options {
        kernel_paths: Vec::new(),
        skip_kernels: true,
        sets: Vec::new(),
    };
    let path = Path::new("fuzz.pt");
    let r = ptc_compiler::check_source(path, text.to_string(), &opts);
    let d = &r.diagnostics;
    let human = render::human(path, &r.source, d, &render::HumanStyle::default());
    assert!(d.is_empty() || !human.is_empty());
    let json = render::json(path, &r.source, d);
    assert_eq!(json.lines().count(), d.len());
    for line in json.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("each JSON line parses");
    }
    let _ = render::github(path, &r.source, d);
    let _ = sarif::render(&[(path, r.source.as_str(), d.as_slice())]);
    if let Some(m) = &r.module {
        let _ = ptc_compiler::dot::to_dot(m);
    }
});
