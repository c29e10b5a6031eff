//! What loading a plan costs, phase by phase, on a generated chain of N
//! ptasks sharing one kernel (`kernels/scale.comp`): the YAML bounds pass
//! (size, flow depth, aliases; its byte-count fast path, and the full pass
//! over parser events that a `*` in the text forces), serde, validation,
//! and spirv-val alone on the plan's module. Best of 5 runs each.
//!
//!     cargo run --release -p ptc-plan --example load_bench [N]   # default 10000

use ptc_plan::{spirv, Plan};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn best<T>(mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut t = Duration::MAX;
    let mut out = None;
    for _ in 0..5 {
        let s = Instant::now();
        let v = f();
        t = t.min(s.elapsed());
        out = Some(v);
    }
    // invariant: five runs above.
    (t, out.expect("ran"))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).map_or(Ok(10_000), |a| a.parse())?;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let kernel = root.join("kernels/scale.comp");
    let mut src =
        String::from("graph chain {\n    input x: f32[1024];\n    output y: f32[1024];\n");
    for i in 0..n {
        src.push_str(&format!(
            "    ptask p{i} {{ kernel \"{}\"; in a: f32[1024]; param k: f32 = 2.0; out b: f32[1024]; }}\n",
            kernel.display()
        ));
    }
    src.push_str("    x -> p0.a;\n");
    for i in 1..n {
        src.push_str(&format!("    p{}.b -> p{i}.a;\n", i - 1));
    }
    src.push_str(&format!("    p{}.b -> y;\n}}\n", n - 1));
    let report = ptc_compiler::check_source(
        &root.join("chain.pt"),
        src,
        &ptc_compiler::Options::default(),
    );
    let plan = report.plan.ok_or("the chain did not compile")?;
    let text = plan.to_yaml()?;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (t_load, p) = best(|| Plan::from_yaml(&text));
    assert_eq!(p?, plan);
    // A `*` in a comment: the bounds pass cannot take its byte-count fast
    // path and follows the parser event by event.
    let starred = format!("{text}# *\n");
    let (t_slow, p) = best(|| Plan::from_yaml(&starred));
    assert_eq!(p?, plan);
    let (t_serde, p) = best(|| serde_yaml_ng::from_str::<Plan>(&text));
    assert_eq!(p?, plan);
    let (t_validate, v) = best(|| plan.validate());
    v?;
    let words = spirv::from_base64(&plan.modules[0].spirv)?;
    let (t_val, v) = best(|| spirv::validate(&words));
    v?;
    println!(
        "plan: {n} ptasks, {} bytes, {} module(s) of {} words",
        text.len(),
        plan.modules.len(),
        words.len()
    );
    println!("from_yaml (all)          {:>9.2} ms", ms(t_load));
    println!("  serde_yaml_ng only     {:>9.2} ms", ms(t_serde));
    println!("  validate               {:>9.2} ms", ms(t_validate));
    println!(
        "  bounds pass (rest)     {:>9.2} ms",
        ms(t_load.saturating_sub(t_serde + t_validate))
    );
    println!(
        "from_yaml, full bounds pass {:>6.2} ms (+{:.2} ms)",
        ms(t_slow),
        ms(t_slow.saturating_sub(t_load))
    );
    println!("spirv-val on the module  {:>9.3} ms", ms(t_val));
    Ok(())
}
