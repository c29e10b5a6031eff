#!/usr/bin/env python3
"""Scheduler benchmarks (paper Figs. 4 and 5, fairness table).

Runs the real `ptc run` binary on several graphs at once, reads the
`--stats` JSON it writes, prints Markdown tables and (if matplotlib is
installed) draws `target/sched_bench/sched_bench.png`.

    cargo build --release
    python3 scripts/sched_bench.py [--ptc target/release/ptc] [--seconds 5]

Tables:
  Fig. 5  each interactive graph (graphs/sched/tick120.pt, and gesture.pt if it
          runs; 120 Hz and 30 Hz sources, priority 10) alone, then next to a saturating
          priority-1 matmul graph, in `fifo` mode, in `priority` mode without
          slicing (--max-batch off) and with it (default), and at 100:1:
          delivered rate (absolute, % of the source's rate, % of
          alone), p99 frame latency (and its ratio to alone), late+dropped frames.
  Fair    two copies of the matmul graph at 1:1, 2:1, 4:1, 10:1: measured
          GPU-time ratio vs expected, in `priority` mode (and `fifo` for reference).
  Fig. 4  the heaviest interactive graph alone with every CPU core busy with unrelated
          work vs idle (on lavapipe the "GPU" is the CPU, so this hurts).
"""

import argparse
import json
import multiprocessing
import os
import pathlib
import re
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "target" / "sched_bench"


def run(ptc, graphs, seconds, mode, prios, tag, extra=()):
    stats = OUT / f"{tag}.json"
    cmd = [str(ptc), "run", *map(str, graphs), "--sched", mode,
           "--duration", f"{seconds}s", "--stats", str(stats), *extra]
    for name, p in prios.items():
        cmd += ["--priority", f"{name}={p}"]
    r = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr}")
    return json.loads(stats.read_text())


def graph(stats, name):
    for g in stats["graphs"]:
        if g["name"] == name:
            return g
    sys.exit(f"graph {name} missing from stats")


# Each interactive graph's source rate.
SOURCE_HZ = {"tick120": 120, "gesture": 30}


def interactive_graphs(ptc):
    """The stand-in tick120.pt always; gesture.pt too if it runs here."""
    out = [(ROOT / "graphs" / "sched" / "tick120.pt", "tick120")]
    # (gesture's camera runs at 30 Hz: its rows are % of 30 Hz.)
    g = ROOT / "graphs" / "gesture.pt"
    r = subprocess.run([str(ptc), "run", str(g), "--frames", "2"], cwd=ROOT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if r.returncode == 0:
        out.append((g, "gesture"))
    return out


def load_copy(name, n=256, reps=1):
    """The matmul load graph under another graph name (kernels resolve from the repo)."""
    src = (ROOT / "graphs" / "sched" / "matmul_load.pt").read_text()
    text = src.replace("graph matmul_load", f"graph {name}")
    text = re.sub(r"\[\d+, \d+\]", f"[{n}, {n}]", text)
    text = re.sub(r"param n: u32 = \d+;", f"param n: u32 = {n};", text)
    text = text.replace("param reps: u32 = 1;", f"param reps: u32 = {reps};")
    p = OUT / f"{name}.pt"
    p.write_text(text)
    return p


def burn(stop_at):
    x = 0
    while time.time() < stop_at:
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ptc", default=str(ROOT / "target" / "release" / "ptc"))
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--matmul-n", type=int, default=128,
                    help="matrix size of the fairness graphs")
    ap.add_argument("--fig5-sizes", default="64,128",
                    help="matrix sizes of the Fig. 5 load (sets its batch length)")
    a = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    s = a.seconds
    interactive = interactive_graphs(a.ptc)
    sizes = [int(n) for n in a.fig5_sizes.split(",")]

    # (mode, matmul size or None = alone, interactive graph's priority)
    # "priority-unsliced": priority mode with --max-batch off (no slicing of
    # the load's dispatches), to show what slicing adds.
    cases = [("fifo", None, 10), ("priority", None, 10)]
    for n in sizes:
        cases += [("fifo", n, 10), ("priority-unsliced", n, 10), ("priority", n, 10),
                  ("priority", n, 100)]
    fig5 = {}
    for ig, iname in interactive:
        hz = SOURCE_HZ.get(iname, 120)
        print(f"## Fig. 5: `{iname}` ({hz} Hz source) vs a saturating matmul graph "
              f"(priority 1), {s:g} s each\n")
        print(f"| mode | load | priorities | delivered Hz | % of {hz} Hz | % of alone "
              "| p99 frame latency ms | p99 / alone | late+dropped | load dispatch ms "
              "| load GPU share |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for mode, n, prio in cases:
            graphs = [ig] if n is None else [ig, load_copy("matmul", n)]
            prios = {iname: prio} if n is None else {iname: prio, "matmul": 1}
            sched, extra = (("priority", ("--max-batch", "off")) if mode == "priority-unsliced"
                            else (mode, ()))
            st = run(a.ptc, graphs, s, sched, prios, f"fig5_{iname}_{mode}_{n or 0}_{prio}", extra)
            g = graph(st, iname)
            batch, share = 0.0, 0.0
            if n is not None:
                m = graph(st, "matmul")
                share = m["gpu_share"]
                batch = m["gpu_ns"] / max(m["frames"], 1) / 1e6
            row = (g["delivered_hz"], g["latency"]["frame"]["p99"] / 1e6,
                   g["deadline_misses"] + g["frames_dropped"], share, batch)
            fig5[(iname, mode, n, prio)] = row
            alone = fig5[(iname, "fifo" if mode == "fifo" else "priority", None, 10)]
            load_name = "alone" if n is None else f"matmul {n}x{n}"
            print(f"| {mode} | {load_name} | {prio}:1 | {row[0]:.1f} | "
                  f"{100 * row[0] / hz:.1f}% | {100 * row[0] / max(alone[0], 1e-9):.1f}% | "
                  f"{row[1]:.2f} | {row[1] / max(alone[1], 1e-9):.2f} | {row[2]} | "
                  f"{row[4]:.2f} | {row[3]:.3f} |")
        print()

    print(f"\n## Fairness: two saturating matmul graphs, {s:g} s each\n")
    print("| priorities | expected | priority mode | error | fifo mode |")
    print("|---|---|---|---|---|")
    fair = []
    a_g, b_g = load_copy("mm_a", a.matmul_n), load_copy("mm_b", a.matmul_n)
    for pa, pb in [(1, 1), (2, 1), (4, 1), (10, 1)]:
        ratios = {}
        for mode in ["priority", "fifo"]:
            st = run(a.ptc, [a_g, b_g], s, mode, {"mm_a": pa, "mm_b": pb}, f"fair_{mode}_{pa}_{pb}")
            ratios[mode] = graph(st, "mm_a")["gpu_ns"] / max(graph(st, "mm_b")["gpu_ns"], 1)
        want = pa / pb
        err = abs(ratios["priority"] - want) / want
        fair.append((f"{pa}:{pb}", want, ratios["priority"], ratios["fifo"]))
        print(f"| {pa}:{pb} | {want:.2f} | {ratios['priority']:.2f} | {err * 100:.1f}% | "
              f"{ratios['fifo']:.2f} |")

    ig, iname = interactive[-1]
    print(f"\n## Fig. 4: `{iname}` alone, CPU idle vs all {os.cpu_count()} cores busy, {s:g} s\n")
    print("| CPU | delivered Hz | p99 frame latency ms |")
    print("|---|---|---|")
    fig4 = {}
    for busy in [False, True]:
        procs = []
        if busy:
            stop = time.time() + s + 5
            procs = [multiprocessing.Process(target=burn, args=(stop,))
                     for _ in range(os.cpu_count() or 1)]
            for p in procs:
                p.start()
        st = run(a.ptc, [ig], s, "priority", {}, f"fig4_{int(busy)}")
        for p in procs:
            p.terminate()
            p.join()
        g = graph(st, iname)
        fig4[busy] = (g["delivered_hz"], g["latency"]["frame"]["p99"] / 1e6)
        print(f"| {'busy' if busy else 'idle'} | {fig4[busy][0]:.1f} | {fig4[busy][1]:.2f} |")

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("\n(matplotlib not installed: no plot; `pip install matplotlib`)")
        return
    fig, ax = plt.subplots(1, 4, figsize=(20, 4.5))
    names = [n for _, n in interactive]
    big = max(sizes)
    bars = [("priority", None, 10, "alone"), ("fifo", big, 10, f"fifo +matmul{big}"),
            ("priority-unsliced", big, 10, f"priority 10:1, unsliced +matmul{big}"),
            ("priority", big, 10, f"priority 10:1 +matmul{big}"),
            ("priority", big, 100, f"priority 100:1 +matmul{big}")]
    w = 0.8 / len(bars)
    for i, (mode, n, prio, label) in enumerate(bars):
        ax[0].bar([x + w * i for x in range(len(names))],
                  [fig5[(nm, mode, n, prio)][0] for nm in names], width=w, label=label)
    ax[0].set_xticks([x + 0.4 - w / 2 for x in range(len(names))], names)
    ax[0].axhline(120, color="gray", ls="--", lw=0.8)
    ax[0].set_ylabel("delivered frames / s (source: 120 Hz)")
    ax[0].set_title("Fig. 5: interactive graph vs matmul load")
    ax[0].legend(fontsize=8)
    xs = range(len(fair))
    # p99 frame latency of the first (fastest) interactive graph, same bars.
    first = names[0]
    labels = ["alone", "fifo", "prio\nunsliced", "prio", "prio\n100:1"]
    ax[1].bar(labels, [fig5[(first, mode, n, prio)][1] for mode, n, prio, _ in bars],
              color=[f"C{i}" for i in range(len(bars))])
    ax[1].axhline(2 * fig5[(first, "priority", None, 10)][1], color="gray", ls="--", lw=0.8,
                  label="2x alone")
    ax[1].set_ylabel("p99 frame latency, ms")
    ax[1].set_title(f"Fig. 5: {first} latency, +matmul{big}")
    ax[1].legend(fontsize=8)
    ax[2].bar([x - 0.2 for x in xs], [f[1] for f in fair], width=0.2, label="expected")
    ax[2].bar(list(xs), [f[2] for f in fair], width=0.2, label="priority")
    ax[2].bar([x + 0.2 for x in xs], [f[3] for f in fair], width=0.2, label="fifo")
    ax[2].set_xticks(list(xs), [f[0] for f in fair])
    ax[2].set_ylabel("GPU-time ratio a:b")
    ax[2].set_title("Fairness, two saturating graphs")
    ax[2].legend()
    ax[3].bar(["CPU idle", "CPU busy"], [fig4[False][0], fig4[True][0]])
    ax[3].set_ylabel("frames / s")
    ax[3].set_title(f"Fig. 4: {iname} with the CPU loaded")
    fig.suptitle("ptc scheduler on " + (os.environ.get("PTC_BENCH_DEVICE") or "llvmpipe (lavapipe, CPU)"))
    fig.tight_layout()
    png = OUT / "sched_bench.png"
    fig.savefig(png, dpi=100)
    print(f"\nplot: {png.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
