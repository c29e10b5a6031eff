//! ptc's SARIF output validated against the vendored SARIF 2.1.0 JSON schema.

use ptc_compiler::diag::{sarif, Code, Diagnostic, Related};
use ptc_compiler::ir::Span;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn validator() -> jsonschema::Validator {
    let text = include_str!("../data/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_str(text).expect("vendored schema is JSON");
    jsonschema::draft4::new(&schema).expect("vendored schema compiles")
}

fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// One diagnostic of every code, with every shape of location: primary and
/// secondary labels, a related kernel location, no label at all, spans over
/// multi-byte characters and past the end of the text.
fn every_code(src: &str) -> Vec<Diagnostic> {
    Code::ALL
        .iter()
        .enumerate()
        .map(|(i, code)| {
            let d = Diagnostic::new(*code, format!("message for {}", code.as_str()));
            match i % 4 {
                0 => d.primary(Span::new(0, 5), "here"),
                1 => d
                    .primary(Span::new(10, 20), "")
                    .secondary(Span::new(2, 4), "declared here")
                    .help("do this instead"),
                2 => d
                    .primary(Span::new(src.len() - 3, src.len() + 10), "at the end")
                    .related(Related {
                        file: PathBuf::from("kernels/xform.comp"),
                        line: 12,
                        column: 7,
                        message: "binding 0 is writable".into(),
                    }),
                _ => d,
            }
        })
        .collect()
}

#[test]
fn sarif_for_every_code_is_valid_sarif_2_1_0() {
    let src = "// ünïcödé 𝄞\ngraph g {\n  x -> y;\n}\n";
    let diags = every_code(src);
    let empty: Vec<Diagnostic> = Vec::new();
    let out = sarif::render(&[
        (Path::new("graphs/a b.pt"), src, &diags),
        (Path::new("/abs/clean.pt"), "", &empty),
    ]);
    let doc: Value = serde_json::from_str(&out).expect("SARIF output is JSON");
    let v = validator();
    assert_eq!(errors(&v, &doc), Vec::<String>::new());
    let results = doc["runs"][0]["results"].as_array().expect("results array");
    assert_eq!(results.len(), Code::ALL.len());
    assert_eq!(
        doc["runs"][0]["artifacts"][1]["location"]["uri"],
        "file:///abs/clean.pt"
    );
}

#[test]
fn empty_log_is_valid() {
    let doc: Value = serde_json::from_str(&sarif::render(&[])).expect("JSON");
    assert_eq!(errors(&validator(), &doc), Vec::<String>::new());
    assert_eq!(doc["runs"][0]["results"], Value::Array(vec![]));
}

#[test]
fn validator_rejects_broken_sarif() {
    // The check above is only worth something if the schema bites: a wrong
    // level, a zero line and a missing message must all be rejected.
    let src = "graph g {}\n";
    let diags = vec![Diagnostic::new(Code::Syntax, "bad").primary(Span::new(0, 5), "")];
    let mut doc: Value =
        serde_json::from_str(&sarif::render(&[(Path::new("g.pt"), src, &diags)])).expect("JSON");
    let v = validator();
    assert!(errors(&v, &doc).is_empty());
    doc["runs"][0]["results"][0]["level"] = Value::from("fatal");
    assert!(!errors(&v, &doc).is_empty());
    doc["runs"][0]["results"][0]["level"] = Value::from("error");
    doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        Value::from(0);
    assert!(!errors(&v, &doc).is_empty());
    doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        Value::from(1);
    if let Some(r) = doc["runs"][0]["results"][0].as_object_mut() {
        r.remove("message");
    }
    assert!(!errors(&v, &doc).is_empty());
}
