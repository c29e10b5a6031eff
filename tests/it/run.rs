//! `ptc run` on the real binary (lavapipe in CI, validation on): compiled
//! plans give byte-identical outputs to the .pt, bad data and bad plans give
//! the documented exit codes and leave no output file behind.

use npyz::WriterBuilder;
use ptc_plan::spirv::{from_base64, to_base64};
use ptc_plan::Plan;
use std::path::{Path, PathBuf};

use crate::common;
use common::root;

fn scratch(name: &str) -> PathBuf {
    common::scratch("ptc-run-it", name)
}

/// `ptc ARGS...` with validation messages kept out of stderr (they still
/// fail the run).
fn ptc(args: &[&str]) -> (i32, String) {
    common::status(
        common::command()
            .args(args)
            .env("PTC_VALIDATION_QUIET", "1"),
    )
}

fn have_vulkan() -> bool {
    common::has_vulkan()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

fn write_npy_f32(path: &Path, shape: &[u64], data: &[f32]) {
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(shape)
        .writer(std::io::BufWriter::new(
            std::fs::File::create(path).unwrap(),
        ))
        .begin_nd()
        .unwrap();
    w.extend(data.iter().copied()).unwrap();
    w.finish().unwrap();
}

fn write_npy_f64(path: &Path, shape: &[u64], data: &[f64]) {
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(shape)
        .writer(std::io::BufWriter::new(
            std::fs::File::create(path).unwrap(),
        ))
        .begin_nd()
        .unwrap();
    w.extend(data.iter().copied()).unwrap();
    w.finish().unwrap();
}

fn read_npy_f32(path: &Path) -> (Vec<u64>, Vec<f32>) {
    let f =
        npyz::NpyFile::new(std::io::BufReader::new(std::fs::File::open(path).unwrap())).unwrap();
    let shape = f.shape().to_vec();
    (shape, f.into_vec::<f32>().unwrap())
}

/// A saxpy2 variant of `n` elements in `dir` (kernels resolve via --kernel-path).
fn saxpy_pt(dir: &Path, n: usize) -> PathBuf {
    let text = std::fs::read_to_string(root().join("graphs/saxpy2.pt"))
        .unwrap()
        .replace("1048576", &n.to_string());
    let p = dir.join("saxpy.pt");
    std::fs::write(&p, text).unwrap();
    p
}

fn no_output_left(dir: &Path) {
    let left: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("out"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn compiled_plan_runs_byte_identical_to_the_graph() {
    if !have_vulkan() {
        return;
    }
    let d = scratch("identical");
    let n = 1001;
    let pt = saxpy_pt(&d, n);
    let root_s = root().to_string_lossy().into_owned();
    let x: Vec<f32> = (0..3 * n).map(|i| (i as f32 * 0.37).sin()).collect();
    let y: Vec<f32> = (0..3 * n).map(|i| (i as f32 * 0.11).cos()).collect();
    write_npy_f32(&d.join("x.npy"), &[3, n as u64], &x);
    write_npy_f32(&d.join("y.npy"), &[3, n as u64], &y);
    let plan = d.join("plan.yaml");
    let (c, e) = ptc(&["compile", s(&pt), "-o", s(&plan), "--kernel-path", &root_s]);
    assert_eq!(c, 0, "{e}");
    let xi = format!("x={}", s(&d.join("x.npy")));
    let yi = format!("y={}", s(&d.join("y.npy")));
    let o1 = d.join("z1.npy");
    let o2 = d.join("z2.npy");
    let (c, e) = ptc(&[
        "run",
        s(&pt),
        "--kernel-path",
        &root_s,
        "--input",
        &xi,
        "--input",
        &yi,
        "--output",
        &format!("z={}", s(&o1)),
        "--validate",
    ]);
    assert_eq!(c, 0, "{e}");
    assert!(e.contains("z: 3 frames"), "{e}");
    assert!(
        e.contains("scale") && e.contains("firings"),
        "stats table missing: {e}"
    );
    let (c, e) = ptc(&[
        "run",
        s(&plan),
        "--input",
        &xi,
        "--input",
        &yi,
        "--output",
        &format!("z={}", s(&o2)),
        "--validate",
    ]);
    assert_eq!(c, 0, "{e}");
    let b1 = std::fs::read(&o1).unwrap();
    let b2 = std::fs::read(&o2).unwrap();
    assert_eq!(b1, b2, "plan and graph outputs differ");
    let (shape, z) = read_npy_f32(&o1);
    assert_eq!(shape, vec![3, n as u64]);
    for i in 0..3 * n {
        let want = 2.0 * x[i] + y[i];
        assert!(
            (z[i] - want).abs() <= 1e-6 * want.abs().max(1.0),
            "[{i}] {} vs {want}",
            z[i]
        );
    }
    // --frames stops early; raw output for other extensions.
    let raw = d.join("z.bin");
    let (c, e) = ptc(&[
        "run",
        s(&plan),
        "--input",
        &xi,
        "--input",
        &yi,
        "--output",
        &format!("z={}", s(&raw)),
        "--frames",
        "2",
        "--validate",
        "--force-staging",
    ]);
    assert_eq!(c, 0, "{e}");
    let rb = std::fs::read(&raw).unwrap();
    assert_eq!(rb.len(), 2 * n * 4);
    assert_eq!(&rb[..], &b1[b1.len() - 3 * n * 4..b1.len() - n * 4]);
}

#[test]
fn jacobi_runs_k_frames_from_the_cli() {
    if !have_vulkan() {
        return;
    }
    let d = scratch("jacobi");
    let n = 1000;
    let f: Vec<f32> = (0..n).map(|i| 1.0 + (i % 7) as f32).collect();
    write_npy_f32(&d.join("f.npy"), &[n as u64], &f);
    let out = d.join("x.npy");
    let (c, e) = ptc(&[
        "run",
        "graphs/jacobi.pt",
        "--input",
        &format!("f={}", s(&d.join("f.npy"))),
        "--output",
        &format!("x={}", s(&out)),
        "--frames",
        "25",
        "--validate",
    ]);
    assert_eq!(c, 0, "{e}");
    let (shape, x) = read_npy_f32(&out);
    assert_eq!(shape, vec![25, n as u64]);
    let mut cpu = vec![0f32; n];
    for _ in 0..25 {
        cpu = (0..n)
            .map(|i| {
                let l = if i > 0 { cpu[i - 1] } else { 0.0 };
                let r = if i + 1 < n { cpu[i + 1] } else { 0.0 };
                0.5 * (l + r + 0.000001 * f[i])
            })
            .collect();
    }
    let last = &x[24 * n..];
    for i in 0..n {
        assert!(
            (last[i] - cpu[i]).abs() <= 1e-5 * cpu[i].abs().max(1e-6),
            "[{i}]"
        );
    }
}

#[test]
fn bad_data_and_usage_give_exit_codes_and_no_output() {
    if !have_vulkan() {
        return;
    }
    let d = scratch("bad");
    let n = 64;
    let pt = saxpy_pt(&d, n);
    let root_s = root().to_string_lossy().into_owned();
    let good: Vec<f32> = vec![1.0; n];
    write_npy_f32(&d.join("good.npy"), &[n as u64], &good);
    write_npy_f32(&d.join("short.npy"), &[n as u64 - 1], &good[1..]);
    write_npy_f64(&d.join("f64.npy"), &[n as u64], &vec![1.0; n]);
    std::fs::write(d.join("odd.raw"), vec![0u8; 4 * n + 2]).unwrap();
    let out = format!("z={}", s(&d.join("out.npy")));
    let gi = format!("x={}", s(&d.join("good.npy")));
    let run = |extra: &[&str]| {
        let mut a = vec!["run", s(&pt), "--kernel-path", &root_s, "--output", &out];
        a.extend_from_slice(extra);
        ptc(&a)
    };
    let cases: Vec<(Vec<String>, i32, &str)> = vec![
        (
            vec![gi.clone(), format!("y={}", s(&d.join("short.npy")))],
            1,
            "shape is [63] but the port needs [64]",
        ),
        (
            vec![gi.clone(), format!("y={}", s(&d.join("f64.npy")))],
            1,
            "dtype is '<f8' but the port is f32[64]",
        ),
        (
            vec![gi.clone(), format!("y={}", s(&d.join("odd.raw")))],
            1,
            "must hold whole frames",
        ),
        (
            vec![gi.clone()],
            2,
            "input `y` has no source: pass --input y=FILE",
        ),
        (
            vec![gi.clone(), "w=foo.npy".into()],
            2,
            "has no input `w` (inputs: x, y)",
        ),
        (
            vec![gi.clone(), format!("y={}", s(&d.join("missing.npy")))],
            2,
            "cannot open input",
        ),
        (vec![gi.clone(), "y".into()], 2, "expects PORT=FILE"),
    ];
    for (inputs, code, msg) in cases {
        let mut extra = Vec::new();
        for i in &inputs {
            extra.push("--input");
            extra.push(i.as_str());
        }
        let (c, e) = run(&extra);
        assert_eq!(c, code, "{inputs:?}: {e}");
        assert!(e.contains(msg), "{inputs:?}: expected `{msg}` in:\n{e}");
        no_output_left(&d);
    }
}

#[test]
fn corrupt_spirv_and_missing_features_are_refused() {
    if !have_vulkan() {
        return;
    }
    let d = scratch("plans");
    let n = 64;
    let pt = saxpy_pt(&d, n);
    let root_s = root().to_string_lossy().into_owned();
    let plan_path = d.join("plan.yaml");
    let (c, e) = ptc(&[
        "compile",
        s(&pt),
        "-o",
        s(&plan_path),
        "--kernel-path",
        &root_s,
    ]);
    assert_eq!(c, 0, "{e}");
    let plan = Plan::from_yaml(&std::fs::read_to_string(&plan_path).unwrap()).unwrap();
    write_npy_f32(&d.join("x.npy"), &[n as u64], &vec![1.0; n]);
    let xi = format!("x={}", s(&d.join("x.npy")));
    let out = format!("z={}", s(&d.join("out.npy")));

    // Corrupt the SPIR-V after the header (magic number intact).
    let mut bad = plan.clone();
    let m = bad.ptasks[1].module;
    let mut words = from_base64(&bad.modules[m].spirv).unwrap();
    for w in words.iter_mut().skip(5).step_by(3) {
        *w = 0xDEAD_BEEF;
    }
    bad.modules[m].spirv = to_base64(&words);
    // Runs `plan` (written next to the inputs) on x and y, output z.
    let run_plan = |plan: &Plan, name: &str| {
        let path = d.join(name);
        std::fs::write(&path, plan.to_yaml().unwrap()).unwrap();
        let yi = xi.replace("x=", "y=");
        ptc(&[
            "run",
            s(&path),
            "--input",
            &xi,
            "--input",
            &yi,
            "--output",
            &out,
            "--validate",
        ])
    };
    let (c, e) = run_plan(&bad, "bad.yaml");
    assert_eq!(c, 1, "{e}");
    assert!(e.to_lowercase().contains("spir"), "{e}");
    no_output_left(&d);

    // A module whose interface still reflects as the plan says, but whose
    // function lost its `OpReturn` (now `OpNop`): lavapipe crashed on it
    // in vkCreateComputePipelines (SIGSEGV, exit 139). spirv-val refuses
    // it before any driver call: exit 1, the validator's message naming
    // the ptask and module.
    let mut bad = plan.clone();
    let m = bad.ptasks[0].module;
    let mut words = from_base64(&bad.modules[m].spirv).unwrap();
    let mut i = 5;
    while words[i] & 0xffff != 253 {
        i += (words[i] >> 16).max(1) as usize;
    }
    words[i] = 1 << 16;
    bad.modules[m].spirv = to_base64(&words);
    let (c, e) = run_plan(&bad, "noreturn.yaml");
    assert_eq!(c, 1, "{e}");
    assert!(
        e.contains(&format!(
            "noreturn.yaml`: ptask `scale`: module {m} (`kernels/scale.comp`): \
             invalid SPIR-V for Vulkan 1.2 (SPIR-V 1.5): Function end cannot be called in blocks"
        )),
        "{e}"
    );
    no_output_left(&d);

    // A plan asking for more than the device has: 1 GiB storage buffers and
    // 2^31 - 1 workgroups per dimension (the compiler refuses such graphs,
    // so edit the plan).
    let mut big = plan.clone();
    big.requirements.max_buffer_bytes = 1 << 30;
    big.requirements.max_workgroups = [u32::MAX >> 1, 1, 1];
    let (c, e) = run_plan(&big, "big.yaml");
    if e.contains("maxStorageBufferRange") || e.contains("maxComputeWorkGroupCount") {
        assert_eq!(c, 2, "{e}");
        assert!(e.contains("device `") && e.contains("` lacks "), "{e}");
    } else {
        panic!("expected a missing-feature error, got ({c}): {e}");
    }
    no_output_left(&d);
}

#[test]
fn oversized_and_deeply_nested_plans_are_refused_quickly() {
    // No device needed: the plan is refused while loading. Before, `ptc run
    // /dev/zero` read until memory ran out, and a 40 000-deep flow sequence
    // took 12 s (quadratic in the depth).
    let d = scratch("bounded-plans");
    let deep = d.join("deep.yaml");
    std::fs::write(
        &deep,
        format!(
            "version: 2\ngraph: {}{}\n",
            "[".repeat(400_000),
            "]".repeat(400_000)
        ),
    )
    .unwrap();
    let t = std::time::Instant::now();
    let (c, e) = ptc(&["run", s(&deep)]);
    assert_eq!(c, 1, "{e}");
    assert!(
        e.contains("deep.yaml`: line 2: YAML flow collections (`[`, `{`) nested more than 32 deep"),
        "{e}"
    );
    if cfg!(unix) {
        let (c, e) = ptc(&["run", "/dev/zero"]);
        assert_eq!(c, 1, "{e}");
        assert!(
            e.contains("`/dev/zero`: the plan is larger than 64 MiB"),
            "{e}"
        );
    }
    assert!(
        t.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        t.elapsed()
    );
}
