//! The example graphs (graphs/*.pt) compiled by ptc_compiler and run on the
//! device under validation, against CPU references, for several sizes
//! (including ones not divisible by the workgroup size). Variants are
//! generated into a temporary directory; kernels resolve to the repo's.

use crate::common;
use common::*;
use ptc_compiler::{check_file, Options};
use ptc_plan::Plan;
use std::path::PathBuf;

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ptc-rt-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Compiles graph source `text` (written as `name.pt` in a temp dir).
fn compile(name: &str, text: &str) -> Plan {
    let path = tmpdir(name).join(format!("{name}.pt"));
    std::fs::write(&path, text).expect("write graph");
    let report = check_file(
        &path,
        &Options {
            kernel_paths: vec![root()],
            skip_kernels: false,
            ..Options::default()
        },
    );
    let msgs: Vec<String> = report
        .diagnostics
        .iter()
        .map(|d| d.message.clone())
        .collect();
    report
        .plan
        .unwrap_or_else(|| panic!("{name} did not compile: {msgs:?}"))
}

fn graph_text(file: &str) -> String {
    std::fs::read_to_string(root().join("graphs").join(file)).expect("graph exists")
}

fn rand_u32(n: usize, seed: u64) -> Vec<u32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 32) as u32
        })
        .collect()
}

#[test]
fn saxpy2_pt_matches_cpu() {
    let Some((mut rt, log)) = runtime(false) else {
        return;
    };
    for n in [1usize, 1000, 4099] {
        let plan = compile(
            &format!("saxpy2_{n}"),
            &graph_text("saxpy2.pt").replace("1048576", &n.to_string()),
        );
        let g = rt.open_graph(&plan).expect("open");
        let x = rand_f32(n, 11);
        let y = rand_f32(n, 12);
        rt.push(g, "x", &bytes_f32(&x)).unwrap();
        rt.push(g, "y", &bytes_f32(&y)).unwrap();
        let z = f32s(&rt.pull(g, "z").unwrap());
        let want: Vec<f32> = x.iter().zip(&y).map(|(a, b)| 2.0 * a + b).collect();
        close(&z, &want, 1e-6);
        rt.terminate(g).unwrap();
    }
    drop(rt);
    assert_clean(&log);
}

fn matmul(a: &[f32], b: &[f32], n: usize) -> Vec<f32> {
    let mut c = vec![0f32; n * n];
    for r in 0..n {
        for col in 0..n {
            let mut s = 0f32;
            for k in 0..n {
                s += a[r * n + k] * b[k * n + col];
            }
            c[r * n + col] = s;
        }
    }
    c
}

#[test]
fn matmul3_matches_cpu() {
    let Some((mut rt, log)) = runtime(false) else {
        return;
    };
    for n in [1usize, 17, 40] {
        let plan = compile(
            &format!("matmul3_{n}"),
            &graph_text("matmul3.pt").replace("256", &n.to_string()),
        );
        let g = rt.open_graph(&plan).expect("open");
        for frame in 0..2u64 {
            let m: Vec<Vec<f32>> = (0..4).map(|i| rand_f32(n * n, 10 * frame + i)).collect();
            for (port, v) in ["a", "b", "c", "d"].iter().zip(&m) {
                rt.push(g, port, &bytes_f32(v)).unwrap();
            }
            let e = f32s(&rt.pull(g, "e").unwrap());
            let want = matmul(&matmul(&matmul(&m[0], &m[1], n), &m[2], n), &m[3], n);
            // Sums of n products in a different order/fusion: relative 1e-4
            // of the magnitude (entries grow like n^1.5).
            let scale = want.iter().fold(1f32, |a, v| a.max(v.abs()));
            for (i, (g, w)) in e.iter().zip(&want).enumerate() {
                assert!((g - w).abs() <= 1e-4 * scale, "n={n} [{i}]: {g} vs {w}");
            }
        }
        rt.terminate(g).unwrap();
    }
    drop(rt);
    assert_clean(&log);
}

/// The bitonic graph for `n` keys, as graphs/gen_bitonic.py writes it.
pub fn bitonic_text(n: usize) -> String {
    let mut p = 1;
    while p < n {
        p *= 2;
    }
    let mut passes = Vec::new();
    let mut k = 2;
    while k <= p {
        let mut j = k / 2;
        while j >= 1 {
            passes.push((j, k));
            j /= 2;
        }
        k *= 2;
    }
    let mut s =
        format!("graph bitonic {{\n    input keys: u32[{n}];\n    output sorted: u32[{n}];\n");
    for (i, (j, k)) in passes.iter().enumerate() {
        s += &format!(
            "    ptask p{i} {{ kernel \"kernels/bitonic.comp\"; in a: u32[{n}]; param j: u32 = {j}; param k: u32 = {k}; out b: u32[{n}]; }}\n"
        );
    }
    let mut prev = "keys".to_string();
    for i in 0..passes.len() {
        s += &format!("    {prev} -> p{i}.a;\n");
        prev = format!("p{i}.b");
    }
    s += &format!("    {prev} -> sorted;\n}}\n");
    s
}

#[test]
fn bitonic_sorts_any_size() {
    let Some((mut rt, log)) = runtime(false) else {
        return;
    };
    for (n, frame_path) in [
        (1usize, true),
        (7, true),
        (100, false),
        (1000, true),
        (1025, false),
    ] {
        let plan = compile(&format!("bitonic_{n}"), &bitonic_text(n));
        let g = rt.open_graph(&plan).expect("open");
        rt.set_frame_path(g, frame_path).unwrap();
        for frame in 0..2u64 {
            let keys = rand_u32(n, 100 + frame);
            rt.push(g, "keys", &bytes_u32(&keys)).unwrap();
            let got = u32s(&rt.pull(g, "sorted").unwrap());
            let mut want = keys.clone();
            want.sort_unstable();
            assert_eq!(got, want, "n = {n}");
        }
        rt.terminate(g).unwrap();
    }
    drop(rt);
    assert_clean(&log);
}

#[test]
fn bitonic_pt_is_what_the_generator_writes() {
    let file = graph_text("bitonic.pt");
    let body: String = file
        .lines()
        .filter(|l| !l.starts_with("//"))
        .map(|l| l.trim())
        .collect();
    let gen: String = bitonic_text(1000).lines().map(|l| l.trim()).collect();
    assert_eq!(body.replace(' ', ""), gen.replace(' ', ""));
}

fn jacobi_cpu(f: &[f32], h2: f32, iters: usize) -> Vec<f32> {
    let n = f.len();
    let mut x = vec![0f32; n];
    for _ in 0..iters {
        let y: Vec<f32> = (0..n)
            .map(|i| {
                let l = if i > 0 { x[i - 1] } else { 0.0 };
                let r = if i + 1 < n { x[i + 1] } else { 0.0 };
                0.5 * (l + r + h2 * f[i])
            })
            .collect();
        x = y;
    }
    x
}

#[test]
fn jacobi_seeded_cycle_matches_cpu() {
    for staging in [false, true] {
        let Some((mut rt, log)) = runtime(staging) else {
            return;
        };
        for n in [5usize, 63, 1000] {
            let plan = compile(
                &format!("jacobi_{n}"),
                &graph_text("jacobi.pt")
                    .replace("1000", &n.to_string())
                    .replace("0.000001", "0.01"),
            );
            let g = rt.open_graph(&plan).expect("open");
            let f: Vec<f32> = rand_f32(n, 5).iter().map(|v| v + 1.5).collect();
            rt.push(g, "f", &bytes_f32(&f)).unwrap();
            let iters = 40;
            let mut last = Vec::new();
            for k in 1..=iters {
                last = f32s(&rt.pull(g, "x").unwrap());
                if k == 1 || k == 7 {
                    close(&last, &jacobi_cpu(&f, 0.01, k), 1e-5);
                }
            }
            close(&last, &jacobi_cpu(&f, 0.01, iters), 1e-5);
            rt.terminate(g).unwrap();
        }
        drop(rt);
        assert_clean(&log);
    }
}
