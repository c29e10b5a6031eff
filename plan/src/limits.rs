//! Device limits, in one table for the checker and the runtime.
//!
//! A kernel or dispatch may need more of a device than the device offers:
//! shared memory, workgroups per dispatch, push-constant bytes, buffer
//! range, workgroup size. `ptc run` compares a plan's [`Requirements`]
//! with the device it runs on ([`DeviceLimits::check`] with the device's
//! limits); `ptc check` cannot know that device, so it holds kernels to
//! [`DeviceLimits::BASELINE`], the limits every device ptc targets offers,
//! with the same code. So a graph that checks clean is not refused by
//! `ptc run` for a limit, on any of those devices.

use crate::{PtaskPlan, Requirements};

/// The limits of one device (names as in `VkPhysicalDeviceLimits`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceLimits {
    /// `maxStorageBufferRange`, bytes.
    pub max_storage_buffer_range: u64,
    /// `maxUniformBufferRange`, bytes.
    pub max_uniform_buffer_range: u64,
    /// `maxPushConstantsSize`, bytes.
    pub max_push_constants_size: u32,
    /// `maxComputeSharedMemorySize`, bytes.
    pub max_compute_shared_memory_size: u32,
    /// `maxComputeWorkGroupCount`, per dimension.
    pub max_compute_work_group_count: [u32; 3],
    /// `maxComputeWorkGroupInvocations`.
    pub max_compute_work_group_invocations: u32,
    /// `maxComputeWorkGroupSize`, per dimension.
    pub max_compute_work_group_size: [u32; 3],
}

/// One limit of [`DeviceLimits`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Limit {
    /// `maxStorageBufferRange`.
    StorageBufferRange,
    /// `maxUniformBufferRange`.
    UniformBufferRange,
    /// `maxPushConstantsSize`.
    PushConstantsSize,
    /// `maxComputeSharedMemorySize`.
    SharedMemorySize,
    /// `maxComputeWorkGroupCount` along one dimension (0 = x).
    WorkGroupCount(usize),
    /// `maxComputeWorkGroupInvocations`.
    WorkGroupInvocations,
    /// `maxComputeWorkGroupSize` along one dimension (0 = x).
    WorkGroupSize(usize),
}

const AXES: [&str; 3] = ["x", "y", "z"];

impl Limit {
    /// The Vulkan name, e.g. `maxComputeWorkGroupCount[1]`.
    pub fn vulkan_name(self) -> String {
        match self {
            Limit::StorageBufferRange => "maxStorageBufferRange".into(),
            Limit::UniformBufferRange => "maxUniformBufferRange".into(),
            Limit::PushConstantsSize => "maxPushConstantsSize".into(),
            Limit::SharedMemorySize => "maxComputeSharedMemorySize".into(),
            Limit::WorkGroupCount(i) => format!("maxComputeWorkGroupCount[{i}]"),
            Limit::WorkGroupInvocations => "maxComputeWorkGroupInvocations".into(),
            Limit::WorkGroupSize(i) => format!("maxComputeWorkGroupSize[{i}]"),
        }
    }

    /// What the Vulkan 1.2 specification guarantees on every device
    /// ("Required Limits").
    pub fn vulkan_minimum(self) -> u64 {
        match self {
            Limit::StorageBufferRange => 1 << 27,
            Limit::UniformBufferRange => 16384,
            Limit::PushConstantsSize => 128,
            Limit::SharedMemorySize => 16384,
            Limit::WorkGroupCount(_) => 65535,
            Limit::WorkGroupInvocations => 128,
            Limit::WorkGroupSize(2) => 64,
            Limit::WorkGroupSize(_) => 128,
        }
    }

    /// The value alone: `32 KiB` for sizes, `65535` for counts.
    pub fn value(self, n: u64) -> String {
        match self {
            Limit::StorageBufferRange
            | Limit::UniformBufferRange
            | Limit::PushConstantsSize
            | Limit::SharedMemorySize => bytes(n),
            _ => n.to_string(),
        }
    }

    /// The value, in words: `32 KiB`, `65535 workgroups along y`...
    pub fn amount(self, n: u64) -> String {
        match self {
            Limit::StorageBufferRange
            | Limit::UniformBufferRange
            | Limit::PushConstantsSize
            | Limit::SharedMemorySize => bytes(n),
            Limit::WorkGroupCount(i) => format!("{n} workgroups along {}", AXES[i % 3]),
            Limit::WorkGroupInvocations => format!("{n} invocations per workgroup"),
            Limit::WorkGroupSize(i) => format!("a workgroup {n} wide along {}", AXES[i % 3]),
        }
    }
}

/// `128 B`, `32 KiB`, `128 MiB`, or bytes when not a whole number of units.
pub fn bytes(n: u64) -> String {
    const KIB: u64 = 1024;
    if n >= KIB * KIB && n % (KIB * KIB) == 0 {
        format!("{} MiB", n / (KIB * KIB))
    } else if n >= KIB && n % KIB == 0 {
        format!("{} KiB", n / KIB)
    } else {
        format!("{n} B")
    }
}

/// A need beyond a limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exceeded {
    /// Which limit.
    pub limit: Limit,
    /// What is needed.
    pub need: u64,
    /// What the limit allows.
    pub have: u64,
}

impl std::fmt::Display for Exceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({} is {})",
            self.limit.amount(self.need),
            self.limit.vulkan_name(),
            self.have
        )
    }
}

impl DeviceLimits {
    /// What `ptc check` holds kernels and dispatches to: the limits every
    /// device ptc targets offers. Where a device may offer more, this is
    /// the Vulkan specification's minimum (push constants 128 B, workgroup
    /// count 65535, uniform buffers 16 KiB, storage buffers 128 MiB),
    /// except shared memory, 32 KiB (lavapipe's; the specification's
    /// minimum is 16 KiB), and the workgroup size, 1024 invocations
    /// (1024 x 1024 x 64; the specification's minimum is 128).
    pub const BASELINE: DeviceLimits = DeviceLimits {
        max_storage_buffer_range: 1 << 27,
        max_uniform_buffer_range: 16384,
        max_push_constants_size: 128,
        max_compute_shared_memory_size: 32768,
        max_compute_work_group_count: [65535; 3],
        max_compute_work_group_invocations: 1024,
        max_compute_work_group_size: [1024, 1024, 64],
    };

    /// The value of one limit.
    pub fn get(&self, limit: Limit) -> u64 {
        match limit {
            Limit::StorageBufferRange => self.max_storage_buffer_range,
            Limit::UniformBufferRange => self.max_uniform_buffer_range,
            Limit::PushConstantsSize => u64::from(self.max_push_constants_size),
            Limit::SharedMemorySize => u64::from(self.max_compute_shared_memory_size),
            Limit::WorkGroupCount(i) => u64::from(self.max_compute_work_group_count[i % 3]),
            Limit::WorkGroupInvocations => u64::from(self.max_compute_work_group_invocations),
            Limit::WorkGroupSize(i) => u64::from(self.max_compute_work_group_size[i % 3]),
        }
    }

    /// `need` of `limit`, if within it.
    pub fn allow(&self, limit: Limit, need: u64) -> Result<(), Exceeded> {
        let have = self.get(limit);
        if need > have {
            Err(Exceeded { limit, need, have })
        } else {
            Ok(())
        }
    }

    /// A workgroup size within these limits (each dimension and the total).
    pub fn check_local_size(&self, ls: [u32; 3]) -> Result<(), Exceeded> {
        for (i, v) in ls.iter().enumerate() {
            self.allow(Limit::WorkGroupSize(i), u64::from(*v))?;
        }
        let total = ls.iter().fold(1u64, |a, &v| a.saturating_mul(u64::from(v)));
        self.allow(Limit::WorkGroupInvocations, total)
    }

    /// Workgroup counts of one dispatch within these limits.
    pub fn check_workgroups(&self, wg: [u32; 3]) -> Result<(), Exceeded> {
        for (i, v) in wg.iter().enumerate() {
            self.allow(Limit::WorkGroupCount(i), u64::from(*v))?;
        }
        Ok(())
    }

    /// Everything a plan's requirements and ptasks need of these limits
    /// (the first need beyond them).
    pub fn check(&self, r: &Requirements, ptasks: &[PtaskPlan]) -> Result<(), Exceeded> {
        self.allow(Limit::StorageBufferRange, r.max_buffer_bytes)?;
        self.allow(Limit::UniformBufferRange, u64::from(r.uniform_buffer_bytes))?;
        self.allow(Limit::SharedMemorySize, u64::from(r.shared_memory_bytes))?;
        let push = ptasks
            .iter()
            .map(|p| p.push_constant_size)
            .max()
            .unwrap_or(0)
            .max(r.push_constant_bytes);
        self.allow(Limit::PushConstantsSize, u64::from(push))?;
        self.check_workgroups(r.max_workgroups)?;
        for p in ptasks {
            self.check_local_size(p.local_size)?;
            self.check_workgroups(p.workgroups)?;
        }
        Ok(())
    }
}
