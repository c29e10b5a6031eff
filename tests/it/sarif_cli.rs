//! `ptc check --format sarif` end to end: the log validates against the
//! vendored SARIF 2.1.0 schema and carries the checker's real diagnostics.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn validate(doc: &Value) -> Vec<String> {
    let schema: Value = serde_json::from_str(include_str!(
        "../../compiler/tests/data/sarif-schema-2.1.0.json"
    ))
    .expect("schema is JSON");
    let v = jsonschema::draft4::new(&schema).expect("schema compiles");
    v.iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

fn ptc_check_sarif(files: &[PathBuf]) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_ptc"))
        .args(["check", "--format", "sarif"])
        .args(files)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run ptc");
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (out.status.code().unwrap_or(-1), doc)
}

#[test]
fn type_error_and_clean_file_in_one_valid_log() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sarif_cli");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let bad = dir.join("bad.pt");
    let text = std::fs::read_to_string("graphs/saxpy2.pt")
        .expect("read saxpy2")
        .replace("input  y: f32[", "input  y: i32[");
    std::fs::write(&bad, &text).expect("write");
    let (code, doc) = ptc_check_sarif(&[bad.clone(), PathBuf::from("graphs/gesture.pt")]);
    assert_eq!(validate(&doc), Vec::<String>::new());
    assert_eq!(code, 1, "errors found → exit 1");
    let run = &doc["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "ptc");
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), 1, "{results:#?}");
    let r = &results[0];
    assert_eq!(r["ruleId"], "ptc::type_mismatch");
    assert_eq!(r["level"], "error");
    let idx = r["ruleIndex"].as_u64().expect("ruleIndex") as usize;
    assert_eq!(
        run["tool"]["driver"]["rules"][idx]["id"],
        "ptc::type_mismatch"
    );
    let loc = &r["locations"][0]["physicalLocation"];
    assert!(
        loc["artifactLocation"]["uri"]
            .as_str()
            .expect("uri")
            .ends_with("sarif_cli/bad.pt"),
        "{loc}"
    );
    // `add.b` in `    y -> add.b;`.
    let line = text
        .lines()
        .position(|l| l.contains("y -> add.b"))
        .expect("line")
        + 1;
    assert_eq!(loc["region"]["startLine"], line);
    assert_eq!(loc["region"]["startColumn"], 10);
    assert_eq!(loc["region"]["endColumn"], 15);
    assert_eq!(run["artifacts"][1]["location"]["uri"], "graphs/gesture.pt");
}

#[test]
fn missing_file_is_exit_2_and_still_valid_sarif() {
    let (code, doc) = ptc_check_sarif(&[PathBuf::from("graphs/no_such_graph.pt")]);
    assert_eq!(code, 2);
    assert_eq!(validate(&doc), Vec::<String>::new());
    assert_eq!(doc["runs"][0]["results"][0]["ruleId"], "ptc::io");
}
