//! Command pools and command buffers, recorded once from a list of
//! [`Cmd`]s (the runtime never records on the frame path).

use super::conv::vk_err;
use super::device::Gpu;
use crate::error::RuntimeError;
use ash::vk;
use std::sync::atomic::Ordering;

/// A command to record.
pub(crate) enum Cmd {
    Dispatch {
        pipeline: vk::Pipeline,
        layout: vk::PipelineLayout,
        set: vk::DescriptorSet,
        push: Vec<u8>,
        /// First workgroup (non-zero only for a slice of a dispatch; the
        /// pipeline was then created with `DISPATCH_BASE`).
        base: [u32; 3],
        groups: [u32; 3],
    },
    Barrier {
        src_stage: vk::PipelineStageFlags,
        src_access: vk::AccessFlags,
        dst_stage: vk::PipelineStageFlags,
        dst_access: vk::AccessFlags,
        buffers: Vec<vk::Buffer>,
    },
    Copy {
        src: vk::Buffer,
        dst: vk::Buffer,
        size: u64,
    },
    Fill {
        dst: vk::Buffer,
        word: u32,
    },
    /// Writes a timestamp; `begin` also resets queries `query..query + 2`.
    Timestamp {
        pool: vk::QueryPool,
        query: u32,
        begin: bool,
    },
}

impl Gpu {
    /// Creates a command pool on `family`.
    pub(crate) fn create_command_pool(&self, family: u32) -> Result<vk::CommandPool, RuntimeError> {
        let info = vk::CommandPoolCreateInfo::default().queue_family_index(family);
        // SAFETY: valid create info.
        let p = unsafe { self.device.create_command_pool(&info, None) }
            .map_err(vk_err("creating a command pool"))?;
        self.count_alloc(1);
        Ok(p)
    }

    /// Allocates `n` primary command buffers.
    pub(crate) fn allocate_command_buffers(
        &self,
        pool: vk::CommandPool,
        n: u32,
    ) -> Result<Vec<vk::CommandBuffer>, RuntimeError> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let info = vk::CommandBufferAllocateInfo::default()
            .command_pool(pool)
            .level(vk::CommandBufferLevel::PRIMARY)
            .command_buffer_count(n);
        // SAFETY: live pool.
        let v = unsafe { self.device.allocate_command_buffers(&info) }
            .map_err(vk_err("allocating command buffers"))?;
        self.count_alloc(u64::from(n));
        Ok(v)
    }

    pub(crate) fn destroy_command_pool(&self, p: vk::CommandPool) {
        // SAFETY: destroying the pool frees its command buffers; none is pending.
        unsafe { self.device.destroy_command_pool(p, None) };
    }

    /// Records `cb` once (reusable, not one-time) with the given commands.
    pub(crate) fn record(&self, cb: vk::CommandBuffer, cmds: &[Cmd]) -> Result<(), RuntimeError> {
        // Reused every P firings; a later submission may be queued (waiting on
        // a timeline) while the previous one is still pending.
        let begin = vk::CommandBufferBeginInfo::default()
            .flags(vk::CommandBufferUsageFlags::SIMULTANEOUS_USE);
        // SAFETY: `cb` is a freshly allocated primary command buffer, not pending.
        unsafe { self.device.begin_command_buffer(cb, &begin) }
            .map_err(vk_err("recording a command buffer"))?;
        self.counters.recordings.fetch_add(1, Ordering::Relaxed);
        for c in cmds {
            // SAFETY: every handle in `c` is live and created on this device;
            // recording happens on one thread.
            unsafe { self.cmd(cb, c) };
        }
        // SAFETY: `cb` is in the recording state.
        unsafe { self.device.end_command_buffer(cb) }.map_err(vk_err("recording a command buffer"))
    }

    /// # Safety
    /// `cb` is recording; all handles in `c` are live objects of this device.
    unsafe fn cmd(&self, cb: vk::CommandBuffer, c: &Cmd) {
        let d = &self.device;
        // SAFETY: this function's contract: `cb` is recording and every
        // handle in `c` is a live object of this device.
        unsafe {
            match c {
                Cmd::Dispatch {
                    pipeline,
                    layout,
                    set,
                    push,
                    base,
                    groups,
                } => {
                    d.cmd_bind_pipeline(cb, vk::PipelineBindPoint::COMPUTE, *pipeline);
                    d.cmd_bind_descriptor_sets(
                        cb,
                        vk::PipelineBindPoint::COMPUTE,
                        *layout,
                        0,
                        &[*set],
                        &[],
                    );
                    if !push.is_empty() {
                        d.cmd_push_constants(cb, *layout, vk::ShaderStageFlags::COMPUTE, 0, push);
                    }
                    if *base == [0; 3] {
                        d.cmd_dispatch(cb, groups[0], groups[1], groups[2]);
                    } else {
                        d.cmd_dispatch_base(
                            cb, base[0], base[1], base[2], groups[0], groups[1], groups[2],
                        );
                    }
                }
                Cmd::Barrier {
                    src_stage,
                    src_access,
                    dst_stage,
                    dst_access,
                    buffers,
                } => {
                    let bs: Vec<vk::BufferMemoryBarrier> = buffers
                        .iter()
                        .map(|b| {
                            vk::BufferMemoryBarrier::default()
                                .src_access_mask(*src_access)
                                .dst_access_mask(*dst_access)
                                .src_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
                                .dst_queue_family_index(vk::QUEUE_FAMILY_IGNORED)
                                .buffer(*b)
                                .offset(0)
                                .size(vk::WHOLE_SIZE)
                        })
                        .collect();
                    d.cmd_pipeline_barrier(
                        cb,
                        *src_stage,
                        *dst_stage,
                        vk::DependencyFlags::empty(),
                        &[],
                        &bs,
                        &[],
                    );
                }
                Cmd::Copy { src, dst, size } => {
                    let r = [vk::BufferCopy::default().size(*size)];
                    d.cmd_copy_buffer(cb, *src, *dst, &r);
                }
                Cmd::Fill { dst, word } => {
                    d.cmd_fill_buffer(cb, *dst, 0, vk::WHOLE_SIZE, *word);
                }
                Cmd::Timestamp { pool, query, begin } => {
                    if *begin {
                        // Resets the pair (begin, end) this submission will write.
                        d.cmd_reset_query_pool(cb, *pool, *query, 2);
                        d.cmd_write_timestamp(
                            cb,
                            vk::PipelineStageFlags::TOP_OF_PIPE,
                            *pool,
                            *query,
                        );
                    } else {
                        d.cmd_write_timestamp(
                            cb,
                            vk::PipelineStageFlags::BOTTOM_OF_PIPE,
                            *pool,
                            *query,
                        );
                    }
                }
            }
        }
    }
}
