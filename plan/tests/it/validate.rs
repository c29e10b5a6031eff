//! A plan read back from disk is validated: hand-edited or truncated plans
//! give a clear error instead of reaching the runtime.

use ptc_compiler::back::lower::lower;
use ptc_compiler::back::testutil::*;
use ptc_plan::spirv::to_base64;
use ptc_plan::types::Value;
use ptc_plan::*;

fn saxpy_plan() -> Plan {
    let mb = saxpy2();
    lower(&mb.m, &kernels(&mb, &[[256, 1, 1]; 2])).expect("saxpy2 lowers")
}

fn gesture_plan() -> Plan {
    let mb = gesture();
    lower(&mb.m, &kernels(&mb, &[[16, 16, 1], [256, 1, 1]])).expect("gesture lowers")
}

/// The error loading `p` after writing it out.
fn err(p: &Plan) -> String {
    match Plan::from_yaml(&p.to_yaml().unwrap()) {
        Ok(_) => panic!("edited plan was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn lowered_plans_round_trip() {
    for p in [saxpy_plan(), gesture_plan()] {
        let text = p.to_yaml().unwrap();
        assert_eq!(Plan::from_yaml(&text), Ok(p));
        assert!(text.starts_with("version: 3\n"), "{text}");
    }
}

#[test]
fn ptasks_sharing_a_kernel_share_one_module() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_path_buf();
    let report = ptc_compiler::check_file(
        &root.join("graphs/matmul3.pt"),
        &ptc_compiler::Options::default(),
    );
    let p = report.plan.expect("matmul3 compiles");
    assert_eq!(p.ptasks.len(), 3);
    assert_eq!(p.modules.len(), 1, "three matmul ptasks, one kernel");
    assert!(p.ptasks.iter().all(|t| t.module == 0));
    assert_eq!(p.modules[0].kernel, "kernels/matmul.comp");
    let text = p.to_yaml().unwrap();
    assert_eq!(
        text.matches("spirv: ").count(),
        1,
        "the SPIR-V is written once"
    );
    assert_eq!(Plan::from_yaml(&text), Ok(p));
}

#[test]
fn bad_version() {
    let mut p = saxpy_plan();
    p.version = 7;
    assert_eq!(
        err(&p),
        "plan version 7 is not supported (this ptc reads versions 2 to 3); recompile the graph with `ptc compile`"
    );
}

#[test]
fn truncated_plan_is_a_syntax_error() {
    let text = saxpy_plan().to_yaml().unwrap();
    let cut = text.find("\ninputs:").expect("inputs section");
    let e = Plan::from_yaml(&text[..cut]).expect_err("truncated");
    assert!(matches!(e, PlanError::Syntax(_)), "{e:?}");
    assert!(e.to_string().contains("missing field `inputs`"), "{e}");
    // Cut inside the SPIR-V text: still valid YAML, but not a module.
    let at = text.find("spirv: ").expect("spirv") + 20;
    let mut lines: Vec<&str> = text.lines().collect();
    let line = text[..at].lines().count() - 1;
    let short = &lines[line][..20];
    lines[line] = short;
    let e = Plan::from_yaml(&lines.join("\n")).expect_err("short spirv");
    assert!(e.to_string().starts_with("ptask `scale`: spirv: "), "{e}");
    assert!(Plan::from_yaml("").is_err());
    assert!(Plan::from_yaml("version: 2\ngraph: [").is_err());
}

#[test]
fn unknown_field_is_rejected() {
    let text = saxpy_plan()
        .to_yaml()
        .unwrap()
        .replace("priority: 50", "priority: 50\ncolour: blue");
    let e = Plan::from_yaml(&text).expect_err("unknown field");
    assert!(e.to_string().contains("unknown field `colour`"), "{e}");
}

#[test]
fn out_of_range_buffer_index() {
    let mut p = saxpy_plan();
    p.ptasks[0].bindings[0].buffer = 99;
    assert_eq!(
        err(&p),
        "ptask `scale`: binding `a` names buffer 99 which does not exist"
    );
    let mut p = saxpy_plan();
    p.ptasks[1].module = 5;
    assert_eq!(err(&p), "ptask `add`: module 5 does not exist");
    let mut p = saxpy_plan();
    p.outputs[0].buffer = 4;
    assert_eq!(err(&p), "output `z`: buffer 4 out of range");
    let mut p = saxpy_plan();
    p.schedule[1].barriers[0].buffer = 12;
    assert_eq!(
        err(&p),
        "schedule: barrier on buffer 12 which does not exist"
    );
}

#[test]
fn corrupted_spirv() {
    let mut p = saxpy_plan();
    let m = p.ptasks[1].module;
    p.modules[m].spirv = "AwIjBwAF@@@".into();
    assert!(
        err(&p).starts_with("ptask `add`: spirv: not valid base64"),
        "{}",
        err(&p)
    );
    p.modules[m].spirv = to_base64(&[0xdead_beef, 0, 0, 0, 0]);
    assert_eq!(
        err(&p),
        "ptask `add`: spirv: bad SPIR-V magic number 0xdeadbeef"
    );
}

/// `words` with its first `OpReturn` replaced by `OpNop`: the function's
/// last block has no terminator. spirq reflects it as before (the interface
/// is untouched); spirv-val refuses it, and lavapipe crashed on it
/// (SIGSEGV in `vkCreateComputePipelines`) before plans were validated.
fn without_return(words: &[u32]) -> Vec<u32> {
    let mut w = words.to_vec();
    let mut i = 5;
    while i < w.len() {
        let (n, op) = ((w[i] >> 16) as usize, w[i] & 0xffff);
        if op == 253 {
            w[i] = 1 << 16; // OpNop, one word
            return w;
        }
        i += n.max(1);
    }
    panic!("no OpReturn in the module");
}

#[test]
fn spirv_the_validator_refuses_is_refused() {
    let mut p = saxpy_plan();
    let m = p.ptasks[0].module;
    let words = spirv::from_base64(&p.modules[m].spirv).unwrap();
    assert_eq!(
        spirv::validate(&words),
        Ok(()),
        "the compiled module is valid"
    );
    let bad = without_return(&words);
    // What plan validation checked before: the reflection still matches.
    let (good, broken) = (spirv::reflect(&words), spirv::reflect(&bad));
    assert!(broken.is_ok(), "{broken:?}");
    assert_eq!(good, broken);
    p.modules[m].spirv = spirv::to_base64(&bad);
    let kernel = p.modules[m].kernel.clone();
    assert_eq!(
        err(&p),
        format!(
            "ptask `scale`: module {m} (`{kernel}`): invalid SPIR-V for Vulkan 1.2 (SPIR-V 1.5): \
             Function end cannot be called in blocks (OpFunctionEnd); \
             recompile the graph with `ptc compile`"
        )
    );
    // The validator's own message names the instruction; a header-only
    // module is refused by it too (spirq used to be the only judge).
    let e = spirv::validate(&[spirv::MAGIC, 0x0001_0500, 0, 8, 0]).unwrap_err();
    assert!(e.starts_with("invalid SPIR-V for Vulkan 1.2"), "{e}");
}

#[test]
fn wrong_size() {
    let mut p = saxpy_plan();
    p.buffers[0].size = 12;
    assert_eq!(
        err(&p),
        "buffer #0 `x`: size is 12 bytes but its type f32[1048576] needs 4194304"
    );
    // The checker's limit holds for plans too (one constant, 128 MiB).
    let mut p = saxpy_plan();
    p.buffers[0].ty.shape = vec![1 << 26];
    p.buffers[0].size = 1 << 28;
    assert_eq!(
        err(&p),
        "buffer #0 `x`: size is 268435456 bytes, more than a storage buffer may hold (134217728 bytes, 128 MiB)"
    );
    let mut p = saxpy_plan();
    p.requirements.max_buffer_bytes = 100;
    assert_eq!(
        err(&p),
        "requirements.max_buffer_bytes: 100 is smaller than the largest buffer (4194304)"
    );
}

#[test]
fn schedule_must_respect_dependencies_and_barriers() {
    let mut p = saxpy_plan();
    p.schedule.swap(0, 1);
    assert_eq!(
        err(&p),
        "schedule: ptask `add`: reads `scale.b` before the ptask that writes it is dispatched"
    );
    let mut p = saxpy_plan();
    p.schedule[1].barriers.clear();
    assert_eq!(
        err(&p),
        "schedule: ptask `add`: reads `scale.b` without a read_after_write barrier"
    );
    let mut p = saxpy_plan();
    p.schedule[0].barriers.push(BufferBarrier {
        buffer: 3,
        hazard: Hazard::WriteAfterWrite,
    });
    assert_eq!(
        err(&p),
        "schedule: ptask `scale`: has a barrier on buffer #3 which it does not bind"
    );
    let mut p = saxpy_plan();
    p.schedule.pop();
    assert_eq!(err(&p), "schedule: ptask `add` is never dispatched");
}

#[test]
fn aliases_roles_and_writers_must_agree() {
    let mut p = saxpy_plan();
    p.buffers[2].aliases.retain(|a| a != "add.a");
    assert_eq!(
        err(&p),
        "ptask `add`: binding `a` uses buffer `scale.b` but `add.a` is not among its aliases"
    );
    let mut p = saxpy_plan();
    p.buffers[3].aliases.push("x".into());
    assert_eq!(
        err(&p),
        "buffer #3 `add.c`: alias `x` is also an alias of buffer #0"
    );
    let mut p = saxpy_plan();
    p.outputs[0].buffer = 2;
    assert_eq!(
        err(&p),
        "output `z`: buffer `scale.b` is internal (not readable by the host)"
    );
    let mut p = saxpy_plan();
    p.buffers[2].role = BufferRole::State;
    assert_eq!(
        err(&p),
        "buffer #2 `scale.b`: a State buffer cannot have 1 slots"
    );
    let mut p = saxpy_plan();
    p.ptasks[0].bindings[1].access = Access::In;
    assert_eq!(err(&p), "buffer #2 `scale.b`: no ptask writes it");
    let mut p = saxpy_plan();
    p.inputs.pop();
    assert!(err(&p)
        .starts_with("buffer #1 `y`: an input buffer must be fed by exactly one graph input"));
    let mut p = saxpy_plan();
    p.ptasks[1].name = "scale".into();
    assert_eq!(err(&p), "ptasks: `scale` appears twice");
}

#[test]
fn values_and_requirements_are_checked() {
    let mut p = saxpy_plan();
    p.ptasks[0].push_constants[0].value = Value::U32(2);
    assert_eq!(
        err(&p),
        "ptask `scale`: push constant `k`: value U32(2) does not fit type f32"
    );
    let mut p = gesture_plan();
    p.requirements.storage_16bit = false;
    assert_eq!(
        err(&p),
        "buffer #0 `usbsrc`: has 8/16-bit elements but requirements.storage_8bit/storage_16bit is not set"
    );
    let mut p = gesture_plan();
    p.ptasks[0].local_size = [64, 32, 1];
    assert_eq!(
        err(&p),
        "ptask `xform`: local_size [64, 32, 1] exceeds 1024 invocations (x, y ≤ 1024, z ≤ 64)"
    );
    let mut p = gesture_plan();
    p.ptasks[0].workgroups = [4000, 1, 1];
    assert_eq!(
        err(&p),
        "ptask `xform`: needs more push-constant bytes or workgroups than requirements declare"
    );
}

#[test]
fn embedded_spirv_must_match_the_plan() {
    let mut p = saxpy_plan();
    p.ptasks[0].module = p.ptasks[1].module;
    assert_eq!(
        err(&p),
        "ptask `scale`: spirv: the kernel uses set 0, binding 2 which the plan does not bind"
    );
    let mut p = gesture_plan();
    p.ptasks[0].local_size = [8, 8, 1];
    assert_eq!(
        err(&p),
        "ptask `xform`: spirv: local size is [16, 16, 1], the plan says [8, 8, 1]"
    );
    let mut p = gesture_plan();
    p.ptasks[0].entry = "start".into();
    assert_eq!(
        err(&p),
        "ptask `xform`: spirv: entry point is `main`, the plan says `start`"
    );
    let mut p = gesture_plan();
    p.ptasks[0].push_constants.pop();
    assert_eq!(
        err(&p),
        "ptask `xform`: spirv: the kernel's push-constant block does not match push_constants"
    );
    let mut p = saxpy_plan();
    p.ptasks[1].bindings.swap(1, 2);
    assert_eq!(
        err(&p),
        "ptask `add`: spirv: input binding 2 (`b`) is writable in the kernel"
    );
    let mut p = saxpy_plan();
    let m = p.ptasks[0].module;
    p.modules[m].spirv = to_base64(&[0x0723_0203, 0x0001_0500, 0, 8, 0]);
    assert!(
        err(&p).starts_with(&format!(
            "ptask `scale`: module {m} (`kernels/scale.comp`): invalid SPIR-V"
        )),
        "{}",
        err(&p)
    );
}

#[test]
fn validation_returns_each_modules_facts() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_path_buf();
    let report = ptc_compiler::check_file(
        &root.join("graphs/matmul3.pt"),
        &ptc_compiler::Options::default(),
    );
    let p = report.plan.expect("matmul3 compiles");
    let info = p.validate().expect("valid");
    let m = info.module(0).expect("module 0 is used");
    assert!(info.module(1).is_none());
    for t in 0..p.ptasks.len() {
        assert!(std::ptr::eq(info.ptask(t).expect("ptask"), m), "one module");
    }
    assert!(info.ptask(p.ptasks.len()).is_none());
    assert_eq!(Ok(m.words.clone()), spirv::from_base64(&p.modules[0].spirv));
    assert_eq!(m.entry, p.ptasks[0].entry);
    assert_eq!(m.local_size, p.ptasks[0].local_size);
    assert_eq!(m.bindings.len(), p.ptasks[0].bindings.len());
    assert_eq!(m.push_constant_bytes, p.ptasks[0].push_constant_size);
    assert!(!m.reads_num_workgroups);
    // A module no ptask uses is not inspected (as before): no facts.
    let mut q = p.clone();
    q.modules.push(Module {
        kernel: "unused".into(),
        spirv: "AAAA".into(),
    });
    assert!(q.validate().expect("valid").module(1).is_none());
}

#[test]
fn requirements_must_cover_the_kernels_capabilities() {
    let mut p = saxpy_plan();
    let int64 = "#version 450\n\
        #extension GL_EXT_shader_explicit_arithmetic_types_int64 : require\n\
        layout(local_size_x = 256, local_size_y = 1, local_size_z = 1) in;\n\
        layout(std430, set = 0, binding = 0) readonly buffer B0 { uint d0[]; };\n\
        layout(std430, set = 0, binding = 1) writeonly buffer B1 { uint d1[]; };\n\
        layout(push_constant) uniform P { float m0; } p;\n\
        void main() { uint i = gl_GlobalInvocationID.x; d1[i] = uint(uint64_t(d0[i]) * 3ul); }\n";
    let words = match ptc_compiler::valid::kernel::compile::compile_and_reflect(
        std::path::Path::new("int64.comp"),
        int64,
    ) {
        Ok(c) => c.spirv.to_vec(),
        Err(e) => panic!("test kernel does not compile: {e:?}"),
    };
    let m = p.ptasks[0].module;
    p.modules[m].spirv = to_base64(&words);
    assert_eq!(
        err(&p),
        "ptask `scale`: spirv: the kernel declares capability Int64 but requirements.shader_int64 is not set"
    );
    p.requirements.shader_int64 = true;
    let info = p.validate().expect("covered");
    assert!(info.ptask(0).expect("scale").features.int64);
}

#[test]
fn extreme_numbers_are_errors_not_panics() {
    let mut p = saxpy_plan();
    p.ptasks[0].push_constants[0].offset = u32::MAX - 3;
    assert_eq!(
        err(&p),
        "ptask `scale`: push_constant_size does not cover its members (or exceeds 256 bytes)"
    );
    let mut p = saxpy_plan();
    p.buffers[0].ty.shape = vec![u64::MAX, 4];
    assert_eq!(err(&p), "buffer #0 `x`: size overflows");
    let mut p = saxpy_plan();
    p.ptasks[0].local_size = [u32::MAX, u32::MAX, u32::MAX];
    assert!(err(&p).contains("local_size"), "{}", err(&p));
    let text = saxpy_plan()
        .to_yaml()
        .unwrap()
        .replace("size: 4194304", "size: 99999999999999999999999");
    assert!(matches!(Plan::from_yaml(&text), Err(PlanError::Syntax(_))));
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn numbers_in(text: &str) -> Vec<(usize, usize)> {
        let b = text.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) {
                let s = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                out.push((s, i));
            } else {
                i += 1;
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

        /// Replacing any number of a valid plan with an arbitrary one, or
        /// truncating it anywhere, gives a plan or an error, never a panic;
        /// whatever loads passes validation again.
        #[test]
        fn edited_plans_never_panic(pick in any::<prop::sample::Index>(), v in any::<u64>(), cut in any::<prop::sample::Index>(), truncate in any::<bool>()) {
            let text = gesture_plan().to_yaml().unwrap();
            let edited = if truncate {
                let mut at = cut.index(text.len());
                while !text.is_char_boundary(at) { at -= 1; }
                text[..at].to_string()
            } else {
                let nums = numbers_in(&text);
                let (s, e) = nums[pick.index(nums.len())];
                format!("{}{v}{}", &text[..s], &text[e..])
            };
            if let Ok(p) = Plan::from_yaml(&edited) {
                prop_assert!(p.validate().is_ok());
            }
        }
    }
}

#[cfg(unix)]
#[test]
fn unserialisable_plan_is_an_error_not_a_panic() {
    use std::os::unix::ffi::OsStrExt;
    let mut p = saxpy_plan();
    p.source = Some(std::ffi::OsStr::from_bytes(b"bad\xff.pt").into());
    match p.to_yaml() {
        Err(PlanError::Serialize(why)) => assert!(why.contains("UTF-8"), "{why}"),
        other => panic!("expected a Serialize error, got {other:?}"),
    }
}
