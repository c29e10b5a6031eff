//! Property test: random mutations of the shipped graphs (byte deletions,
//! insertions, swaps, token shuffles, multibyte characters) never panic the
//! checker or the renderers, never produce an I/O-class diagnostic, and every
//! diagnostic span lies inside the file on character boundaries.

use proptest::prelude::*;
use ptc_compiler::diag::render::{github, human, json, HumanStyle};
use ptc_compiler::diag::Code;
use ptc_compiler::{check_source, Options};
use std::path::{Path, PathBuf};

fn shipped() -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../graphs");
    let mut out = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().and_then(|e| e.to_str()) == Some("pt") {
                let text = std::fs::read_to_string(&p).unwrap();
                out.push((p, text));
            }
        }
    }
    out.sort();
    out
}

/// Fragments worth inserting: tokens of the language and awkward text.
const FRAGMENTS: &[&str] = &[
    ";",
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    "<",
    ">",
    "->",
    ".",
    ",",
    ":",
    "=",
    "\"",
    "/*",
    "*/",
    "//",
    "\n",
    "\r\n",
    "ptask",
    "in",
    "out",
    "sticky",
    "param",
    "input",
    "output",
    "graph",
    "struct",
    "kernel",
    "grid",
    "priority",
    "from",
    "to",
    "f32",
    "u8",
    "vec4<f32>",
    "vec9",
    "0",
    "-1",
    "1e40",
    "99999999999999999999999",
    "é",
    "日本",
    "🚀",
    "\u{FEFF}",
    "\0",
    "x -> y;",
];

#[derive(Clone, Debug)]
enum Mutation {
    Delete { at: usize, len: usize },
    Insert { at: usize, frag: usize },
    SwapBytes { a: usize, b: usize },
    SwapTokens { a: usize, b: usize },
    Duplicate { at: usize, len: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1usize..12).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<usize>(), 0..FRAGMENTS.len()).prop_map(|(at, frag)| Mutation::Insert { at, frag }),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapBytes { a, b }),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapTokens { a, b }),
        (any::<usize>(), 1usize..200).prop_map(|(at, len)| Mutation::Duplicate { at, len }),
    ]
}

fn apply(text: &str, muts: &[Mutation]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for m in muts {
        let n = bytes.len().max(1);
        match *m {
            Mutation::Delete { at, len } => {
                let at = at % n;
                let end = (at + len).min(bytes.len());
                if at < end {
                    bytes.drain(at..end);
                }
            }
            Mutation::Insert { at, frag } => {
                let at = at % (bytes.len() + 1);
                bytes.splice(at..at, FRAGMENTS[frag].bytes());
            }
            Mutation::SwapBytes { a, b } => {
                if !bytes.is_empty() {
                    let (a, b) = (a % bytes.len(), b % bytes.len());
                    bytes.swap(a, b);
                }
            }
            Mutation::SwapTokens { a, b } => {
                let s = String::from_utf8_lossy(&bytes).into_owned();
                let mut toks: Vec<&str> = s.split(' ').collect();
                if toks.len() > 1 {
                    let (a, b) = (a % toks.len(), b % toks.len());
                    toks.swap(a, b);
                }
                bytes = toks.join(" ").into_bytes();
            }
            Mutation::Duplicate { at, len } => {
                let at = at % n;
                let end = (at + len).min(bytes.len());
                if at < end {
                    let chunk = bytes[at..end].to_vec();
                    bytes.splice(end..end, chunk);
                }
            }
        }
    }
    // A byte swap may split a multibyte character: the checker takes text.
    String::from_utf8_lossy(&bytes).into_owned()
}

fn check_invariants(path: &Path, text: String, opts: &Options) -> Result<(), TestCaseError> {
    let r = check_source(path, text, opts);
    let len = r.source.len();
    for d in &r.diagnostics {
        prop_assert!(
            !matches!(d.code, Code::Io),
            "I/O-class diagnostic for in-memory text: {:?}",
            d
        );
        for l in &d.labels {
            prop_assert!(l.span.start <= l.span.end, "{:?}", d);
            prop_assert!(l.span.end <= len, "span past the end: {:?}", d);
            prop_assert!(r.source.is_char_boundary(l.span.start), "{:?}", d);
            prop_assert!(r.source.is_char_boundary(l.span.end), "{:?}", d);
        }
    }
    if let Some(m) = &r.module {
        // Every module span lies inside the file too.
        let g = &m.graph;
        let mut spans = vec![g.span, g.name.span];
        for p in &g.ports {
            spans.extend([p.span, p.name.span, p.ty_span]);
        }
        for t in &g.ptasks {
            spans.extend([t.span, t.name.span, t.kernel_span]);
            for p in &t.ports {
                spans.extend([p.span, p.name.span, p.ty_span]);
            }
        }
        for c in &g.channels {
            spans.extend([c.span, c.from_span, c.to_span]);
        }
        // (A ptask instantiated from a template in an imported file has
        // its ports' spans in that file's range of the span space.)
        for s in spans {
            let (text, local) = match r.sources.locate(s) {
                Some((f, local)) if f.origin > 0 => (f.text.as_str(), local),
                _ => (r.source.as_str(), s),
            };
            prop_assert!(local.start <= local.end && local.end <= text.len());
            prop_assert!(text.is_char_boundary(local.start) && text.is_char_boundary(local.end));
            prop_assert!(
                s.start >= len || s.end <= len,
                "a span crosses files: {:?}",
                s
            );
        }
    }
    // The renderers take any report.
    let style = HumanStyle::default();
    let _ = human(&r.path, &r.source, &r.diagnostics, &style);
    let j = json(&r.path, &r.source, &r.diagnostics);
    for line in j.lines() {
        prop_assert!(serde_json::from_str::<serde_json::Value>(line).is_ok());
    }
    let gh = github(&r.path, &r.source, &r.diagnostics);
    prop_assert_eq!(gh.lines().count(), r.diagnostics.len());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn mutated_graphs_never_panic(which in any::<usize>(), muts in prop::collection::vec(mutation(), 1..10)) {
        let graphs = shipped();
        let (path, text) = &graphs[which % graphs.len()];
        let opts = Options { skip_kernels: true, ..Options::default() };
        check_invariants(path, apply(text, &muts), &opts)?;
    }
}

proptest! {
    // With kernels compiled and reflected too (slower: fewer cases).
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn mutated_graphs_never_panic_with_kernels(which in any::<usize>(), muts in prop::collection::vec(mutation(), 1..4)) {
        let graphs = shipped();
        let (path, text) = &graphs[which % graphs.len()];
        check_invariants(path, apply(text, &muts), &Options::default())?;
    }
}
