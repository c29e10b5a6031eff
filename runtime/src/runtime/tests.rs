//! Runtime tests that need a Vulkan device (they skip without one).

use super::{Runtime, RuntimeOptions};
use crate::error::RuntimeError;

/// Several slices in one submission (the pipelined case the scheduler
/// may choose): saxpy2's two 4096-workgroup dispatches run as jobs of
/// 3 + 3 + 2 slices each; the results match the CPU, and validation
/// (with synchronization checks) stays clean.
#[test]
fn several_slices_per_submission_compute_the_same_result() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_path_buf();
    let report = ptc_compiler::check_file(
        &root.join("graphs/saxpy2.pt"),
        &ptc_compiler::Options::default(),
    );
    let plan = report.plan.expect("saxpy2 compiles");
    let opts = RuntimeOptions {
        validate: true,
        ..Default::default()
    };
    let mut rt = match Runtime::new(&opts) {
        Ok(rt) => rt,
        Err(e @ (RuntimeError::NoVulkan(_) | RuntimeError::NoDevice(_))) => {
            if std::env::var("PTC_REQUIRE_VULKAN").is_ok_and(|v| v == "1") {
                panic!("PTC_REQUIRE_VULKAN=1 but there is no Vulkan device: {e}");
            }
            println!("SKIP: no Vulkan device ({e})");
            return;
        }
        Err(e) => panic!("runtime: {e}"),
    };
    rt.slice_step_override = Some(3);
    let log = rt.validation_log();
    let g = rt.open_graph(&plan).expect("open");
    let n = 1 << 20;
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let bytes = |v: &[f32]| v.iter().flat_map(|f| f.to_le_bytes()).collect::<Vec<u8>>();
    let frames = 3u64;
    for _ in 0..frames {
        let x: Vec<f32> = (0..n).map(|_| rand()).collect();
        let y: Vec<f32> = (0..n).map(|_| rand()).collect();
        rt.push(g, "x", &bytes(&x)).expect("push x");
        rt.push(g, "y", &bytes(&y)).expect("push y");
        while !rt.output_ready(g, "z").expect("output") {
            if rt.step().expect("step") == 0 {
                rt.wait_any(100_000_000).expect("wait");
            }
        }
        let z = rt.pull(g, "z").expect("pull");
        for (i, c) in z.chunks_exact(4).enumerate() {
            let got = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            let want = 2.0 * x[i] + y[i];
            assert!((got - want).abs() <= 1e-6, "z[{i}] = {got}, want {want}");
        }
    }
    let report = rt.sched_report();
    let jobs: u64 = report
        .graph("saxpy2")
        .expect("in stats")
        .ptasks
        .iter()
        .map(|p| p.firings)
        .sum();
    assert_eq!(
        jobs,
        2 * 3 * frames,
        "each dispatch ran as 3 jobs of 3, 3, 2 slices"
    );
    rt.terminate(g).expect("terminate");
    drop(rt);
    assert!(log.messages().is_empty(), "{:?}", log.messages());
}
