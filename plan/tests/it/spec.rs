//! Specialization constants, workgroup size and shared memory as
//! reflected from real kernels, and the device-limit table.

use ptc_plan::limits::{DeviceLimits, Exceeded, Limit};
use ptc_plan::spirv::{reflect, spec_constants, specialize, SpecType};
use ptc_plan::types::Scalar;
use ptc_plan::Requirements;

fn compile(src: &str) -> Vec<u32> {
    let c = ptc_compiler::valid::kernel::compile::cached(
        std::path::Path::new("spec_test.comp"),
        src.to_string(),
    );
    match &*c {
        Ok(c) => c.spirv.to_vec(),
        Err(e) => panic!("test kernel does not compile: {e:?}"),
    }
}

const SPEC: &str = "#version 450
layout(local_size_x_id = 3, local_size_y = 4) in;
layout(constant_id = 0) const uint N = 64;
layout(constant_id = 1) const float SCALE = 1.5;
layout(constant_id = 2) const int NEG = -3;
layout(constant_id = 5) const bool FLAG = true;
shared float s[N * 2 + 1];
shared vec4 t[8];
layout(std430, set = 0, binding = 0) buffer B { float b[]; };
void main() {
    s[gl_LocalInvocationID.x] = SCALE;
    t[0] = vec4(NEG);
    barrier();
    b[gl_GlobalInvocationID.x] = s[0] + t[0].x + (FLAG ? 1.0 : 0.0);
}
";

#[test]
fn spec_constants_are_listed_with_id_name_type_and_default() {
    let words = compile(SPEC);
    let c = spec_constants(&words).expect("reflects");
    let got: Vec<_> = c
        .iter()
        .map(|c| (c.id, c.name.clone(), c.ty.clone(), c.default))
        .collect();
    assert_eq!(
        got,
        vec![
            (0, Some("N".into()), SpecType::Scalar(Scalar::U32), 64),
            (
                1,
                Some("SCALE".into()),
                SpecType::Scalar(Scalar::F32),
                1.5f32.to_bits()
            ),
            (
                2,
                Some("NEG".into()),
                SpecType::Scalar(Scalar::I32),
                (-3i32) as u32
            ),
            // glslang names the local-size constant after nothing.
            (3, None, SpecType::Scalar(Scalar::U32), 1),
            (5, Some("FLAG".into()), SpecType::Bool, 1),
        ]
    );
}

#[test]
fn specializing_changes_the_workgroup_size_and_shared_memory() {
    let words = compile(SPEC);
    // Defaults: x from constant 3 (default 1); s = (64 * 2 + 1) floats, t = 8 vec4.
    let d = specialize(&words, &[]).expect("specializes");
    assert_eq!(d.local_size, Ok([1, 4, 1]));
    assert_eq!(d.local_size_ids, [Some(3), None, None]);
    assert_eq!(d.shared_memory_bytes, (64 * 2 + 1) * 4 + 8 * 16);
    let i = reflect(&words).expect("reflects");
    assert_eq!(i.local_size, Ok([1, 4, 1]));
    assert_eq!(i.local_size_ids, [Some(3), None, None]);
    assert_eq!(i.shared_memory_bytes, d.shared_memory_bytes);
    // N = 1000, local_size_x = 32.
    let s = specialize(&words, &[(0, 1000), (3, 32)]).expect("specializes");
    assert_eq!(s.local_size, Ok([32, 4, 1]));
    assert_eq!(s.shared_memory_bytes, (1000 * 2 + 1) * 4 + 8 * 16);
}

#[test]
fn literal_sizes_and_kernels_without_constants() {
    let words = compile(
        "#version 450
layout(local_size_x = 16, local_size_y = 16) in;
shared uint hist[256];
layout(std430, set = 0, binding = 0) buffer B { uint b[]; };
void main() { hist[gl_LocalInvocationIndex] = 1u; barrier(); b[0] = hist[3]; }
",
    );
    assert_eq!(spec_constants(&words), Ok(vec![]));
    let s = specialize(&words, &[(7, 99)]).expect("specializes");
    assert_eq!(s.local_size, Ok([16, 16, 1]));
    assert_eq!(s.local_size_ids, [None; 3]);
    assert_eq!(s.shared_memory_bytes, 1024);
}

#[test]
fn malformed_modules_are_errors() {
    assert!(specialize(&[], &[]).is_err());
    assert!(specialize(&[0x0723_0203, 0x0001_0500, 0, 8, 0, 0x0005_0000], &[]).is_err());
    assert!(spec_constants(&[1, 2, 3, 4, 5]).is_err());
}

#[test]
fn the_limit_table_refuses_what_a_device_lacks() {
    let base = DeviceLimits::BASELINE;
    assert_eq!(base.max_push_constants_size, 128);
    assert_eq!(base.max_compute_shared_memory_size, 32 * 1024);
    assert_eq!(base.max_compute_work_group_count, [65535; 3]);
    let mut r = Requirements::default();
    assert_eq!(base.check(&r, &[]), Ok(()));
    r.shared_memory_bytes = 64 * 1024;
    let e = base.check(&r, &[]).expect_err("64 KiB shared");
    assert_eq!(
        e,
        Exceeded {
            limit: Limit::SharedMemorySize,
            need: 65536,
            have: 32768
        }
    );
    assert_eq!(
        e.to_string(),
        "64 KiB (maxComputeSharedMemorySize is 32768)"
    );
    r.shared_memory_bytes = 0;
    r.max_workgroups = [1, 70000, 1];
    let e = base.check(&r, &[]).expect_err("70000 workgroups");
    assert_eq!(
        e.to_string(),
        "70000 workgroups along y (maxComputeWorkGroupCount[1] is 65535)"
    );
    // A device with more passes what the baseline refuses.
    let big = DeviceLimits {
        max_compute_work_group_count: [1 << 31; 3],
        ..base.clone()
    };
    assert_eq!(big.check(&r, &[]), Ok(()));
    r.push_constant_bytes = 132;
    assert_eq!(
        big.check(&r, &[]).map_err(|e| e.limit),
        Err(Limit::PushConstantsSize)
    );
}

/// A lowered plan with specializations and uniform params
/// (`graphs/linalg.pt`), and edits of it that validation refuses.
fn linalg() -> ptc_plan::Plan {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../graphs/linalg.pt");
    let r = ptc_compiler::check_file(&path, &ptc_compiler::Options::default());
    assert!(!r.has_errors(), "{:#?}", r.diagnostics);
    r.plan.expect("plan")
}

fn err(p: &ptc_plan::Plan) -> String {
    p.validate().expect_err("invalid").to_string()
}

#[test]
fn version_3_additions_are_validated() {
    use ptc_plan::types::Value;
    let plan = linalg();
    plan.validate().expect("the lowered plan is valid");
    let i = |name: &str| {
        plan.ptasks
            .iter()
            .position(|p| p.name == name)
            .expect("ptask")
    };
    let (s1, r) = (i("s1"), i("r"));

    // A constant id the kernel lacks.
    let mut p = plan.clone();
    p.ptasks[r].specialization[0].id = 9;
    assert!(
        err(&p).contains("specialization constant 9 (`WG`) does not exist"),
        "{}",
        err(&p)
    );
    // A value of another type than the kernel's constant.
    let mut p = plan.clone();
    p.ptasks[r].specialization[0].value = Value::F32(128.0);
    assert!(err(&p).contains("is u32 in the kernel"), "{}", err(&p));
    // The local size no longer what the specialization gives.
    let mut p = plan.clone();
    p.ptasks[r].specialization[0].value = Value::U32(64);
    assert!(
        err(&p).contains("local size is [64, 1, 1] as specialized, the plan says [128, 1, 1]"),
        "{}",
        err(&p)
    );
    // Shared memory beyond what the requirements declare.
    let mut p = plan.clone();
    p.requirements.shared_memory_bytes = 64;
    assert!(
        err(&p).contains("bytes of shared memory as specialized"),
        "{}",
        err(&p)
    );
    // Uniform params: too small, at the wrong binding, with push constants.
    let mut p = plan.clone();
    p.ptasks[s1].uniform_params.as_mut().expect("uniform").size = 8;
    assert!(err(&p).contains("must be a multiple of 16"), "{}", err(&p));
    let mut p = plan.clone();
    p.ptasks[s1]
        .uniform_params
        .as_mut()
        .expect("uniform")
        .binding = 4;
    assert!(
        err(&p).contains("set 0, binding 3 which the plan does not bind"),
        "{}",
        err(&p)
    );
    let mut p = plan.clone();
    let u = p.ptasks[s1].uniform_params.take().expect("uniform");
    p.ptasks[s1].push_constants = u.members;
    p.ptasks[s1].push_constant_size = 4;
    assert!(
        err(&p).contains("set 0, binding 3 which the plan does not bind"),
        "{}",
        err(&p)
    );
    // A version-2 plan cannot use them.
    let mut p = plan.clone();
    p.version = 2;
    assert!(err(&p).contains("need plan version 3"), "{}", err(&p));
}
