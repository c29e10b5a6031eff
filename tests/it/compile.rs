//! `ptc compile` on the real binary: every shipped graph compiles to a plan
//! that loads back identically; errors give the documented exit codes and
//! never leave a (half-)written plan behind.

use crate::common;
use common::{ptc, root};
use ptc_compiler::{check_file, Options};
use ptc_plan::Plan;
use std::path::{Path, PathBuf};

fn scratch(name: &str) -> PathBuf {
    common::scratch("ptc-compile-it", name)
}

/// Every graph under `dir` (libraries of templates, `graphs/lib`, hold no
/// graph: see `the_template_library_checks_clean`).
fn graphs(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("graphs dir") {
        let p = e.expect("entry").path();
        if p.is_dir() && p.file_name().is_some_and(|n| n == "lib") {
            continue;
        }
        if p.is_dir() {
            graphs(&p, out);
        } else if p.extension().is_some_and(|e| e == "pt") {
            out.push(p);
        }
    }
}

fn count(d: &Path) -> usize {
    std::fs::read_dir(d).expect("dir").count()
}

/// `graphs/lib/*.pt` are libraries: no graph, nothing to compile, and
/// `ptc check` finds them clean (their templates are checked where the
/// example graphs instantiate them).
#[test]
fn the_template_library_checks_clean() {
    let mut libs: Vec<String> = std::fs::read_dir(root().join("graphs/lib"))
        .expect("graphs/lib")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "pt"))
        .map(|p| {
            p.strip_prefix(root())
                .expect("under root")
                .display()
                .to_string()
        })
        .collect();
    libs.sort();
    assert!(libs.len() >= 3, "{libs:?}");
    let mut args = vec!["check".to_string(), "--deny-warnings".to_string()];
    args.extend(libs);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, err) = ptc(&args);
    assert_eq!(code, 0, "{err}");
    let (code, err) = ptc(&["compile", "graphs/lib/vec.pt", "-o", "-"]);
    assert_eq!(code, 1, "a library has no graph to compile: {err}");
}

#[test]
fn every_graph_compiles_to_a_plan_that_loads_back_identically() {
    let mut files = Vec::new();
    graphs(&root().join("graphs"), &mut files);
    files.sort();
    assert!(files.len() >= 2, "{files:?}");
    let d = scratch("all");
    for f in &files {
        let rel = f.strip_prefix(root()).expect("under root");
        let out = d.join("plan.yaml");
        let (code, err) = ptc(&[
            "compile",
            &rel.to_string_lossy(),
            "-o",
            &out.to_string_lossy(),
        ]);
        assert_eq!(code, 0, "{}: {err}", rel.display());
        let text = std::fs::read_to_string(&out).expect("plan written");
        let plan = Plan::from_yaml(&text).expect("plan loads");
        assert_eq!(
            Plan::from_yaml(&plan.to_yaml().unwrap()).as_ref(),
            Ok(&plan)
        );
        // The same plan as the library pipeline produces.
        let report = check_file(f, &Options::default());
        let mut lib = report.plan.expect("library plan");
        lib.source = plan.source.clone();
        assert_eq!(lib, plan, "{}", rel.display());
        assert_eq!(count(&d), 1, "temporary file left behind");
    }
}

#[test]
fn saxpy2_plan_has_the_expected_shape() {
    let d = scratch("saxpy");
    let out = d.join("s.yaml");
    let (code, err) = ptc(&["compile", "graphs/saxpy2.pt", "-o", &out.to_string_lossy()]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("wrote"), "{err}");
    let p = Plan::from_yaml(&std::fs::read_to_string(&out).expect("read")).expect("valid");
    let b: Vec<_> = p
        .buffers
        .iter()
        .map(|b| (b.name.as_str(), b.aliases.join(",")))
        .collect();
    let want = [
        ("x", "x,scale.a"),
        ("y", "y,add.b"),
        ("scale.b", "scale.b,add.a"),
        ("add.c", "add.c,z"),
    ];
    assert_eq!(
        b,
        want.iter()
            .map(|(a, b)| (*a, b.to_string()))
            .collect::<Vec<_>>()
    );
    let order: Vec<_> = p
        .schedule
        .iter()
        .map(|d| p.ptasks[d.ptask].name.as_str())
        .collect();
    assert_eq!(order, vec!["scale", "add"]);
    assert_eq!(p.ptasks[0].workgroups, [4096, 1, 1]);
    let info = p.validate().expect("the written plan validates");
    assert_eq!(info.ptask(0).expect("module").words[0], 0x0723_0203);
    // `-o -` writes the same plan to stdout.
    let o = common::command()
        .args(["compile", "graphs/saxpy2.pt", "-o", "-"])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8(o.stdout).expect("utf-8");
    assert_eq!(Plan::from_yaml(&text), Ok(p));
}

#[test]
fn errors_exit_1_and_keep_the_old_plan() {
    let d = scratch("bad");
    let src = d.join("bad.pt");
    let text = std::fs::read_to_string(root().join("graphs/saxpy2.pt")).expect("saxpy2");
    std::fs::write(&src, text.replace("scale.b -> add.a;", "scale.b -> add.q;")).expect("write");
    let out = d.join("plan.yaml");
    std::fs::write(&out, "old").expect("old plan");
    let (code, err) = ptc(&[
        "compile",
        &src.to_string_lossy(),
        "-o",
        &out.to_string_lossy(),
        "--kernel-path",
        &root().to_string_lossy(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no plan written"), "{err}");
    assert_eq!(std::fs::read_to_string(&out).expect("old"), "old");
    assert_eq!(count(&d), 2);
}

#[test]
fn io_problems_exit_2() {
    let d = scratch("io");
    let p = d.join("p.yaml");
    let (code, _) = ptc(&["compile", "graphs/nope.pt", "-o", &p.to_string_lossy()]);
    assert_eq!(code, 2);
    let bad = d.join("no/such/dir/p.yaml");
    let (code, err) = ptc(&["compile", "graphs/saxpy2.pt", "-o", &bad.to_string_lossy()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot write"), "{err}");
    assert_eq!(count(&d), 0);
    let (code, _) = ptc(&["compile", "graphs/saxpy2.pt"]);
    assert_eq!(code, 2, "missing -o is a usage error");
}

/// A graph whose file name is not UTF-8 still compiles: the plan's
/// informational `source` keeps the name lossily (it used to panic while
/// writing the YAML).
#[cfg(unix)]
#[test]
fn non_utf8_file_name_compiles() {
    use std::os::unix::ffi::OsStrExt;
    let d = scratch("nonutf8");
    let name = std::ffi::OsStr::from_bytes(b"sax\xffpy.pt");
    let src = d.join(name);
    std::fs::copy(root().join("graphs/saxpy2.pt"), &src).expect("copy");
    let out = d.join("plan.yaml");
    let o = common::command()
        .arg("compile")
        .arg(&src)
        .arg("--kernel-path")
        .arg(root())
        .arg("-o")
        .arg(&out)
        .output()
        .expect("run ptc");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let plan = Plan::from_yaml(&std::fs::read_to_string(&out).expect("plan written")).unwrap();
    let source = plan.source.expect("source recorded");
    assert!(
        source.to_string_lossy().ends_with("sax\u{fffd}py.pt"),
        "{source:?}"
    );
}

/// A kernel's subgroup operations (detect's `subgroupAdd`/`Min`/`Max`:
/// `GroupNonUniform` + `GroupNonUniformArithmetic`) are a requirement of
/// the plan, and a plan that leaves them out is refused before any device
/// call, naming them.
#[test]
fn subgroup_operations_are_a_plan_requirement() {
    let r = check_file(&root().join("graphs/gesture.pt"), &Options::default());
    let mut plan = r.plan.expect("gesture compiles");
    // basic (1) + arithmetic (4): VkSubgroupFeatureFlags.
    assert_eq!(plan.requirements.subgroup_operations, 5);
    plan.validate().expect("valid as lowered");
    plan.requirements.subgroup_operations = 1;
    let e = plan
        .validate()
        .expect_err("arithmetic left out")
        .to_string();
    assert!(
        e.contains("subgroup operations (arithmetic)")
            && e.contains("requirements.subgroup_operations (1)"),
        "{e}"
    );
    // Kernels without subgroups need none.
    let r = check_file(&root().join("graphs/saxpy2.pt"), &Options::default());
    assert_eq!(r.plan.expect("saxpy2").requirements.subgroup_operations, 0);
}
