//! The flagship gesture pipeline on the real binary and the real runtime
//! (lavapipe in CI), with Vulkan validation on (`--validate` fails the run
//! on any validation message):
//! scripted hand trajectories give the expected events, and the GPU
//! kernels match the CPU reference in `gesture/src/reference.rs` (crate
//! ptc-gesture).

use crate::common;
use common::root;
use ptc_gesture::camera::{CameraConfig, Script, SyntheticCamera, HEIGHT, WIDTH};
use ptc_gesture::reference::{
    self, BilateralParams, DetectParams, HandStats, Intrinsics, PlanConfig, STATE_WORDS,
};
use ptc_gesture::Event;
use ptc_runtime::{Runtime, RuntimeOptions};
use serde_json::Value;

/// Runs `ptc run graphs/gesture.pt --validate --unpaced [--script]`;
/// returns the JSON lines. Unpaced, the camera's frames are not dropped
/// when the machine is slow, so every frame's events are deterministic.
fn run_gesture(script: Option<&str>, name: &str) -> Vec<Value> {
    run_gesture_with(script, name, &[])
}

/// [`run_gesture`] with more arguments (e.g. `--set W=320`).
fn run_gesture_with(script: Option<&str>, name: &str, extra: &[&str]) -> Vec<Value> {
    let mut cmd = common::command();
    cmd.args(["run", "graphs/gesture.pt", "--validate", "--unpaced"]);
    cmd.args(extra);
    if let Some(text) = script {
        let path =
            std::env::temp_dir().join(format!("ptc-gesture-{}-{name}.txt", std::process::id()));
        std::fs::write(&path, text).unwrap();
        cmd.arg("--script").arg(&path);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ptc run failed: {stderr}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn kinds(ev: &[Value]) -> Vec<&str> {
    ev.iter()
        .filter_map(|e| e["kind"].as_str())
        .filter(|k| *k != "move")
        .collect()
}

#[test]
fn default_script_gives_the_scripted_gestures() {
    if !common::has_vulkan() {
        return;
    }
    let ev = run_gesture(None, "default");
    assert_eq!(
        kinds(&ev),
        ["press", "release", "swipe_right", "swipe_left"]
    );
    // The hand is in view from 0.5 s to 8.0 s: one move per frame 15..=239.
    let moves: Vec<u64> = ev
        .iter()
        .filter(|e| e["kind"] == "move")
        .map(|e| e["frame"].as_u64().unwrap())
        .collect();
    assert_eq!(moves, (15..=239).collect::<Vec<u64>>());
    for e in &ev {
        let (x, y) = (e["x"].as_f64().unwrap(), e["y"].as_f64().unwrap());
        assert!((0.0..=1.0).contains(&x) && (0.0..=1.0).contains(&y), "{e}");
        assert_eq!(e["t"].as_u64(), e["frame"].as_u64(), "{e}");
    }
}

/// The same graph at 320 x 240 (`--set W=320 --set H=240`: the camera
/// renders the smaller frames, the kernels are specialized for them, the
/// grids and buffers shrink): the default script gives the same gestures, a
/// move on the same frames, and each gesture within a frame or two of
/// where the 640 x 480 run finds it (frames 124, 145, 174, 215).
#[test]
fn default_script_at_320x240_gives_the_same_gestures() {
    if !common::has_vulkan() {
        return;
    }
    let ev = run_gesture_with(None, "small", &["--set", "W=320", "--set", "H=240"]);
    assert_eq!(
        kinds(&ev),
        ["press", "release", "swipe_right", "swipe_left"]
    );
    let moves: Vec<u64> = ev
        .iter()
        .filter(|e| e["kind"] == "move")
        .map(|e| e["frame"].as_u64().unwrap())
        .collect();
    assert_eq!(moves, (15..=239).collect::<Vec<u64>>());
    let frames: Vec<u64> = ev
        .iter()
        .filter(|e| e["kind"] != "move")
        .map(|e| e["frame"].as_u64().unwrap())
        .collect();
    for (got, want) in frames.iter().zip([124u64, 145, 174, 215]) {
        assert!(got.abs_diff(want) <= 2, "{frames:?}");
    }
    // The hand's centroid is where the script puts it (x, y in [0, 1]).
    let press = ev.iter().find(|e| e["kind"] == "press").unwrap();
    assert!((press["x"].as_f64().unwrap() - 0.5).abs() < 0.01, "{press}");
    assert!((press["y"].as_f64().unwrap() - 0.5).abs() < 0.01, "{press}");
    // And every event is the CPU reference's at 320 x 240, frame by frame.
    assert_matches_reference(&ev, &[("W", "320"), ("H", "240")]);
}

/// `plan` compiled with `--set` values.
fn plan_with(rel: &str, sets: &[(&str, &str)]) -> ptc_plan::Plan {
    let opts = ptc_compiler::Options {
        sets: sets
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    };
    let r = ptc_compiler::check_file(&root().join(rel), &opts);
    assert!(!r.has_errors(), "{:#?}", r.diagnostics);
    r.plan.unwrap()
}

/// Asserts that `ev` (the JSON lines of `ptc run graphs/gesture.pt` with
/// `sets` and the default script) are the events of the CPU reference
/// (ptc-gesture: synthetic camera, xform, detect at the plan's size and
/// params): the same kinds on the same frames, the same `t`, x and y within
/// 1e-3 of the image.
fn assert_matches_reference(ev: &[Value], sets: &[(&str, &str)]) {
    let cfg = PlanConfig::from_plan(&plan_with("graphs/gesture.pt", sets)).unwrap();
    let cam = SyntheticCamera::new(
        CameraConfig {
            width: cfg.width,
            height: cfg.height,
            ..CameraConfig::default()
        },
        Script::default_script(),
    )
    .unwrap();
    let k = Intrinsics::default(); // graphs/kinect_intrinsics.npy
    let mut state = [0u32; STATE_WORDS];
    let mut want = Vec::new();
    for f in cam {
        let (events, next) = cfg.detect(&cfg.xform(&f.depth, &k), &state);
        state = next;
        want.extend(
            events
                .into_iter()
                .filter(|e| e.kind != 0)
                .map(|e| (f.index, e)),
        );
    }
    let got: Vec<(u64, &str, f64, f64, f64)> = ev
        .iter()
        .map(|e| {
            (
                e["frame"].as_u64().unwrap(),
                e["kind"].as_str().unwrap(),
                e["x"].as_f64().unwrap(),
                e["y"].as_f64().unwrap(),
                e["t"].as_f64().unwrap(),
            )
        })
        .collect();
    let gestures = got
        .iter()
        .map(|g| (g.0, g.1.to_string()))
        .filter(|(_, k)| k != "move")
        .collect::<Vec<_>>();
    let want_gestures = want
        .iter()
        .map(|(n, e)| (*n, e.kind().name().to_string()))
        .filter(|(_, k)| k != "move")
        .collect::<Vec<_>>();
    assert_eq!(
        gestures, want_gestures,
        "gestures (frame, kind): GPU vs CPU reference"
    );
    assert_eq!(got.len(), want.len(), "events: GPU vs CPU reference");
    for (g, (n, w)) in got.iter().zip(&want) {
        assert_eq!((g.0, g.1), (*n, w.kind().name()), "{g:?} vs {w:?}");
        assert!(
            (g.2 - f64::from(w.x)).abs() < 1e-3 && (g.3 - f64::from(w.y)).abs() < 1e-3,
            "frame {n}: {g:?} vs {w:?}"
        );
        assert_eq!(g.4, f64::from(w.t), "frame {n}");
    }
}

/// `--preview-buffer NAME` picks the buffer `--preview` draws (the default
/// comes from the graph: its internal point cloud, at the graph's size);
/// a name the graph lacks, or a buffer that is not a point cloud, is a
/// usage error that lists what can be previewed, before any frame runs.
#[test]
fn preview_buffer_names_the_buffer() {
    use ptc_gesture::preview;
    let png_path =
        std::env::temp_dir().join(format!("ptc-preview-buffer-{}.png", std::process::id()));
    let run = |extra: &[&str]| {
        let out = common::command()
            .args(["run", "graphs/gesture.pt", "--frames", "20", "--preview"])
            .arg(&png_path)
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stderr) = run(&["--preview-buffer", "nope"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "--preview: graph `gesture` has no buffer `nope` (buffers it can preview, vec4<f32>[h, w]: xform.cloud (640x480))"
        ),
        "{stderr}"
    );
    assert!(!png_path.exists(), "nothing written on a usage error");
    let (code, stderr) = run(&["--preview-buffer", "detect_plane.plane"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "buffer `detect_plane.plane` of graph `gesture` is vec4<f32>[2], not a point cloud"
        ),
        "{stderr}"
    );
    // Without --preview it means nothing: a usage error too.
    let out = common::command()
        .args([
            "run",
            "graphs/gesture.pt",
            "--preview-buffer",
            "xform.cloud",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--preview"), "{stderr}");

    if !common::has_vulkan() {
        return;
    }
    // Named, at another size: the PNG is the 320 x 240 cloud.
    let (code, stderr) = run(&[
        "--preview-buffer",
        "xform.cloud",
        "--set",
        "W=320",
        "--set",
        "H=240",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("wrote preview of frame 19 (read back from the GPU's `xform.cloud`)"),
        "{stderr}"
    );
    let (png, w, h) = preview::decode_png(&std::fs::read(&png_path).unwrap()).unwrap();
    std::fs::remove_file(&png_path).ok();
    assert_eq!((w, h), (320, 240));
    let green = png
        .chunks_exact(3)
        .filter(|px| *px == [40, 230, 40])
        .count();
    assert!(green > 50, "no hand box drawn ({green} green pixels)");
}

#[test]
fn sweep_push_and_empty_scripts() {
    if !common::has_vulkan() {
        return;
    }
    let ev = run_gesture(Some("0 0.1 0.5 900\n1.0 0.9 0.5 900\n"), "sweep");
    let xs: Vec<f64> = ev
        .iter()
        .filter(|e| e["kind"] == "move")
        .map(|e| e["x"].as_f64().unwrap())
        .collect();
    assert_eq!(xs.len(), 31);
    assert!(xs[0] < 0.2 && xs[30] > 0.8, "{xs:?}");
    assert!(xs.windows(2).all(|w| w[1] > w[0]), "not monotonic: {xs:?}");

    let push = "0 0.5 0.5 900\n0.2 0.5 0.5 900\n0.4 0.5 0.5 720\n0.7 0.5 0.5 720\n0.9 0.5 0.5 900\n1.0 0.5 0.5 900\n";
    assert_eq!(
        kinds(&run_gesture(Some(push), "push")),
        ["press", "release"]
    );

    assert!(run_gesture(Some("0 none\n0.5 none\n"), "empty").is_empty());
}

#[test]
fn hid_without_uinput_is_a_clear_error() {
    let out = common::command()
        .args(["run", "graphs/gesture.pt", "--hid", "--frames", "1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        // This machine lets us create a virtual pointer: nothing to check.
        return;
    }
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot create the virtual pointer for `to hid`: /dev/uinput"),
        "{stderr}"
    );
    assert!(stderr.contains("help: "), "{stderr}");
}

fn plan(rel: &str) -> ptc_plan::Plan {
    let r = ptc_compiler::check_file(&root().join(rel), &ptc_compiler::Options::default());
    assert!(!r.has_errors(), "{:#?}", r.diagnostics);
    r.plan.unwrap()
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[test]
fn gpu_kernels_match_the_cpu_reference() {
    if !common::has_vulkan() {
        return;
    }
    let mut rt = Runtime::new(&RuntimeOptions {
        validate: true,
        ..Default::default()
    })
    .unwrap();
    let log = rt.validation_log();
    let script = Script::parse(
        "0 0.3 0.5 900\n0.1 0.3 0.5 900\n0.25 0.3 0.5 760\n0.35 0.8 0.5 760\n",
        "t",
    )
    .unwrap();
    let cam = SyntheticCamera::new(CameraConfig::default(), script).unwrap();
    let k = Intrinsics::default();
    let (bp, dp) = (BilateralParams::default(), DetectParams::default());

    // xform: GPU cloud vs CPU cloud on frames with noise and dropouts.
    let gx = rt
        .open_graph(&plan("graphs/gesture_stages/xform.pt"))
        .unwrap();
    let gd = rt
        .open_graph(&plan("graphs/gesture_stages/detect.pt"))
        .unwrap();
    rt.push(gx, "intrinsics", &f32_bytes(&k.to_array()))
        .unwrap();
    let mut state = [0u32; STATE_WORDS];
    let mut kinds_seen = Vec::new();
    let (mut worst_all, mut hands) = (0.0f32, 0u32);
    for f in cam {
        rt.push(gx, "rawimg", &f.to_bytes()).unwrap();
        let gpu: Vec<f32> = rt
            .pull(gx, "cloud")
            .unwrap()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let cpu = reference::xform(&f.depth, WIDTH, HEIGHT, &bp, &k);
        let mut worst = 0.0f32;
        for (i, c) in cpu.iter().enumerate() {
            let g = &gpu[i * 4..i * 4 + 4];
            assert_eq!(g[3], c[3], "valid flag at {i}");
            for j in 0..3 {
                worst = worst.max((g[j] - c[j]).abs());
            }
        }
        // Tolerance: 0.05 mm (GPU exp() and sum order differ from the CPU's).
        assert!(
            worst <= 0.05,
            "frame {}: max |GPU - CPU| = {worst} mm",
            f.index
        );

        // detect: the same cloud through the GPU kernel and the CPU reference.
        rt.push(gd, "cloud", &f32_bytes(&cpu.concat())).unwrap();
        let gev = Event::decode_all(&rt.pull(gd, "events").unwrap());
        let (cev, next) = reference::detect(&cpu, WIDTH, HEIGHT, &state, &dp);
        state = next;
        // The hand itself (state words 5..=12), not only the events: the GPU
        // sums per workgroup and in parallel, the CPU sequentially.
        let gstate: Vec<u32> = rt
            .read_buffer(gd, "detect.next_state")
            .unwrap()
            .unwrap()
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let (gh, ch) = (HandStats::from_state(&gstate), HandStats::from_state(&next));
        // Pixel counts and u/v sums are exact integers on both sides; only a
        // point within f32 rounding of the plane threshold (the plane's sums
        // are ordered differently) could flip, moving the centroid by about
        // (u - cu) / pixels < 0.02 px. Measured on lavapipe: all equal, depth
        // within 1e-4 mm.
        let close = gh.pixels.abs_diff(ch.pixels) <= 2
            && (gh.cu - ch.cu).abs() <= 0.02
            && (gh.cv - ch.cv).abs() <= 0.02
            && (gh.depth - ch.depth).abs() <= 0.05
            && [
                (gh.u0, ch.u0),
                (gh.v0, ch.v0),
                (gh.u1, ch.u1),
                (gh.v1, ch.v1),
            ]
            .iter()
            .all(|(a, b)| (a - b).abs() <= 1.0);
        assert!(close, "frame {}: hand GPU {gh:?} vs CPU {ch:?}", f.index);
        worst_all = worst_all.max(worst);
        hands += u32::from(ch.pixels > 0);
        for (g, c) in gev.iter().zip(cev.iter()) {
            assert_eq!(g.kind, c.kind, "frame {}: {gev:?} vs {cev:?}", f.index);
            assert!(
                (g.x - c.x).abs() < 1e-4 && (g.y - c.y).abs() < 1e-4,
                "{g:?} vs {c:?}"
            );
            assert_eq!(g.t, c.t);
        }
        kinds_seen.extend(cev.iter().filter(|e| e.kind > 1).map(|e| e.kind));
    }
    // The script pushes (press) then swipes right: both paths agreed on them.
    assert_eq!(kinds_seen, [2, 5]);
    assert!(hands > 5, "only {hands} frames with a hand");
    eprintln!("xform: max |GPU - CPU| = {worst_all} mm over all frames");
    rt.terminate(gx).unwrap();
    rt.terminate(gd).unwrap();
    drop(rt);
    let m = log.messages();
    assert!(m.is_empty(), "validation messages:\n{}", m.join("\n"));
}

/// `--preview` draws the cloud the GPU computed: the PNG the binary writes
/// equals the rendering of `Runtime::read_buffer(.., "xform.cloud")` after
/// the same frames in process, and that read-back matches the CPU reference
/// of the last frame's xform within tolerance.
#[test]
fn preview_png_comes_from_the_gpu_cloud() {
    if !common::has_vulkan() {
        return;
    }
    use ptc_gesture::preview;
    const FRAMES: u64 = 24; // the default script's hand is in view from frame 15
    let png_path = std::env::temp_dir().join(format!("ptc-preview-{}.png", std::process::id()));
    let out = common::command()
        .args(["run", "graphs/gesture.pt", "--validate", "--frames"])
        .arg(FRAMES.to_string())
        .arg("--preview")
        .arg(&png_path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ptc run failed: {stderr}");
    assert!(
        stderr.contains("wrote preview of frame 23 (read back from the GPU's `xform.cloud`)"),
        "{stderr}"
    );
    let (png, w, h) = preview::decode_png(&std::fs::read(&png_path).unwrap()).unwrap();
    std::fs::remove_file(&png_path).ok();
    assert_eq!((w, h), (WIDTH, HEIGHT));

    // The same frames through the runtime in process, with validation.
    let mut rt = Runtime::new(&RuntimeOptions {
        validate: true,
        ..Default::default()
    })
    .unwrap();
    let log = rt.validation_log();
    let p = plan("graphs/gesture.pt");
    let g = rt.open_graph(&p).unwrap();
    assert!(rt.read_buffer(g, "xform.cloud").unwrap().is_none());
    let err = rt.read_buffer(g, "nope").unwrap_err().to_string();
    assert!(
        err.contains("has no buffer `nope`") && err.contains("xform.cloud"),
        "{err}"
    );
    let k = Intrinsics::default();
    rt.push(g, "intrinsics", &f32_bytes(&k.to_array())).unwrap();
    let cam = SyntheticCamera::from_source(Some(30.0), None, None).unwrap();
    let mut last = None;
    for f in cam.take(FRAMES as usize) {
        rt.push(g, "usbsrc", &f.to_bytes()).unwrap();
        rt.pull(g, "hid").unwrap();
        last = Some(f);
    }
    let last = last.unwrap();
    assert_eq!(last.index, FRAMES - 1);
    let bytes = rt.read_buffer(g, "xform.cloud").unwrap().unwrap();
    // Reading again (staging reused) gives the same bytes, and the graph
    // keeps running after a read-back (the slot's next writer waits on it).
    assert_eq!(rt.read_buffer(g, "xform.cloud").unwrap().unwrap(), bytes);
    let next = SyntheticCamera::from_source(Some(30.0), None, None)
        .unwrap()
        .render(FRAMES);
    rt.push(g, "usbsrc", &next.to_bytes()).unwrap();
    rt.pull(g, "hid").unwrap();
    let after = rt.read_buffer(g, "xform.cloud").unwrap().unwrap();
    assert_ne!(after, bytes, "the read-back must follow the newest frame");
    rt.terminate(g).unwrap();
    drop(rt);
    let m = log.messages();
    assert!(m.is_empty(), "validation messages:\n{}", m.join("\n"));

    // The read-back is frame 23's cloud (GPU vs CPU reference).
    let gpu = preview::cloud_from_bytes(&bytes);
    let cfg = PlanConfig::from_plan(&p).unwrap();
    assert_eq!((cfg.width, cfg.height), (WIDTH, HEIGHT));
    let cpu = cfg.xform(&last.depth, &k);
    assert_eq!(gpu.len(), cpu.len());
    let mut worst = 0.0f32;
    for (gp, cp) in gpu.iter().zip(&cpu) {
        assert_eq!(gp[3], cp[3]);
        for j in 0..3 {
            worst = worst.max((gp[j] - cp[j]).abs());
        }
    }
    assert!(worst <= 0.05, "max |GPU - CPU| = {worst} mm");
    let hand = cfg.hand_stats(&gpu);
    assert!(hand.pixels >= 400, "{hand:?}");

    // The PNG is exactly the rendering of the GPU read-back, overlay included.
    let want = preview::render_cloud_bytes(&p, &bytes, w, h).unwrap();
    assert!(
        png == want,
        "PNG differs from the rendering of the GPU cloud"
    );
    let green = png
        .chunks_exact(3)
        .filter(|px| *px == [40, 230, 40])
        .count();
    assert!(green > 100, "no hand box drawn ({green} green pixels)");
}

/// `ptc run` of xform writing its 4.7 MiB point clouds to an `.npy` file
/// (frames lent from the output slot to the sink's writer thread, direct
/// I/O): numpy's format as npyz reads it, every frame, each equal to the
/// CPU reference.
#[test]
fn the_cloud_file_ptc_run_writes_equals_the_cpu_reference() {
    if !common::has_vulkan() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("ptc-cloud-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = Script::parse("0 0.3 0.5 900\n0.2 0.6 0.4 700\n", "t").unwrap();
    let cam = SyntheticCamera::new(CameraConfig::default(), script).unwrap();
    let frames: Vec<_> = cam.take(5).collect();
    let k = Intrinsics::default();
    let bp = BilateralParams::default();
    let depth: Vec<u8> = frames.iter().flat_map(|f| f.to_bytes()).collect();
    std::fs::write(dir.join("depth.raw"), depth).unwrap();
    std::fs::write(dir.join("k.raw"), f32_bytes(&k.to_array())).unwrap();
    let out = dir.join("cloud.npy");
    let o = common::command()
        .args([
            "run",
            "graphs/gesture_stages/xform.pt",
            "--validate",
            "--local",
        ])
        .arg("--input")
        .arg(format!("rawimg={}", dir.join("depth.raw").display()))
        .arg("--input")
        .arg(format!("intrinsics={}", dir.join("k.raw").display()))
        .arg("--output")
        .arg(format!("cloud={}", out.display()))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bytes = std::fs::read(&out).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    assert_eq!(npy.shape(), &[5, HEIGHT as u64, WIDTH as u64, 4]);
    let got: Vec<f32> = npy.into_vec().unwrap();
    let per = WIDTH * HEIGHT * 4;
    for (n, f) in frames.iter().enumerate() {
        let gpu = &got[n * per..(n + 1) * per];
        let cpu = reference::xform(&f.depth, WIDTH, HEIGHT, &bp, &k);
        for (i, c) in cpu.iter().enumerate() {
            let g = &gpu[i * 4..i * 4 + 4];
            assert_eq!(g[3], c[3], "frame {n}: valid flag at {i}");
            for j in 0..3 {
                assert!(
                    (g[j] - c[j]).abs() <= 0.05,
                    "frame {n} at {i}: {g:?} vs {c:?}"
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
