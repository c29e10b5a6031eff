//! A job's life: ready, picked, completed or abandoned; slicing of
//! background dispatches; statistics and trace.

use super::state::JobState;
use super::stats::{JobRecord, StatsCollector, StatsReport};
use super::{GpuTime, GraphKey, JobId, JobSpec, Nanos, Pick, SchedError, SchedMode, Scheduler};

impl Scheduler {
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
}
