//! The workgroup size, the invocation grid and what a dispatch needs of
//! the device, against the baseline limits.

use super::ParamsBlock;
use crate::diag::{Code, Diagnostic};
use crate::ir::{self, PortKind};
use ptc_plan::limits::{DeviceLimits, Exceeded, Limit};
use ptc_plan::types::round_up;
use ptc_plan::{MAX_INVOCATIONS, MAX_LOCAL_SIZE};

/// An invalid workgroup size as a diagnostic.
pub(super) fn local_size_error(pt: &ir::Ptask, ls: [u32; 3]) -> Option<Diagnostic> {
    let total: u64 = ls.iter().fold(1u64, |a, &v| a.saturating_mul(u64::from(v)));
    let bad_dim = ls
        .iter()
        .zip(MAX_LOCAL_SIZE)
        .zip(["x", "y", "z"])
        .find(|((v, m), _)| **v == 0 || **v > *m);
    if total <= MAX_INVOCATIONS && bad_dim.is_none() {
        return None;
    }
    let why = match bad_dim {
        Some(((v, _), axis)) if *v == 0 => format!("local_size_{axis} is 0"),
        Some(((v, m), axis)) => format!("local_size_{axis} = {v} exceeds {m}"),
        None => format!(
            "{} x {} x {} = {total} invocations exceed {MAX_INVOCATIONS}",
            ls[0], ls[1], ls[2]
        ),
    };
    let mut diag = Diagnostic::new(
        Code::LocalSize,
        format!(
            "kernel `{}` of ptask `{}` has an invalid workgroup size: {why}",
            pt.kernel, pt.name.name
        ),
    )
    .primary(pt.kernel_span, format!("local size {} x {} x {}", ls[0], ls[1], ls[2]))
    .help(format!(
        "use at most {MAX_INVOCATIONS} invocations per workgroup (x and y up to 1024, z up to 64), e.g. `layout(local_size_x = 16, local_size_y = 16) in;`"
    ));
    if let Some((_, s)) = pt.grid {
        diag = diag.secondary(s, "grid of this ptask");
    }
    for s in &pt.specs {
        diag = diag.secondary(s.span, "specialized here");
    }
    Some(diag)
}

/// The default grid of a shape: last dim → x, the one before → y, the
/// product of the rest → z (saturating).
pub fn default_grid(shape: &[u64]) -> [u64; 3] {
    let n = shape.len();
    let x = if n >= 1 { shape[n - 1] } else { 1 };
    let y = if n >= 2 { shape[n - 2] } else { 1 };
    let z = if n >= 3 {
        shape[..n - 2]
            .iter()
            .fold(1u64, |a, &d| a.saturating_mul(d))
    } else {
        1
    };
    [x, y, z]
}

/// The invocation grid of a ptask: its `grid`, else one invocation per
/// element of its first `out` port (the checker requires one of the two),
/// with the span it comes from.
pub fn grid_of(pt: &ir::Ptask) -> Option<([u64; 3], ir::Span)> {
    match &pt.grid {
        Some((g, s)) => Some((*g, *s)),
        None => pt
            .ports
            .iter()
            .find(|p| p.kind == PortKind::Out)
            .map(|p| (default_grid(&p.ty.shape), p.ty_span)),
    }
}

/// A need beyond [`DeviceLimits::BASELINE`] as a `ptc::device_limit`
/// error: `message` says who needs what, `span` where, `fix` what to do.
pub fn limit_error(e: &Exceeded, message: String, span: ir::Span, fix: &str) -> Diagnostic {
    let name = e.limit.vulkan_name();
    let name = name.split('[').next().unwrap_or(&name).to_string();
    let min = e.limit.vulkan_minimum();
    let why = if e.have == min {
        "the Vulkan minimum".to_string()
    } else {
        format!(
            "the least the devices ptc targets offer (the Vulkan minimum is {})",
            e.limit.value(min)
        )
    };
    Diagnostic::new(
        Code::DeviceLimit,
        format!("{message}; ptc allows {} ({name})", e.limit.value(e.have)),
    )
    .primary(span, e.limit.amount(e.need))
    .help(format!(
        "{fix}; {name} depends on the device: ptc checks against {}, {why}, so that a graph that checks runs on every device",
        e.limit.value(e.have)
    ))
}

/// Checks what a dispatch of the ptask needs of the device (push-constant
/// bytes, shared memory, workgroup counts) against
/// [`DeviceLimits::BASELINE`]; returns its workgroup counts.
pub(super) fn check_dispatch(
    pt: &ir::Ptask,
    params: &ParamsBlock,
    shared_memory_bytes: u64,
    local: [u32; 3],
    d: &mut Vec<Diagnostic>,
) -> Option<[u32; 3]> {
    let limits = &DeviceLimits::BASELINE;
    let ptn = &pt.name.name;
    let mut ok = true;
    let mut off = 0u32;
    for p in &pt.params {
        off = round_up(off, p.ty.size()) + p.ty.size();
    }
    let (limit, bytes, what, fix) = match params {
        ParamsBlock::PushConstants => (
            Limit::PushConstantsSize,
            round_up(off, 4),
            "push constants",
            "declare them in a uniform block at binding = the number of ports (docs/kernel-abi.md: uniform-buffer params), or pass them through a `sticky` input buffer",
        ),
        ParamsBlock::Uniform { size, .. } => (
            Limit::UniformBufferRange,
            *size,
            "uniform buffer",
            "pass large parameter sets through a `sticky` input buffer",
        ),
    };
    if let Err(e) = limits.allow(limit, u64::from(bytes)) {
        let span = pt.params.last().map(|p| p.span).unwrap_or(pt.span);
        d.push(limit_error(
            &e,
            format!(
                "the params of ptask `{ptn}` take {} of {what}",
                e.limit.value(e.need)
            ),
            span,
            fix,
        ));
        ok = false;
    }
    if let Err(e) = limits.allow(Limit::SharedMemorySize, shared_memory_bytes) {
        d.push(limit_error(
            &e,
            format!(
                "kernel `{}` of ptask `{ptn}` declares {} of shared memory",
                pt.kernel,
                e.limit.value(e.need)
            ),
            pt.kernel_span,
            "declare smaller `shared` arrays (or split the work over more workgroups)",
        ));
        ok = false;
    }
    let Some((grid, span)) = grid_of(pt) else {
        d.push(
            Diagnostic::new(
                Code::InvalidPtask,
                format!("ptask `{ptn}` has no ports and no `grid`"),
            )
            .primary(pt.name.span, "cannot size its dispatch")
            .help("add `grid [x, y, z];` to the ptask"),
        );
        return None;
    };
    let mut out = [1u32; 3];
    for i in 0..3 {
        let n = grid[i].div_ceil(u64::from(local[i].max(1)));
        if let Err(e) = limits.allow(Limit::WorkGroupCount(i), n) {
            d.push(limit_error(
                &e,
                format!(
                    "ptask `{ptn}` dispatches {} ({} invocations, local size {})",
                    e.limit.amount(n),
                    grid[i],
                    local[i]
                ),
                span,
                "use a larger local size, or set a `grid` that covers the data in chunks (each invocation looping over several elements)",
            ));
            return None;
        }
        out[i] = n as u32;
    }
    ok.then_some(out)
}
