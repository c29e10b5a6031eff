//! Hand-built checked modules for unit tests (independent of the parser).

use crate::ir::*;
use crate::valid::kernel::{KernelFeatures, KernelInfo};
use crate::valid::ModuleInfo;
use ptc_plan::types::{ElemType, PortType, Scalar, StructLayout, Value};
use ptc_plan::{Sink, Source};
use std::path::PathBuf;
use std::sync::Arc;

/// Hands out distinct spans so labels can be told apart.
#[derive(Default)]
pub struct Spans(usize);

impl Spans {
    // A counter, not an iterator (linted now that the `testutil` feature
    // builds this outside `cfg(test)`).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Span {
        self.0 += 10;
        Span::new(self.0, self.0 + 5)
    }
    pub fn ident(&mut self, name: &str) -> Ident {
        Ident {
            name: name.to_string(),
            span: self.next(),
        }
    }
}

pub fn f32s(shape: &[u64]) -> PortType {
    PortType {
        elem: ElemType::Scalar(Scalar::F32),
        shape: shape.to_vec(),
    }
}

pub fn ty(elem: ElemType, shape: &[u64]) -> PortType {
    PortType {
        elem,
        shape: shape.to_vec(),
    }
}

/// A module under construction.
pub struct Mb {
    pub s: Spans,
    pub m: Module,
}

impl Mb {
    pub fn new(name: &str) -> Mb {
        let mut s = Spans::default();
        let name = s.ident(name);
        let span = s.next();
        Mb {
            s,
            m: Module {
                path: PathBuf::from("test.pt"),
                structs: Vec::new(),
                graph: Graph {
                    name,
                    priority: 50,
                    ports: Vec::new(),
                    ptasks: Vec::new(),
                    channels: Vec::new(),
                    span,
                },
                consts: Vec::new(),
                templates: Vec::new(),
                imports: Vec::new(),
            },
        }
    }

    pub fn event_struct(&mut self) {
        let f = |n: &str, s| (n.to_string(), ElemType::Scalar(s));
        let l = StructLayout::std430(
            "Event",
            &[
                f("kind", Scalar::U32),
                f("x", Scalar::F32),
                f("y", Scalar::F32),
                f("t", Scalar::F32),
            ],
        );
        // invariant: scalar fields always lay out
        self.m.structs.push(l.expect("scalar struct"));
    }

    fn gport(&mut self, name: &str, dir: GraphPortDir, t: PortType) -> usize {
        let p = GraphPort {
            name: self.s.ident(name),
            dir,
            ty: t,
            ty_span: self.s.next(),
            source: Source::Host,
            sink: Sink::Host,
            span: self.s.next(),
        };
        self.m.graph.ports.push(p);
        self.m.graph.ports.len() - 1
    }

    pub fn input(&mut self, name: &str, t: PortType) -> usize {
        self.gport(name, GraphPortDir::Input, t)
    }

    pub fn output(&mut self, name: &str, t: PortType) -> usize {
        self.gport(name, GraphPortDir::Output, t)
    }

    /// Adds a ptask; `ports` are (kind, name, type, init).
    pub fn ptask(
        &mut self,
        name: &str,
        kernel: &str,
        ports: &[(PortKind, &str, PortType, Option<Value>)],
        params: &[(&str, Scalar, Value)],
    ) -> usize {
        let name = self.s.ident(name);
        let kernel_span = self.s.next();
        let ports = ports
            .iter()
            .map(|(k, n, t, init)| Port {
                name: self.s.ident(n),
                kind: *k,
                ty: t.clone(),
                ty_span: self.s.next(),
                init: *init,
                span: self.s.next(),
            })
            .collect();
        let params = params
            .iter()
            .map(|(n, t, v)| Param {
                name: self.s.ident(n),
                ty: *t,
                ty_span: self.s.next(),
                value: *v,
                span: self.s.next(),
            })
            .collect();
        let span = self.s.next();
        self.m.graph.ptasks.push(Ptask {
            name,
            kernel: kernel.to_string(),
            kernel_span,
            kernel_path: Some(PathBuf::from(kernel)),
            specs: Vec::new(),
            defines: Vec::new(),
            entry: None,
            instance: None,
            ports,
            params,
            grid: None,
            priority: None,
            span,
        });
        self.m.graph.ptasks.len() - 1
    }

    /// Endpoint of `ptask.port` by names.
    pub fn ep(&self, ptask: &str, port: &str) -> Endpoint {
        for (t, p) in self.m.graph.ptasks.iter().enumerate() {
            if p.name.name == ptask {
                for (i, q) in p.ports.iter().enumerate() {
                    if q.name.name == port {
                        return Endpoint::Ptask(t, i);
                    }
                }
            }
        }
        panic!("no endpoint {ptask}.{port}")
    }

    pub fn connect(&mut self, from: Endpoint, to: Endpoint) {
        let c = Channel {
            from,
            to,
            from_span: self.s.next(),
            to_span: self.s.next(),
            span: self.s.next(),
        };
        self.m.graph.channels.push(c);
    }
}

pub use crate::ir::PortKind::{In, Out, Sticky};

/// A kernel stand-in: a SPIR-V header (enough for the plan's checks) and a
/// local size; one workgroup.
pub fn fake_kernel(local: [u32; 3]) -> KernelInfo {
    KernelInfo {
        spirv: Arc::from(vec![0x0723_0203u32, 0x0001_0500, 0, 8, 0]),
        entry: "main".into(),
        local_size: local,
        features: KernelFeatures::default(),
        workgroups: [1, 1, 1],
        shared_memory_bytes: 0,
        specialization: Vec::new(),
        params: crate::valid::kernel::ParamsBlock::PushConstants,
    }
}

/// The workgroup counts of `pt` with local size `local` (its grid, or its
/// first `out` port, over the local size).
pub fn workgroups(pt: &Ptask, local: [u32; 3]) -> [u32; 3] {
    let (grid, _) = crate::valid::kernel::grid_of(pt).unwrap_or(([1; 3], Span::default()));
    let mut out = [1u32; 3];
    for i in 0..3 {
        let n = grid[i].div_ceil(u64::from(local[i].max(1)));
        out[i] = u32::try_from(n).expect("test grids fit a dispatch");
    }
    out
}

pub fn saxpy2() -> Mb {
    let n = 1_048_576;
    let mut mb = Mb::new("saxpy2");
    let x = mb.input("x", f32s(&[n]));
    let y = mb.input("y", f32s(&[n]));
    let z = mb.output("z", f32s(&[n]));
    mb.ptask(
        "scale",
        "kernels/scale.comp",
        &[(In, "a", f32s(&[n]), None), (Out, "b", f32s(&[n]), None)],
        &[("k", Scalar::F32, Value::F32(2.0))],
    );
    mb.ptask(
        "add",
        "kernels/add.comp",
        &[
            (In, "a", f32s(&[n]), None),
            (In, "b", f32s(&[n]), None),
            (Out, "c", f32s(&[n]), None),
        ],
        &[],
    );
    let (sa, sb, aa, ab, ac) = (
        mb.ep("scale", "a"),
        mb.ep("scale", "b"),
        mb.ep("add", "a"),
        mb.ep("add", "b"),
        mb.ep("add", "c"),
    );
    mb.connect(Endpoint::Graph(x), sa);
    mb.connect(sb, aa);
    mb.connect(Endpoint::Graph(y), ab);
    mb.connect(ac, Endpoint::Graph(z));
    mb
}

pub fn gesture() -> Mb {
    let mut mb = Mb::new("gesture");
    mb.event_struct();
    mb.m.graph.priority = 10;
    let u16img = ty(ElemType::Scalar(Scalar::U16), &[480, 640]);
    let cloud = ty(
        ElemType::Vector {
            n: 4,
            scalar: Scalar::F32,
        },
        &[480, 640],
    );
    let events = ty(ElemType::Struct("Event".into()), &[16]);
    let src = mb.input("usbsrc", u16img.clone());
    mb.m.graph.ports[src].source = Source::Camera {
        fps: Some(120.0),
        script: None,
    };
    let hid = mb.output("hid", events.clone());
    mb.m.graph.ports[hid].sink = Sink::Stdout;
    mb.ptask(
        "xform",
        "kernels/xform.comp",
        &[
            (In, "rawimg", u16img, None),
            (Out, "cloud", cloud.clone(), None),
        ],
        &[
            ("sigma_space", Scalar::F32, Value::F32(3.0)),
            ("sigma_range", Scalar::F32, Value::F32(30.0)),
        ],
    );
    mb.ptask(
        "detect",
        "kernels/detect.comp",
        &[
            (In, "g_input", cloud, None),
            (Out, "gestures", events, None),
        ],
        &[],
    );
    let (r, c, gi, ge) = (
        mb.ep("xform", "rawimg"),
        mb.ep("xform", "cloud"),
        mb.ep("detect", "g_input"),
        mb.ep("detect", "gestures"),
    );
    mb.connect(Endpoint::Graph(src), r);
    mb.connect(c, gi);
    mb.connect(ge, Endpoint::Graph(hid));
    mb
}

/// A kernel with exactly the ptask's interface (bindings, readonly inputs,
/// push constants) and the given local size, compiled for real.
pub fn kernel_for(pt: &Ptask, local: [u32; 3]) -> KernelInfo {
    let mut src = format!(
        "#version 450\nlayout(local_size_x = {}, local_size_y = {}, local_size_z = {}) in;\n",
        local[0], local[1], local[2]
    );
    for (i, p) in pt.ports.iter().enumerate() {
        let q = if p.kind == PortKind::Out {
            "writeonly"
        } else {
            "readonly"
        };
        src.push_str(&format!(
            "layout(std430, set = 0, binding = {i}) {q} buffer B{i} {{ uint d{i}[]; }};\n"
        ));
    }
    if !pt.params.is_empty() {
        let m: Vec<String> = pt
            .params
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let t = match p.ty {
                    Scalar::F32 => "float",
                    Scalar::I32 => "int",
                    _ => "uint",
                };
                format!("{t} m{i};")
            })
            .collect();
        src.push_str(&format!(
            "layout(push_constant) uniform P {{ {} }} p;\n",
            m.join(" ")
        ));
    }
    src.push_str("void main() {}\n");
    let c = crate::valid::kernel::compile::cached(std::path::Path::new("gen.comp"), src);
    match &*c {
        Ok(c) => KernelInfo {
            spirv: c.spirv.clone(),
            entry: c.iface.entry.clone(),
            local_size: local,
            features: c.iface.features,
            workgroups: workgroups(pt, local),
            shared_memory_bytes: c.iface.shared_memory_bytes as u32,
            specialization: Vec::new(),
            params: crate::valid::kernel::ParamsBlock::PushConstants,
        },
        Err(e) => panic!("generated kernel does not compile: {e:?}"),
    }
}

/// [`kernel_for`] each ptask of `mb`, as validation would hand them to lowering.
pub fn kernels(mb: &Mb, locals: &[[u32; 3]]) -> ModuleInfo {
    ModuleInfo {
        kernels: mb
            .m
            .graph
            .ptasks
            .iter()
            .zip(locals)
            .map(|(p, l)| kernel_for(p, *l))
            .collect(),
    }
}
