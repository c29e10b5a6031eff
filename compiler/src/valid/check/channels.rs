//! Channels: resolving each end, its direction, and the types it joins.

use super::errors::{ChannelError, EndKind};
use super::flow::Flow;
use super::{is_placeholder, Checker, GraphName};
use crate::front::ast;
use crate::ir::{Channel, Endpoint, GraphPort, GraphPortDir, PortKind, Ptask, Span};
use ptc_plan::types::PortType;
use std::collections::HashMap;

/// What channel ends are resolved against.
pub(super) struct Scope<'s> {
    /// Graph ports and ptasks by name.
    pub names: &'s HashMap<&'s str, (GraphName, Span)>,
    pub decl: &'s ast::GraphDecl,
    pub ports: &'s [GraphPort],
    pub ptasks: &'s [Ptask],
    /// Per ptask: its body has syntax errors, or its template failed.
    pub broken: &'s [bool],
}

impl Scope<'_> {
    fn ty(&self, e: &Endpoint) -> &PortType {
        match e {
            Endpoint::Graph(i) => &self.ports[*i].ty,
            Endpoint::Ptask(t, p) => &self.ptasks[*t].ports[*p].ty,
        }
    }
}

impl Checker<'_> {
    /// Resolves every channel of the graph; returns the resolved ones and
    /// who reads and writes what (for the flow rules).
    pub(super) fn channels(&mut self, s: &Scope<'_>) -> (Vec<Channel>, Flow) {
        let mut flow = Flow::default();
        let mut channels = Vec::with_capacity(s.decl.channels.len());
        for c in &s.decl.channels {
            let from = self.endpoint(c, &c.from, s, true);
            let to = self.endpoint(c, &c.to, s, false);
            // An end that did not resolve still names something: keep the
            // flow rules quiet about it.
            for (end, r) in [(&from, &c.from), (&to, &c.to)] {
                if end.is_none() {
                    match s.names.get(r.first.name.as_str()) {
                        Some((GraphName::Port(i), _)) => {
                            flow.touched.insert(Endpoint::Graph(*i));
                        }
                        Some((GraphName::Ptask(t), _)) => {
                            for p in 0..s.ptasks[*t].ports.len() {
                                flow.touched.insert(Endpoint::Ptask(*t, p));
                            }
                        }
                        None => {}
                    }
                }
            }
            match (from, to) {
                (Some(from), Some(to)) => {
                    flow.read(&from);
                    self.channel_types(c, &from, &to, s);
                    if let Some(first) = flow.write(&to, c.to.span, Some(&from)) {
                        self.emit(ChannelError::MultipleWriters {
                            text: c.to.text(),
                            span: c.to.span,
                            first,
                        });
                    }
                    channels.push(Channel {
                        from,
                        to,
                        from_span: c.from.span,
                        to_span: c.to.span,
                        span: c.span,
                    });
                }
                // Half-resolved channels still count, so that the other end
                // is not reported as unconnected as well.
                (Some(from), None) => flow.read(&from),
                (None, Some(to)) => {
                    flow.write(&to, c.to.span, None);
                }
                (None, None) => {}
            }
        }
        (channels, flow)
    }

    /// Resolves one end of a channel; `from`: it is the reading end.
    fn endpoint(
        &mut self,
        c: &ast::ChannelDecl,
        r: &ast::PortRef,
        s: &Scope<'_>,
        from: bool,
    ) -> Option<Endpoint> {
        let first = &r.first.name;
        let ep = match (s.names.get(first.as_str()), &r.second) {
            (None, _) => {
                if s.decl.broken_names.contains(first) {
                    return None;
                }
                let hint = self.suggest(first, s.names.keys().copied());
                self.emit(ChannelError::UnknownName {
                    name: first.clone(),
                    span: r.first.span,
                    hint,
                });
                return None;
            }
            (Some((GraphName::Port(i), _)), None) => Endpoint::Graph(*i),
            (Some((GraphName::Port(i), _)), Some(second)) => {
                self.emit(ChannelError::GraphPortPort {
                    name: first.clone(),
                    span: second.span,
                    decl: s.ports[*i].name.span,
                });
                return None;
            }
            (Some((GraphName::Ptask(t), _)), None) => {
                let port = s.ptasks[*t]
                    .ports
                    .iter()
                    .find(|p| (p.kind == PortKind::Out) == from)
                    .map(|p| p.name.name.clone());
                self.emit(ChannelError::PtaskEnd {
                    name: first.clone(),
                    span: r.first.span,
                    port,
                });
                return None;
            }
            (Some((GraphName::Ptask(ti), _)), Some(second)) => {
                let t = &s.ptasks[*ti];
                match t.ports.iter().position(|p| p.name.name == second.name) {
                    Some(pi) => Endpoint::Ptask(*ti, pi),
                    None => {
                        self.no_such_port(r, second, *ti, s);
                        return None;
                    }
                }
            }
        };
        // Direction.
        let (readable, kind) = match &ep {
            Endpoint::Graph(i) => match s.ports[*i].dir {
                GraphPortDir::Input => (true, EndKind::GraphInput),
                GraphPortDir::Output => (false, EndKind::GraphOutput),
            },
            Endpoint::Ptask(t, p) => match s.ptasks[*t].ports[*p].kind {
                PortKind::Out => (true, EndKind::Out),
                PortKind::In => (false, EndKind::In),
                PortKind::Sticky => (false, EndKind::Sticky),
            },
        };
        if readable != from {
            self.emit(ChannelError::WrongDirection {
                text: r.text(),
                span: r.span,
                kind,
                channel: c.span,
                from,
            });
            return None;
        }
        Some(ep)
    }

    /// `ptask.second` names no port of ptask `ti`: say what it is instead.
    fn no_such_port(
        &mut self,
        r: &ast::PortRef,
        second: &crate::ir::Ident,
        ti: usize,
        s: &Scope<'_>,
    ) {
        let t = &s.ptasks[ti];
        if s.broken.get(ti).copied().unwrap_or(false) {
            return;
        }
        if let Some(param) = t.params.iter().find(|p| p.name.name == second.name) {
            self.emit(ChannelError::ParamEnd {
                text: r.text(),
                span: second.span,
                decl: param.name.span,
            });
            return;
        }
        let ports: Vec<String> = t.ports.iter().map(|p| p.name.name.clone()).collect();
        let hint = self.suggest(&second.name, ports.iter().map(String::as_str));
        self.emit(ChannelError::NoSuchPort {
            ptask: r.first.name.clone(),
            port: second.name.clone(),
            span: second.span,
            hint,
            ports,
        });
    }

    fn channel_types(
        &mut self,
        c: &ast::ChannelDecl,
        from: &Endpoint,
        to: &Endpoint,
        s: &Scope<'_>,
    ) {
        let (a, b) = (s.ty(from), s.ty(to));
        if is_placeholder(a) || is_placeholder(b) {
            return;
        }
        let types = if a.elem != b.elem {
            true
        } else if a.shape != b.shape {
            false
        } else {
            return;
        };
        self.emit(ChannelError::Mismatch {
            types,
            from: (c.from.text(), c.from.span, a.clone()),
            to: (c.to.text(), c.to.span, b.clone()),
        });
    }
}
