//! The `.pt` language end to end: graphs written with its features are
//! compiled and run by the real binary (lavapipe, validation on), and their
//! outputs are compared with a reference computed here on the CPU.

use npyz::WriterBuilder;
use std::path::{Path, PathBuf};

mod common;

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
