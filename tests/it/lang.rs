//! The `.pt` language end to end: graphs written with its features are
//! compiled and run by the real binary (lavapipe, validation on), and their
//! outputs are compared with a reference computed here on the CPU.

use npyz::WriterBuilder;
use std::path::{Path, PathBuf};

use crate::common;

fn scratch(name: &str) -> PathBuf {
    common::scratch("ptc-lang-it", name)
}

/// `ptc ARGS...` with Vulkan validation on (any message fails the run).
fn ptc(args: &[&str]) -> (i32, String) {
    common::status(
        common::command()
            .args(args)
            .env("PTC_VALIDATE", "1")
            .env("PTC_VALIDATION_QUIET", "1"),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

fn write_npy_f32(path: &Path, shape: &[u64], data: &[f32]) {
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(shape)
        .writer(std::io::BufWriter::new(
            std::fs::File::create(path).expect("create npy"),
        ))
        .begin_nd()
        .expect("npy header");
    w.extend(data.iter().copied()).expect("npy data");
    w.finish().expect("npy end");
}

fn read_npy_f32(path: &Path) -> (Vec<u64>, Vec<f32>) {
    let f = npyz::NpyFile::new(std::io::BufReader::new(
        std::fs::File::open(path).expect("open npy"),
    ))
    .expect("npy header");
    let shape = f.shape().to_vec();
    (shape, f.into_vec::<f32>().expect("f32 npy"))
}

/// Asserts `got` equals `want` within `tol` (relative to each magnitude).
fn assert_close(got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "lengths differ");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * w.abs().max(1.0),
            "element {i}: got {g}, want {w}"
        );
    }
}

/// Deterministic test data.
fn data(n: usize, seed: u32) -> Vec<f32> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x % 2000) as f32 / 100.0 - 10.0
        })
        .collect()
}

/// A seeded `sticky` input with no channel is a constant: every frame adds it.
#[test]
fn seeded_sticky_without_a_channel_is_a_constant() {
    if !common::has_vulkan() {
        return;
    }
    let d = scratch("sticky");
    let x = data(4 * 3, 1);
    write_npy_f32(&d.join("x.npy"), &[3, 4], &x);
    let (code, err) = ptc(&[
        "run",
        "tests/ui/sticky_seeded_ok.pt",
        "--input",
        &format!("x={}", s(&d.join("x.npy"))),
        "--output",
        &format!("y={}", s(&d.join("y.npy"))),
    ]);
    assert_eq!(code, 0, "{err}");
    let (shape, y) = read_npy_f32(&d.join("y.npy"));
    assert_eq!(shape, vec![3, 4]);
    let want: Vec<f32> = x.iter().map(|v| v + 1.5).collect();
    assert_close(&y, &want, 0.0);
}

/// What `ptc check` refuses for a device limit, `ptc run` refuses too; a
/// plan that needs more than the device offers is refused when opened.
#[test]
fn device_limits_are_refused_by_check_and_run() {
    for case in [
        "tests/ui/kernel_shared_memory.pt",
        "tests/ui/kernel_workgroup_count.pt",
        "tests/ui/kernel_push_constant_size.pt",
    ] {
        let (code, err) = ptc(&["check", case]);
        assert_eq!(code, 1, "{case}: {err}");
        if common::has_vulkan() {
            let (code, err) = ptc(&["run", case, "--frames", "1"]);
            assert_eq!(code, 1, "{case}: {err}");
            assert!(err.contains("ptc::device_limit"), "{case}: {err}");
        }
    }
    if !common::has_vulkan() {
        return;
    }
    // lavapipe has 32 KiB of shared memory: a plan asking for 64 KiB is
    // refused before anything runs (exit 2: the device lacks it).
    let d = scratch("limits");
    let plan = d.join("p.yaml");
    let (code, err) = ptc(&["compile", "tests/ui/sticky_seeded_ok.pt", "-o", s(&plan)]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&plan).expect("plan");
    let text = text.replace(
        "requirements:\n",
        "requirements:\n  shared_memory_bytes: 65536\n",
    );
    std::fs::write(&plan, text).expect("edit plan");
    write_npy_f32(&d.join("x.npy"), &[4], &[1.0; 4]);
    let x = format!("x={}", s(&d.join("x.npy")));
    let (code, err) = ptc(&["run", s(&plan), "--input", &x]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("64 KiB (maxComputeSharedMemorySize is 32768)"),
        "{err}"
    );
}

/// The library's separable blur pass on the CPU (sigma = radius / 2,
/// clamped edges, weights normalised by their sum).
fn blur_ref(img: &[f32], w: usize, h: usize, axis: usize, radius: i64) -> Vec<f32> {
    let sigma = (radius as f32 * 0.5).max(0.5);
    let weights: Vec<f32> = (-radius..=radius)
        .map(|d| (-((d * d) as f32) / (2.0 * sigma * sigma)).exp())
        .collect();
    let mut out = vec![0.0f32; w * h];
    for y in 0..h {
        for x in 0..w {
            let (mut acc, mut norm) = (0.0f32, 0.0f32);
            for (k, d) in (-radius..=radius).enumerate() {
                let (sx, sy) = if axis == 0 {
                    ((x as i64 + d).clamp(0, w as i64 - 1) as usize, y)
                } else {
                    (x, (y as i64 + d).clamp(0, h as i64 - 1) as usize)
                };
                acc += weights[k] * img[sy * w + sx];
                norm += weights[k];
            }
            out[y * w + x] = acc / norm;
        }
    }
    out
}

/// One graph file, two sizes: `graphs/blur.pt` run with `--set W=.. --set
/// H=..` (the shapes, the kernels' spec constants and the dispatch all
/// follow), compared with a CPU blur.
#[test]
fn one_graph_runs_at_two_sizes_with_set() {
    if !common::has_vulkan() {
        return;
    }
    for (w, h) in [(64usize, 48usize), (40, 30)] {
        let d = scratch(&format!("blur{w}x{h}"));
        let img = data(w * h, w as u32);
        write_npy_f32(&d.join("img.npy"), &[1, h as u64, w as u64], &img);
        let (code, err) = ptc(&[
            "run",
            "graphs/blur.pt",
            "--set",
            &format!("W={w}"),
            "--set",
            &format!("H={h}"),
            "--input",
            &format!("img={}", s(&d.join("img.npy"))),
            "--output",
            &format!("blurred={}", s(&d.join("out.npy"))),
        ]);
        assert_eq!(code, 0, "{w}x{h}: {err}");
        let (shape, got) = read_npy_f32(&d.join("out.npy"));
        assert_eq!(shape, vec![h as u64, w as u64]);
        let want = blur_ref(&blur_ref(&img, w, h, 0, 3), w, h, 1, 3);
        assert_close(&got, &want, 1e-5);
    }
    // An unknown name is refused, naming the consts there are.
    let out = common::command()
        .args(["check", "graphs/blur.pt", "--set", "WIDTH=3"])
        .output()
        .expect("run ptc");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("`--set WIDTH=...`: the file has no const `WIDTH`")
            && text.contains("its consts are `H`, `RADIUS`, `W`"),
        "{text}"
    );
}

/// `graphs/linalg.pt`: one template instantiated twice with different
/// arguments (saxpy, its alpha in a uniform buffer), an HLSL kernel, a
/// reduction sized by `local_size_x_id` and a `spec`, and a tiled matrix
/// product whose sizes and shared tiles are spec constants.
#[test]
fn library_templates_hlsl_uniform_params_and_specs_match_the_cpu() {
    let d = scratch("linalg");
    let plan_path = d.join("linalg.yaml");
    let (code, err) = ptc(&["compile", "graphs/linalg.pt", "-o", s(&plan_path)]);
    assert_eq!(code, 0, "{err}");
    let plan = ptc_plan::Plan::from_yaml(&std::fs::read_to_string(&plan_path).expect("plan"))
        .expect("valid plan");
    let p = |name: &str| {
        plan.ptasks
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no ptask {name}"))
    };
    // Two instances of one template share one module, each specialized.
    let (s1, s2) = (p("s1"), p("s2"));
    assert_eq!(s1.module, s2.module);
    assert_eq!((s1.local_size, s2.local_size), ([256, 1, 1], [64, 1, 1]));
    assert_eq!((s1.workgroups, s2.workgroups), ([16, 1, 1], [64, 1, 1]));
    let alpha = |p: &ptc_plan::PtaskPlan| {
        let u = p
            .uniform_params
            .as_ref()
            .expect("saxpy's params are a uniform block");
        assert_eq!((u.binding, u.size), (3, 16));
        assert!(p.push_constants.is_empty());
        u.members[0].value
    };
    use ptc_plan::types::Value;
    assert_eq!((alpha(s1), alpha(s2)), (Value::F32(2.0), Value::F32(-0.5)));
    assert_eq!(p("k3").entry, "CSMain");
    assert_eq!(p("r").local_size, [128, 1, 1]);
    assert_eq!(p("mm").local_size, [8, 8, 1]);
    assert_eq!(p("mm").workgroups, [4, 8, 1]);
    assert_eq!(plan.requirements.shared_memory_bytes, 512);
    if !common::has_vulkan() {
        return;
    }
    let n = 4096;
    let (m, k, q) = (64usize, 48usize, 32usize);
    let (x, y) = (data(n, 1), data(n, 2));
    let (a, b) = (data(m * k, 3), data(k * q, 4));
    write_npy_f32(&d.join("x.npy"), &[n as u64], &x);
    write_npy_f32(&d.join("y.npy"), &[n as u64], &y);
    write_npy_f32(&d.join("a.npy"), &[m as u64, k as u64], &a);
    write_npy_f32(&d.join("b.npy"), &[k as u64, q as u64], &b);
    let arg = |port: &str, file: &str| format!("{port}={}", s(&d.join(file)));
    let (code, err) = ptc(&[
        "run",
        s(&plan_path),
        "--input",
        &arg("x", "x.npy"),
        "--input",
        &arg("y", "y.npy"),
        "--input",
        &arg("a", "a.npy"),
        "--input",
        &arg("b", "b.npy"),
        "--output",
        &arg("t", "t.npy"),
        "--output",
        &arg("total", "total.npy"),
        "--output",
        &arg("c", "c.npy"),
    ]);
    assert_eq!(code, 0, "{err}");
    // u = 2x + y, z = -0.5u + x, t = 3z, total = sum(t), c = a b.
    let t: Vec<f32> = x
        .iter()
        .zip(&y)
        .map(|(x, y)| 3.0 * (-0.5 * (2.0 * x + y) + x))
        .collect();
    assert_close(&read_npy_f32(&d.join("t.npy")).1, &t, 1e-6);
    let total: f64 = t.iter().map(|v| f64::from(*v)).sum();
    let got = read_npy_f32(&d.join("total.npy")).1;
    assert!(
        (f64::from(got[0]) - total).abs() <= 1e-3 * total.abs().max(1.0),
        "total: got {}, want {total}",
        got[0]
    );
    let mut c = vec![0.0f32; m * q];
    for i in 0..m {
        for j in 0..q {
            c[i * q + j] = (0..k).map(|l| a[i * k + l] * b[l * q + j]).sum();
        }
    }
    assert_close(&read_npy_f32(&d.join("c.npy")).1, &c, 1e-4);
}

/// A `.spv` kernel built with glslc is reflected, checked, specialized and
/// run like the GLSL it came from.
#[test]
fn a_precompiled_spirv_kernel_runs_like_its_glsl() {
    let d = scratch("spv");
    let spv = d.join("scale.spv");
    let built = std::process::Command::new("glslc")
        .args(["-fshader-stage=compute", "--target-env=vulkan1.2"])
        .arg(common::root().join("graphs/lib/kernels/scale.comp"))
        .arg("-o")
        .arg(&spv)
        .output();
    match built {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!("glslc failed: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => {
            println!("SKIP: glslc is not installed ({e})");
            return;
        }
    }
    let graph = d.join("g.pt");
    std::fs::write(
        &graph,
        "const N = 1000;
graph g {
    input x: f32[N];
    output y: f32[N];
    ptask s {
        kernel \"scale.spv\";
        spec WG: u32 = 32;
        in a: f32[N];
        param k: f32 = -1.5;
        out b: f32[N];
    }
    x -> s.a;
    s.b -> y;
}
",
    )
    .expect("write graph");
    let plan_path = d.join("g.yaml");
    let (code, err) = ptc(&["compile", s(&graph), "-o", s(&plan_path)]);
    assert_eq!(code, 0, "{err}");
    let plan = ptc_plan::Plan::from_yaml(&std::fs::read_to_string(&plan_path).expect("plan"))
        .expect("valid plan");
    assert_eq!(plan.ptasks[0].local_size, [32, 1, 1]);
    // `--set` cannot change a compiled plan: ptc run says so.
    let (code, err) = ptc(&["run", s(&plan_path), "--set", "N=4", "--frames", "0"]);
    assert!(
        err.contains("--set does not apply to")
            && err.contains("recompile with `ptc compile --set"),
        "{code}: {err}"
    );
    assert_eq!(plan.ptasks[0].workgroups, [32, 1, 1]);
    if !common::has_vulkan() {
        return;
    }
    let x = data(1000, 9);
    write_npy_f32(&d.join("x.npy"), &[1000], &x);
    let (code, err) = ptc(&[
        "run",
        s(&graph),
        "--input",
        &format!("x={}", s(&d.join("x.npy"))),
        "--output",
        &format!("y={}", s(&d.join("y.npy"))),
    ]);
    assert_eq!(code, 0, "{err}");
    let want: Vec<f32> = x.iter().map(|v| -1.5 * v).collect();
    assert_close(&read_npy_f32(&d.join("y.npy")).1, &want, 0.0);
}
