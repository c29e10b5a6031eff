//! State lookups and the virtual-time arithmetic: the minimums and job
//! steps behind the reactivation floors, and the lag limit of groups held
//! back by their own in-flight limit.

use super::state::{GraphState, GroupState, Lane};
use super::{Few, GraphKey, GroupKey, SchedError, Scheduler};

impl Scheduler {
    pub(super) fn open_graph_mut(&mut self, key: GraphKey) -> Result<&mut GraphState, SchedError> {
        self.graphs
            .get_mut(&key)
            .filter(|g| g.open)
            .ok_or(SchedError::UnknownGraph(key.0))
    }

    /// The state of `group`, created (weight 1, no limits, on each queue
    /// at the last known minimum group virtual time there) if it is new.
    pub(super) fn group_mut(&mut self, group: GroupKey) -> &mut GroupState {
        let v = &self.group_vmin;
        self.groups
            .entry(group)
            .or_insert_with(|| GroupState::new(v))
    }

    /// The state of `group` on queue `q` (the group is created if new).
    pub(super) fn lane_mut(&mut self, group: GroupKey, q: usize) -> Option<&mut Lane> {
        self.group_mut(group).lanes.get_mut(q)
    }

    /// True if an open graph of `group` on queue `q` has ready or in-flight jobs.
    pub(super) fn group_active(&self, group: GroupKey, q: usize) -> bool {
        self.graphs
            .values()
            .any(|g| g.spec.group == group && g.queue == q && g.open && g.active())
    }

    /// True if `g`'s group is at its in-flight limit.
    pub(super) fn capped(&self, g: &GraphState) -> bool {
        self.groups
            .get(&g.spec.group)
            .is_some_and(GroupState::at_cap)
    }

    /// Minimum virtual time over the active graphs of `group` other than
    /// `except`; the group's last known minimum when none is active.
    /// Updates the remembered minimum.
    pub(super) fn current_vmin(&mut self, except: Option<GraphKey>, group: GroupKey) -> f64 {
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
    pub(super) fn current_group_vmin(&mut self, except: Option<GroupKey>, q: usize) -> f64 {
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
    pub(super) fn largest_step(&self, except: GraphKey, group: GroupKey) -> f64 {
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
    pub(super) fn largest_group_step(&self, group: GroupKey, q: usize) -> f64 {
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
    pub(super) fn limit_capped_lag(&mut self, chosen: GroupKey, q: usize, passed: f64) {
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
}
