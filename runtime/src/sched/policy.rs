//! The policy: mapping graphs to queues, eligibility (bounded in-flight
//! work), aging, and the choice of the next job (fifo, or two-level
//! weighted fair queuing).

use super::state::GraphState;
use super::{Few, GraphKey, GroupKey, JobId, Nanos, SchedMode, Scheduler, SEC};

impl Scheduler {
    /// Maps the graphs to queues ([`Self::rank_queues`]); with several
    /// queues, groups that arrive on a queue start there without credit.
    pub(super) fn assign_queues(&mut self) {
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
    pub(super) fn top_active_priority(&self, now: Nanos) -> u32 {
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
    pub(super) fn refresh(&mut self, now: Nanos) {
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

    pub(super) fn pick_fifo(&self) -> Option<(GraphKey, JobId)> {
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

    pub(super) fn pick_priority(&self, now: Nanos) -> Option<(GraphKey, JobId)> {
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
