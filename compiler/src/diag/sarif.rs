//! SARIF 2.1.0 renderer: every checked file's diagnostics as one SARIF log
//! (one run of the `ptc` tool), for GitHub code scanning and other SARIF
//! viewers.
//!
//! - `tool.driver` lists one rule per [`Code`] (id = the stable code string,
//!   help = [`Code::description`]), so `ruleIndex` is the code's position in
//!   [`Code::ALL`].
//! - Each result has `ruleId`, `level` (`error`/`warning`), the message (with
//!   the diagnostic's help appended as a `help:` line), and the primary
//!   label's region. Secondary labels and [`Related`](super::Related)
//!   locations (kernel sources) become `relatedLocations`.
//! - Regions are 1-based; columns count UTF-16 code units (declared with
//!   `columnKind: utf16CodeUnits`), `endColumn` is the column just past the
//!   region, as SARIF specifies.
//! - Artifact URIs are the paths as given, with `/` separators and
//!   percent-encoding; relative paths stay relative (GitHub resolves them
//!   against the repository root), absolute paths become `file://` URIs.

use super::render::TextCounts;
use super::{Code, Diagnostic, Severity};
use crate::ir::Span;
use serde_json::{json, Map, Value};
use std::path::Path;

/// The `$schema` URI written into every log.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Renders the diagnostics of several files as one SARIF 2.1.0 log (pretty
/// JSON). Each entry is (path as given, its source text, its diagnostics);
/// spans are resolved against that source.
pub fn render(reports: &[(&Path, &str, &[Diagnostic])]) -> String {
    let rules: Vec<Value> = Code::ALL.iter().map(|c| rule(*c)).collect();
    let mut artifacts = Vec::new();
    let mut results = Vec::new();
    for (index, (path, source, diagnostics)) in reports.iter().enumerate() {
        let uri = path_to_uri(path);
        artifacts.push(json!({ "location": { "uri": uri } }));
        let lines = LineStarts::new(source);
        for d in diagnostics.iter() {
            results.push(result(d, &uri, index, source, &lines));
        }
    }
    let log = json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "ptc",
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            "columnKind": "utf16CodeUnits",
            "artifacts": artifacts,
            "results": results,
        }]
    });
    // Serialising a `serde_json::Value` cannot fail (all keys are strings).
    serde_json::to_string_pretty(&log).unwrap_or_default()
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn rule(code: Code) -> Value {
    let id = code.as_str();
    let name = id.strip_prefix("ptc::").unwrap_or(id);
    json!({
        "id": id,
        "name": name,
        "shortDescription": { "text": code.description() },
        "fullDescription": { "text": code.description() },
        "help": { "text": code.description() },
        "defaultConfiguration": { "level": level(code.severity()) },
    })
}

fn result(d: &Diagnostic, uri: &str, artifact: usize, source: &str, lines: &LineStarts) -> Value {
    let mut text = d.message.clone();
    if let Some(help) = &d.help {
        text.push_str("\nhelp: ");
        text.push_str(help);
    }
    let rule_index = Code::ALL.iter().position(|c| *c == d.code).unwrap_or(0);
    let artifact_location = json!({ "uri": uri, "index": artifact });

    let primary = d
        .labels
        .iter()
        .position(|l| l.primary)
        .or(if d.labels.is_empty() { None } else { Some(0) });
    let mut location = Map::new();
    let mut physical = Map::new();
    physical.insert("artifactLocation".into(), artifact_location.clone());
    if let Some(i) = primary {
        let l = &d.labels[i];
        physical.insert("region".into(), region(l.span, source, lines));
        if !l.message.is_empty() {
            location.insert("message".into(), json!({ "text": l.message }));
        }
    }
    location.insert("physicalLocation".into(), Value::Object(physical));

    let mut related = Vec::new();
    for (i, l) in d.labels.iter().enumerate() {
        if Some(i) == primary {
            continue;
        }
        let mut loc = json!({
            "id": related.len(),
            "physicalLocation": {
                "artifactLocation": artifact_location.clone(),
                "region": region(l.span, source, lines),
            }
        });
        if !l.message.is_empty() {
            loc["message"] = json!({ "text": l.message });
        }
        related.push(loc);
    }
    for r in &d.related {
        let mut region = Map::new();
        if r.line >= 1 {
            region.insert("startLine".into(), json!(r.line));
            if r.column >= 1 {
                region.insert("startColumn".into(), json!(r.column));
            }
        }
        let mut physical = json!({ "artifactLocation": { "uri": path_to_uri(&r.file) } });
        if !region.is_empty() {
            physical["region"] = Value::Object(region);
        }
        let mut loc = json!({ "id": related.len(), "physicalLocation": physical });
        if !r.message.is_empty() {
            loc["message"] = json!({ "text": r.message });
        }
        related.push(loc);
    }

    let mut out = json!({
        "ruleId": d.code.as_str(),
        "ruleIndex": rule_index,
        "level": level(d.severity),
        "message": { "text": text },
        "locations": [Value::Object(location)],
    });
    if !related.is_empty() {
        out["relatedLocations"] = Value::Array(related);
    }
    out
}

fn region(span: Span, source: &str, lines: &LineStarts) -> Value {
    let (start_line, start_col) = lines.line_col(source, span.start);
    let (end_line, end_col) = lines.line_col(source, span.end.max(span.start));
    json!({
        "startLine": start_line,
        "startColumn": start_col,
        "endLine": end_line,
        "endColumn": end_col,
    })
}

/// Byte offsets of line starts, for turning byte offsets into 1-based
/// (line, UTF-16 column) pairs (columns from [`TextCounts`], so a long line
/// costs no more than a short one).
struct LineStarts(Vec<usize>, TextCounts);

impl LineStarts {
    fn new(source: &str) -> LineStarts {
        let mut v = vec![0];
        v.extend(source.match_indices('\n').map(|(i, _)| i + 1));
        LineStarts(v, TextCounts::new(source))
    }

    /// 1-based line and UTF-16 column of byte `offset` (clamped to the text;
    /// an offset inside a multi-byte character counts as that character's start).
    fn line_col(&self, source: &str, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(source.len());
        while !source.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.0.partition_point(|&s| s <= offset) - 1;
        let start = self.0[line];
        let col = self.1.before(source, offset).1 - self.1.before(source, start).1;
        (line + 1, col + 1)
    }
}

/// A path as a SARIF artifact URI: relative paths become relative URI
/// references, absolute ones `file://` URIs; reserved characters are
/// percent-encoded.
pub fn path_to_uri(path: &Path) -> String {
    let s = path.to_string_lossy().replace('\\', "/");
    let s = s.strip_prefix("./").unwrap_or(&s);
    let mut out = String::with_capacity(s.len());
    if s.starts_with('/') {
        out.push_str("file://");
    }
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Related;
    use std::path::PathBuf;

    #[test]
    fn line_col_counts_utf16_units_and_is_1_based() {
        let src = "ab\n—x𝄞y\n";
        let lines = LineStarts::new(src);
        assert_eq!(lines.line_col(src, 0), (1, 1));
        assert_eq!(lines.line_col(src, 2), (1, 3));
        assert_eq!(lines.line_col(src, 3), (2, 1));
        // '—' is 3 bytes, 1 UTF-16 unit; '𝄞' is 4 bytes, 2 UTF-16 units.
        let y = src.find('y').unwrap();
        assert_eq!(lines.line_col(src, y), (2, 5));
        // Inside a multi-byte character: that character's start.
        assert_eq!(lines.line_col(src, 4), (2, 1));
        // Past the end: clamped.
        assert_eq!(lines.line_col(src, 999), (3, 1));
    }

    #[test]
    fn uris() {
        assert_eq!(
            path_to_uri(Path::new("graphs/gesture.pt")),
            "graphs/gesture.pt"
        );
        assert_eq!(path_to_uri(Path::new("./a b.pt")), "a%20b.pt");
        assert_eq!(path_to_uri(Path::new("/tmp/x#.pt")), "file:///tmp/x%23.pt");
    }

    #[test]
    fn result_has_rule_level_region_and_related() {
        let src = "graph g {\n  x -> y;\n}\n";
        let start = src.find("x -> y").unwrap();
        let d = Diagnostic::new(Code::TypeMismatch, "types differ")
            .primary(Span::new(start, start + 6), "this channel")
            .secondary(Span::new(0, 7), "in this graph")
            .help("convert one side")
            .related(Related {
                file: PathBuf::from("kernels/a.comp"),
                line: 3,
                column: 5,
                message: "declared here".into(),
            });
        let path = Path::new("g.pt");
        let diags = [d];
        let out: Value = serde_json::from_str(&render(&[(path, src, &diags)])).unwrap();
        let run = &out["runs"][0];
        assert_eq!(run["tool"]["driver"]["name"], "ptc");
        assert_eq!(
            run["tool"]["driver"]["rules"].as_array().unwrap().len(),
            Code::ALL.len()
        );
        let r = &run["results"][0];
        assert_eq!(r["ruleId"], "ptc::type_mismatch");
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(
            run["tool"]["driver"]["rules"][idx]["id"],
            "ptc::type_mismatch"
        );
        assert_eq!(r["level"], "error");
        assert_eq!(r["message"]["text"], "types differ\nhelp: convert one side");
        let reg = &r["locations"][0]["physicalLocation"]["region"];
        assert_eq!(
            (
                &reg["startLine"],
                &reg["startColumn"],
                &reg["endLine"],
                &reg["endColumn"]
            ),
            (&json!(2), &json!(3), &json!(2), &json!(9))
        );
        assert_eq!(r["relatedLocations"][0]["message"]["text"], "in this graph");
        assert_eq!(
            r["relatedLocations"][1]["physicalLocation"]["artifactLocation"]["uri"],
            "kernels/a.comp"
        );
        assert_eq!(
            r["relatedLocations"][1]["physicalLocation"]["region"]["startLine"],
            3
        );
    }
}
