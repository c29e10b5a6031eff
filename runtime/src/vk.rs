//! The thin unsafe layer: every `ash` call of the runtime lives here, behind
//! safe wrappers. Handles (`vk::Buffer`, `vk::Pipeline`, ...) are plain
//! `Copy` values; whoever creates one through [`Gpu`] destroys it through
//! [`Gpu`] before the `Gpu` is dropped (graphs hold an `Arc<Gpu>`).

use crate::error::RuntimeError;
use ash::vk;
use gpu_allocator::vulkan::{
    Allocation, AllocationCreateDesc, AllocationScheme, Allocator, AllocatorCreateDesc,
};
use gpu_allocator::MemoryLocation;
use std::ffi::{c_void, CStr, CString};
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

const VALIDATION_LAYER: &CStr = c"VK_LAYER_KHRONOS_validation";

/// Every WARNING/ERROR message the validation layer reported.
///
/// Cloning shares the log; it outlives the [`Runtime`](crate::Runtime) so
/// messages emitted while destroying the device (leaks) are seen too.
#[derive(Clone, Debug, Default)]
pub struct ValidationLog(Arc<Mutex<Vec<String>>>);

impl ValidationLog {
    /// The recorded messages.
    pub fn messages(&self) -> Vec<String> {
        match self.0.lock() {
            Ok(v) => v.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// True if nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.messages().is_empty()
    }
}

unsafe extern "system" fn debug_callback(
    severity: vk::DebugUtilsMessageSeverityFlagsEXT,
    _types: vk::DebugUtilsMessageTypeFlagsEXT,
    data: *const vk::DebugUtilsMessengerCallbackDataEXT<'_>,
    user: *mut c_void,
) -> vk::Bool32 {
    let bad = vk::DebugUtilsMessageSeverityFlagsEXT::WARNING
        | vk::DebugUtilsMessageSeverityFlagsEXT::ERROR;
    if !severity.intersects(bad) || user.is_null() || data.is_null() {
        return vk::FALSE;
    }
    // SAFETY: `user` is the pointer to the `Mutex<Vec<String>>` inside the
    // `ValidationLog` Arc that `Context` keeps alive until after the
    // messenger is destroyed; `data` is valid for the duration of the call
    // (Vulkan spec), and its message is a NUL-terminated string or null.
    let (log, msg) = unsafe {
        let log = &*(user as *const Mutex<Vec<String>>);
        let d = &*data;
        let msg = if d.p_message.is_null() {
            String::from("(no message)")
        } else {
            CStr::from_ptr(d.p_message).to_string_lossy().into_owned()
        };
        (log, msg)
    };
    let line = format!("[{severity:?}] {msg}");
    if std::env::var_os("PTC_VALIDATION_QUIET").is_none() {
        eprintln!("ptc validation: {line}");
    }
    match log.lock() {
        Ok(mut v) => v.push(line),
        Err(p) => p.into_inner().push(line),
    }
    vk::FALSE
}

/// Converts a Vulkan error into the runtime's typed error.
pub(crate) fn vk_err(what: &'static str) -> impl Fn(vk::Result) -> RuntimeError {
    move |r| match r {
        vk::Result::ERROR_DEVICE_LOST => RuntimeError::DeviceLost,
        vk::Result::ERROR_OUT_OF_DEVICE_MEMORY | vk::Result::ERROR_OUT_OF_HOST_MEMORY => {
            RuntimeError::OutOfMemory(what.to_string())
        }
        other => RuntimeError::Vulkan {
            what,
            result: other,
        },
    }
}

/// Kind of a physical device, in preference order.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DeviceKind {
    /// A discrete GPU.
    Discrete,
    /// An integrated GPU.
    Integrated,
    /// A virtual GPU.
    Virtual,
    /// A CPU implementation (lavapipe).
    Cpu,
    /// Anything else.
    Other,
}

impl DeviceKind {
    fn from_vk(t: vk::PhysicalDeviceType) -> DeviceKind {
        match t {
            vk::PhysicalDeviceType::DISCRETE_GPU => DeviceKind::Discrete,
            vk::PhysicalDeviceType::INTEGRATED_GPU => DeviceKind::Integrated,
            vk::PhysicalDeviceType::VIRTUAL_GPU => DeviceKind::Virtual,
            vk::PhysicalDeviceType::CPU => DeviceKind::Cpu,
            _ => DeviceKind::Other,
        }
    }

    /// Lower-case name (`discrete`, `integrated`, `virtual`, `cpu`, `other`).
    pub fn name(self) -> &'static str {
        match self {
            DeviceKind::Discrete => "discrete",
            DeviceKind::Integrated => "integrated",
            DeviceKind::Virtual => "virtual",
            DeviceKind::Cpu => "cpu",
            DeviceKind::Other => "other",
        }
    }
}

/// A queue family as reported by the device.
#[derive(Clone, Debug)]
pub struct QueueFamilyInfo {
    /// Family index.
    pub index: u32,
    /// Human-readable flags, e.g. `graphics|compute|transfer`.
    pub flags: String,
    /// Number of queues.
    pub count: u32,
    /// True if the family supports compute.
    pub compute: bool,
    /// Meaningful bits of its timestamps (0: no timestamp queries).
    pub timestamp_valid_bits: u32,
}

impl DeviceInfo {
    /// Its limits, as plans are checked against them.
    pub fn limits(&self) -> ptc_plan::limits::DeviceLimits {
        ptc_plan::limits::DeviceLimits {
            max_storage_buffer_range: self.max_storage_buffer_range,
            max_uniform_buffer_range: self.max_uniform_buffer_range,
            max_push_constants_size: self.max_push_constants_size,
            max_compute_shared_memory_size: self.max_shared_memory,
            max_compute_work_group_count: self.max_workgroup_count,
            max_compute_work_group_invocations: self.max_workgroup_invocations,
            max_compute_work_group_size: self.max_workgroup_size,
        }
    }
}

/// What `ptc devices` prints about one device.
#[derive(Clone, Debug)]
pub struct DeviceInfo {
    /// Index in enumeration order (what `--device INDEX` takes).
    pub index: usize,
    /// Device name.
    pub name: String,
    /// Device kind.
    pub kind: DeviceKind,
    /// Driver name and info (e.g. `llvmpipe`, `Mesa 22.3.6`).
    pub driver: String,
    /// Vulkan API version `major.minor.patch`.
    pub api_version: String,
    /// Queue families.
    pub queue_families: Vec<QueueFamilyInfo>,
    /// `maxStorageBufferRange` in bytes.
    pub max_storage_buffer_range: u64,
    /// `maxPushConstantsSize` in bytes.
    pub max_push_constants_size: u32,
    /// `maxComputeWorkGroupInvocations`.
    pub max_workgroup_invocations: u32,
    /// `maxComputeWorkGroupCount`.
    pub max_workgroup_count: [u32; 3],
    /// `maxComputeSharedMemorySize` in bytes.
    pub max_shared_memory: u32,
    /// `maxUniformBufferRange` in bytes.
    pub max_uniform_buffer_range: u64,
    /// `maxComputeWorkGroupSize`.
    pub max_workgroup_size: [u32; 3],
    /// Timeline semaphores supported.
    pub timeline_semaphore: bool,
    /// `storageBuffer8BitAccess` supported.
    pub storage_8bit: bool,
    /// `storageBuffer16BitAccess` supported.
    pub storage_16bit: bool,
    /// `shaderInt8` supported.
    pub shader_int8: bool,
    /// `shaderInt16` supported.
    pub shader_int16: bool,
    /// `shaderInt64` supported.
    pub shader_int64: bool,
    /// `shaderFloat16` supported.
    pub shader_float16: bool,
    /// `shaderFloat64` supported.
    pub shader_float64: bool,
    /// A memory type that is device-local and host-visible exists.
    pub device_local_host_visible: bool,
    /// Nanoseconds per timestamp tick (`limits.timestampPeriod`).
    pub timestamp_period: f32,
    /// The global-priority extension the device offers
    /// (`VK_KHR_global_priority`, else `VK_EXT_global_priority`), if any.
    pub global_priority_ext: Option<String>,
    raw_api: u32,
    maintenance4: bool,
}

/// A queue's system-wide priority (`VK_KHR_global_priority` /
/// `VK_EXT_global_priority`): how the device arbitrates between this process
/// and other processes using it. Lowest first.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum GlobalPriority {
    /// `VK_QUEUE_GLOBAL_PRIORITY_LOW_KHR`.
    Low,
    /// `VK_QUEUE_GLOBAL_PRIORITY_MEDIUM_KHR` (what a queue gets by default).
    Medium,
    /// `VK_QUEUE_GLOBAL_PRIORITY_HIGH_KHR` (may need privileges).
    High,
    /// `VK_QUEUE_GLOBAL_PRIORITY_REALTIME_KHR` (usually needs privileges).
    Realtime,
}

impl GlobalPriority {
    /// Every level, lowest first.
    pub const ALL: [GlobalPriority; 4] = [
        GlobalPriority::Low,
        GlobalPriority::Medium,
        GlobalPriority::High,
        GlobalPriority::Realtime,
    ];

    /// The name `--global-priority` takes and `ptc devices` prints.
    pub fn name(self) -> &'static str {
        match self {
            GlobalPriority::Low => "low",
            GlobalPriority::Medium => "medium",
            GlobalPriority::High => "high",
            GlobalPriority::Realtime => "realtime",
        }
    }

    /// The next lower level (what to try when the driver answers
    /// `VK_ERROR_NOT_PERMITTED_KHR`); `None` below `Low`.
    pub fn lower(self) -> Option<GlobalPriority> {
        match self {
            GlobalPriority::Low => None,
            GlobalPriority::Medium => Some(GlobalPriority::Low),
            GlobalPriority::High => Some(GlobalPriority::Medium),
            GlobalPriority::Realtime => Some(GlobalPriority::High),
        }
    }

    fn to_vk(self) -> vk::QueueGlobalPriorityKHR {
        match self {
            GlobalPriority::Low => vk::QueueGlobalPriorityKHR::LOW,
            GlobalPriority::Medium => vk::QueueGlobalPriorityKHR::MEDIUM,
            GlobalPriority::High => vk::QueueGlobalPriorityKHR::HIGH,
            GlobalPriority::Realtime => vk::QueueGlobalPriorityKHR::REALTIME,
        }
    }
}

impl std::str::FromStr for GlobalPriority {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        GlobalPriority::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                format!("unknown global priority `{s}` (expected low, medium, high or realtime)")
            })
    }
}

impl std::fmt::Display for GlobalPriority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

fn version_string(v: u32) -> String {
    format!(
        "{}.{}.{}",
        vk::api_version_major(v),
        vk::api_version_minor(v),
        vk::api_version_patch(v)
    )
}

/// Loader + instance (+ validation messenger).
pub(crate) struct Context {
    entry: ash::Entry,
    instance: ash::Instance,
    debug: Option<(ash::ext::debug_utils::Instance, vk::DebugUtilsMessengerEXT)>,
    log: ValidationLog,
}

impl Context {
    /// Loads `libvulkan.so.1` and creates an instance, with the validation
    /// layer (and synchronization validation) when `validate` is true.
    pub(crate) fn new(validate: bool) -> Result<Context, RuntimeError> {
        // SAFETY: loading the Vulkan loader library runs its initialisers;
        // the loader is a well-behaved system library.
        let entry =
            unsafe { ash::Entry::load() }.map_err(|e| RuntimeError::NoVulkan(e.to_string()))?;
        let app_name = c"ptc";
        let app = vk::ApplicationInfo::default()
            .application_name(app_name)
            .engine_name(app_name)
            .api_version(vk::API_VERSION_1_3);
        let mut layers: Vec<*const std::ffi::c_char> = Vec::new();
        let mut exts: Vec<*const std::ffi::c_char> = Vec::new();
        if validate {
            // SAFETY: plain enumeration call on a loaded entry.
            let props = unsafe { entry.enumerate_instance_layer_properties() }
                .map_err(vk_err("enumerating layers"))?;
            let found = props
                .iter()
                .any(|p| p.layer_name_as_c_str().ok() == Some(VALIDATION_LAYER));
            if !found {
                return Err(RuntimeError::NoValidationLayer);
            }
            layers.push(VALIDATION_LAYER.as_ptr());
            exts.push(ash::ext::debug_utils::NAME.as_ptr());
            exts.push(ash::ext::validation_features::NAME.as_ptr());
        }
        let enables = [vk::ValidationFeatureEnableEXT::SYNCHRONIZATION_VALIDATION];
        let mut features =
            vk::ValidationFeaturesEXT::default().enabled_validation_features(&enables);
        let mut info = vk::InstanceCreateInfo::default()
            .application_info(&app)
            .enabled_layer_names(&layers)
            .enabled_extension_names(&exts);
        if validate {
            info = info.push_next(&mut features);
        }
        // SAFETY: every pointer in `info` refers to locals alive for the call.
        let instance = unsafe { entry.create_instance(&info, None) }
            .map_err(vk_err("creating the Vulkan instance"))?;
        let log = ValidationLog::default();
        let debug = if validate {
            let du = ash::ext::debug_utils::Instance::new(&entry, &instance);
            let mi = vk::DebugUtilsMessengerCreateInfoEXT::default()
                .message_severity(
                    vk::DebugUtilsMessageSeverityFlagsEXT::WARNING
                        | vk::DebugUtilsMessageSeverityFlagsEXT::ERROR,
                )
                .message_type(
                    vk::DebugUtilsMessageTypeFlagsEXT::GENERAL
                        | vk::DebugUtilsMessageTypeFlagsEXT::VALIDATION
                        | vk::DebugUtilsMessageTypeFlagsEXT::PERFORMANCE,
                )
                .pfn_user_callback(Some(debug_callback))
                .user_data(Arc::as_ptr(&log.0) as *mut c_void);
            // SAFETY: the user-data pointer stays valid while `log` (owned by
            // the Context) lives; the messenger is destroyed before it in Drop.
            match unsafe { du.create_debug_utils_messenger(&mi, None) } {
                Ok(m) => Some((du, m)),
                Err(e) => {
                    // SAFETY: the instance was created above and has no children.
                    unsafe { instance.destroy_instance(None) };
                    return Err(vk_err("creating the debug messenger")(e));
                }
            }
        } else {
            None
        };
        Ok(Context {
            entry,
            instance,
            debug,
            log,
        })
    }

    pub(crate) fn log(&self) -> ValidationLog {
        self.log.clone()
    }

    /// Describes every physical device.
    pub(crate) fn devices(&self) -> Result<Vec<(vk::PhysicalDevice, DeviceInfo)>, RuntimeError> {
        // SAFETY: enumeration on a live instance.
        let pds = unsafe { self.instance.enumerate_physical_devices() }
            .map_err(vk_err("enumerating devices"))?;
        let mut out = Vec::new();
        for (index, pd) in pds.into_iter().enumerate() {
            out.push((pd, self.describe(index, pd)));
        }
        Ok(out)
    }

    fn describe(&self, index: usize, pd: vk::PhysicalDevice) -> DeviceInfo {
        let mut driver = vk::PhysicalDeviceDriverProperties::default();
        let mut props2 = vk::PhysicalDeviceProperties2::default().push_next(&mut driver);
        // SAFETY: `pd` came from this instance; the chained struct outlives the call.
        unsafe {
            self.instance
                .get_physical_device_properties2(pd, &mut props2)
        };
        let props = props2.properties;
        let mut f11 = vk::PhysicalDeviceVulkan11Features::default();
        let mut f12 = vk::PhysicalDeviceVulkan12Features::default();
        let mut f13 = vk::PhysicalDeviceVulkan13Features::default();
        let api = props.api_version;
        let has13 = vk::api_version_minor(api) >= 3 || vk::api_version_major(api) > 1;
        let base = {
            let mut feats = vk::PhysicalDeviceFeatures2::default()
                .push_next(&mut f11)
                .push_next(&mut f12);
            if has13 {
                feats = feats.push_next(&mut f13);
            }
            // SAFETY: as above; the chain only holds structs the device's API version knows.
            unsafe { self.instance.get_physical_device_features2(pd, &mut feats) };
            feats.features
        };
        // SAFETY: as above.
        let fams = unsafe {
            self.instance
                .get_physical_device_queue_family_properties(pd)
        };
        // SAFETY: as above.
        let mem = unsafe { self.instance.get_physical_device_memory_properties(pd) };
        // SAFETY: as above. A failure only means "no extensions known".
        let exts =
            unsafe { self.instance.enumerate_device_extension_properties(pd) }.unwrap_or_default();
        let offered = |name: &CStr| {
            exts.iter()
                .any(|e| e.extension_name_as_c_str().is_ok_and(|n| n == name))
        };
        let global_priority_ext = [vk::KHR_GLOBAL_PRIORITY_NAME, vk::EXT_GLOBAL_PRIORITY_NAME]
            .into_iter()
            .find(|n| offered(n))
            .map(|n| n.to_string_lossy().into_owned());
        let want = vk::MemoryPropertyFlags::DEVICE_LOCAL
            | vk::MemoryPropertyFlags::HOST_VISIBLE
            | vk::MemoryPropertyFlags::HOST_COHERENT;
        let dlhv = mem
            .memory_types_as_slice()
            .iter()
            .any(|t| t.property_flags.contains(want));
        let queue_families = fams
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let mut names = Vec::new();
                for (flag, n) in [
                    (vk::QueueFlags::GRAPHICS, "graphics"),
                    (vk::QueueFlags::COMPUTE, "compute"),
                    (vk::QueueFlags::TRANSFER, "transfer"),
                    (vk::QueueFlags::SPARSE_BINDING, "sparse"),
                ] {
                    if f.queue_flags.contains(flag) {
                        names.push(n);
                    }
                }
                QueueFamilyInfo {
                    index: i as u32,
                    flags: names.join("|"),
                    count: f.queue_count,
                    compute: f.queue_flags.contains(vk::QueueFlags::COMPUTE),
                    timestamp_valid_bits: f.timestamp_valid_bits,
                }
            })
            .collect();
        let cstr = |s: Result<&CStr, _>| {
            s.map(|c: &CStr| c.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let lim = props.limits;
        DeviceInfo {
            index,
            name: cstr(props.device_name_as_c_str()),
            kind: DeviceKind::from_vk(props.device_type),
            driver: format!(
                "{} ({})",
                cstr(driver.driver_name_as_c_str()),
                cstr(driver.driver_info_as_c_str())
            ),
            api_version: version_string(api),
            queue_families,
            max_storage_buffer_range: u64::from(lim.max_storage_buffer_range),
            max_push_constants_size: lim.max_push_constants_size,
            max_workgroup_invocations: lim.max_compute_work_group_invocations,
            max_workgroup_count: lim.max_compute_work_group_count,
            max_shared_memory: lim.max_compute_shared_memory_size,
            max_uniform_buffer_range: u64::from(lim.max_uniform_buffer_range),
            max_workgroup_size: lim.max_compute_work_group_size,
            timeline_semaphore: f12.timeline_semaphore == vk::TRUE,
            storage_8bit: f12.storage_buffer8_bit_access == vk::TRUE,
            storage_16bit: f11.storage_buffer16_bit_access == vk::TRUE,
            shader_int8: f12.shader_int8 == vk::TRUE,
            shader_int16: base.shader_int16 == vk::TRUE,
            shader_int64: base.shader_int64 == vk::TRUE,
            shader_float16: f12.shader_float16 == vk::TRUE,
            shader_float64: base.shader_float64 == vk::TRUE,
            device_local_host_visible: dlhv,
            timestamp_period: lim.timestamp_period,
            global_priority_ext,
            raw_api: api,
            maintenance4: has13 && f13.maintenance4 == vk::TRUE,
        }
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: the messenger and instance were created by this Context and
        // every child object (devices) was destroyed before (Gpu holds an Arc
        // to its Context). The log outlives the messenger.
        unsafe {
            if let Some((du, m)) = self.debug.take() {
                du.destroy_debug_utils_messenger(m, None);
            }
            self.instance.destroy_instance(None);
        }
        let _ = &self.entry;
    }
}

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

/// A short list kept on the stack (waits, signals and command buffers of
/// one submission): the per-frame path does not touch the heap for them.
pub(crate) type Small<T> = smallvec::SmallVec<[T; 10]>;

/// One queue the runtime may submit to.
pub(crate) struct QueueRef {
    pub(crate) family: u32,
    pub(crate) queue: Mutex<vk::Queue>,
}

/// A logical device with its queues, allocator and pipeline cache.
pub(crate) struct Gpu {
    /// Keeps the instance alive until after the device is destroyed.
    _ctx: Arc<Context>,
    pub(crate) info: DeviceInfo,
    device: ash::Device,
    allocator: ManuallyDrop<Mutex<Allocator>>,
    cache: vk::PipelineCache,
    /// Every queue of every compute-capable family (family order, then index).
    queues: Vec<QueueRef>,
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

/// Picks the device: `choice` by index or (case-insensitive substring of) name,
/// else the first discrete, integrated, virtual, then CPU device.
fn pick(
    devs: &[(vk::PhysicalDevice, DeviceInfo)],
    choice: Option<&str>,
) -> Result<(vk::PhysicalDevice, DeviceInfo), RuntimeError> {
    if let Some(c) = choice {
        if let Ok(i) = c.parse::<usize>() {
            return devs.get(i).cloned().ok_or_else(|| {
                RuntimeError::NoDevice(format!(
                    "no device with index {i} (there are {})",
                    devs.len()
                ))
            });
        }
        let lc = c.to_lowercase();
        return devs
            .iter()
            .find(|(_, d)| d.name.to_lowercase().contains(&lc))
            .cloned()
            .ok_or_else(|| {
                let names: Vec<String> = devs.iter().map(|(_, d)| d.name.clone()).collect();
                RuntimeError::NoDevice(format!(
                    "no device named `{c}` (available: {})",
                    names.join(", ")
                ))
            });
    }
    devs.iter()
        .filter(|(_, d)| d.queue_families.iter().any(|f| f.compute))
        .min_by_key(|(_, d)| d.kind)
        .cloned()
        .ok_or_else(|| RuntimeError::NoDevice("no Vulkan device with a compute queue".into()))
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
                    queue: Mutex::new(q),
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
        Ok(Gpu {
            _ctx: ctx,
            info,
            device,
            allocator: ManuallyDrop::new(Mutex::new(allocator)),
            cache,
            queues,
            counters: Counters::default(),
            staging,
            global_priority: granted,
        })
    }

    /// The queue a graph submits to. The one place where queues are chosen;
    /// a priority scheduler can map priorities onto several queues here.
    pub(crate) fn queue_for(&self, _priority: u32) -> &QueueRef {
        // invariant: Gpu::new only succeeds on a device with a compute family,
        // and every family has at least one queue.
        &self.queues[0]
    }

    /// Number of queues the scheduler may submit graph work to: the queues
    /// of the family graph command pools are created for (the first
    /// compute family), in Vulkan-priority order.
    pub(crate) fn sched_queue_count(&self) -> usize {
        let fam = self.queues[0].family;
        self.queues.iter().take_while(|q| q.family == fam).count()
    }

    /// Scheduler queue `i` (clamped to the available ones).
    pub(crate) fn sched_queue(&self, i: usize) -> &QueueRef {
        // invariant: `Gpu::new` fails unless there is at least one queue,
        // and the first `sched_queue_count()` queues share the first family.
        &self.queues[i.min(self.sched_queue_count() - 1)]
    }

    /// True if the graph queues support timestamp queries.
    pub(crate) fn has_timestamps(&self) -> bool {
        let fam = self.queues[0].family;
        self.info.timestamp_period > 0.0
            && self
                .info
                .queue_families
                .iter()
                .any(|f| f.index == fam && f.timestamp_valid_bits > 0)
    }

    /// A query pool of `n` timestamp queries.
    pub(crate) fn create_timestamp_pool(&self, n: u32) -> Result<vk::QueryPool, RuntimeError> {
        let info = vk::QueryPoolCreateInfo::default()
            .query_type(vk::QueryType::TIMESTAMP)
            .query_count(n);
        // SAFETY: a live device; the create-info is a local.
        let p = unsafe { self.device.create_query_pool(&info, None) }
            .map_err(vk_err("creating a timestamp query pool"))?;
        self.count_alloc(1);
        Ok(p)
    }

    /// Destroys a query pool (its users must be complete).
    pub(crate) fn destroy_query_pool(&self, p: vk::QueryPool) {
        // SAFETY: the caller waited for every submission using `p`.
        unsafe { self.device.destroy_query_pool(p, None) };
    }

    /// GPU nanoseconds between timestamp queries `first` and `first + 1`,
    /// or `None` if they are not both available yet.
    pub(crate) fn timestamp_delta(
        &self,
        pool: vk::QueryPool,
        first: u32,
    ) -> Result<Option<u64>, RuntimeError> {
        let mut data = [[0u64; 2]; 2];
        // SAFETY: `pool` is a live timestamp pool with at least first + 2
        // queries; `data` holds 2 (value, availability) pairs of u64.
        let r = unsafe {
            self.device.get_query_pool_results(
                pool,
                first,
                &mut data,
                vk::QueryResultFlags::TYPE_64 | vk::QueryResultFlags::WITH_AVAILABILITY,
            )
        };
        match r {
            Ok(()) | Err(vk::Result::NOT_READY) => {}
            Err(e) => return Err(vk_err("reading timestamps")(e)),
        }
        if data[0][1] == 0 || data[1][1] == 0 {
            return Ok(None);
        }
        let fam = self.queues[0].family;
        let bits = self
            .info
            .queue_families
            .iter()
            .find(|f| f.index == fam)
            .map_or(64, |f| f.timestamp_valid_bits);
        let mask = if bits >= 64 {
            u64::MAX
        } else {
            (1u64 << bits) - 1
        };
        let ticks = data[1][0].wrapping_sub(data[0][0]) & mask;
        Ok(Some(
            (ticks as f64 * f64::from(self.info.timestamp_period)) as u64,
        ))
    }

    /// Number of compute queues available.
    pub(crate) fn queue_count(&self) -> usize {
        self.queues.len()
    }

    fn count_alloc(&self, n: u64) {
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
        let requirements = unsafe { self.device.get_buffer_memory_requirements(buffer) };
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

    /// Creates a timeline semaphore starting at 0.
    pub(crate) fn create_timeline(&self) -> Result<vk::Semaphore, RuntimeError> {
        let mut t = vk::SemaphoreTypeCreateInfo::default()
            .semaphore_type(vk::SemaphoreType::TIMELINE)
            .initial_value(0);
        let info = vk::SemaphoreCreateInfo::default().push_next(&mut t);
        // SAFETY: valid create info; the device enabled timelineSemaphore.
        let s = unsafe { self.device.create_semaphore(&info, None) }
            .map_err(vk_err("creating a semaphore"))?;
        self.count_alloc(1);
        Ok(s)
    }

    pub(crate) fn destroy_semaphore(&self, s: vk::Semaphore) {
        // SAFETY: callers destroy semaphores only after every submission using them completed.
        unsafe { self.device.destroy_semaphore(s, None) };
    }

    /// Current value of a timeline semaphore.
    pub(crate) fn timeline_value(&self, s: vk::Semaphore) -> Result<u64, RuntimeError> {
        // SAFETY: `s` is a live timeline semaphore of this device.
        unsafe { self.device.get_semaphore_counter_value(s) }.map_err(vk_err("reading a semaphore"))
    }

    /// Blocks until every `(semaphore, value)` is reached.
    pub(crate) fn wait_timelines(
        &self,
        waits: &[(vk::Semaphore, u64)],
    ) -> Result<(), RuntimeError> {
        if waits.is_empty() {
            return Ok(());
        }
        let sems: Small<vk::Semaphore> = waits.iter().map(|w| w.0).collect();
        let vals: Small<u64> = waits.iter().map(|w| w.1).collect();
        let info = vk::SemaphoreWaitInfo::default()
            .semaphores(&sems)
            .values(&vals);
        // SAFETY: live timeline semaphores; arrays outlive the call.
        match unsafe { self.device.wait_semaphores(&info, 120_000_000_000) } {
            Ok(()) => Ok(()),
            Err(vk::Result::TIMEOUT) => Err(RuntimeError::Timeout(
                "the GPU did not finish within 120 s".into(),
            )),
            Err(e) => Err(vk_err("waiting for the GPU")(e)),
        }
    }

    /// Waits until any of the timeline points is reached or `timeout_ns`
    /// passes; returns whether one was reached.
    pub(crate) fn wait_any(
        &self,
        points: &[(vk::Semaphore, u64)],
        timeout_ns: u64,
    ) -> Result<bool, RuntimeError> {
        if points.is_empty() {
            return Ok(false);
        }
        let sems: Small<vk::Semaphore> = points.iter().map(|w| w.0).collect();
        let vals: Small<u64> = points.iter().map(|w| w.1).collect();
        let info = vk::SemaphoreWaitInfo::default()
            .flags(vk::SemaphoreWaitFlags::ANY)
            .semaphores(&sems)
            .values(&vals);
        // SAFETY: live timeline semaphores; arrays outlive the call.
        match unsafe { self.device.wait_semaphores(&info, timeout_ns) } {
            Ok(()) => Ok(true),
            Err(vk::Result::TIMEOUT) => Ok(false),
            Err(e) => Err(vk_err("waiting for the GPU")(e)),
        }
    }

    /// Creates a descriptor-set layout of `n` storage buffers (bindings
    /// 0..n) and, with `uniform`, a uniform buffer at binding `n`.
    pub(crate) fn create_set_layout(
        &self,
        n: usize,
        uniform: bool,
    ) -> Result<vk::DescriptorSetLayout, RuntimeError> {
        let mut bindings: Vec<vk::DescriptorSetLayoutBinding> = (0..n as u32)
            .map(|i| {
                vk::DescriptorSetLayoutBinding::default()
                    .binding(i)
                    .descriptor_type(vk::DescriptorType::STORAGE_BUFFER)
                    .descriptor_count(1)
                    .stage_flags(vk::ShaderStageFlags::COMPUTE)
            })
            .collect();
        if uniform {
            bindings.push(
                vk::DescriptorSetLayoutBinding::default()
                    .binding(n as u32)
                    .descriptor_type(vk::DescriptorType::UNIFORM_BUFFER)
                    .descriptor_count(1)
                    .stage_flags(vk::ShaderStageFlags::COMPUTE),
            );
        }
        let info = vk::DescriptorSetLayoutCreateInfo::default().bindings(&bindings);
        // SAFETY: valid create info.
        let l = unsafe { self.device.create_descriptor_set_layout(&info, None) }
            .map_err(vk_err("creating a descriptor set layout"))?;
        self.count_alloc(1);
        Ok(l)
    }

    /// Creates a pipeline layout with one set and an optional push-constant range.
    pub(crate) fn create_pipeline_layout(
        &self,
        set: vk::DescriptorSetLayout,
        push_bytes: u32,
    ) -> Result<vk::PipelineLayout, RuntimeError> {
        let sets = [set];
        let ranges = [vk::PushConstantRange::default()
            .stage_flags(vk::ShaderStageFlags::COMPUTE)
            .offset(0)
            .size(push_bytes)];
        let mut info = vk::PipelineLayoutCreateInfo::default().set_layouts(&sets);
        if push_bytes > 0 {
            info = info.push_constant_ranges(&ranges);
        }
        // SAFETY: valid create info.
        let l = unsafe { self.device.create_pipeline_layout(&info, None) }
            .map_err(vk_err("creating a pipeline layout"))?;
        self.count_alloc(1);
        Ok(l)
    }

    /// Creates a compute pipeline from SPIR-V words (already checked to be
    /// well-formed SPIR-V with a GLCompute entry point named `entry`: a
    /// validated plan's `ModuleInfo`).
    /// `dispatch_base`: the pipeline may be dispatched with a non-zero base
    /// workgroup (sliced dispatches; Vulkan 1.1 core).
    /// `spec`: specialization constant values (id, 32 bits), passed as
    /// `VkSpecializationInfo` (4 bytes each).
    pub(crate) fn create_compute_pipeline(
        &self,
        words: &[u32],
        entry: &str,
        layout: vk::PipelineLayout,
        dispatch_base: bool,
        spec: &[(u32, u32)],
    ) -> Result<vk::Pipeline, RuntimeError> {
        let entry = CString::new(entry)
            .map_err(|_| RuntimeError::InvalidPlan("entry point name contains NUL".into()))?;
        let sinfo = vk::ShaderModuleCreateInfo::default().code(words);
        // SAFETY: `words` is SPIR-V that plan validation reflected (spirq)
        // and whose compute entry point `entry` exists.
        let module = unsafe { self.device.create_shader_module(&sinfo, None) }
            .map_err(vk_err("creating a shader module"))?;
        let entries: Vec<vk::SpecializationMapEntry> = spec
            .iter()
            .enumerate()
            .map(|(i, (id, _))| {
                vk::SpecializationMapEntry::default()
                    .constant_id(*id)
                    .offset(4 * i as u32)
                    .size(4)
            })
            .collect();
        let data: Vec<u8> = spec.iter().flat_map(|(_, v)| v.to_le_bytes()).collect();
        let spec_info = vk::SpecializationInfo::default()
            .map_entries(&entries)
            .data(&data);
        let mut stage = vk::PipelineShaderStageCreateInfo::default()
            .stage(vk::ShaderStageFlags::COMPUTE)
            .module(module)
            .name(&entry);
        if !spec.is_empty() {
            stage = stage.specialization_info(&spec_info);
        }
        let flags = if dispatch_base {
            vk::PipelineCreateFlags::DISPATCH_BASE
        } else {
            vk::PipelineCreateFlags::empty()
        };
        let info = [vk::ComputePipelineCreateInfo::default()
            .flags(flags)
            .stage(stage)
            .layout(layout)];
        // SAFETY: module and layout are live; the cache belongs to this device.
        let r = unsafe {
            self.device
                .create_compute_pipelines(self.cache, &info, None)
        };
        // SAFETY: the module is no longer needed once the pipeline exists.
        unsafe { self.device.destroy_shader_module(module, None) };
        match r {
            Ok(p) => {
                self.count_alloc(1);
                p.into_iter().next().ok_or(RuntimeError::Vulkan {
                    what: "creating a pipeline",
                    result: vk::Result::ERROR_UNKNOWN,
                })
            }
            Err((_, e)) => Err(vk_err("creating a compute pipeline")(e)),
        }
    }

    /// Creates a descriptor pool for `sets` sets of up to `buffers` storage
    /// buffers and `uniforms` uniform buffers in total.
    pub(crate) fn create_descriptor_pool(
        &self,
        sets: u32,
        buffers: u32,
        uniforms: u32,
    ) -> Result<vk::DescriptorPool, RuntimeError> {
        let sizes = [
            vk::DescriptorPoolSize::default()
                .ty(vk::DescriptorType::STORAGE_BUFFER)
                .descriptor_count(buffers.max(1)),
            vk::DescriptorPoolSize::default()
                .ty(vk::DescriptorType::UNIFORM_BUFFER)
                .descriptor_count(uniforms.max(1)),
        ];
        let info = vk::DescriptorPoolCreateInfo::default()
            .max_sets(sets.max(1))
            .pool_sizes(&sizes);
        // SAFETY: valid create info.
        let p = unsafe { self.device.create_descriptor_pool(&info, None) }
            .map_err(vk_err("creating a descriptor pool"))?;
        self.count_alloc(1);
        Ok(p)
    }

    /// Allocates one set from `pool` and points binding i at `buffers[i]`
    /// (and binding `buffers.len()` at the `uniform` buffer, if any).
    pub(crate) fn allocate_set(
        &self,
        pool: vk::DescriptorPool,
        layout: vk::DescriptorSetLayout,
        buffers: &[vk::Buffer],
        uniform: Option<vk::Buffer>,
    ) -> Result<vk::DescriptorSet, RuntimeError> {
        let layouts = [layout];
        let info = vk::DescriptorSetAllocateInfo::default()
            .descriptor_pool(pool)
            .set_layouts(&layouts);
        // SAFETY: pool and layout are live; the pool was sized for every set.
        let set = unsafe { self.device.allocate_descriptor_sets(&info) }
            .map_err(vk_err("allocating a descriptor set"))?
            .into_iter()
            .next()
            .ok_or(RuntimeError::OutOfMemory("descriptor set".into()))?;
        self.count_alloc(1);
        let infos: Vec<[vk::DescriptorBufferInfo; 1]> = buffers
            .iter()
            .map(|b| {
                [vk::DescriptorBufferInfo::default()
                    .buffer(*b)
                    .offset(0)
                    .range(vk::WHOLE_SIZE)]
            })
            .collect();
        let uinfo: Vec<[vk::DescriptorBufferInfo; 1]> = uniform
            .iter()
            .map(|b| {
                [vk::DescriptorBufferInfo::default()
                    .buffer(*b)
                    .offset(0)
                    .range(vk::WHOLE_SIZE)]
            })
            .collect();
        let mut writes: Vec<vk::WriteDescriptorSet> = infos
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
        for bi in &uinfo {
            writes.push(
                vk::WriteDescriptorSet::default()
                    .dst_set(set)
                    .dst_binding(buffers.len() as u32)
                    .descriptor_type(vk::DescriptorType::UNIFORM_BUFFER)
                    .buffer_info(bi),
            );
        }
        // SAFETY: the set is not in use by any command buffer yet.
        unsafe { self.device.update_descriptor_sets(&writes, &[]) };
        Ok(set)
    }

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
                    d.cmd_write_timestamp(cb, vk::PipelineStageFlags::TOP_OF_PIPE, *pool, *query);
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

    /// Submits command buffers on `q`, waiting on and signalling timeline values.
    pub(crate) fn submit(
        &self,
        q: &QueueRef,
        cbs: &[vk::CommandBuffer],
        waits: &[(vk::Semaphore, u64)],
        signals: &[(vk::Semaphore, u64)],
    ) -> Result<(), RuntimeError> {
        // Per-frame path: a few waits and signals, kept on the stack.
        let wsem: Small<vk::Semaphore> = waits.iter().map(|w| w.0).collect();
        let wval: Small<u64> = waits.iter().map(|w| w.1).collect();
        let stages: Small<vk::PipelineStageFlags> = waits
            .iter()
            .map(|_| vk::PipelineStageFlags::ALL_COMMANDS)
            .collect();
        let ssem: Small<vk::Semaphore> = signals.iter().map(|w| w.0).collect();
        let sval: Small<u64> = signals.iter().map(|w| w.1).collect();
        let mut tl = vk::TimelineSemaphoreSubmitInfo::default()
            .wait_semaphore_values(&wval)
            .signal_semaphore_values(&sval);
        let info = [vk::SubmitInfo::default()
            .wait_semaphores(&wsem)
            .wait_dst_stage_mask(&stages)
            .command_buffers(cbs)
            .signal_semaphores(&ssem)
            .push_next(&mut tl)];
        let queue = q.queue.lock().map_err(|_| RuntimeError::Poisoned)?;
        // SAFETY: the queue is externally synchronised by its mutex; command
        // buffers are fully recorded with SIMULTANEOUS_USE (they may still be
        // pending), and the caller orders conflicting work with timeline waits.
        unsafe { self.device.queue_submit(*queue, &info, vk::Fence::null()) }
            .map_err(vk_err("submitting work"))?;
        self.counters.submits.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Waits until the device is idle (teardown only, never on the frame path).
    pub(crate) fn wait_idle(&self) {
        // SAFETY: all queues are owned by this device; used at teardown.
        let _ = unsafe { self.device.device_wait_idle() };
    }

    pub(crate) fn destroy_pipeline(
        &self,
        p: vk::Pipeline,
        l: vk::PipelineLayout,
        s: vk::DescriptorSetLayout,
    ) {
        // SAFETY: callers destroy these after the GPU finished every use.
        unsafe {
            self.device.destroy_pipeline(p, None);
            self.device.destroy_pipeline_layout(l, None);
            self.device.destroy_descriptor_set_layout(s, None);
        }
    }

    pub(crate) fn destroy_descriptor_pool(&self, p: vk::DescriptorPool) {
        // SAFETY: destroying the pool frees its sets; no pending command buffer uses them.
        unsafe { self.device.destroy_descriptor_pool(p, None) };
    }

    pub(crate) fn destroy_command_pool(&self, p: vk::CommandPool) {
        // SAFETY: destroying the pool frees its command buffers; none is pending.
        unsafe { self.device.destroy_command_pool(p, None) };
    }
}

impl Drop for Gpu {
    fn drop(&mut self) {
        self.wait_idle();
        // SAFETY: every object created through this Gpu was destroyed by its
        // owner (graphs hold an Arc<Gpu>, so they are gone); the allocator is
        // dropped (freeing its memory blocks) before the device, and is not
        // used afterwards.
        unsafe {
            self.device.destroy_pipeline_cache(self.cache, None);
            ManuallyDrop::drop(&mut self.allocator);
            self.device.destroy_device(None);
        }
    }
}

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

/// Index of the device the runtime picks by default (first discrete GPU,
/// else integrated, virtual, CPU), among devices with a compute queue.
pub fn default_device(devs: &[DeviceInfo]) -> Option<usize> {
    devs.iter()
        .filter(|d| d.queue_families.iter().any(|f| f.compute))
        .min_by_key(|d| d.kind)
        .map(|d| d.index)
}

/// Lists every device the loader reports (for `ptc devices`).
pub fn list_devices() -> Result<Vec<DeviceInfo>, RuntimeError> {
    let ctx = Context::new(false)?;
    Ok(ctx.devices()?.into_iter().map(|(_, d)| d).collect())
}
