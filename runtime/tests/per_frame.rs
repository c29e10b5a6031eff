//! The per-frame path allocates and records nothing: after a warm-up,
//! frames of a seeded 1-element cycle (`Runtime::step`/`wait_any`), of
//! `zeros -> null` and of 256 KiB `zeros` frames written to a file (lent to
//! the sink's writer thread; a `Session`) make no Rust heap allocation, no Vulkan
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
    // ...and zeros -> a regular file with 256 KiB frames, which go lent
    // from their slots to the sink's writer thread (direct I/O).
    let big = plan(
        "graph zeros_big {
           input x: f32[65536] from zeros; output y: f32[65536] to null;
           ptask s { kernel \"kernels/scale.comp\"; in a: f32[65536]; param k: f32 = 1.0; out b: f32[65536]; }
           x -> s.a; s.b -> y; }",
    );
    let dir = std::env::temp_dir().join(format!("ptc-per-frame-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let run = |session: &mut Session, plan: &ptc_plan::Plan, n: u64, file: bool| -> u64 {
        let (feeds, mut drains) = io::IoRegistry::new()
            .attach(plan, Default::default())
            .expect("attach");
        let g = session.runtime_mut().open_graph(plan).expect("open");
        if file {
            let rt = session.runtime();
            let info = rt
                .output_info(rt.output_port(g, "y").expect("port"))
                .expect("info")
                .clone();
            let sink = io::FileSink::create(&dir.join("y.raw"), &info).expect("sink");
            assert!(io::FrameSink::takes_lent(&sink));
            drains[0].sink = Some(Box::new(sink));
        }
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
    for (what, plan, file) in [
        ("zeros -> null", &zeros, false),
        ("zeros -> file", &big, true),
    ] {
        run(&mut session, plan, 20, file);
        let short = run(&mut session, plan, 20, file);
        let long = run(&mut session, plan, 520, file);
        // A run's setup allocates: the counter is live (the test cannot pass
        // because nothing was counted).
        assert!(
            short > 0,
            "{what}: no allocation counted: is the allocator installed?"
        );
        assert!(
            long <= short + 5,
            "{what}: 500 more frames made {} more heap allocations ({short} for 20 frames, {long} for 520)",
            long.saturating_sub(short)
        );
    }
    if let Ok(m) = std::fs::metadata(dir.join("y.raw")) {
        assert_eq!(m.len(), 520 * 65536 * 4, "the last run wrote every frame");
    }
    let _ = std::fs::remove_dir_all(&dir);
    drop(session);
    common::assert_clean(&log);
}
