//! The scheduler's tunables ([`SchedConfig`], [`SchedMode`]) and what it
//! refuses ([`SchedError`]).

use super::{Nanos, MS};
use std::fmt;
use std::str::FromStr;

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
    /// Record a trace of every job (see [`trace`](super::trace)); at most
    /// this many events are kept (0 = no trace).
    pub trace_limit: usize,
    /// Priority mode: a background graph's dispatch estimated to take
    /// longer than this is split into slices of about this much GPU time,
    /// submitted as separate jobs, so a top-priority frame waits for one
    /// slice rather than the whole dispatch (0 = never split). See
    /// [`Scheduler::slices_per_job`](super::Scheduler::slices_per_job).
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

pub(super) fn check_priority(p: u32) -> Result<u32, SchedError> {
    if (1..=100).contains(&p) {
        Ok(p)
    } else {
        Err(SchedError::BadPriority(p))
    }
}
