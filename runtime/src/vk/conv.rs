//! Conversions between ptc's types and Vulkan's, and Vulkan errors as
//! [`RuntimeError`]s.

use super::adapter::{DeviceKind, GlobalPriority};
use crate::error::RuntimeError;
use ash::vk;

/// Converts a Vulkan error into the runtime's typed error.
pub(super) fn vk_err(what: &'static str) -> impl Fn(vk::Result) -> RuntimeError {
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

/// `graphics|compute|transfer|sparse`: the flags `ptc devices` shows.
pub(super) fn queue_flag_names(flags: vk::QueueFlags) -> String {
    let mut names = Vec::new();
    for (flag, n) in [
        (vk::QueueFlags::GRAPHICS, "graphics"),
        (vk::QueueFlags::COMPUTE, "compute"),
        (vk::QueueFlags::TRANSFER, "transfer"),
        (vk::QueueFlags::SPARSE_BINDING, "sparse"),
    ] {
        if flags.contains(flag) {
            names.push(n);
        }
    }
    names.join("|")
}

/// `major.minor.patch` of a Vulkan version number.
pub(super) fn version_string(v: u32) -> String {
    format!(
        "{}.{}.{}",
        vk::api_version_major(v),
        vk::api_version_minor(v),
        vk::api_version_patch(v)
    )
}

impl DeviceKind {
    /// The kind of a Vulkan physical-device type.
    pub(super) fn from_vk(t: vk::PhysicalDeviceType) -> DeviceKind {
        match t {
            vk::PhysicalDeviceType::DISCRETE_GPU => DeviceKind::Discrete,
            vk::PhysicalDeviceType::INTEGRATED_GPU => DeviceKind::Integrated,
            vk::PhysicalDeviceType::VIRTUAL_GPU => DeviceKind::Virtual,
            vk::PhysicalDeviceType::CPU => DeviceKind::Cpu,
            _ => DeviceKind::Other,
        }
    }
}

impl GlobalPriority {
    /// The Vulkan queue global priority of this level.
    pub(super) fn to_vk(self) -> vk::QueueGlobalPriorityKHR {
        match self {
            GlobalPriority::Low => vk::QueueGlobalPriorityKHR::LOW,
            GlobalPriority::Medium => vk::QueueGlobalPriorityKHR::MEDIUM,
            GlobalPriority::High => vk::QueueGlobalPriorityKHR::HIGH,
            GlobalPriority::Realtime => vk::QueueGlobalPriorityKHR::REALTIME,
        }
    }
}
