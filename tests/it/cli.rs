//! The `ptc` binary: exit codes, output formats and `ptc graph --dot`,
//! compared with expected text.

use std::path::Path;
use std::process::{Command, Output};

fn ptc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ptc"))
        .args(args)
        .env_remove("COLUMNS")
        .output()
        .expect("run ptc")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn clean_graphs_exit_0() {
    let o = ptc(&["check", "graphs/gesture.pt", "graphs/saxpy2.pt"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert_eq!(stdout(&o), "");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("checked 2 files: 0 errors, 0 warnings"),
        "{err}"
    );
}

#[test]
fn warnings_exit_0_unless_denied() {
    let o = ptc(&["check", "--skip-kernels", "tests/cli/warn.pt"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("ptc::unused_input"));
    let o = ptc(&["check", "--deny-warnings", "tests/cli/warn.pt"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn errors_exit_1() {
    let o = ptc(&["check", "tests/cli/err.pt"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("ptc::type_mismatch"), "{out}");
    assert!(out.contains("ptc::unknown_name"), "{out}");
}

#[test]
fn io_problems_exit_2() {
    // Missing file.
    let o = ptc(&["check", "tests/cli/does_not_exist.pt"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).contains("ptc::io"));
    // A directory.
    let o = ptc(&["check", "tests/cli"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stdout(&o).contains("it is a directory"), "{}", stdout(&o));
    // An I/O problem wins over errors in other files.
    let o = ptc(&["check", "tests/cli/err.pt", "tests/cli/nope.pt"]);
    assert_eq!(o.status.code(), Some(2));
    // Usage errors.
    assert_eq!(ptc(&["check"]).status.code(), Some(2));
    assert_eq!(
        ptc(&["check", "--format", "xml", "x.pt"]).status.code(),
        Some(2)
    );
}

#[test]
fn binary_and_huge_files_are_refused_cleanly() {
    let dir = std::env::temp_dir().join(format!("ptc-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bin = dir.join("bin.pt");
    std::fs::write(&bin, [0xffu8, 0xfe, 0x00, 0x80, 0x81]).unwrap();
    let o = ptc(&["check", "--format", "json", bin.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("\"code\":\"ptc::not_text\""));
    // 100 MB: refused by size without reading it all, quickly.
    let big = dir.join("big.pt");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(100 * 1024 * 1024).unwrap();
    let t = std::time::Instant::now();
    let o = ptc(&["check", "--format", "json", big.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("\"code\":\"ptc::file_too_large\""));
    assert!(t.elapsed().as_secs() < 20);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn json_format_matches_expected_text() {
    let o = ptc(&[
        "check",
        "--format",
        "json",
        "--skip-kernels",
        "tests/cli/esc.pt",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let expected = concat!(
        r#"{"code":"ptc::unknown_name","column":26,"end_column":28,"end_line":4,"file":"tests/cli/esc.pt","help":"declare it with `input`, `output` or `ptask`","labels":[{"column":26,"end_column":28,"end_line":4,"line":4,"message":"not declared in this graph","primary":true}],"line":4,"message":"unknown name `wz`","related":[],"severity":"error"}"#,
        "\n",
        r#"{"code":"ptc::syntax","column":12,"end_column":13,"end_line":5,"file":"tests/cli/esc.pt","help":null,"labels":[{"column":12,"end_column":13,"end_line":5,"line":5,"message":"unexpected here","primary":true}],"line":5,"message":"expected `;` or `.` after the channel, found `%`","related":[],"severity":"error"}"#,
        "\n",
    );
    assert_eq!(stdout(&o), expected);
}

#[test]
fn github_format_matches_expected_text() {
    let o = ptc(&[
        "check",
        "--format",
        "github",
        "--skip-kernels",
        "tests/cli/esc.pt",
        "tests/cli/warn.pt",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let expected = concat!(
        "::error file=tests/cli/esc.pt,line=4,col=26,endLine=4,endColumn=28,title=ptc%3A%3Aunknown_name::unknown name `wz`%0Ahelp: declare it with `input`, `output` or `ptask`\n",
        "::error file=tests/cli/esc.pt,line=5,col=12,endLine=5,endColumn=13,title=ptc%3A%3Asyntax::expected `;` or `.` after the channel, found `%25`\n",
        "::warning file=tests/cli/warn.pt,line=3,col=11,endLine=3,endColumn=16,title=ptc%3A%3Aunused_input::graph input `spare` feeds nothing%0Ahelp: connect it, e.g. `spare -> ptask.port;`, or remove it\n",
    );
    assert_eq!(stdout(&o), expected);
}

#[test]
fn graph_dot_draws_ports_ptasks_and_typed_channels() {
    let o = ptc(&["graph", "graphs/saxpy2.pt", "--dot"]);
    assert_eq!(o.status.code(), Some(0));
    let dot = stdout(&o);
    assert!(dot.starts_with("digraph \"saxpy2\" {"), "{dot}");
    assert!(
        dot.contains(
            "\"ptask0\" [shape=box, style=rounded, label=\"scale\\nkernels/scale.comp\"];"
        ),
        "{dot}"
    );
    assert!(
        dot.contains(
            "\"port0\" -> \"ptask0\" [label=\"f32[1048576]\", taillabel=\"\", headlabel=\"a\"];"
        ),
        "{dot}"
    );
    assert!(
        dot.contains(
            "\"ptask0\" -> \"ptask1\" [label=\"f32[1048576]\", taillabel=\"b\", headlabel=\"a\"];"
        ),
        "{dot}"
    );
    assert_eq!(dot.matches(" -> ").count(), 4);
    // A graph with errors: no picture, the diagnostics, exit 1.
    let o = ptc(&["graph", "tests/cli/err.pt", "--dot"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    assert!(String::from_utf8_lossy(&o.stderr).contains("ptc::type_mismatch"));
    assert!(Path::new("graphs/saxpy2.pt").exists());
}

/// Output to a reader that goes away (`ptc ... | head -1`) is not a crash.
#[test]
fn a_closed_stdout_is_not_a_panic() {
    for args in [vec!["graph", "graphs/bitonic.pt", "--dot"], vec!["devices"]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ptc"))
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run ptc");
        // Hang up before it writes (it is still starting).
        drop(child.stdout.take());
        let o = child.wait_with_output().expect("wait");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(!e.contains("panicked"), "{args:?}: {e}");
    }
}

#[test]
fn diagnostics_far_along_a_long_line_render_without_a_panic() {
    // miette pads a label to its column with a format width, which may not
    // exceed 65535: a type error after 70 000 spaces made `ptc check` panic
    // (exit 101) instead of reporting it. Snippets of long lines are
    // excerpts now: the line and column are right, the output is short.
    let dir = std::env::temp_dir().join(format!("ptc-cli-col-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("col70k.pt");
    std::fs::write(
        &f,
        format!(
            "{}graph g {{ input x: f32; output y: u32; x -> y; }}\n",
            " ".repeat(70_000)
        ),
    )
    .unwrap();
    let o = ptc(&["check", f.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = stdout(&o);
    assert!(out.contains("col70k.pt:1:70045]"), "{out}");
    assert!(out.contains("`x` is `f32[1]`"), "{out}");
    assert!(out.len() < 2000, "{} bytes", out.len());
    std::fs::remove_dir_all(&dir).unwrap();
}
