//! Prints the scheduler's fairness, interactive-rate and per-user (group) tables on the
//! simulated clock (no device needed): `cargo run -p ptc-runtime --example sched_sim`.
//!
//! This checks the *policy* in isolation (one serial device queue, fixed job
//! costs); the device benchmarks (`scripts/sched_bench.sh`) measure the same
//! tables on a real Vulkan device.

use ptc_runtime::sched::sim::{Load, Sim};
use ptc_runtime::sched::{GroupKey, SchedConfig, SchedError, SchedMode, MS, SEC};

fn config(mode: SchedMode) -> SchedConfig {
    SchedConfig {
        mode,
        ..SchedConfig::default()
    }
}

fn fairness(mode: SchedMode, pa: u32, pb: u32) -> Result<f64, SchedError> {
    let mut sim = Sim::new(config(mode))?;
    let sat = Load::Saturating {
        cost: 4 * MS,
        depth: 4,
    };
    let a = sim.add_graph("a", pa, sat)?;
    let b = sim.add_graph("b", pb, sat)?;
    sim.run_until(20 * SEC)?;
    Ok(sim.gpu_ns(a) as f64 / sim.gpu_ns(b).max(1) as f64)
}

fn interactive(mode: SchedMode, loaded: bool) -> Result<(f64, f64, u64), SchedError> {
    let mut sim = Sim::new(config(mode))?;
    sim.add_graph(
        "gesture",
        10,
        Load::Periodic {
            period: SEC / 120,
            cost: MS,
            slots: 2,
        },
    )?;
    if loaded {
        sim.add_graph(
            "matmul",
            1,
            Load::Saturating {
                cost: 5 * MS,
                depth: 8,
            },
        )?;
    }
    sim.run_until(10 * SEC)?;
    let rep = sim.sched.report(sim.now());
    let g = rep
        .graph("gesture")
        .ok_or(SchedError::BadConfig("gesture graph missing"))?;
    Ok((
        g.delivered_hz,
        g.latency.frame.p99 as f64 / 1e6,
        g.deadline_misses + g.frames_dropped,
    ))
}

/// Users A and B with saturating graphs at the given priorities, B at
/// weight `wb`; in one group (`flat`) or one group per user. Returns the
/// shares of A, of B and of each of A's graphs.
fn users(pa: &[u32], pb: &[u32], wb: u32, flat: bool) -> Result<(f64, f64, Vec<f64>), SchedError> {
    let mut sim = Sim::new(config(SchedMode::Priority))?;
    let (ga, gb) = if flat {
        (GroupKey(0), GroupKey(0))
    } else {
        (GroupKey(1), GroupKey(2))
    };
    if !flat {
        sim.sched.set_group_weight(gb, wb)?;
    }
    let sat = Load::Saturating {
        cost: 4 * MS,
        depth: 4,
    };
    let mut a = Vec::new();
    for (i, p) in pa.iter().enumerate() {
        a.push(sim.add_graph_in(ga, &format!("a{i}"), *p, sat)?);
    }
    let mut b = Vec::new();
    for (i, p) in pb.iter().enumerate() {
        b.push(sim.add_graph_in(gb, &format!("b{i}"), *p, sat)?);
    }
    sim.run_until(20 * SEC)?;
    let sum = |ks: &[_]| ks.iter().map(|k| sim.gpu_ns(*k)).sum::<u64>() as f64;
    let total = (sum(&a) + sum(&b)).max(1.0);
    let inside = a.iter().map(|k| sim.gpu_ns(*k) as f64 / total).collect();
    Ok((sum(&a) / total, sum(&b) / total, inside))
}

fn percent(xs: &[f64]) -> String {
    let v: Vec<String> = xs.iter().map(|x| format!("{:.1}", x * 100.0)).collect();
    v.join(" / ")
}

fn main() -> Result<(), SchedError> {
    println!("Fairness, two saturating graphs (4 ms jobs), 20 s simulated");
    println!("| priorities | expected | priority mode | fifo mode |");
    println!("|---|---|---|---|");
    for (pa, pb) in [(1, 1), (2, 1), (4, 1), (10, 1)] {
        let p = fairness(SchedMode::Priority, pa, pb)?;
        let f = fairness(SchedMode::Fifo, pa, pb)?;
        let want = f64::from(pa) / f64::from(pb);
        println!("| {pa}:{pb} | {want:.2} | {p:.2} | {f:.2} |");
    }
    println!();
    println!("120 Hz graph (1 ms/frame, priority 10) vs saturating matmul (5 ms jobs, priority 1), 10 s simulated");
    println!("| mode | load | delivered Hz | p99 frame latency ms | late or dropped frames |");
    println!("|---|---|---|---|---|");
    for mode in [SchedMode::Fifo, SchedMode::Priority] {
        for loaded in [false, true] {
            let (hz, p99, bad) = interactive(mode, loaded)?;
            let load = if loaded { "matmul" } else { "alone" };
            println!("| {mode} | {load} | {hz:.1} | {p99:.2} | {bad} |");
        }
    }
    println!();
    println!("Hierarchical fair share: users A and B (one group each), saturating graphs (4 ms jobs), 20 s simulated");
    println!("| A's graphs | B's graphs | B's weight | expected A : B | A % | B % | A's graphs % | flat (one group): A % / B % |");
    println!("|---|---|---|---|---|---|---|---|");
    let cases: [(&[u32], &[u32], u32); 5] = [
        (&[50, 50, 50, 50], &[50], 1),
        (&[20, 10], &[10], 1),
        (&[1], &[100], 1),
        (&[50, 50], &[50], 3),
        (&[10, 10, 10], &[10, 1], 1),
    ];
    for (pa, pb, wb) in cases {
        let (a, b, inside) = users(pa, pb, wb, false)?;
        let (fa, fb, _) = users(pa, pb, wb, true)?;
        let want = 100.0 / f64::from(1 + wb);
        println!(
            "| {pa:?} | {pb:?} | {wb} | {want:.1} : {:.1} | {:.1} | {:.1} | {} | {:.1} / {:.1} |",
            100.0 - want,
            a * 100.0,
            b * 100.0,
            percent(&inside),
            fa * 100.0,
            fb * 100.0
        );
    }
    Ok(())
}
