//! Test helpers: hand-built plans (GLSL compiled with shaderc here), a
//! validated runtime that skips only when no Vulkan device exists.
#![allow(dead_code)]

use ptc_plan::types::{ElemType, PortType, Scalar, Value};
use ptc_plan::*;
use ptc_runtime::{Runtime, RuntimeError, RuntimeOptions, ValidationLog};
use std::path::PathBuf;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("runtime/ has a parent")
        .to_path_buf()
}

/// Compiles `kernels/NAME` to SPIR-V words (with the compiler's shaderc
/// settings: Vulkan 1.2, SPIR-V 1.5).
pub fn spirv(name: &str) -> Vec<u32> {
    let path = root().join("kernels").join(name);
    let src = std::fs::read_to_string(&path).expect("kernel exists");
    match ptc_compiler::valid::kernel::compile::compile_and_reflect(&path, &src) {
        Ok(c) => c.spirv.to_vec(),
        Err(e) => panic!("{name}: {e:?}"),
    }
}

/// A validated runtime, or `None` (with a printed line) if this machine has
/// no Vulkan loader or device at all (never with `PTC_REQUIRE_VULKAN=1`:
/// then that fails the test).
pub fn runtime(force_staging: bool) -> Option<(Runtime, ValidationLog)> {
    let opts = RuntimeOptions {
        validate: true,
        device: None,
        force_staging,
        ..Default::default()
    };
    match Runtime::new(&opts) {
        Ok(rt) => {
            let log = rt.validation_log();
            Some((rt, log))
        }
        Err(e @ (RuntimeError::NoVulkan(_) | RuntimeError::NoDevice(_))) => {
            // In CI (PTC_REQUIRE_VULKAN=1) a missing device is a failure:
            // a broken driver install must not pass as green.
            if std::env::var("PTC_REQUIRE_VULKAN").is_ok_and(|v| v == "1") {
                panic!("PTC_REQUIRE_VULKAN=1 but there is no Vulkan device: {e}");
            }
            println!("SKIP: no Vulkan device ({e})");
            None
        }
        Err(e) => panic!("runtime: {e}"),
    }
}

/// Fails if validation recorded anything.
pub fn assert_clean(log: &ValidationLog) {
    let m = log.messages();
    assert!(m.is_empty(), "validation messages:\n{}", m.join("\n"));
}

pub fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

pub fn u32s(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

pub fn bytes_f32(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn bytes_u32(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Deterministic floats in [-1, 1).
pub fn rand_f32(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

pub fn close(got: &[f32], want: &[f32], rel: f32) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let tol = rel * w.abs().max(1.0);
        assert!(
            (g - w).abs() <= tol,
            "element {i}: got {g}, want {w} (tol {tol})"
        );
    }
}

pub fn f32_ty(shape: &[u64]) -> PortType {
    PortType {
        elem: ElemType::Scalar(Scalar::F32),
        shape: shape.to_vec(),
    }
}

/// Builds plans by hand; the schedule is the order ptasks are added, with a
/// read-after-write barrier on every input written earlier in the frame and
/// a write-after-read barrier on every output read earlier.
#[derive(Default)]
pub struct PlanBuilder {
    pub plan_buffers: Vec<Buffer>,
    pub modules: Vec<Module>,
    pub ptasks: Vec<PtaskPlan>,
    pub inputs: Vec<GraphInput>,
    pub outputs: Vec<GraphOutput>,
}

impl PlanBuilder {
    pub fn buffer(&mut self, name: &str, ty: PortType, role: BufferRole, slots: u32) -> usize {
        let size = ty.byte_size(&Vec::new()).expect("size");
        self.plan_buffers.push(Buffer {
            name: name.into(),
            ty,
            size,
            role,
            slots,
            aliases: Vec::new(),
            init: None,
        });
        self.plan_buffers.len() - 1
    }

    pub fn state(&mut self, name: &str, ty: PortType, init: f32) -> usize {
        let b = self.buffer(name, ty, BufferRole::State, 2);
        self.plan_buffers[b].init = Some(Value::F32(init));
        b
    }

    pub fn input(&mut self, name: &str, ty: PortType) -> usize {
        let b = self.buffer(name, ty, BufferRole::Input, 2);
        self.plan_buffers[b].aliases.push(name.into());
        self.inputs.push(GraphInput {
            name: name.into(),
            buffer: b,
            source: Source::Host,
        });
        b
    }

    pub fn output_of(&mut self, name: &str, buffer: usize) {
        self.plan_buffers[buffer].aliases.push(name.into());
        self.outputs.push(GraphOutput {
            name: name.into(),
            buffer,
            sink: Sink::Host,
        });
    }

    /// `bindings`: (port, access, buffer); `push`: (name, value) as f32/u32 at 4-byte offsets.
    pub fn ptask(
        &mut self,
        name: &str,
        kernel: &str,
        bindings: &[(&str, Access, usize)],
        push: &[(&str, Value)],
        local: [u32; 3],
        groups: [u32; 3],
    ) -> usize {
        let push_constants: Vec<PushConstant> = push
            .iter()
            .enumerate()
            .map(|(i, (n, v))| PushConstant {
                name: n.to_string(),
                ty: match v {
                    Value::F32(_) => Scalar::F32,
                    Value::U32(_) => Scalar::U32,
                    Value::I32(_) => Scalar::I32,
                },
                offset: 4 * i as u32,
                value: *v,
            })
            .collect();
        for (port, _, b) in bindings {
            let ep = format!("{name}.{port}");
            if !self.plan_buffers[*b].aliases.contains(&ep) {
                self.plan_buffers[*b].aliases.push(ep);
            }
        }
        let path = format!("kernels/{kernel}");
        let module = match self.modules.iter().position(|m| m.kernel == path) {
            Some(m) => m,
            None => {
                self.modules.push(Module {
                    kernel: path.clone(),
                    spirv: ptc_plan::spirv::to_base64(&spirv(kernel)),
                });
                self.modules.len() - 1
            }
        };
        self.ptasks.push(PtaskPlan {
            name: name.into(),
            kernel: path,
            module,
            entry: "main".into(),
            bindings: bindings
                .iter()
                .map(|(p, a, b)| Binding {
                    port: p.to_string(),
                    access: *a,
                    buffer: *b,
                })
                .collect(),
            push_constant_size: 4 * push.len() as u32,
            push_constants,
            local_size: local,
            workgroups: groups,
            priority: None,
            specialization: Vec::new(),
            uniform_params: None,
        });
        self.ptasks.len() - 1
    }

    pub fn build(self, graph: &str) -> Plan {
        let mut schedule = Vec::new();
        let mut written = std::collections::HashSet::new();
        let mut read = std::collections::HashSet::new();
        for (i, p) in self.ptasks.iter().enumerate() {
            let mut barriers = Vec::new();
            for b in &p.bindings {
                if b.access != Access::Out && written.contains(&b.buffer) {
                    barriers.push(BufferBarrier {
                        buffer: b.buffer,
                        hazard: Hazard::ReadAfterWrite,
                    });
                }
                if b.access == Access::Out && read.contains(&b.buffer) {
                    barriers.push(BufferBarrier {
                        buffer: b.buffer,
                        hazard: Hazard::WriteAfterRead,
                    });
                }
            }
            for b in &p.bindings {
                if b.access == Access::Out {
                    written.insert(b.buffer);
                } else {
                    read.insert(b.buffer);
                }
            }
            schedule.push(Dispatch { ptask: i, barriers });
        }
        let max = self.plan_buffers.iter().map(|b| b.size).max().unwrap_or(0);
        let plan = Plan {
            version: PLAN_VERSION,
            graph: graph.into(),
            priority: 50,
            source: None,
            requirements: Requirements {
                max_buffer_bytes: max,
                push_constant_bytes: self
                    .ptasks
                    .iter()
                    .map(|p| p.push_constant_size)
                    .max()
                    .unwrap_or(0),
                max_workgroups: [0, 1, 2].map(|d| {
                    self.ptasks
                        .iter()
                        .map(|p| p.workgroups[d])
                        .max()
                        .unwrap_or(1)
                }),
                ..Default::default()
            },
            structs: Vec::new(),
            buffers: self.plan_buffers,
            inputs: self.inputs,
            outputs: self.outputs,
            modules: self.modules,
            ptasks: self.ptasks,
            schedule,
        };
        plan.validate().expect("hand-built plan is valid");
        plan
    }
}

/// saxpy2 (graphs/saxpy2.pt) of `n` elements: z = k*x + y.
pub fn saxpy2(n: u64, k: f32) -> Plan {
    let mut b = PlanBuilder::default();
    let x = b.input("x", f32_ty(&[n]));
    let y = b.input("y", f32_ty(&[n]));
    let mid = b.buffer("scale.b", f32_ty(&[n]), BufferRole::Internal, 1);
    let z = b.buffer("add.c", f32_ty(&[n]), BufferRole::Output, 2);
    b.output_of("z", z);
    let g = (n as u32).div_ceil(256);
    b.ptask(
        "scale",
        "scale.comp",
        &[("a", Access::In, x), ("b", Access::Out, mid)],
        &[("k", Value::F32(k))],
        [256, 1, 1],
        [g, 1, 1],
    );
    b.ptask(
        "add",
        "add.comp",
        &[
            ("a", Access::In, mid),
            ("b", Access::In, y),
            ("c", Access::Out, z),
        ],
        &[],
        [256, 1, 1],
        [g, 1, 1],
    );
    b.build("saxpy2")
}

/// Relative tolerance of a GPU-share test measured on the wall clock:
/// `strict` with `PTC_STRICT_SHARES=1` (a quiet machine; what the
/// benchmarks report), else `loose`, which still tells honoured
/// priorities (2:1) from ignored ones (1:1) on a loaded CI machine. The
/// scheduler's exact shares are tested on a simulated clock
/// (`ptc_runtime::sched` unit tests).
pub fn share_tolerance(strict: f64, loose: f64) -> f64 {
    if std::env::var("PTC_STRICT_SHARES").is_ok_and(|v| v == "1") {
        strict
    } else {
        loose
    }
}
