//! Kernel checking: compile GLSL with shaderc, reflect the SPIR-V with
//! `spirq`, compare bindings / element strides / push constants / local size
//! with the ptask's ports (the kernel ABI of design.md):
//!
//! - set 0, binding *i* = the *i*-th `in`/`sticky`/`out` port, each a storage
//!   buffer whose block is one array of the port's element type;
//! - `in`/`sticky` buffers are `readonly`;
//! - the array stride equals the port element's std430 stride;
//! - the push-constant block holds the `param`s in order at std430 offsets;
//! - the workgroup size is at most 1024 invocations (x, y ≤ 1024, z ≤ 64).

pub mod compile;

use crate::diag::{Code, Diagnostic, Related};
use crate::ir::{self, PortKind};
use compile::{CompileResult, KernelError};
use ptc_plan::limits::{DeviceLimits, Exceeded, Limit};
use ptc_plan::spirv::{Access, BindingInfo, BindingKind, Interface};
use ptc_plan::types::{round_up, ElemType, Scalar, StructTable};
use ptc_plan::{MAX_INVOCATIONS, MAX_LOCAL_SIZE};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

pub use ptc_plan::spirv::KernelFeatures;

/// A compiled, reflected kernel that matches its ptask.
#[derive(Clone, Debug, PartialEq)]
pub struct KernelInfo {
    /// SPIR-V words (shared by every ptask using the same kernel file).
    pub spirv: Arc<[u32]>,
    /// Entry point name.
    pub entry: String,
    /// `local_size_{x,y,z}`.
    pub local_size: [u32; 3],
    /// Device features the SPIR-V declares (capabilities).
    pub features: KernelFeatures,
    /// Workgroup counts of the ptask's dispatch (its grid over the local size).
    pub workgroups: [u32; 3],
    /// Bytes of `shared` memory the kernel declares.
    pub shared_memory_bytes: u32,
}

/// Compiled kernels by resolved path, so each file is read and compiled once
/// per check. Compilation results are also kept process-wide (keyed by path
/// and text), so checking many files that share kernels compiles each once.
#[derive(Default)]
pub struct KernelCache {
    compiled: HashMap<PathBuf, CompileResult>,
}

impl KernelCache {
    fn get(&mut self, path: &std::path::Path) -> CompileResult {
        self.compiled
            .entry(path.to_path_buf())
            .or_insert_with(|| compile::load(path))
            .clone()
    }
}

/// Compiles and checks the kernel of every ptask. Returns one entry per
/// ptask (`None` where it failed; a diagnostic explains why).
pub fn check_kernels(
    module: &ir::Module,
    cache: &mut KernelCache,
) -> (Vec<Option<KernelInfo>>, Vec<Diagnostic>) {
    let mut out = Vec::with_capacity(module.graph.ptasks.len());
    let mut diags = Vec::new();
    for pt in &module.graph.ptasks {
        let Some(path) = &pt.kernel_path else {
            out.push(None);
            continue;
        };
        let compiled = cache.get(path);
        match &*compiled {
            Err(e) => {
                diags.push(kernel_error(pt, path, e));
                out.push(None);
            }
            Ok(c) => {
                let mut d = check_interface(module, pt, &c.iface);
                let info = match (d.is_empty(), &c.iface.local_size) {
                    (true, Ok(ls)) => {
                        check_dispatch(pt, &c.iface, *ls, &mut d).map(|workgroups| KernelInfo {
                            spirv: c.spirv.clone(),
                            entry: c.iface.entry.clone(),
                            local_size: *ls,
                            features: c.iface.features,
                            workgroups,
                            // Within the baseline's 32 KiB: checked above.
                            shared_memory_bytes: u32::try_from(c.iface.shared_memory_bytes)
                                .unwrap_or(u32::MAX),
                        })
                    }
                    _ => None,
                };
                diags.extend(d);
                out.push(info);
            }
        }
    }
    (out, diags)
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
    iface: &Interface,
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
    let push_constant_size = round_up(off, 4);
    if let Err(e) = limits.allow(Limit::PushConstantsSize, u64::from(push_constant_size)) {
        let span = pt.params.last().map(|p| p.span).unwrap_or(pt.span);
        d.push(limit_error(
            &e,
            format!(
                "the params of ptask `{ptn}` take {} of push constants",
                e.limit.value(e.need)
            ),
            span,
            "pass large parameter sets through a `sticky` input buffer",
        ));
        ok = false;
    }
    if let Err(e) = limits.allow(Limit::SharedMemorySize, iface.shared_memory_bytes) {
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

fn kernel_error(pt: &ir::Ptask, path: &std::path::Path, e: &KernelError) -> Diagnostic {
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
                    "{n} GLSL error{} in this kernel",
                    if n == 1 { "" } else { "s" }
                ),
            )
            .help(format!(
                "fix the GLSL error{} in `{}` (ptc compiles kernels as `#version 450` compute \
                 shaders for Vulkan 1.2)",
                if n == 1 { "" } else { "s" },
                path.display()
            ));
            for m in msgs {
                d = d.related(Related {
                    file: path.to_path_buf(),
                    line: m.line,
                    column: m.column,
                    message: m.message.clone(),
                });
            }
            d
        }
        KernelError::Reflect(msg) => Diagnostic::new(
            Code::KernelCompile,
            format!("kernel `{}` of ptask `{}`: {msg}", pt.kernel, pt.name.name),
        )
        .primary(pt.kernel_span, "this kernel")
        .help("ptc needs a GLSL compute shader with `void main()`"),
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
        } else if port.is_none() {
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

    check_push_constants(pt, iface, &mut d);

    match &iface.local_size {
        Err(msg) => d.push(
            Diagnostic::new(Code::LocalSize, format!("kernel `{kernel}`: {msg}"))
                .primary(pt.kernel_span, "in this kernel")
                .help("declare e.g. `layout(local_size_x = 256) in;`"),
        ),
        Ok(ls) => {
            let total: u64 = ls.iter().fold(1u64, |a, &v| a.saturating_mul(u64::from(v)));
            let bad_dim = ls
                .iter()
                .zip(MAX_LOCAL_SIZE)
                .zip(["x", "y", "z"])
                .find(|((v, m), _)| **v == 0 || **v > *m);
            if total > MAX_INVOCATIONS || bad_dim.is_some() {
                let why = match bad_dim {
                    Some(((v, m), axis)) if *v == 0 => {
                        let _ = m;
                        format!("local_size_{axis} is 0")
                    }
                    Some(((v, m), axis)) => format!("local_size_{axis} = {v} exceeds {m}"),
                    None => format!(
                        "{} x {} x {} = {total} invocations exceed {MAX_INVOCATIONS}",
                        ls[0], ls[1], ls[2]
                    ),
                };
                let mut diag = Diagnostic::new(
                    Code::LocalSize,
                    format!("kernel `{kernel}` of ptask `{ptn}` has an invalid workgroup size: {why}"),
                )
                .primary(pt.kernel_span, format!("local size {} x {} x {}", ls[0], ls[1], ls[2]))
                .help(format!(
                    "use at most {MAX_INVOCATIONS} invocations per workgroup (x and y up to 1024, z up to 64), e.g. `layout(local_size_x = 16, local_size_y = 16) in;`"
                ));
                if let Some((_, s)) = pt.grid {
                    diag = diag.secondary(s, "grid of this ptask");
                }
                d.push(diag);
            }
        }
    }
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
