//! The logical device [`Gpu`]: created on the picked adapter with the
//! features a plan may need and every queue of every compute family; its
//! memory allocator and buffers; counters of what it created.

use super::adapter::{pick, DeviceInfo, GlobalPriority, QueueFamilyInfo};
use super::conv::vk_err;
use super::instance::Context;
use crate::error::RuntimeError;
use ash::vk;
use gpu_allocator::vulkan::{
    Allocation, AllocationCreateDesc, AllocationScheme, Allocator, AllocatorCreateDesc,
};
use gpu_allocator::MemoryLocation;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The host page size assumed for aligning mapped buffers (Linux: 4 KiB).
const HOST_PAGE: u64 = 4096;

/// Host-visible buffers of at least this many bytes are page-aligned (see
/// `create_buffer_usage`); smaller ones keep the driver's alignment.
const HOST_PAGE_ALIGNED_FROM: u64 = 256 << 10;

/// Counters of Vulkan object creations and command-buffer recordings.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) allocations: AtomicU64,
    pub(crate) recordings: AtomicU64,
    pub(crate) submits: AtomicU64,
}

/// A snapshot of the runtime's counters.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CounterSnapshot {
    /// Vulkan objects/memory created (buffers, allocations, pipelines,
    /// descriptor sets, command buffers, semaphores, ...).
    pub allocations: u64,
    /// Command buffers recorded (`vkBeginCommandBuffer`).
    pub recordings: u64,
    /// Queue submissions.
    pub submits: u64,
}

/// One queue the runtime may submit to, with its timeline (see
/// `super::queue`).
pub(crate) struct QueueRef {
    pub(crate) family: u32,
    /// The queue and its submission count, locked together: values are
    /// signalled in submission order.
    pub(super) state: Mutex<QueueState>,
    /// The timeline semaphore every submission to this queue signals, with
    /// its submission number.
    pub(super) timeline: vk::Semaphore,
    /// The highest value the timeline is known to have reached (refreshed
    /// by queries and waits; never ahead of the semaphore).
    pub(super) done: AtomicU64,
}

/// A queue handle and how many submissions it was given.
pub(super) struct QueueState {
    pub(super) queue: vk::Queue,
    pub(super) submitted: u64,
}

/// A logical device with its queues, allocator and pipeline cache.
pub(crate) struct Gpu {
    /// Keeps the instance alive until after the device is destroyed.
    _ctx: Arc<Context>,
    pub(crate) info: DeviceInfo,
    pub(super) device: ash::Device,
    allocator: ManuallyDrop<Mutex<Allocator>>,
    pub(super) cache: vk::PipelineCache,
    /// Every queue of every compute-capable family (family order, then index).
    pub(super) queues: Vec<QueueRef>,
    pub(crate) counters: Counters,
    pub(crate) staging: bool,
    /// The global priority the queues were created with (`None`: the
    /// extension was not requested or not offered; the driver's default).
    pub(crate) global_priority: Option<GlobalPriority>,
}

/// A buffer with its memory.
pub(crate) struct BufferMem {
    pub(crate) buffer: vk::Buffer,
    pub(crate) alloc: Option<Allocation>,
    pub(crate) size: u64,
}

impl BufferMem {
    /// The mapped bytes (host-visible buffers only).
    pub(crate) fn mapped(&self) -> Option<&[u8]> {
        self.alloc
            .as_ref()
            .and_then(|a| a.mapped_slice())
            .map(|s| &s[..self.size as usize])
    }

    /// The mapped bytes, writable (host-visible buffers only).
    pub(crate) fn mapped_mut(&mut self) -> Option<&mut [u8]> {
        let n = self.size as usize;
        self.alloc
            .as_mut()
            .and_then(|a| a.mapped_slice_mut())
            .map(|s| &mut s[..n])
    }
}

impl Gpu {
    /// Creates the logical device.
    pub(crate) fn new(
        ctx: Arc<Context>,
        choice: Option<&str>,
        force_staging: bool,
        global: Option<GlobalPriority>,
    ) -> Result<Gpu, RuntimeError> {
        let devs = ctx.devices()?;
        let (physical, info) = pick(&devs, choice)?;
        if !info.timeline_semaphore || vk::api_version_minor(info.raw_api) < 2 {
            return Err(RuntimeError::MissingFeature {
                device: info.name.clone(),
                feature: "timelineSemaphore (Vulkan 1.2)".into(),
            });
        }
        // Queue selection lives here: every queue of every compute family.
        let fams: Vec<&QueueFamilyInfo> =
            info.queue_families.iter().filter(|f| f.compute).collect();
        // Queue i of a family gets Vulkan priority 1 - i/n: the scheduler
        // puts the highest-priority graphs on queue 0.
        let prios: Vec<Vec<f32>> = fams
            .iter()
            .map(|f| crate::sched::vk_queue_priorities(f.count as usize))
            .collect();
        let mut f11 = vk::PhysicalDeviceVulkan11Features::default()
            .storage_buffer16_bit_access(info.storage_16bit);
        let mut f12 = vk::PhysicalDeviceVulkan12Features::default()
            .timeline_semaphore(true)
            .storage_buffer8_bit_access(info.storage_8bit)
            .shader_int8(info.shader_int8)
            .shader_float16(info.shader_float16);
        let mut f13 = vk::PhysicalDeviceVulkan13Features::default().maintenance4(info.maintenance4);
        let base = vk::PhysicalDeviceFeatures::default()
            .shader_int16(info.shader_int16)
            .shader_int64(info.shader_int64)
            .shader_float64(info.shader_float64);
        let mut feats = vk::PhysicalDeviceFeatures2::default()
            .features(base)
            .push_next(&mut f11)
            .push_next(&mut f12);
        if info.maintenance4 {
            feats = feats.push_next(&mut f13);
        }
        // The global priority applies to every queue of a family (one
        // create-info per family): it ranks this process against others on
        // the device; graphs within the process are ranked by the scheduler
        // and the per-queue priorities above. Only requested where offered;
        // a level the process may not use (VK_ERROR_NOT_PERMITTED_KHR) is
        // retried one level lower.
        let ext = info.global_priority_ext.as_deref();
        let mut want = global.filter(|_| ext.is_some());
        let (device, granted) = loop {
            let mut gp: Vec<vk::DeviceQueueGlobalPriorityCreateInfoKHR> = fams
                .iter()
                .map(|_| {
                    vk::DeviceQueueGlobalPriorityCreateInfoKHR::default().global_priority(
                        want.map_or(vk::QueueGlobalPriorityKHR::MEDIUM, |g| g.to_vk()),
                    )
                })
                .collect();
            let qinfos: Vec<vk::DeviceQueueCreateInfo> = fams
                .iter()
                .zip(&prios)
                .zip(gp.iter_mut())
                .map(|((f, p), g)| {
                    let q = vk::DeviceQueueCreateInfo::default()
                        .queue_family_index(f.index)
                        .queue_priorities(p);
                    if want.is_some() {
                        q.push_next(g)
                    } else {
                        q
                    }
                })
                .collect();
            let ext_names: Vec<*const std::ffi::c_char> = match (want, ext) {
                (Some(_), Some(e)) if e == vk::KHR_GLOBAL_PRIORITY_NAME.to_string_lossy() => {
                    vec![vk::KHR_GLOBAL_PRIORITY_NAME.as_ptr()]
                }
                (Some(_), Some(_)) => vec![vk::EXT_GLOBAL_PRIORITY_NAME.as_ptr()],
                _ => Vec::new(),
            };
            let dinfo = vk::DeviceCreateInfo::default()
                .queue_create_infos(&qinfos)
                .enabled_extension_names(&ext_names)
                .push_next(&mut feats);
            // SAFETY: `physical` belongs to ctx.instance; every pointer in
            // `dinfo` (queue infos and their chained global-priority structs,
            // extension names, feature chain) is to locals or statics alive
            // for the call; the extension is enabled only where offered.
            match unsafe { ctx.instance.create_device(physical, &dinfo, None) } {
                Ok(d) => break (d, want),
                Err(vk::Result::ERROR_NOT_PERMITTED_KHR) if want.is_some() => {
                    want = want.and_then(GlobalPriority::lower);
                }
                Err(e) => return Err(vk_err("creating the logical device")(e)),
            }
        };
        let mut queues = Vec::new();
        for f in &fams {
            for i in 0..f.count {
                // SAFETY: family and index were requested in `qinfos`.
                let q = unsafe { device.get_device_queue(f.index, i) };
                queues.push(QueueRef {
                    family: f.index,
                    state: Mutex::new(QueueState {
                        queue: q,
                        submitted: 0,
                    }),
                    timeline: vk::Semaphore::null(),
                    done: AtomicU64::new(0),
                });
            }
        }
        let allocator = Allocator::new(&AllocatorCreateDesc {
            instance: ctx.instance.clone(),
            device: device.clone(),
            physical_device: physical,
            debug_settings: Default::default(),
            buffer_device_address: false,
            allocation_sizes: Default::default(),
        });
        let allocator = match allocator {
            Ok(a) => a,
            Err(e) => {
                // SAFETY: the device has no children yet.
                unsafe { device.destroy_device(None) };
                return Err(RuntimeError::OutOfMemory(format!(
                    "creating the allocator: {e}"
                )));
            }
        };
        // SAFETY: a live device; empty initial data.
        let cache = match unsafe {
            device.create_pipeline_cache(&vk::PipelineCacheCreateInfo::default(), None)
        } {
            Ok(c) => c,
            Err(e) => {
                drop(allocator);
                // SAFETY: the device has no other children.
                unsafe { device.destroy_device(None) };
                return Err(vk_err("creating the pipeline cache")(e));
            }
        };
        let staging = force_staging || !info.device_local_host_visible;
        let mut gpu = Gpu {
            _ctx: ctx,
            info,
            device,
            allocator: ManuallyDrop::new(Mutex::new(allocator)),
            cache,
            queues,
            counters: Counters::default(),
            staging,
            global_priority: granted,
        };
        // From here on, Gpu's Drop releases everything if we fail.
        for i in 0..gpu.queues.len() {
            let t = gpu.create_timeline()?;
            gpu.queues[i].timeline = t;
        }
        Ok(gpu)
    }

    /// The queue (index) a graph's own transfers go to: input uploads,
    /// initial values, read-backs. The one place where queues are chosen
    /// for them; graph work goes where the scheduler says
    /// ([`Gpu::sched_queue`]).
    pub(crate) fn queue_for(&self, _priority: u32) -> usize {
        // invariant: Gpu::new only succeeds on a device with a compute family,
        // and every family has at least one queue.
        0
    }

    /// The queue family of queue `queue` (graph command pools are made for
    /// the family of [`Gpu::queue_for`], which the scheduler's queues share).
    pub(crate) fn family(&self, queue: usize) -> u32 {
        self.queues.get(queue).map_or(0, |q| q.family)
    }

    /// Number of queues the scheduler may submit graph work to: the queues
    /// of the family graph command pools are created for (the first
    /// compute family), in Vulkan-priority order.
    pub(crate) fn sched_queue_count(&self) -> usize {
        let fam = self.queues[0].family;
        self.queues.iter().take_while(|q| q.family == fam).count()
    }

    /// The queue (index) of scheduler queue `i` (clamped to the available
    /// ones).
    pub(crate) fn sched_queue(&self, i: usize) -> usize {
        // invariant: `Gpu::new` fails unless there is at least one queue,
        // and the first `sched_queue_count()` queues share the first family.
        i.min(self.sched_queue_count() - 1)
    }

    /// Number of compute queues available.
    pub(crate) fn queue_count(&self) -> usize {
        self.queues.len()
    }

    pub(super) fn count_alloc(&self, n: u64) {
        self.counters.allocations.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> CounterSnapshot {
        CounterSnapshot {
            allocations: self.counters.allocations.load(Ordering::Relaxed),
            recordings: self.counters.recordings.load(Ordering::Relaxed),
            submits: self.counters.submits.load(Ordering::Relaxed),
        }
    }

    /// Creates a storage buffer (plus transfer usage) with memory at `location`.
    pub(crate) fn create_buffer(
        &self,
        name: &str,
        size: u64,
        location: MemoryLocation,
    ) -> Result<BufferMem, RuntimeError> {
        self.create_buffer_usage(
            name,
            size,
            location,
            vk::BufferUsageFlags::STORAGE_BUFFER
                | vk::BufferUsageFlags::TRANSFER_SRC
                | vk::BufferUsageFlags::TRANSFER_DST,
        )
    }

    /// Creates a host-visible uniform buffer holding `bytes` (a ptask's
    /// params, written once).
    pub(crate) fn create_uniform_buffer(
        &self,
        name: &str,
        bytes: &[u8],
    ) -> Result<BufferMem, RuntimeError> {
        let mut b = self.create_buffer_usage(
            name,
            bytes.len() as u64,
            MemoryLocation::CpuToGpu,
            vk::BufferUsageFlags::UNIFORM_BUFFER,
        )?;
        match b.mapped_mut() {
            Some(dst) if dst.len() >= bytes.len() => {
                dst[..bytes.len()].copy_from_slice(bytes);
                Ok(b)
            }
            _ => {
                self.destroy_buffer(&mut b);
                Err(RuntimeError::OutOfMemory(format!(
                    "uniform buffer `{name}` is not host-visible"
                )))
            }
        }
    }

    fn create_buffer_usage(
        &self,
        name: &str,
        size: u64,
        location: MemoryLocation,
        usage: vk::BufferUsageFlags,
    ) -> Result<BufferMem, RuntimeError> {
        let alloc_size = size.div_ceil(4) * 4;
        let info = vk::BufferCreateInfo::default()
            .size(alloc_size)
            .usage(usage)
            .sharing_mode(vk::SharingMode::EXCLUSIVE);
        // SAFETY: valid create info on a live device.
        let buffer = unsafe { self.device.create_buffer(&info, None) }
            .map_err(vk_err("creating a buffer"))?;
        self.count_alloc(1);
        // SAFETY: `buffer` was just created on this device.
        let mut requirements = unsafe { self.device.get_buffer_memory_requirements(buffer) };
        if location != MemoryLocation::GpuOnly && size >= HOST_PAGE_ALIGNED_FROM {
            // Mapped frames this large start on a page, so a sink can hand
            // them to the disk with direct I/O, without a bounce copy.
            requirements.alignment = requirements.alignment.max(HOST_PAGE);
        }
        let alloc = {
            let mut a = self.allocator.lock().map_err(|_| RuntimeError::Poisoned)?;
            a.allocate(&AllocationCreateDesc {
                name,
                requirements,
                location,
                linear: true,
                allocation_scheme: AllocationScheme::GpuAllocatorManaged,
            })
        };
        let alloc = match alloc {
            Ok(a) => a,
            Err(e) => {
                // SAFETY: the buffer is unused and unbound.
                unsafe { self.device.destroy_buffer(buffer, None) };
                return Err(RuntimeError::OutOfMemory(format!(
                    "allocating {size} bytes for `{name}`: {e}"
                )));
            }
        };
        self.count_alloc(1);
        // SAFETY: the allocation satisfies `requirements` of this buffer and
        // is bound exactly once.
        let bound = unsafe {
            self.device
                .bind_buffer_memory(buffer, alloc.memory(), alloc.offset())
        };
        let mut bm = BufferMem {
            buffer,
            alloc: Some(alloc),
            size,
        };
        if let Err(e) = bound {
            self.destroy_buffer(&mut bm);
            return Err(vk_err("binding buffer memory")(e));
        }
        Ok(bm)
    }

    /// Destroys a buffer and frees its memory (the GPU must be done with it).
    pub(crate) fn destroy_buffer(&self, b: &mut BufferMem) {
        if b.buffer != vk::Buffer::null() {
            // SAFETY: callers only destroy buffers no pending submission uses.
            unsafe { self.device.destroy_buffer(b.buffer, None) };
            b.buffer = vk::Buffer::null();
        }
        if let Some(a) = b.alloc.take() {
            if let Ok(mut al) = self.allocator.lock() {
                let _ = al.free(a);
            }
        }
    }

    /// Waits until the device is idle (teardown only, never on the frame path).
    pub(crate) fn wait_idle(&self) {
        // SAFETY: all queues are owned by this device; used at teardown.
        let _ = unsafe { self.device.device_wait_idle() };
    }
}

impl Drop for Gpu {
    fn drop(&mut self) {
        self.wait_idle();
        // SAFETY: every object created through this Gpu was destroyed by its
        // owner (graphs hold an Arc<Gpu>, so they are gone), the queues are
        // idle so their timelines are unused; the allocator is
        // dropped (freeing its memory blocks) before the device, and is not
        // used afterwards.
        unsafe {
            for q in &self.queues {
                if q.timeline != vk::Semaphore::null() {
                    self.device.destroy_semaphore(q.timeline, None);
                }
            }
            self.device.destroy_pipeline_cache(self.cache, None);
            ManuallyDrop::drop(&mut self.allocator);
            self.device.destroy_device(None);
        }
    }
}
