//! Priority arbitration between concurrently open graphs (paper §3.1, Figs. 4–5).
//!
//! The [`Scheduler`] is pure and deterministic: it never reads a clock. The
//! executor tells it, with explicit timestamps (`now`, nanoseconds since any
//! fixed origin), when a job (one ptask dispatch, or one recorded batch of a
//! whole frame) becomes ready ([`Scheduler::ready`]), asks it which job to
//! submit next ([`Scheduler::pick`]), and reports each completion with the GPU
//! time the job really used, measured by timestamp queries
//! ([`Scheduler::completed`]). The same code therefore runs under the real
//! runtime and under the simulated clock of [`sim`], which the tests use.
//!
//! # Modes
//!
//! * [`SchedMode::Fifo`] — the baseline, what a driver does: jobs are
//!   submitted in readiness order, up to [`SchedConfig::fifo_depth`] in flight
//!   per queue, whatever their graph's priority.
//! * [`SchedMode::Priority`] (default) — weighted fair queuing on measured GPU
//!   time, with aging and bounded in-flight work, in two levels: first
//!   between *groups* of graphs (one per user), then between one group's
//!   graphs by priority (see [Groups](#groups-hierarchical-fair-share)).
//!
//! # The priority formula
//!
//! This section describes how the graphs of one group share what the group
//! gets; with a single group (`ptc run`: every graph in group 0) it is the
//! whole policy. Each open graph `g` has a virtual time `V_g` (nanoseconds
//! of GPU time per unit of priority). For a job `j` of graph `g`:
//!
//! * `w_j` — its base priority: the ptask's override if it has one, else the
//!   graph's priority (1..=100).
//! * `c_j` — its estimated GPU time: an exponential moving average (weight
//!   [`SchedConfig::cost_ewma`]) of the measured GPU time of earlier jobs of the
//!   same ptask (or batch) of `g`; 0 before the first measurement.
//! * `wait_j` — how long it has been *runnable*: `now − max(ready_j,
//!   runnable_since_g)`, where `runnable_since_g` is when `g` last became
//!   eligible to submit (time spent blocked by `g`'s own in-flight limit does
//!   not count).
//! * effective priority `p_j = w_j + α · wait_j` (aging; α =
//!   [`SchedConfig::aging_rate`] priority points per second of runnable wait).
//!
//! Each graph offers its best ready job (highest `w_j`, oldest first). Among
//! the graphs with ready work on a queue (of the group whose turn it is,
//! see below), the scheduler takes the one with the smallest
//!
//! ```text
//! key_g = V_g + c_j / p_j  =  (V_g + c_j / w_j) − bonus_j,   bonus_j = c_j · (1/w_j − 1/p_j)
//! ```
//!
//! and submits its job if the graph is *eligible* (below); if it is not,
//! nothing else is submitted to that queue until it is (its own in-flight
//! job keeps the device busy meanwhile), so no graph overtakes its share
//! just because another is briefly held back. Likewise a graph with a job
//! in flight and none ready takes part with key `V_g + c_g/w_g` (its
//! largest cost estimate): if it is the smallest, its queue waits for its
//! next job (graphs whose outputs are one slot deep have at most one frame
//! in flight; without this they would simply alternate, 1:1). This is the smallest virtual
//! finish time minus the aging bonus (which is
//! bounded by `c_j / w_j`, so aging reorders nearby jobs but never changes
//! long-run shares). Ties go to the higher `p_j`, then the older job, then
//! the lower job id. When the job is submitted, `V_g += c_j / w_j`; when it
//! completes with measured GPU time `t`, the estimate is replaced by the
//! truth: `V_g += t / w_j − c_j / w_j`. So over any interval where graphs
//! stay busy, `V_g` advance at equal speed and each graph receives GPU time
//! in proportion to its priority.
//!
//! A graph with no ready and no in-flight job is *idle*. When it becomes
//! active again (or is opened), `V_g = max(V_g, min V of the active graphs)`:
//! idleness earns no burst credit. Exception: a graph idle for no longer
//! than [`SchedConfig::contention_window`] (a saturating graph whose host
//! is turning one frame around into the next) keeps its lead up to one job
//! of the others: `V_g = max(V_g, V_min − max_h c_h / w_h)`. Without this, a
//! 10:1 pair fed one frame at a time collapses towards 1:1, because the
//! high-priority graph is briefly idle after each of its jobs while it is
//! still catching up on the low one's last (10× larger) step. `V_min` and
//! `max_h` range over the graphs of `g`'s own group (graph virtual times
//! of different groups are never compared).
//!
//! # Groups (hierarchical fair share)
//!
//! Every graph belongs to a group ([`GraphSpec::group`]; the system daemon
//! uses one per user id). A user who opens ten graphs must not get ten
//! times the device, so priority mode arbitrates in two levels: the device
//! is shared between the *groups* in proportion to their weights `W_G`
//! ([`Scheduler::set_group_weight`], default 1), and what a group gets is
//! shared between its graphs by the formula above.
//!
//! Each group has, on each queue `q`, a group virtual time `V_G` (GPU time
//! on `q` per unit of weight). On a queue, each group's *candidate* is its
//! graph with the smallest `key_g` there (its best job `j`, or a hold), and
//! the queue goes to the group with the smallest
//!
//! ```text
//! key_G = V_G + c_j · (w_j / p_j) / W_G        (a hold: V_G + c_g / W_G)
//! ```
//!
//! the group's virtual finish time minus the same aging bonus one level up
//! (bounded by `c_j / W_G`, so it never changes long-run shares); ties go
//! to the higher `p_j`, the older job, the lower job id. The winner's
//! candidate is submitted if it is eligible; if it is not (or is a hold),
//! nothing else is submitted to that queue until it is — the same strict
//! order as between graphs. On submission `V_G += c_j / W_G`; on completion
//! `V_G += t / W_G − c_j / W_G`. So while groups stay busy their `V_G`
//! advance at equal speed and each group receives GPU time in proportion to
//! its weight, whatever the number and the priorities of its graphs. Inside
//! the group, its graphs' `V_g` advance by `c / w` as before and divide the
//! group's time in proportion to their priorities. Examples: user A with
//! four busy graphs and user B with one, all at priority 50: 50 % each, A's
//! graphs 12.5 % each. A with graphs at 20 and 10, B with one at 10: A and B
//! 50 % each, A's half split 2:1 (33 % and 17 %).
//!
//! A group is *active* on `q` if one of its open graphs on `q` has ready or
//! in-flight jobs. An idle group has no candidate, so the active groups
//! share its time in proportion to their weights (work conserving). When a
//! group becomes active again the graph rule applies one level up: `V_G =
//! max(V_G, min V_G' of the other groups active on q)`, or, if the group's
//! last activity on `q` (a graph of it opened, a job ready or completed)
//! was within [`SchedConfig::contention_window`], `V_G = max(V_G, min V_G' −
//! max_h c_h / W_H)` (one job of any graph `h` of another group `H` on `q`).
//! Opening a graph in a group not active on its queue applies the first
//! form; a priority change that moves a group's active graph to a queue
//! where the group had none starts it at the minimum of the groups active
//! there. Idleness earns no burst credit.
//!
//! A group may have an in-flight limit ([`Scheduler::set_group_limits`],
//! [`GroupLimits::inflight`], all queues together, in both modes). A group
//! at its limit has no candidate: it is passed over, holding back no other
//! group even on its queue, until one of its jobs completes; that time does
//! not count as runnable wait for aging. Whenever another group submits to
//! `q` past a group held back only by its limit, the held group's `V_G` is
//! raised to at most one of its jobs behind the submitter's: its own limit
//! earns it no credit, and raising the limit later causes no burst.
//!
//! **How the levels interact with latency protection.** Eligibility (the
//! top priority `P*`, the queue depth and background limits, slicing, the
//! queue mapping) is decided on graph priorities across all groups,
//! exactly as without groups. It decides *when* the candidate of the group
//! whose turn it is may be submitted, never *whose* turn it is. So a
//! top-priority graph of any group waits for at most one background batch
//! (or [`SchedConfig::max_batch`] of slices) of any group, and its frames
//! get ahead of the rest of its own group; but raising priorities never
//! raises a group's share: the graphs of another group that become
//! background still get their group's share (the queue waits for them
//! rather than skipping their turn), with one job in flight (or two
//! slices) at a time. The price is theirs: a group whose graphs are all
//! background pipelines less, so a host stall leaves it idle sooner, and
//! idle time goes to the others. A daemon that wants to stop users from
//! making each other's graphs background must bound the priorities it
//! accepts; shares need no such bound.
//!
//! With several queues the hierarchy runs on each queue separately (each
//! group has a `V_G` per queue; how the device divides its time between
//! queues is the hardware's, see [Queues](#queues)), so group shares are
//! exact per queue: a group with a graph alone on queue 0 still gets its
//! share of queue 1. With one group the outer level has a single
//! candidate per queue: every decision, hence every share, is that of the
//! flat policy of the previous sections.
//!
//! # Eligibility (bounded in-flight work)
//!
//! Dispatches are not preemptible, so a high-priority job can only be as
//! prompt as the work already queued ahead of it. A graph is *recently
//! active* if it has ready or in-flight jobs, or had one within
//! [`SchedConfig::contention_window`]. Let `P*` be the highest graph priority
//! among recently active graphs; graphs below `P*` are *background*. A graph
//! may submit to its queue when
//!
//! * the queue holds fewer than [`SchedConfig::queue_depth`] jobs in flight
//!   (for a graph at the top priority, not counting background jobs: the
//!   background batch it waits for does not also delay its submission),
//! * the graph has fewer than [`SchedConfig::graph_inflight`] jobs in flight,
//! * its group is below its in-flight limit, if it has one (see
//!   [Groups](#groups-hierarchical-fair-share): a group at its limit holds
//!   back no one), and
//! * if it is background: the background graphs together have fewer than
//!   [`SchedConfig::background_inflight`] (default 1) jobs in flight on that
//!   queue.
//!
//! So a job of the top priority level waits for at most one background batch.
//! A background dispatch estimated to take longer than
//! [`SchedConfig::max_batch`] is split into slices of about `max_batch / 2`
//! (separate jobs, [`Scheduler::slices_per_job`]), and two such slices may
//! be in flight while their estimated total stays within `max_batch`: the
//! wait is then bounded by `max_batch`, not by the length of the dispatch.
//! A graph that is the only open one is limited by
//! [`SchedConfig::fifo_depth`] only (nothing to protect).
//!
//! # Queues
//!
//! With several compute queues ([`SchedConfig::queues`]), graphs are mapped
//! to queues by priority rank (the highest priority level gets queue 0, the
//! next queue 1, … the rest share the last queue); give queue `i` the Vulkan
//! priority [`vk_queue_priorities`]`(n)[i]`. The ranks are over the
//! priorities of all groups' graphs. With one queue (lavapipe), all
//! arbitration happens at submission.

pub mod arbiter;
pub mod hist;
pub mod sim;
pub mod stats;
pub mod trace;

#[cfg(test)]
mod tests;

use stats::{JobRecord, StatsCollector, StatsReport};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::str::FromStr;
use trace::TraceRecorder;

/// Per-graph scratch lists of one scheduling decision (on the stack for up
/// to 8 graphs: the runtime calls the scheduler for every job).
type Few<T> = smallvec::SmallVec<[T; 8]>;

/// Nanoseconds since an origin the caller chooses (the same for every call).
pub type Nanos = u64;

/// Nanoseconds per second.
pub const SEC: Nanos = 1_000_000_000;
/// Nanoseconds per millisecond.
pub const MS: Nanos = 1_000_000;

/// Identifies an open graph (the runtime's graph id).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GraphKey(pub u64);

/// Identifies a group of graphs that shares the device as one: the system
/// daemon uses one group per user id; `ptc run` puts every graph in group 0.
/// See the module docs (groups first, then graphs by priority).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupKey(pub u64);

/// Per-group limits ([`Scheduler::set_group_limits`]); the default limits nothing.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupLimits {
    /// Most jobs of the group's graphs in flight at once, all queues
    /// together (`None`: only the per-graph and per-queue limits apply).
    /// A group at its limit is passed over, without holding back other
    /// groups, until one of its jobs completes.
    pub inflight: Option<usize>,
}

/// Identifies one job handed to the scheduler.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub u64);

/// The arbitration policy.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum SchedMode {
    /// Submit in readiness order, ignoring priorities (driver-like baseline).
    Fifo,
    /// Weighted fair queuing on GPU time with aging (see the module docs).
    #[default]
    Priority,
}

impl FromStr for SchedMode {
    type Err = SchedError;
    fn from_str(s: &str) -> Result<Self, SchedError> {
        match s {
            "fifo" => Ok(SchedMode::Fifo),
            "priority" => Ok(SchedMode::Priority),
            _ => Err(SchedError::UnknownMode(s.to_string())),
        }
    }
}

impl fmt::Display for SchedMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SchedMode::Fifo => "fifo",
            SchedMode::Priority => "priority",
        })
    }
}

/// Tunables of the scheduler. [`SchedConfig::default`] is what `ptc run` uses.
#[derive(Clone, Debug, PartialEq)]
pub struct SchedConfig {
    /// The policy.
    pub mode: SchedMode,
    /// Number of compute queues jobs may be submitted to (≥ 1).
    pub queues: usize,
    /// Priority mode: most jobs in flight per queue.
    pub queue_depth: usize,
    /// Priority mode: most jobs in flight per graph.
    pub graph_inflight: usize,
    /// Priority mode: most jobs in flight per queue from background graphs
    /// (those below the highest recently active priority).
    pub background_inflight: usize,
    /// Fifo mode: most jobs in flight per queue.
    pub fifo_depth: usize,
    /// Aging α, in priority points per second of runnable wait.
    pub aging_rate: f64,
    /// How long after its last activity a graph still counts as active for
    /// the background limit (covers the gap between a periodic graph's frames).
    pub contention_window: Nanos,
    /// Weight of a new measurement in the per-ptask GPU-time estimate.
    pub cost_ewma: f64,
    /// Record a trace of every job (see [`trace`]); at most this many events
    /// are kept (0 = no trace).
    pub trace_limit: usize,
    /// Priority mode: a background graph's dispatch estimated to take
    /// longer than this is split into slices of about this much GPU time,
    /// submitted as separate jobs, so a top-priority frame waits for one
    /// slice rather than the whole dispatch (0 = never split). See
    /// [`Scheduler::slices_per_job`].
    pub max_batch: Nanos,
}

impl SchedConfig {
    /// The trace length `ptc run --trace` keeps (events).
    pub const TRACE_LIMIT: usize = 2_000_000;
}

impl Default for SchedConfig {
    fn default() -> Self {
        SchedConfig {
            mode: SchedMode::Priority,
            queues: 1,
            queue_depth: 2,
            graph_inflight: 2,
            background_inflight: 1,
            fifo_depth: 16,
            aging_rate: 1000.0,
            contention_window: 50 * MS,
            cost_ewma: 0.25,
            trace_limit: 0,
            max_batch: 2 * MS,
        }
    }
}

/// Vulkan queue priorities for `n` queues of one family, highest first
/// (queue 0 carries the highest-priority graphs).
pub fn vk_queue_priorities(n: usize) -> Vec<f32> {
    (0..n).map(|i| 1.0 - i as f32 / n as f32).collect()
}

/// What the scheduler refuses.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SchedError {
    /// `--sched` got something other than `fifo` or `priority`.
    #[error("unknown scheduling mode `{0}` (expected `fifo` or `priority`)")]
    UnknownMode(String),
    /// A priority outside 1..=100.
    #[error("priority {0} is outside 1..=100")]
    BadPriority(u32),
    /// A graph key that was never added (or was removed).
    #[error("graph #{0} is not open in the scheduler")]
    UnknownGraph(u64),
    /// A graph key that is already open.
    #[error("graph #{0} is already open in the scheduler")]
    DuplicateGraph(u64),
    /// A ptask index outside the graph.
    #[error("graph `{graph}` has no ptask #{ptask}")]
    UnknownPtask {
        /// Graph name.
        graph: String,
        /// The bad index.
        ptask: usize,
    },
    /// A job id that is not in the state the call needs.
    #[error("job #{0} is not {1}")]
    BadJob(u64, &'static str),
    /// A rate that is not a positive finite number.
    #[error("rate {0} Hz is not a positive number")]
    BadRate(f64),
    /// A configuration value out of range.
    #[error("bad scheduler configuration: {0}")]
    BadConfig(&'static str),
    /// A group weight of 0.
    #[error("group weight {0} must be at least 1")]
    BadGroupWeight(u32),
}

fn check_priority(p: u32) -> Result<u32, SchedError> {
    if (1..=100).contains(&p) {
        Ok(p)
    } else {
        Err(SchedError::BadPriority(p))
    }
}

/// A graph as the scheduler needs to know it.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphSpec {
    /// Name (stats, trace).
    pub name: String,
    /// Base priority, 1..=100.
    pub priority: u32,
    /// The graph's source rate in Hz, if paced (deadline = one period).
    pub rate_hz: Option<f64>,
    /// Ptask names and per-ptask priority overrides, by index.
    pub ptasks: Vec<(String, Option<u32>)>,
    /// The group it shares the device with (one per user for the daemon;
    /// `GroupKey(0)`, the default, for everything in one process).
    pub group: GroupKey,
}

/// A unit of work: one ptask dispatch, or one batch covering a whole frame.
#[derive(Clone, Debug, PartialEq)]
pub struct JobSpec {
    /// The graph it belongs to.
    pub graph: GraphKey,
    /// The ptask, or `None` for a whole-frame batch.
    pub ptask: Option<usize>,
    /// When the frame this job works on arrived (source time); defaults to
    /// the ready time. Frame latency is measured from here.
    pub frame_arrival: Option<Nanos>,
    /// This job completes a frame (delivered rate, deadline misses).
    pub ends_frame: bool,
    /// The part of its ptask's dispatch this job covers: 1 for a whole
    /// dispatch (or frame), `k/n` for `k` of the `n` slices of a sliced one
    /// (see [`SchedConfig::max_batch`]). The ptask's cost estimate is kept
    /// per whole dispatch and scaled by this.
    pub fraction: f64,
}

/// The scheduler's answer: submit this job to this queue now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pick {
    /// The job.
    pub job: JobId,
    /// Its graph.
    pub graph: GraphKey,
    /// Its ptask (`None`: whole-frame batch).
    pub ptask: Option<usize>,
    /// Queue index (0 = highest Vulkan queue priority).
    pub queue: usize,
}

/// What a completed job cost, as measured on the device.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct GpuTime {
    /// GPU time the job used (end − begin timestamp), ns.
    pub ns: Nanos,
    /// When it started executing, on the scheduler's clock, if known (trace).
    pub start: Option<Nanos>,
    /// `ns` comes from device timestamps (else from host clocks).
    pub timed: bool,
}

struct GraphState {
    spec: GraphSpec,
    open: bool,
    vtime: f64,
    ready: VecDeque<JobId>,
    inflight: usize,
    runnable_since: Option<Nanos>,
    last_activity: Option<Nanos>,
    /// Cost estimates (ns) keyed by ptask (None = batch).
    cost: HashMap<Option<usize>, f64>,
    queue: usize,
}

impl GraphState {
    fn active(&self) -> bool {
        !self.ready.is_empty() || self.inflight > 0
    }
    fn weight(&self, ptask: Option<usize>) -> u32 {
        ptask
            .and_then(|i| self.spec.ptasks.get(i))
            .and_then(|(_, p)| *p)
            .unwrap_or(self.spec.priority)
    }
}

struct JobState {
    spec: JobSpec,
    ready_at: Nanos,
    submitted_at: Option<Nanos>,
    queue: usize,
    weight: u32,
    /// Virtual time charged at submission (estimate / weight).
    charged: f64,
    /// Its graph's group.
    group: GroupKey,
    /// The group weight it was charged at.
    group_weight: u32,
    /// Group virtual time charged at submission (estimate / group weight).
    group_charged: f64,
}

/// A group: its weight and limits, and its share of each queue (see the
/// module docs).
struct GroupState {
    weight: u32,
    limits: GroupLimits,
    /// Last known minimum virtual time of the group's active graphs.
    vmin: f64,
    /// Jobs of the group's graphs in flight, all queues together.
    inflight: usize,
    /// Per queue: the group's fair-share state there.
    lanes: Vec<Lane>,
}

/// A group's fair-share state on one queue.
#[derive(Clone, Debug, Default)]
struct Lane {
    /// Group virtual time: GPU time on this queue per unit of group weight.
    vtime: f64,
    /// Last time one of the group's graphs on this queue was opened, had a
    /// job ready or completed one.
    last_activity: Option<Nanos>,
}

impl GroupState {
    /// A group at weight 1, without limits, at `vtimes` (one per queue).
    fn new(vtimes: &[f64]) -> Self {
        GroupState {
            weight: 1,
            limits: GroupLimits::default(),
            vmin: 0.0,
            inflight: 0,
            lanes: vtimes
                .iter()
                .map(|v| Lane {
                    vtime: *v,
                    last_activity: None,
                })
                .collect(),
        }
    }
    fn at_cap(&self) -> bool {
        self.limits.inflight.is_some_and(|c| self.inflight >= c)
    }
}

/// The arbitration policy plus its bookkeeping (stats, trace).
pub struct Scheduler {
    config: SchedConfig,
    graphs: BTreeMap<GraphKey, GraphState>,
    groups: BTreeMap<GroupKey, GroupState>,
    jobs: HashMap<JobId, JobState>,
    next_job: u64,
    /// Per queue: last known minimum virtual time of the groups active there.
    group_vmin: Vec<f64>,
    inflight_per_queue: Vec<usize>,
    stats: StatsCollector,
    trace: TraceRecorder,
}

impl Scheduler {
    /// A scheduler with no graphs.
    pub fn new(config: SchedConfig) -> Result<Self, SchedError> {
        if config.queues == 0 {
            return Err(SchedError::BadConfig("queues must be at least 1"));
        }
        if config.queue_depth == 0 || config.graph_inflight == 0 || config.fifo_depth == 0 {
            return Err(SchedError::BadConfig("in-flight limits must be at least 1"));
        }
        if config.background_inflight == 0 {
            return Err(SchedError::BadConfig(
                "background_inflight must be at least 1 (else background graphs starve)",
            ));
        }
        if !(config.aging_rate >= 0.0 && config.aging_rate.is_finite()) {
            return Err(SchedError::BadConfig("aging_rate must be finite and ≥ 0"));
        }
        if !(config.cost_ewma > 0.0 && config.cost_ewma <= 1.0) {
            return Err(SchedError::BadConfig("cost_ewma must be in (0, 1]"));
        }
        let trace = TraceRecorder::new(config.trace_limit, config.queues);
        Ok(Scheduler {
            inflight_per_queue: vec![0; config.queues],
            group_vmin: vec![0.0; config.queues],
            stats: StatsCollector::new(config.mode),
            config,
            graphs: BTreeMap::new(),
            groups: BTreeMap::new(),
            jobs: HashMap::new(),
            next_job: 0,
            trace,
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &SchedConfig {
        &self.config
    }

    /// Opens a graph (it starts idle, with `V` = the current minimum).
    pub fn add_graph(
        &mut self,
        key: GraphKey,
        spec: GraphSpec,
        now: Nanos,
    ) -> Result<(), SchedError> {
        if self.graphs.get(&key).is_some_and(|g| g.open) {
            return Err(SchedError::DuplicateGraph(key.0));
        }
        check_priority(spec.priority)?;
        for (_, p) in &spec.ptasks {
            if let Some(p) = p {
                check_priority(*p)?;
            }
        }
        if let Some(r) = spec.rate_hz {
            if !(r > 0.0 && r.is_finite()) {
                return Err(SchedError::BadRate(r));
            }
        }
        let group = spec.group;
        let v = self.current_vmin(None, group);
        self.stats.add_graph(key, &spec, now);
        self.trace.add_graph(key, &spec.name);
        self.graphs.insert(
            key,
            GraphState {
                spec,
                open: true,
                vtime: v,
                ready: VecDeque::new(),
                inflight: 0,
                runnable_since: None,
                // Opening counts as activity: a high-priority graph is
                // protected from its first frame on.
                last_activity: Some(now),
                cost: HashMap::new(),
                queue: 0,
            },
        );
        self.assign_queues();
        // A group with no active graph on the new graph's queue starts
        // (again) at the current minimum of the groups active there: no
        // credit for idle time.
        let q = self.graphs.get(&key).map_or(0, |g| g.queue);
        let floor = if self.group_active(group, q) {
            None
        } else {
            Some(self.current_group_vmin(Some(group), q))
        };
        if let Some(lane) = self.lane_mut(group, q) {
            if let Some(floor) = floor {
                lane.vtime = lane.vtime.max(floor);
            }
            lane.last_activity = Some(now);
        }
        Ok(())
    }

    /// Closes a graph: its ready jobs are dropped (returned); jobs in flight
    /// must still be reported with [`Scheduler::completed`] (or
    /// [`Scheduler::abandon`]) so their queue slot is freed.
    pub fn remove_graph(&mut self, key: GraphKey, now: Nanos) -> Result<Vec<JobId>, SchedError> {
        let g = self.open_graph_mut(key)?;
        g.open = false;
        let dropped: Vec<JobId> = g.ready.drain(..).collect();
        for j in &dropped {
            self.jobs.remove(j);
        }
        self.stats.close_graph(key, now);
        self.assign_queues();
        Ok(dropped)
    }

    /// Drops a closed graph's state and statistics, so that a long-lived
    /// process (the daemon) does not grow with every graph it ever ran.
    /// Its jobs must all have completed.
    pub fn forget_graph(&mut self, key: GraphKey) -> Result<(), SchedError> {
        match self.graphs.get(&key) {
            Some(g) if !g.open && g.inflight == 0 => {
                self.graphs.remove(&key);
                self.stats.forget(key);
                Ok(())
            }
            Some(_) => Err(SchedError::BadJob(
                key.0,
                "a closed graph with no job in flight",
            )),
            None => Err(SchedError::UnknownGraph(key.0)),
        }
    }

    /// Changes a graph's base priority; takes effect at the next pick
    /// (jobs in flight are charged at the priority they were submitted with).
    pub fn set_priority(&mut self, key: GraphKey, priority: u32) -> Result<(), SchedError> {
        check_priority(priority)?;
        self.open_graph_mut(key)?.spec.priority = priority;
        self.stats.set_priority(key, None, Some(priority));
        self.assign_queues();
        Ok(())
    }

    /// Sets (or with `None` clears) a ptask's priority override.
    pub fn set_ptask_priority(
        &mut self,
        key: GraphKey,
        ptask: usize,
        priority: Option<u32>,
    ) -> Result<(), SchedError> {
        if let Some(p) = priority {
            check_priority(p)?;
        }
        let g = self.open_graph_mut(key)?;
        let name = g.spec.name.clone();
        let slot = g
            .spec
            .ptasks
            .get_mut(ptask)
            .ok_or(SchedError::UnknownPtask { graph: name, ptask })?;
        slot.1 = priority;
        self.stats.set_priority(key, Some(ptask), priority);
        Ok(())
    }

    /// The current base priority of a graph.
    pub fn priority(&self, key: GraphKey) -> Option<u32> {
        self.graphs
            .get(&key)
            .filter(|g| g.open)
            .map(|g| g.spec.priority)
    }

    /// The queue a graph submits to.
    pub fn queue_of(&self, key: GraphKey) -> Option<usize> {
        self.graphs.get(&key).map(|g| g.queue)
    }

    /// The virtual time of a graph (for inspection and tests).
    pub fn vtime(&self, key: GraphKey) -> Option<f64> {
        self.graphs.get(&key).map(|g| g.vtime)
    }

    /// The group a graph belongs to.
    pub fn group_of(&self, key: GraphKey) -> Option<GroupKey> {
        self.graphs.get(&key).map(|g| g.spec.group)
    }

    /// Sets a group's weight (≥ 1; 1 for a group never set): active groups
    /// share the device in proportion to their weights. Takes effect at the
    /// next pick (jobs in flight are charged at the weight they were
    /// submitted with). The group need not have graphs yet.
    pub fn set_group_weight(&mut self, group: GroupKey, weight: u32) -> Result<(), SchedError> {
        if weight == 0 {
            return Err(SchedError::BadGroupWeight(weight));
        }
        let gs = self.group_mut(group);
        gs.weight = weight;
        let limits = gs.limits;
        self.stats.set_group(group, weight, limits.inflight);
        Ok(())
    }

    /// Sets a group's limits (see [`GroupLimits`]); lowering the in-flight
    /// limit below the jobs already in flight only holds the group back
    /// until enough of them complete. The group need not have graphs yet.
    pub fn set_group_limits(
        &mut self,
        group: GroupKey,
        limits: GroupLimits,
    ) -> Result<(), SchedError> {
        if limits.inflight == Some(0) {
            return Err(SchedError::BadConfig(
                "a group's in-flight limit must be at least 1 (else it starves)",
            ));
        }
        let gs = self.group_mut(group);
        gs.limits = limits;
        let weight = gs.weight;
        self.stats.set_group(group, weight, limits.inflight);
        Ok(())
    }

    /// A group's weight (1 unless set).
    pub fn group_weight(&self, group: GroupKey) -> u32 {
        self.groups.get(&group).map_or(1, |g| g.weight)
    }

    /// A group's limits (none unless set).
    pub fn group_limits(&self, group: GroupKey) -> GroupLimits {
        self.groups
            .get(&group)
            .map(|g| g.limits)
            .unwrap_or_default()
    }

    /// Jobs of a group's graphs in flight now.
    pub fn group_inflight(&self, group: GroupKey) -> usize {
        self.groups.get(&group).map_or(0, |g| g.inflight)
    }

    /// The virtual time of a group on a queue (for inspection and tests).
    pub fn group_vtime(&self, group: GroupKey, queue: usize) -> Option<f64> {
        self.groups
            .get(&group)
            .and_then(|g| g.lanes.get(queue))
            .map(|l| l.vtime)
    }

    /// The estimated GPU time of a whole dispatch of `ptask` (`None`: a
    /// frame batch) of graph `key`, if it should be split now: the mode is
    /// `priority`, [`SchedConfig::max_batch`] is set, the graph is
    /// *background* (below the highest recently active priority, so its
    /// batches delay someone more important) and the dispatch is estimated
    /// to take longer than `max_batch`.
    fn split_cost(&self, key: GraphKey, ptask: Option<usize>, now: Nanos) -> Option<f64> {
        let g = self.graphs.get(&key)?;
        let est = g.cost.get(&ptask).copied()?;
        let budget = self.config.max_batch as f64;
        let split = self.config.mode == SchedMode::Priority
            && budget > 0.0
            && est > budget
            && g.spec.priority < self.top_active_priority(now);
        split.then_some(est)
    }

    /// True if a dispatch of `ptask` (`None`: a whole frame) of graph `key`
    /// is too long to submit whole right now (see [`Self::slices_per_job`]).
    pub fn should_split(&self, key: GraphKey, ptask: Option<usize>, now: Nanos) -> bool {
        self.split_cost(key, ptask, now).is_some()
    }

    /// How many of a dispatch's `slices` equal parts one job of `ptask` of
    /// graph `key` should cover now: all of them unless the dispatch should
    /// be split ([`Self::should_split`]); then about `max_batch / 2` worth
    /// (two such slices may be in flight at once, so the device stays busy
    /// while the host submits the next, and a top-priority job still waits
    /// for at most `max_batch` of background work).
    pub fn slices_per_job(
        &self,
        key: GraphKey,
        ptask: Option<usize>,
        slices: u32,
        now: Nanos,
    ) -> u32 {
        let all = slices.max(1);
        let Some(est) = self.split_cost(key, ptask, now) else {
            return all;
        };
        // Half the budget each: two slices may be in flight (see
        // `background_slices_fit`).
        let target = self.config.max_batch as f64 / 2.0;
        ((f64::from(all) * target / est).floor() as u32).clamp(1, all)
    }

    /// Number of jobs submitted and not yet completed.
    pub fn inflight(&self) -> usize {
        self.inflight_per_queue.iter().sum()
    }

    /// Number of jobs waiting to be picked.
    pub fn ready_count(&self) -> usize {
        self.graphs.values().map(|g| g.ready.len()).sum()
    }

    /// A job became ready (its inputs hold data and its outputs have room).
    pub fn ready(&mut self, spec: JobSpec, now: Nanos) -> Result<JobId, SchedError> {
        let key = spec.graph;
        let (group, q) = self.open_graph_mut(key).map(|g| (g.spec.group, g.queue))?;
        let vmin = self.current_vmin(Some(key), group);
        let lead = self.largest_step(key, group);
        // The group's reactivation floor on the graph's queue, if none of
        // its graphs there is active (the same rule one level up, below).
        let group_floor = if self.group_active(group, q) {
            None
        } else {
            Some((
                self.current_group_vmin(Some(group), q),
                self.largest_group_step(group, q),
            ))
        };
        let window = self.config.contention_window;
        let id = JobId(self.next_job);
        let g = self.open_graph_mut(key)?;
        if let Some(p) = spec.ptask {
            if p >= g.spec.ptasks.len() {
                return Err(SchedError::UnknownPtask {
                    graph: g.spec.name.clone(),
                    ptask: p,
                });
            }
        }
        if !(spec.fraction > 0.0 && spec.fraction <= 1.0) {
            return Err(SchedError::BadConfig("a job's fraction must be in (0, 1]"));
        }
        if !g.active() {
            // Reactivation: no credit for the time spent idle. A graph that
            // was idle only briefly (within the contention window: the host
            // turning a frame around) keeps the lead it had, up to one job
            // of any other graph, so job granularity does not cost it its share.
            let brief = g
                .last_activity
                .is_some_and(|t| now.saturating_sub(t) <= window);
            let floor = if brief { vmin - lead } else { vmin };
            g.vtime = g.vtime.max(floor);
        }
        g.ready.push_back(id);
        g.last_activity = Some(now);
        let weight = g.weight(spec.ptask);
        let queue = g.queue;
        if let Some(lane) = self.lane_mut(group, q) {
            if let Some((gvmin, glead)) = group_floor {
                let brief = lane
                    .last_activity
                    .is_some_and(|t| now.saturating_sub(t) <= window);
                let floor = if brief { gvmin - glead } else { gvmin };
                lane.vtime = lane.vtime.max(floor);
            }
            lane.last_activity = Some(now);
        }
        self.next_job += 1;
        self.jobs.insert(
            id,
            JobState {
                spec,
                ready_at: now,
                submitted_at: None,
                queue,
                weight,
                charged: 0.0,
                group,
                group_weight: 1,
                group_charged: 0.0,
            },
        );
        self.refresh(now);
        Ok(id)
    }

    /// Chooses the next job to submit, or `None` if nothing may be submitted
    /// now. The job counts as submitted at `now`; if the submit then fails,
    /// call [`Scheduler::abandon`].
    pub fn pick(&mut self, now: Nanos) -> Option<Pick> {
        self.refresh(now);
        let chosen = match self.config.mode {
            SchedMode::Fifo => self.pick_fifo(),
            SchedMode::Priority => self.pick_priority(now),
        }?;
        let (key, job) = chosen;
        let g = self.graphs.get_mut(&key)?; // invariant: chosen from self.graphs
        g.ready.retain(|j| *j != job);
        g.inflight += 1;
        let queue = g.queue;
        let j = self.jobs.get_mut(&job)?; // invariant: ready jobs are in self.jobs
        j.weight = g.weight(j.spec.ptask);
        let est = g.cost.get(&j.spec.ptask).copied().unwrap_or(0.0) * j.spec.fraction;
        j.charged = est / f64::from(j.weight);
        g.vtime += j.charged;
        j.submitted_at = Some(now);
        j.queue = queue;
        let ptask = j.spec.ptask;
        let group = g.spec.group;
        // invariant: add_graph creates the group, with a lane per queue.
        let gs = self.groups.get_mut(&group)?;
        let lane = gs.lanes.get_mut(queue)?;
        let passed = lane.vtime;
        j.group = group;
        j.group_weight = gs.weight;
        j.group_charged = est / f64::from(gs.weight);
        lane.vtime += j.group_charged;
        gs.inflight += 1;
        if let Some(q) = self.inflight_per_queue.get_mut(queue) {
            *q += 1;
        }
        if self.config.mode == SchedMode::Priority {
            self.limit_capped_lag(group, queue, passed);
        }
        self.refresh(now);
        Some(Pick {
            job,
            graph: key,
            ptask,
            queue,
        })
    }

    /// The estimated GPU time of known job `job`: the moving average of
    /// its ptask's (or its graph's whole frames') measured times, scaled to
    /// the part of the dispatch it covers; `None` before any measurement.
    pub fn estimate(&self, job: JobId) -> Option<u64> {
        let j = self.jobs.get(&job)?;
        let g = self.graphs.get(&j.spec.graph)?;
        let c = g.cost.get(&j.spec.ptask)?;
        Some((c * j.spec.fraction).max(0.0) as u64)
    }

    /// A submitted job finished; `gpu` is what it cost on the device.
    pub fn completed(&mut self, job: JobId, gpu: GpuTime, now: Nanos) -> Result<(), SchedError> {
        let j = self
            .jobs
            .remove(&job)
            .ok_or(SchedError::BadJob(job.0, "known"))?;
        let Some(submitted) = j.submitted_at else {
            // Put it back: the caller made a mistake, the state must not change.
            self.jobs.insert(job, j);
            return Err(SchedError::BadJob(job.0, "submitted"));
        };
        if let Some(q) = self.inflight_per_queue.get_mut(j.queue) {
            *q = q.saturating_sub(1);
        }
        let alpha = self.config.cost_ewma;
        if let Some(g) = self.graphs.get_mut(&j.spec.graph) {
            g.inflight = g.inflight.saturating_sub(1);
            g.vtime += gpu.ns as f64 / f64::from(j.weight) - j.charged;
            // The estimate is per whole dispatch: scale a slice's time up.
            let whole = gpu.ns as f64 / j.spec.fraction;
            let e = g.cost.entry(j.spec.ptask).or_insert(whole);
            *e += alpha * (whole - *e);
            g.last_activity = Some(now);
        }
        if let Some(gs) = self.groups.get_mut(&j.group) {
            gs.inflight = gs.inflight.saturating_sub(1);
            if let Some(lane) = gs.lanes.get_mut(j.queue) {
                lane.vtime += gpu.ns as f64 / f64::from(j.group_weight) - j.group_charged;
                lane.last_activity = Some(now);
            }
        }
        let rec = JobRecord {
            graph: j.spec.graph,
            group: j.group,
            ptask: j.spec.ptask,
            ready: j.ready_at,
            submitted,
            done: now,
            gpu_ns: gpu.ns,
            frame_arrival: j.spec.frame_arrival.unwrap_or(j.ready_at),
            ends_frame: j.spec.ends_frame,
            queue: j.queue,
            weight: j.weight,
            timed: gpu.timed,
        };
        self.stats.record(&rec);
        if self.trace.enabled() {
            // Names are copied only for a trace (no allocation per job otherwise).
            self.trace.record(&rec, gpu.start, self.name_of(&rec));
        }
        self.refresh(now);
        Ok(())
    }

    /// A picked job could not be submitted (or a ready one is withdrawn):
    /// forget it without charging anything.
    pub fn abandon(&mut self, job: JobId, now: Nanos) -> Result<(), SchedError> {
        let j = self
            .jobs
            .remove(&job)
            .ok_or(SchedError::BadJob(job.0, "known"))?;
        if let Some(g) = self.graphs.get_mut(&j.spec.graph) {
            if j.submitted_at.is_some() {
                g.inflight = g.inflight.saturating_sub(1);
                g.vtime -= j.charged;
                if let Some(q) = self.inflight_per_queue.get_mut(j.queue) {
                    *q = q.saturating_sub(1);
                }
                if let Some(gs) = self.groups.get_mut(&j.group) {
                    gs.inflight = gs.inflight.saturating_sub(1);
                    if let Some(lane) = gs.lanes.get_mut(j.queue) {
                        lane.vtime -= j.group_charged;
                    }
                }
            } else {
                g.ready.retain(|r| *r != job);
            }
        }
        self.refresh(now);
        Ok(())
    }

    /// Statistics so far (`now` closes the measurement interval).
    pub fn report(&self, now: Nanos) -> StatsReport {
        self.stats.report(now)
    }

    /// The statistics collector (live counters).
    pub fn stats(&self) -> &StatsCollector {
        &self.stats
    }

    /// A paced source had to drop a frame because the graph was full.
    pub fn frame_dropped(&mut self, key: GraphKey) {
        self.stats.frame_dropped(key);
    }

    /// The trace recorded so far as Chrome trace-event JSON.
    pub fn trace_json(&self) -> serde_json::Value {
        self.trace.to_json()
    }

    /// Writes the trace to `path` (temp file + rename).
    pub fn write_trace(&self, path: &std::path::Path) -> std::io::Result<()> {
        self.trace.write(path)
    }

    fn name_of(&self, rec: &JobRecord) -> (String, String) {
        let Some(g) = self.graphs.get(&rec.graph) else {
            return (format!("graph#{}", rec.graph.0), "?".into());
        };
        let p = match rec.ptask {
            Some(i) => g
                .spec
                .ptasks
                .get(i)
                .map(|(n, _)| n.clone())
                .unwrap_or_else(|| format!("ptask#{i}")),
            None => "frame".to_string(),
        };
        (g.spec.name.clone(), p)
    }

    fn open_graph_mut(&mut self, key: GraphKey) -> Result<&mut GraphState, SchedError> {
        self.graphs
            .get_mut(&key)
            .filter(|g| g.open)
            .ok_or(SchedError::UnknownGraph(key.0))
    }

    /// The state of `group`, created (weight 1, no limits, on each queue
    /// at the last known minimum group virtual time there) if it is new.
    fn group_mut(&mut self, group: GroupKey) -> &mut GroupState {
        let v = &self.group_vmin;
        self.groups
            .entry(group)
            .or_insert_with(|| GroupState::new(v))
    }

    /// The state of `group` on queue `q` (the group is created if new).
    fn lane_mut(&mut self, group: GroupKey, q: usize) -> Option<&mut Lane> {
        self.group_mut(group).lanes.get_mut(q)
    }

    /// True if an open graph of `group` on queue `q` has ready or in-flight jobs.
    fn group_active(&self, group: GroupKey, q: usize) -> bool {
        self.graphs
            .values()
            .any(|g| g.spec.group == group && g.queue == q && g.open && g.active())
    }

    /// True if `g`'s group is at its in-flight limit.
    fn capped(&self, g: &GraphState) -> bool {
        self.groups
            .get(&g.spec.group)
            .is_some_and(GroupState::at_cap)
    }

    /// Minimum virtual time over the active graphs of `group` other than
    /// `except`; the group's last known minimum when none is active.
    /// Updates the remembered minimum.
    fn current_vmin(&mut self, except: Option<GraphKey>, group: GroupKey) -> f64 {
        let m = self
            .graphs
            .iter()
            .filter(|(k, g)| Some(**k) != except && g.spec.group == group && g.open && g.active())
            .map(|(_, g)| g.vtime)
            .fold(f64::INFINITY, f64::min);
        let gs = self.group_mut(group);
        if m.is_finite() {
            gs.vmin = m;
        }
        gs.vmin
    }

    /// Minimum group virtual time on queue `q` over the groups other than
    /// `except` active there; the last known minimum when none is.
    /// Updates the remembered minimum.
    fn current_group_vmin(&mut self, except: Option<GroupKey>, q: usize) -> f64 {
        let m = self
            .graphs
            .values()
            .filter(|g| Some(g.spec.group) != except && g.queue == q && g.open && g.active())
            .filter_map(|g| self.groups.get(&g.spec.group)?.lanes.get(q))
            .map(|l| l.vtime)
            .fold(f64::INFINITY, f64::min);
        let Some(last) = self.group_vmin.get_mut(q) else {
            return 0.0;
        };
        if m.is_finite() {
            *last = m;
        }
        *last
    }

    /// The largest virtual-time step one job of an open graph of `group`
    /// other than `except` takes (its largest cost estimate over its priority).
    fn largest_step(&self, except: GraphKey, group: GroupKey) -> f64 {
        self.graphs
            .iter()
            .filter(|(k, g)| **k != except && g.spec.group == group && g.open)
            .flat_map(|(_, g)| g.cost.iter().map(move |(p, c)| c / f64::from(g.weight(*p))))
            .fold(0.0, f64::max)
    }

    /// The largest group-virtual-time step one job of an open graph on
    /// queue `q` takes (its largest cost estimate over its group's weight),
    /// over the graphs of `group` if `inside`, else over the other groups'.
    fn group_step(&self, group: GroupKey, q: usize, inside: bool) -> f64 {
        self.graphs
            .values()
            .filter(|g| (g.spec.group == group) == inside && g.queue == q && g.open)
            .filter_map(|g| {
                let w = self.groups.get(&g.spec.group)?.weight;
                let c = g.cost.values().fold(0.0f64, |a, c| a.max(*c));
                Some(c / f64::from(w))
            })
            .fold(0.0, f64::max)
    }

    /// The largest group step on queue `q` of the groups other than `group`.
    fn largest_group_step(&self, group: GroupKey, q: usize) -> f64 {
        self.group_step(group, q, false)
    }

    /// A job of group `chosen` was submitted to queue `q`, where the
    /// group's virtual time was `passed` before the job's charge: every
    /// other group held back there only by its own in-flight limit, with
    /// ready work on `q`, keeps no more than one job of lead over it.
    /// Otherwise a capped group's lag would grow without bound while its
    /// limit keeps it below its share, and it would burst once the limit
    /// is raised (its own limit is not contention: it earns no credit, as
    /// idleness earns none).
    fn limit_capped_lag(&mut self, chosen: GroupKey, q: usize, passed: f64) {
        let capped: Few<(GroupKey, f64)> = self
            .groups
            .iter()
            .filter(|(k, gs)| {
                **k != chosen && gs.at_cap() && gs.lanes.get(q).is_some_and(|l| l.vtime < passed)
            })
            .filter(|(k, _)| {
                self.graphs
                    .values()
                    .any(|g| g.spec.group == **k && g.queue == q && g.open && !g.ready.is_empty())
            })
            .map(|(k, _)| (*k, passed - self.group_step(*k, q, true)))
            .collect();
        for (k, floor) in capped {
            if let Some(lane) = self.groups.get_mut(&k).and_then(|gs| gs.lanes.get_mut(q)) {
                lane.vtime = lane.vtime.max(floor);
            }
        }
    }

    /// Maps the graphs to queues ([`Self::rank_queues`]); with several
    /// queues, groups that arrive on a queue start there without credit.
    fn assign_queues(&mut self) {
        if self.config.queues < 2 {
            self.rank_queues();
            return;
        }
        let before = self.active_lanes();
        self.rank_queues();
        // A group whose active graphs moved to a queue where it had none
        // starts there at the minimum of the groups that were active there
        // (its lane may be stale: no credit for the time it was elsewhere).
        let after = self.active_lanes();
        for (group, q) in after.iter().filter(|l| !before.contains(l)) {
            let floor = before
                .iter()
                .filter(|(g, lq)| g != group && lq == q)
                .filter_map(|(g, _)| self.groups.get(g)?.lanes.get(*q))
                .map(|l| l.vtime)
                .fold(f64::INFINITY, f64::min);
            let floor = if floor.is_finite() {
                floor
            } else {
                self.group_vmin.get(*q).copied().unwrap_or(0.0)
            };
            if let Some(lane) = self.lane_mut(*group, *q) {
                lane.vtime = lane.vtime.max(floor);
            }
        }
    }

    /// The (group, queue) pairs with an active open graph.
    fn active_lanes(&self) -> Few<(GroupKey, usize)> {
        let mut lanes: Few<(GroupKey, usize)> = self
            .graphs
            .values()
            .filter(|g| g.open && g.active())
            .map(|g| (g.spec.group, g.queue))
            .collect();
        lanes.sort_unstable();
        lanes.dedup();
        lanes
    }

    /// Highest-priority graphs → queue 0, next level → queue 1, …; the rest
    /// share the last queue.
    fn rank_queues(&mut self) {
        let mut levels: Vec<u32> = self
            .graphs
            .values()
            .filter(|g| g.open)
            .map(|g| g.spec.priority)
            .collect();
        levels.sort_unstable_by(|a, b| b.cmp(a));
        levels.dedup();
        let last = self.config.queues - 1;
        for g in self.graphs.values_mut() {
            let rank = levels
                .iter()
                .position(|p| *p == g.spec.priority)
                .unwrap_or(last);
            g.queue = rank.min(last);
        }
    }

    /// The highest base priority among recently active graphs.
    fn top_active_priority(&self, now: Nanos) -> u32 {
        let window = self.config.contention_window;
        self.graphs
            .values()
            .filter(|g| {
                g.open
                    && (g.active()
                        || g.last_activity
                            .is_some_and(|t| now.saturating_sub(t) <= window))
            })
            .map(|g| g.spec.priority)
            .max()
            .unwrap_or(0)
    }

    fn background_inflight(&self, queue: usize, top: u32) -> usize {
        self.graphs
            .values()
            .filter(|g| g.queue == queue && g.spec.priority < top)
            .map(|g| g.inflight)
            .sum()
    }

    fn eligible(&self, g: &GraphState, top: u32) -> bool {
        if g.ready.is_empty() || !g.open {
            return false;
        }
        let q = self.inflight_per_queue.get(g.queue).copied().unwrap_or(0);
        let alone = self.graphs.values().filter(|g| g.open).count() <= 1;
        match self.config.mode {
            SchedMode::Fifo => q < self.config.fifo_depth,
            // Nobody to protect: keep the device as full as fifo would.
            SchedMode::Priority if alone => q < self.config.fifo_depth,
            SchedMode::Priority => {
                let background = self.background_inflight(g.queue, top);
                let foreground = g.spec.priority >= top;
                // Background jobs do not use up the foreground's queue depth:
                // a top-priority frame never waits to be *submitted* because
                // the one background batch it is allowed to wait for is in flight.
                let used = if foreground { q - background.min(q) } else { q };
                used < self.config.queue_depth
                    && g.inflight < self.config.graph_inflight
                    && (foreground
                        || background < self.config.background_inflight
                        || self.background_slices_fit(g, top))
            }
        }
    }

    /// Background slices may be pipelined two deep (so the device does not
    /// idle while the host turns one slice into the next) as long as the
    /// background work in flight stays within [`SchedConfig::max_batch`] by
    /// estimate: true if `g`'s ready jobs are slices of known cost, every
    /// background job in flight on its queue is a slice, and one more fits.
    fn background_slices_fit(&self, g: &GraphState, top: u32) -> bool {
        let budget = self.config.max_batch as f64;
        if budget <= 0.0 {
            return false;
        }
        let mut cand = 0.0f64;
        for j in g.ready.iter().filter_map(|j| self.jobs.get(j)) {
            match g.cost.get(&j.spec.ptask) {
                Some(c) if j.spec.fraction < 1.0 => cand = cand.max(c * j.spec.fraction),
                _ => return false,
            }
        }
        let (mut count, mut sum) = (0, 0.0);
        for j in self.jobs.values() {
            if j.submitted_at.is_none() || j.queue != g.queue {
                continue;
            }
            if self
                .graphs
                .get(&j.spec.graph)
                .is_some_and(|h| h.spec.priority >= top)
            {
                continue;
            }
            if j.spec.fraction >= 1.0 {
                return false;
            }
            count += 1;
            sum += j.charged * f64::from(j.weight);
        }
        count < 2 && sum + cand <= budget
    }

    /// Updates `runnable_since` of every graph (aging counts runnable time only).
    fn refresh(&mut self, now: Nanos) {
        let top = self.top_active_priority(now);
        let flags: Few<(GraphKey, bool)> = self
            .graphs
            .iter()
            .map(|(k, g)| (*k, self.eligible(g, top) && !self.capped(g)))
            .collect();
        for (k, e) in flags {
            if let Some(g) = self.graphs.get_mut(&k) {
                match (e, g.runnable_since) {
                    (true, None) => g.runnable_since = Some(now),
                    (false, Some(_)) => g.runnable_since = None,
                    _ => {}
                }
            }
        }
    }

    fn pick_fifo(&self) -> Option<(GraphKey, JobId)> {
        let top = 0;
        self.graphs
            .iter()
            .filter(|(_, g)| self.eligible(g, top) && !self.capped(g))
            .flat_map(|(k, g)| {
                g.ready
                    .iter()
                    .filter_map(|j| Some((self.jobs.get(j)?.ready_at, *j, *k)))
            })
            .min()
            .map(|(_, j, k)| (k, j))
    }

    fn pick_priority(&self, now: Nanos) -> Option<(GraphKey, JobId)> {
        let top = self.top_active_priority(now);
        let several = self.graphs.values().filter(|h| h.open).count() > 1;
        // Each graph's candidate: its best ready job, or a hold.
        let mut cands: Few<Cand> = Few::new();
        for (k, g) in &self.graphs {
            // A group at its in-flight limit is passed over (it holds back
            // no one, not even on its queue) until one of its jobs completes.
            if !g.open || self.capped(g) {
                continue;
            }
            // The graph's best ready job: highest base priority, oldest first.
            let Some((w, ready_at, job)) = g
                .ready
                .iter()
                .filter_map(|j| {
                    let s = self.jobs.get(j)?;
                    Some((g.weight(s.spec.ptask), s.ready_at, *j))
                })
                .min_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)))
            else {
                // Busy but nothing ready: its next job usually follows as
                // soon as the in-flight one completes (a graph whose outputs
                // are one slot deep). If it is the most behind, hold its
                // queue for it rather than let others run ahead of their
                // share (with several other graphs present).
                if g.inflight > 0 && several {
                    let est = g.cost.values().fold(0.0f64, |a, c| a.max(*c));
                    cands.push(Cand {
                        key: g.vtime + est / f64::from(g.spec.priority),
                        neg_p: f64::INFINITY,
                        ready_at: now,
                        job: JobId(u64::MAX),
                        graph: *k,
                        ok: false,
                        queue: g.queue,
                        group: g.spec.group,
                        cost: est,
                    });
                }
                continue;
            };
            let since = g.runnable_since.unwrap_or(now).max(ready_at);
            let wait_s = now.saturating_sub(since) as f64 / SEC as f64;
            let p_eff = f64::from(w) + self.config.aging_rate * wait_s;
            let (ptask, fraction) = self
                .jobs
                .get(&job)
                .map_or((None, 1.0), |s| (s.spec.ptask, s.spec.fraction));
            let est = g.cost.get(&ptask).copied().unwrap_or(0.0) * fraction;
            cands.push(Cand {
                key: g.vtime + est / p_eff,
                neg_p: -p_eff,
                ready_at,
                job,
                graph: *k,
                ok: self.eligible(g, top),
                queue: g.queue,
                group: g.spec.group,
                // The same aging, one level up: the bonus is bounded by
                // est / W, so it never changes the groups' long-run shares.
                cost: est * f64::from(w) / p_eff,
            });
        }
        cands.sort_by(Cand::order);
        // Inner level: a group's candidate on a queue is its graph with the
        // smallest key there. Outer level: a queue's candidate is the group
        // with the smallest group key `V_G + cost / W_G`.
        let mut seen: Few<(usize, GroupKey)> = Few::new();
        let mut best: Few<Option<(usize, f64)>> = smallvec::smallvec![None; self.config.queues];
        for (i, c) in cands.iter().enumerate() {
            if seen.contains(&(c.queue, c.group)) {
                continue;
            }
            seen.push((c.queue, c.group));
            let Some(gs) = self.groups.get(&c.group) else {
                continue;
            };
            let Some(lane) = gs.lanes.get(c.queue) else {
                continue;
            };
            let gkey = lane.vtime + c.cost / f64::from(gs.weight);
            let Some(slot) = best.get_mut(c.queue) else {
                continue;
            };
            let better = match *slot {
                None => true,
                Some((b, bkey)) => gkey
                    .total_cmp(&bkey)
                    .then(c.neg_p.total_cmp(&cands[b].neg_p))
                    .then(c.ready_at.cmp(&cands[b].ready_at))
                    .then(c.job.cmp(&cands[b].job))
                    .is_lt(),
            };
            if better {
                *slot = Some((i, gkey));
            }
        }
        // Strict order per queue: if a queue's candidate may not submit yet
        // (its graph's in-flight or background limit), nothing else on that
        // queue overtakes it. Its own in-flight job keeps the queue busy
        // meanwhile. Queues are served in the order of their candidates'
        // graph keys (with one group: exactly the flat order).
        let mut winners: Few<usize> = best.iter().flatten().map(|(i, _)| *i).collect();
        winners.sort_unstable();
        winners
            .into_iter()
            .filter_map(|i| cands.get(i))
            .find(|c| c.ok)
            .map(|c| (c.graph, c.job))
    }
}

/// One graph's offer in a priority decision (see `pick_priority`).
struct Cand {
    /// `V_g + c_j / p_j` (hold: `V_g + c_g / w_g`).
    key: f64,
    /// `−p_j` (hold: +∞, last among equal keys).
    neg_p: f64,
    ready_at: Nanos,
    job: JobId,
    graph: GraphKey,
    /// The graph may submit now (a hold never may).
    ok: bool,
    queue: usize,
    group: GroupKey,
    /// Its group-level step before the group weight: `c_j · w_j / p_j`
    /// (hold: `c_g`).
    cost: f64,
}

impl Cand {
    /// Graph-level order: smallest key, then highest `p_j`, then oldest,
    /// then lowest job id.
    fn order(a: &Cand, b: &Cand) -> std::cmp::Ordering {
        a.key
            .total_cmp(&b.key)
            .then(a.neg_p.total_cmp(&b.neg_p))
            .then(a.ready_at.cmp(&b.ready_at))
            .then(a.job.cmp(&b.job))
    }
}
