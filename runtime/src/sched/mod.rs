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
//!
//! # Layout
//!
//! This module holds the public types; `config` the tunables and errors,
//! `state` the per-graph, per-job and per-group bookkeeping, `graphs`
//! opening and configuring graphs and groups, `jobs` a job's life (ready,
//! pick, completed), `vtime` the virtual-time arithmetic and `policy` the
//! queue mapping, eligibility and the choice itself.

pub mod arbiter;
pub mod hist;
pub mod sim;
pub mod stats;
pub mod trace;

mod config;
mod graphs;
mod jobs;
mod policy;
mod state;
mod vtime;

#[cfg(test)]
mod tests;

pub use config::{vk_queue_priorities, SchedConfig, SchedError, SchedMode};

use state::{GraphState, GroupState, JobState};
use stats::StatsCollector;
use std::collections::{BTreeMap, HashMap};
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
