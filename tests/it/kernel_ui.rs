//! Every kernel-check diagnostic code has a case in the `tests/ui` corpus
//! (the snapshots themselves are compared by `tests/ui.rs`).

use ptc_compiler::diag::Code;

#[test]
fn every_kernel_code_has_a_ui_case() {
    let mut snaps = String::new();
    for e in std::fs::read_dir("tests/ui").expect("tests/ui") {
        let p = e.expect("entry").path();
        let is_kernel_case = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("kernel_") && n.ends_with(".out"));
        if is_kernel_case {
            snaps.push_str(&std::fs::read_to_string(&p).expect("snapshot"));
        }
    }
    for code in [
        Code::KernelNotFound,
        Code::KernelCompile,
        Code::BindingMismatch,
        Code::WritableInput,
        Code::ElementMismatch,
        Code::PushConstantMismatch,
        Code::LocalSize,
    ] {
        assert!(
            snaps.contains(code.as_str()),
            "no tests/ui/kernel_*.out shows {}",
            code.as_str()
        );
    }
    // The compile error carries the kernel file's own location.
    assert!(
        snaps.contains("tests/ui/kernels/broken.comp:7:19"),
        "{snaps}"
    );
}
