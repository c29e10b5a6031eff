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
//!   time, with aging and bounded in-flight work.
//!
//! # The priority formula
//!
//! Each open graph `g` has a virtual time `V_g` (nanoseconds of GPU time per
//! unit of priority). For a job `j` of graph `g`:
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
//! the graphs with ready work on a queue, the scheduler takes the one with the smallest
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
//! still catching up on the low one's last (10× larger) step.
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
//! * the graph has fewer than [`SchedConfig::graph_inflight`] jobs in flight, and
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
//! priority [`vk_queue_priorities`]`(n)[i]`. With one queue (lavapipe), all
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
}

/// The arbitration policy plus its bookkeeping (stats, trace).
pub struct Scheduler {
    config: SchedConfig,
    graphs: BTreeMap<GraphKey, GraphState>,
    jobs: HashMap<JobId, JobState>,
    next_job: u64,
    /// Last known minimum virtual time of the active graphs.
    vmin: f64,
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
            stats: StatsCollector::new(config.mode),
            config,
            graphs: BTreeMap::new(),
            jobs: HashMap::new(),
            next_job: 0,
            vmin: 0.0,
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
        let v = self.current_vmin(None);
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
        let vmin = self.current_vmin(Some(key));
        let lead = self.largest_step(key);
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
        if let Some(q) = self.inflight_per_queue.get_mut(queue) {
            *q += 1;
        }
        self.refresh(now);
        Some(Pick {
            job,
            graph: key,
            ptask,
            queue,
        })
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
        let rec = JobRecord {
            graph: j.spec.graph,
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
        self.trace.record(&rec, gpu.start, self.name_of(&rec));
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

    /// Minimum virtual time over active graphs other than `except`; the last
    /// known minimum when none is active. Updates the remembered minimum.
    fn current_vmin(&mut self, except: Option<GraphKey>) -> f64 {
        let m = self
            .graphs
            .iter()
            .filter(|(k, g)| Some(**k) != except && g.open && g.active())
            .map(|(_, g)| g.vtime)
            .fold(f64::INFINITY, f64::min);
        if m.is_finite() {
            self.vmin = m;
        }
        self.vmin
    }

    /// The largest virtual-time step one job of an open graph other than
    /// `except` takes (its largest cost estimate over its priority).
    fn largest_step(&self, except: GraphKey) -> f64 {
        self.graphs
            .iter()
            .filter(|(k, g)| **k != except && g.open)
            .flat_map(|(_, g)| g.cost.iter().map(move |(p, c)| c / f64::from(g.weight(*p))))
            .fold(0.0, f64::max)
    }

    /// Highest-priority graphs → queue 0, next level → queue 1, …; the rest
    /// share the last queue.
    fn assign_queues(&mut self) {
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
            .map(|(k, g)| (*k, self.eligible(g, top)))
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
            .filter(|(_, g)| self.eligible(g, top))
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
        // (key, -p_eff, ready_at, job, graph, eligible) of each graph's best job.
        let mut cands: Few<(f64, f64, Nanos, JobId, GraphKey, bool)> = Few::new();
        for (k, g) in &self.graphs {
            if !g.open {
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
                if g.inflight > 0 && self.graphs.values().filter(|h| h.open).count() > 1 {
                    let est = g.cost.values().fold(0.0f64, |a, c| a.max(*c));
                    let key = g.vtime + est / f64::from(g.spec.priority);
                    cands.push((key, f64::INFINITY, now, JobId(u64::MAX), *k, false));
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
            let key = g.vtime + est / p_eff;
            cands.push((key, -p_eff, ready_at, job, *k, self.eligible(g, top)));
        }
        cands.sort_by(|a, b| {
            a.0.total_cmp(&b.0)
                .then(a.1.total_cmp(&b.1))
                .then(a.2.cmp(&b.2))
                .then(a.3.cmp(&b.3))
        });
        // Strict order per queue: if a queue's smallest-key graph may not
        // submit yet (its in-flight limit), nothing else on that queue
        // overtakes it. Its own in-flight job keeps the queue busy meanwhile.
        let mut blocked: Few<bool> = smallvec::smallvec![false; self.config.queues];
        for (_, _, _, job, k, ok) in cands {
            let q = self.graphs.get(&k).map_or(0, |g| g.queue);
            if blocked.get(q).copied().unwrap_or(true) {
                continue;
            }
            if ok {
                return Some((k, job));
            }
            if let Some(b) = blocked.get_mut(q) {
                *b = true;
            }
        }
        None
    }
}
