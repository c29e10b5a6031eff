//! Benchmark of the back half of the compiler on generated chain graphs of
//! 1,000 and 10,000 ptasks (one shared kernel): front end (parse + check),
//! kernel check (compile once, reflect, compare per ptask), lowering (with
//! `Plan::validate`), and writing/reading the plan as YAML. Prints each
//! phase's time and the 10k/1k ratio, measured side by side in one run.
//!
//!     cargo run --release -p ptc-compiler --example bench_lower

use ptc_compiler::valid::kernel::{check_kernels, KernelCache};
use ptc_compiler::valid::ModuleInfo;
use ptc_compiler::{back::lower::lower, valid::check::check, Options};
use ptc_plan::Plan;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn chain(n: usize, kernel: &Path) -> String {
    let mut s = String::from("graph chain {\n    input x: f32[1024];\n    output y: f32[1024];\n");
    for i in 0..n {
        s.push_str(&format!(
            "    ptask p{i} {{ kernel \"{}\"; in a: f32[1024]; param k: f32 = 2.0; out b: f32[1024]; }}\n",
            kernel.display()
        ));
    }
    s.push_str("    x -> p0.a;\n");
    for i in 1..n {
        s.push_str(&format!("    p{}.b -> p{i}.a;\n", i - 1));
    }
    s.push_str(&format!("    p{}.b -> y;\n}}\n", n - 1));
    s
}

/// Best of `reps` runs of `f`.
fn best<T>(reps: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut out = None;
    let mut t = Duration::MAX;
    for _ in 0..reps {
        let s = Instant::now();
        let v = f();
        t = t.min(s.elapsed());
        out = Some(v);
    }
    // invariant: reps >= 1
    (t, out.expect("at least one run"))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let kernel = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../kernels/scale.comp");
    let opts = Options::default();
    let mut rows = Vec::new();
    for n in [1_000usize, 10_000] {
        let src = chain(n, &kernel);
        let path = Path::new("chain.pt");
        let (t_front, checked) = best(3, || check(path, &src, &opts));
        if !checked.diagnostics.is_empty() {
            return Err(format!(
                "the generated chain has diagnostics: {:?}",
                checked.diagnostics
            )
            .into());
        }
        let m = checked
            .module
            .ok_or("the generated chain produced no module")?;
        // A fresh cache per run: the first ptask compiles the kernel (the
        // process-wide cache makes later runs skip shaderc, as `ptc check` of
        // many files would).
        let (t_kernel, (k, d)) = best(3, || check_kernels(&m, &mut KernelCache::default()));
        if !d.is_empty() {
            return Err(format!("kernel check: {d:?}").into());
        }
        let info = ModuleInfo::new(k)?;
        let (t_lower, plan) = best(3, || lower(&m, &info));
        let plan = plan.map_err(|d| format!("lowering: {d:?}"))?;
        let (t_write, text) = best(3, || plan.to_yaml());
        let text = text?;
        let (t_read, back) = best(3, || Plan::from_yaml(&text));
        if back? != plan {
            return Err("the plan did not read back identically".into());
        }
        rows.push((n, [t_front, t_kernel, t_lower, t_write, t_read], text.len()));
    }
    println!("phase            1k (ms)   10k (ms)   10k/1k");
    let names = [
        "front end",
        "kernel check",
        "lower+validate",
        "to_yaml",
        "from_yaml+validate",
    ];
    for (i, name) in names.iter().enumerate() {
        let a = rows[0].1[i].as_secs_f64() * 1e3;
        let b = rows[1].1[i].as_secs_f64() * 1e3;
        println!("{name:<18} {a:>8.2} {b:>10.2} {:>8.2}", b / a.max(1e-9));
    }
    let tot = |r: &[Duration; 5]| r[..3].iter().map(Duration::as_secs_f64).sum::<f64>() * 1e3;
    let (a, b) = (tot(&rows[0].1), tot(&rows[1].1));
    println!(
        "check total        {a:>8.2} {b:>10.2} {:>8.2}",
        b / a.max(1e-9)
    );
    println!("plan size: {} / {} bytes", rows[0].2, rows[1].2);
    Ok(())
}
