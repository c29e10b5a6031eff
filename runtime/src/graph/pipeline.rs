//! A plan ptask → its compute pipeline, its descriptor sets (one per phase)
//! and its push-constant bytes: the one place the runtime turns a ptask's
//! kernel and parameters into Vulkan pipeline state.

use super::{GraphRt, PtaskRt};
use crate::error::{Result, RuntimeError};
use crate::stats::PtaskLatencies;
use ash::vk;
use ptc_plan::{Plan, PlanInfo};
use std::collections::VecDeque;

impl GraphRt {
    /// Creates every ptask's pipeline (with `DISPATCH_BASE` where its
    /// dispatch may be sliced) and a descriptor set
    /// per phase pointing each binding at the slot that phase uses. Returns
    /// the sets, per ptask then phase.
    pub(super) fn create_pipelines(
        &mut self,
        plan: &Plan,
        info: &PlanInfo,
    ) -> Result<Vec<Vec<vk::DescriptorSet>>> {
        let gpu = self.gpu.clone();
        let mut sets_per_ptask = Vec::with_capacity(plan.ptasks.len());
        for (t, p) in plan.ptasks.iter().enumerate() {
            // Validation covered every ptask's module; an error, not a
            // panic, should that ever change.
            let module = info.ptask(t).ok_or_else(|| {
                RuntimeError::InvalidPlan(format!("ptask `{}`: module not validated", p.name))
            })?;
            let set_layout = gpu.create_set_layout(p.bindings.len(), p.uniform_params.is_some())?;
            // Pushed first so that Drop cleans up partial state.
            self.ptasks.push(PtaskRt {
                name: p.name.clone(),
                pipeline: vk::Pipeline::null(),
                layout: vk::PipelineLayout::null(),
                set_layout,
                cbs: Vec::new(),
                last_slice: None,
                priority: p.priority,
                ready_since: None,
                pending: VecDeque::new(),
                stats: PtaskLatencies::default(),
                sliceable: false,
                uniform: None,
                slice_cbs: Vec::new(),
                slice_started: None,
            });
            let layout = gpu.create_pipeline_layout(set_layout, p.push_constant_size)?;
            self.ptasks[t].layout = layout;
            let sliceable = super::slices::sliceable(p.workgroups, module);
            let spec: Vec<(u32, u32)> = p
                .specialization
                .iter()
                .map(|s| (s.id, u32::from_le_bytes(s.value.to_le_bytes())))
                .collect();
            let pipeline =
                gpu.create_compute_pipeline(&module.words, &p.entry, layout, sliceable, &spec)?;
            self.ptasks[t].pipeline = pipeline;
            self.ptasks[t].sliceable = sliceable;
            // Params in a uniform buffer: filled once, shared by every phase.
            let uniform = match &p.uniform_params {
                Some(u) => {
                    let mut bytes = vec![0u8; u.size as usize];
                    for c in &u.members {
                        let enc = c.value.encode_as(c.ty);
                        let o = c.offset as usize;
                        if let Some(dst) = bytes.get_mut(o..o + enc.len()) {
                            dst.copy_from_slice(&enc);
                        }
                    }
                    let b = gpu.create_uniform_buffer(&format!("{} params", p.name), &bytes)?;
                    let handle = b.buffer;
                    self.ptasks[t].uniform = Some(b);
                    Some(handle)
                }
                None => None,
            };
            let mut sets = Vec::new();
            for ph in 0..self.slots.phases {
                let bufs: Vec<vk::Buffer> = p
                    .bindings
                    .iter()
                    .map(|bd| {
                        let s = self.slots.slot_for(bd.buffer, bd.access, ph);
                        self.bufs[bd.buffer].dev[s].buffer
                    })
                    .collect();
                sets.push(gpu.allocate_set(self.desc_pool, set_layout, &bufs, uniform)?);
            }
            sets_per_ptask.push(sets);
        }
        Ok(sets_per_ptask)
    }
}

/// Each ptask's push-constant block: its params' values encoded at their
/// std430 offsets.
pub(super) fn push_constant_bytes(plan: &Plan) -> Vec<Vec<u8>> {
    plan.ptasks
        .iter()
        .map(|p| {
            let mut bytes = vec![0u8; p.push_constant_size as usize];
            for c in &p.push_constants {
                let enc = c.value.encode_as(c.ty);
                let o = c.offset as usize;
                if let Some(dst) = bytes.get_mut(o..o + enc.len()) {
                    dst.copy_from_slice(&enc);
                }
            }
            bytes
        })
        .collect()
}
