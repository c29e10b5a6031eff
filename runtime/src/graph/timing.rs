//! GPU time per submission: a ring of timestamp query pairs, each with a
//! (begin, end) command buffer recorded once, bracketing the submission's
//! own command buffers.

use super::GraphRt;
use crate::error::Result;
use crate::vk::{Cmd, Gpu, Small};
use ash::vk;

/// Timestamp ring slots per graph (a submission finding its slot still
/// busy runs untimed and is charged its host-observed time instead).
const TS_SLOTS: usize = 32;

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
}

impl Timing {
    /// The ring for a graph whose command buffers come from `cmd_pool`
    /// (freed with it); empty if the device has no timestamps.
    pub(super) fn new(gpu: &Gpu, cmd_pool: vk::CommandPool) -> Result<Timing> {
        let mut t = Timing::default();
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
    /// Submits `cbs` on scheduler queue `queue`, bracketed by timestamps
    /// when a slot is free; returns the slot.
    pub(super) fn submit_timed(
        &mut self,
        queue: usize,
        cbs: &[vk::CommandBuffer],
        waits: &[(vk::Semaphore, u64)],
        sig: &[(vk::Semaphore, u64)],
    ) -> Result<Option<usize>> {
        let ts = self.timing.take();
        let q = self.gpu.sched_queue(queue);
        let r = match ts.and_then(|i| self.timing.cbs.get(i)) {
            Some([b, e]) => {
                let mut all: Small<vk::CommandBuffer> = Small::new();
                all.push(*b);
                all.extend_from_slice(cbs);
                all.push(*e);
                self.gpu.submit(q, &all, waits, sig)
            }
            None => self.gpu.submit(q, cbs, waits, sig),
        };
        if let Err(e) = r {
            if let Some(i) = ts {
                self.timing.release(i);
            }
            return Err(e);
        }
        Ok(ts)
    }

    /// The GPU time of a completed submission's timestamp slot (frees it).
    pub(crate) fn gpu_time(&mut self, slot: Option<usize>) -> Result<Option<u64>> {
        let Some(i) = slot else { return Ok(None) };
        let r = self.gpu.timestamp_delta(self.timing.pool, 2 * i as u32);
        self.timing.release(i);
        r
    }
}
