//! Kernel checking: compile the kernel (GLSL or HLSL with shaderc, or take
//! SPIR-V as is), reflect the SPIR-V, and compare bindings / element
//! strides / params / specialization constants / local size with the
//! ptask (the kernel ABI, docs/kernel-abi.md):
//!
//! - set 0, binding *i* = the *i*-th `in`/`sticky`/`out` port, each a storage
//!   buffer whose block is one array of the port's element type;
//! - `in`/`sticky` buffers are `readonly`;
//! - the array stride equals the port element's std430 stride;
//! - the `param`s are the members of the push-constant block, in order at
//!   std430 offsets, or of a uniform block at set 0, binding = the number
//!   of ports (std140; scalars have the same offsets);
//! - each `spec` names a specialization constant of the kernel, of its type;
//! - the (specialized) workgroup size, shared memory and dispatch are within
//!   the baseline device limits.
//!
//! This module drives the check of each ptask's kernel (with a cache of
//! compiled kernels); `compile` compiles and reflects, `bindings` checks the
//! buffers, `params` the params block, `specs` the specialization
//! constants, `dispatch` the workgroup size, grid and device limits, and
//! `messages` words compile errors and the GLSL a fix suggests.

mod bindings;
pub mod compile;
mod dispatch;
mod messages;
mod params;
mod specs;

pub use bindings::check_interface;
pub use dispatch::{default_grid, grid_of, limit_error};
pub use messages::glsl_elem;

use crate::diag::{Code, Diagnostic};
use crate::ir;
use compile::{CompileResult, Lang, Request};
use dispatch::{check_dispatch, local_size_error};
use messages::kernel_error;
use params::params_block;
use ptc_plan::SpecValue;
use specs::check_specs;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

pub use ptc_plan::spirv::{KernelFeatures, SpecConstant};

/// Where a ptask's params go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamsBlock {
    /// The push-constant block (or no params at all).
    PushConstants,
    /// A uniform buffer at set 0, `binding`, `size` bytes (std140).
    Uniform { binding: u32, size: u32 },
}

/// A compiled, reflected kernel that matches its ptask.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelInfo {
    /// SPIR-V words (shared by every ptask using the same kernel and macros).
    pub spirv: Arc<[u32]>,
    /// Entry point name.
    pub entry: String,
    /// `local_size_{x,y,z}`, as specialized.
    pub local_size: [u32; 3],
    /// Device features the SPIR-V declares (capabilities).
    pub features: KernelFeatures,
    /// Workgroup counts of the ptask's dispatch (its grid over the local size).
    pub workgroups: [u32; 3],
    /// Bytes of `shared` memory the kernel declares, as specialized.
    pub shared_memory_bytes: u32,
    /// The values of the ptask's `spec`s, by constant id.
    pub specialization: Vec<SpecValue>,
    /// Where the params go.
    pub params: ParamsBlock,
}

/// Compiled kernels by request, so each kernel is read and compiled once
/// per check. Compilation results are also kept process-wide (keyed by
/// request and text), so checking many files that share kernels compiles
/// each once.
#[derive(Default)]
pub struct KernelCache {
    compiled: HashMap<Request, CompileResult>,
    /// Where `#include`s are looked for after the including file's directory.
    include_roots: Vec<PathBuf>,
}

impl KernelCache {
    /// A cache whose kernels look for `#include`s in `roots` (after the
    /// including file's directory).
    pub fn with_include_roots(roots: Vec<PathBuf>) -> KernelCache {
        KernelCache {
            compiled: HashMap::new(),
            include_roots: roots,
        }
    }

    fn get(&mut self, req: Request) -> CompileResult {
        self.compiled
            .entry(req.clone())
            .or_insert_with(|| compile::load_request(&req))
            .clone()
    }

    /// What ptask `pt`'s kernel is compiled with.
    fn request(&self, pt: &ir::Ptask, path: &std::path::Path) -> Request {
        Request {
            path: path.to_path_buf(),
            defines: pt
                .defines
                .iter()
                .map(|d| (d.name.name.clone(), d.value.clone()))
                .collect(),
            // GLSL kernels start at `main` (an `entry` on one is reported).
            entry: match Lang::of(path) {
                Lang::Glsl => None,
                _ => pt.entry.as_ref().map(|(e, _)| e.clone()),
            },
            include_roots: self.include_roots.clone(),
        }
    }
}

/// Reflected facts about each ptask's kernel, whether or not it matches
/// (for tools: a `spec`'s constant id and default).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KernelFacts {
    /// The kernel's specialization constants, by id.
    pub spec_constants: Vec<SpecConstant>,
}

/// Compiles and checks the kernel of every ptask. Returns one entry per
/// ptask (`None` where it failed; a diagnostic explains why).
pub fn check_kernels(
    module: &ir::Module,
    cache: &mut KernelCache,
) -> (Vec<Option<KernelInfo>>, Vec<Diagnostic>) {
    let (k, d, _) = check_kernels_with_facts(module, cache);
    (k, d)
}

/// [`check_kernels`], also returning what was reflected of each kernel.
pub fn check_kernels_with_facts(
    module: &ir::Module,
    cache: &mut KernelCache,
) -> (Vec<Option<KernelInfo>>, Vec<Diagnostic>, Vec<KernelFacts>) {
    let mut out = Vec::with_capacity(module.graph.ptasks.len());
    let mut facts = Vec::with_capacity(module.graph.ptasks.len());
    let mut diags = Vec::new();
    for pt in &module.graph.ptasks {
        let Some(path) = &pt.kernel_path else {
            out.push(None);
            facts.push(KernelFacts::default());
            continue;
        };
        let mut d = Vec::new();
        let lang = Lang::of(path);
        if let (Lang::Glsl, Some((e, span))) = (lang, &pt.entry) {
            if e != "main" {
                d.push(
                    Diagnostic::new(
                        Code::InvalidPtask,
                        format!("ptask `{}` names entry point `{e}`, but its kernel is GLSL, which starts at `main`", pt.name.name),
                    )
                    .primary(*span, "GLSL entry points are `main`")
                    .help("remove the `entry` statement (it selects an HLSL function or a SPIR-V entry point)"),
                );
            }
        }
        let compiled = cache.get(cache.request(pt, path));
        let info = match &*compiled {
            Err(e) => {
                d.push(kernel_error(pt, path, lang, e));
                facts.push(KernelFacts::default());
                None
            }
            Ok(c) => {
                facts.push(KernelFacts {
                    spec_constants: c.iface.spec_constants.clone(),
                });
                check_one(module, pt, c, &mut d)
            }
        };
        out.push(if d.is_empty() { info } else { None });
        // Errors about an instance of a template name the instance too.
        if let Some(inst) = &pt.instance {
            for x in &mut d {
                if !x.labels.iter().any(|l| l.span == inst.call) {
                    *x = x.clone().secondary(
                        inst.call,
                        format!(
                            "in ptask `{}`, an instance of template `{}`",
                            pt.name.name, inst.template
                        ),
                    );
                }
            }
        }
        diags.extend(d);
    }
    (out, diags, facts)
}

/// Checks one compiled kernel against its ptask.
fn check_one(
    module: &ir::Module,
    pt: &ir::Ptask,
    c: &compile::Compiled,
    d: &mut Vec<Diagnostic>,
) -> Option<KernelInfo> {
    let before = d.len();
    d.extend(check_interface(module, pt, &c.iface));
    let specialization = check_specs(pt, &c.iface, d);
    let values: Vec<(u32, u32)> = specialization
        .iter()
        .map(|s| (s.id, u32::from_le_bytes(s.value.to_le_bytes())))
        .collect();
    let spec = match ptc_plan::spirv::specialize_entry(&c.spirv, Some(&c.iface.entry), &values) {
        Ok(s) => s,
        Err(e) => {
            d.push(
                Diagnostic::new(
                    Code::KernelCompile,
                    format!("kernel `{}` of ptask `{}`: {e}", pt.kernel, pt.name.name),
                )
                .primary(pt.kernel_span, "this kernel"),
            );
            return None;
        }
    };
    let ls = match spec.local_size {
        Ok(ls) => ls,
        Err(msg) => {
            d.push(
                Diagnostic::new(Code::LocalSize, format!("kernel `{}`: {msg}", pt.kernel))
                    .primary(pt.kernel_span, "in this kernel")
                    .help("declare e.g. `layout(local_size_x = 256) in;`"),
            );
            return None;
        }
    };
    if let Some(diag) = local_size_error(pt, ls) {
        d.push(diag);
        return None;
    }
    if d.len() > before {
        return None;
    }
    let params = params_block(pt, &c.iface);
    let workgroups = check_dispatch(pt, &params, spec.shared_memory_bytes, ls, d)?;
    Some(KernelInfo {
        spirv: c.spirv.clone(),
        entry: c.iface.entry.clone(),
        local_size: ls,
        features: c.iface.features,
        workgroups,
        // Within the baseline's 32 KiB: checked by check_dispatch.
        shared_memory_bytes: u32::try_from(spec.shared_memory_bytes).unwrap_or(u32::MAX),
        specialization,
        params,
    })
}

#[cfg(test)]
mod tests;
