//! A deterministic discrete-event simulation of graphs sharing one device
//! queue, driving the real [`Scheduler`] with a simulated clock.
//!
//! The simulated device executes submitted jobs one at a time in submission
//! order (like one Vulkan queue on lavapipe, or a GPU without preemption),
//! each for its graph's fixed cost, plus [`Sim::launch_ns`] between
//! submission and the earliest start. Graph loads:
//!
//! * [`Load::Saturating`] — always has work: keeps `depth` jobs outstanding
//!   (ready or in flight), like a batch graph fed by `random` without pacing.
//! * [`Load::Sliced`] — saturating, with dispatches the scheduler may
//!   split into slices (see [`SchedConfig::max_batch`](super::SchedConfig::max_batch)).
//! * [`Load::Periodic`] — a frame arrives every `period` (a 120 Hz camera);
//!   at most `slots` frames may be outstanding, further arrivals are dropped.
//!
//! Every job is one whole frame. Graphs may belong to different groups
//! ([`Sim::add_graph_in`]), and a graph's source may be paused
//! ([`Sim::set_paused`]) to make it idle. The tests of [`super`] and the
//! `sched_sim` example use this to measure shares, rates and latencies.

use super::{
    GpuTime, GraphKey, GraphSpec, GroupKey, JobId, JobSpec, Nanos, SchedConfig, SchedError,
    Scheduler,
};
use std::collections::{BTreeMap, VecDeque};

/// How a simulated graph generates work.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Load {
    /// Always busy: `depth` jobs outstanding, each costing `cost` ns of device time.
    Saturating {
        /// Device time per job.
        cost: Nanos,
        /// Jobs kept outstanding.
        depth: usize,
    },
    /// Like `Saturating`, but each `cost`-long dispatch can be split into
    /// `slices` equal parts; the sim asks the scheduler
    /// ([`Scheduler::slices_per_job`](super::Scheduler::slices_per_job)) how
    /// many parts each job covers, as the runtime does. A frame ends with
    /// the last part of a dispatch.
    Sliced {
        /// Device time of a whole dispatch.
        cost: Nanos,
        /// Jobs kept outstanding.
        depth: usize,
        /// Parts a dispatch can be split into.
        slices: u32,
    },
    /// One frame every `period` ns, each costing `cost`; at most `slots` outstanding.
    Periodic {
        /// Frame interval.
        period: Nanos,
        /// Device time per frame.
        cost: Nanos,
        /// Outstanding frames before the source drops.
        slots: usize,
    },
}

impl Load {
    fn cost(&self) -> Nanos {
        match *self {
            Load::Saturating { cost, .. }
            | Load::Sliced { cost, .. }
            | Load::Periodic { cost, .. } => cost,
        }
    }
}

struct SimGraph {
    load: Load,
    group: GroupKey,
    /// The source generates no work (in-flight and queued jobs still run).
    paused: bool,
    outstanding: usize,
    next_arrival: Nanos,
    open: bool,
    completed: u64,
    /// `Sliced`: parts of the current dispatch not yet handed out (0: none
    /// in progress).
    slices_left: u32,
}

struct Running {
    job: JobId,
    graph: GraphKey,
    start: Nanos,
    end: Nanos,
}

/// The simulation: a scheduler, graphs, one serial device queue and a clock.
pub struct Sim {
    /// The scheduler under test (inspect stats, change priorities).
    pub sched: Scheduler,
    /// Submission → earliest execution start.
    pub launch_ns: Nanos,
    /// Completion → a saturating graph's next job is ready (the host's
    /// turnaround: pull the output, push the next input). 0 by default.
    pub refill_gap_ns: Nanos,
    /// Every `n`-th refill of each saturating graph takes `stall` ns
    /// instead of `refill_gap_ns` (host jitter: a page fault, a slow write),
    /// long enough for the graph to run dry. `None` by default.
    pub refill_stall: Option<(u64, Nanos)>,
    /// Saturating graphs waiting out their refill gap: (ready time, graph).
    refills: Vec<(Nanos, GraphKey)>,
    now: Nanos,
    graphs: BTreeMap<GraphKey, SimGraph>,
    device: VecDeque<Running>,
    device_free_at: Nanos,
    /// Device time of jobs that are slices (others cost their graph's `cost`).
    job_cost: std::collections::HashMap<JobId, Nanos>,
    /// Most jobs each group ever had in flight at once.
    peak_group_inflight: BTreeMap<GroupKey, usize>,
}

impl Sim {
    /// A simulation at time 0 with no graphs.
    pub fn new(config: SchedConfig) -> Result<Self, SchedError> {
        Ok(Sim {
            sched: Scheduler::new(config)?,
            launch_ns: 20_000,
            refill_gap_ns: 0,
            refill_stall: None,
            refills: Vec::new(),
            now: 0,
            graphs: BTreeMap::new(),
            device: VecDeque::new(),
            device_free_at: 0,
            job_cost: std::collections::HashMap::new(),
            peak_group_inflight: BTreeMap::new(),
        })
    }

    /// The simulated clock.
    pub fn now(&self) -> Nanos {
        self.now
    }

    /// Opens a graph of group 0 with a load at the current time; returns its key.
    pub fn add_graph(
        &mut self,
        name: &str,
        priority: u32,
        load: Load,
    ) -> Result<GraphKey, SchedError> {
        self.add_graph_in(GroupKey::default(), name, priority, load)
    }

    /// Opens a graph of `group` with a load at the current time; returns its key.
    pub fn add_graph_in(
        &mut self,
        group: GroupKey,
        name: &str,
        priority: u32,
        load: Load,
    ) -> Result<GraphKey, SchedError> {
        let key = GraphKey(self.graphs.len() as u64);
        let rate_hz = match load {
            Load::Periodic { period, .. } if period > 0 => Some(1e9 / period as f64),
            _ => None,
        };
        self.sched.add_graph(
            key,
            GraphSpec {
                name: name.to_string(),
                priority,
                rate_hz,
                ptasks: vec![(format!("{name}_k"), None)],
                group,
            },
            self.now,
        )?;
        self.graphs.insert(
            key,
            SimGraph {
                load,
                group,
                paused: false,
                outstanding: 0,
                next_arrival: self.now,
                open: true,
                completed: 0,
                slices_left: 0,
            },
        );
        self.refill(key)?;
        self.submit_all();
        Ok(key)
    }

    /// Terminates a graph: its queued jobs are dropped, in-flight ones finish.
    pub fn remove_graph(&mut self, key: GraphKey) -> Result<(), SchedError> {
        self.sched.remove_graph(key, self.now)?;
        if let Some(g) = self.graphs.get_mut(&key) {
            g.open = false;
        }
        self.submit_all();
        Ok(())
    }

    /// Pauses (`true`) or resumes a graph's source: a paused graph makes no
    /// new jobs (a periodic one skips its frames), so once its outstanding
    /// jobs are done it is idle; resuming refills it at once.
    pub fn set_paused(&mut self, key: GraphKey, paused: bool) -> Result<(), SchedError> {
        let g = self
            .graphs
            .get_mut(&key)
            .ok_or(SchedError::UnknownGraph(key.0))?;
        g.paused = paused;
        if !paused {
            if matches!(g.load, Load::Periodic { .. }) {
                g.next_arrival = g.next_arrival.max(self.now);
            }
            self.refill(key)?;
            self.submit_all();
        }
        Ok(())
    }

    /// Device time used by the graphs of a group so far (ns).
    pub fn group_gpu_ns(&self, group: GroupKey) -> u64 {
        self.sched.stats().group_gpu_ns(group)
    }

    /// The most jobs `group` ever had in flight at once.
    pub fn peak_group_inflight(&self, group: GroupKey) -> usize {
        self.peak_group_inflight.get(&group).copied().unwrap_or(0)
    }

    /// Device time used by a graph so far (ns).
    pub fn gpu_ns(&self, key: GraphKey) -> u64 {
        self.sched.stats().gpu_ns(key)
    }

    /// Frames a graph delivered so far.
    pub fn frames(&self, key: GraphKey) -> u64 {
        self.sched.stats().frames(key)
    }

    fn job_spec(key: GraphKey, arrival: Nanos) -> JobSpec {
        JobSpec {
            graph: key,
            ptask: Some(0),
            frame_arrival: Some(arrival),
            ends_frame: true,
            fraction: 1.0,
        }
    }

    /// `Sliced` graphs: top up to `depth` outstanding jobs, each covering
    /// as many parts of the current dispatch as the scheduler says.
    fn refill_sliced(&mut self, key: GraphKey) -> Result<(), SchedError> {
        let now = self.now;
        let Some(g) = self.graphs.get_mut(&key) else {
            return Ok(());
        };
        let Load::Sliced {
            cost,
            depth,
            slices,
        } = g.load
        else {
            return Ok(());
        };
        let slices = slices.max(1);
        while g.open && !g.paused && g.outstanding < depth {
            let step = self.sched.slices_per_job(key, Some(0), slices, now);
            if g.slices_left == 0 {
                g.slices_left = slices;
            }
            let k = step.clamp(1, g.slices_left);
            g.slices_left -= k;
            g.outstanding += 1;
            let spec = JobSpec {
                ends_frame: g.slices_left == 0,
                fraction: f64::from(k) / f64::from(slices),
                ..Self::job_spec(key, now)
            };
            let job = self.sched.ready(spec, now)?;
            self.job_cost
                .insert(job, cost * u64::from(k) / u64::from(slices));
        }
        Ok(())
    }

    /// Saturating graphs: top up to `depth` outstanding jobs.
    fn refill(&mut self, key: GraphKey) -> Result<(), SchedError> {
        let now = self.now;
        let Some(g) = self.graphs.get_mut(&key) else {
            return Ok(());
        };
        if !g.open || g.paused {
            return Ok(());
        }
        match g.load {
            Load::Saturating { depth, .. } => {
                while g.outstanding < depth {
                    g.outstanding += 1;
                    self.sched.ready(Self::job_spec(key, now), now)?;
                }
            }
            Load::Sliced { .. } => self.refill_sliced(key)?,
            Load::Periodic { .. } => {}
        }
        Ok(())
    }

    fn submit_all(&mut self) {
        while let Some(p) = self.sched.pick(self.now) {
            let cost = match self.job_cost.remove(&p.job) {
                Some(c) => c,
                None => self.graphs.get(&p.graph).map_or(0, |g| g.load.cost()),
            };
            let start = self.device_free_at.max(self.now + self.launch_ns);
            let end = start + cost;
            self.device_free_at = end;
            if let Some(group) = self.graphs.get(&p.graph).map(|g| g.group) {
                let n = self.sched.group_inflight(group);
                let peak = self.peak_group_inflight.entry(group).or_default();
                *peak = (*peak).max(n);
            }
            self.device.push_back(Running {
                job: p.job,
                graph: p.graph,
                start,
                end,
            });
        }
    }

    /// Advances the clock to `t`, processing every arrival and completion.
    pub fn run_until(&mut self, t: Nanos) -> Result<(), SchedError> {
        loop {
            let next_done = self.device.front().map(|r| r.end);
            let next_arrival = self
                .graphs
                .values()
                .filter(|g| g.open && matches!(g.load, Load::Periodic { .. }))
                .map(|g| g.next_arrival)
                .min();
            let next_refill = self.refills.iter().map(|r| r.0).min();
            let next_arrival = match (next_arrival, next_refill) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let next = match (next_done, next_arrival) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) | (None, Some(a)) => a,
                (None, None) => break,
            };
            if next > t {
                break;
            }
            self.now = next;
            while self.device.front().is_some_and(|r| r.end <= self.now) {
                let Some(r) = self.device.pop_front() else {
                    break;
                };
                let cost = r.end - r.start;
                self.sched.completed(
                    r.job,
                    GpuTime {
                        ns: cost,
                        start: Some(r.start),
                        timed: true,
                    },
                    self.now,
                )?;
                let mut gap = self.refill_gap_ns;
                if let Some(g) = self.graphs.get_mut(&r.graph) {
                    g.outstanding = g.outstanding.saturating_sub(1);
                    g.completed += 1;
                    if let Some((n, stall)) = self.refill_stall {
                        if n > 0 && g.completed % n == 0 {
                            gap = stall;
                        }
                    }
                }
                if gap == 0 {
                    self.refill(r.graph)?;
                } else {
                    self.refills.push((self.now + gap, r.graph));
                }
            }
            let now = self.now;
            let due: Vec<GraphKey> = self
                .refills
                .iter()
                .filter(|r| r.0 <= now)
                .map(|r| r.1)
                .collect();
            self.refills.retain(|r| r.0 > now);
            for k in due {
                self.refill(k)?;
            }
            let arrivals: Vec<GraphKey> = self
                .graphs
                .iter()
                .filter(|(_, g)| {
                    g.open && g.next_arrival <= now && matches!(g.load, Load::Periodic { .. })
                })
                .map(|(k, _)| *k)
                .collect();
            for k in arrivals {
                let Some(g) = self.graphs.get_mut(&k) else {
                    continue;
                };
                if let Load::Periodic { period, slots, .. } = g.load {
                    let arrival = g.next_arrival;
                    g.next_arrival += period.max(1);
                    if g.paused {
                        continue;
                    }
                    if g.outstanding < slots {
                        g.outstanding += 1;
                        self.sched.ready(Self::job_spec(k, arrival), now)?;
                    } else {
                        self.sched.frame_dropped(k);
                    }
                }
            }
            self.submit_all();
        }
        self.now = t.max(self.now);
        self.submit_all();
        Ok(())
    }
}
