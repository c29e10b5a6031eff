//! Lowers a checked module to a plan: buffers and aliasing, ping-pong,
//! pipelines with embedded SPIR-V, static dispatch order with barriers.

use crate::diag::Diagnostic;
use crate::ir;
use crate::plan::Plan;
use crate::valid::kernel::KernelInfo;

/// Lowers `module` given the compiled kernel of each ptask.
pub fn lower(
    _module: &ir::Module,
    _kernels: &[Option<KernelInfo>],
) -> Result<Plan, Vec<Diagnostic>> {
    Err(Vec::new())
}
