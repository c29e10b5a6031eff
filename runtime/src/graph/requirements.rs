//! The device checked against what a plan needs (features, limits), before
//! anything is allocated.

use crate::error::{Result, RuntimeError};
use crate::vk::Gpu;
use ptc_plan::Plan;

/// Checks the device against the plan's requirements.
pub(super) fn check(gpu: &Gpu, plan: &Plan) -> Result<()> {
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
    for (i, (&need, &have)) in r
        .max_workgroups
        .iter()
        .zip(&info.max_workgroup_count)
        .enumerate()
    {
        if need > have {
            return Err(missing(format!(
                "{need} workgroups in dimension {i} (maxComputeWorkGroupCount is {have})"
            )));
        }
    }
    if r.max_buffer_bytes > info.max_storage_buffer_range {
        return Err(missing(format!(
            "a storage buffer range of {} bytes (maxStorageBufferRange is {})",
            r.max_buffer_bytes, info.max_storage_buffer_range
        )));
    }
    let push = plan
        .ptasks
        .iter()
        .map(|p| p.push_constant_size)
        .max()
        .unwrap_or(0)
        .max(r.push_constant_bytes);
    if push > info.max_push_constants_size {
        return Err(missing(format!(
            "{push} bytes of push constants (maxPushConstantsSize is {})",
            info.max_push_constants_size
        )));
    }
    for p in &plan.ptasks {
        let inv =
            u64::from(p.local_size[0]) * u64::from(p.local_size[1]) * u64::from(p.local_size[2]);
        if inv > u64::from(info.max_workgroup_invocations) {
            return Err(missing(format!(
                "{inv} invocations per workgroup for ptask `{}` (maxComputeWorkGroupInvocations is {})",
                p.name, info.max_workgroup_invocations
            )));
        }
        for (i, (&g, &m)) in p
            .workgroups
            .iter()
            .zip(&info.max_workgroup_count)
            .enumerate()
        {
            if g > m {
                return Err(missing(format!(
                    "{g} workgroups in dimension {i} for ptask `{}` (maxComputeWorkGroupCount is {m})",
                    p.name
                )));
            }
        }
    }
    Ok(())
}
