//! Link shaderc's dependencies statically from the system (Debian's
//! `libshaderc-dev`, `glslang-dev`, `spirv-tools`). Debian's `libshaderc.so`
//! leaves glslang/SPIRV-Tools symbols undefined, so a dynamic link fails; the
//! static archives below resolve them and the resulting binary needs neither
//! libshaderc nor glslang at run time.
fn main() {
    let dir = std::env::var("SHADERC_LIB_DIR")
        .unwrap_or_else(|_| "/usr/lib/x86_64-linux-gnu".to_string());
    println!("cargo:rerun-if-env-changed=SHADERC_LIB_DIR");
    println!("cargo:rustc-link-search=native={dir}");
    for lib in [
        "glslang",
        "MachineIndependent",
        "GenericCodeGen",
        "OSDependent",
        "OGLCompiler",
        "SPIRV",
        "HLSL",
        "SPIRV-Tools-opt",
        "SPIRV-Tools",
    ] {
        println!("cargo:rustc-link-lib=static={lib}");
    }
}
