//! Read-back of any buffer of a graph to the host (`Runtime::read_buffer`:
//! debugging and `--preview`, never on the frame path).

use super::GraphRt;
use crate::error::{Result, RuntimeError};
use crate::vk::{BufferMem, Cmd, Gpu};
use ash::vk;
use gpu_allocator::MemoryLocation;
use std::collections::HashMap;

/// One host-visible staging buffer as large as the graph's largest buffer
/// and a copy command buffer per (buffer, slot) recorded on first use.
pub(super) struct Readback {
    staging: BufferMem,
    staging_bytes: u64,
    cbs: HashMap<(usize, usize), vk::CommandBuffer>,
}

impl Readback {
    /// Device memory it holds.
    pub(super) fn bytes(&self) -> u64 {
        self.staging_bytes
    }

    /// Releases it (its command buffers go with the graph's pool).
    pub(super) fn destroy(mut self, gpu: &Gpu) {
        gpu.destroy_buffer(&mut self.staging);
    }
}

impl GraphRt {
    /// Copies the latest completed version of buffer `b` (any role) to the
    /// host. Waits for every submitted firing first, then copies the slot
    /// through a staging buffer on the GPU (waiting on the producer's
    /// point, with transfer and host barriers) and waits for the copy;
    /// later writers of the slot wait on the copy's point.
    /// `None` if no version exists yet.
    pub(crate) fn read_buffer(&mut self, b: usize) -> Result<Option<Vec<u8>>> {
        self.wait_all()?;
        let buf = &self.slots.bufs[b];
        if buf.produced == 0 {
            return Ok(None);
        }
        let v = buf.produced - 1;
        let s = self.slots.slot_of(b, v);
        let (src, size) = (self.bufs[b].dev[s].buffer, self.bufs[b].size);
        let gpu = self.gpu.clone();
        if self.readback.is_none() {
            let max = self.bufs.iter().map(|b| b.size).max().unwrap_or(0).max(4);
            let staging = gpu.create_buffer("readback staging", max, MemoryLocation::GpuToCpu)?;
            self.readback = Some(Readback {
                staging,
                staging_bytes: max,
                cbs: HashMap::new(),
            });
        }
        let cmd_pool = self.cmd_pool;
        let mut w = super::slots::Waits::default();
        self.slots.read_waits(b, v, &mut w);
        let q = gpu.queue_for(self.priority);
        let r = self
            .readback
            .as_mut()
            .ok_or_else(|| RuntimeError::InvalidPlan("read-back state missing".into()))?;
        let cb = match r.cbs.get(&(b, s)) {
            Some(cb) => *cb,
            None => {
                let cbs = gpu.allocate_command_buffers(cmd_pool, 1)?;
                let cb = *cbs
                    .first()
                    .ok_or_else(|| RuntimeError::OutOfMemory("no command buffer".into()))?;
                let dst = r.staging.buffer;
                gpu.record(
                    cb,
                    &[
                        Cmd::Barrier {
                            src_stage: vk::PipelineStageFlags::COMPUTE_SHADER
                                | vk::PipelineStageFlags::TRANSFER,
                            src_access: vk::AccessFlags::SHADER_WRITE
                                | vk::AccessFlags::TRANSFER_WRITE,
                            dst_stage: vk::PipelineStageFlags::TRANSFER,
                            dst_access: vk::AccessFlags::TRANSFER_READ,
                            buffers: vec![src],
                        },
                        Cmd::Copy { src, dst, size },
                        Cmd::Barrier {
                            src_stage: vk::PipelineStageFlags::TRANSFER,
                            src_access: vk::AccessFlags::TRANSFER_WRITE,
                            dst_stage: vk::PipelineStageFlags::HOST,
                            dst_access: vk::AccessFlags::HOST_READ,
                            buffers: vec![dst],
                        },
                    ],
                )?;
                r.cbs.insert((b, s), cb);
                cb
            }
        };
        let done = self.submit(q, &[cb], w.list())?;
        // Later writers of any slot wait for this copy.
        self.slots.readback = Some(done);
        gpu.wait(&[done])?;
        let r = self
            .readback
            .as_ref()
            .ok_or_else(|| RuntimeError::InvalidPlan("read-back state missing".into()))?;
        let bytes = r
            .staging
            .mapped()
            .ok_or_else(|| RuntimeError::OutOfMemory("read-back staging is not mapped".into()))?;
        Ok(Some(bytes[..size as usize].to_vec()))
    }
}
