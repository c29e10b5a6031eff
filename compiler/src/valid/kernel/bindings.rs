//! The kernel's buffer bindings against the ptask's ports: set, binding,
//! kind, access and element layout.

use super::messages::{example_decl, glsl_elem, glsl_struct, kind_word};
use super::params::{check_params, uniform_at_end};
use crate::diag::{Code, Diagnostic};
use crate::ir::{self, PortKind};
use ptc_plan::spirv::{Access, BindingInfo, BindingKind, Interface};
use ptc_plan::types::{ElemType, StructTable};

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
