//! Every graph shipped in `graphs/` checks clean, and the checked modules
//! hold what the files say.

use ptc_compiler::ir::{Endpoint, GraphPortDir, PortKind};
use ptc_compiler::{check_file, Options};
use ptc_plan::types::{ElemType, Scalar, Value};
use ptc_plan::{Sink, Source};
use std::path::{Path, PathBuf};

fn graphs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../graphs")
}

fn pt_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            pt_files(&path, out);
        } else if path.extension().and_then(|e| e.to_str()) == Some("pt") {
            out.push(path);
        }
    }
}

#[test]
fn every_shipped_graph_checks_clean() {
    let mut files = Vec::new();
    pt_files(&graphs_dir(), &mut files);
    for path in &files {
        let r = check_file(path, &Options::default());
        assert!(
            r.diagnostics.is_empty(),
            "{}: {:#?}",
            path.display(),
            r.diagnostics
        );
        // A library (graphs/lib) declares templates and consts, no graph.
        let Some(m) = r.module else {
            assert!(
                path.parent().is_some_and(|d| d.ends_with("lib")),
                "{}: no module",
                path.display()
            );
            continue;
        };
        for t in &m.graph.ptasks {
            let k = t.kernel_path.as_ref().expect("kernel resolved");
            assert!(k.is_file(), "{}", k.display());
        }
    }
    assert!(
        files.len() >= 2,
        "expected the example graphs, found {}",
        files.len()
    );
}

#[test]
fn gesture_module_is_complete() {
    // The first, shorter sketch of the gesture graph (graphs/gesture.pt
    // extends it with intrinsics and a state cycle).
    let r = check_file(
        &graphs_dir().join("../tests/fixtures/design_gesture.pt"),
        &Options::default(),
    );
    let m = r.module.unwrap();
    assert_eq!(m.structs.len(), 1);
    assert_eq!(m.structs[0].name, "Event");
    assert_eq!(m.structs[0].size, 16);
    let g = &m.graph;
    assert_eq!(g.name.name, "gesture");
    assert_eq!(g.priority, 10);
    assert_eq!(g.ports.len(), 2);
    assert_eq!(g.ports[0].dir, GraphPortDir::Input);
    assert_eq!(g.ports[0].ty.shape, vec![480, 640]);
    assert_eq!(g.ports[0].ty.elem, ElemType::Scalar(Scalar::U16));
    assert_eq!(
        g.ports[0].source,
        Source::Camera {
            fps: Some(120.0),
            script: None
        }
    );
    assert_eq!(g.ports[1].sink, Sink::Stdout);
    assert_eq!(g.ports[1].ty.elem, ElemType::Struct("Event".into()));
    let xform = &g.ptasks[0];
    assert_eq!(xform.name.name, "xform");
    assert_eq!(xform.kernel, "kernels/xform.comp");
    assert_eq!(xform.ports.len(), 2);
    assert_eq!(xform.ports[0].kind, PortKind::In);
    assert_eq!(xform.ports[1].kind, PortKind::Out);
    assert_eq!(
        xform.ports[1].ty.elem,
        ElemType::Vector {
            n: 4,
            scalar: Scalar::F32
        }
    );
    assert_eq!(xform.params.len(), 2);
    assert_eq!(xform.params[1].value, Value::F32(30.0));
    assert_eq!(g.channels.len(), 3);
    assert_eq!(g.channels[0].from, Endpoint::Graph(0));
    assert_eq!(g.channels[0].to, Endpoint::Ptask(0, 0));
    assert_eq!(g.channels[1].from, Endpoint::Ptask(0, 1));
    assert_eq!(g.channels[1].to, Endpoint::Ptask(1, 0));
    assert_eq!(g.channels[2].to, Endpoint::Graph(1));
    // Spans point at the text they name.
    let src = &r.source;
    let s = |sp: ptc_compiler::ir::Span| &src[sp.start..sp.end];
    assert_eq!(s(g.name.span), "gesture");
    assert_eq!(s(xform.name.span), "xform");
    assert_eq!(s(xform.kernel_span), "\"kernels/xform.comp\"");
    assert_eq!(s(xform.ports[1].ty_span), "vec4<f32>[480, 640]");
    assert_eq!(s(xform.params[0].span), "param sigma_space: f32 = 3.0;");
    assert_eq!(s(g.channels[1].span), "xform.cloud -> detect.g_input;");
    assert_eq!(s(g.channels[1].from_span), "xform.cloud");
    assert!(s(g.span).starts_with("graph gesture priority 10 {"));
    assert!(s(g.span).ends_with('}'));
}

#[test]
fn saxpy2_module_defaults() {
    let r = check_file(&graphs_dir().join("saxpy2.pt"), &Options::default());
    let g = r.module.unwrap().graph;
    assert_eq!(g.priority, 50);
    assert_eq!(g.ports.len(), 3);
    assert!(g.ports.iter().all(|p| p.source == Source::Host));
    assert_eq!(g.ptasks[1].ports.len(), 3);
    assert_eq!(g.ptasks[0].params[0].value, Value::F32(2.0));
    assert_eq!(g.channels.len(), 4);
}
