//! Lowering tests on hand-built modules: buffers, aliasing, roles, slots,
//! workgroups, barriers and dispatch order.

use super::*;
use crate::back::testutil::*;
use crate::ir::Endpoint;
use crate::valid::ModuleInfo;
use ptc_plan::types::{ElemType, Scalar, Value};
use ptc_plan::{Sink, Source};

fn lower_ok(mb: &Mb, locals: &[[u32; 3]]) -> Plan {
    let k = kernels(mb, locals);
    match lower(&mb.m, &k) {
        Ok(p) => {
            let back = Plan::from_yaml(&p.to_yaml().unwrap()).expect("plan reloads");
            assert_eq!(back, p, "YAML round trip changed the plan");
            p
        }
        Err(d) => panic!("lowering failed: {d:#?}"),
    }
}

fn buf<'a>(p: &'a Plan, name: &str) -> (usize, &'a Buffer) {
    p.buffers
        .iter()
        .enumerate()
        .find(|(_, b)| b.name == name)
        .unwrap_or_else(|| panic!("no buffer {name}"))
}

fn names(p: &Plan, order: &[Dispatch]) -> Vec<String> {
    order
        .iter()
        .map(|d| p.ptasks[d.ptask].name.clone())
        .collect()
}

fn raw(b: usize) -> BufferBarrier {
    BufferBarrier {
        buffer: b,
        hazard: Hazard::ReadAfterWrite,
    }
}

#[test]
fn saxpy2_lowers_to_aliased_buffers_and_a_chain() {
    let p = lower_ok(&saxpy2(), &[[256, 1, 1], [256, 1, 1]]);
    assert_eq!(p.graph, "saxpy2");
    assert_eq!(p.priority, 50);
    let got: Vec<_> = p
        .buffers
        .iter()
        .map(|b| {
            (
                b.name.as_str(),
                b.role,
                b.slots,
                b.size,
                b.aliases.join(","),
            )
        })
        .collect();
    let mb4 = 4 * 1_048_576;
    assert_eq!(
        got,
        vec![
            ("x", BufferRole::Input, 2, mb4, "x,scale.a".to_string()),
            ("y", BufferRole::Input, 2, mb4, "y,add.b".to_string()),
            (
                "scale.b",
                BufferRole::Internal,
                1,
                mb4,
                "scale.b,add.a".to_string()
            ),
            ("add.c", BufferRole::Output, 1, mb4, "add.c,z".to_string()),
        ]
    );
    let scale = &p.ptasks[0];
    assert_eq!(
        scale
            .bindings
            .iter()
            .map(|b| (b.port.as_str(), b.access, b.buffer))
            .collect::<Vec<_>>(),
        vec![("a", Access::In, 0), ("b", Access::Out, 2)]
    );
    assert_eq!(
        p.ptasks[1]
            .bindings
            .iter()
            .map(|b| b.buffer)
            .collect::<Vec<_>>(),
        vec![2, 1, 3]
    );
    assert_eq!(
        scale.push_constants,
        vec![PushConstant {
            name: "k".into(),
            ty: Scalar::F32,
            offset: 0,
            value: Value::F32(2.0)
        }]
    );
    assert_eq!(scale.push_constant_size, 4);
    assert_eq!(scale.workgroups, [4096, 1, 1]);
    assert_eq!(scale.kernel, "kernels/scale.comp");
    assert_eq!(p.ptasks[1].push_constant_size, 0);
    assert_eq!(names(&p, &p.schedule), vec!["scale", "add"]);
    assert_eq!(p.schedule[0].barriers, vec![]);
    assert_eq!(p.schedule[1].barriers, vec![raw(2)]);
    assert_eq!(
        p.inputs
            .iter()
            .map(|i| (i.name.as_str(), i.buffer))
            .collect::<Vec<_>>(),
        vec![("x", 0), ("y", 1)]
    );
    assert_eq!(p.outputs[0].name, "z");
    assert_eq!(p.outputs[0].buffer, 3);
    assert_eq!(p.requirements.max_buffer_bytes, mb4);
    assert_eq!(p.requirements.push_constant_bytes, 4);
    assert_eq!(p.requirements.max_workgroups, [4096, 1, 1]);
    assert!(!p.requirements.storage_16bit);
}

#[test]
fn gesture_lowers_with_2d_grid_and_16bit_storage() {
    let p = lower_ok(&gesture(), &[[16, 16, 1], [256, 1, 1]]);
    assert_eq!(p.priority, 10);
    let (ui, u) = buf(&p, "usbsrc");
    assert_eq!(
        (u.role, u.slots, u.size),
        (BufferRole::Input, 2, 480 * 640 * 2)
    );
    let (ci, c) = buf(&p, "xform.cloud");
    assert_eq!(
        (c.role, c.slots, c.size),
        (BufferRole::Internal, 1, 480 * 640 * 16)
    );
    assert_eq!(c.aliases, vec!["xform.cloud", "detect.g_input"]);
    let (gi, g) = buf(&p, "detect.gestures");
    assert_eq!((g.role, g.size), (BufferRole::Output, 16 * 16));
    assert_eq!(p.ptasks[0].workgroups, [40, 30, 1]);
    assert_eq!(p.ptasks[1].workgroups, [1, 1, 1]);
    assert_eq!(
        p.ptasks[0]
            .push_constants
            .iter()
            .map(|c| (c.name.as_str(), c.offset))
            .collect::<Vec<_>>(),
        vec![("sigma_space", 0), ("sigma_range", 4)]
    );
    assert_eq!(p.ptasks[0].push_constant_size, 8);
    assert_eq!(p.ptasks[0].bindings[0].buffer, ui);
    assert_eq!(names(&p, &p.schedule), vec!["xform", "detect"]);
    assert_eq!(p.schedule[1].barriers, vec![raw(ci)]);
    assert!(p.requirements.storage_16bit && !p.requirements.storage_8bit);
    assert_eq!(p.requirements.max_buffer_bytes, 480 * 640 * 16);
    assert_eq!(p.structs.len(), 1);
    assert_eq!(
        p.inputs[0].source,
        Source::Camera {
            fps: Some(120.0),
            script: None
        }
    );
    assert_eq!(p.outputs[0].sink, Sink::Stdout);
    assert_eq!(p.outputs[0].buffer, gi);
}

#[test]
fn fan_out_shares_one_buffer() {
    let n = 1000;
    let mut mb = Mb::new("fan");
    let x = mb.input("x", f32s(&[n]));
    let o = mb.output("o", f32s(&[n]));
    let ob = mb.output("ob", f32s(&[n]));
    // Declared out of dependency order: consumers first.
    mb.ptask(
        "b",
        "k",
        &[(In, "i", f32s(&[n]), None), (Out, "o", f32s(&[n]), None)],
        &[],
    );
    mb.ptask(
        "c",
        "k",
        &[
            (Sticky, "i", f32s(&[n]), None),
            (Out, "o", f32s(&[n]), None),
        ],
        &[],
    );
    mb.ptask(
        "a",
        "k",
        &[(In, "i", f32s(&[n]), None), (Out, "o", f32s(&[n]), None)],
        &[],
    );
    let (ai, ao, bi, bo, ci) = (
        mb.ep("a", "i"),
        mb.ep("a", "o"),
        mb.ep("b", "i"),
        mb.ep("b", "o"),
        mb.ep("c", "i"),
    );
    mb.connect(Endpoint::Graph(x), ai);
    mb.connect(ao.clone(), bi);
    mb.connect(ao.clone(), ci);
    mb.connect(ao, Endpoint::Graph(o));
    mb.connect(bo, Endpoint::Graph(ob));
    let p = lower_ok(&mb, &[[64, 1, 1]; 3]);
    let (ai_, a) = buf(&p, "a.o");
    assert_eq!(a.role, BufferRole::Output);
    assert_eq!(a.aliases, vec!["a.o", "b.i", "c.i", "o"]);
    // b and c bind a's output directly.
    assert_eq!(p.ptasks[0].bindings[0].buffer, ai_);
    assert_eq!(p.ptasks[1].bindings[0].buffer, ai_);
    assert_eq!(p.ptasks[1].bindings[0].access, Access::Sticky);
    // c.o feeds nobody: internal, still allocated.
    assert_eq!(buf(&p, "c.o").1.role, BufferRole::Internal);
    assert_eq!(p.buffers.len(), 4);
    let order = names(&p, &p.schedule);
    assert_eq!(order[0], "a");
    for d in &p.schedule[1..] {
        assert_eq!(d.barriers, vec![raw(ai_)]);
    }
    assert_eq!(p.ptasks[0].workgroups, [16, 1, 1]);
    assert_eq!(
        p.outputs.iter().map(|o| o.buffer).collect::<Vec<_>>(),
        vec![ai_, buf(&p, "b.o").0]
    );
}

#[test]
fn seeded_cycle_gets_a_state_buffer_and_war_barrier() {
    let n = 256;
    let mut mb = Mb::new("loop");
    let x = mb.input("x", f32s(&[n]));
    let out = mb.output("out", f32s(&[n]));
    mb.ptask(
        "q",
        "k",
        &[
            (In, "y", f32s(&[n]), None),
            (Out, "z", f32s(&[n]), None),
            (Out, "w", f32s(&[n]), None),
        ],
        &[],
    );
    mb.ptask(
        "p",
        "k",
        &[
            (In, "x", f32s(&[n]), None),
            (In, "fb", f32s(&[n]), Some(Value::U32(1))),
            (Out, "y", f32s(&[n]), None),
        ],
        &[],
    );
    let (px, pfb, py, qy, qz, qw) = (
        mb.ep("p", "x"),
        mb.ep("p", "fb"),
        mb.ep("p", "y"),
        mb.ep("q", "y"),
        mb.ep("q", "z"),
        mb.ep("q", "w"),
    );
    mb.connect(Endpoint::Graph(x), px);
    mb.connect(py, qy);
    mb.connect(qz, pfb);
    mb.connect(qw, Endpoint::Graph(out));
    let p = lower_ok(&mb, &[[64, 1, 1]; 2]);
    let (zi, z) = buf(&p, "q.z");
    assert_eq!((z.role, z.slots), (BufferRole::State, 2));
    // The literal 1 is converted to the f32 element type.
    assert_eq!(z.init, Some(Value::F32(1.0)));
    assert_eq!(z.aliases, vec!["q.z", "p.fb"]);
    let (yi, y) = buf(&p, "p.y");
    assert_eq!(y.role, BufferRole::Internal);
    assert_eq!(names(&p, &p.schedule), vec!["p", "q"]);
    assert_eq!(p.schedule[0].barriers, vec![]);
    assert_eq!(
        p.schedule[1].barriers,
        vec![
            raw(yi),
            BufferBarrier {
                buffer: zi,
                hazard: Hazard::WriteAfterRead
            }
        ]
    );
}

#[test]
fn self_loop_is_a_state_buffer() {
    let mut mb = Mb::new("acc");
    let x = mb.input("x", f32s(&[8]));
    mb.ptask(
        "acc",
        "k",
        &[
            (In, "x", f32s(&[8]), None),
            (In, "prev", f32s(&[8]), Some(Value::F32(0.0))),
            (Out, "total", f32s(&[8]), None),
        ],
        &[],
    );
    let (ax, ap, at) = (
        mb.ep("acc", "x"),
        mb.ep("acc", "prev"),
        mb.ep("acc", "total"),
    );
    mb.connect(Endpoint::Graph(x), ax);
    mb.connect(at, ap);
    let p = lower_ok(&mb, &[[8, 1, 1]]);
    let (ti, t) = buf(&p, "acc.total");
    assert_eq!(
        (t.role, t.slots, t.init),
        (BufferRole::State, 2, Some(Value::F32(0.0)))
    );
    assert_eq!(p.ptasks[0].bindings[1].buffer, ti);
    assert_eq!(p.ptasks[0].bindings[2].buffer, ti);
    assert_eq!(p.schedule[0].barriers, vec![]);
}

#[test]
fn an_unseeded_cycle_past_the_checker_is_an_internal_error() {
    let mut mb = Mb::new("bad");
    mb.ptask(
        "p",
        "k",
        &[(In, "a", f32s(&[8]), None), (Out, "b", f32s(&[8]), None)],
        &[],
    );
    mb.ptask(
        "q",
        "k",
        &[(In, "a", f32s(&[8]), None), (Out, "b", f32s(&[8]), None)],
        &[],
    );
    let (pa, pb, qa, qb) = (
        mb.ep("p", "a"),
        mb.ep("p", "b"),
        mb.ep("q", "a"),
        mb.ep("q", "b"),
    );
    mb.connect(pb, qa);
    mb.connect(qb, pa);
    let info = ModuleInfo {
        kernels: vec![fake_kernel([1, 1, 1]), fake_kernel([1, 1, 1])],
    };
    let e = lower(&mb.m, &info).expect_err("cycle without seed");
    assert!(
        e.what.ends_with("is on an unseeded cycle after checking"),
        "{e}"
    );
    let d = e.to_diagnostic();
    assert_eq!(d.code, crate::diag::Code::Internal);
    assert!(
        d.message.starts_with("internal error: ptask `"),
        "{}",
        d.message
    );
}

#[test]
fn grid_override_and_high_rank_shapes() {
    assert_eq!(default_grid(&[7]), [7, 1, 1]);
    assert_eq!(default_grid(&[3, 7]), [7, 3, 1]);
    assert_eq!(default_grid(&[2, 3, 4, 5]), [5, 4, 6]);
    let mut mb = Mb::new("g");
    let x = mb.input("x", f32s(&[2, 3, 4, 5]));
    mb.ptask(
        "p",
        "k",
        &[
            (In, "a", f32s(&[2, 3, 4, 5]), None),
            (Out, "b", f32s(&[2, 3, 4, 5]), None),
        ],
        &[],
    );
    mb.ptask(
        "q",
        "k",
        &[
            (In, "a", f32s(&[2, 3, 4, 5]), None),
            (Out, "b", f32s(&[1]), None),
        ],
        &[],
    );
    mb.m.graph.ptasks[1].grid = Some(([100, 10, 3], crate::ir::Span::new(1, 2)));
    let (pa, pb, qa) = (mb.ep("p", "a"), mb.ep("p", "b"), mb.ep("q", "a"));
    mb.connect(Endpoint::Graph(x), pa);
    mb.connect(pb, qa);
    let p = lower_ok(&mb, &[[4, 2, 2], [32, 4, 1]]);
    assert_eq!(p.ptasks[0].workgroups, [2, 2, 3]);
    assert_eq!(p.ptasks[1].workgroups, [4, 3, 3]);
    assert_eq!(p.requirements.max_workgroups, [4, 3, 3]);
}

#[test]
fn what_the_checker_rules_out_is_an_internal_error() {
    // An input no channel feeds.
    let mut mb = Mb::new("g");
    mb.ptask(
        "p",
        "k",
        &[(In, "a", f32s(&[8]), None), (Out, "b", f32s(&[8]), None)],
        &[],
    );
    let e = lower(&mb.m, &kernels(&mb, &[[8, 1, 1]])).expect_err("unfed input");
    assert_eq!(e.what, "port `p.a` has no buffer after checking");
    // A buffer larger than a storage buffer: plan validation refuses it.
    let mut mb = Mb::new("g");
    let x = mb.input("x", f32s(&[8]));
    mb.ptask(
        "p",
        "k",
        &[
            (In, "a", f32s(&[8]), None),
            (Out, "b", f32s(&[1 << 20, 1 << 11]), None),
        ],
        &[],
    );
    let pa = mb.ep("p", "a");
    mb.connect(Endpoint::Graph(x), pa);
    let info = ModuleInfo {
        kernels: vec![fake_kernel([1, 1, 1])],
    };
    let e = lower(&mb.m, &info).expect_err("oversized buffer");
    assert!(
        e.what
            .starts_with("the lowered plan is invalid: buffer #1 `p.b`: size is 8589934592 bytes"),
        "{e}"
    );
    // Fewer kernels than ptasks.
    let e = lower(&mb.m, &ModuleInfo { kernels: vec![] }).expect_err("no kernels");
    assert_eq!(e.what, "0 kernels for 1 ptasks");
}

#[test]
fn a_seeded_sticky_input_without_a_channel_is_a_constant_buffer() {
    let mut mb = Mb::new("g");
    let x = mb.input("x", f32s(&[4]));
    let y = mb.output("y", f32s(&[4]));
    mb.ptask(
        "add",
        "k",
        &[
            (In, "a", f32s(&[4]), None),
            (Sticky, "bias", f32s(&[4]), Some(Value::F32(1.5))),
            (Out, "c", f32s(&[4]), None),
        ],
        &[],
    );
    let (a, c) = (mb.ep("add", "a"), mb.ep("add", "c"));
    mb.connect(Endpoint::Graph(x), a);
    mb.connect(c, Endpoint::Graph(y));
    let p = lower_ok(&mb, &[[4, 1, 1]]);
    let (bi, b) = buf(&p, "add.bias");
    assert_eq!(
        (b.role, b.slots, b.init, b.aliases.clone()),
        (
            BufferRole::Constant,
            1,
            Some(Value::F32(1.5)),
            vec!["add.bias".to_string()]
        )
    );
    assert_eq!(p.ptasks[0].bindings[1].buffer, bi);
    assert_eq!(p.ptasks[0].bindings[1].access, Access::Sticky);
}

#[test]
fn u8_struct_fields_and_kernel_features_set_requirements() {
    let mut mb = Mb::new("g");
    let l = ptc_plan::types::StructLayout::std430(
        "S",
        &[
            ("a".into(), ElemType::Scalar(Scalar::U8)),
            ("b".into(), ElemType::Scalar(Scalar::F32)),
        ],
    );
    mb.m.structs.push(l.expect("layout"));
    let s = ty(ElemType::Struct("S".into()), &[4]);
    let x = mb.input("x", s.clone());
    mb.ptask(
        "p",
        "k",
        &[(In, "a", s, None), (Out, "b", f32s(&[4]), None)],
        &[],
    );
    let pa = mb.ep("p", "a");
    mb.connect(Endpoint::Graph(x), pa);
    let mut info = kernels(&mb, &[[4, 1, 1]]);
    info.kernels[0].features.int16 = true;
    let p = lower(&mb.m, &info).expect("lowers");
    assert!(p.requirements.storage_8bit);
    assert!(!p.requirements.storage_16bit);
    assert!(p.requirements.shader_int16);
    assert_eq!(buf(&p, "x").1.size, 4 * 8);
}

#[test]
fn passthrough_and_unused_inputs_keep_their_buffers() {
    let mut mb = Mb::new("g");
    let x = mb.input("x", f32s(&[8]));
    let _unused = mb.input("unused", f32s(&[4]));
    let y = mb.output("y", f32s(&[8]));
    let z = mb.output("z", f32s(&[8]));
    mb.ptask(
        "p",
        "k",
        &[(In, "a", f32s(&[8]), None), (Out, "b", f32s(&[8]), None)],
        &[],
    );
    let pa = mb.ep("p", "a");
    let pb = mb.ep("p", "b");
    mb.connect(Endpoint::Graph(x), pa);
    mb.connect(Endpoint::Graph(x), Endpoint::Graph(y));
    mb.connect(pb, Endpoint::Graph(z));
    let p = lower_ok(&mb, &[[8, 1, 1]]);
    let (xi, xb) = buf(&p, "x");
    assert_eq!(xb.aliases, vec!["x", "p.a", "y"]);
    assert_eq!(xb.role, BufferRole::Input);
    assert_eq!(p.outputs[0].buffer, xi);
    let (ui, ub) = buf(&p, "unused");
    assert_eq!((ub.role, ub.aliases.len()), (BufferRole::Input, 1));
    assert_eq!(p.inputs[1].buffer, ui);
    assert_eq!(p.schedule[0].barriers, vec![]);
}

/// A chain of 100,000 ptasks closed by one seeded channel lowers: the
/// strongly connected components and the order are found without
/// recursing once per ptask (petgraph's recursive Tarjan overflowed the
/// test's 2 MiB stack).
#[test]
fn a_100k_ptask_seeded_ring_lowers() {
    let n = 100_000;
    let mut mb = Mb::new("ring");
    let x = mb.input("x", f32s(&[4]));
    for i in 0..n {
        let init = (i == 0).then_some(Value::F32(0.0));
        mb.ptask(
            &format!("p{i}"),
            "k",
            &[
                (In, "a", f32s(&[4]), None),
                (In, "s", f32s(&[4]), init),
                (Out, "b", f32s(&[4]), None),
            ],
            &[],
        );
    }
    mb.connect(Endpoint::Graph(x), Endpoint::Ptask(0, 0));
    for i in 0..n {
        let to = (i + 1) % n;
        mb.connect(
            Endpoint::Ptask(i, 2),
            Endpoint::Ptask(to, if to == 0 { 1 } else { 0 }),
        );
    }
    // Every ptask but p0 reads its predecessor on `a`; p0's `s` closes the ring.
    for i in 1..n {
        mb.connect(Endpoint::Graph(x), Endpoint::Ptask(i, 1));
    }
    // All ptasks have one interface: one real kernel serves them all.
    let k = kernel_for(&mb.m.graph.ptasks[0], [4, 1, 1]);
    let info = ModuleInfo {
        kernels: vec![k; n],
    };
    let p = lower(&mb.m, &info).expect("lowers");
    let order: Vec<usize> = p.schedule.iter().map(|d| d.ptask).collect();
    assert_eq!(order, (0..n).collect::<Vec<_>>());
    let (_, state) = buf(&p, &format!("p{}.b", n - 1));
    assert_eq!(state.role, BufferRole::State);
}
