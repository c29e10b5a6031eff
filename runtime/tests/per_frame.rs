//! The per-frame path allocates and records nothing: after a warm-up,
//! frames of a seeded 1-element cycle (`Runtime::step`/`wait_any`) and of
//! `zeros -> null` (a `Session`) make no Rust heap allocation, no Vulkan
//! object and no command-buffer recording. (The driver's C code allocates
//! through libc directly and is not counted.)

mod common;

use ptc_runtime::{io, RunLimits, Session};
use std::sync::atomic::Ordering;
use std::time::Duration;

#[path = "alloc/counting.rs"]
mod counting;
use counting::ALLOCS;

fn plan(text: &str) -> ptc_plan::Plan {
    let r = ptc_compiler::check_source(
        &common::root().join("graphs/per_frame_test.pt"),
        text.to_string(),
        &ptc_compiler::Options::default(),
    );
    r.plan.unwrap_or_else(|| panic!("{:?}", r.diagnostics))
}

#[test]
fn frames_allocate_and_record_nothing() {
    let Some((rt, log)) = common::runtime(false) else {
        return;
    };
    // A seeded cycle driven by hand.
    let cycle = plan(
        "graph cycle1 {
           ptask s { kernel \"kernels/scale.comp\"; in a: f32[1] = 1.0; param k: f32 = 1.0; out b: f32[1]; }
           s.b -> s.a; }",
    );
    let mut session = Session::new(rt);
    let rt = session.runtime_mut();
    let g = rt.open_graph(&cycle).expect("open");
    let frames = |rt: &mut ptc_runtime::Runtime, n: u64| {
        let target = rt.frames_submitted(g).expect("graph") + n;
        while rt.frames_submitted(g).expect("graph") < target {
            if rt.step().expect("step") == 0 {
                rt.wait_any(u64::MAX).expect("wait");
            }
        }
    };
    frames(rt, 100);
    let (a0, c0) = (ALLOCS.load(Ordering::Relaxed), rt.counters());
    frames(rt, 500);
    let (a1, c1) = (ALLOCS.load(Ordering::Relaxed), rt.counters());
    assert_eq!(a1 - a0, 0, "heap allocations in 500 frames of the cycle");
    assert_eq!(c1.allocations, c0.allocations, "Vulkan objects created");
    assert_eq!(c1.recordings, c0.recordings, "command buffers recorded");
    assert!(c1.submits >= c0.submits + 500);
    rt.set_held(g, true).expect("hold");
    rt.run_until_idle().expect("idle");
    rt.terminate(g).expect("terminate");

    // zeros -> null through a Session (what `ptc run` does): a run's own
    // setup allocates, its frames do not.
    let zeros = plan(
        "graph zeros1 {
           input x: f32[1] from zeros; output y: f32[1] to null;
           ptask s { kernel \"kernels/scale.comp\"; in a: f32[1]; param k: f32 = 1.0; out b: f32[1]; }
           x -> s.a; s.b -> y; }",
    );
    let run = |session: &mut Session, n: u64| -> u64 {
        let (feeds, drains) = io::IoRegistry::new()
            .attach(&zeros, Default::default())
            .expect("attach");
        let g = session.runtime_mut().open_graph(&zeros).expect("open");
        session
            .add(
                g,
                feeds,
                drains,
                RunLimits {
                    frames: Some(n),
                    ..Default::default()
                },
            )
            .expect("add");
        let (a0, c0) = (ALLOCS.load(Ordering::Relaxed), session.runtime().counters());
        for (_, o) in session
            .run(None, Duration::from_secs(5), |_| {})
            .expect("run")
        {
            o.expect("run ok");
        }
        let (a1, c1) = (ALLOCS.load(Ordering::Relaxed), session.runtime().counters());
        assert_eq!(c1.allocations, c0.allocations, "Vulkan objects created");
        assert_eq!(c1.recordings, c0.recordings, "command buffers recorded");
        session.runtime_mut().terminate(g).expect("terminate");
        a1 - a0
    };
    run(&mut session, 20);
    let short = run(&mut session, 20);
    let long = run(&mut session, 520);
    // A run's setup allocates: the counter is live (the test cannot pass
    // because nothing was counted).
    assert!(
        short > 0,
        "no allocation counted: is the allocator installed?"
    );
    assert!(
        long <= short + 5,
        "500 more frames made {} more heap allocations ({short} for 20 frames, {long} for 520)",
        long.saturating_sub(short)
    );
    drop(session);
    common::assert_clean(&log);
}
