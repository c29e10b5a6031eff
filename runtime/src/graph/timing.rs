//! GPU time per submission: a ring of timestamp query pairs, each with a
//! (begin, end) command buffer recorded once, bracketing the submission's
//! own command buffers.
//!
//! # Which submissions are timed
//! The scheduler's shares rest on measured GPU time, so while the device
//! is shared (more than one graph open) every submission is timed. A graph
//! alone has nothing to share: it is not throttled, and only one job in
//! [`ALONE_SAMPLE`] of each kind (each ptask, and whole frames) is timed;
//! the others are charged the scheduler's estimate, the moving average of
//! the measured ones (`--stats` counts them as not timed). Timestamps are
//! cheap on GPUs but not everywhere: on lavapipe the end timestamp flushes
//! the queue, which for a 1-element dispatch tripled the time per frame.

use super::slots::Point;
use super::GraphRt;
use crate::error::Result;
use crate::vk::{Cmd, Gpu, Small};
use ash::vk;

/// Timestamp ring slots per graph (a submission finding its slot still
/// busy runs untimed and is charged its host-observed time instead).
const TS_SLOTS: usize = 32;

/// A graph alone on the device times one job in this many of each kind.
pub(crate) const ALONE_SAMPLE: u64 = 16;

/// The timestamp ring (empty where the queue has no timestamps).
#[derive(Default)]
pub(super) struct Timing {
    /// Timestamp pairs (begin, end); null where there are none.
    pool: vk::QueryPool,
    /// Per ring slot: (begin, end) command buffers, recorded once.
    cbs: Vec<[vk::CommandBuffer; 2]>,
    /// Slot in use by a submission whose timestamps were not read yet.
    busy: Vec<bool>,
    next: usize,
    /// Jobs submitted per kind: per ptask, then whole frames.
    jobs: Vec<u64>,
}

impl Timing {
    /// The ring for a graph of `ptasks` ptasks whose command buffers come
    /// from `cmd_pool` (freed with it); empty if the device has no
    /// timestamps.
    pub(super) fn new(gpu: &Gpu, cmd_pool: vk::CommandPool, ptasks: usize) -> Result<Timing> {
        let mut t = Timing {
            jobs: vec![0; ptasks + 1],
            ..Timing::default()
        };
        if !gpu.has_timestamps() {
            return Ok(t);
        }
        t.pool = gpu.create_timestamp_pool(2 * TS_SLOTS as u32)?;
        let cbs = match gpu.allocate_command_buffers(cmd_pool, 2 * TS_SLOTS as u32) {
            Ok(c) => c,
            Err(e) => {
                t.destroy(gpu);
                return Err(e);
            }
        };
        for (i, pair) in cbs.chunks_exact(2).enumerate() {
            for (k, cb) in pair.iter().enumerate() {
                let r = gpu.record(
                    *cb,
                    &[Cmd::Timestamp {
                        pool: t.pool,
                        query: 2 * i as u32 + k as u32,
                        begin: k == 0,
                    }],
                );
                if let Err(e) = r {
                    t.destroy(gpu);
                    return Err(e);
                }
            }
            t.cbs.push([pair[0], pair[1]]);
        }
        t.busy = vec![false; TS_SLOTS];
        Ok(t)
    }

    /// Whether the next job of ptask `ptask` (`None`: a whole frame) is to
    /// be timed: always while the device is `shared`, else the first of
    /// every [`ALONE_SAMPLE`] (see the module docs). Counts the job.
    pub(super) fn want(&mut self, ptask: Option<usize>, shared: bool) -> bool {
        let kind = ptask.unwrap_or(self.jobs.len().saturating_sub(1));
        let Some(n) = self.jobs.get_mut(kind) else {
            return true;
        };
        *n += 1;
        shared || (*n - 1) % ALONE_SAMPLE == 0
    }

    /// Takes a free slot, if any.
    fn take(&mut self) -> Option<usize> {
        let i = self.next;
        if *self.busy.get(i)? {
            return None;
        }
        self.busy[i] = true;
        self.next = (i + 1) % self.busy.len();
        Some(i)
    }

    fn release(&mut self, i: usize) {
        if let Some(b) = self.busy.get_mut(i) {
            *b = false;
        }
    }

    /// Destroys the query pool (its command buffers go with the pool).
    pub(super) fn destroy(&mut self, gpu: &Gpu) {
        if self.pool != vk::QueryPool::null() {
            gpu.destroy_query_pool(self.pool);
            self.pool = vk::QueryPool::null();
        }
    }
}

impl GraphRt {
    /// Whether the next job of ptask `ptask` (`None`: a whole frame) is to
    /// be timed (see the module docs); `shared`: another graph is open.
    pub(crate) fn timing_wanted(&mut self, ptask: Option<usize>, shared: bool) -> bool {
        self.timing.want(ptask, shared)
    }

    /// Submits `cbs` on scheduler queue `queue` after `waits`, bracketed by
    /// timestamps if `timed` and a slot is free; returns its point and the
    /// slot.
    pub(super) fn submit_timed(
        &mut self,
        queue: usize,
        cbs: &[vk::CommandBuffer],
        waits: &[Point],
        timed: bool,
    ) -> Result<(Point, Option<usize>)> {
        let ts = if timed { self.timing.take() } else { None };
        let q = self.gpu.sched_queue(queue);
        let r = match ts.and_then(|i| self.timing.cbs.get(i)) {
            Some([b, e]) => {
                let mut all: Small<vk::CommandBuffer> = Small::new();
                all.push(*b);
                all.extend_from_slice(cbs);
                all.push(*e);
                self.submit(q, &all, waits)
            }
            None => self.submit(q, cbs, waits),
        };
        match r {
            Ok(p) => Ok((p, ts)),
            Err(e) => {
                if let Some(i) = ts {
                    self.timing.release(i);
                }
                Err(e)
            }
        }
    }

    /// Submits `cbs` on queue `queue` (an index of the device's queues)
    /// after `waits`, remembering the point for [`GraphRt::wait_all`].
    pub(super) fn submit(
        &mut self,
        queue: usize,
        cbs: &[vk::CommandBuffer],
        waits: &[Point],
    ) -> Result<Point> {
        let p = self.gpu.submit(queue, cbs, waits)?;
        self.submitted.add(p);
        Ok(p)
    }

    /// The GPU time of a completed submission's timestamp slot (frees it).
    pub(crate) fn gpu_time(&mut self, slot: Option<usize>) -> Result<Option<u64>> {
        let Some(i) = slot else { return Ok(None) };
        let r = self.gpu.timestamp_delta(self.timing.pool, 2 * i as u32);
        self.timing.release(i);
        r
    }
}
