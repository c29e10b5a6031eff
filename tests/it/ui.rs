//! The diagnostic corpus: every `tests/ui/**/*.pt` is checked through the
//! real pipeline (`check_file`) and its rendered diagnostics (human format,
//! no colour, width 100) are compared with the `.out` file beside it.
//!
//! Add a case: write `tests/ui/NAME.pt`, run
//! `PTC_BLESS=1 cargo test --test ui`, review `tests/ui/NAME.out`, commit both.
//!
//! Kernel checking is off by default (the graph rules are what most cases
//! test); a case whose first line contains `ptc-test: kernels` is checked
//! with kernels compiled and reflected.

use ptc_compiler::diag::render::{human, HumanStyle};
use ptc_compiler::{check_file, Options};
use std::path::{Path, PathBuf};

fn cases(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            cases(&p, out);
        } else if p.extension().and_then(|e| e.to_str()) == Some("pt") {
            out.push(p);
        }
    }
}

/// Kernel search lists end with the ancestors of the working directory,
/// which differ between machines: collapse those lines into one.
fn redact(text: &str) -> String {
    let mut out = String::new();
    let mut in_run = false;
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("- /") {
            if !in_run {
                let indent = &line[..line.len() - t.len()];
                out.push_str(indent);
                out.push_str("- <ancestors of the working directory>\n");
            }
            in_run = true;
            continue;
        }
        in_run = false;
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Renders one case as the snapshot holds it.
fn render_case(rel: &Path) -> String {
    let first_line = std::fs::read_to_string(rel)
        .ok()
        .and_then(|s| s.lines().next().map(str::to_string))
        .unwrap_or_default();
    // `ptc-test: set NAME=VALUE ...` on the first line: `--set` overrides.
    let sets = first_line
        .split("ptc-test:")
        .nth(1)
        .map(|rest| {
            rest.split_whitespace()
                .filter_map(|w| w.split_once('='))
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default();
    let opts = Options {
        kernel_paths: Vec::new(),
        skip_kernels: !first_line.contains("ptc-test: kernels"),
        sets,
    };
    let report = check_file(rel, &opts);
    let style = HumanStyle {
        color: false,
        width: 100,
    };
    redact(&human(
        &report.path,
        &report.source,
        &report.diagnostics,
        &style,
    ))
}

#[test]
fn ui_corpus() {
    // Integration tests run in the package root; use relative paths so the
    // snapshots do not depend on where the checkout lives.
    let root = Path::new("tests/ui");
    let mut all = Vec::new();
    cases(root, &mut all);
    assert!(
        all.len() >= 40,
        "expected at least 40 ui cases, found {}",
        all.len()
    );
    let bless = std::env::var_os("PTC_BLESS").is_some();
    let mut failures = Vec::new();
    for case in &all {
        let actual = render_case(case);
        let snap = case.with_extension("out");
        if bless {
            std::fs::write(&snap, &actual).unwrap();
            continue;
        }
        match std::fs::read_to_string(&snap) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => failures.push(format!(
                "{}: output differs from {}\n--- expected\n{expected}--- actual\n{actual}",
                case.display(),
                snap.display()
            )),
            Err(_) => failures.push(format!(
                "{}: no snapshot {} (run with PTC_BLESS=1)\n--- actual\n{actual}",
                case.display(),
                snap.display()
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} ui cases failed:\n\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

#[test]
fn every_emitted_front_end_code_has_a_case() {
    // Each code the front end, the checker and the kernel checks emit
    // appears in some snapshot.
    let mut all = Vec::new();
    cases(Path::new("tests/ui"), &mut all);
    let snaps: String = all
        .iter()
        .filter_map(|c| std::fs::read_to_string(c.with_extension("out")).ok())
        .collect();
    use ptc_compiler::diag::Code::*;
    for code in [
        Syntax,
        GraphCount,
        DuplicateName,
        UnknownName,
        UnknownType,
        InvalidType,
        InvalidShape,
        InvalidValue,
        InvalidPriority,
        InvalidEndpoint,
        InvalidPtask,
        TypeMismatch,
        ShapeMismatch,
        WrongDirection,
        UnconnectedInput,
        MultipleWriters,
        UnseededCycle,
        KernelNotFound,
        BufferTooLarge,
        UnreadOutput,
        UnusedInput,
        NeverFires,
        ConstEval,
        InvalidSet,
        InvalidInstance,
        ImportNotFound,
        ImportCycle,
        SpecMismatch,
        IncludeNotFound,
        DeviceLimit,
        KernelCompile,
    ] {
        assert!(
            snaps.contains(code.as_str()),
            "no ui case shows {}",
            code.as_str()
        );
    }
}
