//! Opening, closing and configuring graphs and groups, and inspecting them.

use super::config::check_priority;
use super::state::GraphState;
use super::stats::StatsCollector;
use super::trace::TraceRecorder;
use super::{
    GraphKey, GraphSpec, GroupKey, GroupLimits, JobId, Nanos, SchedConfig, SchedError, Scheduler,
};
use std::collections::{BTreeMap, HashMap, VecDeque};

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
}
