//! Where the params go (push constants or a uniform block) and checking
//! them against the kernel's block.

use super::messages::glsl_scalar;
use super::ParamsBlock;
use crate::diag::{Code, Diagnostic};
use crate::ir::{self};
use ptc_plan::spirv::{Interface, UniformBlock};
use ptc_plan::types::round_up;

/// Where the params go: a uniform block at binding = the number of ports
/// if the kernel declares one there, else push constants.
pub(super) fn params_block(pt: &ir::Ptask, iface: &Interface) -> ParamsBlock {
    match uniform_at_end(pt, iface) {
        Some(u) => ParamsBlock::Uniform {
            binding: u.binding,
            size: round_up(u.bytes.max(16), 16),
        },
        None => ParamsBlock::PushConstants,
    }
}

/// The kernel's uniform block at set 0, binding = the number of ports, if any.
pub(super) fn uniform_at_end<'i>(pt: &ir::Ptask, iface: &'i Interface) -> Option<&'i UniformBlock> {
    iface
        .uniforms
        .iter()
        .find(|u| u.set == 0 && u.binding as usize == pt.ports.len())
}

/// The params against the kernel's push-constant block, or its uniform
/// block at binding = the number of ports.
pub(super) fn check_params(pt: &ir::Ptask, iface: &Interface, d: &mut Vec<Diagnostic>) {
    let Some(u) = uniform_at_end(pt, iface) else {
        check_push_constants(pt, iface, d);
        return;
    };
    if pt.params.is_empty() {
        // Reported as a binding without a port.
        return;
    }
    let kernel = &pt.kernel;
    let ptn = &pt.name.name;
    if iface.push.is_some() {
        d.push(
            Diagnostic::new(
                Code::PushConstantMismatch,
                format!(
                    "kernel `{kernel}` declares both a push-constant block and a uniform block at binding {}; ptask `{ptn}`'s params fill one of them",
                    u.binding
                ),
            )
            .primary(pt.kernel_span, "two parameter blocks")
            .help("keep one: `layout(push_constant) uniform ...` or `layout(std140, set = 0, binding = N) uniform ...`"),
        );
        return;
    }
    let block_example = || {
        let members: Vec<String> = pt
            .params
            .iter()
            .map(|p| format!("{} {};", glsl_scalar(p.ty), p.name.name))
            .collect();
        format!(
            "layout(std140, set = 0, binding = {}) uniform Params {{ {} }} p;",
            u.binding,
            members.join(" ")
        )
    };
    let mut off = 0u32;
    for (i, p) in pt.params.iter().enumerate() {
        // std140 places scalars as std430 does.
        off = round_up(off, p.ty.size());
        let want = off;
        off += p.ty.size();
        let Some(m) = u.members.get(i) else {
            d.push(
                Diagnostic::new(
                    Code::PushConstantMismatch,
                    format!(
                        "param `{}` of ptask `{ptn}` is uniform member {i}, but kernel `{kernel}`'s uniform block has only {} member{}",
                        p.name.name,
                        u.members.len(),
                        if u.members.len() == 1 { "" } else { "s" }
                    ),
                )
                .primary(p.span, format!("member {i}: missing in the kernel"))
                .help(format!("declare the block as `{}`", block_example())),
            );
            continue;
        };
        let ty_ok = m.ty.as_ref().ok() == Some(&p.ty);
        if !ty_ok || m.offset != want as usize {
            let kty = match &m.ty {
                Ok(s) => glsl_scalar(*s).to_string(),
                Err(s) => s.clone(),
            };
            d.push(
                Diagnostic::new(
                    Code::PushConstantMismatch,
                    format!(
                        "param `{}` is `{}` at offset {want}, but kernel `{kernel}`'s uniform member {i} `{}` is `{kty}` at offset {}",
                        p.name.name, p.ty, m.name, m.offset
                    ),
                )
                .primary(p.span, format!("member {i}: `{}` at offset {want}", glsl_scalar(p.ty)))
                .help(format!("declare the block as `{}`", block_example())),
            );
        }
    }
    for (i, m) in u.members.iter().enumerate().skip(pt.params.len()) {
        d.push(
            Diagnostic::new(
                Code::PushConstantMismatch,
                format!(
                    "kernel `{kernel}`'s uniform member {i} `{}` (offset {}) has no param in ptask `{ptn}`",
                    m.name, m.offset
                ),
            )
            .primary(pt.kernel_span, format!("member {i} `{}` has no param", m.name))
            .help(format!(
                "add `param {}: TYPE = VALUE;` to ptask `{ptn}` (params are the block's members in declaration order)",
                m.name
            )),
        );
    }
}

fn check_push_constants(pt: &ir::Ptask, iface: &Interface, d: &mut Vec<Diagnostic>) {
    let kernel = &pt.kernel;
    let ptn = &pt.name.name;
    let mut offsets = Vec::with_capacity(pt.params.len());
    let mut off = 0u32;
    for p in &pt.params {
        off = round_up(off, p.ty.size());
        offsets.push(off);
        off += p.ty.size();
    }
    let block_example = || {
        let members: Vec<String> = pt
            .params
            .iter()
            .map(|p| format!("{} {};", glsl_scalar(p.ty), p.name.name))
            .collect();
        format!(
            "layout(push_constant) uniform Params {{ {} }} p;",
            members.join(" ")
        )
    };
    let Some(members) = &iface.push else {
        if let Some(first) = pt.params.first() {
            d.push(
                Diagnostic::new(
                    Code::PushConstantMismatch,
                    format!(
                        "ptask `{ptn}` has {} param{}, but kernel `{kernel}` has no push-constant block",
                        pt.params.len(),
                        if pt.params.len() == 1 { "" } else { "s" }
                    ),
                )
                .primary(first.span, "params are passed as push constants")
                .help(format!("declare them in the kernel: `{}`", block_example())),
            );
        }
        return;
    };
    if pt.params.is_empty() {
        d.push(
            Diagnostic::new(
                Code::PushConstantMismatch,
                format!(
                    "kernel `{kernel}` has a push-constant block with {} member{}, but ptask `{ptn}` has no params",
                    members.len(),
                    if members.len() == 1 { "" } else { "s" }
                ),
            )
            .primary(pt.kernel_span, "this kernel expects push constants")
            .help("add a `param NAME: TYPE = VALUE;` for each member, in order, or remove the block from the kernel"),
        );
        return;
    }
    for (i, p) in pt.params.iter().enumerate() {
        let Some(m) = members.get(i) else {
            d.push(
                Diagnostic::new(
                    Code::PushConstantMismatch,
                    format!(
                        "param `{}` of ptask `{ptn}` is push-constant member {i}, but kernel `{kernel}`'s block has only {} member{}",
                        p.name.name,
                        members.len(),
                        if members.len() == 1 { "" } else { "s" }
                    ),
                )
                .primary(p.span, format!("member {i}: missing in the kernel"))
                .help(format!("declare the block as `{}`", block_example())),
            );
            continue;
        };
        let ty_ok = m.ty.as_ref().ok() == Some(&p.ty);
        if !ty_ok || m.offset != offsets[i] as usize {
            let kty = match &m.ty {
                Ok(s) => glsl_scalar(*s).to_string(),
                Err(s) => s.clone(),
            };
            d.push(
                Diagnostic::new(
                    Code::PushConstantMismatch,
                    format!(
                        "param `{}` is `{}` at offset {}, but kernel `{kernel}`'s push-constant member {i} `{}` is `{kty}` at offset {}",
                        p.name.name, p.ty, offsets[i], m.name, m.offset
                    ),
                )
                .primary(p.span, format!("member {i}: `{}` at offset {}", glsl_scalar(p.ty), offsets[i]))
                .help(format!("declare the block as `{}`", block_example())),
            );
        }
    }
    for (i, m) in members.iter().enumerate().skip(pt.params.len()) {
        d.push(
            Diagnostic::new(
                Code::PushConstantMismatch,
                format!(
                    "kernel `{kernel}`'s push-constant member {i} `{}` (offset {}) has no param in ptask `{ptn}`",
                    m.name, m.offset
                ),
            )
            .primary(pt.kernel_span, format!("member {i} `{}` has no param", m.name))
            .secondary(pt.name.span, format!("ptask `{ptn}` declared here"))
            .help(format!(
                "add `param {}: TYPE = VALUE;` to ptask `{ptn}` (params are push-constant members in declaration order)",
                m.name
            )),
        );
    }
}
