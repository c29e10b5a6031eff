//! Runtime benchmarks, measured side by side in one run (not timed tests).
//!
//! 1. Overhead: a chain graph through ptc (`Runtime::push/pull`, whole-frame
//!    command buffers) vs the same SPIR-V dispatches written by hand in ash
//!    (one command buffer, write inputs, submit, wait on a fence, read the
//!    output). Reported as ptc / hand time per frame (goal <= 1.05).
//! 2. Zero copy: the same chain with internal channels vs every ptask as its
//!    own graph, each intermediate pulled to the host and pushed back
//!    (the paper's Fig. 3). Reported as round-trip / zero-copy (goal >= 2).
//!
//! Chains: `graphs/matmul3.pt` at 128 x 128 (3 matrix multiplies) and a 64-ptask
//! chain of `kernels/scale.comp` over 64 Ki floats.
//!
//!     cargo bench -p ptc-runtime --bench overhead [-- --quick]
//!
//! 3. Per-dispatch overhead: trivial 1-element graphs (a seeded cycle
//!    driven by `Runtime::step`/`wait_any`, and `zeros` -> `null` driven by a
//!    [`Session`]) vs a hand-written ash loop doing the same submit and wait
//!    (prerecorded command buffers, a timeline semaphore, 1 or 2 frames in
//!    flight). Reported as frames/s and host CPU µs per frame (CPU time of
//!    the calling thread only: on lavapipe the "GPU" is other threads of
//!    the same process), and as ptc / hand (goal <= 1.2).
//!
//! Rounds alternate the variants (A B C A B C ...) and the median per-frame
//! time of each is reported, so load from other processes hits all alike.
//! `-- --trivial` runs only part 3, `-- --frames N` sets its frames per round.

// Benches may panic on what they set up (unwrap). The hand-written ash loops (the baseline the runtime is measured
// against) are `unsafe fn`s calling Vulkan directly, as a user of ash
// writes them; their contract is in their doc comments.
#![allow(
    clippy::unwrap_used,
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks
)]

use ash::vk;
use ptc_compiler::{check_source, Options};
use ptc_plan::{Access, Plan};
use ptc_runtime::{Drain, Feed, Runtime, RuntimeOptions, Session};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

#[path = "../tests/alloc/counting.rs"]
mod counting;
use counting::ALLOCS;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

fn compile(name: &str, text: &str) -> Result<Plan, String> {
    let path = root().join("graphs").join(format!("{name}.pt"));
    let r = check_source(
        &path,
        text.to_string(),
        &Options {
            kernel_paths: vec![root()],
            skip_kernels: false,
            ..Options::default()
        },
    );
    let msgs: Vec<String> = r.diagnostics.iter().map(|d| d.message.clone()).collect();
    r.plan.ok_or_else(|| format!("{name}: {msgs:?}"))
}

/// A chain workload: the fused graph and its per-ptask split.
struct Workload {
    name: String,
    fused: Plan,
    stages: Vec<Plan>,
    frames: usize,
}

fn matmul_workload(n: usize, frames: usize) -> Result<Workload, String> {
    let text = std::fs::read_to_string(root().join("graphs/matmul3.pt"))
        .map_err(|e| e.to_string())?
        .replace("256", &n.to_string());
    let fused = compile("matmul3_bench", &text)?;
    let stage = |i: usize| {
        format!(
            "graph mm{i} {{ input a: f32[{n}, {n}]; input b: f32[{n}, {n}]; output c: f32[{n}, {n}];
             ptask mm {{ kernel \"kernels/matmul.comp\"; in a: f32[{n}, {n}]; in b: f32[{n}, {n}]; param n: u32 = {n}; out c: f32[{n}, {n}]; }}
             a -> mm.a; b -> mm.b; mm.c -> c; }}"
        )
    };
    let stages = (0..3)
        .map(|i| compile(&format!("mm_stage{i}"), &stage(i)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Workload {
        name: format!("matmul3 {n}x{n}"),
        fused,
        stages,
        frames,
    })
}

fn chain_workload(len: usize, n: usize, frames: usize) -> Result<Workload, String> {
    let mut t = format!("graph chain {{ input x: f32[{n}]; output y: f32[{n}];\n");
    for i in 0..len {
        t += &format!("ptask s{i} {{ kernel \"kernels/scale.comp\"; in a: f32[{n}]; param k: f32 = 1.0001; out b: f32[{n}]; }}\n");
    }
    let mut prev = "x".to_string();
    for i in 0..len {
        t += &format!("{prev} -> s{i}.a;\n");
        prev = format!("s{i}.b");
    }
    t += &format!("{prev} -> y; }}\n");
    let fused = compile("chain_bench", &t)?;
    let stage = format!(
        "graph s {{ input a: f32[{n}]; output b: f32[{n}];
         ptask s {{ kernel \"kernels/scale.comp\"; in a: f32[{n}]; param k: f32 = 1.0001; out b: f32[{n}]; }}
         a -> s.a; s.b -> b; }}"
    );
    let one = compile("chain_stage", &stage)?;
    Ok(Workload {
        name: format!("{len}-dispatch chain, {n} f32"),
        fused,
        stages: vec![one; len],
        frames,
    })
}

fn inputs_of(plan: &Plan, seed: u32) -> Vec<(String, Vec<u8>)> {
    plan.inputs
        .iter()
        .map(|i| {
            let size = plan.buffers[i.buffer].size as usize;
            let v: Vec<u8> = (0..size / 4)
                .flat_map(|k| (((k as u32 ^ seed) % 97) as f32 * 0.01).to_le_bytes())
                .collect();
            (i.name.clone(), v)
        })
        .collect()
}

/// ptc, fused graph: pipelined push/pull. Returns (seconds/frame, last output).
fn run_ptc(rt: &mut Runtime, plan: &Plan, frames: usize) -> Result<(f64, Vec<u8>), String> {
    let e = |e: ptc_runtime::RuntimeError| e.to_string();
    let g = rt.open_graph(plan).map_err(e)?;
    let ins = inputs_of(plan, 1);
    let out = plan.outputs[0].name.clone();
    let mut last = Vec::new();
    // Warm-up frame.
    for (p, v) in &ins {
        rt.push(g, p, v).map_err(e)?;
    }
    rt.pull(g, &out).map_err(e)?;
    let t = Instant::now();
    let mut pulled = 0;
    for f in 0..frames {
        for (p, v) in &ins {
            rt.push(g, p, v).map_err(e)?;
        }
        if f >= 1 {
            last = rt.pull(g, &out).map_err(e)?;
            pulled += 1;
        }
    }
    while pulled < frames {
        last = rt.pull(g, &out).map_err(e)?;
        pulled += 1;
    }
    let dt = t.elapsed().as_secs_f64() / frames as f64;
    rt.terminate(g).map_err(e)?;
    Ok((dt, last))
}

/// ptc, one graph per ptask with host round trips between them.
fn run_round_trip(rt: &mut Runtime, w: &Workload) -> Result<(f64, Vec<u8>), String> {
    let e = |e: ptc_runtime::RuntimeError| e.to_string();
    let ids: Vec<_> = w
        .stages
        .iter()
        .map(|p| rt.open_graph(p).map_err(e))
        .collect::<Result<_, _>>()?;
    let ins = inputs_of(&w.fused, 1);
    let frame = |rt: &mut Runtime| -> Result<Vec<u8>, String> {
        // Stage 0 takes the first two fused inputs (or one), later stages take
        // the previous result plus the next fused input.
        let mut carry: Option<Vec<u8>> = None;
        let mut next_in = 0;
        for (s, g) in ids.iter().enumerate() {
            let plan = &w.stages[s];
            for gi in &plan.inputs {
                let bytes = match (&carry, gi.name.as_str()) {
                    (Some(c), "a") => c.clone(),
                    _ => {
                        let v = ins[next_in.min(ins.len() - 1)].1.clone();
                        next_in += 1;
                        v
                    }
                };
                rt.push(*g, &gi.name, &bytes).map_err(e)?;
            }
            carry = Some(rt.pull(*g, &plan.outputs[0].name).map_err(e)?);
        }
        carry.ok_or_else(|| "no stages".to_string())
    };
    frame(rt)?;
    let t = Instant::now();
    let mut last = Vec::new();
    for _ in 0..w.frames {
        last = frame(rt)?;
    }
    let dt = t.elapsed().as_secs_f64() / w.frames as f64;
    for g in ids {
        rt.terminate(g).map_err(e)?;
    }
    Ok((dt, last))
}

/// What both hand-written loops start from: an instance, the device the
/// runtime would pick (discrete, integrated, virtual, CPU), its first
/// compute queue, with `features` enabled.
struct HandDevice {
    entry: ash::Entry,
    instance: ash::Instance,
    device: ash::Device,
    queue: vk::Queue,
    fam: u32,
    mem: vk::PhysicalDeviceMemoryProperties,
}

/// # Safety
/// Plain Vulkan object creation; the caller destroys the device and the
/// instance before exiting.
unsafe fn hand_device(
    features: &mut impl vk::ExtendsDeviceCreateInfo,
) -> Result<HandDevice, String> {
    let e = |r: vk::Result| format!("{r:?}");
    let entry = ash::Entry::load().map_err(|x| x.to_string())?;
    let app = vk::ApplicationInfo::default().api_version(vk::API_VERSION_1_3);
    let instance = entry
        .create_instance(
            &vk::InstanceCreateInfo::default().application_info(&app),
            None,
        )
        .map_err(e)?;
    let pds = instance.enumerate_physical_devices().map_err(e)?;
    // Same choice as the runtime: discrete, integrated, virtual, CPU.
    let rank = |t: vk::PhysicalDeviceType| match t {
        vk::PhysicalDeviceType::DISCRETE_GPU => 0,
        vk::PhysicalDeviceType::INTEGRATED_GPU => 1,
        vk::PhysicalDeviceType::VIRTUAL_GPU => 2,
        vk::PhysicalDeviceType::CPU => 3,
        _ => 4,
    };
    let pd = *pds
        .iter()
        .min_by_key(|p| rank(instance.get_physical_device_properties(**p).device_type))
        .ok_or("no device")?;
    let fam = instance
        .get_physical_device_queue_family_properties(pd)
        .iter()
        .position(|f| f.queue_flags.contains(vk::QueueFlags::COMPUTE))
        .ok_or("no compute queue")? as u32;
    let prio = [1.0f32];
    let qi = [vk::DeviceQueueCreateInfo::default()
        .queue_family_index(fam)
        .queue_priorities(&prio)];
    let device = instance
        .create_device(
            pd,
            &vk::DeviceCreateInfo::default()
                .queue_create_infos(&qi)
                .push_next(features),
            None,
        )
        .map_err(e)?;
    let queue = device.get_device_queue(fam, 0);
    let mem = instance.get_physical_device_memory_properties(pd);
    Ok(HandDevice {
        entry,
        instance,
        device,
        queue,
        fam,
        mem,
    })
}

/// The same dispatches written directly in ash.
struct Hand {
    _entry: ash::Entry,
    instance: ash::Instance,
    device: ash::Device,
    queue: vk::Queue,
    buffers: Vec<(vk::Buffer, vk::DeviceMemory, *mut u8, usize)>,
    pipes: Vec<(vk::Pipeline, vk::PipelineLayout, vk::DescriptorSetLayout)>,
    pool: vk::DescriptorPool,
    cmd_pool: vk::CommandPool,
    cb: vk::CommandBuffer,
    fence: vk::Fence,
    inputs: Vec<usize>,
    output: usize,
}

impl Hand {
    /// # Safety
    /// Plain Vulkan object creation from a validated plan; the caller drops
    /// `Hand` (which destroys everything) before exiting.
    unsafe fn new(plan: &Plan) -> Result<Hand, String> {
        let e = |r: vk::Result| format!("{r:?}");
        let mut f13 = vk::PhysicalDeviceVulkan13Features::default().maintenance4(true);
        let HandDevice {
            entry,
            instance,
            device,
            queue,
            fam,
            mem,
        } = hand_device(&mut f13)?;
        let find = |bits: u32, want: vk::MemoryPropertyFlags| {
            (0..mem.memory_type_count).find(|&i| {
                bits & (1 << i) != 0 && mem.memory_types[i as usize].property_flags.contains(want)
            })
        };
        let host = vk::MemoryPropertyFlags::HOST_VISIBLE | vk::MemoryPropertyFlags::HOST_COHERENT;
        let mut buffers = Vec::new();
        for (i, b) in plan.buffers.iter().enumerate() {
            let host_side = plan.inputs.iter().any(|g| g.buffer == i)
                || plan.outputs.iter().any(|g| g.buffer == i);
            let buf = device
                .create_buffer(
                    &vk::BufferCreateInfo::default()
                        .size(b.size)
                        .usage(vk::BufferUsageFlags::STORAGE_BUFFER),
                    None,
                )
                .map_err(e)?;
            let req = device.get_buffer_memory_requirements(buf);
            let want = if host_side {
                host | vk::MemoryPropertyFlags::DEVICE_LOCAL
            } else {
                vk::MemoryPropertyFlags::DEVICE_LOCAL
            };
            let ty = find(req.memory_type_bits, want)
                .or_else(|| {
                    find(
                        req.memory_type_bits,
                        if host_side {
                            host
                        } else {
                            vk::MemoryPropertyFlags::empty()
                        },
                    )
                })
                .ok_or("no memory type")?;
            let m = device
                .allocate_memory(
                    &vk::MemoryAllocateInfo::default()
                        .allocation_size(req.size)
                        .memory_type_index(ty),
                    None,
                )
                .map_err(e)?;
            device.bind_buffer_memory(buf, m, 0).map_err(e)?;
            let ptr = if host_side {
                device
                    .map_memory(m, 0, vk::WHOLE_SIZE, vk::MemoryMapFlags::empty())
                    .map_err(e)? as *mut u8
            } else {
                std::ptr::null_mut()
            };
            buffers.push((buf, m, ptr, b.size as usize));
        }
        let nb: u32 = plan.ptasks.iter().map(|p| p.bindings.len() as u32).sum();
        let sizes = [vk::DescriptorPoolSize::default()
            .ty(vk::DescriptorType::STORAGE_BUFFER)
            .descriptor_count(nb.max(1))];
        let pool = device
            .create_descriptor_pool(
                &vk::DescriptorPoolCreateInfo::default()
                    .max_sets(plan.ptasks.len() as u32)
                    .pool_sizes(&sizes),
                None,
            )
            .map_err(e)?;
        let mut pipes = Vec::new();
        let mut sets = Vec::new();
        let info = plan.validate().map_err(|x| x.to_string())?;
        for (t, p) in plan.ptasks.iter().enumerate() {
            let binds: Vec<_> = (0..p.bindings.len() as u32)
                .map(|i| {
                    vk::DescriptorSetLayoutBinding::default()
                        .binding(i)
                        .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                        .descriptor_count(1)
                        .stage_flags(vk::ShaderStageFlags::COMPUTE)
                })
                .collect();
            let dsl = device
                .create_descriptor_set_layout(
                    &vk::DescriptorSetLayoutCreateInfo::default().bindings(&binds),
                    None,
                )
                .map_err(e)?;
            let dsls = [dsl];
            let words = &info.ptask(t).ok_or("a ptask without a module")?.words;
            let (layout, pipe) =
                compute_pipeline(&device, &dsls, p.push_constant_size.max(4), words)?;
            let set = device
                .allocate_descriptor_sets(
                    &vk::DescriptorSetAllocateInfo::default()
                        .descriptor_pool(pool)
                        .set_layouts(&dsls),
                )
                .map_err(e)?[0];
            let infos: Vec<[vk::DescriptorBufferInfo; 1]> = p
                .bindings
                .iter()
                .map(|b| {
                    [vk::DescriptorBufferInfo::default()
                        .buffer(buffers[b.buffer].0)
                        .range(vk::WHOLE_SIZE)]
                })
                .collect();
            let writes: Vec<_> = infos
                .iter()
                .enumerate()
                .map(|(i, bi)| {
                    vk::WriteDescriptorSet::default()
                        .dst_set(set)
                        .dst_binding(i as u32)
                        .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                        .buffer_info(bi)
                })
                .collect();
            device.update_descriptor_sets(&writes, &[]);
            pipes.push((pipe, layout, dsl));
            sets.push(set);
        }
        let cmd_pool = device
            .create_command_pool(
                &vk::CommandPoolCreateInfo::default().queue_family_index(fam),
                None,
            )
            .map_err(e)?;
        let cb = device
            .allocate_command_buffers(
                &vk::CommandBufferAllocateInfo::default()
                    .command_pool(cmd_pool)
                    .command_buffer_count(1),
            )
            .map_err(e)?[0];
        device
            .begin_command_buffer(cb, &vk::CommandBufferBeginInfo::default())
            .map_err(e)?;
        for (k, d) in plan.schedule.iter().enumerate() {
            let p = &plan.ptasks[d.ptask];
            if k > 0 {
                let mb = [vk::MemoryBarrier::default()
                    .src_access_mask(vk::AccessFlags::SHADER_WRITE | vk::AccessFlags::SHADER_READ)
                    .dst_access_mask(vk::AccessFlags::SHADER_READ | vk::AccessFlags::SHADER_WRITE)];
                device.cmd_pipeline_barrier(
                    cb,
                    vk::PipelineStageFlags::COMPUTE_SHADER,
                    vk::PipelineStageFlags::COMPUTE_SHADER,
                    vk::DependencyFlags::empty(),
                    &mb,
                    &[],
                    &[],
                );
            }
            let (pipe, layout, _) = pipes[d.ptask];
            device.cmd_bind_pipeline(cb, vk::PipelineBindPoint::COMPUTE, pipe);
            device.cmd_bind_descriptor_sets(
                cb,
                vk::PipelineBindPoint::COMPUTE,
                layout,
                0,
                &[sets[d.ptask]],
                &[],
            );
            let mut push = vec![0u8; p.push_constant_size as usize];
            for c in &p.push_constants {
                let b = c.value.encode_as(c.ty);
                push[c.offset as usize..c.offset as usize + b.len()].copy_from_slice(&b);
            }
            if !push.is_empty() {
                device.cmd_push_constants(cb, layout, vk::ShaderStageFlags::COMPUTE, 0, &push);
            }
            device.cmd_dispatch(cb, p.workgroups[0], p.workgroups[1], p.workgroups[2]);
        }
        let mb = [vk::MemoryBarrier::default()
            .src_access_mask(vk::AccessFlags::SHADER_WRITE)
            .dst_access_mask(vk::AccessFlags::HOST_READ)];
        device.cmd_pipeline_barrier(
            cb,
            vk::PipelineStageFlags::COMPUTE_SHADER,
            vk::PipelineStageFlags::HOST,
            vk::DependencyFlags::empty(),
            &mb,
            &[],
            &[],
        );
        device.end_command_buffer(cb).map_err(e)?;
        let fence = device
            .create_fence(&vk::FenceCreateInfo::default(), None)
            .map_err(e)?;
        let _ = Access::In;
        Ok(Hand {
            _entry: entry,
            instance,
            device,
            queue,
            buffers,
            pipes,
            pool,
            cmd_pool,
            cb,
            fence,
            inputs: plan.inputs.iter().map(|g| g.buffer).collect(),
            output: plan.outputs[0].buffer,
        })
    }

    /// One frame: write inputs, submit, wait, read the output.
    fn frame(&self, ins: &[(String, Vec<u8>)], out: &mut [u8]) -> Result<(), String> {
        for (k, b) in self.inputs.iter().enumerate() {
            let (_, _, ptr, size) = self.buffers[*b];
            // SAFETY: `ptr` maps `size` bytes of host-coherent memory that the
            // GPU is not using (the previous frame's fence was waited on).
            unsafe { std::ptr::copy_nonoverlapping(ins[k].1.as_ptr(), ptr, size) };
        }
        let cbs = [self.cb];
        let submit = [vk::SubmitInfo::default().command_buffers(&cbs)];
        // SAFETY: the command buffer is recorded and not pending; the fence
        // is unsignalled; we wait and reset before the next submission.
        unsafe {
            self.device
                .queue_submit(self.queue, &submit, self.fence)
                .map_err(|r| format!("{r:?}"))?;
            self.device
                .wait_for_fences(&[self.fence], true, u64::MAX)
                .map_err(|r| format!("{r:?}"))?;
            self.device
                .reset_fences(&[self.fence])
                .map_err(|r| format!("{r:?}"))?;
            let (_, _, ptr, size) = self.buffers[self.output];
            std::ptr::copy_nonoverlapping(ptr, out.as_mut_ptr(), size);
        }
        Ok(())
    }
}

impl Drop for Hand {
    fn drop(&mut self) {
        // SAFETY: the device is idle after the wait; every object below was
        // created by `Hand::new` and is destroyed once, children first.
        unsafe {
            let _ = self.device.device_wait_idle();
            self.device.destroy_fence(self.fence, None);
            self.device.destroy_command_pool(self.cmd_pool, None);
            self.device.destroy_descriptor_pool(self.pool, None);
            for (p, l, d) in &self.pipes {
                self.device.destroy_pipeline(*p, None);
                self.device.destroy_pipeline_layout(*l, None);
                self.device.destroy_descriptor_set_layout(*d, None);
            }
            for (b, m, _, _) in &self.buffers {
                self.device.destroy_buffer(*b, None);
                self.device.free_memory(*m, None);
            }
            self.device.destroy_device(None);
            self.instance.destroy_instance(None);
        }
    }
}

/// The compute pipeline (and its layout) a hand-written ash program makes
/// for one SPIR-V module: descriptor sets `sets`, `push` bytes of push
/// constants, entry point `main`.
///
/// # Safety
/// `device` is live and `sets` are set layouts made on it.
unsafe fn compute_pipeline(
    device: &ash::Device,
    sets: &[vk::DescriptorSetLayout],
    push: u32,
    words: &[u32],
) -> Result<(vk::PipelineLayout, vk::Pipeline), String> {
    let e = |r: vk::Result| format!("{r:?}");
    let range = [vk::PushConstantRange::default()
        .stage_flags(vk::ShaderStageFlags::COMPUTE)
        .size(push)];
    // SAFETY (this block and the ones below): `device` is live (caller),
    // and every create info points at locals that outlive the call.
    let layout = unsafe {
        device.create_pipeline_layout(
            &vk::PipelineLayoutCreateInfo::default()
                .set_layouts(sets)
                .push_constant_ranges(&range),
            None,
        )
    }
    .map_err(e)?;
    // SAFETY: as above; `words` is the plan's validated SPIR-V.
    let module = unsafe {
        device.create_shader_module(&vk::ShaderModuleCreateInfo::default().code(words), None)
    }
    .map_err(e)?;
    let stage = vk::PipelineShaderStageCreateInfo::default()
        .stage(vk::ShaderStageFlags::COMPUTE)
        .module(module)
        .name(c"main");
    // SAFETY: as above; `layout` and `module` were just made on `device`.
    let pipe = unsafe {
        device.create_compute_pipelines(
            vk::PipelineCache::null(),
            &[vk::ComputePipelineCreateInfo::default()
                .stage(stage)
                .layout(layout)],
            None,
        )
    }
    .map_err(|(_, r)| e(r))?[0];
    // SAFETY: the pipeline no longer needs the module; nothing else uses it.
    unsafe { device.destroy_shader_module(module, None) };
    Ok((layout, pipe))
}

fn run_hand(hand: &Hand, plan: &Plan, frames: usize) -> Result<(f64, Vec<u8>), String> {
    let ins = inputs_of(plan, 1);
    let mut out = vec![0u8; plan.buffers[plan.outputs[0].buffer].size as usize];
    hand.frame(&ins, &mut out)?;
    let t = Instant::now();
    for _ in 0..frames {
        hand.frame(&ins, &mut out)?;
    }
    Ok((t.elapsed().as_secs_f64() / frames as f64, out))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let rounds = if quick { 1 } else { 5 };
    let trivial_frames = args
        .iter()
        .position(|a| a == "--frames")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 500 } else { 2000 });
    if args.iter().any(|a| a == "--trivial") {
        return trivial(rounds, trivial_frames);
    }
    let mut rt = Runtime::new(&RuntimeOptions::from_env()).map_err(|e| e.to_string())?;
    let device = rt.device().name.clone();
    let workloads = vec![
        matmul_workload(128, if quick { 3 } else { 10 })?,
        chain_workload(64, 65536, if quick { 5 } else { 50 })?,
    ];
    println!("device: {device}");
    println!(
        "{:<34} {:>12} {:>12} {:>12} {:>10} {:>12}",
        "workload", "ptc ms/frm", "hand ms/frm", "trip ms/frm", "ptc/hand", "trip/ptc"
    );
    for w in &workloads {
        // SAFETY: see Hand::new; dropped at the end of this iteration.
        let hand = unsafe { Hand::new(&w.fused)? };
        let (mut p, mut h, mut r) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            let (tp, op) = run_ptc(&mut rt, &w.fused, w.frames)?;
            let (th, oh) = run_hand(&hand, &w.fused, w.frames)?;
            let (tr, or) = run_round_trip(&mut rt, w)?;
            if op != oh || op != or {
                return Err(format!("{}: outputs differ between variants", w.name));
            }
            p.push(tp);
            h.push(th);
            r.push(tr);
        }
        let (p, h, r) = (median(&mut p), median(&mut h), median(&mut r));
        println!(
            "{:<34} {:>12.3} {:>12.3} {:>12.3} {:>10.3} {:>12.2}",
            w.name,
            p * 1e3,
            h * 1e3,
            r * 1e3,
            p / h,
            r / p
        );
    }
    drop(rt);
    trivial(rounds, trivial_frames)
}

// ---------------------------------------------------------------------------
// 3. Per-dispatch overhead on trivial graphs.

/// CPU time of the calling thread (not the driver's worker threads).
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer for the duration of the call.
    let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if r != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Wall and host-thread CPU time of `frames` frames, and Rust heap
/// allocations (all threads) per frame.
#[derive(Copy, Clone)]
struct Sample {
    wall: f64,
    cpu: f64,
    allocs: f64,
}

fn measure(frames: usize, f: impl FnOnce() -> Result<(), String>) -> Result<Sample, String> {
    let (t, c, a) = (Instant::now(), thread_cpu(), ALLOCS.load(Ordering::Relaxed));
    f()?;
    Ok(Sample {
        wall: t.elapsed().as_secs_f64() / frames as f64,
        cpu: (thread_cpu() - c).as_secs_f64() / frames as f64,
        allocs: (ALLOCS.load(Ordering::Relaxed) - a) as f64 / frames as f64,
    })
}

/// A seeded 1-element cycle: `s.b -> s.a`, no graph ports.
const CYCLE: &str = "graph cycle1 {
    ptask s { kernel \"kernels/scale.comp\"; in a: f32[1] = 1.0; param k: f32 = 1.0; out b: f32[1]; }
    s.b -> s.a; }";

/// One element from `zeros` through one dispatch to `null`.
const ZEROS: &str = "graph zeros1 {
    input x: f32[1] from zeros; output y: f32[1] to null;
    ptask s { kernel \"kernels/scale.comp\"; in a: f32[1]; param k: f32 = 1.0; out b: f32[1]; }
    x -> s.a; s.b -> y; }";

/// ptc: the cycle through `Runtime::step` / `wait_any` (2 frames in flight).
fn ptc_cycle(rt: &mut Runtime, plan: &Plan, frames: usize) -> Result<Sample, String> {
    let e = |e: ptc_runtime::RuntimeError| e.to_string();
    let g = rt.open_graph(plan).map_err(e)?;
    // Submits `n` more frames (the cycle is always ready: it never idles).
    let run = |rt: &mut Runtime, n: u64| -> Result<u64, String> {
        let start = rt.frames_submitted(g).map_err(e)?;
        while rt.frames_submitted(g).map_err(e)? < start + n {
            if rt.step().map_err(e)? == 0 {
                rt.wait_any(u64::MAX).map_err(e)?;
            }
        }
        Ok(rt.frames_submitted(g).map_err(e)? - start)
    };
    run(rt, 10)?;
    let (t, c, a) = (Instant::now(), thread_cpu(), ALLOCS.load(Ordering::Relaxed));
    let n = run(rt, frames as u64)? as f64;
    let s = Sample {
        wall: t.elapsed().as_secs_f64() / n,
        cpu: (thread_cpu() - c).as_secs_f64() / n,
        allocs: (ALLOCS.load(Ordering::Relaxed) - a) as f64 / n,
    };
    rt.set_held(g, true).map_err(e)?;
    rt.run_until_idle().map_err(e)?;
    rt.terminate(g).map_err(e)?;
    Ok(s)
}

/// ptc: `zeros` -> `null` through a [`Session`] (what `ptc run` does).
fn ptc_session(session: &mut Session, plan: &Plan, frames: usize) -> Result<Sample, String> {
    let e = |e: ptc_runtime::RuntimeError| e.to_string();
    let add = |session: &mut Session, n: u64| -> Result<ptc_runtime::GraphId, String> {
        let (feeds, drains): (Vec<Feed>, Vec<Drain>) = ptc_runtime::io::IoRegistry::new()
            .attach(plan, Default::default())
            .map_err(e)?;
        let g = session.runtime_mut().open_graph(plan).map_err(e)?;
        session
            .add(
                g,
                feeds,
                drains,
                ptc_runtime::RunLimits {
                    frames: Some(n),
                    ..Default::default()
                },
            )
            .map_err(e)?;
        Ok(g)
    };
    let run = |session: &mut Session| -> Result<(), String> {
        for (_, o) in session
            .run(None, Duration::from_secs(5), |_| {})
            .map_err(e)?
        {
            o.map_err(e)?;
        }
        Ok(())
    };
    let g = add(session, 2)?;
    run(session)?;
    session.runtime_mut().terminate(g).map_err(e)?;
    let g = add(session, frames as u64)?;
    let s = measure(frames, || run(session))?;
    session.runtime_mut().terminate(g).map_err(e)?;
    Ok(s)
}

/// The trivial graphs written by hand: prerecorded ping-pong command
/// buffers on one queue, a timeline semaphore signalled by every
/// submission; per frame: (write the input slot,) submit, and wait until at
/// most `depth - 1` frames are in flight.
struct HandLoop {
    _entry: ash::Entry,
    instance: ash::Instance,
    device: ash::Device,
    queue: vk::Queue,
    buffers: Vec<(vk::Buffer, vk::DeviceMemory, *mut u8)>,
    pipe: (vk::Pipeline, vk::PipelineLayout, vk::DescriptorSetLayout),
    pool: vk::DescriptorPool,
    cmd_pool: vk::CommandPool,
    cbs: [vk::CommandBuffer; 2],
    sem: vk::Semaphore,
    /// Host-written input buffers per slot (the `zeros` graph).
    inputs: Option<[usize; 2]>,
    submitted: u64,
}

impl HandLoop {
    /// `zeros`: two input slots the host writes, two output slots (the
    /// `zeros` graph); else a cycle between two buffers.
    ///
    /// # Safety
    /// Plain Vulkan object creation; the caller drops `HandLoop` (which
    /// destroys everything) before exiting.
    unsafe fn new(plan: &Plan, zeros: bool) -> Result<HandLoop, String> {
        let e = |r: vk::Result| format!("{r:?}");
        let mut f12 = vk::PhysicalDeviceVulkan12Features::default().timeline_semaphore(true);
        let HandDevice {
            entry,
            instance,
            device,
            queue,
            fam,
            mem,
        } = hand_device(&mut f12)?;
        let host = vk::MemoryPropertyFlags::HOST_VISIBLE | vk::MemoryPropertyFlags::HOST_COHERENT;
        let mut buffers = Vec::new();
        for _ in 0..4 {
            let buf = device
                .create_buffer(
                    &vk::BufferCreateInfo::default()
                        .size(4)
                        .usage(vk::BufferUsageFlags::STORAGE_BUFFER),
                    None,
                )
                .map_err(e)?;
            let req = device.get_buffer_memory_requirements(buf);
            let ty = (0..mem.memory_type_count)
                .find(|&i| {
                    req.memory_type_bits & (1 << i) != 0
                        && mem.memory_types[i as usize].property_flags.contains(host)
                })
                .ok_or("no host-visible memory")?;
            let m = device
                .allocate_memory(
                    &vk::MemoryAllocateInfo::default()
                        .allocation_size(req.size)
                        .memory_type_index(ty),
                    None,
                )
                .map_err(e)?;
            device.bind_buffer_memory(buf, m, 0).map_err(e)?;
            let ptr = device
                .map_memory(m, 0, vk::WHOLE_SIZE, vk::MemoryMapFlags::empty())
                .map_err(e)? as *mut u8;
            // 1.0f32: the cycle's seed (and harmless for the zeros graph).
            std::ptr::copy_nonoverlapping(1.0f32.to_le_bytes().as_ptr(), ptr, 4);
            buffers.push((buf, m, ptr));
        }
        let binds: Vec<_> = (0..2)
            .map(|i| {
                vk::DescriptorSetLayoutBinding::default()
                    .binding(i)
                    .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                    .descriptor_count(1)
                    .stage_flags(vk::ShaderStageFlags::COMPUTE)
            })
            .collect();
        let dsl = device
            .create_descriptor_set_layout(
                &vk::DescriptorSetLayoutCreateInfo::default().bindings(&binds),
                None,
            )
            .map_err(e)?;
        let dsls = [dsl; 2];
        let info = plan.validate().map_err(|x| x.to_string())?;
        let words = &info.ptask(0).ok_or("a ptask without a module")?.words;
        let (layout, pipe) = compute_pipeline(&device, &dsls[..1], 4, words)?;
        let sizes = [vk::DescriptorPoolSize::default()
            .ty(vk::DescriptorType::STORAGE_BUFFER)
            .descriptor_count(4)];
        let pool = device
            .create_descriptor_pool(
                &vk::DescriptorPoolCreateInfo::default()
                    .max_sets(2)
                    .pool_sizes(&sizes),
                None,
            )
            .map_err(e)?;
        let sets = device
            .allocate_descriptor_sets(
                &vk::DescriptorSetAllocateInfo::default()
                    .descriptor_pool(pool)
                    .set_layouts(&dsls),
            )
            .map_err(e)?;
        // Slot k: reads buffer src[k], writes dst[k].
        let (src, dst) = if zeros {
            ([0, 1], [2, 3])
        } else {
            ([0, 1], [1, 0])
        };
        for k in 0..2 {
            let infos = [src[k], dst[k]].map(|b| {
                [vk::DescriptorBufferInfo::default()
                    .buffer(buffers[b].0)
                    .range(vk::WHOLE_SIZE)]
            });
            let writes: Vec<_> = infos
                .iter()
                .enumerate()
                .map(|(i, bi)| {
                    vk::WriteDescriptorSet::default()
                        .dst_set(sets[k])
                        .dst_binding(i as u32)
                        .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                        .buffer_info(bi)
                })
                .collect();
            device.update_descriptor_sets(&writes, &[]);
        }
        let cmd_pool = device
            .create_command_pool(
                &vk::CommandPoolCreateInfo::default().queue_family_index(fam),
                None,
            )
            .map_err(e)?;
        let cbv = device
            .allocate_command_buffers(
                &vk::CommandBufferAllocateInfo::default()
                    .command_pool(cmd_pool)
                    .command_buffer_count(2),
            )
            .map_err(e)?;
        let cbs = [cbv[0], cbv[1]];
        for (k, cb) in cbs.iter().enumerate() {
            device
                .begin_command_buffer(
                    *cb,
                    &vk::CommandBufferBeginInfo::default()
                        .flags(vk::CommandBufferUsageFlags::SIMULTANEOUS_USE),
                )
                .map_err(e)?;
            // Against the previous frame's writes (same queue).
            let mb = [vk::MemoryBarrier::default()
                .src_access_mask(vk::AccessFlags::SHADER_WRITE | vk::AccessFlags::HOST_WRITE)
                .dst_access_mask(vk::AccessFlags::SHADER_READ | vk::AccessFlags::SHADER_WRITE)];
            device.cmd_pipeline_barrier(
                *cb,
                vk::PipelineStageFlags::COMPUTE_SHADER | vk::PipelineStageFlags::HOST,
                vk::PipelineStageFlags::COMPUTE_SHADER,
                vk::DependencyFlags::empty(),
                &mb,
                &[],
                &[],
            );
            device.cmd_bind_pipeline(*cb, vk::PipelineBindPoint::COMPUTE, pipe);
            device.cmd_bind_descriptor_sets(
                *cb,
                vk::PipelineBindPoint::COMPUTE,
                layout,
                0,
                &[sets[k]],
                &[],
            );
            device.cmd_push_constants(
                *cb,
                layout,
                vk::ShaderStageFlags::COMPUTE,
                0,
                &1.0f32.to_le_bytes(),
            );
            device.cmd_dispatch(*cb, 1, 1, 1);
            let hb = [vk::MemoryBarrier::default()
                .src_access_mask(vk::AccessFlags::SHADER_WRITE)
                .dst_access_mask(vk::AccessFlags::HOST_READ)];
            device.cmd_pipeline_barrier(
                *cb,
                vk::PipelineStageFlags::COMPUTE_SHADER,
                vk::PipelineStageFlags::HOST,
                vk::DependencyFlags::empty(),
                &hb,
                &[],
                &[],
            );
            device.end_command_buffer(*cb).map_err(e)?;
        }
        let mut tl = vk::SemaphoreTypeCreateInfo::default()
            .semaphore_type(vk::SemaphoreType::TIMELINE)
            .initial_value(0);
        let sem = device
            .create_semaphore(&vk::SemaphoreCreateInfo::default().push_next(&mut tl), None)
            .map_err(e)?;
        Ok(HandLoop {
            _entry: entry,
            instance,
            device,
            queue,
            buffers,
            pipe: (pipe, layout, dsl),
            pool,
            cmd_pool,
            cbs,
            sem,
            inputs: zeros.then_some(src),
            submitted: 0,
        })
    }

    fn wait(&self, value: u64) -> Result<(), String> {
        if value == 0 {
            return Ok(());
        }
        let (s, v) = ([self.sem], [value]);
        let info = vk::SemaphoreWaitInfo::default().semaphores(&s).values(&v);
        // SAFETY: a live timeline semaphore of this device; arrays outlive the call.
        unsafe { self.device.wait_semaphores(&info, u64::MAX) }.map_err(|r| format!("{r:?}"))
    }

    /// `frames` frames with at most `depth` in flight.
    fn run(&mut self, frames: usize, depth: u64) -> Result<(), String> {
        for _ in 0..frames {
            let k = self.submitted;
            // Frame k - depth must be done: its slot (inputs) is reused.
            self.wait((k + 1).saturating_sub(depth))?;
            let slot = (k % 2) as usize;
            if let Some(ins) = self.inputs {
                let ptr = self.buffers[ins[slot]].2;
                // SAFETY: `ptr` maps 4 host-coherent bytes that no pending
                // submission reads (the frame that read them is done).
                unsafe { std::ptr::copy_nonoverlapping([0u8; 4].as_ptr(), ptr, 4) };
            }
            let cbs = [self.cbs[slot]];
            let (sig, val) = ([self.sem], [k + 1]);
            let mut tl = vk::TimelineSemaphoreSubmitInfo::default().signal_semaphore_values(&val);
            let submit = [vk::SubmitInfo::default()
                .command_buffers(&cbs)
                .signal_semaphores(&sig)
                .push_next(&mut tl)];
            // SAFETY: recorded SIMULTANEOUS_USE command buffers; the queue is
            // used by this thread only.
            unsafe {
                self.device
                    .queue_submit(self.queue, &submit, vk::Fence::null())
                    .map_err(|r| format!("{r:?}"))?
            };
            self.submitted += 1;
        }
        self.wait(self.submitted)
    }
}

impl Drop for HandLoop {
    fn drop(&mut self) {
        // SAFETY: the device is idle after the wait; every object below was
        // created by `HandLoop::new` and is destroyed once, children first.
        unsafe {
            let _ = self.device.device_wait_idle();
            self.device.destroy_semaphore(self.sem, None);
            self.device.destroy_command_pool(self.cmd_pool, None);
            self.device.destroy_descriptor_pool(self.pool, None);
            self.device.destroy_pipeline(self.pipe.0, None);
            self.device.destroy_pipeline_layout(self.pipe.1, None);
            self.device.destroy_descriptor_set_layout(self.pipe.2, None);
            for (b, m, _) in &self.buffers {
                self.device.destroy_buffer(*b, None);
                self.device.free_memory(*m, None);
            }
            self.device.destroy_device(None);
            self.instance.destroy_instance(None);
        }
    }
}

fn trivial(rounds: usize, frames: usize) -> Result<(), String> {
    let rt = Runtime::new(&RuntimeOptions::from_env()).map_err(|e| e.to_string())?;
    println!("device: {}", rt.device().name);
    println!("per-dispatch overhead, {frames} frames per round, {rounds} rounds (medians)");
    println!(
        "{:<20} {:<18} {:>9} {:>10} {:>10} {:>9} {:>9} {:>9}",
        "workload",
        "variant",
        "frames/s",
        "wall µs/f",
        "host µs/f",
        "allocs/f",
        "wall/hand",
        "cpu/hand"
    );
    let mut session = Session::new(rt);
    for (name, text, zeros) in [
        ("cycle, 1 f32", CYCLE, false),
        ("zeros->null, 1 f32", ZEROS, true),
    ] {
        let plan = compile(if zeros { "zeros1" } else { "cycle1" }, text)?;
        // SAFETY: see HandLoop::new; dropped at the end of this iteration.
        let mut hand = unsafe { HandLoop::new(&plan, zeros)? };
        hand.run(10, 2)?;
        let mut v: [Vec<Sample>; 3] = Default::default();
        for _ in 0..rounds {
            v[0].push(if zeros {
                ptc_session(&mut session, &plan, frames)?
            } else {
                ptc_cycle(session.runtime_mut(), &plan, frames)?
            });
            v[1].push(measure(frames, || hand.run(frames, 1))?);
            v[2].push(measure(frames, || hand.run(frames, 2))?);
        }
        let med = |s: &[Sample]| {
            let mut w: Vec<f64> = s.iter().map(|x| x.wall).collect();
            let mut c: Vec<f64> = s.iter().map(|x| x.cpu).collect();
            let mut a: Vec<f64> = s.iter().map(|x| x.allocs).collect();
            Sample {
                wall: median(&mut w),
                cpu: median(&mut c),
                allocs: median(&mut a),
            }
        };
        let m: Vec<Sample> = v.iter().map(|s| med(s)).collect();
        // The better hand-written variant is the reference.
        let best = if m[1].wall <= m[2].wall { m[1] } else { m[2] };
        let variant = [
            if zeros {
                "ptc Session"
            } else {
                "ptc step+wait_any"
            },
            "hand, 1 in flight",
            "hand, 2 in flight",
        ];
        for (k, s) in m.iter().enumerate() {
            println!(
                "{:<20} {:<18} {:>9.0} {:>10.1} {:>10.2} {:>9.2} {:>9.2} {:>9.2}",
                name,
                variant[k],
                1.0 / s.wall,
                s.wall * 1e6,
                s.cpu * 1e6,
                s.allocs,
                s.wall / best.wall,
                s.cpu / best.cpu
            );
        }
    }
    Ok(())
}
