//! The executor loop: offering ready work to the scheduler and submitting
//! what it picks, observing completions and charging their GPU time,
//! waiting.

use super::{GraphId, InFlight, Runtime};
use crate::error::Result;
use crate::sched::arbiter::ReadyItem;
use crate::sched::GraphKey;
use std::time::Instant;

impl Runtime {
    /// Runs [`Runtime::step`] and waits for completions until `cond` holds
    /// or no progress is possible (nothing ready that may be submitted and
    /// nothing in flight).
    pub(super) fn progress_until(&mut self, cond: impl Fn(&Runtime) -> Result<bool>) -> Result<()> {
        loop {
            if cond(self)? {
                return Ok(());
            }
            let n = self.step()?;
            if cond(self)? || (n == 0 && self.inflight.is_empty()) {
                return Ok(());
            }
            if n == 0 {
                // The scheduler holds ready work back until something completes.
                self.wait_any(u64::MAX)?;
            }
        }
    }

    /// Observes completed submissions, in submission order: charges their
    /// GPU time (timestamp queries; the scheduler's estimate for jobs left
    /// untimed on purpose; the host-observed time where neither exists) to
    /// the scheduler. One counter query per queue with work in flight.
    fn reap(&mut self) -> Result<usize> {
        if self.inflight.is_empty() {
            return Ok(0);
        }
        let mut seen: crate::vk::Small<usize> = crate::vk::Small::new();
        for f in &self.inflight {
            let q = f.fired.point.queue;
            if !seen.contains(&q) {
                seen.push(q);
                self.gpu.refresh(q)?;
            }
        }
        self.reap_known()
    }

    /// [`Runtime::reap`] without querying the device: the submissions the
    /// runtime already knows are complete (e.g. because the host waited for
    /// them to read an output), so that the scheduler's statistics never
    /// lag behind what the host has seen.
    pub(super) fn reap_known(&mut self) -> Result<usize> {
        let mut done = 0;
        let mut i = 0;
        while i < self.inflight.len() {
            let p = self.inflight[i].fired.point;
            if p.value > self.gpu.done(p.queue) {
                i += 1;
                continue;
            }
            let f = self.inflight.remove(i);
            self.charge(&f)?;
            done += 1;
        }
        Ok(done)
    }

    /// Reports completed submission `f` to the scheduler.
    fn charge(&mut self, f: &InFlight) -> Result<()> {
        let gpu_ns = match self.graphs.get_mut(f.graph.0).and_then(|g| g.as_mut()) {
            Some(g) => g.gpu_time(f.fired.ts)?,
            None => None,
        };
        if gpu_ns.is_none() && !f.fired.sampled {
            self.arb.completed_estimated(f.job, f.fired.at)?;
        } else {
            self.arb.completed(f.job, f.fired.at, gpu_ns, None)?;
        }
        Ok(())
    }

    /// Blocks until some submitted work completes or `timeout_ns` passes;
    /// returns the number of completions observed (0: nothing in flight or
    /// timed out).
    ///
    /// It waits, blocking in the driver, on one value per queue: the
    /// oldest submission in flight there (work on one queue completes in
    /// submission order, see `crate::vk`), so with one queue (lavapipe) a
    /// single timeline value: a wait for any of several values is a busy
    /// loop in Mesa's drivers.
    pub fn wait_any(&mut self, timeout_ns: u64) -> Result<usize> {
        let n = self.reap()?;
        if n > 0 || self.inflight.is_empty() {
            return Ok(n);
        }
        let mut oldest: crate::vk::Small<crate::vk::QueuePoint> = crate::vk::Small::new();
        for f in &self.inflight {
            let p = f.fired.point;
            match oldest.iter_mut().find(|o| o.queue == p.queue) {
                Some(o) => o.value = o.value.min(p.value),
                None => oldest.push(p),
            }
        }
        self.gpu.wait_any(&oldest, timeout_ns)?;
        self.reap()
    }

    /// Tests only: a fixed number of slices per job (see `slice_step_override`).
    #[cfg(test)]
    fn forced_slice_step(&self) -> Option<u32> {
        self.slice_step_override
    }

    #[cfg(not(test))]
    fn forced_slice_step(&self) -> Option<u32> {
        None
    }

    /// Submits the ready work of every open graph that the scheduler lets
    /// through now (see [`crate::sched`]; it may hold work back until
    /// earlier submissions complete); returns the number of submissions.
    /// Does not wait for the GPU.
    pub fn step(&mut self) -> Result<usize> {
        let mut n = 0;
        let mut ready = std::mem::take(&mut self.ready);
        // Per ready item: slices per job (ptask items of sliceable dispatches).
        let mut steps = std::mem::take(&mut self.steps);
        let r = self.submit_ready(&mut ready, &mut steps, &mut n);
        self.ready = ready;
        self.steps = steps;
        r?;
        for g in self.graphs.iter_mut().flatten() {
            g.poll();
        }
        Ok(n)
    }

    /// `step`'s loop: offers the ready set to the scheduler and submits
    /// what it picks until it picks nothing; counts submissions in `n`.
    fn submit_ready(
        &mut self,
        ready: &mut Vec<ReadyItem>,
        steps: &mut Vec<u32>,
        n: &mut usize,
    ) -> Result<()> {
        // A graph alone times only a sample of its jobs (see graph::timing).
        let shared = self.graphs.iter().flatten().nth(1).is_some();
        self.reap()?;
        // Slots of lent frames that came back can take new versions.
        self.reclaim_lent();
        loop {
            ready.clear();
            steps.clear();
            let now = Instant::now();
            let clock = self.arb.at(now);
            let sched = self.arb.scheduler();
            let forced = self.forced_slice_step();
            for (gi, slot) in self.graphs.iter_mut().enumerate() {
                let Some(g) = slot else { continue };
                if self.held.get(gi).copied().unwrap_or(false) {
                    continue;
                }
                let key = GraphKey(gi as u64);
                // A background graph whose frames take longer than the
                // scheduler's max batch runs ptask by ptask, so that its
                // sliceable dispatches can be split (see `slices_per_job`).
                let split = (0..g.ptasks.len()).any(|t| g.slices(t) > 1)
                    && (forced.is_some() || sched.should_split(key, None, clock));
                if !split && g.frame_ready() {
                    let mut since = now;
                    for p in &mut g.ptasks {
                        let s = *p.ready_since.get_or_insert(now);
                        since = since.min(s);
                    }
                    ready.push(ReadyItem {
                        graph: key,
                        ptask: None,
                        since,
                        ends_frame: true,
                        fraction: 1.0,
                    });
                    steps.push(1);
                    continue;
                }
                for t in 0..g.ptasks.len() {
                    if g.ptask_ready(t) {
                        let step = forced.unwrap_or_else(|| {
                            sched.slices_per_job(key, Some(t), g.slices(t), clock)
                        });
                        let (first, count, total) = g.next_slices(t, step);
                        let ends_frame = g.ptask_ends_frame(t) && first + count >= total;
                        let p = &mut g.ptasks[t];
                        let since = *p.ready_since.get_or_insert(now);
                        ready.push(ReadyItem {
                            graph: key,
                            ptask: Some(t),
                            since,
                            ends_frame,
                            fraction: f64::from(count) / f64::from(total),
                        });
                        steps.push(step);
                    }
                }
            }
            if ready.is_empty() {
                return Ok(());
            }
            let Some((i, pick)) = self.arb.pick(ready)? else {
                return Ok(());
            };
            let step = steps.get(i).copied().unwrap_or(u32::MAX);
            let gid = GraphId(pick.graph.0 as usize);
            let g = self.graph_mut(gid)?;
            let timed = g.timing_wanted(pick.ptask, shared);
            let fired = match pick.ptask {
                Some(t) => g.fire_ptask_slices(t, pick.queue, step, timed),
                None => g.fire_frame(pick.queue, timed),
            };
            match fired {
                Ok(fired) => self.inflight.push(InFlight {
                    graph: gid,
                    job: pick.job,
                    fired,
                }),
                Err(e) => {
                    self.arb.submit_failed(pick.job)?;
                    return Err(e);
                }
            }
            *n += 1;
        }
    }

    /// Submits all ready work (as the scheduler allows) and waits until the
    /// GPU finished everything submitted (of all graphs).
    pub fn run_until_idle(&mut self) -> Result<usize> {
        let mut n = 0;
        loop {
            n += self.step()?;
            if self.inflight.is_empty() {
                break;
            }
            self.wait_any(u64::MAX)?;
        }
        for g in self.graphs.iter_mut().flatten() {
            g.wait_all()?;
        }
        self.reap()?;
        for g in self.graphs.iter_mut().flatten() {
            g.poll();
        }
        Ok(n)
    }

    /// True if any graph has submitted work not yet observed complete.
    pub fn busy(&self) -> bool {
        !self.inflight.is_empty() || self.graphs.iter().flatten().any(|g| g.busy())
    }
}
