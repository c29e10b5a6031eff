//! Hand-built checked modules for unit tests (independent of the parser).

use crate::ir::*;
use crate::types::{ElemType, PortType, Scalar, StructLayout, Value};
use std::path::PathBuf;

/// Hands out distinct spans so labels can be told apart.
#[derive(Default)]
pub struct Spans(usize);

impl Spans {
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
            source: SourceSpec::Host,
            sink: SinkSpec::Host,
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
