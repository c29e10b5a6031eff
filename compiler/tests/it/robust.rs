//! Hostile input: deep nesting, huge inputs, odd encodings. Nothing panics
//! or overflows the stack, and the diagnostics point at the right place.

use ptc_compiler::diag::render::LineIndex;
use ptc_compiler::diag::Code;
use ptc_compiler::{check_source, Options};
use std::path::Path;

fn check(text: String) -> ptc_compiler::Report {
    let opts = Options {
        kernel_paths: Vec::new(),
        skip_kernels: true,
        ..Options::default()
    };
    check_source(Path::new("robust.pt"), text, &opts)
}

fn codes(r: &ptc_compiler::Report) -> Vec<Code> {
    r.diagnostics.iter().map(|d| d.code).collect()
}

#[test]
fn deeply_nested_input_does_not_overflow_the_stack() {
    let n = 100_000;
    let cases = [
        format!("{}{}", "/*".repeat(n), " */".repeat(n)),
        format!(
            "graph g {{ input x: f32{}{}; }}",
            "[".repeat(n),
            "]".repeat(n)
        ),
        format!("graph g {{ {}{} }}", "{".repeat(n), "}".repeat(n)),
        format!(
            "graph g {{ input x: f32[4] from camera{}{}; }}",
            "(".repeat(n),
            ")".repeat(n)
        ),
        format!(
            "graph g {{ input x: {}f32{}[4]; }}",
            "vec4<".repeat(n),
            ">".repeat(n)
        ),
        format!("{}graph g {{}}", "\"".repeat(n)),
        format!("graph g {{ ptask p {{ {} }} }}", "ptask q { ".repeat(n)),
    ];
    for text in cases {
        let r = check(text);
        assert!(codes(&r).contains(&Code::Syntax), "{:?}", codes(&r));
        // Errors are capped, not one per nesting level.
        assert!(r.diagnostics.len() <= 60, "{}", r.diagnostics.len());
    }
}

#[test]
fn nested_block_comments_do_not_nest() {
    let r = check("/* a /* b */ c */\ngraph g { }".into());
    let d = &r.diagnostics[0];
    assert_eq!(d.code, Code::Syntax);
    assert!(d.help.as_deref().unwrap_or("").contains("do not nest"));
    let s = d.primary_span().unwrap();
    assert_eq!(&r.source[s.start..s.end], "c");
}

#[test]
fn many_errors_in_a_large_file_stay_fast_and_capped() {
    // 2 MB of broken items on one line: each error must not rescan the file.
    let text = "graph g { ".to_string() + &"@;".repeat(1_000_000) + "}";
    let r = check(text);
    let n = r.diagnostics.len();
    assert!((2..=60).contains(&n), "{n}");
    assert!(r
        .diagnostics
        .iter()
        .any(|d| d.message.contains("too many syntax errors")));
}

#[test]
fn crlf_and_multibyte_positions_are_right() {
    let text = "// ünïcödé 日本\r\ngraph g {\r\n    input x: f32[4]; /* 🚀 */ output y: f32[4];\r\n    x -> 🚀;\r\n}\r\n";
    let r = check(text.to_string());
    let d = r
        .diagnostics
        .iter()
        .find(|d| d.code == Code::Syntax)
        .expect("a syntax error at the rocket");
    let s = d.primary_span().unwrap();
    assert_eq!(&r.source[s.start..s.end], "🚀");
    let idx = LineIndex::new(&r.source);
    assert_eq!(idx.line_col(s.start), (4, 10));
    // The rest of the graph still checked: the input and output exist.
    let m = r.module.expect("module");
    assert_eq!(m.graph.ports.len(), 2);
}

#[test]
fn byte_order_mark_and_empty_and_whitespace_only() {
    let r = check("\u{FEFF}graph g { input x: f32[1]; output y: f32[1]; x -> y; }".into());
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    for text in ["", "   \n\t\r\n", "// only a comment"] {
        let r = check(text.into());
        assert_eq!(codes(&r), vec![Code::GraphCount]);
    }
}

#[test]
fn all_errors_in_a_file_are_reported() {
    let text = "graph g priority 0 {
        input x: flaot[4];
        output y: f32[0];
        ptask p { in a: f32[4]; out b: f32[4]; }
        x -> p.a;
        p.b -> q;
        z -> y;
    }";
    let r = check(text.into());
    let c = codes(&r);
    for want in [
        Code::InvalidPriority,
        Code::UnknownType,
        Code::InvalidShape,
        Code::InvalidPtask,
        Code::UnknownName,
    ] {
        assert!(c.contains(&want), "{want:?} missing from {c:?}");
    }
    assert_eq!(c.iter().filter(|c| **c == Code::UnknownName).count(), 2);
}

#[test]
fn generated_large_graph_checks_clean() {
    let mut s = String::from("graph big {\n    input x: f32[256];\n    output y: f32[256];\n");
    let n = 2000;
    for i in 0..n {
        s.push_str(&format!(
            "    ptask t{i} {{ kernel \"kernels/scale.comp\"; in a: f32[256]; param k: f32 = 1.0; out b: f32[256]; }}\n"
        ));
    }
    s.push_str("    x -> t0.a;\n");
    for i in 1..n {
        s.push_str(&format!("    t{}.b -> t{i}.a;\n", i - 1));
    }
    s.push_str(&format!("    t{}.b -> y;\n}}\n", n - 1));
    let opts = Options::default();
    let r = check_source(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../graphs/big.pt"),
        s,
        &Options {
            skip_kernels: true,
            ..opts
        },
    );
    assert!(r.diagnostics.is_empty(), "{:?}", &r.diagnostics[..1]);
    let m = r.module.unwrap();
    assert_eq!(m.graph.ptasks.len(), n);
    assert_eq!(m.graph.channels.len(), n + 1);
}

#[test]
fn items_and_comments_longer_than_the_parse_window() {
    let pad = " ".repeat(200_000);
    let comment = format!("/*{}*/", "x".repeat(200_000));
    let text = format!(
        "{comment}\ngraph g {{\n    input x: f32[{pad}4];\n    output y: f32[4] to file(\"{}\");\n    x -> y;\n}}\n",
        "p".repeat(100_000)
    );
    let r = check(text);
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    let m = r.module.unwrap();
    assert_eq!(m.graph.ports[0].ty.shape, vec![4]);
}

/// A legal chain of 20,000 ptasks (and the same chain closed into an
/// unseeded cycle) checks, kernels included, and lowers on a 512 KiB
/// stack: no stage recurses once per ptask. (The strongly connected
/// components used to, and overflowed at a few thousand ptasks; the
/// 100,000-ptask versions of these graphs are unit tests of the checker's
/// flow rules and of lowering.)
#[test]
fn a_long_chain_checks_and_lowers_on_a_small_stack() {
    let run = std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(long_chain)
        .expect("spawn");
    run.join().expect("no stack overflow, no panic");
}

fn long_chain() {
    let n = 20_000;
    let kernel = Path::new(env!("CARGO_MANIFEST_DIR")).join("../kernels/scale.comp");
    let k = kernel.display();
    let mut s = String::from("graph chain {\n    input x: f32[256];\n    output y: f32[256];\n");
    for i in 0..n {
        s.push_str(&format!(
            "    ptask p{i} {{ kernel \"{k}\"; in a: f32[256]; param k: f32 = 2.0; out b: f32[256]; }}\n"
        ));
    }
    s.push_str("    x -> p0.a;\n");
    for i in 1..n {
        s.push_str(&format!("    p{}.b -> p{i}.a;\n", i - 1));
    }
    s.push_str(&format!("    p{}.b -> y;\n}}\n", n - 1));
    let r = check_source(Path::new("chain.pt"), s, &Options::default());
    let d = &r.diagnostics;
    assert!(d.is_empty(), "{:#?}", &d[..3.min(d.len())]);
    let plan = r.plan.expect("the chain lowers");
    assert_eq!(plan.ptasks.len(), n);
    assert_eq!(plan.schedule[0].ptask, 0);
    assert_eq!(plan.schedule[n - 1].ptask, n - 1);

    // The same chain closed into an unseeded cycle is one cycle, reported once.
    let mut s = String::from("graph ring {\n");
    for i in 0..n {
        s.push_str(&format!(
            "    ptask p{i} {{ kernel \"{k}\"; in a: f32[4]; out b: f32[4]; }}\n"
        ));
    }
    for i in 0..n {
        s.push_str(&format!("    p{i}.b -> p{}.a;\n", (i + 1) % n));
    }
    s.push_str("}\n");
    let r = check(s);
    let c = codes(&r);
    assert!(c == [Code::UnseededCycle], "{:?}", &c[..c.len().min(5)]);
    assert_eq!(r.diagnostics[0].labels.len(), n);
}

/// Deep parentheses in an expression and a long chain of consts, each
/// depending on the one before (declared in reverse, so each is evaluated
/// through all the others): neither recurses, on a 512 KiB stack.
#[test]
fn deep_expressions_and_long_const_chains_do_not_recurse() {
    let run = std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(|| {
            let n = 50_000;
            let mut s = format!("const P = {}7{};\n", "(".repeat(n), ")".repeat(n));
            for i in (1..n).rev() {
                s.push_str(&format!("const C{i} = C{} + 1;\n", i - 1));
            }
            s.push_str("const C0 = P - 7;\n");
            s.push_str(&format!(
                "graph g {{ input x: f32[C{}]; output y: f32[{}]; x -> y; }}\n",
                n - 1,
                n - 1
            ));
            let r = check(s);
            assert!(r.diagnostics.is_empty(), "{:#?}", &r.diagnostics[..1]);
            let m = r.module.expect("module");
            assert_eq!(m.consts.len(), n + 1);
            // Unbalanced: one error, not one per level.
            let r = check(format!(
                "const P = {}7;\ngraph g {{ input x: f32[1]; output y: f32[1]; x -> y; }}\n",
                "(".repeat(n)
            ));
            assert_eq!(codes(&r), vec![Code::Syntax]);
        })
        .expect("spawn");
    run.join().expect("no stack overflow, no panic");
}

#[test]
fn line_comments_across_the_parse_window_stay_comments() {
    // The 64 KiB parse window used to cut a line comment in two, and the
    // rest of its line was parsed as an item ("expected `struct` or
    // `graph`, found `xxx...`" at line 820 of 80-byte comment lines).
    let line = format!("// {}\n", "x".repeat(76));
    let long_line = format!("// {}\n", "y".repeat(300_000));
    let spaces = " ".repeat(200_000);
    for pad in [
        line.repeat(3000),
        long_line,
        spaces,
        format!("{}/* a */ // b\n", line.repeat(819)),
    ] {
        let text = format!(
            "{pad}graph g {{\n    input x: f32[4];\n    output y: f32[4];\n    x -> y;\n}}\n"
        );
        let r = check(text);
        assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
        assert!(r.module.is_some());
    }
}

#[test]
fn many_structs_check_in_linear_time() {
    // Each struct field's type was looked up in a list of every declared
    // struct: quadratic (a 16 MiB file of 352k structs took minutes). Four
    // times the structs must take about four times as long, not sixteen.
    let file = |n: usize| {
        let mut s = String::new();
        for i in 0..n {
            s.push_str(&format!("struct S{i} {{ a: f32, b: u32, c: vec4<f32> }}\n"));
        }
        s + "graph g { input x: f32; output y: f32; x -> y; }\n"
    };
    let time = |n: usize| {
        let text = file(n);
        (0..2)
            .map(|_| {
                let t = std::time::Instant::now();
                let r = check(text.clone());
                assert!(r.diagnostics.is_empty(), "{:?}", &r.diagnostics[..1]);
                t.elapsed().as_secs_f64()
            })
            .fold(f64::MAX, f64::min)
    };
    let (small, large) = (time(10_000), time(40_000));
    println!("10k structs: {small:.3} s, 40k: {large:.3} s");
    assert!(
        large / small < 8.0,
        "10k structs: {small:.3} s, 40k: {large:.3} s (ratio {:.1})",
        large / small
    );
}
