//! Generates large `.pt` graphs for benchmarks: a chain of blocks, each a
//! fan-out (one output read by two ptasks) and a fan-in (an `add` of both).
//! Every ptask uses one of two shared kernels (`kernels/scale.comp`,
//! `kernels/add.comp`) with matching ports, so the graph checks clean with
//! kernels on, and each kernel compiles once.

use std::fmt::Write;

/// A graph of about `n` ptasks (rounded up to a multiple of 4).
pub fn graph(n: usize) -> String {
    let blocks = n.div_ceil(4).max(1);
    let ty = "f32[256]";
    let mut s = String::with_capacity(blocks * 4 * 120);
    let _ = writeln!(s, "// generated: {} ptasks", blocks * 4);
    let _ = writeln!(s, "graph gen{} {{", blocks * 4);
    let _ = writeln!(s, "    input x: {ty};");
    let _ = writeln!(s, "    output y: {ty};");
    let scale = |s: &mut String, name: String| {
        let _ = writeln!(
            s,
            "    ptask {name} {{ kernel \"kernels/scale.comp\"; in a: {ty}; param k: f32 = 0.5; out b: {ty}; }}"
        );
    };
    for i in 0..blocks {
        scale(&mut s, format!("split{i}"));
        scale(&mut s, format!("left{i}"));
        scale(&mut s, format!("right{i}"));
        let _ = writeln!(
            s,
            "    ptask join{i} {{ kernel \"kernels/add.comp\"; in a: {ty}; in b: {ty}; out c: {ty}; }}"
        );
    }
    for i in 0..blocks {
        if i == 0 {
            let _ = writeln!(s, "    x -> split0.a;");
        } else {
            let _ = writeln!(s, "    join{}.c -> split{i}.a;", i - 1);
        }
        let _ = writeln!(s, "    split{i}.b -> left{i}.a;");
        let _ = writeln!(s, "    split{i}.b -> right{i}.a;");
        let _ = writeln!(s, "    left{i}.b -> join{i}.a;");
        let _ = writeln!(s, "    right{i}.b -> join{i}.b;");
    }
    let _ = writeln!(s, "    join{}.c -> y;", blocks - 1);
    s.push_str("}\n");
    s
}
