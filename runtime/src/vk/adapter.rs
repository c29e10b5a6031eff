//! Physical devices ("adapters"): what each offers ([`DeviceInfo`], what
//! `ptc devices` prints), which one the runtime picks, and the system-wide
//! queue priority levels ([`GlobalPriority`]).

use super::conv::{queue_flag_names, version_string, vk_err};
use super::instance::Context;
use crate::error::RuntimeError;
use ash::vk;
use std::ffi::CStr;

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
    /// Subgroup operations compute shaders may use
    /// (`VkSubgroupFeatureFlags`; 0 if compute has none).
    pub subgroup_operations: u32,
    /// `subgroupSize`.
    pub subgroup_size: u32,
    /// A memory type that is device-local and host-visible exists.
    pub device_local_host_visible: bool,
    /// Nanoseconds per timestamp tick (`limits.timestampPeriod`).
    pub timestamp_period: f32,
    /// The global-priority extension the device offers
    /// (`VK_KHR_global_priority`, else `VK_EXT_global_priority`), if any.
    pub global_priority_ext: Option<String>,
    pub(super) raw_api: u32,
    pub(super) maintenance4: bool,
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

impl Context {
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
        let mut subgroup = vk::PhysicalDeviceSubgroupProperties::default();
        let mut props2 = vk::PhysicalDeviceProperties2::default()
            .push_next(&mut driver)
            .push_next(&mut subgroup);
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
            .map(|(i, f)| QueueFamilyInfo {
                index: i as u32,
                flags: queue_flag_names(f.queue_flags),
                count: f.queue_count,
                compute: f.queue_flags.contains(vk::QueueFlags::COMPUTE),
                timestamp_valid_bits: f.timestamp_valid_bits,
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
            // Subgroup operations count only where compute shaders have them.
            subgroup_operations: if subgroup
                .supported_stages
                .contains(vk::ShaderStageFlags::COMPUTE)
            {
                subgroup.supported_operations.as_raw()
            } else {
                0
            },
            subgroup_size: subgroup.subgroup_size,
            device_local_host_visible: dlhv,
            timestamp_period: lim.timestamp_period,
            global_priority_ext,
            raw_api: api,
            maintenance4: has13 && f13.maintenance4 == vk::TRUE,
        }
    }
}

/// Picks the device: `choice` by index or (case-insensitive substring of) name,
/// else the first discrete, integrated, virtual, then CPU device.
pub(super) fn pick(
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
