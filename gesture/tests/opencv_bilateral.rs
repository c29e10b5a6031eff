//! The CPU reference bilateral filter (the definition the GPU xform kernel
//! is tested against) matches OpenCV's `cv2.bilateralFilter` on the
//! reference crops in `tests/data/` (made by `scripts/opencv_ref.py`).
//!
//! Tolerance: 0.01 mm absolute (measured: under 0.001 mm) on every pixel at least `radius` from the crop
//! border. OpenCV approximates the range Gaussian of float images with a
//! linearly interpolated lookup table; the remaining difference is that and
//! f32 rounding (depths are ~2000 mm, so f32 resolves ~0.0001 mm).
#![allow(clippy::unwrap_used)] // tests, benches and examples may panic

use ptc_gesture::reference::{bilateral, BilateralParams};
use std::path::PathBuf;

const TOL_MM: f32 = 0.01;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data")
        .join(name)
}

fn read<T: npyz::Deserialize>(name: &str) -> (Vec<u64>, Vec<T>) {
    let bytes = std::fs::read(data(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    let shape = npy.shape().to_vec();
    (shape, npy.into_vec().unwrap())
}

fn check(case: &str, radius: u32, sigma_range: f32, sigma_space: f32) -> f32 {
    let (shape, input) = read::<u16>(&format!("bilateral_in_{case}.npy"));
    let (shape_cv, want) = read::<f32>(&format!("bilateral_cv_{case}_r{radius}.npy"));
    assert_eq!(shape, shape_cv);
    let (h, w) = (shape[0] as usize, shape[1] as usize);
    assert!(
        input.iter().all(|&d| d > 0),
        "reference frames have no dropouts"
    );
    let p = BilateralParams {
        sigma_space,
        sigma_range,
        radius,
    };
    let got = bilateral(&input, w, h, &p);
    let r = radius as usize;
    let mut worst = 0.0f32;
    let mut changed = 0.0f32;
    for y in r..h - r {
        for x in r..w - r {
            let i = y * w + x;
            let d = (got[i] - want[i]).abs();
            assert!(
                d <= TOL_MM,
                "{case} r={radius} ({x},{y}): ours {} OpenCV {} input {}",
                got[i],
                want[i],
                input[i]
            );
            worst = worst.max(d);
            changed = changed.max((want[i] - f32::from(input[i])).abs());
        }
    }
    // The filter did something (so the comparison is not vacuous).
    assert!(changed > 5.0, "{case}: filter changed at most {changed} mm");
    worst
}

#[test]
fn matches_opencv_d9() {
    for case in ["edge", "wall", "hand"] {
        let worst = check(case, 4, 30.0, 3.0);
        eprintln!("{case} d=9: max |ours - OpenCV| = {worst} mm");
    }
}

#[test]
fn matches_opencv_d5() {
    for case in ["edge", "wall", "hand"] {
        let worst = check(case, 2, 50.0, 2.0);
        eprintln!("{case} d=5: max |ours - OpenCV| = {worst} mm");
    }
}
