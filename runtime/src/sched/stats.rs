//! Per-graph and per-ptask run statistics (`ptc run --stats FILE.json`).
//!
//! # JSON schema (`"schema": "ptc-stats/1"`)
//!
//! All durations are integer nanoseconds; shares are fractions in 0..=1.
//!
//! ```text
//! {
//!   "schema": "ptc-stats/1",
//!   "mode": "priority" | "fifo",
//!   "elapsed_ns": u64,              // first graph opened → report time
//!   "gpu_ns": u64,                  // GPU time of all jobs of all graphs
//!   "graphs": [{
//!     "id": u64, "name": str,
//!     "group": u64,                 // the graph's group (user id; 0 for `ptc run`)
//!     "priority": u32,              // base priority at report time
//!     "rate_hz": f64 | null,        // source rate, if paced
//!     "open": bool,                 // false once terminated
//!     "firings": u64,               // jobs completed (ptask dispatches, frame batches, or slices of a sliced dispatch)
//!     "timed_firings": u64,         // of which GPU time came from timestamp queries
//!     "gpu_ns": u64,                // GPU time charged to the graph
//!     "gpu_share": f64,             // gpu_ns / top-level gpu_ns
//!     "frames": u64,                // frames delivered (jobs that end a frame)
//!     "frames_dropped": u64,        // frames the source dropped (graph was full)
//!     "delivered_hz": f64,          // (frames − 1) / (last frame done − first frame done)
//!     "deadline_misses": u64,       // rate_hz set: frames whose arrival → done > 1/rate_hz
//!     "latency": {
//!       "ready_to_submit": Summary, // per job
//!       "submit_to_done": Summary,  // per job
//!       "frame": Summary            // per frame: source arrival → last job done
//!     },
//!     "ptasks": [{
//!       "name": str,                // "(frame)" for whole-frame batches
//!       "index": usize | null,      // null for whole-frame batches
//!       "priority": u32,            // override, else the graph's
//!       "firings": u64, "gpu_ns": u64, "gpu_share": f64,
//!       "latency": { "ready_to_submit": Summary, "submit_to_done": Summary }
//!     }],
//!     "host": null | {              // its sources and sinks (ptc run; null without a Session)
//!       "frames": u64,              // frames done (delivered on every output, else pushed)
//!       "frames_in": u64,           // frames its sources produced and pushed (all inputs)
//!       "source_ns": u64,           // wall time in its sources: producing + pushing frames
//!       "frames_out": u64,          // frames its sinks took (all outputs)
//!       "sink_ns": u64,             // wall time in its sinks: pulling + writing frames
//!       "sink_cpu_ns": u64          // CPU time of it (sinks that write the frames somewhere)
//!     }
//!   }],
//!   "groups": [{                    // one per group of the listed graphs, by id
//!     "id": u64,
//!     "weight": u32,                // group weight at report time (default 1)
//!     "inflight_limit": u64 | null, // group in-flight limit at report time
//!     "graphs": u64,                // graphs of the group listed above
//!     "gpu_ns": u64,                // GPU time of its graphs
//!     "gpu_share": f64              // gpu_ns / top-level gpu_ns
//!   }],
//!   "host": null | {                // the host's cost (ptc run; null without a Session)
//!     "wall_ns": u64,               // Session::run, start to end
//!     "thread_cpu_ns": u64,         // CPU time (user + system) of the thread running it
//!     "process_cpu_ns": u64,        // CPU time of the whole process meanwhile (all threads:
//!                                   //   on a CPU device, lavapipe, this includes the device's work)
//!     "frames": u64,                // frames done by all its runs
//!     "thread_cpu_ns_per_frame": u64
//!   }
//! }
//! Summary = { "count": u64, "mean": u64, "p50": u64, "p99": u64, "max": u64 }
//! ```
//!
//! Percentiles come from a log-linear histogram ([`super::hist`]): within
//! 1/64 of the true value; `max` and `mean` are exact.
//!
//! The `host` objects (added within `ptc-stats/1`; absent or `null` in
//! older documents and in reports made without a
//! [`Session`](crate::Session)) say what the host spent: `thread_cpu_ns`
//! per frame is the runtime's own cost on the CPU (sources and sinks
//! included, waiting for the device excluded: a host that blocks costs
//! nothing while it waits), and a graph's `sink_ns / frames_out` against
//! its `gpu_ns / frames` tells whether its output I/O keeps up.

use super::hist::{Histogram, Summary};
use super::{GraphKey, GraphSpec, GroupKey, Nanos, SchedMode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// One finished job, as the scheduler saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct JobRecord {
    /// Its graph.
    pub graph: GraphKey,
    /// Its graph's group.
    pub group: GroupKey,
    /// Its ptask (`None`: whole-frame batch).
    pub ptask: Option<usize>,
    /// Became ready.
    pub ready: Nanos,
    /// Submitted.
    pub submitted: Nanos,
    /// Completion seen by the host.
    pub done: Nanos,
    /// Measured GPU time.
    pub gpu_ns: Nanos,
    /// Arrival of its frame at the source.
    pub frame_arrival: Nanos,
    /// It completed a frame.
    pub ends_frame: bool,
    /// Queue it ran on.
    pub queue: usize,
    /// Priority it was charged at.
    pub weight: u32,
    /// `gpu_ns` was measured with device timestamps.
    pub timed: bool,
}

#[derive(Default)]
struct PtaskStats {
    firings: u64,
    timed: u64,
    gpu_ns: u64,
    wait: Histogram,
    exec: Histogram,
}

struct GraphStats {
    name: String,
    group: GroupKey,
    priority: u32,
    rate_hz: Option<f64>,
    open: bool,
    ptask_names: Vec<String>,
    ptask_prio: Vec<Option<u32>>,
    ptasks: Vec<PtaskStats>,
    batch: PtaskStats,
    all: PtaskStats,
    frame: Histogram,
    frames: u64,
    dropped: u64,
    misses: u64,
    first_done: Option<Nanos>,
    last_done: Option<Nanos>,
}

/// Accumulates statistics as jobs complete.
pub struct StatsCollector {
    mode: SchedMode,
    start: Option<Nanos>,
    graphs: BTreeMap<GraphKey, GraphStats>,
    /// Groups whose weight or limits were set: (weight, in-flight limit).
    group_config: BTreeMap<GroupKey, (u32, Option<usize>)>,
}

/// Latency summaries of one graph.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphLatency {
    /// Job ready → submitted.
    pub ready_to_submit: Summary,
    /// Job submitted → completion seen.
    pub submit_to_done: Summary,
    /// Frame arrival → the job ending the frame completed.
    pub frame: Summary,
}

/// Latency summaries of one ptask.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PtaskLatency {
    /// Job ready → submitted.
    pub ready_to_submit: Summary,
    /// Job submitted → completion seen.
    pub submit_to_done: Summary,
}

/// Statistics of one ptask (see the module docs for the schema).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PtaskReport {
    /// Ptask name, or `(frame)` for whole-frame batches.
    pub name: String,
    /// Index in the plan, `None` for whole-frame batches.
    pub index: Option<usize>,
    /// Effective base priority.
    pub priority: u32,
    /// Completed jobs.
    pub firings: u64,
    /// GPU time used.
    pub gpu_ns: u64,
    /// Fraction of all GPU time.
    pub gpu_share: f64,
    /// Latencies.
    pub latency: PtaskLatency,
}

/// Statistics of one graph (see the module docs for the schema).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GraphReport {
    /// The runtime's graph id.
    pub id: u64,
    /// Graph name.
    pub name: String,
    /// Its group (user) id.
    pub group: u64,
    /// Base priority at report time.
    pub priority: u32,
    /// Source rate, if paced.
    pub rate_hz: Option<f64>,
    /// Still open.
    pub open: bool,
    /// Completed jobs.
    pub firings: u64,
    /// Jobs whose GPU time came from device timestamp queries (the others
    /// were charged their host-observed submit→done time).
    pub timed_firings: u64,
    /// GPU time used.
    pub gpu_ns: u64,
    /// Fraction of all GPU time.
    pub gpu_share: f64,
    /// Frames delivered.
    pub frames: u64,
    /// Frames the source dropped.
    pub frames_dropped: u64,
    /// Delivered frame rate.
    pub delivered_hz: f64,
    /// Frames later than one period (graphs with a rate).
    pub deadline_misses: u64,
    /// Latencies.
    pub latency: GraphLatency,
    /// Per-ptask statistics (ptasks that never fired are listed with zeros).
    pub ptasks: Vec<PtaskReport>,
    /// Its sources' and sinks' cost ([`crate::Session::report`]; `None`
    /// without a session).
    #[serde(default)]
    pub host: Option<GraphHostReport>,
}

/// What one graph's sources and sinks cost the host (see the module docs).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GraphHostReport {
    /// Frames done (delivered on every output; pushed on every input for a
    /// graph without outputs).
    pub frames: u64,
    /// Frames its sources produced and pushed (all inputs together).
    pub frames_in: u64,
    /// Wall time in its sources: producing frames and pushing them, ns.
    pub source_ns: u64,
    /// Frames its sinks took (all outputs together).
    pub frames_out: u64,
    /// Wall time in its sinks: pulling frames and writing them, ns.
    pub sink_ns: u64,
    /// CPU time (of the thread running the session) of that, for sinks
    /// that write frames somewhere (not counted for `to null`), ns. On a
    /// CPU device the device's threads compete for the cores, so this is
    /// what the sink costs, and `sink_ns` what it took.
    #[serde(default)]
    pub sink_cpu_ns: u64,
}

/// What the host spent running sessions (see the module docs).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HostReport {
    /// Wall time of `Session::run`, ns.
    pub wall_ns: u64,
    /// CPU time (user + system) of the thread running the session, ns.
    pub thread_cpu_ns: u64,
    /// CPU time of the whole process meanwhile (every thread; on a CPU
    /// device such as lavapipe this includes the device's work), ns.
    pub process_cpu_ns: u64,
    /// Frames done by the session's runs.
    pub frames: u64,
    /// `thread_cpu_ns / frames` (0 without frames).
    pub thread_cpu_ns_per_frame: u64,
}

/// The `--stats` document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatsReport {
    /// Always `ptc-stats/1`.
    pub schema: String,
    /// `fifo` or `priority`.
    pub mode: String,
    /// First graph opened → report time.
    pub elapsed_ns: u64,
    /// GPU time of all jobs.
    pub gpu_ns: u64,
    /// Per graph, in id order.
    pub graphs: Vec<GraphReport>,
    /// Per group of the listed graphs, in id order.
    pub groups: Vec<GroupReport>,
    /// The host's cost ([`crate::Session::report`]; `None` without a
    /// session).
    #[serde(default)]
    pub host: Option<HostReport>,
}

/// Totals of one group (see the module docs for the schema).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupReport {
    /// The group (user) id.
    pub id: u64,
    /// Its weight at report time.
    pub weight: u32,
    /// Its in-flight limit at report time, if any.
    pub inflight_limit: Option<usize>,
    /// Graphs of the group in the report (open or not).
    pub graphs: usize,
    /// GPU time used by its graphs.
    pub gpu_ns: u64,
    /// Fraction of all GPU time.
    pub gpu_share: f64,
}

impl StatsReport {
    /// Pretty JSON text.
    pub fn to_json(&self) -> String {
        // invariant: the report holds only strings, integers, finite floats
        // (shares and rates are computed with guarded divisions), options and
        // vectors, which serde_json always serialises.
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// Writes the JSON to `path` (see [`crate::io::write_atomic`]: never
    /// half-written, never replacing a device or FIFO).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        crate::io::write_atomic(path, self.to_json().as_bytes())
    }

    /// The report of the graph named `name`.
    pub fn graph(&self, name: &str) -> Option<&GraphReport> {
        self.graphs.iter().find(|g| g.name == name)
    }
}

fn share(part: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        part as f64 / total as f64
    }
}

impl PtaskStats {
    fn add(&mut self, r: &JobRecord) {
        self.firings += 1;
        self.timed += u64::from(r.timed);
        self.gpu_ns += r.gpu_ns;
        self.wait.record(r.submitted.saturating_sub(r.ready));
        self.exec.record(r.done.saturating_sub(r.submitted));
    }
    fn report(&self, name: String, index: Option<usize>, priority: u32, total: u64) -> PtaskReport {
        PtaskReport {
            name,
            index,
            priority,
            firings: self.firings,
            gpu_ns: self.gpu_ns,
            gpu_share: share(self.gpu_ns, total),
            latency: PtaskLatency {
                ready_to_submit: self.wait.summary(),
                submit_to_done: self.exec.summary(),
            },
        }
    }
}

impl StatsCollector {
    /// An empty collector.
    pub fn new(mode: SchedMode) -> Self {
        StatsCollector {
            mode,
            start: None,
            graphs: BTreeMap::new(),
            group_config: BTreeMap::new(),
        }
    }

    /// Registers a graph (re-opening a key starts its statistics afresh).
    pub fn add_graph(&mut self, key: GraphKey, spec: &GraphSpec, now: Nanos) {
        self.start.get_or_insert(now);
        self.graphs.insert(
            key,
            GraphStats {
                name: spec.name.clone(),
                group: spec.group,
                priority: spec.priority,
                rate_hz: spec.rate_hz,
                open: true,
                ptask_names: spec.ptasks.iter().map(|(n, _)| n.clone()).collect(),
                ptask_prio: spec.ptasks.iter().map(|(_, p)| *p).collect(),
                ptasks: spec.ptasks.iter().map(|_| PtaskStats::default()).collect(),
                batch: PtaskStats::default(),
                all: PtaskStats::default(),
                frame: Histogram::default(),
                frames: 0,
                dropped: 0,
                misses: 0,
                first_done: None,
                last_done: None,
            },
        );
    }

    /// Marks a graph terminated (its statistics stay in the report).
    /// Drops a graph's statistics (see [`super::Scheduler::forget_graph`]).
    pub fn forget(&mut self, key: GraphKey) {
        self.graphs.remove(&key);
    }

    pub fn close_graph(&mut self, key: GraphKey, _now: Nanos) {
        if let Some(g) = self.graphs.get_mut(&key) {
            g.open = false;
        }
    }

    /// Records a priority change (graph when `ptask` is `None`).
    pub fn set_priority(&mut self, key: GraphKey, ptask: Option<usize>, p: Option<u32>) {
        if let Some(g) = self.graphs.get_mut(&key) {
            match ptask {
                None => {
                    if let Some(p) = p {
                        g.priority = p;
                    }
                }
                Some(i) => {
                    if let Some(slot) = g.ptask_prio.get_mut(i) {
                        *slot = p;
                    }
                }
            }
        }
    }

    /// Counts a frame the source had to drop.
    pub fn frame_dropped(&mut self, key: GraphKey) {
        if let Some(g) = self.graphs.get_mut(&key) {
            g.dropped += 1;
        }
    }

    /// Adds a finished job.
    pub fn record(&mut self, r: &JobRecord) {
        let Some(g) = self.graphs.get_mut(&r.graph) else {
            return;
        };
        g.all.add(r);
        match r.ptask.and_then(|i| g.ptasks.get_mut(i)) {
            Some(p) => p.add(r),
            None => g.batch.add(r),
        }
        if r.ends_frame {
            g.frames += 1;
            let lat = r.done.saturating_sub(r.frame_arrival);
            g.frame.record(lat);
            if let Some(hz) = g.rate_hz {
                if lat as f64 > 1e9 / hz {
                    g.misses += 1;
                }
            }
            g.first_done.get_or_insert(r.done);
            g.last_done = Some(r.done);
        }
    }

    /// Records a group's weight and in-flight limit (for the report).
    pub fn set_group(&mut self, group: GroupKey, weight: u32, inflight: Option<usize>) {
        self.group_config.insert(group, (weight, inflight));
    }

    /// GPU time recorded for the graphs of a group so far.
    pub fn group_gpu_ns(&self, group: GroupKey) -> u64 {
        self.graphs
            .values()
            .filter(|g| g.group == group)
            .map(|g| g.all.gpu_ns)
            .sum()
    }

    /// GPU time recorded for a graph so far.
    pub fn gpu_ns(&self, key: GraphKey) -> u64 {
        self.graphs.get(&key).map_or(0, |g| g.all.gpu_ns)
    }

    /// True if the collector holds statistics of graph `key` (it was
    /// opened and not forgotten).
    pub fn has_graph(&self, key: GraphKey) -> bool {
        self.graphs.contains_key(&key)
    }

    /// Frames delivered by a graph so far.
    pub fn frames(&self, key: GraphKey) -> u64 {
        self.graphs.get(&key).map_or(0, |g| g.frames)
    }

    /// The report at time `now`.
    pub fn report(&self, now: Nanos) -> StatsReport {
        let total: u64 = self.graphs.values().map(|g| g.all.gpu_ns).sum();
        let graphs = self
            .graphs
            .iter()
            .map(|(k, g)| {
                let mut ptasks: Vec<PtaskReport> = g
                    .ptasks
                    .iter()
                    .enumerate()
                    .map(|(i, p)| {
                        let name = g.ptask_names.get(i).cloned().unwrap_or_default();
                        let prio = g.ptask_prio.get(i).copied().flatten().unwrap_or(g.priority);
                        p.report(name, Some(i), prio, total)
                    })
                    .collect();
                if g.batch.firings > 0 {
                    ptasks.push(g.batch.report("(frame)".into(), None, g.priority, total));
                }
                let delivered_hz = match (g.first_done, g.last_done) {
                    (Some(a), Some(b)) if b > a && g.frames > 1 => {
                        (g.frames - 1) as f64 * 1e9 / (b - a) as f64
                    }
                    _ => 0.0,
                };
                GraphReport {
                    id: k.0,
                    name: g.name.clone(),
                    group: g.group.0,
                    priority: g.priority,
                    rate_hz: g.rate_hz,
                    open: g.open,
                    firings: g.all.firings,
                    timed_firings: g.all.timed,
                    gpu_ns: g.all.gpu_ns,
                    gpu_share: share(g.all.gpu_ns, total),
                    frames: g.frames,
                    frames_dropped: g.dropped,
                    delivered_hz,
                    deadline_misses: g.misses,
                    latency: GraphLatency {
                        ready_to_submit: g.all.wait.summary(),
                        submit_to_done: g.all.exec.summary(),
                        frame: g.frame.summary(),
                    },
                    ptasks,
                    host: None,
                }
            })
            .collect();
        let mut per_group: BTreeMap<GroupKey, (usize, u64)> = BTreeMap::new();
        for g in self.graphs.values() {
            let e = per_group.entry(g.group).or_default();
            e.0 += 1;
            e.1 += g.all.gpu_ns;
        }
        let groups = per_group
            .into_iter()
            .map(|(k, (n, gpu_ns))| {
                let (weight, inflight_limit) =
                    self.group_config.get(&k).copied().unwrap_or((1, None));
                GroupReport {
                    id: k.0,
                    weight,
                    inflight_limit,
                    graphs: n,
                    gpu_ns,
                    gpu_share: share(gpu_ns, total),
                }
            })
            .collect();
        StatsReport {
            schema: "ptc-stats/1".to_string(),
            mode: self.mode.to_string(),
            elapsed_ns: now.saturating_sub(self.start.unwrap_or(now)),
            gpu_ns: total,
            graphs,
            groups,
            host: None,
        }
    }
}
