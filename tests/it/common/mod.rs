//! Helpers shared by the tests that drive the real `ptc` binary.

// Each test binary uses its own subset of these.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// The repository root (graphs and kernels resolve from here).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `ptc` binary under test, run from the repository root, in-process:
/// `PTC_SOCKET` names no daemon, so a daemon a developer runs is not used
/// (tests of the daemon pass `--socket`).
pub fn command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ptc"));
    c.current_dir(root());
    c.env("PTC_SOCKET", "/nonexistent/ptc-tests-run-in-process.sock");
    c
}

/// Runs `cmd` to completion: (exit code, or -1 if killed; stderr).
pub fn status(cmd: &mut Command) -> (i32, String) {
    let out = cmd.output().expect("run ptc");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `ptc ARGS...` from the repository root: (exit code, stderr).
pub fn ptc(args: &[&str]) -> (i32, String) {
    status(command().args(args))
}

/// A fresh, empty scratch directory for one test.
pub fn scratch(prefix: &str, name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("{prefix}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// True if a Vulkan device exists (else the test prints SKIP and returns).
/// With `PTC_REQUIRE_VULKAN=1` (as in CI) a missing device fails the test
/// instead: a broken driver install must not pass as green.
pub fn has_vulkan() -> bool {
    let (code, err) = ptc(&["devices"]);
    if code != 0 {
        if std::env::var("PTC_REQUIRE_VULKAN").is_ok_and(|v| v == "1") {
            panic!("PTC_REQUIRE_VULKAN=1 but `ptc devices` finds no Vulkan device: {err}");
        }
        println!("SKIP: no Vulkan device ({err})");
    }
    code == 0
}

/// Lines read from a child's stream by a background thread.
pub struct Lines {
    handle: std::thread::JoinHandle<Vec<String>>,
}

impl Lines {
    /// Waits for the stream to end; all its lines, joined.
    pub fn join(self) -> String {
        self.handle.join().expect("reader thread").join("\n")
    }
}

/// Reads `stream` line by line in the background and returns once a line
/// containing `needle` arrived (panics after 120 s or at end of stream).
pub fn wait_for_line(stream: impl std::io::Read + Send + 'static, needle: &str) -> Lines {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    let needle = needle.to_string();
    let handle = std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut seen = false;
        for line in std::io::BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            if !seen && line.contains(&needle) {
                seen = true;
                let _ = tx.send(());
            }
            all.push(line);
        }
        all
    });
    match rx.recv_timeout(std::time::Duration::from_secs(120)) {
        Ok(()) => Lines { handle },
        Err(_) => {
            let text = handle.join().map(|l| l.join("\n")).unwrap_or_default();
            panic!("no line containing the expected text; the stream was:\n{text}");
        }
    }
}

/// Relative tolerance of a GPU-share test measured on the wall clock:
/// `strict` with `PTC_STRICT_SHARES=1` (a quiet machine; what the
/// benchmarks report), else `loose`, which still tells honoured
/// priorities (2:1) from ignored ones (1:1) on a loaded CI machine. The
/// scheduler's exact shares are tested on a simulated clock
/// (`ptc_runtime::sched` unit tests).
pub fn share_tolerance(strict: f64, loose: f64) -> f64 {
    if std::env::var("PTC_STRICT_SHARES").is_ok_and(|v| v == "1") {
        strict
    } else {
        loose
    }
}
