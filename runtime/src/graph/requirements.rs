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
    let lacking = r.subgroup_operations & !info.subgroup_operations;
    if lacking != 0 {
        return Err(missing(format!(
            "subgroup operations in compute shaders: {} (a kernel of the plan uses them; the device offers {})",
            ptc_plan::spirv::subgroup_names(lacking),
            match ptc_plan::spirv::subgroup_names(info.subgroup_operations) {
                s if s.is_empty() => "none".to_string(),
                s => s,
            }
        )));
    }
    // Sizes and counts: one table with `ptc check` (ptc_plan::limits).
    info.limits()
        .check(r, &plan.ptasks)
        .map_err(|e| missing(e.to_string()))
}
