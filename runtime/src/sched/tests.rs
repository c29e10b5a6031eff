//! Scheduler tests on the simulated clock ([`super::sim`]).

use super::sim::{Load, Sim};
use super::*;

fn prio() -> SchedConfig {
    SchedConfig::default()
}

fn fifo() -> SchedConfig {
    SchedConfig {
        mode: SchedMode::Fifo,
        ..SchedConfig::default()
    }
}

const SAT: Load = Load::Saturating {
    cost: 2 * MS,
    depth: 4,
};

/// GPU-time ratio of `a` to `b` between two snapshots.
fn ratio(a: (u64, u64), b: (u64, u64)) -> f64 {
    (a.1 - a.0) as f64 / (b.1 - b.0).max(1) as f64
}

fn assert_within(got: f64, want: f64, tol: f64, what: &str) {
    let err = (got - want).abs() / want;
    assert!(
        err <= tol,
        "{what}: got {got:.3}, want {want:.3} (±{:.0}%)",
        tol * 100.0
    );
}

fn two_saturating(pa: u32, pb: u32, cost_a: Nanos, cost_b: Nanos) -> (u64, u64) {
    let mut sim = Sim::new(prio()).unwrap();
    let a = sim
        .add_graph(
            "a",
            pa,
            Load::Saturating {
                cost: cost_a,
                depth: 4,
            },
        )
        .unwrap();
    let b = sim
        .add_graph(
            "b",
            pb,
            Load::Saturating {
                cost: cost_b,
                depth: 4,
            },
        )
        .unwrap();
    sim.run_until(10 * SEC).unwrap();
    (sim.gpu_ns(a), sim.gpu_ns(b))
}

/// Two saturating graphs fed like `ptc run` feeds them: two frames
/// outstanding each, the next one ready 50 µs after one completes (the host
/// pulls the output and pushes the next input), and every `stall_every`-th
/// turnaround slow enough (2.5 jobs) that the graph runs dry for a moment.
fn two_with_host_stalls(pa: u32, pb: u32, stall_every: u64) -> f64 {
    let mut sim = Sim::new(prio()).unwrap();
    sim.refill_gap_ns = 50_000;
    sim.refill_stall = Some((stall_every, 2 * MS + MS / 2));
    let load = Load::Saturating { cost: MS, depth: 2 };
    let a = sim.add_graph("a", pa, load).unwrap();
    let b = sim.add_graph("b", pb, load).unwrap();
    sim.run_until(SEC).unwrap();
    let s0 = (sim.gpu_ns(a), sim.gpu_ns(b));
    sim.run_until(6 * SEC).unwrap();
    ratio((s0.0, sim.gpu_ns(a)), (s0.1, sim.gpu_ns(b)))
}

#[test]
fn brief_idle_moments_do_not_forfeit_the_share() {
    // Without the grace for brief idleness, the high-priority graph's
    // virtual time is raised to the other's at every stall, losing the lead
    // it had earned, and 10:1 drops well below 10.
    for (pa, pb) in [(2, 1), (4, 1), (10, 1)] {
        let want = f64::from(pa) / f64::from(pb);
        let got = two_with_host_stalls(pa, pb, 25);
        assert_within(
            got,
            want,
            0.10,
            &format!("{pa}:{pb}, host stalls every 25 jobs"),
        );
    }
}

#[test]
fn saturating_graphs_share_in_proportion_to_priority() {
    for (pa, pb) in [(1, 1), (2, 1), (4, 1), (10, 1), (50, 25)] {
        let (a, b) = two_saturating(pa, pb, 2 * MS, 2 * MS);
        let want = f64::from(pa) / f64::from(pb);
        assert_within(a as f64 / b as f64, want, 0.10, &format!("{pa}:{pb}"));
        // And the device was kept busy (work conserving): ≥ 95 % of 10 s.
        assert!(a + b > 9_500 * MS, "device idle: {} ms used", (a + b) / MS);
    }
}

#[test]
fn shares_follow_gpu_time_not_job_counts() {
    // Graph a's jobs are 5x longer; at 2:1 it must get 2x the GPU time,
    // i.e. 2/5 as many jobs.
    let (a, b) = two_saturating(2, 1, 5 * MS, MS);
    assert_within(a as f64 / b as f64, 2.0, 0.10, "2:1 with unequal costs");
    let (a, b) = two_saturating(1, 3, MS, 7 * MS);
    assert_within(b as f64 / a as f64, 3.0, 0.10, "1:3 with unequal costs");
}

#[test]
fn fifo_ignores_priority() {
    // The baseline: with equal queue depths a driver-like FIFO splits 1:1
    // whatever the priorities (this is what priority mode fixes).
    let mut sim = Sim::new(fifo()).unwrap();
    let a = sim.add_graph("a", 10, SAT).unwrap();
    let b = sim.add_graph("b", 1, SAT).unwrap();
    sim.run_until(5 * SEC).unwrap();
    let r = sim.gpu_ns(a) as f64 / sim.gpu_ns(b) as f64;
    assert_within(r, 1.0, 0.05, "fifo 10:1");
}

#[test]
fn three_graphs_share_by_priority() {
    let mut sim = Sim::new(prio()).unwrap();
    let a = sim.add_graph("a", 6, SAT).unwrap();
    let b = sim.add_graph("b", 3, SAT).unwrap();
    let c = sim.add_graph("c", 1, SAT).unwrap();
    sim.run_until(20 * SEC).unwrap();
    let (ga, gb, gc) = (sim.gpu_ns(a), sim.gpu_ns(b), sim.gpu_ns(c));
    assert_within(ga as f64 / gc as f64, 6.0, 0.10, "6:1");
    assert_within(gb as f64 / gc as f64, 3.0, 0.10, "3:1");
}

#[test]
fn priority_change_takes_effect_within_one_second() {
    let mut sim = Sim::new(prio()).unwrap();
    let a = sim.add_graph("a", 10, SAT).unwrap();
    let b = sim.add_graph("b", 10, SAT).unwrap();
    sim.run_until(5 * SEC).unwrap();
    assert_within(
        sim.gpu_ns(a) as f64 / sim.gpu_ns(b) as f64,
        1.0,
        0.10,
        "before",
    );
    sim.sched.set_priority(a, 40).unwrap();
    // The very next simulated second already runs at 4:1.
    let s0 = (sim.gpu_ns(a), sim.gpu_ns(b));
    sim.run_until(6 * SEC).unwrap();
    let s1 = (sim.gpu_ns(a), sim.gpu_ns(b));
    assert_within(
        ratio((s0.0, s1.0), (s0.1, s1.1)),
        4.0,
        0.10,
        "first second after",
    );
    // And back down: b now 4x a.
    sim.sched.set_priority(a, 10).unwrap();
    sim.sched.set_priority(b, 40).unwrap();
    sim.run_until(7 * SEC).unwrap();
    let s2 = (sim.gpu_ns(a), sim.gpu_ns(b));
    assert_within(ratio((s1.1, s2.1), (s1.0, s2.0)), 4.0, 0.10, "after swap");
}

#[test]
fn no_starvation_of_the_lowest_priority_graph() {
    // Stated floor: a saturating graph of priority w among saturating graphs
    // of total priority W receives at least half its fair share w/W of GPU
    // time in EVERY simulated second, and at least one job per second.
    let mut sim = Sim::new(prio()).unwrap();
    let hi = sim
        .add_graph("hi", 100, Load::Saturating { cost: MS, depth: 8 })
        .unwrap();
    let mid = sim.add_graph("mid", 50, SAT).unwrap();
    let lo = sim
        .add_graph(
            "lo",
            1,
            Load::Saturating {
                cost: 3 * MS,
                depth: 2,
            },
        )
        .unwrap();
    let fair = 1.0 / 151.0;
    let mut prev = [0u64; 3];
    let mut prev_frames = 0;
    for s in 1..=10 {
        sim.run_until(s * SEC).unwrap();
        let now = [sim.gpu_ns(hi), sim.gpu_ns(mid), sim.gpu_ns(lo)];
        let total: u64 = (0..3).map(|i| now[i] - prev[i]).sum();
        let lo_share = (now[2] - prev[2]) as f64 / total as f64;
        assert!(
            lo_share >= fair / 2.0,
            "second {s}: lowest share {lo_share:.4} < floor {:.4}",
            fair / 2.0
        );
        let f = sim.frames(lo);
        assert!(f > prev_frames, "second {s}: lowest graph made no progress");
        prev_frames = f;
        prev = now;
    }
}

/// Runs a 120 Hz, 0.5 ms, priority-10 graph for 5 s, optionally with a
/// saturating priority-1 graph of 4 ms jobs; returns (rate, p99 frame latency).
fn periodic_with_load(config: SchedConfig, loaded: bool) -> (f64, u64, u64) {
    let mut sim = Sim::new(config).unwrap();
    let period = SEC / 120;
    let ev = sim
        .add_graph(
            "gesture",
            10,
            Load::Periodic {
                period,
                cost: MS / 2,
                slots: 2,
            },
        )
        .unwrap();
    if loaded {
        sim.add_graph(
            "matmul",
            1,
            Load::Saturating {
                cost: 4 * MS,
                depth: 8,
            },
        )
        .unwrap();
    }
    sim.run_until(5 * SEC).unwrap();
    let rep = sim.sched.report(sim.now());
    let g = rep.graph("gesture").unwrap();
    let _ = ev;
    (
        g.delivered_hz,
        g.latency.frame.p99,
        g.frames_dropped + g.deadline_misses,
    )
}

#[test]
fn periodic_high_priority_graph_keeps_its_rate_under_load() {
    let (alone_hz, alone_p99, alone_bad) = periodic_with_load(prio(), false);
    assert_within(alone_hz, 120.0, 0.01, "alone");
    assert_eq!(alone_bad, 0);
    let (hz, p99, bad) = periodic_with_load(prio(), true);
    assert!(
        hz >= 0.95 * alone_hz,
        "priority: {hz:.1} Hz vs {alone_hz:.1} alone"
    );
    // Waits for at most one in-flight 4 ms batch of the low graph.
    assert!(
        p99 <= alone_p99 + 4 * MS + MS / 10,
        "priority: p99 {} us vs {} us alone",
        p99 / 1000,
        alone_p99 / 1000
    );
    assert_eq!(bad, 0, "priority mode missed deadlines");
    // The baseline collapses: frames queue behind 8 x 4 ms batches.
    let (fifo_hz, fifo_p99, fifo_bad) = periodic_with_load(fifo(), true);
    assert!(fifo_p99 > 3 * p99, "fifo p99 {fifo_p99} vs priority {p99}");
    assert!(fifo_bad > 100, "fifo missed only {fifo_bad} deadlines");
    assert!(fifo_hz < 0.8 * hz, "fifo {fifo_hz:.1} Hz vs {hz:.1}");
}

#[test]
fn new_graph_gets_no_burst_credit() {
    let mut sim = Sim::new(prio()).unwrap();
    let a = sim.add_graph("a", 10, SAT).unwrap();
    sim.run_until(5 * SEC).unwrap();
    let b = sim.add_graph("b", 10, SAT).unwrap();
    let s0 = (sim.gpu_ns(a), sim.gpu_ns(b));
    sim.run_until(5 * SEC + SEC / 2).unwrap();
    let s1 = (sim.gpu_ns(a), sim.gpu_ns(b));
    // b must not monopolise the device to "catch up" on a's 5 s alone.
    assert_within(
        ratio((s0.1, s1.1), (s0.0, s1.0)),
        1.0,
        0.10,
        "b:a after join",
    );
}

#[test]
fn idle_graph_reactivates_without_credit() {
    // b runs, goes idle (terminated load) while a runs alone, then a new
    // graph c joins: c and a split 1:1 from the first half-second.
    let mut sim = Sim::new(prio()).unwrap();
    let a = sim.add_graph("a", 5, SAT).unwrap();
    let b = sim.add_graph("b", 5, SAT).unwrap();
    sim.run_until(2 * SEC).unwrap();
    sim.remove_graph(b).unwrap();
    sim.run_until(4 * SEC).unwrap();
    // Terminating b left a running alone, at full device speed.
    let a_alone = sim.gpu_ns(a);
    sim.run_until(5 * SEC).unwrap();
    assert!(sim.gpu_ns(a) - a_alone > 950 * MS);
    let c = sim.add_graph("c", 5, SAT).unwrap();
    let s0 = (sim.gpu_ns(a), sim.gpu_ns(c));
    sim.run_until(5 * SEC + SEC / 2).unwrap();
    let s1 = (sim.gpu_ns(a), sim.gpu_ns(c));
    assert_within(ratio((s0.1, s1.1), (s0.0, s1.0)), 1.0, 0.10, "c:a");
    let rep = sim.sched.report(sim.now());
    assert!(!rep.graph("b").unwrap().open);
}

#[test]
fn terminating_all_graphs_leaves_nothing_behind() {
    let mut sim = Sim::new(prio()).unwrap();
    let a = sim.add_graph("a", 5, SAT).unwrap();
    let b = sim.add_graph("b", 1, SAT).unwrap();
    sim.run_until(SEC).unwrap();
    sim.remove_graph(a).unwrap();
    sim.remove_graph(b).unwrap();
    sim.run_until(2 * SEC).unwrap();
    assert_eq!(sim.sched.inflight(), 0);
    assert_eq!(sim.sched.ready_count(), 0);
    let before = sim.gpu_ns(a) + sim.gpu_ns(b);
    sim.run_until(3 * SEC).unwrap();
    assert_eq!(sim.gpu_ns(a) + sim.gpu_ns(b), before);
}

#[test]
fn high_priority_waits_for_at_most_one_background_batch() {
    // Direct check of the in-flight bound, without the simulator.
    let mut s = Scheduler::new(prio()).unwrap();
    let spec = |name: &str, p| GraphSpec {
        name: name.into(),
        priority: p,
        rate_hz: None,
        ptasks: vec![("k".into(), None)],
        group: GroupKey::default(),
    };
    let lo = GraphKey(1);
    let hi = GraphKey(2);
    s.add_graph(lo, spec("lo", 1), 0).unwrap();
    s.add_graph(hi, spec("hi", 50), 0).unwrap();
    let job = |g| JobSpec {
        graph: g,
        ptask: Some(0),
        frame_arrival: None,
        ends_frame: true,
        fraction: 1.0,
    };
    for _ in 0..5 {
        s.ready(job(lo), 0).unwrap();
    }
    // hi was active just now (opened, then one frame): lo is background.
    let h = s.ready(job(hi), 0).unwrap();
    let p = s.pick(0).unwrap();
    assert_eq!(p.graph, hi, "hi first");
    let p2 = s.pick(0).unwrap();
    assert_eq!(p2.graph, lo);
    assert_eq!(s.pick(0), None, "only one background job in flight");
    // A second hi frame is submitted at once, behind the background batch
    // (which does not use up hi's queue depth), not after it completes.
    let h2 = s.ready(job(hi), 0).unwrap();
    assert_eq!(s.pick(0).map(|p| p.job), Some(h2));
    for j in [h, h2] {
        s.completed(
            j,
            GpuTime {
                ns: MS,
                start: None,
                timed: true,
            },
            MS,
        )
        .unwrap();
    }
    // hi still recently active: lo stays limited to one in flight.
    assert_eq!(s.pick(MS), None);
    s.completed(
        p2.job,
        GpuTime {
            ns: MS,
            start: None,
            timed: true,
        },
        2 * MS,
    )
    .unwrap();
    assert_eq!(s.pick(2 * MS).map(|p| p.graph), Some(lo));
    assert_eq!(s.pick(2 * MS), None);
    // Long after hi's last activity lo may use the full queue depth.
    let t = 2 * MS + SchedConfig::default().contention_window + 1;
    assert_eq!(s.pick(t).map(|p| p.graph), Some(lo));
}

#[test]
fn fifo_submits_in_readiness_order() {
    let mut s = Scheduler::new(fifo()).unwrap();
    for (k, p) in [(1, 1), (2, 100), (3, 50)] {
        s.add_graph(
            GraphKey(k),
            GraphSpec {
                name: format!("g{k}"),
                priority: p,
                rate_hz: None,
                ptasks: vec![],
                group: GroupKey::default(),
            },
            0,
        )
        .unwrap();
    }
    let order = [3, 1, 2, 1, 3];
    for (t, g) in order.iter().enumerate() {
        s.ready(
            JobSpec {
                graph: GraphKey(*g),
                ptask: None,
                frame_arrival: None,
                ends_frame: false,
                fraction: 1.0,
            },
            t as Nanos,
        )
        .unwrap();
    }
    let got: Vec<u64> = std::iter::from_fn(|| s.pick(10).map(|p| p.graph.0)).collect();
    assert_eq!(got, order);
}

#[test]
fn ptask_priority_override_is_charged_at_its_own_priority() {
    let mut s = Scheduler::new(prio()).unwrap();
    let g = GraphKey(7);
    s.add_graph(
        g,
        GraphSpec {
            name: "g".into(),
            priority: 10,
            rate_hz: None,
            ptasks: vec![("a".into(), None), ("b".into(), Some(40))],
            group: GroupKey::default(),
        },
        0,
    )
    .unwrap();
    let job = |p| JobSpec {
        graph: g,
        ptask: Some(p),
        frame_arrival: None,
        ends_frame: false,
        fraction: 1.0,
    };
    // Within a graph the higher-priority ptask goes first even if younger.
    s.ready(job(0), 0).unwrap();
    s.ready(job(1), 1).unwrap();
    let first = s.pick(2).unwrap();
    assert_eq!(first.ptask, Some(1));
    s.completed(
        first.job,
        GpuTime {
            ns: 4000,
            start: None,
            timed: true,
        },
        10,
    )
    .unwrap();
    assert_eq!(s.vtime(g), Some(100.0)); // 4000 ns / 40
    let second = s.pick(10).unwrap();
    s.completed(
        second.job,
        GpuTime {
            ns: 4000,
            start: None,
            timed: true,
        },
        20,
    )
    .unwrap();
    assert_eq!(s.vtime(g), Some(500.0)); // + 4000 / 10
    s.set_ptask_priority(g, 1, None).unwrap();
    assert!(matches!(
        s.set_ptask_priority(g, 9, Some(3)),
        Err(SchedError::UnknownPtask { ptask: 9, .. })
    ));
}

#[test]
fn bad_calls_are_errors_not_panics() {
    let mut s = Scheduler::new(prio()).unwrap();
    let spec = GraphSpec {
        name: "g".into(),
        priority: 0,
        rate_hz: None,
        ptasks: vec![],
        group: GroupKey::default(),
    };
    assert_eq!(
        s.add_graph(GraphKey(1), spec.clone(), 0),
        Err(SchedError::BadPriority(0))
    );
    let ok = GraphSpec {
        priority: 5,
        ..spec.clone()
    };
    s.add_graph(GraphKey(1), ok.clone(), 0).unwrap();
    assert_eq!(
        s.add_graph(GraphKey(1), ok.clone(), 0),
        Err(SchedError::DuplicateGraph(1))
    );
    assert_eq!(
        s.add_graph(
            GraphKey(2),
            GraphSpec {
                rate_hz: Some(f64::NAN),
                ..ok.clone()
            },
            0
        )
        .map_err(|e| e.to_string()),
        Err("rate NaN Hz is not a positive number".to_string())
    );
    assert_eq!(
        s.set_priority(GraphKey(1), 101),
        Err(SchedError::BadPriority(101))
    );
    assert_eq!(
        s.set_priority(GraphKey(9), 5),
        Err(SchedError::UnknownGraph(9))
    );
    let job = JobSpec {
        graph: GraphKey(1),
        ptask: Some(0),
        frame_arrival: None,
        ends_frame: false,
        fraction: 1.0,
    };
    assert!(matches!(
        s.ready(job, 0),
        Err(SchedError::UnknownPtask { ptask: 0, .. })
    ));
    let j = s
        .ready(
            JobSpec {
                graph: GraphKey(1),
                ptask: None,
                frame_arrival: None,
                ends_frame: false,
                fraction: 1.0,
            },
            0,
        )
        .unwrap();
    let gpu = GpuTime {
        ns: 1,
        start: None,
        timed: true,
    };
    assert_eq!(
        s.completed(j, gpu, 1),
        Err(SchedError::BadJob(j.0, "submitted"))
    );
    assert_eq!(
        s.completed(JobId(99), gpu, 1),
        Err(SchedError::BadJob(99, "known"))
    );
    assert_eq!(
        "lottery".parse::<SchedMode>().map_err(|e| e.to_string()),
        Err("unknown scheduling mode `lottery` (expected `fifo` or `priority`)".into())
    );
    assert!(Scheduler::new(SchedConfig {
        queues: 0,
        ..prio()
    })
    .is_err());
    // abandon returns the slot and the charge.
    let p = s.pick(1).unwrap();
    assert_eq!(s.inflight(), 1);
    s.abandon(p.job, 2).unwrap();
    assert_eq!(s.inflight(), 0);
    s.remove_graph(GraphKey(1), 3).unwrap();
    assert_eq!(
        s.remove_graph(GraphKey(1), 3),
        Err(SchedError::UnknownGraph(1))
    );
}

#[test]
fn simulation_is_deterministic() {
    let run = || {
        let mut sim = Sim::new(prio()).unwrap();
        sim.add_graph("a", 3, SAT).unwrap();
        sim.add_graph(
            "p",
            20,
            Load::Periodic {
                period: SEC / 60,
                cost: MS,
                slots: 2,
            },
        )
        .unwrap();
        sim.run_until(2 * SEC).unwrap();
        sim.sched.report(sim.now()).to_json()
    };
    assert_eq!(run(), run());
}

#[test]
fn queues_are_assigned_by_priority_rank() {
    let mut s = Scheduler::new(SchedConfig {
        queues: 2,
        ..prio()
    })
    .unwrap();
    let spec = |p| GraphSpec {
        name: format!("p{p}"),
        priority: p,
        rate_hz: None,
        ptasks: vec![],
        group: GroupKey::default(),
    };
    s.add_graph(GraphKey(1), spec(10), 0).unwrap();
    s.add_graph(GraphKey(2), spec(90), 0).unwrap();
    s.add_graph(GraphKey(3), spec(50), 0).unwrap();
    assert_eq!(s.queue_of(GraphKey(2)), Some(0));
    assert_eq!(s.queue_of(GraphKey(3)), Some(1));
    assert_eq!(s.queue_of(GraphKey(1)), Some(1));
    s.set_priority(GraphKey(1), 95).unwrap();
    assert_eq!(s.queue_of(GraphKey(1)), Some(0));
    assert_eq!(s.queue_of(GraphKey(2)), Some(1));
    assert_eq!(vk_queue_priorities(4), vec![1.0, 0.75, 0.5, 0.25]);
}

#[test]
fn stats_json_follows_the_schema() {
    let mut sim = Sim::new(prio()).unwrap();
    sim.add_graph("batch", 2, SAT).unwrap();
    sim.add_graph(
        "cam",
        20,
        Load::Periodic {
            period: SEC / 100,
            cost: MS,
            slots: 2,
        },
    )
    .unwrap();
    sim.run_until(3 * SEC).unwrap();
    let rep = sim.sched.report(sim.now());
    let v: serde_json::Value = serde_json::from_str(&rep.to_json()).unwrap();
    assert_eq!(v["schema"], "ptc-stats/1");
    assert_eq!(v["mode"], "priority");
    assert_eq!(v["elapsed_ns"], 3 * SEC);
    let graphs = v["graphs"].as_array().unwrap();
    assert_eq!(graphs.len(), 2);
    let total: u64 = graphs.iter().map(|g| g["gpu_ns"].as_u64().unwrap()).sum();
    assert_eq!(v["gpu_ns"].as_u64(), Some(total));
    let share_sum: f64 = graphs
        .iter()
        .map(|g| g["gpu_share"].as_f64().unwrap())
        .sum();
    assert!((share_sum - 1.0).abs() < 1e-9);
    let cam = &graphs[1];
    assert_eq!(cam["name"], "cam");
    assert_eq!(cam["rate_hz"], 100.0);
    let hz = cam["delivered_hz"].as_f64().unwrap();
    assert!((hz - 100.0).abs() < 1.0, "{hz}");
    let frames = cam["frames"].as_u64().unwrap();
    assert!((299..=300).contains(&frames), "{frames}");
    assert_eq!(cam["firings"], cam["frames"]);
    // Each cam frame costs exactly 1 ms of GPU time.
    assert_eq!(cam["gpu_ns"].as_u64(), Some(frames * MS));
    for key in ["ready_to_submit", "submit_to_done", "frame"] {
        let s = &cam["latency"][key];
        for f in ["count", "mean", "p50", "p99", "max"] {
            assert!(s[f].is_u64(), "{key}.{f}");
        }
        assert!(s["p50"].as_u64() <= s["p99"].as_u64());
        assert!(s["p99"].as_u64() <= s["max"].as_u64());
    }
    // submit→done is at least the 1 ms of execution.
    assert!(cam["latency"]["submit_to_done"]["p50"].as_u64().unwrap() >= MS);
    let pt = &cam["ptasks"][0];
    assert_eq!(pt["name"], "cam_k");
    assert_eq!(pt["index"], 0);
    assert_eq!(pt["firings"], cam["firings"]);
    assert_eq!(pt["gpu_share"], cam["gpu_share"]);
}

#[test]
fn stats_count_deadline_misses_and_drops() {
    // A 200 Hz graph whose frames cost 8 ms cannot keep up.
    let mut sim = Sim::new(prio()).unwrap();
    let g = sim
        .add_graph(
            "slow",
            10,
            Load::Periodic {
                period: 5 * MS,
                cost: 8 * MS,
                slots: 2,
            },
        )
        .unwrap();
    sim.run_until(SEC).unwrap();
    let rep = sim.sched.report(sim.now());
    let r = &rep.graphs[g.0 as usize];
    assert!((120..=126).contains(&r.frames), "{}", r.frames);
    assert_within(r.delivered_hz, 125.0, 0.02, "delivered");
    assert!(r.deadline_misses >= r.frames - 1, "{}", r.deadline_misses);
    assert!(r.frames_dropped >= 70, "{}", r.frames_dropped);
}

#[test]
fn trace_has_tracks_and_complete_events() {
    let mut sim = Sim::new(SchedConfig {
        trace_limit: 10_000,
        ..prio()
    })
    .unwrap();
    sim.add_graph("a", 2, SAT).unwrap();
    sim.add_graph("b", 1, SAT).unwrap();
    sim.run_until(100 * MS).unwrap();
    let t = sim.sched.trace_json();
    let ev = t["traceEvents"].as_array().unwrap();
    let names: Vec<&str> = ev
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "thread_name")
        .filter_map(|e| e["args"]["name"].as_str())
        .collect();
    assert_eq!(names, ["queue 0", "a", "b"]);
    let x: Vec<&serde_json::Value> = ev.iter().filter(|e| e["ph"] == "X").collect();
    // 100 ms of 2 ms jobs on one queue: ~49 jobs, two events each.
    assert!((90..=100).contains(&x.len()), "{}", x.len());
    // Queue-track events never overlap (one serial queue) and last 2 ms.
    let mut q: Vec<(f64, f64)> = x
        .iter()
        .filter(|e| e["pid"] == 1)
        .map(|e| (e["ts"].as_f64().unwrap(), e["dur"].as_f64().unwrap()))
        .collect();
    q.sort_by(|a, b| a.0.total_cmp(&b.0));
    for w in q.windows(2) {
        assert!(w[0].0 + w[0].1 <= w[1].0 + 1e-6, "{w:?}");
    }
    assert!(q.iter().all(|(_, d)| (*d - 2000.0).abs() < 1e-6));
    let e = x.iter().find(|e| e["pid"] == 2).unwrap();
    assert!(e["args"]["graph"] == "a" || e["args"]["graph"] == "b");
    assert_eq!(
        e["name"],
        format!("{}_k", e["args"]["graph"].as_str().unwrap())
    );
    // With the limit reached further events are counted, not kept.
    let mut small = Sim::new(SchedConfig {
        trace_limit: 10,
        ..prio()
    })
    .unwrap();
    small.add_graph("a", 2, SAT).unwrap();
    small.run_until(100 * MS).unwrap();
    let t = small.sched.trace_json();
    let n = t["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ph"] == "X")
        .count();
    assert_eq!(n, 10);
    assert!(t["otherData"]["jobs_not_recorded"].as_u64().unwrap() > 40);
}

#[test]
fn long_background_dispatches_are_sliced_and_pipelined_within_max_batch() {
    let spec = |name: &str, p| GraphSpec {
        name: name.into(),
        priority: p,
        rate_hz: None,
        ptasks: vec![("k".into(), None)],
        group: GroupKey::default(),
    };
    let job = |g, fraction| JobSpec {
        graph: g,
        ptask: Some(0),
        frame_arrival: None,
        ends_frame: true,
        fraction,
    };
    let done = |ns| GpuTime {
        ns,
        start: None,
        timed: true,
    };
    let (lo, hi) = (GraphKey(1), GraphKey(2));
    let mut s = Scheduler::new(prio()).unwrap();
    s.add_graph(lo, spec("lo", 1), 0).unwrap();
    s.add_graph(hi, spec("hi", 50), 0).unwrap();
    // No estimate yet: never sliced.
    assert_eq!(s.slices_per_job(lo, Some(0), 8, 0), 8);
    // One whole 8 ms dispatch of lo teaches the scheduler its cost.
    let j = s.ready(job(lo, 1.0), 0).unwrap();
    assert_eq!(s.pick(0).map(|p| p.job), Some(j));
    s.completed(j, done(8 * MS), 8 * MS).unwrap();
    let now = 8 * MS;
    // hi was active within the contention window: lo is background, and
    // 8 ms > max_batch (2 ms): slices of max_batch/2 = 1 ms, one per job.
    assert_eq!(s.slices_per_job(lo, Some(0), 8, now), 1);
    assert_eq!(
        s.slices_per_job(hi, Some(0), 8, now),
        8,
        "hi is never sliced"
    );
    // Two 1 ms slices fit the 2 ms budget in flight at once, a third does not.
    let a = s.ready(job(lo, 0.125), now).unwrap();
    let b = s.ready(job(lo, 0.125), now).unwrap();
    let c = s.ready(job(lo, 0.125), now).unwrap();
    assert_eq!(s.pick(now).map(|p| p.job), Some(a));
    assert_eq!(
        s.pick(now).map(|p| p.job),
        Some(b),
        "second slice pipelined"
    );
    assert_eq!(s.pick(now), None, "a third slice would exceed max_batch");
    // Slices are charged their share of the estimate, and their measured
    // time scaled back up keeps the whole-dispatch estimate.
    s.completed(a, done(MS), now + MS).unwrap();
    assert_eq!(s.pick(now + MS).map(|p| p.job), Some(c));
    s.completed(b, done(MS), now + 2 * MS).unwrap();
    s.completed(c, done(MS), now + 3 * MS).unwrap();
    assert_eq!(s.slices_per_job(lo, Some(0), 8, now + 3 * MS), 1);
    // Long after hi's last activity lo is not background: whole dispatches.
    let later = now + 3 * MS + SchedConfig::default().contention_window + 1;
    assert_eq!(s.slices_per_job(lo, Some(0), 8, later), 8);
    // Nor in fifo mode, nor with max_batch 0.
    for config in [
        fifo(),
        SchedConfig {
            max_batch: 0,
            ..prio()
        },
    ] {
        let mut s = Scheduler::new(config).unwrap();
        s.add_graph(lo, spec("lo", 1), 0).unwrap();
        s.add_graph(hi, spec("hi", 50), 0).unwrap();
        let j = s.ready(job(lo, 1.0), 0).unwrap();
        s.pick(0).unwrap();
        s.completed(j, done(8 * MS), 8 * MS).unwrap();
        assert_eq!(s.slices_per_job(lo, Some(0), 8, 8 * MS), 8);
    }
    // A job's fraction must be in (0, 1].
    assert!(s.ready(job(lo, 0.0), later).is_err());
    assert!(s.ready(job(lo, 1.5), later).is_err());
}

/// A 120 Hz graph (1 ms frames) next to a saturating load whose dispatches
/// take 9 ms and can be split in 8: (delivered Hz, p99 frame latency).
fn periodic_with_sliced_load(config: SchedConfig, loaded: bool) -> (f64, u64) {
    let mut sim = Sim::new(config).unwrap();
    sim.add_graph(
        "tick",
        10,
        Load::Periodic {
            period: SEC / 120,
            cost: MS,
            slots: 2,
        },
    )
    .unwrap();
    if loaded {
        sim.add_graph(
            "matmul",
            1,
            Load::Sliced {
                cost: 9 * MS,
                depth: 2,
                slices: 8,
            },
        )
        .unwrap();
    }
    sim.run_until(5 * SEC).unwrap();
    let rep = sim.sched.report(sim.now());
    let g = rep.graph("tick").unwrap();
    (g.delivered_hz, g.latency.frame.p99)
}

#[test]
fn slicing_bounds_the_wait_behind_background_work_by_max_batch() {
    let (alone_hz, alone_p99) = periodic_with_sliced_load(prio(), false);
    let unsliced = SchedConfig {
        max_batch: 0,
        ..prio()
    };
    let (hz0, p99_0) = periodic_with_sliced_load(unsliced, true);
    let (hz, p99) = periodic_with_sliced_load(prio(), true);
    let budget = prio().max_batch;
    println!(
        "alone {alone_hz:.1} Hz p99 {alone_p99} ns; unsliced {hz0:.1} Hz p99 {p99_0}; sliced {hz:.1} Hz p99 {p99}"
    );
    assert!(hz >= 0.95 * alone_hz && hz0 >= 0.95 * alone_hz);
    // Unsliced, a frame can wait behind a whole 9 ms dispatch.
    assert!(p99_0 >= alone_p99 + 6 * MS, "unsliced p99 {p99_0}");
    // Sliced, behind at most max_batch of background work (plus launch).
    assert!(
        p99 <= alone_p99 + budget + MS / 10,
        "sliced p99 {p99} > alone {alone_p99} + max_batch {budget}"
    );
}

// ---------------------------------------------------------------------------
// Groups (hierarchical fair share).

const A: GroupKey = GroupKey(1000);
const B: GroupKey = GroupKey(1001);
const C: GroupKey = GroupKey(1002);

/// Each group's fraction of the GPU time the groups used since `before`
/// (a [`group_gpu`] snapshot).
fn group_shares(sim: &Sim, groups: &[GroupKey], before: &[u64]) -> Vec<f64> {
    let used: Vec<u64> = groups
        .iter()
        .zip(before)
        .map(|(g, b)| sim.group_gpu_ns(*g) - b)
        .collect();
    let total: u64 = used.iter().sum();
    used.iter()
        .map(|u| *u as f64 / total.max(1) as f64)
        .collect()
}

/// GPU time each group used so far.
fn group_gpu(sim: &Sim, groups: &[GroupKey]) -> Vec<u64> {
    groups.iter().map(|g| sim.group_gpu_ns(*g)).collect()
}

/// The flat scenarios whose exact results (GPU ns, frames, p99 ns) the
/// scheduler produced before groups existed, run with every graph in
/// `group` (configured by `setup`).
fn single_group_scenarios(group: GroupKey, setup: impl Fn(&mut Scheduler)) -> Vec<Vec<u64>> {
    let new = |config: SchedConfig| {
        let mut sim = Sim::new(config).unwrap();
        setup(&mut sim.sched);
        sim
    };
    let mut out = Vec::new();
    // 2:1, saturating.
    let mut sim = new(prio());
    let a = sim.add_graph_in(group, "a", 2, SAT).unwrap();
    let b = sim.add_graph_in(group, "b", 1, SAT).unwrap();
    sim.run_until(5 * SEC).unwrap();
    out.push(vec![sim.gpu_ns(a), sim.gpu_ns(b)]);
    // 10:1 fed one frame at a time, with host stalls (brief-idle grace).
    let mut sim = new(prio());
    sim.refill_gap_ns = 50_000;
    sim.refill_stall = Some((25, 2 * MS + MS / 2));
    let load = Load::Saturating { cost: MS, depth: 2 };
    let a = sim.add_graph_in(group, "a", 10, load).unwrap();
    let b = sim.add_graph_in(group, "b", 1, load).unwrap();
    sim.run_until(3 * SEC).unwrap();
    out.push(vec![sim.gpu_ns(a), sim.gpu_ns(b)]);
    // 120 Hz next to sliced background work (eligibility, slicing).
    let mut sim = new(prio());
    let tick = Load::Periodic {
        period: SEC / 120,
        cost: MS,
        slots: 2,
    };
    let sliced = Load::Sliced {
        cost: 9 * MS,
        depth: 2,
        slices: 8,
    };
    let t = sim.add_graph_in(group, "tick", 10, tick).unwrap();
    let m = sim.add_graph_in(group, "matmul", 1, sliced).unwrap();
    sim.run_until(3 * SEC).unwrap();
    let rep = sim.sched.report(sim.now());
    let f = &rep.graphs[0].latency.frame;
    out.push(vec![sim.frames(t), f.p99, f.max, sim.gpu_ns(m)]);
    // 6:3:1.
    let mut sim = new(prio());
    let a = sim.add_graph_in(group, "a", 6, SAT).unwrap();
    let b = sim.add_graph_in(group, "b", 3, SAT).unwrap();
    let c = sim.add_graph_in(group, "c", 1, SAT).unwrap();
    sim.run_until(3 * SEC).unwrap();
    out.push(vec![sim.gpu_ns(a), sim.gpu_ns(b), sim.gpu_ns(c)]);
    // Two queues (queue assignment, cross-queue order).
    let mut sim = new(SchedConfig {
        queues: 2,
        ..prio()
    });
    let a = sim.add_graph_in(group, "a", 6, SAT).unwrap();
    let b = sim.add_graph_in(group, "b", 3, SAT).unwrap();
    let c = sim.add_graph_in(group, "c", 1, SAT).unwrap();
    let t = sim.add_graph_in(group, "tick", 6, tick).unwrap();
    sim.run_until(3 * SEC).unwrap();
    let rep = sim.sched.report(sim.now());
    out.push(vec![
        sim.gpu_ns(a),
        sim.gpu_ns(b),
        sim.gpu_ns(c),
        sim.frames(t),
        rep.graphs[3].latency.frame.p99,
    ]);
    out
}

#[test]
fn one_group_reproduces_the_flat_scheduler_exactly() {
    // Recorded from the scheduler before groups were introduced.
    let flat: Vec<Vec<u64>> = vec![
        vec![3_332_000_000, 1_666_000_000],
        vec![2_725_000_000, 272_000_000],
        vec![360, 2_146_303, 10_020_000, 2_593_125_000],
        vec![1_800_000_000, 898_000_000, 298_000_000],
        vec![1_324_000_000, 988_000_000, 328_000_000, 359, 8_355_839],
    ];
    assert_eq!(single_group_scenarios(GroupKey(0), |_| ()), flat);
    // Any one group, whatever its weight, and a limit that never binds.
    let g = GroupKey(42);
    let got = single_group_scenarios(g, |s| {
        s.set_group_weight(g, 7).unwrap();
        s.set_group_limits(g, GroupLimits { inflight: Some(64) })
            .unwrap();
    });
    assert_eq!(got, flat);
}

#[test]
fn groups_share_equally_whatever_their_graph_counts() {
    // User A opens four saturating graphs, user B one, all at priority 50:
    // each user gets half the device, and A's half is split evenly.
    let mut sim = Sim::new(prio()).unwrap();
    let a: Vec<GraphKey> = (0..4)
        .map(|i| sim.add_graph_in(A, &format!("a{i}"), 50, SAT).unwrap())
        .collect();
    let b = sim.add_graph_in(B, "b", 50, SAT).unwrap();
    sim.run_until(SEC).unwrap();
    let s0 = group_gpu(&sim, &[A, B]);
    let a0: Vec<u64> = a.iter().map(|k| sim.gpu_ns(*k)).collect();
    sim.run_until(11 * SEC).unwrap();
    let sh = group_shares(&sim, &[A, B], &s0);
    println!("4 graphs vs 1: A {:.4} B {:.4}", sh[0], sh[1]);
    assert_within(sh[0], 0.5, 0.10, "A (4 graphs)");
    assert_within(sh[1], 0.5, 0.10, "B (1 graph)");
    let a_total = sim.group_gpu_ns(A) - s0[0];
    for (k, before) in a.iter().zip(a0) {
        let part = (sim.gpu_ns(*k) - before) as f64 / a_total as f64;
        assert_within(part, 0.25, 0.10, "a graph's part of A's share");
    }
    let used = group_gpu(&sim, &[A, B]).iter().sum::<u64>() - s0.iter().sum::<u64>();
    assert!(used > 9_500 * MS, "device idle: {} ms used", used / MS);
    assert_eq!(sim.sched.group_of(b), Some(B));
    // Flat, the same five graphs split 4:1.
    let mut flat = Sim::new(prio()).unwrap();
    for i in 0..4 {
        flat.add_graph(&format!("a{i}"), 50, SAT).unwrap();
    }
    let fb = flat.add_graph("b", 50, SAT).unwrap();
    flat.run_until(10 * SEC).unwrap();
    let total: u64 = (0..5).map(|i| flat.gpu_ns(GraphKey(i))).sum();
    assert_within(flat.gpu_ns(fb) as f64 / total as f64, 0.2, 0.10, "flat b");
}

#[test]
fn priorities_split_a_groups_share_inside_it() {
    // A: graphs at 20 and 10; B: one graph at 10. A and B get half each,
    // A's half is split 2:1 (the latency rules, background limit
    // included, apply across groups without changing the shares).
    for queues in [1, 2] {
        let mut sim = Sim::new(SchedConfig { queues, ..prio() }).unwrap();
        let a20 = sim.add_graph_in(A, "a20", 20, SAT).unwrap();
        let a10 = sim.add_graph_in(A, "a10", 10, SAT).unwrap();
        let b10 = sim.add_graph_in(B, "b10", 10, SAT).unwrap();
        sim.run_until(SEC).unwrap();
        let s0 = [sim.gpu_ns(a20), sim.gpu_ns(a10), sim.gpu_ns(b10)];
        sim.run_until(11 * SEC).unwrap();
        let d: Vec<f64> = [a20, a10, b10]
            .iter()
            .zip(s0)
            .map(|(k, b)| (sim.gpu_ns(*k) - b) as f64)
            .collect();
        let total: f64 = d.iter().sum();
        println!(
            "{queues} queue(s), A(20,10) vs B(10): a20 {:.4} a10 {:.4} b10 {:.4} (device {:.4})",
            d[0] / total,
            d[1] / total,
            d[2] / total,
            total / (10 * SEC) as f64
        );
        assert!(total > 9.5e9, "device idle: {} ms used", total / 1e6);
        if queues == 1 {
            assert_within((d[0] + d[1]) / total, 0.5, 0.10, "A");
            assert_within(d[2] / total, 0.5, 0.10, "B");
            assert_within(d[0] / d[1], 2.0, 0.10, "a20:a10");
        } else {
            // Two queues: a20 has queue 0 to itself, a10 and b10 share
            // queue 1, each queue is shared by the hierarchy on its own
            // (how the device divides itself between queues is its
            // business): A and B split queue 1 evenly, although A
            // already has queue 0.
            assert_eq!(sim.sched.queue_of(a20), Some(0));
            assert_eq!(sim.sched.queue_of(a10), Some(1));
            assert_within(d[1] / d[2], 1.0, 0.10, "a10:b10 on queue 1");
        }
    }
}

#[test]
fn group_weights_set_the_shares_between_groups() {
    // B (one graph) at weight w against A (two graphs) at weight 1: w:1,
    // also when each graph is fed one frame at a time with host stalls
    // long enough to run it dry (the brief-idle grace one level up: without
    // it B keeps 2.78:1 and 8.32:1). With stalls, B's graph outranks A's so
    // that it may pipeline two jobs (as background it may have one in
    // flight, runs dry for longer at each stall, and that idle time
    // legitimately goes to A).
    for w in [3, 10] {
        for stalls in [false, true] {
            let mut sim = Sim::new(prio()).unwrap();
            sim.sched.set_group_weight(B, w).unwrap();
            let (load, pb) = if stalls {
                sim.refill_gap_ns = 50_000;
                sim.refill_stall = Some((25, 2 * MS + MS / 2));
                (Load::Saturating { cost: MS, depth: 2 }, 8)
            } else {
                (SAT, 5)
            };
            sim.add_graph_in(A, "a1", 5, load).unwrap();
            sim.add_graph_in(A, "a2", 5, load).unwrap();
            sim.add_graph_in(B, "b", pb, load).unwrap();
            sim.run_until(SEC).unwrap();
            let s0 = group_gpu(&sim, &[A, B]);
            sim.run_until(6 * SEC).unwrap();
            let sh = group_shares(&sim, &[A, B], &s0);
            let what = format!("weights 1:{w}, stalls {stalls}");
            println!(
                "{what}: A {:.4} B {:.4} (B:A {:.3})",
                sh[0],
                sh[1],
                sh[1] / sh[0]
            );
            assert_within(sh[1] / sh[0], f64::from(w), 0.10, &what);
        }
    }
    assert_eq!(sim_weight_errors(), Err(SchedError::BadGroupWeight(0)));
}

#[test]
fn raising_priorities_does_not_raise_a_groups_share() {
    // B runs its graph at priority 100 against A's at 1: A's graph is
    // background (one job in flight, long dispatches sliced: see
    // `latency_protection_works_across_groups`), but the device is still
    // split 1:1.
    for load in [
        SAT,
        Load::Sliced {
            cost: 6 * MS,
            depth: 2,
            slices: 6,
        },
    ] {
        let mut sim = Sim::new(prio()).unwrap();
        sim.add_graph_in(A, "a", 1, load).unwrap();
        sim.add_graph_in(B, "b", 100, SAT).unwrap();
        sim.run_until(SEC).unwrap();
        let s0 = group_gpu(&sim, &[A, B]);
        sim.run_until(6 * SEC).unwrap();
        let sh = group_shares(&sim, &[A, B], &s0);
        println!(
            "A at 1 ({load:?}) vs B at 100: A {:.4} B {:.4}",
            sh[0], sh[1]
        );
        assert_within(sh[0], 0.5, 0.10, "A");
        assert_within(sh[1], 0.5, 0.10, "B");
        let used: u64 = group_gpu(&sim, &[A, B]).iter().sum::<u64>() - s0.iter().sum::<u64>();
        assert!(
            used > 4_750 * MS,
            "device idle: {} ms used of 5000",
            used / MS
        );
    }
}

#[test]
fn latency_protection_works_across_groups() {
    // User B's 120 Hz graph (priority 10, 0.5 ms frames) next to user A's
    // saturating batch (priority 1, 4 ms jobs): the frame waits for at most
    // one of A's batches, as within one group; A gets the rest of the device.
    let run = |loaded: bool| {
        let mut sim = Sim::new(prio()).unwrap();
        let period = SEC / 120;
        let load = Load::Periodic {
            period,
            cost: MS / 2,
            slots: 2,
        };
        sim.add_graph_in(B, "gesture", 10, load).unwrap();
        if loaded {
            let batch = Load::Saturating {
                cost: 4 * MS,
                depth: 8,
            };
            sim.add_graph_in(A, "matmul", 1, batch).unwrap();
        }
        sim.run_until(5 * SEC).unwrap();
        let rep = sim.sched.report(sim.now());
        let g = rep.graph("gesture").unwrap().clone();
        (g, sim.group_gpu_ns(A))
    };
    let (alone, _) = run(false);
    let (g, a_gpu) = run(true);
    println!(
        "gesture p99 {} us alone, {} us next to A's batch; A used {} ms",
        alone.latency.frame.p99 / 1000,
        g.latency.frame.p99 / 1000,
        a_gpu / MS
    );
    assert!(g.delivered_hz >= 0.95 * alone.delivered_hz);
    assert_eq!(g.deadline_misses + g.frames_dropped, 0);
    assert!(g.latency.frame.p99 <= alone.latency.frame.p99 + 4 * MS + MS / 10);
    // Work conserving: A's batch gets what the gesture graph leaves.
    assert!(a_gpu > 4_500 * MS, "A used {} ms", a_gpu / MS);
}

fn sim_weight_errors() -> Result<(), SchedError> {
    let mut s = Scheduler::new(prio())?;
    assert_eq!(s.group_weight(A), 1);
    assert_eq!(s.group_limits(A), GroupLimits::default());
    assert!(s
        .set_group_limits(A, GroupLimits { inflight: Some(0) })
        .is_err());
    s.set_group_weight(A, 0)
}

#[test]
fn an_idle_groups_share_goes_to_the_busy_ones() {
    let mut sim = Sim::new(prio()).unwrap();
    sim.add_graph_in(A, "a1", 10, SAT).unwrap();
    sim.add_graph_in(A, "a2", 10, SAT).unwrap();
    sim.add_graph_in(B, "b", 10, SAT).unwrap();
    let c = sim.add_graph_in(C, "c", 10, SAT).unwrap();
    sim.run_until(3 * SEC).unwrap();
    let s0 = group_gpu(&sim, &[A, B, C]);
    sim.run_until(4 * SEC).unwrap();
    let sh = group_shares(&sim, &[A, B, C], &s0);
    println!("three groups: {sh:.4?}");
    for (s, g) in sh.iter().zip(["A", "B", "C"]) {
        assert_within(*s, 1.0 / 3.0, 0.10, g);
    }
    // C goes idle (its graph stays open): A and B take its third.
    sim.set_paused(c, true).unwrap();
    sim.run_until(5 * SEC).unwrap();
    let s1 = group_gpu(&sim, &[A, B, C]);
    sim.run_until(7 * SEC).unwrap();
    let sh = group_shares(&sim, &[A, B, C], &s1);
    println!("C idle: {sh:.4?}");
    assert_within(sh[0], 0.5, 0.10, "A with C idle");
    assert_within(sh[1], 0.5, 0.10, "B with C idle");
    let used: u64 = group_gpu(&sim, &[A, B, C]).iter().sum::<u64>() - s1.iter().sum::<u64>();
    assert!(
        used > 1_900 * MS,
        "device idle: {} ms used of 2000",
        used / MS
    );
    assert_eq!(sim.group_gpu_ns(C), s1[2]);
}

#[test]
fn a_group_reactivates_without_burst_credit() {
    // B idles for 3 s while A (two graphs) has the device to itself; when
    // B resumes (its graph reactivates) or a new graph of B opens, A and B
    // split 1:1 from the first half-second: B is owed nothing.
    for reopen in [false, true] {
        let mut sim = Sim::new(prio()).unwrap();
        sim.add_graph_in(A, "a1", 10, SAT).unwrap();
        sim.add_graph_in(A, "a2", 30, SAT).unwrap();
        let b = sim.add_graph_in(B, "b", 10, SAT).unwrap();
        sim.run_until(2 * SEC).unwrap();
        if reopen {
            sim.remove_graph(b).unwrap();
        } else {
            sim.set_paused(b, true).unwrap();
        }
        sim.run_until(3 * SEC).unwrap();
        let s_alone = group_gpu(&sim, &[A, B]);
        sim.run_until(5 * SEC).unwrap();
        let sh = group_shares(&sim, &[A, B], &s_alone);
        assert!(sh[0] > 0.999, "A alone got {:.4} of the device", sh[0]);
        assert!(
            sim.group_gpu_ns(A) - s_alone[0] > 1_950 * MS,
            "A alone: device idle"
        );
        if reopen {
            sim.add_graph_in(B, "b2", 10, SAT).unwrap();
        } else {
            sim.set_paused(b, false).unwrap();
        }
        let s0 = group_gpu(&sim, &[A, B]);
        sim.run_until(5 * SEC + SEC / 2).unwrap();
        let sh = group_shares(&sim, &[A, B], &s0);
        println!(
            "after B returns (reopen {reopen}): A {:.4} B {:.4}",
            sh[0], sh[1]
        );
        assert_within(sh[1] / sh[0], 1.0, 0.10, &format!("B:A, reopen {reopen}"));
    }
}

#[test]
fn a_group_at_its_inflight_limit_holds_back_no_one() {
    let spec = |name: &str, group| GraphSpec {
        name: name.into(),
        priority: 10,
        rate_hz: None,
        ptasks: vec![("k".into(), None)],
        group,
    };
    let job = |g| JobSpec {
        graph: g,
        ptask: Some(0),
        frame_arrival: None,
        ends_frame: true,
        fraction: 1.0,
    };
    let mut s = Scheduler::new(SchedConfig {
        queue_depth: 4,
        ..prio()
    })
    .unwrap();
    s.set_group_limits(A, GroupLimits { inflight: Some(1) })
        .unwrap();
    let (a1, a2, b) = (GraphKey(1), GraphKey(2), GraphKey(3));
    s.add_graph(a1, spec("a1", A), 0).unwrap();
    s.add_graph(a2, spec("a2", A), 0).unwrap();
    s.add_graph(b, spec("b", B), 0).unwrap();
    for g in [a1, a2, a1, a2, b, b] {
        s.ready(job(g), 0).unwrap();
    }
    // A's graphs come first (lower keys on ties: older jobs), but A may
    // have one job in flight: then B's go, although A's keys are smaller.
    let first = s.pick(0).unwrap();
    assert_eq!(s.group_of(first.graph), Some(A));
    assert_eq!(s.group_inflight(A), 1);
    let b1 = s.pick(0).unwrap();
    let b2 = s.pick(0).unwrap();
    assert_eq!((b1.graph, b2.graph), (b, b));
    assert_eq!(s.pick(0), None, "A at its limit, B has nothing ready");
    let done = GpuTime {
        ns: MS,
        start: None,
        timed: true,
    };
    for (i, j) in [first.job, b1.job, b2.job].into_iter().enumerate() {
        s.completed(j, done, (i as Nanos + 1) * MS).unwrap();
    }
    assert_eq!(s.group_inflight(A), 0);
    let next = s.pick(3 * MS).unwrap();
    assert_eq!(s.group_of(next.graph), Some(A));
    assert_eq!(s.pick(3 * MS), None, "A at its limit again");
    // Lifting the limit lets A use the free queue slots.
    s.set_group_limits(A, GroupLimits::default()).unwrap();
    assert_eq!(s.pick(3 * MS).map(|p| s.group_of(p.graph)), Some(Some(A)));
    assert_eq!(s.group_inflight(A), 2);
    // Fifo mode honours the limit too.
    let mut f = Scheduler::new(fifo()).unwrap();
    f.set_group_limits(A, GroupLimits { inflight: Some(1) })
        .unwrap();
    f.add_graph(a1, spec("a1", A), 0).unwrap();
    f.add_graph(b, spec("b", B), 0).unwrap();
    for g in [a1, a1, b] {
        f.ready(job(g), 0).unwrap();
    }
    let order: Vec<GraphKey> = std::iter::from_fn(|| f.pick(0).map(|p| p.graph)).collect();
    assert_eq!(order, [a1, b]);
}

#[test]
fn group_inflight_limit_is_honoured_in_the_simulation() {
    // Four queue slots; A (four graphs) may use at most one. The limit
    // binds A below half the device, B takes the rest: the device stays
    // busy. When the limit is lifted, A gets its half back without a burst
    // for the time it was held back.
    let config = SchedConfig {
        queue_depth: 4,
        graph_inflight: 4,
        ..prio()
    };
    let mut sim = Sim::new(config).unwrap();
    sim.sched
        .set_group_limits(A, GroupLimits { inflight: Some(1) })
        .unwrap();
    for i in 0..4 {
        sim.add_graph_in(A, &format!("a{i}"), 10, SAT).unwrap();
    }
    sim.add_graph_in(B, "b", 10, SAT).unwrap();
    sim.run_until(SEC).unwrap();
    let s0 = group_gpu(&sim, &[A, B]);
    sim.run_until(5 * SEC).unwrap();
    let sh = group_shares(&sim, &[A, B], &s0);
    println!("A limited to 1 in flight: A {:.4} B {:.4}", sh[0], sh[1]);
    assert_eq!(sim.peak_group_inflight(A), 1);
    assert!(
        sim.peak_group_inflight(B) >= 3,
        "{}",
        sim.peak_group_inflight(B)
    );
    assert!(sh[0] < 0.45, "the limit did not bind: A {:.4}", sh[0]);
    let used: u64 = group_gpu(&sim, &[A, B]).iter().sum::<u64>() - s0.iter().sum::<u64>();
    assert!(
        used > 3_900 * MS,
        "device idle: {} ms used of 4000",
        used / MS
    );
    let rep = sim.sched.report(sim.now());
    let ga = rep.groups.iter().find(|g| g.id == A.0).unwrap();
    assert_eq!(ga.inflight_limit, Some(1));
    // Lifted: 1:1 from the first half-second.
    sim.sched
        .set_group_limits(A, GroupLimits::default())
        .unwrap();
    let s1 = group_gpu(&sim, &[A, B]);
    sim.run_until(5 * SEC + SEC / 2).unwrap();
    let sh = group_shares(&sim, &[A, B], &s1);
    println!("limit lifted: A {:.4} B {:.4}", sh[0], sh[1]);
    assert_within(sh[0] / sh[1], 1.0, 0.10, "A:B after the limit is lifted");
}

#[test]
fn stats_report_groups() {
    let mut sim = Sim::new(prio()).unwrap();
    sim.sched.set_group_weight(B, 2).unwrap();
    sim.add_graph_in(A, "a1", 5, SAT).unwrap();
    sim.add_graph_in(A, "a2", 5, SAT).unwrap();
    sim.add_graph_in(B, "b", 5, SAT).unwrap();
    sim.run_until(3 * SEC).unwrap();
    let rep = sim.sched.report(sim.now());
    let v: serde_json::Value = serde_json::from_str(&rep.to_json()).unwrap();
    assert_eq!(v["schema"], "ptc-stats/1");
    let graphs = v["graphs"].as_array().unwrap();
    let ids: Vec<u64> = graphs
        .iter()
        .map(|g| g["group"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [A.0, A.0, B.0]);
    let groups = v["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0]["id"], A.0);
    assert_eq!(groups[0]["weight"], 1);
    assert_eq!(groups[0]["graphs"], 2);
    assert!(groups[0]["inflight_limit"].is_null());
    assert_eq!(groups[1]["weight"], 2);
    let total: u64 = groups.iter().map(|g| g["gpu_ns"].as_u64().unwrap()).sum();
    assert_eq!(v["gpu_ns"].as_u64(), Some(total));
    assert_eq!(
        groups[0]["gpu_ns"].as_u64(),
        Some(graphs[0]["gpu_ns"].as_u64().unwrap() + graphs[1]["gpu_ns"].as_u64().unwrap())
    );
    // B at weight 2 against A at 1: two thirds.
    let b_share = groups[1]["gpu_share"].as_f64().unwrap();
    assert_within(b_share, 2.0 / 3.0, 0.10, "B's share");
}

#[test]
fn a_group_moving_to_another_queue_brings_no_credit_there() {
    // Two queues. B's b0 (priority 20) has queue 0 to itself for 3 s while
    // A's a1 (priority 10) runs on queue 1. Raised to 20, a1 moves to
    // queue 0, where A never ran: A and B split it 1:1 from the first
    // half-second, instead of A catching up on B's 3 s.
    let mut sim = Sim::new(SchedConfig {
        queues: 2,
        ..prio()
    })
    .unwrap();
    let b0 = sim.add_graph_in(B, "b0", 20, SAT).unwrap();
    let a1 = sim.add_graph_in(A, "a1", 10, SAT).unwrap();
    sim.run_until(3 * SEC).unwrap();
    assert_eq!(sim.sched.queue_of(a1), Some(1));
    sim.sched.set_priority(a1, 20).unwrap();
    assert_eq!(sim.sched.queue_of(a1), Some(0));
    assert_eq!(sim.sched.queue_of(b0), Some(0));
    let s0 = group_gpu(&sim, &[A, B]);
    sim.run_until(3 * SEC + SEC / 2).unwrap();
    let sh = group_shares(&sim, &[A, B], &s0);
    println!("after the move: A {:.4} B {:.4}", sh[0], sh[1]);
    assert_within(sh[0] / sh[1], 1.0, 0.10, "A:B on queue 0");
}
