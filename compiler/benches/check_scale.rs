//! How `ptc check` scales: checks generated graphs of 1,000 and 10,000
//! ptasks and prints the times and the 10k/1k ratio (targets: 10k under
//! 2 s, ratio under 12). Run: `cargo bench -p ptc-compiler --bench check_scale`.
//!
//! Two configurations, measured side by side in one run:
//! - `graph`: parse + check (`skip_kernels: true`, as the language server does);
//! - `full`: the whole `ptc check` pipeline (kernels compiled once each,
//!   reflected and compared with every ptask, then lowered to a plan).

mod gen;

use ptc_compiler::{check_source, Options};
use std::path::Path;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time(n: usize, skip_kernels: bool, runs: usize) -> Duration {
    let text = gen::graph(n);
    // A path inside the project, so `kernels/...` resolves as for graphs/.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../graphs/generated.pt");
    let opts = Options {
        kernel_paths: Vec::new(),
        skip_kernels,
        ..Options::default()
    };
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let r = check_source(&path, text.clone(), &opts);
        times.push(t.elapsed());
        assert!(
            !r.has_errors(),
            "generated graph has errors: {:?}",
            &r.diagnostics[..r.diagnostics.len().min(3)]
        );
        assert_eq!(r.module.as_ref().map(|m| m.graph.ptasks.len()), Some(n));
        if !skip_kernels {
            assert!(r.plan.is_some(), "no plan for a clean graph");
        }
    }
    median(times)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: run
    // a quick smoke check then.
    let bench = std::env::args().any(|a| a == "--bench");
    let (small, big, runs) = if bench {
        (1_000, 10_000, 5)
    } else {
        (100, 1_000, 1)
    };
    for (label, skip) in [("graph", true), ("full", false)] {
        let a = time(small, skip, runs);
        let b = time(big, skip, runs);
        println!(
            "check_scale/{label}: {small} ptasks {:>8.1} ms   {big} ptasks {:>8.1} ms   ratio {:.2}",
            a.as_secs_f64() * 1e3,
            b.as_secs_f64() * 1e3,
            b.as_secs_f64() / a.as_secs_f64()
        );
    }
}
