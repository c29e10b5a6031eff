//! Compiling GLSL compute kernels with shaderc, with a per-process cache.

use ptc_plan::spirv::{self, Interface};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// One message of the GLSL compiler, located in the kernel source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlslMessage {
    /// 1-based line in the kernel file.
    pub line: usize,
    /// 1-based column (of the quoted token where the compiler names one, else 1).
    pub column: usize,
    /// The compiler's message, without the `file:line:` prefix.
    pub message: String,
}

/// Why a kernel could not be turned into a reflected SPIR-V module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KernelError {
    /// The resolved kernel file could not be read.
    Read(String),
    /// GLSL compilation failed.
    Compile(Vec<GlslMessage>),
    /// The SPIR-V could not be reflected or has no compute entry point.
    Reflect(String),
}

/// A compiled, reflected kernel.
#[derive(Debug)]
pub struct Compiled {
    pub spirv: Arc<[u32]>,
    pub iface: Interface,
}

/// Result of compiling one kernel file.
pub type CompileResult = Arc<Result<Compiled, KernelError>>;

type Key = (PathBuf, String);

/// Process-wide cache: (path, source text) → compiled kernel. Keyed by the
/// text as well so an edited kernel (language server) recompiles.
fn global() -> &'static Mutex<HashMap<Key, CompileResult>> {
    static CACHE: OnceLock<Mutex<HashMap<Key, CompileResult>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

thread_local! {
    /// shaderc compilers are not `Sync`; one per thread, created on first use.
    static COMPILER: Result<shaderc::Compiler, String> =
        shaderc::Compiler::new().map_err(|e| e.to_string());
}

/// Reads, compiles and reflects `path`, consulting the process-wide cache.
pub fn load(path: &Path) -> CompileResult {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            return Arc::new(Err(KernelError::Read(format!(
                "cannot read kernel `{}`: {e}",
                path.display()
            ))))
        }
    };
    cached(path, text)
}

/// Compiles and reflects GLSL `text` named `path`, consulting the
/// process-wide cache.
pub fn cached(path: &Path, text: String) -> CompileResult {
    let key = (path.to_path_buf(), text);
    {
        let cache = global().lock().unwrap_or_else(|p| p.into_inner());
        if let Some(hit) = cache.get(&key) {
            return hit.clone();
        }
    }
    let result = Arc::new(compile_and_reflect(path, &key.1));
    let mut cache = global().lock().unwrap_or_else(|p| p.into_inner());
    cache.entry(key).or_insert(result).clone()
}

/// Compiles GLSL `text` (named `path` in messages) for Vulkan 1.2 (SPIR-V
/// 1.5) and reflects it.
pub fn compile_and_reflect(path: &Path, text: &str) -> Result<Compiled, KernelError> {
    let name = path.display().to_string();
    let words = COMPILER.with(|c| -> Result<Vec<u32>, KernelError> {
        let compiler = c
            .as_ref()
            .map_err(|e| KernelError::Reflect(format!("cannot start the GLSL compiler: {e}")))?;
        let mut opts = shaderc::CompileOptions::new()
            .map_err(|e| KernelError::Reflect(format!("cannot start the GLSL compiler: {e}")))?;
        opts.set_source_language(shaderc::SourceLanguage::GLSL);
        opts.set_target_env(
            shaderc::TargetEnv::Vulkan,
            shaderc::EnvVersion::Vulkan1_2 as u32,
        );
        opts.set_target_spirv(shaderc::SpirvVersion::V1_5);
        match compiler.compile_into_spirv(
            text,
            shaderc::ShaderKind::Compute,
            &name,
            "main",
            Some(&opts),
        ) {
            Ok(art) => Ok(art.as_binary().to_vec()),
            Err(shaderc::Error::CompilationError(_, msg)) => {
                Err(KernelError::Compile(parse_messages(&name, &msg, text)))
            }
            Err(e) => Err(KernelError::Compile(vec![GlslMessage {
                line: 1,
                column: 1,
                message: e.to_string(),
            }])),
        }
    })?;
    let iface = spirv::reflect(&words).map_err(KernelError::Reflect)?;
    Ok(Compiled {
        spirv: words.into(),
        iface,
    })
}

/// Splits glslang's `name:LINE: error: msg` lines into located messages.
fn parse_messages(name: &str, text: &str, source: &str) -> Vec<GlslMessage> {
    let lines: Vec<&str> = source.lines().collect();
    let mut out = Vec::new();
    for raw in text.lines() {
        let rest = raw.strip_prefix(name).and_then(|r| r.strip_prefix(':'));
        let Some(rest) = rest else { continue };
        let Some((num, msg)) = rest.split_once(':') else {
            continue;
        };
        let Ok(line) = num.trim().parse::<usize>() else {
            continue;
        };
        let message = msg.trim().to_string();
        let column = quoted_token(&message)
            .and_then(|tok| {
                lines
                    .get(line.wrapping_sub(1))
                    .and_then(|l| l.find(tok).map(|i| l[..i].chars().count() + 1))
            })
            .unwrap_or(1);
        out.push(GlslMessage {
            line: line.max(1),
            column,
            message,
        });
    }
    if out.is_empty() {
        out.push(GlslMessage {
            line: 1,
            column: 1,
            message: text.trim().to_string(),
        });
    }
    out
}

/// The first non-empty `'token'` in a glslang message.
fn quoted_token(msg: &str) -> Option<&str> {
    let mut parts = msg.split('\'');
    parts.next()?;
    let tok = parts.next()?.trim();
    (!tok.is_empty() && parts.next().is_some()).then_some(tok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glslang_messages_are_located() {
        let src = "#version 450\nvoid main() {\n  x = 1;\n}\n";
        let m = parse_messages(
            "k.comp",
            "k.comp:3: error: 'x' : undeclared identifier\n1 error generated.\n",
            src,
        );
        assert_eq!(
            m,
            vec![GlslMessage {
                line: 3,
                column: 3,
                message: "error: 'x' : undeclared identifier".into()
            }]
        );
    }

    #[test]
    fn unparseable_output_is_kept_whole() {
        let m = parse_messages("k.comp", "something odd", "");
        assert_eq!(m[0].message, "something odd");
        assert_eq!((m[0].line, m[0].column), (1, 1));
    }
}
