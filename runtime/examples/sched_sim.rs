//! Prints the scheduler's fairness and interactive-rate tables on the
//! simulated clock (no device needed): `cargo run -p ptc-runtime --example sched_sim`.
//!
//! This checks the *policy* in isolation (one serial device queue, fixed job
//! costs); the device benchmarks (`scripts/sched_bench.sh`) measure the same
//! tables on a real Vulkan device.

use ptc_runtime::sched::sim::{Load, Sim};
use ptc_runtime::sched::{SchedConfig, SchedError, SchedMode, MS, SEC};

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
    Ok(())
}
