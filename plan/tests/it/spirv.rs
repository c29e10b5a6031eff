//! `ptc_plan::spirv` on kernels compiled for real (through the compiler's
//! shaderc settings) and on broken modules: the facts the runtime relies on
//! (`gl_NumWorkGroups`, capabilities, push-constant size) and errors, not
//! panics, for malformed SPIR-V.

use ptc_compiler::valid::kernel::compile::compile_and_reflect;
use ptc_plan::spirv::{self, from_base64, to_base64};
use std::path::Path;

fn compile(src: &str) -> Vec<u32> {
    match compile_and_reflect(Path::new("t.comp"), src) {
        Ok(c) => c.spirv.to_vec(),
        Err(e) => panic!("test kernel does not compile: {e:?}"),
    }
}

const HEAD: &str = "#version 450\nlayout(local_size_x = 64) in;\n\
                    layout(std430, binding = 0) buffer B { uint v[]; };\nvoid main() {";

#[test]
fn kernels_reading_num_workgroups_are_detected() {
    let plain = compile(&format!("{HEAD} v[gl_GlobalInvocationID.x] = 1u; }}"));
    let counts = compile(&format!(
        "{HEAD} v[gl_GlobalInvocationID.x] = gl_NumWorkGroups.x; }}"
    ));
    let ids = compile(&format!(
        "{HEAD} v[gl_GlobalInvocationID.x] = gl_WorkGroupID.x + gl_WorkGroupSize.x; }}"
    ));
    assert!(!spirv::reflect(&plain).expect("plain").reads_num_workgroups);
    assert!(
        spirv::reflect(&counts)
            .expect("counts")
            .reads_num_workgroups
    );
    assert!(!spirv::reflect(&ids).expect("ids").reads_num_workgroups);
}

#[test]
fn malformed_modules_are_errors_not_panics() {
    let good = compile(&format!("{HEAD} v[gl_GlobalInvocationID.x] = 1u; }}"));
    // An instruction of length 0.
    let mut bad = good.clone();
    bad[5] = 0;
    let e = spirv::reflect(&bad).expect_err("zero-length instruction");
    assert!(e.starts_with("malformed SPIR-V"), "{e}");
    // An opcode SPIR-V does not define (spirq's own parser would panic).
    let mut bad = good.clone();
    bad[5] = (bad[5] & 0xffff_0000) | 0xfff0;
    let e = spirv::reflect(&bad).expect_err("unknown opcode");
    assert_eq!(e, "malformed SPIR-V: unknown opcode 65520");
    // No header at all.
    assert!(spirv::reflect(&good[..3]).is_err());
    assert!(spirv::reflect(&[0xdead_beef, 0, 0, 0, 0, 0]).is_err());
    // Header only: no entry point.
    assert!(spirv::reflect(&good[..5]).is_err());
}

#[test]
fn capabilities_and_push_constant_size_are_reflected() {
    let words = compile(
        "#version 450\n\
         #extension GL_EXT_shader_16bit_storage : require\n\
         #extension GL_EXT_shader_explicit_arithmetic_types_int64 : require\n\
         layout(local_size_x = 8, local_size_y = 4) in;\n\
         layout(std430, binding = 0) readonly buffer A { uint16_t a[]; };\n\
         layout(std430, binding = 1) writeonly buffer B { uint b[]; };\n\
         layout(push_constant) uniform P { float k; uint n; } p;\n\
         void main() { uint i = gl_GlobalInvocationID.x; \
         b[i] = uint(uint64_t(a[i]) * uint64_t(p.n)) + uint(p.k); }",
    );
    let i = spirv::reflect(&words).expect("reflects");
    assert_eq!(i.entry, "main");
    assert_eq!(i.local_size, Ok([8, 4, 1]));
    assert_eq!(i.push_constant_bytes, 8);
    assert_eq!(i.push.as_ref().map(Vec::len), Some(2));
    assert!(i.features.storage_16bit && i.features.int64);
    assert!(!i.features.int8 && !i.features.float64);
    assert_eq!(i.bindings.len(), 2);
    assert!(!i.reads_num_workgroups);
    let none = spirv::reflect(&compile(&format!("{HEAD} v[0] = 1u; }}"))).expect("reflects");
    assert_eq!((none.push.is_none(), none.push_constant_bytes), (true, 0));
}

#[test]
fn base64_round_trips_and_checks_the_magic_number() {
    let words = compile(&format!("{HEAD} v[0] = 1u; }}"));
    assert_eq!(from_base64(&to_base64(&words)), Ok(words));
    assert_eq!(
        from_base64(&to_base64(&[1, 2, 3, 4, 5])),
        Err("bad SPIR-V magic number 0x00000001".into())
    );
    assert_eq!(
        from_base64(&to_base64(&[spirv::MAGIC])),
        Err("4 bytes is not a SPIR-V module".into())
    );
}
