//! The paper's Fig. 3 for the gesture pipeline: frames per second and
//! per-frame latency (frame ready on the host → its events pulled) of
//!
//! * `graph sync`      — graphs/gesture.pt, one frame in flight;
//! * `graph ping-pong` — the same graph, pushing while an input slot is free
//!   (upload of frame n+1 overlaps compute of frame n);
//! * `graph staging`   — ping-pong with inputs/outputs copied through staging
//!   buffers (what a discrete GPU without host-visible VRAM does);
//! * `modular pipes`   — the same kernels as two graphs
//!   (graphs/gesture_stages/{xform,detect}.pt) joined through host memory:
//!   the 4.9 MB cloud is pulled to the host and pushed back every frame;
//! * `CPU reference`   — gesture/src/reference.rs (crate ptc-gesture) on one core.
//!
//! Run: `cargo run --release --example fig3 -- [FRAMES]` (default 60).
//! Times are printed side by side from one run; relative = ms/frame over
//! the ping-pong graph's.

use ptc_gesture::camera::{CameraConfig, Script, SyntheticCamera, HEIGHT, WIDTH};
use ptc_gesture::reference::{self, BilateralParams, DetectParams, Intrinsics};
use ptc_runtime::{GraphId, Runtime, RuntimeOptions};
use std::time::{Duration, Instant};

type R<T> = Result<T, Box<dyn std::error::Error>>;

fn plan(rel: &str) -> R<ptc_plan::Plan> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    let r = ptc_compiler::check_file(&path, &ptc_compiler::Options::default());
    r.plan
        .ok_or_else(|| format!("{rel}: {:?}", r.diagnostics).into())
}

struct Stat {
    name: &'static str,
    per_frame: Duration,
    lat: Vec<Duration>,
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

fn intrinsics() -> Vec<u8> {
    Intrinsics::default()
        .to_array()
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect()
}

/// The whole graph; `depth` frames in flight at most.
fn graph(
    rt: &mut Runtime,
    frames: &[Vec<u8>],
    n: usize,
    pipelined: bool,
    name: &'static str,
) -> R<Stat> {
    let g = rt.open_graph(&plan("graphs/gesture.pt")?)?;
    rt.push(g, "intrinsics", &intrinsics())?;
    let run = |rt: &mut Runtime, g: GraphId, count: usize| -> R<(Duration, Vec<Duration>)> {
        let start = Instant::now();
        let mut sent = std::collections::VecDeque::new();
        let mut lat = Vec::new();
        for i in 0..count {
            while !(pipelined || sent.is_empty()) || !rt.can_push(g, "usbsrc")? {
                let t0: Instant = sent.pop_front().ok_or("nothing in flight")?;
                rt.pull(g, "hid")?;
                lat.push(t0.elapsed());
            }
            sent.push_back(Instant::now());
            rt.push(g, "usbsrc", &frames[i % frames.len()])?;
            rt.step()?;
        }
        while let Some(t0) = sent.pop_front() {
            rt.pull(g, "hid")?;
            lat.push(t0.elapsed());
        }
        Ok((start.elapsed(), lat))
    };
    run(rt, g, 3)?; // warm up
    let (total, lat) = run(rt, g, n)?;
    rt.terminate(g)?;
    Ok(Stat {
        name,
        per_frame: total / n as u32,
        lat,
    })
}

/// Two graphs joined through host memory, one frame at a time.
fn pipes(rt: &mut Runtime, frames: &[Vec<u8>], n: usize) -> R<Stat> {
    let gx = rt.open_graph(&plan("graphs/gesture_stages/xform.pt")?)?;
    let gd = rt.open_graph(&plan("graphs/gesture_stages/detect.pt")?)?;
    rt.push(gx, "intrinsics", &intrinsics())?;
    let mut cloud = vec![0u8; 640 * 480 * 16];
    let mut ev = vec![0u8; 16 * 16];
    let mut run = |rt: &mut Runtime, count: usize| -> R<(Duration, Vec<Duration>)> {
        let start = Instant::now();
        let mut lat = Vec::new();
        for i in 0..count {
            let t0 = Instant::now();
            rt.push(gx, "rawimg", &frames[i % frames.len()])?;
            rt.pull_into(gx, "cloud", &mut cloud)?;
            rt.push(gd, "cloud", &cloud)?;
            rt.pull_into(gd, "events", &mut ev)?;
            lat.push(t0.elapsed());
        }
        Ok((start.elapsed(), lat))
    };
    run(rt, 3)?;
    let (total, lat) = run(rt, n)?;
    rt.terminate(gx)?;
    rt.terminate(gd)?;
    Ok(Stat {
        name: "modular pipes (host round trips)",
        per_frame: total / n as u32,
        lat,
    })
}

fn cpu(depth: &[Vec<u16>], n: usize) -> Stat {
    let (bp, dp, k) = (
        BilateralParams::default(),
        DetectParams::default(),
        Intrinsics::default(),
    );
    let mut state = [0u32; 64];
    let start = Instant::now();
    let mut lat = Vec::new();
    for i in 0..n {
        let t0 = Instant::now();
        let cloud = reference::xform(&depth[i % depth.len()], WIDTH, HEIGHT, &bp, &k);
        state = reference::detect(&cloud, WIDTH, HEIGHT, &state, &dp).1;
        lat.push(t0.elapsed());
    }
    Stat {
        name: "CPU reference (1 core)",
        per_frame: start.elapsed() / n as u32,
        lat,
    }
}

fn main() -> R<()> {
    let n: usize = std::env::args().nth(1).map_or(Ok(60), |s| s.parse())?;
    let cam = SyntheticCamera::new(CameraConfig::default(), Script::default_script())?;
    // 16 frames with the hand in view (the circle), cycled.
    let depth: Vec<Vec<u16>> = (40..56).map(|i| cam.render(i).depth).collect();
    let frames: Vec<Vec<u8>> = depth
        .iter()
        .map(|d| d.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let mut rt = Runtime::new(&RuntimeOptions::default())?;
    let mut staged = Runtime::new(&RuntimeOptions {
        force_staging: true,
        ..Default::default()
    })?;
    println!(
        "device: {}; {n} frames per variant, 640x480, default params",
        rt.device().name
    );
    let mut stats = vec![
        graph(&mut rt, &frames, n, true, "graph ping-pong (zero copy)")?,
        graph(&mut rt, &frames, n, false, "graph sync")?,
        graph(&mut staged, &frames, n, true, "graph ping-pong, staging")?,
        pipes(&mut rt, &frames, n)?,
    ];
    stats.push(cpu(&depth, n.min(5)));
    let base = stats[0].per_frame.as_secs_f64();
    println!(
        "{:<36} {:>9} {:>10} {:>9} {:>9} {:>9}",
        "variant", "fps", "ms/frame", "p50 ms", "p99 ms", "relative"
    );
    for s in &mut stats {
        let pf = s.per_frame.as_secs_f64();
        let (p50, p99) = (pct(&mut s.lat, 0.5), pct(&mut s.lat, 0.99));
        println!(
            "{:<36} {:>9.1} {:>10.2} {:>9.2} {:>9.2} {:>9.2}",
            s.name,
            1.0 / pf,
            pf * 1e3,
            p50,
            p99,
            pf / base
        );
    }
    Ok(())
}
