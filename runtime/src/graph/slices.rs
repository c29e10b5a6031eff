//! Sliced dispatches: a long background dispatch split along its largest
//! workgroup dimension into up to [`MAX_SLICES`] pre-recorded
//! `vkCmdDispatchBase` slices, submitted as separate jobs (see
//! `crate::sched`: the scheduler decides how many slices a job covers).

use super::GraphRt;
use crate::error::Result;
use crate::vk::{Cmd, Small};
use ash::vk;
use ptc_plan::{Access, ModuleInfo, Plan};
use std::time::Instant;

use super::slots::Waits;
use super::Fired;

/// Most slices a dispatch is split into.
const MAX_SLICES: u32 = 8;

/// Number of slices a dispatch of `groups` workgroups can be split into:
/// its largest dimension, at most [`MAX_SLICES`] (1: not sliceable).
pub(super) fn slice_count(groups: [u32; 3]) -> u32 {
    groups
        .iter()
        .copied()
        .max()
        .unwrap_or(1)
        .clamp(1, MAX_SLICES)
}

/// Base workgroup and workgroup counts of slice `k` of `n` of a dispatch of
/// `groups`: near-equal parts of the largest dimension.
fn slice_range(groups: [u32; 3], k: u32, n: u32) -> ([u32; 3], [u32; 3]) {
    let d = (0..3).max_by_key(|&i| (groups[i], 3 - i)).unwrap_or(0);
    let total = u64::from(groups[d]);
    let (k, n) = (u64::from(k), u64::from(n.max(1)));
    let lo = (total * k / n) as u32;
    let hi = (total * (k + 1) / n) as u32;
    let mut base = [0; 3];
    let mut count = groups;
    base[d] = lo;
    count[d] = hi - lo;
    (base, count)
}

/// Whether a dispatch of `workgroups` running `module` may be split into
/// slices: there is more than one workgroup to split, and the kernel does
/// not read `gl_NumWorkGroups` (a slice would see its own size there).
pub(super) fn sliceable(workgroups: [u32; 3], module: &ModuleInfo) -> bool {
    slice_count(workgroups) > 1 && !module.reads_num_workgroups
}

impl GraphRt {
    /// Records ptask `t`'s slices for every phase.
    pub(super) fn record_slices(
        &mut self,
        plan: &Plan,
        t: usize,
        sets: &[vk::DescriptorSet],
        push: &[u8],
    ) -> Result<()> {
        let gpu = self.gpu.clone();
        let n = slice_count(plan.ptasks[t].workgroups);
        for ph in 0..self.slots.phases {
            let cbs = gpu.allocate_command_buffers(self.cmd_pool, n)?;
            for (k, cb) in cbs.iter().enumerate() {
                let cmds = self.slice_cmds(plan, t, ph, k as u32, n, sets, push);
                gpu.record(*cb, &cmds)?;
            }
            self.ptasks[t].slice_cbs.push(cbs);
        }
        Ok(())
    }

    /// Slice `k` of `n` of ptask `t`'s dispatch in phase `ph`: a barrier
    /// against the earlier slices' writes (the slices may share the output
    /// buffers, and several may be submitted together), its part of the
    /// workgroups along the largest dimension, and for the last slice the
    /// same host-visibility commands as a whole firing.
    #[allow(clippy::too_many_arguments)]
    fn slice_cmds(
        &self,
        plan: &Plan,
        t: usize,
        ph: u64,
        k: u32,
        n: u32,
        sets: &[vk::DescriptorSet],
        push: &[u8],
    ) -> Vec<Cmd> {
        let pt = &self.ptasks[t];
        let mut cmds = Vec::new();
        if k > 0 {
            let outs: Vec<vk::Buffer> = self.slots.tasks[t]
                .bindings
                .iter()
                .filter(|(_, a)| *a == Access::Out)
                .map(|&(b, _)| self.bufs[b].dev[self.slots.slot_for(b, Access::Out, ph)].buffer)
                .collect();
            cmds.push(Cmd::Barrier {
                src_stage: vk::PipelineStageFlags::COMPUTE_SHADER,
                src_access: vk::AccessFlags::SHADER_WRITE,
                dst_stage: vk::PipelineStageFlags::COMPUTE_SHADER,
                dst_access: vk::AccessFlags::SHADER_READ | vk::AccessFlags::SHADER_WRITE,
                buffers: outs,
            });
        }
        let (base, groups) = slice_range(plan.ptasks[t].workgroups, k, n);
        cmds.push(Cmd::Dispatch {
            pipeline: pt.pipeline,
            layout: pt.layout,
            set: sets[ph as usize],
            push: push.to_vec(),
            base,
            groups,
        });
        if k + 1 == n {
            cmds.extend(self.host_tail(plan, t, ph));
        }
        cmds
    }

    /// Number of slices ptask `t`'s dispatch can be split into (1: not
    /// sliceable).
    pub(crate) fn slices(&self, t: usize) -> u32 {
        self.ptasks
            .get(t)
            .and_then(|p| p.slice_cbs.first())
            .map_or(1, |v| v.len().max(1) as u32)
    }

    /// The slices one job of ptask `t` covers next: `(first, count, total)`
    /// of the firing in progress, or with `step` slices per job for a new
    /// one.
    pub(crate) fn next_slices(&self, t: usize, step: u32) -> (u32, u32, u32) {
        let total = self.slices(t);
        let pt = &self.slots.tasks[t];
        let (first, step) = if pt.slice_next > 0 {
            (pt.slice_next, pt.slice_step)
        } else {
            (0, step)
        };
        let count = step.clamp(1, total).min(total - first);
        (first, count, total)
    }

    /// Submits the next job of ptask `t` (must be ready): the whole firing,
    /// or, where its dispatch is sliceable and `step` is smaller than its
    /// slice count, the next `step` slices of it (a firing in progress keeps
    /// the step it started with). The firing counts as done (outputs
    /// produced, later firings may be submitted) with its last slice.
    pub(crate) fn fire_ptask_slices(
        &mut self,
        t: usize,
        queue: usize,
        step: u32,
        timed: bool,
    ) -> Result<Fired> {
        let (first, count, total) = self.next_slices(t, step);
        if first == 0 && count >= total {
            return self.fire_ptask(t, queue, timed);
        }
        let n = self.slots.tasks[t].fired;
        let pt = &self.ptasks[t];
        let w = if first == 0 {
            self.slots.firing_waits(t, n)
        } else {
            // The previous slice of this firing (same queue order is not
            // relied on: the graph may move to another queue meanwhile).
            let mut w = Waits::default();
            if let Some(p) = pt.last_slice {
                w.add(p);
            }
            w
        };
        let end = first + count;
        let cbs: Small<vk::CommandBuffer> =
            Small::from_slice(&pt.slice_cbs[self.slots.phase(t)][first as usize..end as usize]);
        let (point, ts) = self.submit_timed(queue, &cbs, w.list(), timed)?;
        let now = Instant::now();
        let pt = &mut self.ptasks[t];
        pt.last_slice = Some(point);
        let st = &mut self.slots.tasks[t];
        if first == 0 {
            st.slice_step = count;
            pt.slice_started = Some(now);
        }
        if end < total {
            st.slice_next = end;
        } else {
            st.slice_next = 0;
            pt.last_slice = None;
            let started = pt.slice_started.take().unwrap_or(now);
            self.finish_firing(t, point, started);
        }
        Ok(Fired {
            point,
            ts,
            sampled: timed,
            at: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{slice_count, slice_range, sliceable};

    #[test]
    fn slices_cover_every_workgroup_exactly_once() {
        for groups in [
            [256, 1, 1],
            [8, 8, 1],
            [3, 1, 1],
            [1, 1, 20],
            [7, 9, 2],
            [1, 1, 1],
        ] {
            let n = slice_count(groups);
            let mut seen = std::collections::HashSet::new();
            for k in 0..n {
                let (base, count) = slice_range(groups, k, n);
                assert!(
                    count.iter().all(|c| *c > 0),
                    "{groups:?} slice {k}: {count:?}"
                );
                for x in base[0]..base[0] + count[0] {
                    for y in base[1]..base[1] + count[1] {
                        for z in base[2]..base[2] + count[2] {
                            assert!(seen.insert((x, y, z)), "{groups:?}: ({x},{y},{z}) twice");
                        }
                    }
                }
            }
            assert_eq!(
                seen.len() as u32,
                groups.iter().product::<u32>(),
                "{groups:?}"
            );
        }
        assert_eq!(slice_count([256, 1, 1]), 8);
        assert_eq!(slice_count([3, 2, 1]), 3);
        assert_eq!(slice_count([1, 1, 1]), 1);
    }

    /// A kernel that reads `gl_NumWorkGroups` is never sliced (a slice would
    /// see its own size there); one that does not is, given more than one
    /// workgroup. The facts come from plan validation (ptc-plan's
    /// `spirv` tests cover the reflection itself).
    #[test]
    fn kernels_reading_num_workgroups_are_not_sliced() {
        let dir = std::env::temp_dir().join(format!("ptc-slicing-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let head = "#version 450\nlayout(local_size_x = 64) in;\n\
                    layout(std430, set = 0, binding = 0) writeonly buffer B { uint v[]; };\n\
                    void main() {";
        for (name, value) in [("plain", "1u"), ("counts", "gl_NumWorkGroups.x")] {
            let src = format!("{head} v[gl_GlobalInvocationID.x] = {value}; }}\n");
            std::fs::write(dir.join(format!("{name}.comp")), src).expect("write kernel");
        }
        let graph = "graph g {\n\
            output a: u32[4096];\n\
            output b: u32[4096];\n\
            ptask plain { kernel \"plain.comp\"; out v: u32[4096]; }\n\
            ptask counts { kernel \"counts.comp\"; out v: u32[4096]; }\n\
            plain.v -> a;\n\
            counts.v -> b;\n\
            }\n";
        let report = ptc_compiler::check_source(
            &dir.join("g.pt"),
            graph.to_string(),
            &ptc_compiler::Options::default(),
        );
        let _ = std::fs::remove_dir_all(&dir);
        let plan = report
            .plan
            .unwrap_or_else(|| panic!("{:?}", report.diagnostics));
        let info = plan.validate().expect("a compiled plan validates");
        let (plain, counts) = (
            info.ptask(0).expect("plain"),
            info.ptask(1).expect("counts"),
        );
        assert_eq!(plan.ptasks[1].name, "counts");
        assert_eq!(plan.ptasks[1].workgroups, [64, 1, 1]);
        assert!(!plain.reads_num_workgroups);
        assert!(counts.reads_num_workgroups);
        assert!(sliceable([64, 1, 1], plain));
        assert!(!sliceable([1, 1, 1], plain));
        assert!(!sliceable([64, 1, 1], counts));
    }
}
