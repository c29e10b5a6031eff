#!/usr/bin/env python3
"""Reference data for the gesture pipeline's bilateral filter (xform).

Generates synthetic 640x480 depth frames like ptc's synthetic camera (a wall
2100..2450 mm, a hand-sized ellipse at 800-900 mm, Gaussian noise, NO dropout
pixels: OpenCV's filter does not ignore zeros, ptc's does), filters them with
OpenCV's cv2.bilateralFilter (float32), and writes small crops to tests/data/:

    bilateral_in_<case>.npy           u16 [64, 96]   the input crop
    bilateral_cv_<case>_r<R>.npy      f32 [64, 96]   cv2.bilateralFilter of the crop

with (d, sigmaColor, sigmaSpace) = (9, 30, 3) for R=4 and (5, 50, 2) for R=2.
The crop itself is the filtered image, so compare only pixels at least R from
its border (OpenCV reflects at the border, ptc ignores outside taps).

Usage:  python3 -m venv /tmp/cv && /tmp/cv/bin/pip install opencv-python-headless numpy
        /tmp/cv/bin/python scripts/opencv_ref.py            # writes tests/data/
        /tmp/cv/bin/python scripts/opencv_ref.py --bench    # times d=5 and d=9 on 640x480
"""
import argparse
import os
import sys
import time

import numpy as np

W, H = 640, 480
CASES = {  # name: (top, left) of a 64x96 crop
    "edge": (200, 150),     # the hand's left edge against the wall
    "wall": (380, 500),     # wall only
    "hand": (230, 250),     # hand interior and its right edge
}
PARAMS = {4: (9, 30.0, 3.0), 2: (5, 50.0, 2.0)}  # radius: (d, sigmaColor, sigmaSpace)


def frame(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v, u = np.mgrid[0:H, 0:W].astype(np.float32)
    z = 2100.0 + 250.0 * u / (W - 1) + 100.0 * v / (H - 1)
    depth = 850.0
    cx, cy = 0.4 * W - 0.5, 0.5 * H - 0.5
    rx, ry = 525.0 * 80.0 / depth, 525.0 * 100.0 / depth
    rho2 = ((u - cx) / rx) ** 2 + ((v - cy) / ry) ** 2
    z = np.where(rho2 <= 1.0, depth - 25.0 * (1.0 - rho2), z)
    z = z + rng.normal(0.0, 8.0, size=z.shape)
    return np.clip(np.round(z), 1, 65535).astype(np.uint16)


def generate(out_dir: str) -> None:
    import cv2

    os.makedirs(out_dir, exist_ok=True)
    img = frame(seed=5)
    for name, (top, left) in CASES.items():
        crop = img[top:top + 64, left:left + 96].copy()
        np.save(os.path.join(out_dir, f"bilateral_in_{name}.npy"), crop)
        for r, (d, sc, ss) in PARAMS.items():
            out = cv2.bilateralFilter(crop.astype(np.float32), d, sc, ss)
            np.save(os.path.join(out_dir, f"bilateral_cv_{name}_r{r}.npy"), out.astype(np.float32))
    print(f"wrote {len(CASES) * (1 + len(PARAMS))} files to {out_dir} (OpenCV {cv2.__version__})")


def bench(reps: int) -> None:
    import cv2

    img = frame(seed=5).astype(np.float32)
    print(f"OpenCV {cv2.__version__}, threads={cv2.getNumThreads()}, 640x480 float32, {reps} reps")
    for d, sc, ss in [(5, 50.0, 2.0), (9, 30.0, 3.0)]:
        cv2.bilateralFilter(img, d, sc, ss)  # warm up
        t0 = time.perf_counter()
        for _ in range(reps):
            cv2.bilateralFilter(img, d, sc, ss)
        ms = (time.perf_counter() - t0) / reps * 1e3
        print(f"cv2.bilateralFilter d={d}: {ms:.3f} ms/frame")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "data"))
    ap.add_argument("--bench", action="store_true", help="time cv2.bilateralFilter instead")
    ap.add_argument("--reps", type=int, default=50)
    a = ap.parse_args()
    if a.bench:
        bench(a.reps)
    else:
        generate(a.out)
    sys.exit(0)
