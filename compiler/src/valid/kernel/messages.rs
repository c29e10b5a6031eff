//! Kernel compile errors as diagnostics, and the GLSL spellings (types,
//! declarations) that the ABI diagnostics suggest.

use super::compile::{KernelError, Lang};
use crate::diag::{Code, Diagnostic, Related};
use crate::ir::{self, PortKind};
use ptc_plan::types::{ElemType, Scalar, StructTable};

pub(super) fn kernel_error(
    pt: &ir::Ptask,
    path: &std::path::Path,
    lang: Lang,
    e: &KernelError,
) -> Diagnostic {
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
pub(super) fn glsl_struct(e: &ElemType, structs: &impl StructTable) -> Option<String> {
    let ElemType::Struct(n) = e else { return None };
    let l = structs.struct_layout(n)?;
    let fields: Vec<String> = l
        .fields
        .iter()
        .map(|f| format!("{} {};", glsl_elem(&f.ty), f.name))
        .collect();
    Some(format!("struct {n} {{ {} }};", fields.join(" ")))
}

pub(super) fn glsl_scalar(s: Scalar) -> &'static str {
    match s {
        Scalar::U8 => "uint8_t",
        Scalar::U16 => "uint16_t",
        Scalar::U32 => "uint",
        Scalar::I32 => "int",
        Scalar::F32 => "float",
    }
}

pub(super) fn kind_word(k: PortKind) -> &'static str {
    match k {
        PortKind::In => "in",
        PortKind::Sticky => "sticky",
        PortKind::Out => "out",
    }
}

pub(super) fn example_decl(i: usize, port: &ir::Port) -> String {
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
