//! One open graph: every Vulkan object it needs (allocated and recorded once
//! in [`GraphRt::open`]) and its data-driven firing state.
//!
//! - [`slots`]: versions, slots, readiness and completion points — pure
//!   bookkeeping, no Vulkan calls (the rules are described there);
//! - `pipeline`: a plan ptask → compute pipeline, descriptor sets and
//!   push-constant bytes (the one place pipelines are created);
//! - `record`: the command buffers, recorded once: per (ptask, phase), per
//!   (graph, phase), staged uploads, initial values of seeded buffers;
//! - `slices`: splitting a dispatch into slices, and submitting them;
//! - `timing`: timestamp queries around submissions (GPU time per job);
//! - `host`: the graph's ports — inputs written, outputs read by the host;
//! - `readback`: copies of any buffer to the host (debugging, preview);
//! - `requirements`: the device checked against the plan's needs.
//!
//! Every submission is a point on its queue's timeline (`crate::vk`);
//! submissions wait on the producer/consumer points they depend on (see
//! [`slots`]), at most one value per queue.

mod host;
mod lend;
mod pipeline;
mod readback;
mod record;
mod requirements;
mod slices;
pub(crate) mod slots;
mod timing;

pub use lend::LentFrame;

use crate::error::{Result, RuntimeError};
use crate::stats::PtaskLatencies;
use crate::vk::{BufferMem, Gpu, QueuePoint};
use ash::vk;
use gpu_allocator::MemoryLocation;
use ptc_plan::types::{ElemType, PortType};
use ptc_plan::Plan;
use readback::Readback;
use slots::{Point, Slots, Waits};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;
use timing::Timing;

/// Description of a graph input or output port.
#[derive(Clone, Debug)]
pub struct PortInfo {
    /// Port name.
    pub name: String,
    /// Element type and shape.
    pub ty: PortType,
    /// Bytes per frame.
    pub bytes: u64,
    /// Ping-pong depth.
    pub slots: u32,
    /// The element struct's std430 layout, if elements are structs (lets
    /// sinks such as `to stdout` decode them).
    pub layout: Option<ptc_plan::types::StructLayout>,
}

impl PortInfo {
    /// The graph port `name` backed by plan buffer `buffer`.
    fn of(plan: &Plan, name: &str, buffer: usize) -> PortInfo {
        use ptc_plan::types::StructTable;
        let pb = &plan.buffers[buffer];
        PortInfo {
            name: name.to_string(),
            ty: pb.ty.clone(),
            bytes: pb.size,
            slots: pb.slots,
            layout: match &pb.ty.elem {
                ElemType::Struct(n) => plan.structs.struct_layout(n).cloned(),
                _ => None,
            },
        }
    }

    /// The plan's graph inputs, in plan order (the plan must be valid).
    pub fn inputs_of(plan: &Plan) -> Vec<PortInfo> {
        plan.inputs
            .iter()
            .map(|i| PortInfo::of(plan, &i.name, i.buffer))
            .collect()
    }

    /// The plan's graph outputs, in plan order (the plan must be valid).
    pub fn outputs_of(plan: &Plan) -> Vec<PortInfo> {
        plan.outputs
            .iter()
            .map(|o| PortInfo::of(plan, &o.name, o.buffer))
            .collect()
    }
}

/// A buffer's memory: a device buffer per slot and, for host ports on the
/// staging path, a host-visible staging buffer per slot.
pub(crate) struct BufMem {
    dev: Vec<BufferMem>,
    host: Vec<BufferMem>,
    /// Staged inputs: per slot, the copy staging → device (recorded once).
    upload_cbs: Vec<vk::CommandBuffer>,
    size: u64,
}

/// A ptask's Vulkan objects and host-side state (its versions are in
/// [`Slots`]).
pub(crate) struct PtaskRt {
    pub(crate) name: String,
    pipeline: vk::Pipeline,
    layout: vk::PipelineLayout,
    set_layout: vk::DescriptorSetLayout,
    /// A whole firing per phase.
    cbs: Vec<vk::CommandBuffer>,
    /// The point of the last slice job of the firing in progress.
    last_slice: Option<Point>,
    pub(crate) priority: Option<u32>,
    pub(crate) ready_since: Option<Instant>,
    /// Submitted, not yet seen complete: (point, submit time).
    pending: VecDeque<(Point, Instant)>,
    pub(crate) stats: PtaskLatencies,
    /// The kernel may be dispatched in slices (see `slices`).
    sliceable: bool,
    /// The params' uniform buffer, if the plan puts them in one.
    pub(crate) uniform: Option<BufferMem>,
    /// Slices of this ptask's dispatch, per phase (empty: not sliceable).
    /// Slice `k` dispatches its share of the workgroups along the largest
    /// dimension; slices after the first begin with a barrier against the
    /// earlier ones' writes, the last one also makes outputs host-visible.
    slice_cbs: Vec<Vec<vk::CommandBuffer>>,
    /// When the first slice of the firing in progress was submitted.
    slice_started: Option<Instant>,
}

/// One open graph.
pub(crate) struct GraphRt {
    pub(crate) gpu: Arc<Gpu>,
    pub(crate) name: String,
    pub(crate) priority: u32,
    /// Versions, readiness, completion points.
    slots: Slots,
    bufs: Vec<BufMem>,
    pub(crate) ptasks: Vec<PtaskRt>,
    /// A whole frame per phase.
    frame_cbs: Vec<vk::CommandBuffer>,
    pub(crate) inputs: Vec<(PortInfo, usize)>,
    pub(crate) outputs: Vec<(PortInfo, usize)>,
    cmd_pool: vk::CommandPool,
    desc_pool: vk::DescriptorPool,
    /// The last point of every queue the graph submitted to.
    submitted: Waits,
    /// Whole-frame submissions (each fires every ptask once).
    pub(crate) frames: u64,
    /// When false, every ptask is submitted separately (for benchmarks).
    pub(crate) frame_path: bool,
    /// Timestamps around submissions (GPU time per job).
    timing: Timing,
    /// `read_buffer`'s staging buffer and copy command buffers, made on
    /// the first call (a debugging path, never used per frame).
    readback: Option<Readback>,
    /// Per buffer (indexed by plan buffer; grown on the first lend), its
    /// lent frame's state (see [`lend`]).
    lent: Vec<lend::LendState>,
}

/// A submission, tracked until it completes.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Fired {
    /// Where it signals completion.
    pub(crate) point: QueuePoint,
    /// Timestamp ring slot, if timed.
    pub(crate) ts: Option<usize>,
    /// False if it was left untimed on purpose (see `timing`): its GPU
    /// time is the scheduler's estimate, not what the host observed.
    pub(crate) sampled: bool,
    /// Host time of the submit.
    pub(crate) at: Instant,
}

impl GraphRt {
    /// Validates the plan, then allocates and records everything it needs.
    pub(crate) fn open(gpu: Arc<Gpu>, plan: &Plan) -> Result<GraphRt> {
        // The one inspection of the plan's SPIR-V: validation reflects each
        // module once; pipelines and slicing use the facts it returns.
        let info = plan
            .validate()
            .map_err(|e| RuntimeError::InvalidPlan(e.to_string()))?;
        requirements::check(&gpu, plan)?;
        let slots = Slots::from_plan(plan)?;
        let mut g = GraphRt {
            gpu,
            name: plan.graph.clone(),
            priority: plan.priority,
            slots,
            bufs: Vec::new(),
            ptasks: Vec::new(),
            frame_cbs: Vec::new(),
            inputs: PortInfo::inputs_of(plan)
                .into_iter()
                .zip(plan.inputs.iter().map(|i| i.buffer))
                .collect(),
            outputs: PortInfo::outputs_of(plan)
                .into_iter()
                .zip(plan.outputs.iter().map(|o| o.buffer))
                .collect(),
            cmd_pool: vk::CommandPool::null(),
            desc_pool: vk::DescriptorPool::null(),
            submitted: Waits::default(),
            frames: 0,
            frame_path: true,
            timing: Timing::default(),
            readback: None,
            lent: Vec::new(),
        };
        // From here on, `g`'s Drop releases whatever was created if we fail.
        g.allocate_buffers(plan)?;
        g.create_pools(plan)?;
        let sets = g.create_pipelines(plan, &info)?;
        let pushes = pipeline::push_constant_bytes(plan);
        g.record_ptasks(plan, &sets, &pushes)?;
        g.record_frames(plan, &sets, &pushes)?;
        g.timing = Timing::new(&g.gpu, g.cmd_pool, plan.ptasks.len())?;
        g.record_uploads()?;
        g.fill_initial_values(plan)?;
        Ok(g)
    }

    /// Every buffer's memory: a device buffer per slot (host-visible for
    /// host ports unless staging), plus staging buffers for host ports on
    /// the staging path.
    fn allocate_buffers(&mut self, plan: &Plan) -> Result<()> {
        let gpu = self.gpu.clone();
        let staging = gpu.staging;
        for (i, b) in self.slots.bufs.iter().enumerate() {
            let size = plan.buffers[i].size;
            self.bufs.push(BufMem {
                dev: Vec::new(),
                host: Vec::new(),
                upload_cbs: Vec::new(),
                size,
            });
            let mem = &mut self.bufs[i];
            let host_side = b.host_writer || b.host_reader;
            let loc = if !host_side || staging {
                MemoryLocation::GpuOnly
            } else if b.host_writer {
                MemoryLocation::CpuToGpu
            } else {
                MemoryLocation::GpuToCpu
            };
            for s in 0..b.slots {
                let name = format!("{}[{s}]", b.name);
                mem.dev.push(gpu.create_buffer(&name, size, loc)?);
                if host_side && staging {
                    let hl = if b.host_writer {
                        MemoryLocation::CpuToGpu
                    } else {
                        MemoryLocation::GpuToCpu
                    };
                    mem.host
                        .push(gpu.create_buffer(&format!("{name} staging"), size, hl)?);
                }
            }
            if host_side && !staging && mem.dev.iter().any(|d| d.mapped().is_none()) {
                return Err(RuntimeError::OutOfMemory(format!(
                    "buffer #{i} `{}` is not host-visible",
                    b.name
                )));
            }
        }
        Ok(())
    }

    /// The command pool and the descriptor pool (a set per (ptask, phase)).
    fn create_pools(&mut self, plan: &Plan) -> Result<()> {
        let gpu = self.gpu.clone();
        let phases = self.slots.phases;
        let family = gpu.family(gpu.queue_for(self.priority));
        self.cmd_pool = gpu.create_command_pool(family)?;
        let nsets = plan.ptasks.len() as u64 * phases;
        let nbind: u64 = plan
            .ptasks
            .iter()
            .map(|p| p.bindings.len() as u64)
            .sum::<u64>()
            * phases;
        let nuniform = plan
            .ptasks
            .iter()
            .filter(|p| p.uniform_params.is_some())
            .count() as u64
            * phases;
        self.desc_pool = gpu.create_descriptor_pool(nsets as u32, nbind as u32, nuniform as u32)?;
        Ok(())
    }

    /// True if ptask `t` can fire now.
    pub(crate) fn ptask_ready(&self, t: usize) -> bool {
        self.slots.ptask_ready(t)
    }

    /// True if a whole frame can be submitted as one command buffer.
    pub(crate) fn frame_ready(&self) -> bool {
        self.frame_path && self.slots.frame_ready()
    }

    /// True if some ptask (or the whole frame) could be submitted now.
    pub(crate) fn has_ready_work(&self) -> bool {
        self.slots.has_ready_work(self.frame_path)
    }

    /// True if firing ptask `t` delivers a graph output.
    pub(crate) fn ptask_ends_frame(&self, t: usize) -> bool {
        self.slots.ptask_ends_frame(t)
    }

    /// Names of the graph's buffers, in plan order.
    pub(crate) fn buffer_names(&self) -> Vec<String> {
        self.slots.bufs.iter().map(|b| b.name.clone()).collect()
    }

    /// Submits firing of ptask `t` (must be ready) on scheduler queue
    /// `queue`; `timed`: bracket it with timestamps (see `timing`).
    pub(crate) fn fire_ptask(&mut self, t: usize, queue: usize, timed: bool) -> Result<Fired> {
        let n = self.slots.tasks[t].fired;
        let w = self.slots.firing_waits(t, n);
        let cb = self.ptasks[t].cbs[self.slots.phase(t)];
        let (point, ts) = self.submit_timed(queue, &[cb], w.list(), timed)?;
        let now = Instant::now();
        self.finish_firing(t, point, now);
        Ok(Fired {
            point,
            ts,
            sampled: timed,
            at: now,
        })
    }

    /// Bookkeeping once the next firing of ptask `t` is fully submitted and
    /// signals `done` on completion: first submitted at `started`.
    fn finish_firing(&mut self, t: usize, done: Point, started: Instant) {
        self.slots.fired(t, done);
        let pt = &mut self.ptasks[t];
        pt.pending.push_back((done, started));
        let since = pt.ready_since.take().unwrap_or(started);
        pt.stats.submitted(started.saturating_duration_since(since));
    }

    /// Submits one whole frame (must be `frame_ready`) on scheduler queue
    /// `queue`; `timed`: bracket it with timestamps (see `timing`).
    pub(crate) fn fire_frame(&mut self, queue: usize, timed: bool) -> Result<Fired> {
        let w = self.slots.frame_waits();
        let cb = self.frame_cbs[self.slots.phase(0)];
        let (point, ts) = self.submit_timed(queue, &[cb], w.list(), timed)?;
        let now = Instant::now();
        self.slots.frame_fired(point);
        for pt in &mut self.ptasks {
            pt.pending.push_back((point, now));
            let since = pt.ready_since.take().unwrap_or(now);
            pt.stats.submitted(now - since);
        }
        self.frames += 1;
        Ok(Fired {
            point,
            ts,
            sampled: timed,
            at: now,
        })
    }

    /// Records the completions the runtime has observed (host clock; no
    /// Vulkan call: the queues' known progress) for the stats.
    pub(crate) fn poll(&mut self) {
        let mut now = None;
        for pt in &mut self.ptasks {
            while let Some(&(p, at)) = pt.pending.front() {
                if p.value > self.gpu.done(p.queue) {
                    break;
                }
                let now = *now.get_or_insert_with(Instant::now);
                pt.pending.pop_front();
                pt.stats.completed(now - at);
            }
        }
    }

    /// Blocks until every submitted firing (and upload, and read-back) is
    /// done.
    pub(crate) fn wait_all(&self) -> Result<()> {
        self.gpu.wait(self.submitted.list())
    }

    /// True if some firing was submitted and has not been observed done.
    pub(crate) fn busy(&self) -> bool {
        self.ptasks
            .iter()
            .zip(&self.slots.tasks)
            .any(|(p, s)| !p.pending.is_empty() || s.slice_next > 0)
    }

    /// Bytes of device memory the graph's buffers hold.
    pub(crate) fn memory_bytes(&self) -> u64 {
        let bufs: u64 = self
            .bufs
            .iter()
            .map(|b| b.size * (b.dev.len() + b.host.len()) as u64)
            .sum();
        bufs + self.readback.as_ref().map_or(0, Readback::bytes)
    }
}

impl Drop for GraphRt {
    fn drop(&mut self) {
        // A sink's thread may still be writing a frame from a slot.
        self.wait_lent();
        if self.wait_all().is_err() {
            self.gpu.wait_idle();
        }
        let gpu = self.gpu.clone();
        self.timing.destroy(&gpu);
        for p in &mut self.ptasks {
            gpu.destroy_pipeline(p.pipeline, p.layout, p.set_layout);
            if let Some(mut u) = p.uniform.take() {
                gpu.destroy_buffer(&mut u);
            }
        }
        for b in &mut self.bufs {
            for m in b.dev.iter_mut().chain(b.host.iter_mut()) {
                gpu.destroy_buffer(m);
            }
        }
        if let Some(r) = self.readback.take() {
            r.destroy(&gpu);
        }
        if self.desc_pool != vk::DescriptorPool::null() {
            gpu.destroy_descriptor_pool(self.desc_pool);
        }
        if self.cmd_pool != vk::CommandPool::null() {
            gpu.destroy_command_pool(self.cmd_pool);
        }
    }
}
