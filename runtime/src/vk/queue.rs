//! Submission and synchronization: one timeline semaphore per queue,
//! timestamp queries (GPU time per submission).
//!
//! # Queue timelines
//! Every submission to queue `q` signals `q`'s timeline semaphore with its
//! submission number ([`QueuePoint`]); the number is taken under the
//! queue's lock, so values are signalled in submission order (a signal
//! operation happens after every earlier one on its queue). Whatever the
//! runtime waits for — a firing, an upload, a read-back copy — is a point
//! of that kind, so:
//!
//! - the waits of a submission, or of the host, are at most one value per
//!   queue (the highest: reaching it implies the earlier ones);
//! - whether anything on a queue completed is one counter query, and the
//!   last known value is cached ([`Gpu::done`]), so a point known to be
//!   complete costs nothing to check and is left out of waits;
//! - the host waits for "any completion" on one value per queue, blocking
//!   in the driver. (Mesa's drivers emulate a wait for any of several
//!   semaphores with a busy loop; with one queue, as on lavapipe, the
//!   runtime never asks for one.)

use super::conv::vk_err;
use super::device::Gpu;
use super::Small;
use crate::error::RuntimeError;
use ash::vk;
use std::sync::atomic::Ordering;

/// How long a host wait for work already submitted may take before it is
/// reported as a hung device.
const WAIT_LIMIT_NS: u64 = 120_000_000_000;

/// A point on a queue's timeline: the queue's `value`-th submission, done
/// once the queue's timeline semaphore reaches `value`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct QueuePoint {
    /// Index of the queue (as [`Gpu::sched_queue`] and [`Gpu::queue_for`] give).
    pub(crate) queue: usize,
    /// Its submission number on that queue (1 for the first).
    pub(crate) value: u64,
}

impl Gpu {
    /// Submits `cbs` as one batch on queue `queue` after the GPU reached
    /// every point of `waits` (points already known to be complete are left
    /// out); returns the point the batch signals on completion.
    pub(crate) fn submit(
        &self,
        queue: usize,
        cbs: &[vk::CommandBuffer],
        waits: &[QueuePoint],
    ) -> Result<QueuePoint, RuntimeError> {
        // Per-frame path: a few waits, kept on the stack.
        let mut wsem: Small<vk::Semaphore> = Small::new();
        let mut wval: Small<u64> = Small::new();
        for w in waits {
            if w.value > self.done(w.queue) {
                wsem.push(self.timeline(w.queue)?);
                wval.push(w.value);
            }
        }
        let stages: Small<vk::PipelineStageFlags> = wsem
            .iter()
            .map(|_| vk::PipelineStageFlags::ALL_COMMANDS)
            .collect();
        let q = self.queue(queue)?;
        let ssem = [q.timeline];
        let mut state = q.state.lock().map_err(|_| RuntimeError::Poisoned)?;
        let value = state.submitted + 1;
        let sval = [value];
        let mut tl = vk::TimelineSemaphoreSubmitInfo::default()
            .wait_semaphore_values(&wval)
            .signal_semaphore_values(&sval);
        let info = [vk::SubmitInfo::default()
            .wait_semaphores(&wsem)
            .wait_dst_stage_mask(&stages)
            .command_buffers(cbs)
            .signal_semaphores(&ssem)
            .push_next(&mut tl)];
        // SAFETY: the queue is externally synchronised by its mutex (held
        // until the submission counter is updated, so the signalled values
        // increase in submission order); command buffers are fully recorded
        // with SIMULTANEOUS_USE (they may still be pending); waits name live
        // timelines of this device; the caller orders conflicting work with
        // them.
        unsafe {
            self.device
                .queue_submit(state.queue, &info, vk::Fence::null())
        }
        .map_err(vk_err("submitting work"))?;
        state.submitted = value;
        self.counters.submits.fetch_add(1, Ordering::Relaxed);
        Ok(QueuePoint { queue, value })
    }

    fn queue(&self, queue: usize) -> Result<&super::device::QueueRef, RuntimeError> {
        self.queues.get(queue).ok_or(RuntimeError::Vulkan {
            what: "choosing a queue",
            result: vk::Result::ERROR_UNKNOWN,
        })
    }

    fn timeline(&self, queue: usize) -> Result<vk::Semaphore, RuntimeError> {
        Ok(self.queue(queue)?.timeline)
    }

    /// The highest value queue `queue`'s timeline is known to have reached
    /// (no Vulkan call: the cache [`Gpu::refresh`] and waits update).
    pub(crate) fn done(&self, queue: usize) -> u64 {
        self.queues
            .get(queue)
            .map_or(0, |q| q.done.load(Ordering::Acquire))
    }

    /// Records that queue `queue`'s timeline reached `value`.
    fn reached(&self, queue: usize, value: u64) {
        if let Some(q) = self.queues.get(queue) {
            q.done.fetch_max(value, Ordering::AcqRel);
        }
    }

    /// Reads queue `queue`'s timeline (one counter query) and returns it.
    pub(crate) fn refresh(&self, queue: usize) -> Result<u64, RuntimeError> {
        let s = self.timeline(queue)?;
        // SAFETY: `s` is a live timeline semaphore of this device.
        let v = unsafe { self.device.get_semaphore_counter_value(s) }
            .map_err(vk_err("reading a semaphore"))?;
        self.reached(queue, v);
        Ok(self.done(queue))
    }

    /// True if point `p` is complete (a counter query only if the cached
    /// value is not enough).
    pub(crate) fn is_done(&self, p: QueuePoint) -> Result<bool, RuntimeError> {
        Ok(p.value <= self.done(p.queue) || p.value <= self.refresh(p.queue)?)
    }

    /// Blocks until every point of `points` is complete (at most one value
    /// per queue is waited for, in one call).
    pub(crate) fn wait(&self, points: &[QueuePoint]) -> Result<(), RuntimeError> {
        let mut sems: Small<vk::Semaphore> = Small::new();
        let mut vals: Small<u64> = Small::new();
        let mut queues: Small<usize> = Small::new();
        for p in points {
            if p.value <= self.done(p.queue) {
                continue;
            }
            let s = self.timeline(p.queue)?;
            match sems.iter().position(|t| *t == s) {
                Some(i) => vals[i] = vals[i].max(p.value),
                None => {
                    sems.push(s);
                    vals.push(p.value);
                    queues.push(p.queue);
                }
            }
        }
        if sems.is_empty() {
            return Ok(());
        }
        let info = vk::SemaphoreWaitInfo::default()
            .semaphores(&sems)
            .values(&vals);
        // SAFETY: live timeline semaphores; arrays outlive the call.
        match unsafe { self.device.wait_semaphores(&info, WAIT_LIMIT_NS) } {
            Ok(()) => {
                for (q, v) in queues.iter().zip(&vals) {
                    self.reached(*q, *v);
                }
                Ok(())
            }
            Err(vk::Result::TIMEOUT) => Err(RuntimeError::Timeout(
                "the GPU did not finish within 120 s".into(),
            )),
            Err(e) => Err(vk_err("waiting for the GPU")(e)),
        }
    }

    /// Waits until any point of `points` (one per queue) is complete or
    /// `timeout_ns` passes; returns whether one was. With one point this
    /// blocks in the driver; with several it is a wait for any of several
    /// semaphores, which Mesa's drivers emulate by polling.
    pub(crate) fn wait_any(
        &self,
        points: &[QueuePoint],
        timeout_ns: u64,
    ) -> Result<bool, RuntimeError> {
        if points.iter().any(|p| p.value <= self.done(p.queue)) {
            return Ok(true);
        }
        if points.is_empty() {
            return Ok(false);
        }
        let mut sems: Small<vk::Semaphore> = Small::new();
        let mut vals: Small<u64> = Small::new();
        for p in points {
            sems.push(self.timeline(p.queue)?);
            vals.push(p.value);
        }
        let flags = if points.len() > 1 {
            vk::SemaphoreWaitFlags::ANY
        } else {
            vk::SemaphoreWaitFlags::empty()
        };
        let info = vk::SemaphoreWaitInfo::default()
            .flags(flags)
            .semaphores(&sems)
            .values(&vals);
        // SAFETY: live timeline semaphores; arrays outlive the call.
        match unsafe { self.device.wait_semaphores(&info, timeout_ns) } {
            Ok(()) => {
                if let [p] = points {
                    self.reached(p.queue, p.value);
                }
                Ok(true)
            }
            Err(vk::Result::TIMEOUT) => Ok(false),
            Err(e) => Err(vk_err("waiting for the GPU")(e)),
        }
    }

    /// Creates a timeline semaphore starting at 0 (one per queue).
    pub(super) fn create_timeline(&self) -> Result<vk::Semaphore, RuntimeError> {
        let mut t = vk::SemaphoreTypeCreateInfo::default()
            .semaphore_type(vk::SemaphoreType::TIMELINE)
            .initial_value(0);
        let info = vk::SemaphoreCreateInfo::default().push_next(&mut t);
        // SAFETY: valid create info; the device enabled timelineSemaphore.
        let s = unsafe { self.device.create_semaphore(&info, None) }
            .map_err(vk_err("creating a semaphore"))?;
        self.count_alloc(1);
        Ok(s)
    }

    /// True if the graph queues support timestamp queries.
    pub(crate) fn has_timestamps(&self) -> bool {
        let fam = self.queues[0].family;
        self.info.timestamp_period > 0.0
            && self
                .info
                .queue_families
                .iter()
                .any(|f| f.index == fam && f.timestamp_valid_bits > 0)
    }

    /// A query pool of `n` timestamp queries.
    pub(crate) fn create_timestamp_pool(&self, n: u32) -> Result<vk::QueryPool, RuntimeError> {
        let info = vk::QueryPoolCreateInfo::default()
            .query_type(vk::QueryType::TIMESTAMP)
            .query_count(n);
        // SAFETY: a live device; the create-info is a local.
        let p = unsafe { self.device.create_query_pool(&info, None) }
            .map_err(vk_err("creating a timestamp query pool"))?;
        self.count_alloc(1);
        Ok(p)
    }

    /// Destroys a query pool (its users must be complete).
    pub(crate) fn destroy_query_pool(&self, p: vk::QueryPool) {
        // SAFETY: the caller waited for every submission using `p`.
        unsafe { self.device.destroy_query_pool(p, None) };
    }

    /// GPU nanoseconds between timestamp queries `first` and `first + 1`,
    /// or `None` if they are not both available yet.
    pub(crate) fn timestamp_delta(
        &self,
        pool: vk::QueryPool,
        first: u32,
    ) -> Result<Option<u64>, RuntimeError> {
        let mut data = [[0u64; 2]; 2];
        // SAFETY: `pool` is a live timestamp pool with at least first + 2
        // queries; `data` holds 2 (value, availability) pairs of u64.
        let r = unsafe {
            self.device.get_query_pool_results(
                pool,
                first,
                &mut data,
                vk::QueryResultFlags::TYPE_64 | vk::QueryResultFlags::WITH_AVAILABILITY,
            )
        };
        match r {
            Ok(()) | Err(vk::Result::NOT_READY) => {}
            Err(e) => return Err(vk_err("reading timestamps")(e)),
        }
        if data[0][1] == 0 || data[1][1] == 0 {
            return Ok(None);
        }
        let fam = self.queues[0].family;
        let bits = self
            .info
            .queue_families
            .iter()
            .find(|f| f.index == fam)
            .map_or(64, |f| f.timestamp_valid_bits);
        let mask = if bits >= 64 {
            u64::MAX
        } else {
            (1u64 << bits) - 1
        };
        let ticks = data[1][0].wrapping_sub(data[0][0]) & mask;
        Ok(Some(
            (ticks as f64 * f64::from(self.info.timestamp_period)) as u64,
        ))
    }
}
