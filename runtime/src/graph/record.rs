//! The graph's command buffers, recorded once when it is opened: a whole
//! firing per (ptask, phase) (and its slices, see `slices`), a whole frame
//! per phase with the plan's barriers between dispatches, the staged
//! uploads per input slot, and the one-off fill of seeded buffers.

use super::GraphRt;
use crate::error::{Result, RuntimeError};
use crate::vk::Cmd;
use ash::vk;
use ptc_plan::types::{ElemType, PortType};
use ptc_plan::{Access, BufferRole, Hazard, Plan};

impl GraphRt {
    /// A command buffer per (ptask, phase) for solo firings, and per
    /// (sliceable ptask, phase) its slices.
    pub(super) fn record_ptasks(
        &mut self,
        plan: &Plan,
        sets: &[Vec<vk::DescriptorSet>],
        pushes: &[Vec<u8>],
    ) -> Result<()> {
        let gpu = self.gpu.clone();
        let phases = self.slots.phases;
        for t in 0..plan.ptasks.len() {
            let cbs = gpu.allocate_command_buffers(self.cmd_pool, phases as u32)?;
            for (ph, cb) in cbs.iter().enumerate() {
                let cmds = self.ptask_cmds(plan, t, ph as u64, &sets[t], &pushes[t]);
                gpu.record(*cb, &cmds)?;
            }
            self.ptasks[t].cbs = cbs;
            if self.ptasks[t].sliceable {
                self.record_slices(plan, t, &sets[t], &pushes[t])?;
            }
        }
        Ok(())
    }

    /// A command buffer per phase running the whole schedule, each dispatch
    /// preceded by the barriers the plan lists for it.
    pub(super) fn record_frames(
        &mut self,
        plan: &Plan,
        sets: &[Vec<vk::DescriptorSet>],
        pushes: &[Vec<u8>],
    ) -> Result<()> {
        let gpu = self.gpu.clone();
        let fcbs = gpu.allocate_command_buffers(self.cmd_pool, self.slots.phases as u32)?;
        for (ph, cb) in fcbs.iter().enumerate() {
            let mut cmds = Vec::new();
            for d in &plan.schedule {
                for hz in [
                    Hazard::ReadAfterWrite,
                    Hazard::WriteAfterRead,
                    Hazard::WriteAfterWrite,
                ] {
                    let bufs: Vec<vk::Buffer> = d
                        .barriers
                        .iter()
                        .filter(|b| b.hazard == hz)
                        .flat_map(|b| self.bufs[b.buffer].dev.iter().map(|m| m.buffer))
                        .collect();
                    if bufs.is_empty() {
                        continue;
                    }
                    let (sa, da) = hazard_access(hz);
                    cmds.push(Cmd::Barrier {
                        src_stage: vk::PipelineStageFlags::COMPUTE_SHADER,
                        src_access: sa,
                        dst_stage: vk::PipelineStageFlags::COMPUTE_SHADER,
                        dst_access: da,
                        buffers: bufs,
                    });
                }
                cmds.extend(self.ptask_cmds(
                    plan,
                    d.ptask,
                    ph as u64,
                    &sets[d.ptask],
                    &pushes[d.ptask],
                ));
            }
            gpu.record(*cb, &cmds)?;
        }
        self.frame_cbs = fcbs;
        Ok(())
    }

    /// Staging path: per input slot, the copy of the staging buffer into
    /// the device buffer (then visible to compute).
    pub(super) fn record_uploads(&mut self) -> Result<()> {
        if !self.gpu.staging {
            return Ok(());
        }
        let gpu = self.gpu.clone();
        for (i, mem) in self.bufs.iter_mut().enumerate() {
            let b = &self.slots.bufs[i];
            if !b.host_writer {
                continue;
            }
            let cbs = gpu.allocate_command_buffers(self.cmd_pool, b.slots)?;
            for (s, cb) in cbs.iter().enumerate() {
                gpu.record(
                    *cb,
                    &[
                        Cmd::Copy {
                            src: mem.host[s].buffer,
                            dst: mem.dev[s].buffer,
                            size: mem.size,
                        },
                        Cmd::Barrier {
                            src_stage: vk::PipelineStageFlags::TRANSFER,
                            src_access: vk::AccessFlags::TRANSFER_WRITE,
                            dst_stage: vk::PipelineStageFlags::COMPUTE_SHADER,
                            dst_access: vk::AccessFlags::SHADER_READ,
                            buffers: vec![mem.dev[s].buffer],
                        },
                    ],
                )?;
            }
            mem.upload_cbs = cbs;
            self.slots.set_staged(i);
        }
        Ok(())
    }

    /// Writes the initial value of every seeded buffer into its slot 0 and
    /// waits for it (once, at open time).
    pub(super) fn fill_initial_values(&mut self, plan: &Plan) -> Result<()> {
        let mut fills = Vec::new();
        let mut filled = Vec::new();
        for (i, pb) in plan.buffers.iter().enumerate() {
            if matches!(pb.role, BufferRole::State | BufferRole::Constant) {
                let word = match pb.init {
                    Some(v) => fill_word(&pb.ty, v)?,
                    None => 0,
                };
                let dst = self.bufs[i].dev[0].buffer;
                fills.push(Cmd::Fill { dst, word });
                filled.push(dst);
            }
        }
        if fills.is_empty() {
            return Ok(());
        }
        fills.push(Cmd::Barrier {
            src_stage: vk::PipelineStageFlags::TRANSFER,
            src_access: vk::AccessFlags::TRANSFER_WRITE,
            dst_stage: vk::PipelineStageFlags::COMPUTE_SHADER
                | vk::PipelineStageFlags::TRANSFER
                | vk::PipelineStageFlags::HOST,
            dst_access: vk::AccessFlags::SHADER_READ
                | vk::AccessFlags::SHADER_WRITE
                | vk::AccessFlags::TRANSFER_READ
                | vk::AccessFlags::HOST_READ,
            buffers: filled,
        });
        let gpu = self.gpu.clone();
        let cb = gpu.allocate_command_buffers(self.cmd_pool, 1)?;
        gpu.record(cb[0], &fills)?;
        let q = gpu.queue_for(self.priority);
        let done = self.submit(q, &cb, &[])?;
        gpu.wait(&[done])
    }

    /// The commands of one firing of ptask `t` in phase `ph`: the dispatch,
    /// then making host-read outputs visible to the host (copying them to
    /// their readback buffers on the staging path).
    fn ptask_cmds(
        &self,
        plan: &Plan,
        t: usize,
        ph: u64,
        sets: &[vk::DescriptorSet],
        push: &[u8],
    ) -> Vec<Cmd> {
        let pt = &self.ptasks[t];
        let mut cmds = vec![Cmd::Dispatch {
            pipeline: pt.pipeline,
            layout: pt.layout,
            set: sets[ph as usize],
            push: push.to_vec(),
            base: [0; 3],
            groups: plan.ptasks[t].workgroups,
        }];
        cmds.extend(self.host_tail(plan, t, ph));
        cmds
    }

    /// After ptask `t`'s dispatch in phase `ph`: make its host-read outputs
    /// visible to the host (copying them to their readback buffers on the
    /// staging path).
    pub(super) fn host_tail(&self, plan: &Plan, t: usize, ph: u64) -> Vec<Cmd> {
        let p = &plan.ptasks[t];
        let mut cmds = Vec::new();
        for bd in &p.bindings {
            let (b, mem) = (&self.slots.bufs[bd.buffer], &self.bufs[bd.buffer]);
            if bd.access != Access::Out || !b.host_reader {
                continue;
            }
            let s = self.slots.slot_for(bd.buffer, Access::Out, ph);
            if mem.host.is_empty() {
                cmds.push(Cmd::Barrier {
                    src_stage: vk::PipelineStageFlags::COMPUTE_SHADER,
                    src_access: vk::AccessFlags::SHADER_WRITE,
                    dst_stage: vk::PipelineStageFlags::HOST,
                    dst_access: vk::AccessFlags::HOST_READ,
                    buffers: vec![mem.dev[s].buffer],
                });
            } else {
                cmds.push(Cmd::Barrier {
                    src_stage: vk::PipelineStageFlags::COMPUTE_SHADER,
                    src_access: vk::AccessFlags::SHADER_WRITE,
                    dst_stage: vk::PipelineStageFlags::TRANSFER,
                    dst_access: vk::AccessFlags::TRANSFER_READ,
                    buffers: vec![mem.dev[s].buffer],
                });
                cmds.push(Cmd::Copy {
                    src: mem.dev[s].buffer,
                    dst: mem.host[s].buffer,
                    size: mem.size,
                });
                cmds.push(Cmd::Barrier {
                    src_stage: vk::PipelineStageFlags::TRANSFER,
                    src_access: vk::AccessFlags::TRANSFER_WRITE,
                    dst_stage: vk::PipelineStageFlags::HOST,
                    dst_access: vk::AccessFlags::HOST_READ,
                    buffers: vec![mem.host[s].buffer],
                });
            }
        }
        cmds
    }
}

/// The access masks (source, destination) of a barrier against `hazard`.
fn hazard_access(hazard: Hazard) -> (vk::AccessFlags, vk::AccessFlags) {
    match hazard {
        Hazard::ReadAfterWrite => (vk::AccessFlags::SHADER_WRITE, vk::AccessFlags::SHADER_READ),
        Hazard::WriteAfterRead => (vk::AccessFlags::empty(), vk::AccessFlags::SHADER_WRITE),
        Hazard::WriteAfterWrite => (vk::AccessFlags::SHADER_WRITE, vk::AccessFlags::SHADER_WRITE),
    }
}

/// A 4-byte fill pattern repeating `init` encoded as the buffer's scalar.
fn fill_word(ty: &PortType, init: ptc_plan::types::Value) -> Result<u32> {
    let scalar = match &ty.elem {
        ElemType::Scalar(s) | ElemType::Vector { scalar: s, .. } => *s,
        ElemType::Struct(n) => {
            return Err(RuntimeError::InvalidPlan(format!(
                "an initial value for a buffer of struct `{n}` is not supported"
            )))
        }
    };
    let b = init.encode_as(scalar);
    let mut w = [0u8; 4];
    for (i, x) in w.iter_mut().enumerate() {
        *x = b[i % b.len()];
    }
    Ok(u32::from_le_bytes(w))
}
