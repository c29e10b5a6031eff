//! Submission and synchronization: queue submits that wait on and signal
//! timeline semaphores, host waits, and timestamp queries (GPU time per
//! submission).

use super::conv::vk_err;
use super::device::{Gpu, QueueRef};
use super::Small;
use crate::error::RuntimeError;
use ash::vk;
use std::sync::atomic::Ordering;

impl Gpu {
    /// Submits command buffers on `q`, waiting on and signalling timeline values.
    pub(crate) fn submit(
        &self,
        q: &QueueRef,
        cbs: &[vk::CommandBuffer],
        waits: &[(vk::Semaphore, u64)],
        signals: &[(vk::Semaphore, u64)],
    ) -> Result<(), RuntimeError> {
        // Per-frame path: a few waits and signals, kept on the stack.
        let wsem: Small<vk::Semaphore> = waits.iter().map(|w| w.0).collect();
        let wval: Small<u64> = waits.iter().map(|w| w.1).collect();
        let stages: Small<vk::PipelineStageFlags> = waits
            .iter()
            .map(|_| vk::PipelineStageFlags::ALL_COMMANDS)
            .collect();
        let ssem: Small<vk::Semaphore> = signals.iter().map(|w| w.0).collect();
        let sval: Small<u64> = signals.iter().map(|w| w.1).collect();
        let mut tl = vk::TimelineSemaphoreSubmitInfo::default()
            .wait_semaphore_values(&wval)
            .signal_semaphore_values(&sval);
        let info = [vk::SubmitInfo::default()
            .wait_semaphores(&wsem)
            .wait_dst_stage_mask(&stages)
            .command_buffers(cbs)
            .signal_semaphores(&ssem)
            .push_next(&mut tl)];
        let queue = q.queue.lock().map_err(|_| RuntimeError::Poisoned)?;
        // SAFETY: the queue is externally synchronised by its mutex; command
        // buffers are fully recorded with SIMULTANEOUS_USE (they may still be
        // pending), and the caller orders conflicting work with timeline waits.
        unsafe { self.device.queue_submit(*queue, &info, vk::Fence::null()) }
            .map_err(vk_err("submitting work"))?;
        self.counters.submits.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Creates a timeline semaphore starting at 0.
    pub(crate) fn create_timeline(&self) -> Result<vk::Semaphore, RuntimeError> {
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

    pub(crate) fn destroy_semaphore(&self, s: vk::Semaphore) {
        // SAFETY: callers destroy semaphores only after every submission using them completed.
        unsafe { self.device.destroy_semaphore(s, None) };
    }

    /// Current value of a timeline semaphore.
    pub(crate) fn timeline_value(&self, s: vk::Semaphore) -> Result<u64, RuntimeError> {
        // SAFETY: `s` is a live timeline semaphore of this device.
        unsafe { self.device.get_semaphore_counter_value(s) }.map_err(vk_err("reading a semaphore"))
    }

    /// Blocks until every `(semaphore, value)` is reached.
    pub(crate) fn wait_timelines(
        &self,
        waits: &[(vk::Semaphore, u64)],
    ) -> Result<(), RuntimeError> {
        if waits.is_empty() {
            return Ok(());
        }
        let sems: Small<vk::Semaphore> = waits.iter().map(|w| w.0).collect();
        let vals: Small<u64> = waits.iter().map(|w| w.1).collect();
        let info = vk::SemaphoreWaitInfo::default()
            .semaphores(&sems)
            .values(&vals);
        // SAFETY: live timeline semaphores; arrays outlive the call.
        match unsafe { self.device.wait_semaphores(&info, 120_000_000_000) } {
            Ok(()) => Ok(()),
            Err(vk::Result::TIMEOUT) => Err(RuntimeError::Timeout(
                "the GPU did not finish within 120 s".into(),
            )),
            Err(e) => Err(vk_err("waiting for the GPU")(e)),
        }
    }

    /// Waits until any of the timeline points is reached or `timeout_ns`
    /// passes; returns whether one was reached.
    pub(crate) fn wait_any(
        &self,
        points: &[(vk::Semaphore, u64)],
        timeout_ns: u64,
    ) -> Result<bool, RuntimeError> {
        if points.is_empty() {
            return Ok(false);
        }
        let sems: Small<vk::Semaphore> = points.iter().map(|w| w.0).collect();
        let vals: Small<u64> = points.iter().map(|w| w.1).collect();
        let info = vk::SemaphoreWaitInfo::default()
            .flags(vk::SemaphoreWaitFlags::ANY)
            .semaphores(&sems)
            .values(&vals);
        // SAFETY: live timeline semaphores; arrays outlive the call.
        match unsafe { self.device.wait_semaphores(&info, timeout_ns) } {
            Ok(()) => Ok(true),
            Err(vk::Result::TIMEOUT) => Ok(false),
            Err(e) => Err(vk_err("waiting for the GPU")(e)),
        }
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
