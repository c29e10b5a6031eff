//! `ptc compile FILE -o plan.yaml`: check a graph, lower it, write the plan.
//!
//! The plan is written to a temporary file next to the destination and
//! renamed over it, so an error never leaves a half-written plan behind.

use ptc_compiler::diag::Code;
use ptc_compiler::{check_file, Options, Report};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Compiles `file` to `out` (`-` for standard output). Diagnostics go to
/// standard error, rendered by `render`. Exit code 0 ok, 1 errors in the
/// input, 2 usage or I/O errors.
pub fn run(
    file: &Path,
    out: &Path,
    opts: &Options,
    render: impl Fn(&Report) -> String,
) -> ExitCode {
    let report = check_file(file, opts);
    eprint!("{}", render(&report));
    if report.diagnostics.iter().any(|d| d.code == Code::Io) {
        return ExitCode::from(2);
    }
    if report.has_errors() {
        eprintln!("ptc: no plan written: `{}` has errors", file.display());
        return ExitCode::from(1);
    }
    let Some(plan) = report.plan else {
        eprintln!(
            "ptc: `{}` produced no plan (it does not describe a complete graph)",
            file.display()
        );
        return ExitCode::from(1);
    };
    let text = match plan.to_yaml() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("ptc: no plan written for `{}`: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    if out == Path::new("-") {
        let mut stdout = std::io::stdout().lock();
        if let Err(e) = stdout
            .write_all(text.as_bytes())
            .and_then(|_| stdout.flush())
        {
            eprintln!("ptc: cannot write the plan to standard output: {e}");
            return ExitCode::from(2);
        }
        return ExitCode::SUCCESS;
    }
    match ptc_runtime::io::write_atomic(out, text.as_bytes()) {
        Ok(()) => {
            eprintln!(
                "wrote {} (graph `{}`: {} ptasks, {} buffers)",
                out.display(),
                plan.graph,
                plan.ptasks.len(),
                plan.buffers.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ptc: cannot write `{}`: {e}", out.display());
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use ptc_runtime::io::write_atomic;
    use std::path::{Path, PathBuf};

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ptc-compile-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("scratch dir");
        d
    }

    fn entries(d: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn writes_and_replaces_atomically() {
        let d = scratch("ok");
        let p = d.join("plan.yaml");
        write_atomic(&p, b"one").expect("write");
        write_atomic(&p, b"two").expect("rewrite");
        assert_eq!(std::fs::read_to_string(&p).expect("read"), "two");
        assert_eq!(entries(&d), vec!["plan.yaml"]);
    }

    #[test]
    fn failure_leaves_nothing_behind() {
        let d = scratch("fail");
        // Renaming a file over a non-empty directory fails.
        let target = d.join("plan.yaml");
        std::fs::create_dir_all(target.join("inner")).expect("dir");
        assert!(write_atomic(&target, b"x").is_err());
        assert_eq!(entries(&d), vec!["plan.yaml"]);
        assert!(target.join("inner").is_dir());
        assert!(write_atomic(&d.join("missing/plan.yaml"), b"x").is_err());
        assert_eq!(entries(&d), vec!["plan.yaml"]);
    }
}
