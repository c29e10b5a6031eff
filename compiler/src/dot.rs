//! Graphviz picture of a checked graph (`ptc graph FILE --dot`): graph
//! inputs and outputs as house shapes, ptasks as boxes (with their kernel),
//! channels as edges labelled with the port names and the channel type.

use crate::ir::{Endpoint, GraphPortDir, Module};
use std::fmt::Write;

/// Quotes a string for the DOT language.
fn q(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// Renders `m` as a Graphviz `digraph`.
pub fn to_dot(m: &Module) -> String {
    let g = &m.graph;
    let mut o = String::new();
    let _ = writeln!(o, "digraph {} {{", q(&g.name.name));
    let _ = writeln!(o, "    rankdir=LR;");
    let _ = writeln!(o, "    node [fontname=\"monospace\"];");
    for (i, p) in g.ports.iter().enumerate() {
        let shape = match p.dir {
            GraphPortDir::Input => "invhouse",
            GraphPortDir::Output => "house",
        };
        let _ = writeln!(
            o,
            "    {} [shape={shape}, label={}];",
            q(&format!("port{i}")),
            q(&format!("{}\n{}", p.name.name, p.ty))
        );
    }
    for (i, t) in g.ptasks.iter().enumerate() {
        let _ = writeln!(
            o,
            "    {} [shape=box, style=rounded, label={}];",
            q(&format!("ptask{i}")),
            q(&format!("{}\n{}", t.name.name, t.kernel))
        );
    }
    let node = |e: &Endpoint| match e {
        Endpoint::Graph(i) => (format!("port{i}"), String::new()),
        Endpoint::Ptask(t, p) => (
            format!("ptask{t}"),
            g.ptasks[*t].ports[*p].name.name.clone(),
        ),
    };
    for c in &g.channels {
        let (a, ap) = node(&c.from);
        let (b, bp) = node(&c.to);
        let ty = match &c.from {
            Endpoint::Graph(i) => g.ports[*i].ty.to_string(),
            Endpoint::Ptask(t, p) => g.ptasks[*t].ports[*p].ty.to_string(),
        };
        let _ = writeln!(
            o,
            "    {} -> {} [label={}, taillabel={}, headlabel={}];",
            q(&a),
            q(&b),
            q(&ty),
            q(&ap),
            q(&bp)
        );
    }
    o.push_str("}\n");
    o
}
