#!/usr/bin/env python3
"""Benchmarks of `ptc daemon`: sharing the GPU between *processes*.

Every table compares, in one run, separate in-process `ptc run --local`
processes (what the driver alone does) with the same processes running
through one daemon (started by this script on a temporary socket).

    cargo build --release --examples
    python3 scripts/daemon_bench.py [--ptc target/release/ptc] [--seconds 5]
                                    [--soak-minutes 10] [--only fair,fig5,cost,soak,users]

Tables:
  fair   two saturating matmul processes at 1:1, 2:1, 4:1, 10:1: measured
         GPU-time ratio, daemon vs separate in-process runs.
  fig5   paper Fig. 5 across processes: tick120 (120 Hz, priority 10) in one
         process, a priority-1 saturating matmul in another: delivered rate
         (% of alone) and p99 frame latency (x alone), daemon vs separate.
  cost   what a frame costs through the daemon vs in-process: the library's
         push/pull (examples/daemon_cost: saxpy2, a 64-dispatch chain) and
         `ptc run` from files (saxpy2, the chain).
  soak   32 client processes (8 each at priorities 10, 20, 30, 40) for
         --soak-minutes: each one's GPU share vs its priority share, and the
         daemon's RSS sampled every 10 s (flat = no leak).
  users  hierarchical share: user A (this uid) with 4 graphs vs user B
         (uid 65534 via setpriv; needs root) with 1, equal priorities.
"""

import argparse
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = pathlib.Path(tempfile.mkdtemp(prefix="ptc-daemon-bench-"))
os.chmod(OUT, 0o777)


def load_copy(name, n=128, priority=1):
    src = (ROOT / "graphs" / "sched" / "matmul_load.pt").read_text()
    text = src.replace("graph matmul_load priority 1", f"graph {name} priority {priority}")
    text = re.sub(r"\[\d+, \d+\]", f"[{n}, {n}]", text)
    text = re.sub(r"param n: u32 = \d+;", f"param n: u32 = {n};", text)
    text = text.replace('"kernels/sched_matmul.comp"', json.dumps(str(ROOT / "kernels" / "sched_matmul.comp")))
    p = OUT / f"{name}.pt"
    p.write_text(text)
    return p


class Daemon:
    def __init__(self, ptc):
        self.sock = OUT / "ptc.sock"
        self.log = open(OUT / "daemon.log", "w")
        self.proc = subprocess.Popen([str(ptc), "daemon", "--socket", str(self.sock), "--public"],
                                     cwd=ROOT, stderr=self.log)
        t0 = time.time()
        while not self.sock.exists():
            if time.time() - t0 > 60:
                sys.exit("the daemon did not start: " + (OUT / "daemon.log").read_text())
            time.sleep(0.05)
        time.sleep(0.2)

    def rss_kib(self):
        for line in open(f"/proc/{self.proc.pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait()
        self.log.close()


def start(ptc, graph, seconds, stats, daemon, extra=(), prefix=()):
    where = ["--socket", str(daemon.sock)] if daemon else ["--local"]
    cmd = [*prefix, str(ptc), "run", *where, str(graph), "--duration", f"{seconds}s",
           "--stats", str(stats), *extra]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def finish(procs):
    for p in procs:
        _, err = p.communicate()
        if p.returncode != 0:
            sys.exit(f"failed ({p.returncode}): {' '.join(p.args)}\n{err}")


def stats_graphs(path):
    return json.loads(pathlib.Path(path).read_text())["graphs"]


def gpu(path):
    return sum(g["gpu_ns"] for g in stats_graphs(path))


def fair(ptc, secs, daemon):
    print("\n### Fairness between two processes (saturating matmul, GPU-time ratio)\n")
    print("| priorities | expected | separate processes (no daemon) | through the daemon |")
    print("|---|---|---|---|")
    for hi in (1, 2, 4, 10):
        row = []
        for d in (None, daemon):
            a, b = load_copy("hi", priority=hi * 10), load_copy("lo", priority=10)
            sa, sb = OUT / "fa.json", OUT / "fb.json"
            finish([start(ptc, a, secs, sa, d), start(ptc, b, secs, sb, d)])
            row.append(gpu(sa) / max(gpu(sb), 1))
        print(f"| {hi * 10}:10 | {hi}.00 | {row[0]:.2f} | {row[1]:.2f} |")


def fig5(ptc, secs, daemon):
    print("\n### Fig. 5 across processes: tick120 (priority 10) next to a priority-1 matmul in another process\n")
    tick = ROOT / "graphs" / "sched" / "tick120.pt"
    s = OUT / "tick.json"
    finish([start(ptc, tick, secs, s, daemon)])
    alone = stats_graphs(s)[0]
    rows = [("alone (through the daemon)", alone)]
    for label, d in (("with load, separate processes", None), ("with load, through the daemon", daemon)):
        load = load_copy("load", n=256, priority=1)
        procs = [start(ptc, load, secs + 1, OUT / "load.json", d)]
        time.sleep(0.5)
        procs.append(start(ptc, tick, secs, s, d))
        finish(procs)
        rows.append((label, stats_graphs(s)[0]))
    print("| tick120 | delivered Hz | % of alone | p99 frame ms | p99 / alone | late + dropped |")
    print("|---|---|---|---|---|---|")
    a_hz, a_p99 = alone["delivered_hz"], alone["latency"]["frame"]["p99"]
    for label, g in rows:
        hz, p99 = g["delivered_hz"], g["latency"]["frame"]["p99"]
        print(f"| {label} | {hz:.1f} | {100 * hz / a_hz:.0f} % | {p99 / 1e6:.2f} | {p99 / max(a_p99, 1):.2f} "
              f"| {g['deadline_misses']} + {g['frames_dropped']} |")


def chain_graph(n=64):
    t = ["graph chain64 {", "    input x: f32[1024] from zeros;", "    output y: f32[1024] to null;"]
    k = json.dumps(str(ROOT / "kernels" / "scale.comp"))
    for i in range(n):
        t.append(f"    ptask s{i} {{ kernel {k}; in a: f32[1024]; param k: f32 = 1.0001; out b: f32[1024]; }}")
    t.append("    x -> s0.a;")
    t += [f"    s{i - 1}.b -> s{i}.a;" for i in range(1, n)]
    t += [f"    s{n - 1}.b -> y;", "}"]
    p = OUT / "chain64.pt"
    p.write_text("\n".join(t) + "\n")
    return p


def saxpy_zeros():
    text = (ROOT / "graphs" / "saxpy2.pt").read_text()
    text = text.replace("input  x: f32[1048576];", "input  x: f32[1048576] from zeros;")
    text = text.replace("input  y: f32[1048576];", "input  y: f32[1048576] from zeros;")
    text = text.replace("output z: f32[1048576];", "output z: f32[1048576] to null;")
    for k in ("scale", "add"):
        text = text.replace(f'"kernels/{k}.comp"', json.dumps(str(ROOT / "kernels" / f"{k}.comp")))
    p = OUT / "saxpy_zeros.pt"
    p.write_text(text)
    return p


def cost(ptc, daemon, frames=30, rounds=5):
    print("\n### What a frame costs through the daemon\n")
    ex = ROOT / "target" / "release" / "examples" / "daemon_cost"
    if ex.exists():
        r = subprocess.run([str(ex), str(daemon.sock), str(frames), str(rounds)], cwd=ROOT,
                           capture_output=True, text=True)
        print("Library push/pull (`examples/daemon_cost`, medians of alternating rounds):\n")
        print("\n".join(l for l in r.stdout.splitlines() if l.startswith("|")))
    print("\n`ptc run` from sources (frames/s, medians of alternating rounds):\n")
    print("| graph | in-process frames/s | daemon frames/s | daemon / in-process (time per frame) |")
    print("|---|---|---|---|")
    for g, n in ((saxpy_zeros(), 100), (chain_graph(), 2000)):
        loc, dae = [], []
        for _ in range(rounds):
            for d, acc in ((None, loc), (daemon, dae)):
                s = OUT / "cost.json"
                where = ["--socket", str(daemon.sock)] if d else ["--local"]
                t0 = time.time()
                r = subprocess.run([str(ptc), "run", *where, str(g), "--frames", str(n)], cwd=ROOT,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                if r.returncode != 0:
                    sys.exit(r.stderr)
                m = re.search(r"in ([0-9.]+) s:", r.stderr)
                acc.append(n / float(m.group(1)))
        loc.sort(), dae.sort()
        l, d = loc[len(loc) // 2], dae[len(dae) // 2]
        print(f"| {g.stem} ({n} frames) | {l:.0f} | {d:.0f} | {l / d:.3f} |")


def soak(ptc, daemon, minutes):
    print(f"\n### 32 clients for {minutes} min (8 each at priorities 10, 20, 30, 40)\n")
    procs, files = [], []
    secs = int(minutes * 60)
    for i in range(32):
        p = 10 * (1 + i % 4)
        g = load_copy(f"c{i}", n=64, priority=p)
        s = OUT / f"c{i}.json"
        files.append((p, s))
        procs.append(start(ptc, g, secs, s, daemon))
    rss = []
    t0 = time.time()
    while any(p.poll() is None for p in procs):
        rss.append((time.time() - t0, daemon.rss_kib()))
        time.sleep(10)
    finish(procs)
    tot = sum(gpu(s) for _, s in files)
    wsum = sum(p for p, _ in files)
    errs = []
    for p, s in files:
        share, want = gpu(s) / tot, p / wsum
        errs.append(share / want - 1)
    print(f"- shares vs priority shares: worst {100 * max(map(abs, errs)):.1f} % off "
          f"(mean {100 * sum(map(abs, errs)) / len(errs):.1f} %)")
    first = [k for t, k in rss if t > 30][:3] or [rss[0][1]]
    print(f"- daemon RSS: {rss[0][1] / 1024:.1f} MiB at start, {min(first) / 1024:.1f} MiB after 30 s, "
          f"{rss[-1][1] / 1024:.1f} MiB at the end, max {max(k for _, k in rss) / 1024:.1f} MiB "
          f"({len(rss)} samples every 10 s)")


def users(ptc, secs, daemon):
    print("\n### Hierarchical share: user A with 4 graphs vs user B with 1 (equal priorities)\n")
    if os.geteuid() != 0:
        print("(needs root for a second uid: skipped)")
        return
    a = [load_copy(f"a{i}", priority=10) for i in range(4)]
    b = load_copy("b0", priority=10)
    sa, sb = OUT / "ua.json", OUT / "ub.json"
    where = ["--socket", str(daemon.sock)]
    pa = subprocess.Popen([str(ptc), "run", *where, *map(str, a), "--duration", f"{secs}s", "--stats", str(sa)],
                          cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    pb = start(ptc, b, secs, sb, daemon, prefix=["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"])
    finish([pa, pb])
    ga, gb = gpu(sa), gpu(sb)
    print(f"| user | graphs | GPU share |\n|---|---|---|\n| A (uid {os.geteuid()}) | 4 | {100 * ga / (ga + gb):.1f} % |"
          f"\n| B (uid 65534) | 1 | {100 * gb / (ga + gb):.1f} % |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ptc", default=str(ROOT / "target" / "release" / "ptc"))
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--soak-minutes", type=float, default=10)
    ap.add_argument("--only", default="fair,fig5,cost,users,soak")
    a = ap.parse_args()
    which = a.only.split(",")
    d = Daemon(a.ptc)
    try:
        print(f"ptc daemon benchmarks, {time.strftime('%Y-%m-%d %H:%M')}, load average {os.getloadavg()[0]:.1f}")
        if "fair" in which:
            fair(a.ptc, a.seconds, d)
        if "fig5" in which:
            fig5(a.ptc, a.seconds, d)
        if "cost" in which:
            cost(a.ptc, d)
        if "users" in which:
            users(a.ptc, a.seconds, d)
        if "soak" in which:
            soak(a.ptc, d, a.soak_minutes)
    finally:
        d.stop()


if __name__ == "__main__":
    main()
