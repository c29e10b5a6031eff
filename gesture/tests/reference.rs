//! Scripted hand trajectories through the CPU reference of the gesture
//! pipeline (synthetic camera → xform → detect) give the expected events.
//! The GPU kernels are compared with this reference in `tests/gesture.rs`
//! at the workspace root. Frames are 640×480 unless a test says otherwise.
#![allow(clippy::unwrap_used)] // tests may panic

use ptc_gesture::camera::{CameraConfig, Script, SyntheticCamera};
use ptc_gesture::reference::{
    detect, xform, BilateralParams, DetectParams, Intrinsics, STATE_WORDS,
};
use ptc_gesture::{Event, EventKind};

/// Runs the reference pipeline over every frame of `script` at the
/// camera's size (detect's `min_pixels` scaled with the area, as
/// `graphs/gesture.pt` does); returns the non-empty events of each frame.
fn run(script: &str, cfg: CameraConfig) -> Vec<Vec<Event>> {
    let script = Script::parse(script, "test").unwrap();
    let (w, h) = (cfg.width, cfg.height);
    let cam = SyntheticCamera::new(cfg, script).unwrap();
    let bp = BilateralParams::default();
    let dp = DetectParams {
        min_pixels: (400 * w * h / (640 * 480)) as u32,
        ..DetectParams::default()
    };
    let k = Intrinsics::default().scaled(w as f32 / 640.0);
    let mut state = [0u32; STATE_WORDS];
    cam.map(|f| {
        let cloud = xform(&f.depth, w, h, &bp, &k);
        let (ev, next) = detect(&cloud, w, h, &state, &dp);
        state = next;
        ev.into_iter().filter(|e| e.kind != 0).collect()
    })
    .collect()
}

/// The camera at 320×240.
fn small() -> CameraConfig {
    CameraConfig {
        width: 320,
        height: 240,
        ..CameraConfig::default()
    }
}

fn kinds(frames: &[Vec<Event>]) -> Vec<EventKind> {
    frames
        .iter()
        .flatten()
        .map(|e| e.kind())
        .filter(|k| *k != EventKind::Move)
        .collect()
}

#[test]
fn left_to_right_sweep_moves_monotonically() {
    for cfg in [CameraConfig::default(), small()] {
        sweep(cfg);
    }
}

fn sweep(cfg: CameraConfig) {
    let frames = run("0 0.1 0.5 900\n1.0 0.9 0.5 900\n", cfg);
    let xs: Vec<f32> = frames
        .iter()
        .flatten()
        .filter(|e| e.kind() == EventKind::Move)
        .map(|e| e.x)
        .collect();
    assert_eq!(xs.len(), frames.len(), "one move per frame");
    assert!(xs[0] < 0.2 && xs[xs.len() - 1] > 0.8, "{xs:?}");
    assert!(xs.windows(2).all(|w| w[1] > w[0]), "not monotonic: {xs:?}");
    for e in frames.iter().flatten() {
        assert!((e.y - 0.5).abs() < 0.02, "{e:?}");
    }
}

#[test]
fn push_gives_one_press_and_one_release() {
    for cfg in [CameraConfig::default(), small()] {
        let size = (cfg.width, cfg.height);
        let frames = run(
            "0 0.5 0.5 900\n0.2 0.5 0.5 900\n0.4 0.5 0.5 720\n0.7 0.5 0.5 720\n0.9 0.5 0.5 900\n1.0 0.5 0.5 900\n",
            cfg,
        );
        assert_eq!(
            kinds(&frames),
            vec![EventKind::Press, EventKind::Release],
            "{size:?}"
        );
        // The press comes during the push (0.2 s .. 0.4 s = frames 6..=12).
        let at = frames
            .iter()
            .position(|f| f.iter().any(|e| e.kind() == EventKind::Press))
            .unwrap();
        assert!((6..=12).contains(&at), "{size:?}: press at frame {at}");
        // The hand's centre is where the script puts it, at either size.
        let press = frames[at]
            .iter()
            .find(|e| e.kind() == EventKind::Press)
            .unwrap();
        assert!(
            (press.x - 0.5).abs() < 0.01 && (press.y - 0.5).abs() < 0.01,
            "{size:?}: {press:?}"
        );
    }
}

#[test]
fn empty_scene_gives_no_events() {
    let frames = run("0 none\n0.5 none\n", CameraConfig::default());
    assert_eq!(frames.len(), 16);
    assert!(frames.iter().all(|f| f.is_empty()), "{frames:?}");
}

#[test]
fn noise_only_frames_give_no_false_presses() {
    // 1,000 frames of an empty scene with heavier noise than the default,
    // fed to detect unfiltered (harder than through xform).
    let cfg = CameraConfig {
        noise_mm: 15.0,
        dropout: 0.03,
        seed: 7,
        ..CameraConfig::default()
    };
    let script = Script::parse("0 none\n1000 none\n", "noise").unwrap();
    let cam = SyntheticCamera::new(CameraConfig { fps: 1.0, ..cfg }, script).unwrap();
    let (dp, k) = (DetectParams::default(), Intrinsics::default());
    let mut state = [0u32; STATE_WORDS];
    let mut frames = 0;
    for f in cam.take(1000) {
        let depth: Vec<f32> = f.depth.iter().map(|&d| f32::from(d)).collect();
        let cloud = ptc_gesture::reference::back_project(&depth, 640, &k);
        let (ev, next) = detect(&cloud, 640, 480, &state, &dp);
        state = next;
        assert!(ev.iter().all(|e| e.kind == 0), "frame {}: {ev:?}", f.index);
        frames += 1;
    }
    assert_eq!(frames, 1000);
    assert_eq!(state[0], 1000, "detect counted every frame");
}
