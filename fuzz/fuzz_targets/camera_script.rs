//! The synthetic camera's script (`--script FILE`, `camera(script: ...)`):
//! parsing, then poses sampled across it stay inside the ranges the parser
//! promises.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ptc_gesture::camera::Script;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(script) = Script::parse(text, "fuzz") else {
        return;
    };
    let keys = script.keyframes();
    assert!(!keys.is_empty());
    assert!(keys.windows(2).all(|w| w[0].t < w[1].t), "times increase");
    let d = script.duration();
    let mut ts: Vec<f64> = keys.iter().map(|k| k.t).collect();
    ts.extend(keys.windows(2).map(|w| (w[0].t + w[1].t) / 2.0));
    ts.extend([-1.0, 0.0, d, d + 1.0]);
    for t in ts {
        if let Some(p) = script.pose_at(t) {
            let ok = |v: f32, lo: f32, hi: f32| v >= lo - 1e-3 && v <= hi + 1e-3;
            assert!(ok(p.x, -0.5, 1.5) && ok(p.y, -0.5, 1.5), "{p:?} at {t}");
            assert!(ok(p.depth, 200.0, 5000.0), "{p:?} at {t}");
        }
    }
});
