//! One open graph: every Vulkan object it needs (allocated and recorded once
//! in [`GraphRt::open`]) and its data-driven firing state.
//!
//! # Versions and slots
//! Each buffer holds a sequence of *versions* (datablocks): version `v` lives
//! in slot `v % slots`. A seeded buffer (role `State`) starts with version 0
//! = its `init` value. A ptask's `n`-th firing reads version `n` of each `in`
//! buffer, the latest version of each `sticky` buffer (such buffers use one
//! slot), and writes version `n + init` of each `out` buffer. A version may
//! be written once every consumer has consumed the version that occupied its
//! slot before; that is all the bookkeeping "outputs have room" needs.
//! Since a firing's slots depend only on `n % P` (P = lcm of slot counts),
//! descriptor sets and command buffers exist per (ptask, phase) and per
//! (graph, phase) and are recorded at open time.
//!
//! Every ptask owns a timeline semaphore whose value is its number of
//! completed firings; submissions wait on the producer/consumer values they
//! depend on, so the host never waits for the device on the frame path
//! except when it reads an output or reuses an input slot.

use crate::error::{Result, RuntimeError};
use crate::stats::PtaskStats;
use crate::vk::{BufferMem, Cmd, Gpu, Small};
use ash::vk;
use gpu_allocator::MemoryLocation;
use ptc_plan::types::{ElemType, PortType};
use ptc_plan::{Access, BufferRole, Hazard, ModuleInfo, Plan, PlanInfo};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

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

pub(crate) struct BufRt {
    pub(crate) name: String,
    slots: u32,
    init_versions: u64,
    dev: Vec<BufferMem>,
    host: Vec<BufferMem>,
    producer: Option<usize>,
    in_readers: Vec<usize>,
    sticky_readers: Vec<usize>,
    host_reader: bool,
    host_writer: bool,
    /// Versions available (including the initial one).
    pub(crate) produced: u64,
    /// Next version the host reads (outputs).
    host_next: u64,
    upload_sem: vk::Semaphore,
    upload_cbs: Vec<vk::CommandBuffer>,
    size: u64,
}

pub(crate) struct PtaskRt {
    pub(crate) name: String,
    pipeline: vk::Pipeline,
    layout: vk::PipelineLayout,
    set_layout: vk::DescriptorSetLayout,
    cbs: Vec<vk::CommandBuffer>,
    pub(crate) sem: vk::Semaphore,
    /// Firings submitted.
    pub(crate) fired: u64,
    bindings: Vec<(usize, Access)>,
    pub(crate) priority: Option<u32>,
    pub(crate) ready_since: Option<Instant>,
    /// Submitted, not yet seen complete: (semaphore, value, submit time).
    pending: VecDeque<(vk::Semaphore, u64, Instant)>,
    /// Where recent firings signal completion: (firing, semaphore, value).
    /// A firing alone signals the ptask's own timeline (`solo` counts
    /// them); a whole frame signals the graph's `frame_sem` once.
    carriers: VecDeque<(u64, vk::Semaphore, u64)>,
    solo: u64,
    pub(crate) stats: PtaskStats,
    /// The kernel may be dispatched in slices (see [`slice_count`]).
    sliceable: bool,
    /// The params' uniform buffer, if the plan puts them in one.
    uniform: Option<BufferMem>,
    /// Slices of this ptask's dispatch, per phase (empty: not sliceable).
    /// Slice `k` dispatches its share of the workgroups along the largest
    /// dimension; slices after the first begin with a barrier against the
    /// earlier ones' writes, the last one also makes outputs host-visible.
    slice_cbs: Vec<Vec<vk::CommandBuffer>>,
    /// Slices of the firing in progress already submitted (0: none in
    /// progress), and how many each job of it covers.
    slice_next: u32,
    slice_step: u32,
    /// When the first slice of the firing in progress was submitted.
    slice_started: Option<Instant>,
}

/// One open graph.
pub(crate) struct GraphRt {
    pub(crate) gpu: Arc<Gpu>,
    pub(crate) name: String,
    pub(crate) priority: u32,
    phases: u64,
    pub(crate) bufs: Vec<BufRt>,
    pub(crate) ptasks: Vec<PtaskRt>,
    frame_cbs: Vec<vk::CommandBuffer>,
    pub(crate) inputs: Vec<(PortInfo, usize)>,
    pub(crate) outputs: Vec<(PortInfo, usize)>,
    cmd_pool: vk::CommandPool,
    desc_pool: vk::DescriptorPool,
    init_sem: vk::Semaphore,
    /// Signalled once per whole-frame submission (value = frames done).
    frame_sem: vk::Semaphore,
    /// Whole-frame submissions (each fires every ptask once).
    pub(crate) frames: u64,
    /// When false, every ptask is submitted separately (for benchmarks).
    pub(crate) frame_path: bool,
    /// Timestamp pairs (begin, end) for measuring each submission's GPU
    /// time; null where the queue has no timestamps.
    ts_pool: vk::QueryPool,
    /// Per ring slot: (begin, end) command buffers, recorded once.
    ts_cbs: Vec<[vk::CommandBuffer; 2]>,
    /// Slot in use by a submission whose timestamps were not read yet.
    ts_busy: Vec<bool>,
    ts_next: usize,
    /// `read_buffer`'s staging buffer and copy command buffers, made on
    /// the first call (a debugging path, never used per frame).
    readback: Option<Readback>,
}

/// Read-back of internal buffers: one host-visible staging buffer as large
/// as the graph's largest buffer, a copy command buffer per (buffer, slot)
/// recorded on first use, and a timeline counting completed copies.
struct Readback {
    staging: BufferMem,
    staging_bytes: u64,
    sem: vk::Semaphore,
    copies: u64,
    cbs: HashMap<(usize, usize), vk::CommandBuffer>,
}

/// Timestamp ring slots per graph (a submission finding its slot still
/// busy runs untimed and is charged its host-observed time instead).
const TS_SLOTS: usize = 32;

/// A submission, tracked until it completes.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Fired {
    /// Timeline point signalled when it completes.
    pub(crate) sem: vk::Semaphore,
    pub(crate) value: u64,
    /// Timestamp ring slot, if timed.
    pub(crate) ts: Option<usize>,
    /// Host time of the submit.
    pub(crate) at: Instant,
}

/// Recent firings per ptask whose completion point is remembered (more
/// than the deepest slot ring plus one, so every wait finds its firing).
const CARRIERS: usize = 32;

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
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

impl GraphRt {
    /// Allocates and records everything the plan needs.
    pub(crate) fn open(gpu: Arc<Gpu>, plan: &Plan) -> Result<GraphRt> {
        // The one inspection of the plan's SPIR-V: validation reflects each
        // module once; pipelines and slicing use the facts it returns.
        let info = plan
            .validate()
            .map_err(|e| RuntimeError::InvalidPlan(e.to_string()))?;
        check_requirements(&gpu, plan)?;
        let mut g = GraphRt {
            gpu: gpu.clone(),
            name: plan.graph.clone(),
            priority: plan.priority,
            phases: 1,
            bufs: Vec::new(),
            ptasks: Vec::new(),
            frame_cbs: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            cmd_pool: vk::CommandPool::null(),
            desc_pool: vk::DescriptorPool::null(),
            init_sem: vk::Semaphore::null(),
            frame_sem: vk::Semaphore::null(),
            frames: 0,
            frame_path: true,
            ts_pool: vk::QueryPool::null(),
            ts_cbs: Vec::new(),
            ts_busy: Vec::new(),
            ts_next: 0,
            readback: None,
        };
        // From here on, `g`'s Drop releases whatever was created if we fail.
        g.build(plan, &info)?;
        Ok(g)
    }

    fn build(&mut self, plan: &Plan, info: &PlanInfo) -> Result<()> {
        let gpu = self.gpu.clone();
        let staging = gpu.staging;
        // Buffer topology.
        for b in &plan.buffers {
            // State and constant buffers start with one version, their `init`.
            let init_versions =
                u64::from(matches!(b.role, BufferRole::State | BufferRole::Constant));
            self.bufs.push(BufRt {
                name: b.name.clone(),
                slots: b.slots,
                init_versions,
                dev: Vec::new(),
                host: Vec::new(),
                producer: None,
                in_readers: Vec::new(),
                sticky_readers: Vec::new(),
                host_reader: false,
                host_writer: false,
                produced: init_versions,
                host_next: init_versions,
                upload_sem: vk::Semaphore::null(),
                upload_cbs: Vec::new(),
                size: b.size,
            });
        }
        for (t, p) in plan.ptasks.iter().enumerate() {
            for bd in &p.bindings {
                let buf = &mut self.bufs[bd.buffer];
                match bd.access {
                    Access::In => buf.in_readers.push(t),
                    Access::Sticky => buf.sticky_readers.push(t),
                    Access::Out => {
                        if let Some(other) = buf.producer {
                            if other != t {
                                return Err(RuntimeError::InvalidPlan(format!(
                                    "buffer `{}` is written by two ptasks (`{}` and `{}`)",
                                    buf.name, plan.ptasks[other].name, p.name
                                )));
                            }
                        }
                        buf.producer = Some(t);
                    }
                }
            }
        }
        for gi in &plan.inputs {
            self.bufs[gi.buffer].host_writer = true;
        }
        for go in &plan.outputs {
            self.bufs[go.buffer].host_reader = true;
        }
        let mut phases = 1u64;
        for (i, b) in self.bufs.iter_mut().enumerate() {
            let pb = &plan.buffers[i];
            if b.host_writer && b.producer.is_some() {
                return Err(RuntimeError::InvalidPlan(format!(
                    "buffer `{}` is both a graph input and written by a ptask",
                    b.name
                )));
            }
            if pb.role == BufferRole::State && b.slots < 2 {
                return Err(RuntimeError::InvalidPlan(format!(
                    "state buffer `{}` needs 2 slots, has {}",
                    b.name, b.slots
                )));
            }
            if b.host_reader && b.slots < 2 {
                // Reading frame n on the host overlaps computing frame n+1.
                b.slots = 2;
            }
            if !b.sticky_readers.is_empty() {
                if pb.role == BufferRole::State {
                    return Err(RuntimeError::InvalidPlan(format!(
                        "state buffer `{}` cannot be read by a sticky port",
                        b.name
                    )));
                }
                // A sticky reader always sees the latest value: one slot.
                b.slots = 1;
            }
            phases = phases / gcd(phases, u64::from(b.slots)) * u64::from(b.slots);
        }
        if phases > 8 {
            return Err(RuntimeError::InvalidPlan(format!(
                "slot counts need {phases} command-buffer phases (at most 8 supported)"
            )));
        }
        self.phases = phases;
        // Memory.
        for (i, b) in self.bufs.iter_mut().enumerate() {
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
                b.dev.push(gpu.create_buffer(&name, b.size, loc)?);
                if host_side && staging {
                    let hl = if b.host_writer {
                        MemoryLocation::CpuToGpu
                    } else {
                        MemoryLocation::GpuToCpu
                    };
                    b.host
                        .push(gpu.create_buffer(&format!("{name} staging"), b.size, hl)?);
                }
            }
            if host_side && !staging && b.dev.iter().any(|d| d.mapped().is_none()) {
                return Err(RuntimeError::OutOfMemory(format!(
                    "buffer #{i} `{}` is not host-visible",
                    b.name
                )));
            }
        }
        self.inputs = PortInfo::inputs_of(plan)
            .into_iter()
            .zip(plan.inputs.iter().map(|i| i.buffer))
            .collect();
        self.outputs = PortInfo::outputs_of(plan)
            .into_iter()
            .zip(plan.outputs.iter().map(|o| o.buffer))
            .collect();
        // Pools.
        let family = gpu.queue_for(self.priority).family;
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
        self.init_sem = gpu.create_timeline()?;
        self.frame_sem = gpu.create_timeline()?;
        // Pipelines, sets, semaphores.
        let mut sets_per_ptask: Vec<Vec<vk::DescriptorSet>> = Vec::new();
        for (t, p) in plan.ptasks.iter().enumerate() {
            // Validation covered every ptask's module; an error, not a
            // panic, should that ever change.
            let module = info.ptask(t).ok_or_else(|| {
                RuntimeError::InvalidPlan(format!("ptask `{}`: module not validated", p.name))
            })?;
            let set_layout = gpu.create_set_layout(p.bindings.len(), p.uniform_params.is_some())?;
            let pt = PtaskRt {
                name: p.name.clone(),
                pipeline: vk::Pipeline::null(),
                layout: vk::PipelineLayout::null(),
                set_layout,
                cbs: Vec::new(),
                sem: vk::Semaphore::null(),
                fired: 0,
                bindings: p.bindings.iter().map(|b| (b.buffer, b.access)).collect(),
                priority: p.priority,
                ready_since: None,
                pending: VecDeque::new(),
                carriers: VecDeque::new(),
                solo: 0,
                stats: PtaskStats::default(),
                sliceable: false,
                uniform: None,
                slice_cbs: Vec::new(),
                slice_next: 0,
                slice_step: 0,
                slice_started: None,
            };
            // Push the ptask first so Drop cleans up partial state.
            self.ptasks.push(pt);
            let layout = gpu.create_pipeline_layout(set_layout, p.push_constant_size)?;
            self.ptasks[t].layout = layout;
            let sliceable = sliceable(p.workgroups, module);
            let spec: Vec<(u32, u32)> = p
                .specialization
                .iter()
                .map(|s| (s.id, u32::from_le_bytes(s.value.to_le_bytes())))
                .collect();
            let pipeline =
                gpu.create_compute_pipeline(&module.words, &p.entry, layout, sliceable, &spec)?;
            self.ptasks[t].pipeline = pipeline;
            self.ptasks[t].sliceable = sliceable;
            self.ptasks[t].sem = gpu.create_timeline()?;
            // Params in a uniform buffer: filled once, shared by every phase.
            let uniform = match &p.uniform_params {
                Some(u) => {
                    let mut bytes = vec![0u8; u.size as usize];
                    for c in &u.members {
                        let enc = c.value.encode_as(c.ty);
                        let o = c.offset as usize;
                        bytes[o..o + enc.len()].copy_from_slice(&enc);
                    }
                    let b = gpu.create_uniform_buffer(&format!("{} params", p.name), &bytes)?;
                    let handle = b.buffer;
                    self.ptasks[t].uniform = Some(b);
                    Some(handle)
                }
                None => None,
            };
            let mut sets = Vec::new();
            for ph in 0..phases {
                let bufs: Vec<vk::Buffer> = p
                    .bindings
                    .iter()
                    .map(|bd| {
                        let s = self.slot_for(bd.buffer, bd.access, ph);
                        self.bufs[bd.buffer].dev[s].buffer
                    })
                    .collect();
                sets.push(gpu.allocate_set(self.desc_pool, set_layout, &bufs, uniform)?);
            }
            sets_per_ptask.push(sets);
        }
        // Command buffers: per (ptask, phase), per (graph, phase), uploads.
        let mut pushes: Vec<Vec<u8>> = Vec::new();
        for p in &plan.ptasks {
            let mut bytes = vec![0u8; p.push_constant_size as usize];
            for c in &p.push_constants {
                let enc = c.value.encode_as(c.ty);
                let o = c.offset as usize;
                bytes[o..o + enc.len()].copy_from_slice(&enc);
            }
            pushes.push(bytes);
        }
        for t in 0..plan.ptasks.len() {
            let cbs = gpu.allocate_command_buffers(self.cmd_pool, phases as u32)?;
            for (ph, cb) in cbs.iter().enumerate() {
                let cmds = self.ptask_cmds(plan, t, ph as u64, &sets_per_ptask[t], &pushes[t]);
                gpu.record(*cb, &cmds)?;
            }
            self.ptasks[t].cbs = cbs;
            if self.ptasks[t].sliceable {
                let n = slice_count(plan.ptasks[t].workgroups);
                for ph in 0..phases {
                    let cbs = gpu.allocate_command_buffers(self.cmd_pool, n)?;
                    for (k, cb) in cbs.iter().enumerate() {
                        let cmds = self.slice_cmds(
                            plan,
                            t,
                            ph,
                            k as u32,
                            n,
                            &sets_per_ptask[t],
                            &pushes[t],
                        );
                        gpu.record(*cb, &cmds)?;
                    }
                    self.ptasks[t].slice_cbs.push(cbs);
                }
            }
        }
        let fcbs = gpu.allocate_command_buffers(self.cmd_pool, phases as u32)?;
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
                    let (sa, da) = match hz {
                        Hazard::ReadAfterWrite => {
                            (vk::AccessFlags::SHADER_WRITE, vk::AccessFlags::SHADER_READ)
                        }
                        Hazard::WriteAfterRead => {
                            (vk::AccessFlags::empty(), vk::AccessFlags::SHADER_WRITE)
                        }
                        Hazard::WriteAfterWrite => {
                            (vk::AccessFlags::SHADER_WRITE, vk::AccessFlags::SHADER_WRITE)
                        }
                    };
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
                    &sets_per_ptask[d.ptask],
                    &pushes[d.ptask],
                ));
            }
            gpu.record(*cb, &cmds)?;
        }
        self.frame_cbs = fcbs;
        if gpu.has_timestamps() {
            self.ts_pool = gpu.create_timestamp_pool(2 * TS_SLOTS as u32)?;
            let cbs = gpu.allocate_command_buffers(self.cmd_pool, 2 * TS_SLOTS as u32)?;
            for (i, pair) in cbs.chunks_exact(2).enumerate() {
                for (k, cb) in pair.iter().enumerate() {
                    gpu.record(
                        *cb,
                        &[Cmd::Timestamp {
                            pool: self.ts_pool,
                            query: 2 * i as u32 + k as u32,
                            begin: k == 0,
                        }],
                    )?;
                }
                self.ts_cbs.push([pair[0], pair[1]]);
            }
            self.ts_busy = vec![false; TS_SLOTS];
        }
        if staging {
            for b in self.bufs.iter_mut().filter(|b| b.host_writer) {
                b.upload_sem = gpu.create_timeline()?;
                let cbs = gpu.allocate_command_buffers(self.cmd_pool, b.slots)?;
                for (s, cb) in cbs.iter().enumerate() {
                    gpu.record(
                        *cb,
                        &[
                            Cmd::Copy {
                                src: b.host[s].buffer,
                                dst: b.dev[s].buffer,
                                size: b.size,
                            },
                            Cmd::Barrier {
                                src_stage: vk::PipelineStageFlags::TRANSFER,
                                src_access: vk::AccessFlags::TRANSFER_WRITE,
                                dst_stage: vk::PipelineStageFlags::COMPUTE_SHADER,
                                dst_access: vk::AccessFlags::SHADER_READ,
                                buffers: vec![b.dev[s].buffer],
                            },
                        ],
                    )?;
                }
                b.upload_cbs = cbs;
            }
        }
        // Initial values of seeded buffers.
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
        if !fills.is_empty() {
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
            let cb = gpu.allocate_command_buffers(self.cmd_pool, 1)?;
            gpu.record(cb[0], &fills)?;
            let q = gpu.queue_for(self.priority);
            gpu.submit(q, &cb, &[], &[(self.init_sem, 1)])?;
            gpu.wait_timelines(&[(self.init_sem, 1)])?;
        }
        Ok(())
    }

    /// The slot of `buffer` a binding with `access` uses in phase `ph`.
    fn slot_for(&self, buffer: usize, access: Access, ph: u64) -> usize {
        let b = &self.bufs[buffer];
        let v = match access {
            Access::In => ph,
            Access::Sticky => 0,
            Access::Out => ph + b.init_versions,
        };
        (v % u64::from(b.slots)) as usize
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
            let outs: Vec<vk::Buffer> = pt
                .bindings
                .iter()
                .filter(|(_, a)| *a == Access::Out)
                .map(|&(b, _)| self.bufs[b].dev[self.slot_for(b, Access::Out, ph)].buffer)
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

    /// After ptask `t`'s dispatch in phase `ph`: make its host-read outputs
    /// visible to the host (copying them to their readback buffers on the
    /// staging path).
    fn host_tail(&self, plan: &Plan, t: usize, ph: u64) -> Vec<Cmd> {
        let p = &plan.ptasks[t];
        let mut cmds = Vec::new();
        for bd in &p.bindings {
            let b = &self.bufs[bd.buffer];
            if bd.access != Access::Out || !b.host_reader {
                continue;
            }
            let s = self.slot_for(bd.buffer, Access::Out, ph);
            if b.host.is_empty() {
                cmds.push(Cmd::Barrier {
                    src_stage: vk::PipelineStageFlags::COMPUTE_SHADER,
                    src_access: vk::AccessFlags::SHADER_WRITE,
                    dst_stage: vk::PipelineStageFlags::HOST,
                    dst_access: vk::AccessFlags::HOST_READ,
                    buffers: vec![b.dev[s].buffer],
                });
            } else {
                cmds.push(Cmd::Barrier {
                    src_stage: vk::PipelineStageFlags::COMPUTE_SHADER,
                    src_access: vk::AccessFlags::SHADER_WRITE,
                    dst_stage: vk::PipelineStageFlags::TRANSFER,
                    dst_access: vk::AccessFlags::TRANSFER_READ,
                    buffers: vec![b.dev[s].buffer],
                });
                cmds.push(Cmd::Copy {
                    src: b.dev[s].buffer,
                    dst: b.host[s].buffer,
                    size: b.size,
                });
                cmds.push(Cmd::Barrier {
                    src_stage: vk::PipelineStageFlags::TRANSFER,
                    src_access: vk::AccessFlags::TRANSFER_WRITE,
                    dst_stage: vk::PipelineStageFlags::HOST,
                    dst_access: vk::AccessFlags::HOST_READ,
                    buffers: vec![b.host[s].buffer],
                });
            }
        }
        cmds
    }

    /// True if version `v` of buffer `b` may be written: every consumer has
    /// consumed the version that occupied its slot.
    fn room(&self, b: usize, v: u64) -> bool {
        let buf = &self.bufs[b];
        let slots = u64::from(buf.slots);
        if v < slots {
            return true;
        }
        let old = v - slots;
        if buf.in_readers.iter().any(|&c| self.ptasks[c].fired <= old) {
            return false;
        }
        !(buf.host_reader && buf.host_next <= old)
    }

    /// True if ptask `t` can fire now.
    pub(crate) fn ptask_ready(&self, t: usize) -> bool {
        let pt = &self.ptasks[t];
        if pt.slice_next > 0 {
            // The rest of a sliced firing: its dependencies were met when
            // its first slice was submitted.
            return true;
        }
        let n = pt.fired;
        pt.bindings.iter().all(|&(b, acc)| match acc {
            Access::In => self.bufs[b].produced > n,
            Access::Sticky => self.bufs[b].produced > 0,
            Access::Out => self.room(b, n + self.bufs[b].init_versions),
        })
    }

    /// True if a whole frame can be submitted as one command buffer.
    pub(crate) fn frame_ready(&self) -> bool {
        if !self.frame_path || self.ptasks.is_empty() {
            return false;
        }
        let n = self.ptasks[0].fired;
        if self.ptasks.iter().any(|p| p.fired != n || p.slice_next > 0) {
            return false;
        }
        self.bufs.iter().enumerate().all(|(i, b)| {
            if b.producer.is_none() {
                let need_in = !b.in_readers.is_empty() && b.produced <= n;
                let need_sticky = !b.sticky_readers.is_empty() && b.produced == 0;
                !(need_in || need_sticky)
            } else {
                self.room(i, n + b.init_versions)
            }
        })
    }

    /// Waits until firing `k` of ptask `t` (already submitted) is done. A
    /// ptask's firings complete in order (each waits on the previous), so a
    /// firing older than the carrier window is done once the oldest kept is.
    fn wait_firing(&self, t: usize, k: u64, w: &mut Waits) {
        let c = &self.ptasks[t].carriers;
        let hit = c
            .iter()
            .rev()
            .find(|(f, _, _)| *f == k)
            .or_else(|| c.front().filter(|(f, _, _)| *f > k));
        if let Some(&(_, sem, value)) = hit {
            w.add(sem, value);
        }
    }

    /// The waits a read of version `v` of buffer `b` needs.
    fn read_waits(&self, b: usize, v: u64, w: &mut Waits) {
        let buf = &self.bufs[b];
        if v < buf.init_versions {
            return;
        }
        if let Some(p) = buf.producer {
            self.wait_firing(p, v - buf.init_versions, w);
        } else if buf.upload_sem != vk::Semaphore::null() {
            w.add(buf.upload_sem, v + 1);
        }
    }

    /// The waits before overwriting the slot of version `v` of buffer `b`
    /// (the GPU readers of the previous occupant must be done).
    fn war_waits(&self, b: usize, v: u64, w: &mut Waits) {
        let buf = &self.bufs[b];
        let slots = u64::from(buf.slots);
        if v >= slots {
            let old = v - slots;
            for &c in &buf.in_readers {
                self.wait_firing(c, old, w);
            }
        }
        for &c in &buf.sticky_readers {
            let f = self.ptasks[c].fired;
            if f > 0 {
                self.wait_firing(c, f - 1, w);
            }
        }
        // A read-back copy may have read the slot: overwrite after it.
        if let Some(r) = &self.readback {
            if r.copies > 0 {
                w.add(r.sem, r.copies);
            }
        }
    }

    /// Names of the graph's buffers, in plan order.
    pub(crate) fn buffer_names(&self) -> Vec<String> {
        self.bufs.iter().map(|b| b.name.clone()).collect()
    }

    /// Copies the latest completed version of buffer `b` (any role) to the
    /// host. Waits for every submitted firing first, then copies the slot
    /// through a staging buffer on the GPU (waiting on the producer's
    /// timeline point, with transfer and host barriers) and waits for the
    /// copy; later writers of the slot wait on the copy's timeline point.
    /// `None` if no version exists yet.
    pub(crate) fn read_buffer(&mut self, b: usize) -> Result<Option<Vec<u8>>> {
        self.wait_all()?;
        let buf = &self.bufs[b];
        if buf.produced == 0 {
            return Ok(None);
        }
        let v = buf.produced - 1;
        let s = (v % u64::from(buf.slots)) as usize;
        let (src, size) = (buf.dev[s].buffer, buf.size);
        let gpu = self.gpu.clone();
        if self.readback.is_none() {
            let max = self.bufs.iter().map(|b| b.size).max().unwrap_or(0).max(4);
            let staging = gpu.create_buffer("readback staging", max, MemoryLocation::GpuToCpu)?;
            let sem = match gpu.create_timeline() {
                Ok(s) => s,
                Err(e) => {
                    let mut staging = staging;
                    gpu.destroy_buffer(&mut staging);
                    return Err(e);
                }
            };
            self.readback = Some(Readback {
                staging,
                staging_bytes: max,
                sem,
                copies: 0,
                cbs: HashMap::new(),
            });
        }
        let cmd_pool = self.cmd_pool;
        let mut w = Waits::default();
        self.read_waits(b, v, &mut w);
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
        let done = (r.sem, r.copies + 1);
        gpu.submit(q, &[cb], w.list(), &[done])?;
        r.copies += 1;
        gpu.wait_timelines(&[done])?;
        let bytes = r
            .staging
            .mapped()
            .ok_or_else(|| RuntimeError::OutOfMemory("read-back staging is not mapped".into()))?;
        Ok(Some(bytes[..size as usize].to_vec()))
    }

    /// Takes a free timestamp slot, if any.
    fn take_ts(&mut self) -> Option<usize> {
        let i = self.ts_next;
        if *self.ts_busy.get(i)? {
            return None;
        }
        self.ts_busy[i] = true;
        self.ts_next = (i + 1) % self.ts_busy.len();
        Some(i)
    }

    /// Submits `cb` on scheduler queue `queue`, bracketed by timestamps
    /// when a slot is free.
    fn submit_timed(
        &mut self,
        queue: usize,
        cbs: &[vk::CommandBuffer],
        waits: &[(vk::Semaphore, u64)],
        sig: &[(vk::Semaphore, u64)],
    ) -> Result<Option<usize>> {
        let ts = self.take_ts();
        let q = self.gpu.sched_queue(queue);
        let r = match ts.and_then(|i| self.ts_cbs.get(i)) {
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
                self.ts_busy[i] = false;
            }
            return Err(e);
        }
        Ok(ts)
    }

    /// The GPU time of a completed submission's timestamp slot (frees it).
    pub(crate) fn gpu_time(&mut self, slot: Option<usize>) -> Result<Option<u64>> {
        let Some(i) = slot else { return Ok(None) };
        let r = self.gpu.timestamp_delta(self.ts_pool, 2 * i as u32);
        if let Some(b) = self.ts_busy.get_mut(i) {
            *b = false;
        }
        r
    }

    /// True if firing ptask `t` delivers a graph output.
    pub(crate) fn ptask_ends_frame(&self, t: usize) -> bool {
        self.ptasks.get(t).is_some_and(|p| {
            p.bindings
                .iter()
                .any(|&(b, acc)| acc == Access::Out && self.outputs.iter().any(|(_, ob)| *ob == b))
        })
    }

    /// The waits of firing `n` of ptask `t`: its previous firing, the
    /// producers of what it reads, the readers of the slots it overwrites.
    fn firing_waits(&self, t: usize, n: u64) -> Waits {
        let mut w = Waits::default();
        if n > 0 {
            self.wait_firing(t, n - 1, &mut w);
        }
        for &(b, acc) in &self.ptasks[t].bindings {
            match acc {
                Access::In => self.read_waits(b, n, &mut w),
                Access::Sticky => self.read_waits(b, self.bufs[b].produced - 1, &mut w),
                Access::Out => self.war_waits(b, n + self.bufs[b].init_versions, &mut w),
            }
        }
        w
    }

    /// Submits firing of ptask `t` (must be ready) on scheduler queue `queue`.
    pub(crate) fn fire_ptask(&mut self, t: usize, queue: usize) -> Result<Fired> {
        let n = self.ptasks[t].fired;
        let w = self.firing_waits(t, n);
        let cb = self.ptasks[t].cbs[(n % self.phases) as usize];
        let (sem, value) = (self.ptasks[t].sem, self.ptasks[t].solo + 1);
        let ts = self.submit_timed(queue, &[cb], w.list(), &[(sem, value)])?;
        let now = Instant::now();
        self.ptasks[t].solo = value;
        self.finish_firing(t, n, (sem, value), now);
        Ok(Fired {
            sem,
            value,
            ts,
            at: now,
        })
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
        let pt = &self.ptasks[t];
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
    pub(crate) fn fire_ptask_slices(&mut self, t: usize, queue: usize, step: u32) -> Result<Fired> {
        let (first, count, total) = self.next_slices(t, step);
        if first == 0 && count >= total {
            return self.fire_ptask(t, queue);
        }
        let n = self.ptasks[t].fired;
        let pt = &self.ptasks[t];
        let w = if first == 0 {
            self.firing_waits(t, n)
        } else {
            // The previous slice of this firing (same queue order is not
            // relied on: the graph may move to another queue meanwhile).
            let mut w = Waits::default();
            w.add(pt.sem, pt.solo);
            w
        };
        let end = first + count;
        let cbs: Small<vk::CommandBuffer> = Small::from_slice(
            &pt.slice_cbs[(n % self.phases) as usize][first as usize..end as usize],
        );
        let (sem, value) = (pt.sem, pt.solo + 1);
        let ts = self.submit_timed(queue, &cbs, w.list(), &[(sem, value)])?;
        let now = Instant::now();
        let pt = &mut self.ptasks[t];
        pt.solo = value;
        if first == 0 {
            pt.slice_step = count;
            pt.slice_started = Some(now);
        }
        if end < total {
            pt.slice_next = end;
        } else {
            pt.slice_next = 0;
            let started = pt.slice_started.take().unwrap_or(now);
            self.finish_firing(t, n, (sem, value), started);
        }
        Ok(Fired {
            sem,
            value,
            ts,
            at: now,
        })
    }

    /// Bookkeeping once firing `n` of ptask `t` is fully submitted and
    /// signals `done` on completion: first submitted at `started`.
    fn finish_firing(&mut self, t: usize, n: u64, done: (vk::Semaphore, u64), started: Instant) {
        let pt = &mut self.ptasks[t];
        pt.fired += 1;
        pt.pending.push_back((done.0, done.1, started));
        pt.carriers.push_back((n, done.0, done.1));
        if pt.carriers.len() > CARRIERS {
            pt.carriers.pop_front();
        }
        let since = pt.ready_since.take().unwrap_or(started);
        pt.stats
            .ready_to_submit
            .push(started.saturating_duration_since(since));
        for &(b, a) in &pt.bindings {
            if a == Access::Out {
                self.bufs[b].produced += 1;
            }
        }
    }

    /// Submits one whole frame (must be `frame_ready`) on scheduler queue `queue`.
    pub(crate) fn fire_frame(&mut self, queue: usize) -> Result<Fired> {
        let n = self.ptasks[0].fired;
        let mut w = Waits::default();
        if n > 0 {
            for t in 0..self.ptasks.len() {
                self.wait_firing(t, n - 1, &mut w);
            }
        }
        for (i, b) in self.bufs.iter().enumerate() {
            if b.producer.is_none() && b.upload_sem != vk::Semaphore::null() {
                if !b.in_readers.is_empty() {
                    self.read_waits(i, n, &mut w);
                }
                if !b.sticky_readers.is_empty() {
                    self.read_waits(i, b.produced - 1, &mut w);
                }
            }
        }
        let (sem, value) = (self.frame_sem, self.frames + 1);
        let sig = [(sem, value)];
        let cb = self.frame_cbs[(n % self.phases) as usize];
        let ts = self.submit_timed(queue, &[cb], w.list(), &sig)?;
        let now = Instant::now();
        for pt in &mut self.ptasks {
            pt.fired += 1;
            pt.pending.push_back((sem, value, now));
            pt.carriers.push_back((n, sem, value));
            if pt.carriers.len() > CARRIERS {
                pt.carriers.pop_front();
            }
            let since = pt.ready_since.take().unwrap_or(now);
            pt.stats.ready_to_submit.push(now - since);
        }
        for b in &mut self.bufs {
            if b.producer.is_some() {
                b.produced += 1;
            }
        }
        self.frames += 1;
        Ok(Fired {
            sem,
            value,
            ts,
            at: now,
        })
    }

    /// Records completions observed now (host clock) for the stats.
    pub(crate) fn poll(&mut self) -> Result<()> {
        let now = Instant::now();
        for pt in &mut self.ptasks {
            if pt.pending.is_empty() {
                continue;
            }
            while let Some(&(sem, val, at)) = pt.pending.front() {
                if self.gpu.timeline_value(sem)? < val {
                    break;
                }
                pt.pending.pop_front();
                pt.stats.submit_to_done.push(now - at);
                pt.stats.firings += 1;
            }
        }
        Ok(())
    }

    pub(crate) fn input(&self, port: &str) -> Result<(usize, usize)> {
        match self.inputs.iter().position(|(p, _)| p.name == port) {
            Some(i) => Ok((i, self.inputs[i].1)),
            None => Err(self.unknown("input", port)),
        }
    }

    pub(crate) fn output(&self, port: &str) -> Result<(usize, usize)> {
        match self.outputs.iter().position(|(p, _)| p.name == port) {
            Some(i) => Ok((i, self.outputs[i].1)),
            None => Err(self.unknown("output", port)),
        }
    }

    fn unknown(&self, dir: &'static str, port: &str) -> RuntimeError {
        let other = if dir == "input" {
            &self.outputs
        } else {
            &self.inputs
        };
        let hint = if other.iter().any(|(p, _)| p.name == port) {
            format!(
                " (`{port}` is an {})",
                if dir == "input" { "output" } else { "input" }
            )
        } else {
            let list = if dir == "input" {
                &self.inputs
            } else {
                &self.outputs
            };
            let names: Vec<&str> = list.iter().map(|(p, _)| p.name.as_str()).collect();
            format!(" ({dir}s: {})", names.join(", "))
        };
        RuntimeError::UnknownPort {
            graph: self.name.clone(),
            dir,
            port: port.to_string(),
            hint,
        }
    }

    /// True if input buffer `b` can take another version now.
    pub(crate) fn input_has_room(&self, b: usize) -> bool {
        self.room(b, self.bufs[b].produced)
    }

    /// True if input buffer `b` can take another version now without the
    /// host waiting for the GPU: it has room, and the GPU work that read
    /// (or uploaded) the version its slot held is complete.
    pub(crate) fn input_writable(&self, b: usize) -> Result<bool> {
        if !self.input_has_room(b) {
            return Ok(false);
        }
        let v = self.bufs[b].produced;
        let slots = u64::from(self.bufs[b].slots);
        let mut w = Waits::default();
        self.war_waits(b, v, &mut w);
        if self.bufs[b].upload_sem != vk::Semaphore::null() && v >= slots {
            w.add(self.bufs[b].upload_sem, v - slots + 1);
        }
        for &(sem, val) in w.list() {
            if self.gpu.timeline_value(sem)? < val {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Writes the next version of input buffer `b` (must have room).
    pub(crate) fn write_input(&mut self, b: usize, bytes: &[u8]) -> Result<()> {
        let v = self.bufs[b].produced;
        let slots = u64::from(self.bufs[b].slots);
        let s = (v % slots) as usize;
        let mut w = Waits::default();
        self.war_waits(b, v, &mut w);
        let staged = self.bufs[b].upload_sem != vk::Semaphore::null();
        if staged {
            // The staging slot's previous upload must be done before we overwrite it.
            if v >= slots {
                let mut hw = Waits::default();
                hw.add(self.bufs[b].upload_sem, v - slots + 1);
                self.gpu.wait_timelines(hw.list())?;
            }
            let dst = self.bufs[b].host[s]
                .mapped_mut()
                .ok_or_else(|| RuntimeError::OutOfMemory("staging buffer is not mapped".into()))?;
            dst.copy_from_slice(bytes);
            if v > 0 {
                w.add(self.bufs[b].upload_sem, v);
            }
            let q = self.gpu.queue_for(self.priority);
            let cb = self.bufs[b].upload_cbs[s];
            self.gpu
                .submit(q, &[cb], w.list(), &[(self.bufs[b].upload_sem, v + 1)])?;
        } else {
            self.gpu.wait_timelines(w.list())?;
            let dst = self.bufs[b].dev[s]
                .mapped_mut()
                .ok_or_else(|| RuntimeError::OutOfMemory("input buffer is not mapped".into()))?;
            dst.copy_from_slice(bytes);
        }
        self.bufs[b].produced += 1;
        Ok(())
    }

    /// True if output buffer `b` holds a version the host has not read.
    pub(crate) fn output_available(&self, b: usize) -> bool {
        self.bufs[b].produced > self.bufs[b].host_next
    }

    /// True if the next version of output buffer `b` is produced and the GPU
    /// finished writing it (reading it will not block).
    pub(crate) fn output_complete(&self, b: usize) -> Result<bool> {
        if !self.output_available(b) {
            return Ok(false);
        }
        let mut w = Waits::default();
        self.read_waits(b, self.bufs[b].host_next, &mut w);
        for &(sem, v) in w.list() {
            if self.gpu.timeline_value(sem)? < v {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Reads the next version of output buffer `b` into `dst` (must be available).
    pub(crate) fn read_output(&mut self, b: usize, dst: &mut [u8]) -> Result<()> {
        let v = self.bufs[b].host_next;
        let mut w = Waits::default();
        self.read_waits(b, v, &mut w);
        self.gpu.wait_timelines(w.list())?;
        let buf = &self.bufs[b];
        let s = (v % u64::from(buf.slots)) as usize;
        let src = if buf.host.is_empty() {
            buf.dev[s].mapped()
        } else {
            buf.host[s].mapped()
        }
        .ok_or_else(|| RuntimeError::OutOfMemory("output buffer is not mapped".into()))?;
        dst.copy_from_slice(src);
        self.bufs[b].host_next += 1;
        Ok(())
    }

    /// Skips the next version of output buffer `b` without reading it.
    pub(crate) fn discard_output(&mut self, b: usize) -> Result<()> {
        let v = self.bufs[b].host_next;
        let mut w = Waits::default();
        self.read_waits(b, v, &mut w);
        self.gpu.wait_timelines(w.list())?;
        self.bufs[b].host_next += 1;
        Ok(())
    }

    /// Inputs with no data for the frame output buffer `out` needs next.
    pub(crate) fn starved_inputs(&self, out: usize) -> Vec<String> {
        let ob = &self.bufs[out];
        let frame = ob.host_next.saturating_sub(ob.init_versions);
        self.inputs
            .iter()
            .filter(|(_, b)| {
                let buf = &self.bufs[*b];
                if buf.in_readers.is_empty() {
                    buf.produced == 0
                } else {
                    buf.produced <= frame
                }
            })
            .map(|(p, _)| p.name.clone())
            .collect()
    }

    /// Blocks until every submitted firing is done.
    pub(crate) fn wait_all(&self) -> Result<()> {
        let mut w = Waits::default();
        for p in &self.ptasks {
            if p.solo > 0 {
                w.add(p.sem, p.solo);
            }
        }
        if self.frames > 0 {
            w.add(self.frame_sem, self.frames);
        }
        for b in &self.bufs {
            if b.upload_sem != vk::Semaphore::null() && b.produced > 0 {
                w.add(b.upload_sem, b.produced);
            }
        }
        self.gpu.wait_timelines(w.list())
    }

    /// True if some firing was submitted and has not been observed done.
    pub(crate) fn busy(&self) -> bool {
        self.ptasks
            .iter()
            .any(|p| !p.pending.is_empty() || p.slice_next > 0)
    }

    /// Bytes of device memory the graph's buffers hold.
    pub(crate) fn memory_bytes(&self) -> u64 {
        let bufs: u64 = self
            .bufs
            .iter()
            .map(|b| b.size * (b.dev.len() + b.host.len()) as u64)
            .sum();
        bufs + self.readback.as_ref().map_or(0, |r| r.staging_bytes)
    }

    /// True if a staged input upload is still running on the GPU.
    pub(crate) fn uploading(&self) -> Result<bool> {
        for b in &self.bufs {
            if b.upload_sem != vk::Semaphore::null()
                && b.produced > 0
                && self.gpu.timeline_value(b.upload_sem)? < b.produced
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// True if some ptask (or the whole frame) could be submitted now.
    pub(crate) fn has_ready_work(&self) -> bool {
        self.frame_ready() || (0..self.ptasks.len()).any(|t| self.ptask_ready(t))
    }

    /// Versions written to input buffer `b` that some `in` reader has not
    /// consumed yet (0 for inputs read only through `sticky` ports).
    pub(crate) fn unconsumed(&self, b: usize) -> u64 {
        let buf = &self.bufs[b];
        buf.in_readers
            .iter()
            .map(|&c| buf.produced.saturating_sub(self.ptasks[c].fired))
            .max()
            .unwrap_or(0)
    }
}

impl Drop for GraphRt {
    fn drop(&mut self) {
        if self.wait_all().is_err() {
            self.gpu.wait_idle();
        }
        let gpu = self.gpu.clone();
        if self.ts_pool != vk::QueryPool::null() {
            gpu.destroy_query_pool(self.ts_pool);
        }
        for p in &mut self.ptasks {
            if p.sem != vk::Semaphore::null() {
                gpu.destroy_semaphore(p.sem);
            }
            gpu.destroy_pipeline(p.pipeline, p.layout, p.set_layout);
            if let Some(mut u) = p.uniform.take() {
                gpu.destroy_buffer(&mut u);
            }
        }
        for b in &mut self.bufs {
            if b.upload_sem != vk::Semaphore::null() {
                gpu.destroy_semaphore(b.upload_sem);
            }
            for m in b.dev.iter_mut().chain(b.host.iter_mut()) {
                gpu.destroy_buffer(m);
            }
        }
        for s in [self.init_sem, self.frame_sem] {
            if s != vk::Semaphore::null() {
                gpu.destroy_semaphore(s);
            }
        }
        if let Some(mut r) = self.readback.take() {
            gpu.destroy_semaphore(r.sem);
            gpu.destroy_buffer(&mut r.staging);
        }
        if self.desc_pool != vk::DescriptorPool::null() {
            gpu.destroy_descriptor_pool(self.desc_pool);
        }
        if self.cmd_pool != vk::CommandPool::null() {
            gpu.destroy_command_pool(self.cmd_pool);
        }
    }
}

/// Most slices a dispatch is split into.
const MAX_SLICES: u32 = 8;

/// Number of slices a dispatch of `groups` workgroups can be split into:
/// its largest dimension, at most [`MAX_SLICES`] (1: not sliceable).
fn slice_count(groups: [u32; 3]) -> u32 {
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
fn sliceable(workgroups: [u32; 3], module: &ModuleInfo) -> bool {
    slice_count(workgroups) > 1 && !module.reads_num_workgroups
}

/// Semaphore waits, deduplicated (the highest value per semaphore).
#[derive(Default)]
struct Waits(Small<(vk::Semaphore, u64)>);

impl Waits {
    fn add(&mut self, s: vk::Semaphore, v: u64) {
        match self.0.iter_mut().find(|(t, _)| *t == s) {
            Some((_, w)) => *w = (*w).max(v),
            None => self.0.push((s, v)),
        }
    }
    fn list(&self) -> &[(vk::Semaphore, u64)] {
        &self.0
    }
}

/// Checks the device against the plan's requirements.
fn check_requirements(gpu: &Gpu, plan: &Plan) -> Result<()> {
    let info = &gpu.info;
    let r = &plan.requirements;
    let missing = |feature: String| RuntimeError::MissingFeature {
        device: info.name.clone(),
        feature,
    };
    if r.storage_8bit && !info.storage_8bit {
        return Err(missing(
            "storageBuffer8BitAccess (the plan has u8 ports)".into(),
        ));
    }
    if r.storage_16bit && !info.storage_16bit {
        return Err(missing(
            "storageBuffer16BitAccess (the plan has u16 ports)".into(),
        ));
    }
    for (need, have, name) in [
        (r.shader_int8, info.shader_int8, "shaderInt8"),
        (r.shader_int16, info.shader_int16, "shaderInt16"),
        (r.shader_int64, info.shader_int64, "shaderInt64"),
        (r.shader_float16, info.shader_float16, "shaderFloat16"),
        (r.shader_float64, info.shader_float64, "shaderFloat64"),
    ] {
        if need && !have {
            return Err(missing(format!("{name} (a kernel of the plan uses it)")));
        }
    }
    // Sizes and counts: one table with `ptc check` (ptc_plan::limits).
    info.limits()
        .check(r, &plan.ptasks)
        .map_err(|e| missing(e.to_string()))
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
