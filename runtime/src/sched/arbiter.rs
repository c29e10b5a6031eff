//! Glue between an executor that rescans its ready work on every step and
//! the job-based [`Scheduler`]: host clock, ready-set synchronisation,
//! submission tokens, and source pacing.

use super::{
    GpuTime, GraphKey, GraphSpec, JobId, JobSpec, Nanos, Pick, SchedConfig, SchedError, Scheduler,
};
use std::time::Instant;

/// One item of the executor's current ready set.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct ReadyItem {
    /// Its graph.
    pub graph: GraphKey,
    /// The ptask, or `None` for a whole frame.
    pub ptask: Option<usize>,
    /// When it was first seen ready.
    pub since: Instant,
    /// Completing it delivers a frame (it writes a graph output, or it is a
    /// whole frame).
    pub ends_frame: bool,
    /// The part of the ptask's dispatch it covers (1: all of it; see
    /// [`JobSpec::fraction`]).
    pub fraction: f64,
}

/// A ready item's identity: its graph and ptask (`None`: whole frame).
type LiveKey = (GraphKey, Option<usize>);

/// A [`Scheduler`] on the host clock, fed with the executor's ready sets.
pub struct Arbiter {
    sched: Scheduler,
    epoch: Instant,
    /// Ready items already known to the scheduler, with their job and
    /// fraction (a few: one per ready frame or ptask; searched linearly,
    /// no hashing per frame).
    live: Vec<(LiveKey, JobId, f64)>,
}

impl Arbiter {
    /// An arbiter whose clock starts now.
    pub fn new(config: SchedConfig) -> Result<Self, SchedError> {
        Ok(Arbiter {
            sched: Scheduler::new(config)?,
            epoch: Instant::now(),
            live: Vec::new(),
        })
    }

    /// Nanoseconds since the arbiter was created.
    pub fn now(&self) -> Nanos {
        self.at(Instant::now())
    }

    /// `t` on the arbiter's clock (0 before its epoch).
    pub fn at(&self, t: Instant) -> Nanos {
        t.saturating_duration_since(self.epoch).as_nanos() as Nanos
    }

    /// The scheduler (stats, trace, priorities).
    pub fn scheduler(&self) -> &Scheduler {
        &self.sched
    }

    /// The scheduler, mutably (priorities, dropped frames).
    pub fn scheduler_mut(&mut self) -> &mut Scheduler {
        &mut self.sched
    }

    /// Registers an opened graph.
    pub fn open(&mut self, key: GraphKey, spec: GraphSpec) -> Result<(), SchedError> {
        let now = self.now();
        self.sched.add_graph(key, spec, now)
    }

    /// Unregisters a terminated graph (its in-flight jobs may still complete).
    pub fn close(&mut self, key: GraphKey) -> Result<(), SchedError> {
        let now = self.now();
        self.live.retain(|((g, _), _, _)| *g != key);
        self.sched.remove_graph(key, now).map(|_| ())
    }

    /// Given the executor's whole current ready set, returns which item to
    /// submit now (index into `ready`, with its job and queue), or `None` to
    /// hold everything back until something completes.
    pub fn pick(&mut self, ready: &[ReadyItem]) -> Result<Option<(usize, Pick)>, SchedError> {
        let now = self.now();
        // Withdraw jobs that are no longer ready (e.g. a frame batch that
        // turned into single ptask firings).
        let mut i = 0;
        while i < self.live.len() {
            let (k, j, f) = self.live[i];
            if ready
                .iter()
                .any(|r| (r.graph, r.ptask) == k && r.fraction == f)
            {
                i += 1;
            } else {
                self.live.swap_remove(i);
                self.sched.abandon(j, now)?;
            }
        }
        for r in ready {
            if !self.live.iter().any(|(k, _, _)| *k == (r.graph, r.ptask)) {
                let t = self.at(r.since);
                let j = self.sched.ready(
                    JobSpec {
                        graph: r.graph,
                        ptask: r.ptask,
                        frame_arrival: Some(t),
                        ends_frame: r.ends_frame,
                        fraction: r.fraction,
                    },
                    t.min(now),
                )?;
                self.live.push(((r.graph, r.ptask), j, r.fraction));
            }
        }
        let Some(p) = self.sched.pick(now) else {
            return Ok(None);
        };
        self.live.retain(|(k, _, _)| *k != (p.graph, p.ptask));
        match ready
            .iter()
            .position(|r| (r.graph, r.ptask) == (p.graph, p.ptask))
        {
            Some(i) => Ok(Some((i, p))),
            None => {
                // invariant: every live job came from `ready` above; be safe anyway.
                self.sched.abandon(p.job, now)?;
                Ok(None)
            }
        }
    }

    /// The submit of a picked job failed: release it.
    pub fn submit_failed(&mut self, job: JobId) -> Result<(), SchedError> {
        let now = self.now();
        self.sched.abandon(job, now)
    }

    /// A submitted job completed. `gpu_ns` is its timestamp-measured GPU
    /// time (`None` where the queue has no timestamps: the host-observed
    /// submit→done time is charged instead); `gpu_start` when it began.
    pub fn completed(
        &mut self,
        job: JobId,
        submitted: Instant,
        gpu_ns: Option<u64>,
        gpu_start: Option<Instant>,
    ) -> Result<(), SchedError> {
        let now = self.now();
        let ns = gpu_ns.unwrap_or_else(|| now.saturating_sub(self.at(submitted)));
        // Without a calibrated device clock, a timed job is drawn as ending
        // when its completion was observed.
        let start = gpu_start
            .map(|t| self.at(t))
            .or_else(|| gpu_ns.map(|g| now.saturating_sub(g).max(self.at(submitted))));
        let timed = gpu_ns.is_some();
        self.sched.completed(job, GpuTime { ns, start, timed }, now)
    }

    /// A submitted job completed that was left untimed on purpose (a
    /// graph alone times only a sample of its jobs): it is charged the
    /// scheduler's estimate of its cost ([`Scheduler::estimate`]), or the
    /// host-observed submit→done time while there is none yet.
    pub fn completed_estimated(
        &mut self,
        job: JobId,
        submitted: Instant,
    ) -> Result<(), SchedError> {
        match self.sched.estimate(job) {
            Some(ns) => {
                let now = self.now();
                let start = Some(now.saturating_sub(ns).max(self.at(submitted)));
                self.sched.completed(
                    job,
                    GpuTime {
                        ns,
                        start,
                        timed: false,
                    },
                    now,
                )
            }
            None => self.completed(job, submitted, None, None),
        }
    }
}

/// Paces a source at a fixed rate: frame `k` is due at `start + k/fps`.
/// A frame that finds the graph's input full is dropped (counted), as a
/// camera would; the schedule does not slip.
#[derive(Clone, Debug, PartialEq)]
pub struct Pacer {
    start: Nanos,
    period: f64,
    next: u64,
}

impl Pacer {
    /// A pacer for `fps` frames per second starting at `start`.
    pub fn new(fps: f64, start: Nanos) -> Result<Self, SchedError> {
        if !(fps > 0.0 && fps.is_finite()) {
            return Err(SchedError::BadRate(fps));
        }
        Ok(Pacer {
            start,
            period: 1e9 / fps,
            next: 0,
        })
    }

    /// When the next frame is due.
    pub fn next_due(&self) -> Nanos {
        self.start + (self.next as f64 * self.period) as Nanos
    }

    /// Frames due by `now` that have not been taken yet.
    pub fn due(&self, now: Nanos) -> u64 {
        if now < self.start {
            return 0;
        }
        let k = ((now - self.start) as f64 / self.period).floor() as u64 + 1;
        k.saturating_sub(self.next)
    }

    /// Takes one due frame (call after delivering or dropping it).
    pub fn take(&mut self) {
        self.next += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sched::{GroupKey, SchedMode, MS};
    use std::time::Duration;

    fn spec(name: &str, p: u32) -> GraphSpec {
        GraphSpec {
            name: name.into(),
            priority: p,
            rate_hz: None,
            ptasks: vec![("a".into(), None), ("b".into(), None)],
            group: GroupKey::default(),
        }
    }

    #[test]
    fn arbiter_follows_changing_ready_sets() {
        let mut a = Arbiter::new(SchedConfig {
            mode: SchedMode::Fifo,
            ..SchedConfig::default()
        })
        .unwrap();
        let g = GraphKey(0);
        a.open(g, spec("g", 5)).unwrap();
        let t0 = Instant::now();
        let item = |p, dt| ReadyItem {
            graph: g,
            ptask: p,
            since: t0 + Duration::from_micros(dt),
            ends_frame: p.is_none(),
            fraction: 1.0,
        };
        // A frame batch is ready, then it is replaced by two ptask firings.
        let r1 = [item(None, 0)];
        assert_eq!(a.scheduler().ready_count(), 0);
        let r2 = [item(Some(1), 2), item(Some(0), 1)];
        std::thread::sleep(Duration::from_millis(1));
        let (i, p) = a.pick(&r2).unwrap().unwrap();
        assert_eq!((i, p.ptask), (1, Some(0)), "older first in fifo");
        assert_eq!(a.scheduler().ready_count(), 1);
        // The frame batch appears: ptask 1 is withdrawn, the batch added.
        let (i, p2) = a.pick(&r1).unwrap().unwrap();
        assert_eq!((i, p2.ptask), (0, None));
        assert_eq!(a.scheduler().ready_count(), 0);
        assert_eq!(a.scheduler().inflight(), 2);
        a.completed(p.job, t0, Some(3 * MS), None).unwrap();
        a.completed(p2.job, t0, None, None).unwrap();
        assert_eq!(a.scheduler().inflight(), 0);
        let rep = a.scheduler().report(a.now());
        assert_eq!(rep.graphs[0].firings, 2);
        assert_eq!(rep.graphs[0].frames, 1);
        assert!(rep.graphs[0].gpu_ns >= 3 * MS);
        a.close(g).unwrap();
        assert!(a.pick(&[]).unwrap().is_none());
    }

    #[test]
    fn pacer_keeps_the_schedule_and_counts_due_frames() {
        let mut p = Pacer::new(100.0, 1000).unwrap();
        assert_eq!(p.due(999), 0);
        assert_eq!(p.due(1000), 1);
        assert_eq!(p.next_due(), 1000);
        p.take();
        assert_eq!(p.next_due(), 1000 + 10 * MS);
        assert_eq!(p.due(1000 + 10 * MS - 1), 0);
        // 35 ms later three more are due (10, 20, 30 ms).
        assert_eq!(p.due(1000 + 35 * MS), 3);
        assert!(Pacer::new(0.0, 0).is_err());
        assert!(Pacer::new(f64::INFINITY, 0).is_err());
    }
}
