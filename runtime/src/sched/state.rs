//! The scheduler's bookkeeping per open graph, per job and per group.

use super::{GraphSpec, GroupKey, GroupLimits, JobId, JobSpec, Nanos};
use std::collections::{HashMap, VecDeque};

pub(super) struct GraphState {
    pub(super) spec: GraphSpec,
    pub(super) open: bool,
    pub(super) vtime: f64,
    pub(super) ready: VecDeque<JobId>,
    pub(super) inflight: usize,
    pub(super) runnable_since: Option<Nanos>,
    pub(super) last_activity: Option<Nanos>,
    /// Cost estimates (ns) keyed by ptask (None = batch).
    pub(super) cost: HashMap<Option<usize>, f64>,
    pub(super) queue: usize,
}

impl GraphState {
    pub(super) fn active(&self) -> bool {
        !self.ready.is_empty() || self.inflight > 0
    }
    pub(super) fn weight(&self, ptask: Option<usize>) -> u32 {
        ptask
            .and_then(|i| self.spec.ptasks.get(i))
            .and_then(|(_, p)| *p)
            .unwrap_or(self.spec.priority)
    }
}

pub(super) struct JobState {
    pub(super) spec: JobSpec,
    pub(super) ready_at: Nanos,
    pub(super) submitted_at: Option<Nanos>,
    pub(super) queue: usize,
    pub(super) weight: u32,
    /// Virtual time charged at submission (estimate / weight).
    pub(super) charged: f64,
    /// Its graph's group.
    pub(super) group: GroupKey,
    /// The group weight it was charged at.
    pub(super) group_weight: u32,
    /// Group virtual time charged at submission (estimate / group weight).
    pub(super) group_charged: f64,
}

/// A group: its weight and limits, and its share of each queue (see the
/// module docs).
pub(super) struct GroupState {
    pub(super) weight: u32,
    pub(super) limits: GroupLimits,
    /// Last known minimum virtual time of the group's active graphs.
    pub(super) vmin: f64,
    /// Jobs of the group's graphs in flight, all queues together.
    pub(super) inflight: usize,
    /// Per queue: the group's fair-share state there.
    pub(super) lanes: Vec<Lane>,
}

/// A group's fair-share state on one queue.
#[derive(Clone, Debug, Default)]
pub(super) struct Lane {
    /// Group virtual time: GPU time on this queue per unit of group weight.
    pub(super) vtime: f64,
    /// Last time one of the group's graphs on this queue was opened, had a
    /// job ready or completed one.
    pub(super) last_activity: Option<Nanos>,
}

impl GroupState {
    /// A group at weight 1, without limits, at `vtimes` (one per queue).
    pub(super) fn new(vtimes: &[f64]) -> Self {
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
    pub(super) fn at_cap(&self) -> bool {
        self.limits.inflight.is_some_and(|c| self.inflight >= c)
    }
}
