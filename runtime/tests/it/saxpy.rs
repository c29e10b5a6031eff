//! saxpy2 on a hand-built plan: results vs the CPU, ping-pong frames, the
//! staging path, counters, and zero validation messages.

use crate::common;
use common::*;

fn saxpy_frames(staging: bool, frame_path: bool, n: u64, frames: usize) {
    let Some((mut rt, log)) = runtime(staging) else {
        return;
    };
    assert_eq!(
        rt.uses_staging(),
        staging || !rt.device().device_local_host_visible
    );
    let g = rt.open_graph(&saxpy2(n, 2.5)).expect("open");
    rt.set_frame_path(g, frame_path).expect("graph");
    let xs: Vec<Vec<f32>> = (0..frames)
        .map(|f| rand_f32(n as usize, 2 * f as u64 + 1))
        .collect();
    let ys: Vec<Vec<f32>> = (0..frames)
        .map(|f| rand_f32(n as usize, 2 * f as u64 + 2))
        .collect();
    let mut pulled = 0;
    for f in 0..frames {
        rt.push(g, "x", &bytes_f32(&xs[f])).expect("push x");
        rt.push(g, "y", &bytes_f32(&ys[f])).expect("push y");
        // Keep one frame in flight: pull the previous one.
        if f >= 1 {
            let z = f32s(&rt.pull(g, "z").expect("pull"));
            let want: Vec<f32> = xs[pulled]
                .iter()
                .zip(&ys[pulled])
                .map(|(x, y)| 2.5 * x + y)
                .collect();
            close(&z, &want, 1e-6);
            pulled += 1;
        }
    }
    while pulled < frames {
        let z = f32s(&rt.pull(g, "z").expect("pull"));
        let want: Vec<f32> = xs[pulled]
            .iter()
            .zip(&ys[pulled])
            .map(|(x, y)| 2.5 * x + y)
            .collect();
        close(&z, &want, 1e-6);
        pulled += 1;
    }
    let s = rt.stats();
    assert_eq!(s.len(), 2);
    assert!(s.iter().all(|p| p.firings == frames as u64), "{s:?}");
    if frame_path {
        assert!(rt.frames_submitted(g).unwrap() >= 1);
    } else {
        assert_eq!(rt.frames_submitted(g).unwrap(), 0);
    }
    rt.terminate(g).expect("terminate");
    drop(rt);
    assert_clean(&log);
}

#[test]
fn saxpy2_matches_cpu_odd_sizes() {
    for n in [1u64, 255, 1000, 4097] {
        saxpy_frames(false, true, n, 3);
    }
}

#[test]
fn saxpy2_per_ptask_path() {
    saxpy_frames(false, false, 777, 4);
}

#[test]
fn saxpy2_staging_path() {
    saxpy_frames(true, true, 1023, 4);
    saxpy_frames(true, false, 513, 3);
}

#[test]
fn counters_do_not_grow_after_warm_up() {
    let Some((mut rt, log)) = runtime(false) else {
        return;
    };
    let n = 4096u64;
    let g = rt.open_graph(&saxpy2(n, 2.0)).expect("open");
    let x = bytes_f32(&rand_f32(n as usize, 7));
    let run = |rt: &mut ptc_runtime::Runtime| {
        for _ in 0..2 {
            rt.push(g, "x", &x).unwrap();
            rt.push(g, "y", &x).unwrap();
        }
        for _ in 0..2 {
            let z = f32s(&rt.pull(g, "z").unwrap());
            assert!((z[5] - 3.0 * f32::from_le_bytes([x[20], x[21], x[22], x[23]])).abs() < 1e-5);
        }
    };
    run(&mut rt);
    let warm = rt.counters();
    for _ in 0..10 {
        run(&mut rt);
    }
    let after = rt.counters();
    assert_eq!(after.allocations, warm.allocations, "allocations grew");
    assert_eq!(
        after.recordings, warm.recordings,
        "command buffers were re-recorded"
    );
    assert!(after.submits > warm.submits, "nothing was submitted");
    drop(rt);
    assert_clean(&log);
}

#[test]
fn port_errors_are_typed() {
    let Some((mut rt, log)) = runtime(false) else {
        return;
    };
    let g = rt.open_graph(&saxpy2(64, 1.0)).expect("open");
    let e = rt.push(g, "x", &[0u8; 12]).unwrap_err();
    assert!(
        e.to_string()
            .contains("takes 256 bytes per frame (f32[64]), got 12"),
        "{e}"
    );
    let e = rt.push(g, "q", &[0u8; 256]).unwrap_err();
    assert!(e.to_string().contains("no input port `q`"), "{e}");
    let e = rt.push(g, "z", &[0u8; 256]).unwrap_err();
    assert!(e.to_string().contains("`z` is an output"), "{e}");
    let e = rt.pull(g, "x").unwrap_err();
    assert!(e.to_string().contains("`x` is an input"), "{e}");
    rt.push(g, "x", &[0u8; 256]).unwrap();
    let e = rt.pull(g, "z").unwrap_err();
    assert!(e.to_string().contains("missing input(s) y"), "{e}");
    // scale consumed frame 0 into its (single-slot) output; frames 1 and 2
    // fill x's two slots; a fourth cannot go anywhere until y arrives.
    rt.push(g, "x", &[0u8; 256]).unwrap();
    rt.push(g, "x", &[0u8; 256]).unwrap();
    let e = rt.push(g, "x", &[0u8; 256]).unwrap_err();
    assert!(
        matches!(e, ptc_runtime::RuntimeError::InputFull { .. }),
        "{e}"
    );
    assert!(e.is_bad_input());
    drop(rt);
    assert_clean(&log);
}

/// A plan without the barrier its schedule needs is refused before any
/// Vulkan object is created.
#[test]
fn plan_without_barriers_is_refused() {
    let Some((mut rt, log)) = runtime(false) else {
        return;
    };
    let mut plan = saxpy2(1024, 1.0);
    for d in &mut plan.schedule {
        d.barriers.clear();
    }
    let before = rt.counters();
    let e = rt.open_graph(&plan).unwrap_err();
    assert!(
        matches!(e, ptc_runtime::RuntimeError::InvalidPlan(_)),
        "{e}"
    );
    assert!(e.is_bad_input());
    assert_eq!(rt.counters(), before);
    drop(rt);
    assert_clean(&log);
}
