#!/usr/bin/env python3
"""Output I/O cost: gesture's point cloud (graphs/gesture_stages/xform.pt,
vec4<f32>[480, 640] = 4.7 MiB a frame) written as `.npy` vs raw bytes vs
dropped, and `.npy` with the sink's writer thread and direct I/O turned off
one at a time and together, side by side in one run.

    cargo build --release
    python3 scripts/io_bench.py [--ptc target/release/ptc] [--frames 30] [--rounds 5]

Each round runs the variants in turn (A B C A B C ...), each a
`ptc run --unpaced --frames N --stats` of xform fed N camera-like depth
frames from a file. Reported per variant, median over rounds: wall time of
the run, and from `--stats` the sink's time per frame and its share of the
frame's GPU time (the goal: at most 10 %), and `.npy` / raw wall time (the
goal: at most 1.1). The written files are checked: the .npy holds N
frames of the right shape, the raw file N * 4.7 MiB.
"""
import argparse
import os
import json
import pathlib
import statistics
import subprocess
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ptc", default=str(ROOT / "target/release/ptc"))
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    out = pathlib.Path(tempfile.mkdtemp(prefix="ptc-io-bench-"))
    n = a.frames
    rng = np.random.default_rng(1)
    depth = rng.integers(500, 2000, size=(n, 480, 640), dtype=np.uint16)
    np.save(out / "depth.npy", depth)
    # By default a frame this large is
    # lent from its output slot to the sink's writer thread, which writes it
    # with direct I/O. PTC_SINK_THREAD=0 writes it in the run loop instead,
    # PTC_DIRECT_IO=0 through the page cache; both together are the writer
    # before this round.
    # "through the daemon" runs in a `ptc daemon` started here, whose file
    # sinks work the same way (a daemon started with PTC_DIRECT_IO=0 would
    # be needed for its buffered row, so there is none).
    inline = {"PTC_SINK_THREAD": "0"}
    buffered = {"PTC_DIRECT_IO": "0"}
    # name: (output path, environment, through the daemon)
    variants = {
        "npy": (out / "cloud.npy", {}, False),
        "raw": (out / "cloud.raw", {}, False),
        "npy, through the daemon": (out / "cloud-d.npy", {}, True),
        "npy, in the run loop": (out / "cloud-i.npy", inline, False),
        "npy, buffered": (out / "cloud-b.npy", buffered, False),
        "npy, both (before)": (out / "cloud-ib.npy", {**inline, **buffered}, False),
        "null": (None, {}, False),
    }
    sock = out / "ptc.sock"
    d = subprocess.Popen([a.ptc, "daemon", "--socket", str(sock)], cwd=ROOT,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if sock.exists():
                break
            time.sleep(0.05)
        res = bench(a, out, variants, sock)
    finally:
        d.terminate()
        d.wait()
    report(n, a.rounds, res)


def bench(a, out, variants, sock):
    n = a.frames
    res = {k: [] for k in variants}
    for r in range(a.rounds):
        for name, (path, env, daemon) in variants.items():
            where = ["--socket", str(sock)] if daemon else ["--local"]
            stats = out / f"stats-{len(res[name])}-{list(variants).index(name)}.json"
            cmd = [a.ptc, "run", "graphs/gesture_stages/xform.pt", "--unpaced",
                   "--frames", str(n), "--input", f"rawimg={out / 'depth.npy'}",
                   "--input", "intrinsics=graphs/kinect_intrinsics.npy",
                   "--stats", str(stats)] + where
            if path is not None:
                cmd += ["--output", f"cloud={path}"]
            else:
                cmd += ["--output", "cloud=/dev/null"]
            t = time.perf_counter()
            p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                               env={**os.environ, **env})
            wall = time.perf_counter() - t
            if p.returncode != 0:
                raise SystemExit(f"{name}: exit {p.returncode}\n{p.stderr}")
            s = json.loads(stats.read_text())
            g = s["graphs"][0]
            h = g.get("host") or {}
            gpu_ms = g["gpu_ns"] / max(g["frames"], 1) / 1e6
            sink_ms = h.get("sink_ns", 0) / max(h.get("frames_out", 0), 1) / 1e6
            sink_cpu_ms = h.get("sink_cpu_ns", 0) / max(h.get("frames_out", 0), 1) / 1e6
            # (Through the daemon the run loop is the daemon's: not reported.)
            host_cpu_ms = (s.get("host") or {}).get("thread_cpu_ns_per_frame", float("nan")) / 1e6
            res[name].append((wall, gpu_ms, sink_ms, sink_cpu_ms, host_cpu_ms))
            if name.startswith("npy"):
                got = np.load(path)
                assert got.shape == (n, 480, 640, 4), got.shape
            if name.startswith("raw"):
                assert path.stat().st_size == n * 480 * 640 * 16, path.stat().st_size
    return res


def report(n, rounds, res):
    med = {k: [statistics.median(x[i] for x in v) for i in range(5)] for k, v in res.items()}
    print(f"xform.pt, {n} frames of vec4<f32>[480, 640] (4.7 MiB), {rounds} rounds, median")
    print("| sink | run s | GPU ms/frame | sink ms/frame | sink CPU ms/frame | sink / GPU | host CPU ms/frame |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for k, (wall, gpu, sink, scpu, hcpu) in med.items():
        print(f"| {k} | {wall:.2f} | {gpu:.2f} | {sink:.2f} | {scpu:.2f} | {100 * scpu / gpu:.1f} % | {'n/a' if hcpu != hcpu else f'{hcpu:.2f}'} |")
    print(f"npy / raw run time: {med['npy'][0] / med['raw'][0]:.3f}")
    print(f"npy / raw sink time: {med['npy'][2] / max(med['raw'][2], 1e-9):.3f}")
    before = med["npy, both (before)"]
    print(f"npy run time, now / before: {med['npy'][0] / before[0]:.3f}")
    print(f"npy sink CPU, now / before: {med['npy'][3] / max(before[3], 1e-9):.3f}")


if __name__ == "__main__":
    main()
