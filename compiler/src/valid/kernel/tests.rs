//! Reflection checks against small GLSL kernels: each mismatch kind
//! produces its diagnostic with the expected text and span.

use super::*;
use crate::back::testutil::*;
use crate::diag::Code;
use crate::ir::PortKind;
use ptc_plan::spirv::Interface;
use ptc_plan::types::Value;
use ptc_plan::types::{ElemType, Scalar};
use std::path::Path;

fn iface(src: &str) -> Interface {
    match compile::compile_and_reflect(Path::new("t.comp"), src) {
        Ok(c) => c.iface,
        Err(e) => panic!("test kernel does not compile: {e:?}"),
    }
}

/// A ptask `p` with ports (kind, name, type) and f32 params, checked against `src`.
fn check(
    src: &str,
    ports: &[(PortKind, &str, ptc_plan::types::PortType)],
    params: &[&str],
) -> (Mb, Vec<Diagnostic>) {
    let mut mb = Mb::new("g");
    mb.event_struct();
    let ports: Vec<_> = ports
        .iter()
        .map(|(k, n, t)| (*k, *n, t.clone(), None))
        .collect();
    let params: Vec<_> = params
        .iter()
        .map(|n| (*n, Scalar::F32, Value::F32(1.0)))
        .collect();
    mb.ptask("p", "k.comp", &ports, &params);
    let i = iface(src);
    let d = check_interface(&mb.m, &mb.m.graph.ptasks[0], &i);
    (mb, d)
}

fn one(d: &[Diagnostic]) -> &Diagnostic {
    assert_eq!(d.len(), 1, "expected one diagnostic, got {d:#?}");
    &d[0]
}

const SCALE: &str = "#version 450
layout(local_size_x = 256) in;
layout(std430, set = 0, binding = 0) readonly buffer A { float a[]; };
layout(std430, set = 0, binding = 1) writeonly buffer B { float b[]; };
layout(push_constant) uniform Params { float k; } p;
void main() { uint i = gl_GlobalInvocationID.x; b[i] = p.k * a[i]; }
";

fn ab() -> Vec<(PortKind, &'static str, ptc_plan::types::PortType)> {
    vec![(In, "a", f32s(&[1024])), (Out, "b", f32s(&[1024]))]
}

#[test]
fn matching_kernel_passes_and_reports_local_size() {
    let (_, d) = check(SCALE, &ab(), &["k"]);
    assert!(d.is_empty(), "{d:#?}");
    let i = iface(SCALE);
    assert_eq!(i.local_size, Ok([256, 1, 1]));
    assert_eq!(i.entry, "main");
    assert_eq!(i.bindings.len(), 2);
}

#[test]
fn missing_binding_points_at_the_port() {
    let ports = vec![
        (In, "a", f32s(&[1024])),
        (In, "c", f32s(&[1024])),
        (Out, "b", f32s(&[1024])),
    ];
    let (mb, d) = check(SCALE, &ports, &["k"]);
    // binding 1 is `c` (readonly in) but the kernel's binding 1 is writeonly B;
    // binding 2 is missing.
    let missing: Vec<_> = d
        .iter()
        .filter(|d| d.message.contains("has no buffer"))
        .collect();
    assert_eq!(missing.len(), 1, "{d:#?}");
    assert_eq!(missing[0].code, Code::BindingMismatch);
    assert_eq!(
        missing[0].message,
        "port `b` of ptask `p` is binding 2, but kernel `k.comp` has no buffer at set 0, binding 2"
    );
    assert_eq!(
        missing[0].primary_span(),
        Some(mb.m.graph.ptasks[0].ports[2].span)
    );
    assert_eq!(
        missing[0].help.as_deref(),
        Some("declare it in the kernel: `layout(std430, set = 0, binding = 2) writeonly buffer BBuf { float b[]; };`")
    );
    let w: Vec<_> = d.iter().filter(|d| d.code == Code::WritableInput).collect();
    assert_eq!(w.len(), 1, "{d:#?}");
    assert_eq!(
        w[0].message,
        "`in` port `c` is binding 1 (`B`), which kernel `k.comp` does not declare `readonly`"
    );
}

#[test]
fn extra_binding_points_at_the_kernel() {
    let (mb, d) = check(SCALE, &[(In, "a", f32s(&[1024]))], &["k"]);
    let d = one(&d);
    assert_eq!(d.code, Code::BindingMismatch);
    assert_eq!(
        d.message,
        "kernel `k.comp` declares binding 1 (`B`) but ptask `p` has only 1 in/sticky/out port"
    );
    assert_eq!(d.primary_span(), Some(mb.m.graph.ptasks[0].kernel_span));
}

#[test]
fn other_set_is_a_binding_mismatch() {
    let src = SCALE.replace("set = 0, binding = 1", "set = 1, binding = 1");
    let (mb, d) = check(&src, &ab(), &["k"]);
    let d = one(&d);
    assert_eq!(d.code, Code::BindingMismatch);
    assert_eq!(
        d.message,
        "kernel `k.comp` declares buffer `B` in set 1, binding 1; ptc binds ports in set 0"
    );
    assert_eq!(
        d.help.as_deref(),
        Some("declare it with `layout(std430, set = 0, binding = 1)`")
    );
    assert_eq!(d.primary_span(), Some(mb.m.graph.ptasks[0].ports[1].span));
}

#[test]
fn uniform_buffer_is_the_wrong_kind() {
    let src = SCALE
        .replace(
            "layout(std430, set = 0, binding = 0) readonly buffer A { float a[]; };",
            "layout(std140, set = 0, binding = 0) uniform A { vec4 a[4]; };",
        )
        .replace("p.k * a[i]", "p.k * a[i].x");
    let (_, d) = check(&src, &ab(), &["k"]);
    let d = one(&d);
    assert_eq!(d.code, Code::BindingMismatch);
    assert_eq!(
        d.message,
        "binding 0 (`A`) of kernel `k.comp` is a uniform buffer, but port `a` needs a storage buffer"
    );
}

#[test]
fn writable_input_is_reported_for_sticky_too() {
    let src = SCALE.replace("readonly buffer A", "buffer A");
    let ports = vec![(Sticky, "a", f32s(&[1024])), (Out, "b", f32s(&[1024]))];
    let (mb, d) = check(&src, &ports, &["k"]);
    let d = one(&d);
    assert_eq!(d.code, Code::WritableInput);
    assert_eq!(
        d.message,
        "`sticky` port `a` is binding 0 (`A`), which kernel `k.comp` does not declare `readonly`"
    );
    assert_eq!(d.primary_span(), Some(mb.m.graph.ptasks[0].ports[0].span));
    assert!(d
        .help
        .as_deref()
        .unwrap_or("")
        .starts_with("declare the buffer `readonly buffer A { ... }`"));
}

#[test]
fn readonly_output_is_a_binding_mismatch() {
    let src = SCALE
        .replace("writeonly buffer B", "readonly buffer B")
        .replace("b[i] = p.k * a[i];", "");
    let (_, d) = check(&src, &ab(), &["k"]);
    let d = one(&d);
    assert_eq!(d.code, Code::BindingMismatch);
    assert_eq!(
        d.message,
        "`out` port `b` is binding 1 (`B`), which kernel `k.comp` declares `readonly`"
    );
}

#[test]
fn element_stride_mismatch_names_both_strides_and_types() {
    let src = SCALE
        .replace("float a[]", "vec2 a[]")
        .replace("a[i]", "a[i].x");
    let (mb, d) = check(&src, &ab(), &["k"]);
    let d = one(&d);
    assert_eq!(d.code, Code::ElementMismatch);
    assert_eq!(
        d.message,
        "binding 0 (`A`): kernel `k.comp` has elements `vec2` with stride 8 bytes, but port `a` has elements `f32` with std430 stride 4 bytes"
    );
    assert_eq!(
        d.primary_span(),
        Some(mb.m.graph.ptasks[0].ports[0].ty_span)
    );
    assert_eq!(
        d.help.as_deref(),
        Some("make the element types agree: declare `float a[]` in the kernel, or change the port's element type")
    );
}

#[test]
fn u16_port_against_uint_kernel_is_an_element_mismatch() {
    let ports = vec![
        (In, "a", ty(ElemType::Scalar(Scalar::U16), &[4, 4])),
        (Out, "b", f32s(&[4, 4])),
    ];
    let src = SCALE
        .replace("float a[]", "uint a[]")
        .replace("p.k * a[i]", "p.k * float(a[i])");
    let (_, d) = check(&src, &ports, &["k"]);
    let d = one(&d);
    assert_eq!(
        d.message,
        "binding 0 (`A`): kernel `k.comp` has elements `uint` with stride 4 bytes, but port `a` has elements `u16` with std430 stride 2 bytes"
    );
    assert!(d.help.as_deref().unwrap_or("").contains("`uint16_t a[]`"));
}

#[test]
fn vec3_pads_to_16_like_vec4() {
    let ports = vec![
        (
            In,
            "a",
            ty(
                ElemType::Vector {
                    n: 3,
                    scalar: Scalar::F32,
                },
                &[64],
            ),
        ),
        (
            Out,
            "b",
            ty(
                ElemType::Vector {
                    n: 4,
                    scalar: Scalar::F32,
                },
                &[64],
            ),
        ),
    ];
    let src = SCALE
        .replace("float a[]", "vec3 a[]")
        .replace("float b[]", "vec4 b[]")
        .replace("p.k * a[i]", "vec4(p.k * a[i], 1.0)");
    let (_, d) = check(&src, &ports, &["k"]);
    assert!(d.is_empty(), "{d:#?}");
}

#[test]
fn header_member_before_array_is_an_element_mismatch() {
    let src = SCALE.replace("{ float a[]; }", "{ uint n; float a[]; }");
    let (_, d) = check(&src, &ab(), &["k"]);
    let d = one(&d);
    assert_eq!(d.code, Code::ElementMismatch);
    assert_eq!(
        d.message,
        "buffer `A` (binding 0) of kernel `k.comp` has 1 member(s) before its array `a`; port `a` is a plain array"
    );
}

#[test]
fn fixed_array_length_must_match_the_port() {
    let src = SCALE.replace("float b[]", "float b[16]");
    let (_, d) = check(&src, &ab(), &["k"]);
    let d = one(&d);
    assert_eq!(
        d.message,
        "binding 1 (`B`): kernel `k.comp` declares 16 elements, but port `b` (`f32[1024]`) has 1024"
    );
}

#[test]
fn struct_fields_are_compared() {
    let src = "#version 450
layout(local_size_x = 16) in;
struct Ev { uint kind; float t; vec2 xy; };
layout(std430, set = 0, binding = 0) writeonly buffer E { Ev ev[]; };
void main() { ev[gl_GlobalInvocationID.x].t = 1.0; }
";
    let ports = vec![(Out, "ev", ty(ElemType::Struct("Event".into()), &[16]))];
    let (_, d) = check(src, &ports, &[]);
    let d = one(&d);
    assert_eq!(d.code, Code::ElementMismatch);
    assert_eq!(
        d.message,
        "binding 0 (`E`): the fields of kernel struct `struct Ev` (size@offset: 4@0, 4@4, 8@8) differ from struct `Event` of port `ev` (4@0, 4@4, 4@8, 4@12)"
    );
    let good = src.replace("float t; vec2 xy;", "float x; float y; float t;");
    let (_, d) = check(&good, &ports, &[]);
    assert!(d.is_empty(), "{d:#?}");
}

#[test]
fn push_constant_type_mismatch_points_at_the_param() {
    let src = SCALE
        .replace("{ float k; }", "{ int k; }")
        .replace("p.k *", "float(p.k) *");
    let (mb, d) = check(&src, &ab(), &["k"]);
    let d = one(&d);
    assert_eq!(d.code, Code::PushConstantMismatch);
    assert_eq!(
        d.message,
        "param `k` is `f32` at offset 0, but kernel `k.comp`'s push-constant member 0 `k` is `int` at offset 0"
    );
    assert_eq!(d.primary_span(), Some(mb.m.graph.ptasks[0].params[0].span));
    assert_eq!(
        d.help.as_deref(),
        Some("declare the block as `layout(push_constant) uniform Params { float k; } p;`")
    );
}

#[test]
fn push_constant_counts_and_offsets() {
    // Two params but the kernel's second member sits at offset 8.
    let src = SCALE.replace("{ float k; }", "{ float k; layout(offset = 8) float j; }");
    let (_, d) = check(&src, &ab(), &["k", "j"]);
    let d = one(&d);
    assert_eq!(
        d.message,
        "param `j` is `f32` at offset 4, but kernel `k.comp`'s push-constant member 1 `j` is `float` at offset 8"
    );
    // Extra param.
    let (_, d) = check(SCALE, &ab(), &["k", "extra"]);
    assert_eq!(
        one(&d).message,
        "param `extra` of ptask `p` is push-constant member 1, but kernel `k.comp`'s block has only 1 member"
    );
    // Extra member.
    let src = SCALE.replace("{ float k; }", "{ float k; uint n; }");
    let (_, d) = check(&src, &ab(), &["k"]);
    assert_eq!(
        one(&d).message,
        "kernel `k.comp`'s push-constant member 1 `n` (offset 4) has no param in ptask `p`"
    );
    // No block at all.
    let src = SCALE
        .replace("layout(push_constant) uniform Params { float k; } p;", "")
        .replace("p.k *", "");
    let (_, d) = check(&src, &ab(), &["k", "j"]);
    let d = one(&d);
    assert_eq!(
        d.message,
        "ptask `p` has 2 params, but kernel `k.comp` has no push-constant block"
    );
    assert_eq!(
        d.help.as_deref(),
        Some("declare them in the kernel: `layout(push_constant) uniform Params { float k; float j; } p;`")
    );
    // Block but no params.
    let (_, d) = check(SCALE, &ab(), &[]);
    assert_eq!(
        one(&d).message,
        "kernel `k.comp` has a push-constant block with 1 member, but ptask `p` has no params"
    );
}

#[test]
fn too_many_invocations_is_a_local_size_error() {
    let src = SCALE.replace(
        "local_size_x = 256",
        "local_size_x = 32, local_size_y = 32, local_size_z = 2",
    );
    let (mb, d) = check(&src, &ab(), &["k"]);
    assert!(d.is_empty(), "the interface matches: {d:#?}");
    let ls = iface(&src).local_size.expect("literal local size");
    let d = local_size_error(&mb.m.graph.ptasks[0], ls).expect("too many invocations");
    assert_eq!(d.code, Code::LocalSize);
    assert_eq!(
        d.message,
        "kernel `k.comp` of ptask `p` has an invalid workgroup size: 32 x 32 x 2 = 2048 invocations exceed 1024"
    );
    assert_eq!(d.primary_span(), Some(mb.m.graph.ptasks[0].kernel_span));
}

#[test]
fn shader_features_are_reflected() {
    let src = "#version 450
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_int16 : require
layout(local_size_x = 64) in;
layout(std430, set = 0, binding = 0) readonly buffer A { uint16_t a[]; };
layout(std430, set = 0, binding = 1) writeonly buffer B { float b[]; };
void main() { uint i = gl_GlobalInvocationID.x; b[i] = float(a[i] + uint16_t(1)); }
";
    let i = iface(src);
    assert!(
        i.features.storage_16bit && i.features.int16,
        "{:?}",
        i.features
    );
    assert!(!i.features.storage_8bit && !i.features.float64);
    assert!(!iface(SCALE).features.storage_16bit);
}

fn temp_kernel(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ptc-kernel-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write temp kernel");
    p
}

#[test]
fn compile_error_points_at_kernel_with_related_glsl_location() {
    let path = temp_kernel(
        "broken.comp",
        "#version 450\nlayout(local_size_x = 1) in;\nvoid main() {\n    undefined_thing = 1;\n}\n",
    );
    let mut mb = Mb::new("g");
    mb.ptask("p", "kernels/broken.comp", &[], &[]);
    mb.m.graph.ptasks[0].kernel_path = Some(path.clone());
    let (k, d) = check_kernels(&mb.m, &mut KernelCache::default());
    assert_eq!(k, vec![None]);
    let d = one(&d);
    assert_eq!(d.code, Code::KernelCompile);
    assert_eq!(
        d.message,
        "kernel `kernels/broken.comp` of ptask `p` does not compile: 'undefined_thing' : undeclared identifier"
    );
    assert_eq!(d.primary_span(), Some(mb.m.graph.ptasks[0].kernel_span));
    assert_eq!(d.labels[0].message, "1 GLSL error in this kernel");
    assert_eq!(d.related.len(), 1);
    assert_eq!(d.related[0].file, path);
    assert_eq!((d.related[0].line, d.related[0].column), (4, 5));
    assert!(d.help.is_some());
}

#[test]
fn each_ptask_gets_its_kernel_checked_and_compiled_once() {
    let path = temp_kernel("scale.comp", SCALE);
    let mut mb = Mb::new("g");
    let ports: Vec<_> = ab().into_iter().map(|(k, n, t)| (k, n, t, None)).collect();
    mb.ptask(
        "p1",
        "scale.comp",
        &ports,
        &[("k", Scalar::F32, Value::F32(2.0))],
    );
    mb.ptask(
        "p2",
        "scale.comp",
        &ports[..1],
        &[("k", Scalar::F32, Value::F32(2.0))],
    );
    for p in &mut mb.m.graph.ptasks {
        p.kernel_path = Some(path.clone());
    }
    let mut cache = KernelCache::default();
    let (k, d) = check_kernels(&mb.m, &mut cache);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert!(d[0].message.contains("ptask `p2` has only 1"));
    let k0 = k[0].as_ref().expect("p1 checks");
    assert_eq!(k0.local_size, [256, 1, 1]);
    assert_eq!(k0.spirv[0], 0x0723_0203);
    assert!(k[1].is_none());
    assert_eq!(cache.compiled.len(), 1);
}

#[test]
fn unreadable_kernel_is_an_io_error() {
    let mut mb = Mb::new("g");
    mb.ptask("p", "nope.comp", &[], &[]);
    mb.m.graph.ptasks[0].kernel_path = Some("/nonexistent/ptc/nope.comp".into());
    let (_, d) = check_kernels(&mb.m, &mut KernelCache::default());
    assert_eq!(one(&d).code, Code::Io);
}

fn repo_kernel(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../kernels")
        .join(name)
}

/// The repository's kernels meet the ABI of the example graphs, and the
/// lowered plans embed their SPIR-V and reload identically.
#[test]
fn repository_kernels_check_and_lower_for_saxpy2() {
    let mut mb = saxpy2();
    for (pt, f) in mb.m.graph.ptasks.iter_mut().zip(["scale.comp", "add.comp"]) {
        pt.kernel_path = Some(repo_kernel(f));
    }
    let (k, d) = check_kernels(&mb.m, &mut KernelCache::default());
    assert!(d.is_empty(), "{d:#?}");
    let got: Vec<_> = k.iter().map(|k| k.as_ref().map(|k| k.local_size)).collect();
    assert_eq!(got, vec![Some([256, 1, 1]); 2]);
    let info = crate::valid::ModuleInfo::new(k.clone()).expect("every kernel checked");
    let plan = crate::back::lower::lower(&mb.m, &info).expect("lowers");
    let info = plan.validate().expect("the lowered plan validates");
    let words = &info.ptask(0).expect("scale's module").words;
    assert_eq!(&words[..], &k[0].as_ref().expect("kernel").spirv[..]);
    assert_eq!(
        ptc_plan::Plan::from_yaml(&plan.to_yaml().unwrap()),
        Ok(plan)
    );
}

/// The shipped gesture graph (parsed from `graphs/gesture.pt`) needs 16-bit
/// storage for its u16 depth frames.
#[test]
fn gesture_graph_needs_16bit_storage() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../graphs/gesture.pt");
    let r = crate::check_file(&path, &crate::Options::default());
    assert!(!r.has_errors(), "{:#?}", r.diagnostics);
    let plan = r.plan.expect("plan");
    assert!(plan.requirements.storage_16bit);
    assert!(!plan.requirements.shader_float64);
    // xform (kernels branch): 8 invocations a workgroup, one invocation a
    // 16x48 block of the 640x480 image: 40x10 invocations, 5x10 workgroups.
    assert_eq!(plan.ptasks[0].local_size, [8, 1, 1]);
    assert_eq!(plan.ptasks[0].workgroups, [5, 10, 1]);
}

/// The cache key covers included files: editing an included file (the
/// kernel's own text unchanged) recompiles it.
#[test]
fn editing_an_included_file_recompiles_its_includer() {
    let dir = std::env::temp_dir().join(format!("ptc-include-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("inc")).expect("temp dir");
    let kernel = dir.join("k.comp");
    std::fs::write(
        &kernel,
        "#version 450\n#include \"inc/f.glsl\"\nlayout(local_size_x = 64) in;\n\
         layout(std430, set = 0, binding = 0) buffer B { float b[]; };\n\
         void main() { b[0] = f(b[1]); }\n",
    )
    .expect("kernel");
    let inc = dir.join("inc/f.glsl");
    std::fs::write(&inc, "float f(float x) { return x * missing; }\n").expect("include");
    let req = compile::Request::file(&kernel);
    match &*compile::load_request(&req) {
        Err(compile::KernelError::Compile(m)) => {
            assert_eq!(m[0].file, inc);
            assert_eq!(m[0].line, 1);
        }
        other => panic!("expected an error in the include: {other:?}"),
    }
    std::fs::write(&inc, "float f(float x) { return x * 2.0; }\n").expect("fix include");
    match &*compile::load_request(&req) {
        Ok(c) => assert_eq!(c.includes, vec![inc.clone()]),
        Err(e) => panic!("the fixed include still fails: {e:?}"),
    }
    // A missing include lists where it was looked for.
    std::fs::remove_file(&inc).expect("remove include");
    match &*compile::load_request(&req) {
        Err(compile::KernelError::Include(m)) => {
            assert_eq!(m.name, "inc/f.glsl");
            assert_eq!((m.from.clone(), m.line), (kernel.clone(), 2));
            assert_eq!(m.looked, vec![inc.clone()]);
        }
        other => panic!("expected a missing include: {other:?}"),
    }
    // ... and once it is back, the kernel compiles (the miss was not cached).
    std::fs::write(&inc, "float f(float x) { return x; }\n").expect("restore include");
    assert!(compile::load_request(&req).is_ok());
}
