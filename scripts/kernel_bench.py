#!/usr/bin/env python3
"""Gesture kernels against OpenCV, before and after, in one run.

Runs the real `ptc run` binary (release) on the gesture stages and the whole
gesture graph, with the kernels and graphs of this tree ("after") and of an
older commit ("before", extracted with `git show` into target/kernel_bench/;
the same ptc binary runs both), and times cv2.bilateralFilter (d = 9,
sigmaColor 30, sigmaSpace 3, float32) on the same frames, with as many
threads as lavapipe (--threads, default all CPUs). Every
variant is measured once per round (before and after of a stage back to back,
cv2 at the start and the end of the round), so machine noise hits all of them
alike; the tables give medians over rounds, ratios to cv2 per round.

    cargo build --release
    python3 -m venv /tmp/cv && /tmp/cv/bin/pip install opencv-python-headless numpy
    /tmp/cv/bin/python scripts/kernel_bench.py [--rounds 5] [--before 26faa6b]

GPU ms per frame come from the device timestamp queries ptc takes around every
submission: per frame, from `--trace` (median over the run's frames, the first
two left out: lavapipe compiles a pipeline at its first dispatch; and the
fastest frame, the one least disturbed by other processes on a shared
machine, compared with cv2's fastest call), and the
`--stats` mean (graph GPU ns / frames, first frames included) as a cross-check.
The stages are graphs/gesture_stages/{xform,detect}.pt fed from .npy files
(unpaced); "gesture frame" is graphs/gesture.pt fed the same frames, one batch
per frame (xform + detect). "delivered Hz" is the plain `ptc run
graphs/gesture.pt` (synthetic camera at 30 fps, default script), from --stats.

Frames: scripts/opencv_ref.py's synthetic frames (wall, hand, noise) with 1%
dropout pixels, like the synthetic camera's. Detect gets the clouds the new
xform makes of them, the same for before and after.
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "target" / "kernel_bench"
sys.path.insert(0, str(ROOT / "scripts"))
sys.dont_write_bytecode = True  # importing opencv_ref must not leave scripts/__pycache__


def frames(n):
    from opencv_ref import frame

    out = []
    for i in range(n):
        f = frame(seed=i)
        rng = np.random.default_rng(1000 + i)
        f[rng.random(f.shape) < 0.01] = 0
        out.append(f)
    return np.stack(out)


def before_tree(rev):
    """graphs/ and kernels/ of commit `rev`, under target/kernel_bench/before."""
    dst = OUT / "before"
    files = subprocess.run(["git", "ls-tree", "-r", "--name-only", rev, "graphs", "kernels"],
                           cwd=ROOT, check=True, capture_output=True, text=True).stdout.split()
    for f in files:
        p = dst / f
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(subprocess.run(["git", "show", f"{rev}:{f}"], cwd=ROOT, check=True,
                                     capture_output=True).stdout)
    return dst


def ptc_run(ptc, graph, args, tag):
    stats, trace = OUT / f"{tag}.stats.json", OUT / f"{tag}.trace.json"
    cmd = [str(ptc), "run", str(graph), *args, "--stats", str(stats), "--trace", str(trace)]
    r = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr}")
    return json.loads(stats.read_text()), json.loads(trace.read_text())


def gpu_ms(ptc, graph, args, tag):
    """(median and fastest per-frame GPU ms from the trace, mean GPU ms per frame from the stats)."""
    stats, trace = ptc_run(ptc, graph, args, tag)
    ev = trace["traceEvents"] if isinstance(trace, dict) else trace
    per = [e["args"]["gpu_us"] / 1e3 for e in ev if e.get("ph") == "X" and e.get("pid") == 1]
    g = stats["graphs"][0]
    return statistics.median(per[2:]), min(per[2:]), g["gpu_ns"] / 1e6 / max(g["frames"], 1)


def cv2_ms(imgs, threads):
    import cv2

    cv2.setNumThreads(threads)
    ts = []
    for img in imgs:
        f = img.astype(np.float32)
        cv2.bilateralFilter(f, 9, 30.0, 3.0)
        t0 = time.perf_counter()
        cv2.bilateralFilter(f, 9, 30.0, 3.0)
        ts.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ts), min(ts)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ptc", default=str(ROOT / "target" / "release" / "ptc"))
    ap.add_argument("--before", default="26faa6b", help="commit whose kernels and graphs are 'before'")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--frames", type=int, default=24, help="frames per run")
    ap.add_argument("--no-fps", action="store_true", help="skip the paced 30 fps runs (8.5 s+ each)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(),
                    help="lavapipe threads (LP_NUM_THREADS) and cv2 threads (default: all CPUs, "
                         "both libraries' default)")
    a = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    ptc = pathlib.Path(a.ptc)
    os.environ["LP_NUM_THREADS"] = str(a.threads)
    thr = f"{a.threads} thread{'s' if a.threads != 1 else ''}"
    try:
        import cv2

        cv = f"OpenCV {cv2.__version__}"
    except ImportError:
        cv2 = None
        cv = "no OpenCV (pip install opencv-python-headless): cv2 rows skipped"

    load0 = os.getloadavg()[0]
    imgs = frames(a.frames)
    np.save(OUT / "frames.npy", imgs)
    intr = ROOT / "graphs" / "kinect_intrinsics.npy"
    trees = {"before": before_tree(a.before), "after": ROOT}
    # Clouds for the detect stage: the new xform's, fed to both detects.
    ptc_run(ptc, ROOT / "graphs/gesture_stages/xform.pt",
            ["--input", f"rawimg={OUT / 'frames.npy'}", "--input", f"intrinsics={intr}",
             "--output", f"cloud={OUT / 'clouds.npy'}"], "clouds")
    xin = ["--input", f"rawimg={OUT / 'frames.npy'}", "--input", f"intrinsics={intr}"]
    din = ["--input", f"cloud={OUT / 'clouds.npy'}"]
    gin = ["--input", f"usbsrc={OUT / 'frames.npy'}"]
    rows = {}  # name -> list of per-round values

    def add(name, v):
        rows.setdefault(name, []).append(v)

    stages = [("xform", "graphs/gesture_stages/xform.pt", xin),
              ("detect", "graphs/gesture_stages/detect.pt", din),
              ("gesture frame", "graphs/gesture.pt", gin)]
    for r in range(a.rounds):
        cv_round = [cv2_ms(imgs, a.threads)] if cv2 is not None else []
        for stage, graph, args in stages:
            for when, tree in trees.items():
                m, fast, mean = gpu_ms(ptc, tree / graph, args, f"{when}-{stage.split()[0]}")
                add((stage, when, "trace"), m)
                add((stage, when, "fastest"), fast)
                add((stage, when, "stats"), mean)
        if cv2 is not None:
            cv_round.append(cv2_ms(imgs, a.threads))
            c = statistics.mean(x[0] for x in cv_round)
            cf = min(x[1] for x in cv_round)
            add(("cv2", thr, ""), c)
            add(("cv2", thr, "fastest"), cf)
            for stage, _, _ in stages:
                for when in trees:
                    add((stage, when, "/ cv2"), rows[(stage, when, "trace")][-1] / c)
                    add((stage, when, "fastest / cv2 fastest"), rows[(stage, when, "fastest")][-1] / cf)
        print(f"round {r + 1}/{a.rounds} done", file=sys.stderr)
    fps = {}
    if not a.no_fps:
        for when, tree in trees.items():
            stats, _ = ptc_run(ptc, tree / "graphs/gesture.pt", [], f"{when}-fps")
            g = stats["graphs"][0]
            fps[when] = (g["delivered_hz"], g["rate_hz"], g["frames"], g["frames_dropped"])

    med = {k: statistics.median(v) for k, v in rows.items()}
    dev = subprocess.run([str(ptc), "devices"], capture_output=True, text=True).stdout.strip().splitlines()
    print(f"\n{cv}; ptc {ptc}; before = {a.before}; {a.rounds} rounds x {a.frames} frames; "
          f"LP_NUM_THREADS={a.threads}, cv2 threads {a.threads}; nproc {os.cpu_count()}; "
          f"load average {load0:.1f} before, {os.getloadavg()[0]:.1f} after")
    print("\n".join("    " + d for d in dev[:3]))
    cvm = med.get(("cv2", thr, ""))
    print("\n| GPU ms per frame (median of rounds) | before | after | after / before | "
          "before / cv2 | after / cv2 |")
    print("|---|---:|---:|---:|---:|---:|")
    for stage, _, _ in stages:
        b, f = med[(stage, "before", "trace")], med[(stage, "after", "trace")]
        rb = f"{med[(stage, 'before', '/ cv2')]:.2f}" if cvm else "-"
        ra = f"{med[(stage, 'after', '/ cv2')]:.2f}" if cvm else "-"
        print(f"| {stage} | {b:.2f} | {f:.2f} | {f / b:.3f} | {rb} | {ra} |")
    for stage, _, _ in stages:
        b, f = med[(stage, "before", "stats")], med[(stage, "after", "stats")]
        print(f"| {stage} (--stats mean, first frames included) | {b:.2f} | {f:.2f} | {f / b:.3f} | | |")
    if cvm:
        print(f"| cv2.bilateralFilter d=9 float32, {thr} | {cvm:.2f} | | | | |")
    if cvm:
        print("\n| fastest frame of each run (least disturbed; median of rounds) | before | after | "
              "before / cv2 | after / cv2 |")
        print("|---|---:|---:|---:|---:|")
        for stage, _, _ in stages:
            b, f = med[(stage, "before", "fastest")], med[(stage, "after", "fastest")]
            rb, ra = med[(stage, "before", "fastest / cv2 fastest")], med[(stage, "after", "fastest / cv2 fastest")]
            print(f"| {stage} | {b:.2f} | {f:.2f} | {rb:.2f} | {ra:.2f} |")
        cf = med[("cv2", thr, "fastest")]
        print(f"| cv2.bilateralFilter d=9 float32, {thr}, fastest call | {cf:.2f} | | | |")
    print(f"\n(x / cv2: the median over rounds of each round's ratio to that round's cv2 time"
          f" ({thr}; median of the calls, or the fastest call for the fastest-frame"
          f" table), timed before and after the round's ptc runs.)")
    print("\nper round (ms):")
    for k, v in rows.items():
        print(f"  {' '.join(x for x in k if x):34s} " + " ".join(f"{x:7.2f}" for x in v))
    sys.stdout.flush()
    if fps:
        print("\n| `ptc run graphs/gesture.pt` (paced camera) | delivered Hz | of | frames | dropped |")
        print("|---|---:|---:|---:|---:|")
        for when, (hz, rate, n, dropped) in fps.items():
            print(f"| {when} | {hz:.1f} | {rate:.0f} | {n} | {dropped} |")


if __name__ == "__main__":
    main()
