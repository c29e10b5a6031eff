#!/usr/bin/env python3
"""Soak test: long runs of `ptc run` with memory sampled, asserting that
memory stays flat and every frame is delivered.

    python3 scripts/soak.py                      # the full soak (about 40 min)
    python3 scripts/soak.py --gesture-seconds 120 --frames 200000   # shortened

Two phases, each a separate `ptc run` process whose resident memory (VmRSS
from /proc/PID/status) is sampled every --interval seconds (10; the tiny
run every --tiny-interval, 2, as it is over in minutes):

1. gesture: graphs/gesture.pt fed by its synthetic camera for
   --gesture-seconds (default 1800 = 30 min) with a camera script that
   repeats the default one (a circle, a push, two swipes) for that long,
   gesture events to a file. On a slow device (lavapipe) the 30 fps camera
   outruns the pipeline and frames are dropped, as a camera's would be: the
   point is hours of frames through the same buffers.
2. tiny: graphs/saxpy2.pt with every shape 1, inputs from `random(seed: 1)`
   and `zeros`, output to `null`, run for --frames (default 1 000 000): the
   per-frame path with almost no GPU work. `ptc run` must report that
   many frames delivered (`ran `saxpy2` ...: z: N frames`).

Memory is "flat" when, after a warm-up (the first fifth of the samples, at
least two), the largest later sample exceeds the median of the warm-up
samples by less than --max-growth-mib (default 16 MiB) and less than 10 %.
The script prints every sample, the growth and the least-squares slope,
and exits 1 if a phase fails (a nonzero exit of ptc, missing frames, or
growth).

The full lengths are meant for a quiet machine; on a loaded one the
gesture phase delivers fewer frames (the numbers in BENCHMARKS.md say
which). Needs a release build (`cargo build --release`); set
VK_DRIVER_FILES to pick the CPU driver if there is no GPU.
"""
import argparse
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def rss_kib(pid):
    """Resident set size of `pid` in KiB, or None once it has exited."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def run_sampled(name, cmd, interval, timeout, stdout=subprocess.DEVNULL):
    """Runs `cmd`, sampling its RSS every `interval` s. Returns (exit code,
    stderr text, [(seconds, KiB)])."""
    print(f"== {name}: {' '.join(str(c) for c in cmd)}", flush=True)
    err = tempfile.TemporaryFile()
    start = time.monotonic()
    p = subprocess.Popen(cmd, cwd=ROOT, stdout=stdout, stderr=err)
    samples = []
    next_at = start + interval
    while True:
        try:
            p.wait(timeout=max(0.0, next_at - time.monotonic()))
            break
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        kib = rss_kib(p.pid)
        if kib is not None:
            samples.append((now - start, kib))
            print(f"  {now - start:8.1f} s  RSS {kib / 1024:8.1f} MiB", flush=True)
        next_at += interval
        if now - start > timeout:
            p.kill()
            p.wait()
            print(f"  killed after {timeout} s", flush=True)
            break
    err.seek(0)
    text = err.read().decode(errors="replace")
    took = time.monotonic() - start
    print(f"  exit {p.returncode} after {took:.1f} s", flush=True)
    return p.returncode, text, samples


def flat(samples, max_growth_mib):
    """(ok, summary line) for a list of (seconds, KiB) samples."""
    if len(samples) < 4:
        return False, f"only {len(samples)} samples: run longer or sample more often"
    warm = max(2, len(samples) // 5)
    base = statistics.median(k for _, k in samples[:warm])
    later = [k for _, k in samples[warm:]]
    peak = max(later)
    growth = (peak - base) / 1024
    # Least-squares slope over the samples after the warm-up, MiB per hour.
    xs = [t for t, _ in samples[warm:]]
    ys = [k / 1024 for _, k in samples[warm:]]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx * 3600 if sxx else 0.0
    ok = growth < max_growth_mib and peak < base * 1.10
    line = (
        f"{len(samples)} samples; warm-up median {base / 1024:.1f} MiB, later peak "
        f"{peak / 1024:.1f} MiB (growth {growth:+.1f} MiB), final "
        f"{samples[-1][1] / 1024:.1f} MiB, slope {slope:+.2f} MiB/h"
    )
    return ok, line


def repeated_script(seconds):
    """The default camera script repeated to cover `seconds`."""
    keys = []
    for line in (ROOT / "graphs/scripts/default.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            t, *rest = line.split()
            keys.append((float(t), rest))
    period = keys[-1][0] + 0.5
    out = ["# the default script repeated (scripts/soak.py)"]
    k = 0
    while k * period <= seconds:
        for t, rest in keys:
            out.append(f"{k * period + t:.3f} {' '.join(rest)}")
        k += 1
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ptc", default=str(ROOT / "target/release/ptc"))
    ap.add_argument("--gesture-seconds", type=int, default=1800)
    ap.add_argument("--frames", type=int, default=1_000_000)
    ap.add_argument("--interval", type=float, default=10.0,
                    help="seconds between RSS samples of the gesture run (default 10)")
    ap.add_argument("--tiny-interval", type=float, default=2.0,
                    help="seconds between RSS samples of the tiny run (default 2)")
    ap.add_argument("--max-growth-mib", type=float, default=16.0)
    ap.add_argument("--skip", choices=["gesture", "tiny"], action="append", default=[])
    args = ap.parse_args()
    if not pathlib.Path(args.ptc).exists():
        sys.exit(f"{args.ptc} not found: cargo build --release first")
    failures = []
    with tempfile.TemporaryDirectory(prefix="ptc-soak-") as tmp:
        tmp = pathlib.Path(tmp)
        if "gesture" not in args.skip:
            script = tmp / "long.txt"
            script.write_text(repeated_script(args.gesture_seconds))
            events = tmp / "events.jsonl"
            with open(events, "wb") as out:
                rc, err, samples = run_sampled(
                    "gesture",
                    [args.ptc, "run", "graphs/gesture.pt", "--script", str(script),
                     "--duration", f"{args.gesture_seconds}s"],
                    args.interval, args.gesture_seconds + 600, stdout=out,
                )
            ran = [l for l in err.splitlines() if l.startswith("ran ") or "Hz delivered" in l]
            print("  " + "\n  ".join(ran))
            print(f"  {sum(1 for _ in open(events))} gesture event lines")
            ok, line = flat(samples, args.max_growth_mib)
            print(f"  memory: {line}: {'flat' if ok else 'GROWS'}")
            if rc != 0:
                failures.append(f"gesture: ptc exited {rc}:\n{err[-2000:]}")
            if not ok:
                failures.append(f"gesture: memory not flat: {line}")
        if "tiny" not in args.skip:
            text = (ROOT / "graphs/saxpy2.pt").read_text().replace("1048576", "1")
            text = text.replace("input  x: f32[1];", "input  x: f32[1] from random(seed: 1);")
            text = text.replace("input  y: f32[1];", "input  y: f32[1] from zeros;")
            text = text.replace("output z: f32[1];", "output z: f32[1] to null;")
            g = tmp / "tiny.pt"
            g.write_text(text)
            rc, err, samples = run_sampled(
                "tiny",
                [args.ptc, "run", str(g), "--kernel-path", str(ROOT),
                 "--frames", str(args.frames)],
                args.tiny_interval, 24 * 3600,
            )
            m = re.search(r"^ran `saxpy2` .* in ([0-9.]+) s: z: (\d+) frames", err, re.M)
            if m:
                n, secs = int(m.group(2)), float(m.group(1))
                print(f"  delivered {n} of {args.frames} frames in {secs:.1f} s "
                      f"({n / secs:.0f} frames/s)")
                if n != args.frames:
                    failures.append(f"tiny: {n} frames delivered, {args.frames} fed")
            else:
                failures.append(f"tiny: no `ran` line (exit {rc}):\n{err[-2000:]}")
            ok, line = flat(samples, args.max_growth_mib)
            print(f"  memory: {line}: {'flat' if ok else 'GROWS'}")
            if rc != 0:
                failures.append(f"tiny: ptc exited {rc}")
            if not ok:
                failures.append(f"tiny: memory not flat: {line}")
    if failures:
        print("FAILED:\n" + "\n".join(failures))
        return 1
    print("soak passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
