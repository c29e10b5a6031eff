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

pub mod compile;

use crate::diag::{Code, Diagnostic, Related};
use crate::ir::{self, PortKind, SpecTy};
use compile::{CompileResult, KernelError, Lang, Request};
use ptc_plan::limits::{DeviceLimits, Exceeded, Limit};
use ptc_plan::spirv::{Access, BindingInfo, BindingKind, Interface, SpecType, UniformBlock};
use ptc_plan::types::{round_up, ElemType, Scalar, StructTable};
use ptc_plan::{SpecValue, MAX_INVOCATIONS, MAX_LOCAL_SIZE};
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

/// Where the params go: a uniform block at binding = the number of ports
/// if the kernel declares one there, else push constants.
fn params_block(pt: &ir::Ptask, iface: &Interface) -> ParamsBlock {
    match uniform_at_end(pt, iface) {
        Some(u) => ParamsBlock::Uniform {
            binding: u.binding,
            size: round_up(u.bytes.max(16), 16),
        },
        None => ParamsBlock::PushConstants,
    }
}

/// The kernel's uniform block at set 0, binding = the number of ports, if any.
fn uniform_at_end<'i>(pt: &ir::Ptask, iface: &'i Interface) -> Option<&'i UniformBlock> {
    iface
        .uniforms
        .iter()
        .find(|u| u.set == 0 && u.binding as usize == pt.ports.len())
}

/// The kernel's specialization constants in words: `` `N` (id 0, uint = 64) ``.
fn describe_spec(c: &SpecConstant) -> String {
    let default = match &c.ty {
        SpecType::Scalar(Scalar::F32) => format!("{}", f32::from_bits(c.default)),
        SpecType::Scalar(Scalar::I32) => format!("{}", c.default as i32),
        SpecType::Bool => (if c.default != 0 { "true" } else { "false" }).to_string(),
        _ => c.default.to_string(),
    };
    match &c.name {
        Some(n) => format!("`{n}` (id {}, {} = {default})", c.id, c.ty),
        None => format!("id {} ({} = {default}, unnamed)", c.id, c.ty),
    }
}

/// Matches each `spec` with the kernel's constant of that name; returns
/// the values to specialize with.
fn check_specs(pt: &ir::Ptask, iface: &Interface, d: &mut Vec<Diagnostic>) -> Vec<SpecValue> {
    let kernel = &pt.kernel;
    let mut out: Vec<SpecValue> = Vec::with_capacity(pt.specs.len());
    // Constant id → the spec that set it.
    let mut by_id: HashMap<u32, &ir::Spec> = HashMap::new();
    for s in &pt.specs {
        let name = s.name.name.as_str();
        let mut matched: Vec<&SpecConstant> = iface
            .spec_constants
            .iter()
            .filter(|c| c.name.as_deref() == Some(name))
            .collect();
        // `local_size_x/y/z` name the workgroup-size constants, which
        // glslang leaves unnamed.
        let axis = ["local_size_x", "local_size_y", "local_size_z"]
            .iter()
            .position(|a| *a == name);
        let mut ids: Vec<u32> = matched.iter().map(|c| c.id).collect();
        if let (true, Some(i)) = (matched.is_empty(), axis) {
            if let Some(id) = iface.local_size_ids[i] {
                ids.push(id);
                matched = iface.spec_constants.iter().filter(|c| c.id == id).collect();
            }
        }
        if matched.is_empty() {
            let known: Vec<String> = iface.spec_constants.iter().map(describe_spec).collect();
            let help = if known.is_empty() {
                format!(
                    "the kernel declares no specialization constants; declare one, e.g. `layout(constant_id = 0) const uint {name} = 1;`"
                )
            } else {
                format!("its specialization constants are {}", known.join(", "))
            };
            d.push(
                Diagnostic::new(
                    Code::SpecMismatch,
                    format!("kernel `{kernel}` has no specialization constant `{name}`"),
                )
                .primary(s.name.span, "no such constant in the kernel")
                .help(help),
            );
            continue;
        }
        let ok_type = |c: &SpecConstant| match (&c.ty, s.ty) {
            (SpecType::Bool, SpecTy::Bool) => true,
            (SpecType::Scalar(k), SpecTy::Scalar(t)) => *k == t,
            _ => false,
        };
        if let Some(bad) = matched.iter().find(|c| !ok_type(c)) {
            let want = match &bad.ty {
                SpecType::Bool => Some("bool"),
                SpecType::Scalar(Scalar::U32) => Some("u32"),
                SpecType::Scalar(Scalar::I32) => Some("i32"),
                SpecType::Scalar(Scalar::F32) => Some("f32"),
                _ => None,
            };
            let help = match want {
                Some(t) => format!("declare it with the kernel's type: `spec {name}: {t} = ...;`"),
                None => format!(
                    "ptc sets bool, u32, i32 and f32 constants; `{}` cannot be set",
                    bad.ty
                ),
            };
            d.push(
                Diagnostic::new(
                    Code::SpecMismatch,
                    format!(
                        "spec `{name}` is {}, but kernel `{kernel}` declares {}",
                        s.ty,
                        describe_spec(bad)
                    ),
                )
                .primary(s.ty_span, format!("{} here", s.ty))
                .help(help),
            );
            continue;
        }
        ids.sort_unstable();
        ids.dedup();
        // Other constants on the same id (the workgroup size, say) get the
        // same value: their types must agree too.
        let shared = iface
            .spec_constants
            .iter()
            .find(|c| ids.contains(&c.id) && c.name.as_deref() != Some(name) && !ok_type(c));
        if let Some(other) = shared {
            let what = if iface.local_size_ids.contains(&Some(other.id)) {
                format!("the workgroup size ({})", other.ty)
            } else {
                describe_spec(other)
            };
            d.push(
                Diagnostic::new(
                    Code::SpecMismatch,
                    format!(
                        "constant_id {} of kernel `{kernel}` is both `{name}` ({}) and {what}: one value cannot set both",
                        other.id,
                        s.ty
                    ),
                )
                .primary(s.span, format!("sets constant_id {}", other.id))
                .help("give the kernel's constants distinct ids (`constant_id`, `local_size_x_id`)"),
            );
            continue;
        }
        let mut clash = false;
        for id in &ids {
            if let Some(first) = by_id.get(id) {
                clash = true;
                d.push(
                    Diagnostic::new(
                        Code::SpecMismatch,
                        format!(
                            "spec `{name}` and spec `{}` both set constant_id {id} of kernel `{kernel}`",
                            first.name.name
                        ),
                    )
                    .primary(s.span, format!("constant_id {id} again"))
                    .secondary(first.span, format!("constant_id {id} first set here"))
                    .help("one id has one value: give the kernel's constants distinct `constant_id`s, or set it once"),
                );
            }
        }
        if clash {
            continue;
        }
        for id in ids {
            by_id.insert(id, s);
            out.push(SpecValue {
                id,
                name: name.to_string(),
                value: s.value,
            });
        }
    }
    out.sort_by_key(|v| v.id);
    out
}

/// An invalid workgroup size as a diagnostic.
fn local_size_error(pt: &ir::Ptask, ls: [u32; 3]) -> Option<Diagnostic> {
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
fn check_dispatch(
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

fn kernel_error(pt: &ir::Ptask, path: &std::path::Path, lang: Lang, e: &KernelError) -> Diagnostic {
    let lang_name = lang.name();
    match e {
        KernelError::Read(msg) => Diagnostic::new(Code::Io, msg.clone())
            .primary(pt.kernel_span, "this kernel cannot be read")
            .help("check that the file exists and is readable"),
        KernelError::Compile(msgs) => {
            let n = msgs.len();
            let first = msgs.first().map(|m| m.message.as_str()).unwrap_or("");
            let first = first.strip_prefix("error:").unwrap_or(first).trim();
            let mut d = Diagnostic::new(
                Code::KernelCompile,
                format!(
                    "kernel `{}` of ptask `{}` does not compile: {first}",
                    pt.kernel, pt.name.name
                ),
            )
            .primary(
                pt.kernel_span,
                format!(
                    "{n} {lang_name} error{} in this kernel",
                    if n == 1 { "" } else { "s" }
                ),
            )
            .help({
                let mut files: Vec<String> = Vec::new();
                for m in msgs {
                    let f = format!("`{}`", m.file.display());
                    if !files.contains(&f) {
                        files.push(f);
                    }
                }
                if files.is_empty() {
                    files.push(format!("`{}`", path.display()));
                }
                format!(
                    "fix the {lang_name} error{} in {} (ptc compiles kernels as compute \
                     shaders for Vulkan 1.2)",
                    if n == 1 { "" } else { "s" },
                    files.join(", ")
                )
            });
            for m in msgs {
                d = d.related(Related {
                    file: m.file.clone(),
                    line: m.line,
                    column: m.column,
                    message: m.message.clone(),
                });
            }
            d
        }
        KernelError::Include(m) => {
            let mut help = String::from("looked in:");
            for l in &m.looked {
                help.push_str(&format!("\n  - {}", l.display()));
            }
            help.push_str(
                "\n`#include \"file\"` resolves next to the including file, then in the kernel \
                 search roots (the graph's directory and its ancestors, `--kernel-path DIR`)",
            );
            Diagnostic::new(
                Code::IncludeNotFound,
                format!(
                    "kernel `{}` of ptask `{}`: `#include \"{}\"` not found",
                    pt.kernel, pt.name.name, m.name
                ),
            )
            .primary(pt.kernel_span, "in this kernel")
            .help(help)
            .related(Related {
                file: m.from.clone(),
                line: m.line,
                column: 1,
                message: format!("`{}` is included here", m.name),
            })
        }
        KernelError::Reflect(msg) => Diagnostic::new(
            Code::KernelCompile,
            format!("kernel `{}` of ptask `{}`: {msg}", pt.kernel, pt.name.name),
        )
        .primary(pt.kernel_span, "this kernel")
        .help(match lang {
            Lang::Spirv => "ptc needs a SPIR-V module with a GLCompute entry point (e.g. from `glslc -fshader-stage=compute`)",
            Lang::Hlsl => "ptc needs an HLSL compute shader (`[numthreads(...)] void main(...)`, or name it with `entry \"NAME\";`)",
            Lang::Glsl => "ptc needs a GLSL compute shader with `void main()`",
        }),
    }
}

/// The GLSL spelling of a port element type.
pub fn glsl_elem(e: &ElemType) -> String {
    let s = |s: Scalar| match s {
        Scalar::U8 => "uint8_t",
        Scalar::U16 => "uint16_t",
        Scalar::U32 => "uint",
        Scalar::I32 => "int",
        Scalar::F32 => "float",
    };
    match e {
        ElemType::Scalar(x) => s(*x).to_string(),
        ElemType::Vector { n, scalar } => match scalar {
            Scalar::F32 => format!("vec{n}"),
            Scalar::U32 => format!("uvec{n}"),
            Scalar::I32 => format!("ivec{n}"),
            Scalar::U16 => format!("u16vec{n}"),
            Scalar::U8 => format!("u8vec{n}"),
        },
        ElemType::Struct(n) => n.clone(),
    }
}

/// The GLSL declaration of a struct element type (`None` for other types).
fn glsl_struct(e: &ElemType, structs: &impl StructTable) -> Option<String> {
    let ElemType::Struct(n) = e else { return None };
    let l = structs.struct_layout(n)?;
    let fields: Vec<String> = l
        .fields
        .iter()
        .map(|f| format!("{} {};", glsl_elem(&f.ty), f.name))
        .collect();
    Some(format!("struct {n} {{ {} }};", fields.join(" ")))
}

fn glsl_scalar(s: Scalar) -> &'static str {
    match s {
        Scalar::U8 => "uint8_t",
        Scalar::U16 => "uint16_t",
        Scalar::U32 => "uint",
        Scalar::I32 => "int",
        Scalar::F32 => "float",
    }
}

fn kind_word(k: PortKind) -> &'static str {
    match k {
        PortKind::In => "in",
        PortKind::Sticky => "sticky",
        PortKind::Out => "out",
    }
}

fn example_decl(i: usize, port: &ir::Port) -> String {
    let q = if port.kind == PortKind::Out {
        "writeonly"
    } else {
        "readonly"
    };
    let mut block: String = port.name.name.clone();
    if let Some(c) = block.get_mut(0..1) {
        c.make_ascii_uppercase();
    }
    format!(
        "layout(std430, set = 0, binding = {i}) {q} buffer {block}Buf {{ {} {}[]; }};",
        glsl_elem(&port.ty.elem),
        port.name.name
    )
}

/// Checks a kernel's reflected interface against a ptask's ports and params.
pub fn check_interface(module: &ir::Module, pt: &ir::Ptask, iface: &Interface) -> Vec<Diagnostic> {
    let mut d = Vec::new();
    let ptn = &pt.name.name;
    let kernel = &pt.kernel;
    let nports = pt.ports.len();

    // Bindings outside set 0, or beyond the ports.
    for b in &iface.bindings {
        let port = pt.ports.get(b.binding as usize);
        if b.set != 0 {
            let mut diag = Diagnostic::new(
                Code::BindingMismatch,
                format!(
                    "kernel `{kernel}` declares buffer `{}` in set {}, binding {}; ptc binds ports in set 0",
                    b.name, b.set, b.binding
                ),
            );
            diag = match port {
                Some(p) => diag.primary(
                    p.span,
                    format!("port `{}` is set 0, binding {}", p.name.name, b.binding),
                ),
                None => diag.primary(pt.kernel_span, "in this kernel"),
            };
            d.push(diag.help(format!(
                "declare it with `layout(std430, set = 0, binding = {})`",
                b.binding
            )));
        } else if port.is_none()
            && !(b.binding as usize == nports
                && !pt.params.is_empty()
                && uniform_at_end(pt, iface).is_some())
        {
            d.push(
                Diagnostic::new(
                    Code::BindingMismatch,
                    format!(
                        "kernel `{kernel}` declares binding {} (`{}`) but ptask `{ptn}` has only {nports} in/sticky/out port{}",
                        b.binding,
                        b.name,
                        if nports == 1 { "" } else { "s" }
                    ),
                )
                .primary(pt.kernel_span, format!("binding {} has no port", b.binding))
                .secondary(pt.name.span, format!("ptask `{ptn}` declared here"))
                .help(format!(
                    "add a port to `{ptn}` for binding {} (bindings follow the order of in/sticky/out ports), or remove the binding from the kernel",
                    b.binding
                )),
            );
        }
    }

    for (i, port) in pt.ports.iter().enumerate() {
        let pname = &port.name.name;
        let found: Vec<_> = iface
            .bindings
            .iter()
            .filter(|b| b.set == 0 && b.binding as usize == i)
            .collect();
        let b = match found.as_slice() {
            // Declared in another set: reported above.
            [] if iface.bindings.iter().any(|b| b.binding as usize == i) => continue,
            [] => {
                d.push(
                    Diagnostic::new(
                        Code::BindingMismatch,
                        format!(
                            "port `{pname}` of ptask `{ptn}` is binding {i}, but kernel `{kernel}` has no buffer at set 0, binding {i}"
                        ),
                    )
                    .primary(port.span, format!("binding {i}: missing in the kernel"))
                    .help(format!("declare it in the kernel: `{}`", example_decl(i, port))),
                );
                continue;
            }
            [b] => *b,
            many => {
                let names: Vec<_> = many.iter().map(|b| format!("`{}`", b.name)).collect();
                d.push(
                    Diagnostic::new(
                        Code::BindingMismatch,
                        format!(
                            "kernel `{kernel}` declares {} buffers at set 0, binding {i} ({})",
                            many.len(),
                            names.join(", ")
                        ),
                    )
                    .primary(port.span, format!("binding {i} is port `{pname}`"))
                    .help("give each buffer its own binding, one per port in declaration order"),
                );
                continue;
            }
        };
        let access = match &b.kind {
            BindingKind::Storage(a) => *a,
            BindingKind::Other(what) => {
                d.push(
                    Diagnostic::new(
                        Code::BindingMismatch,
                        format!(
                            "binding {i} (`{}`) of kernel `{kernel}` is {what}, but port `{pname}` needs a storage buffer",
                            b.name
                        ),
                    )
                    .primary(port.span, format!("binding {i}: port `{pname}`"))
                    .help(format!("declare it as a storage buffer: `{}`", example_decl(i, port))),
                );
                continue;
            }
        };
        match (port.kind, access) {
            (PortKind::In | PortKind::Sticky, Access::WriteOnly | Access::ReadWrite) => {
                d.push(
                    Diagnostic::new(
                        Code::WritableInput,
                        format!(
                            "`{}` port `{pname}` is binding {i} (`{}`), which kernel `{kernel}` does not declare `readonly`",
                            kind_word(port.kind),
                            b.name
                        ),
                    )
                    .primary(port.span, format!("binding {i}: an input, must be readonly"))
                    .help(format!(
                        "declare the buffer `readonly buffer {} {{ ... }}`: an input shares its producer's buffer with every other consumer, so a kernel must not write it",
                        b.name
                    )),
                );
            }
            (PortKind::Out, Access::ReadOnly) => {
                d.push(
                    Diagnostic::new(
                        Code::BindingMismatch,
                        format!(
                            "`out` port `{pname}` is binding {i} (`{}`), which kernel `{kernel}` declares `readonly`",
                            b.name
                        ),
                    )
                    .primary(port.span, format!("binding {i}: an output, written by the kernel"))
                    .help(format!(
                        "remove `readonly` from buffer `{}` (use `writeonly` or nothing), or make the port an input",
                        b.name
                    )),
                );
            }
            _ => {}
        }
        check_element(module, pt, i, port, b, &mut d);
    }

    check_params(pt, iface, &mut d);
    d
}

fn check_element(
    module: &ir::Module,
    pt: &ir::Ptask,
    i: usize,
    port: &ir::Port,
    b: &BindingInfo,
    d: &mut Vec<Diagnostic>,
) {
    let kernel = &pt.kernel;
    let pname = &port.name.name;
    let elem = &port.ty.elem;
    let Some(want) = elem.stride(&module.structs) else {
        return; // unknown struct: the checker has reported it
    };
    let decl = example_decl(i, port);
    let Some(arr) = &b.array else {
        d.push(
            Diagnostic::new(
                Code::ElementMismatch,
                format!(
                    "binding {i} (`{}`) of kernel `{kernel}` is not an array, but port `{pname}` is `{}`",
                    b.name, port.ty
                ),
            )
            .primary(port.ty_span, format!("binding {i}: an array of {elem}"))
            .help(format!("declare the buffer as one array: `{decl}`")),
        );
        return;
    };
    if arr.block_members > 1 || arr.offset != 0 {
        d.push(
            Diagnostic::new(
                Code::ElementMismatch,
                format!(
                    "buffer `{}` (binding {i}) of kernel `{kernel}` has {} member(s) before its array `{}`; port `{pname}` is a plain array",
                    b.name,
                    arr.block_members - 1,
                    arr.member
                ),
            )
            .primary(port.ty_span, format!("binding {i}: an array of {elem}"))
            .help(format!("declare the buffer as one array: `{decl}`")),
        );
        return;
    }
    let Some(stride) = arr.stride else {
        return;
    };
    if stride as u64 != u64::from(want) {
        d.push(
            Diagnostic::new(
                Code::ElementMismatch,
                format!(
                    "binding {i} (`{}`): kernel `{kernel}` has elements `{}` with stride {stride} bytes, but port `{pname}` has elements `{elem}` with std430 stride {want} bytes",
                    b.name, arr.elem
                ),
            )
            .primary(
                port.ty_span,
                format!("`{elem}`: {want} bytes per element; the kernel uses {stride}"),
            )
            .help(format!(
                "make the element types agree: declare `{} {}[]` in the kernel{}, or change the port's element type",
                glsl_elem(elem),
                arr.member,
                glsl_struct(elem, &module.structs)
                    .map(|s| format!(" with `{s}`"))
                    .unwrap_or_default()
            )),
        );
        return;
    }
    if let Some(n) = arr.len {
        if Some(u64::from(n)) != port.ty.count() {
            d.push(
                Diagnostic::new(
                    Code::ElementMismatch,
                    format!(
                        "binding {i} (`{}`): kernel `{kernel}` declares {n} elements, but port `{pname}` (`{}`) has {}",
                        b.name,
                        port.ty,
                        port.ty.count().map(|c| c.to_string()).unwrap_or_else(|| "too many".into())
                    ),
                )
                .primary(port.ty_span, format!("binding {i}"))
                .help(format!(
                    "use a runtime-sized array `{} {}[]` (its length is the port's), or make the counts agree",
                    arr.elem, arr.member
                )),
            );
            return;
        }
    }
    if let (ElemType::Struct(sname), Some(kfields)) = (elem, &arr.struct_fields) {
        let Some(layout) = module.structs.struct_layout(sname) else {
            return;
        };
        let ours: Vec<(usize, Option<usize>)> = layout
            .fields
            .iter()
            .map(|f| {
                (
                    f.offset as usize,
                    ptc_plan::types::base_size(&f.ty).map(|s| s as usize),
                )
            })
            .collect();
        if ours != *kfields {
            let describe = |v: &[(usize, Option<usize>)]| {
                v.iter()
                    .map(|(o, s)| match s {
                        Some(s) => format!("{s}@{o}"),
                        None => format!("?@{o}"),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            d.push(
                Diagnostic::new(
                    Code::ElementMismatch,
                    format!(
                        "binding {i} (`{}`): the fields of kernel struct `{}` (size@offset: {}) differ from struct `{sname}` of port `{pname}` ({})",
                        b.name,
                        arr.elem,
                        describe(kfields),
                        describe(&ours)
                    ),
                )
                .primary(port.ty_span, format!("binding {i}: struct `{sname}`"))
                .help(format!(
                    "declare the kernel's struct with the same fields in the same order as `{sname}`"
                )),
            );
        }
    }
}

/// The params against the kernel's push-constant block, or its uniform
/// block at binding = the number of ports.
fn check_params(pt: &ir::Ptask, iface: &Interface, d: &mut Vec<Diagnostic>) {
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

#[cfg(test)]
mod tests;
