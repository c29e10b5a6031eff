//! Turning a kernel file into reflected SPIR-V, with a per-process cache.
//!
//! The language is the file's extension: `.hlsl` is HLSL (shaderc's HLSL
//! front end, SPIR-V 1.3 because its buffers use `BufferBlock`), `.spv` is
//! SPIR-V as is (reflected and checked like a compiled kernel), anything
//! else (`.comp`, `.glsl`) is GLSL (SPIR-V 1.5, Vulkan 1.2).
//!
//! `#include "file"` is resolved next to the including file, then in the
//! kernel search roots; `#include <file>` in the roots only. A missing
//! include is an error listing every place looked. Macros (`define`) are
//! passed to the preprocessor. The cache key is the file, its text, the
//! macros and the entry point; a hit also needs every included file to be
//! unchanged, so editing an included file recompiles its includers.

use ptc_plan::spirv::{self, Interface};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// One message of the kernel compiler, located in a source file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlslMessage {
    /// The file it is in: the kernel, or a file it includes.
    pub file: PathBuf,
    /// 1-based line in that file.
    pub line: usize,
    /// 1-based column (of the quoted token where the compiler names one, else 1).
    pub column: usize,
    /// The compiler's message, without the `file:line:` prefix.
    pub message: String,
}

/// An `#include` that was not found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingInclude {
    /// As written.
    pub name: String,
    /// The file with the `#include`.
    pub from: PathBuf,
    /// Its 1-based line there (1 if unknown).
    pub line: usize,
    /// Every place looked, in order.
    pub looked: Vec<PathBuf>,
}

/// Why a kernel could not be turned into a reflected SPIR-V module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KernelError {
    /// The resolved kernel file could not be read.
    Read(String),
    /// Compilation failed.
    Compile(Vec<GlslMessage>),
    /// An `#include` was not found.
    Include(MissingInclude),
    /// The SPIR-V could not be reflected or has no compute entry point.
    Reflect(String),
}

/// A compiled, reflected kernel.
#[derive(Debug)]
pub struct Compiled {
    pub spirv: Arc<[u32]>,
    pub iface: Interface,
    /// Every file it includes (directly or not).
    pub includes: Vec<PathBuf>,
}

/// Result of compiling one kernel file.
pub type CompileResult = Arc<Result<Compiled, KernelError>>;

/// The kernel's source language.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Lang {
    Glsl,
    Hlsl,
    Spirv,
}

impl Lang {
    /// By file extension (`.hlsl`, `.spv`, else GLSL).
    pub fn of(path: &Path) -> Lang {
        match path.extension().and_then(|e| e.to_str()) {
            Some("hlsl") => Lang::Hlsl,
            Some("spv") => Lang::Spirv,
            _ => Lang::Glsl,
        }
    }

    /// In words, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Lang::Glsl => "GLSL",
            Lang::Hlsl => "HLSL",
            Lang::Spirv => "SPIR-V",
        }
    }
}

/// What to compile: the file and how.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Request {
    pub path: PathBuf,
    /// Preprocessor macros (name, value), in order.
    pub defines: Vec<(String, String)>,
    /// The entry point (HLSL function, SPIR-V entry point); `main` if none.
    pub entry: Option<String>,
    /// Where `#include`s are looked for after the including file's directory.
    pub include_roots: Vec<PathBuf>,
}

impl Request {
    /// A request for `path` with no macros, the default entry point and no
    /// include roots.
    pub fn file(path: &Path) -> Request {
        Request {
            path: path.to_path_buf(),
            ..Request::default()
        }
    }
}

/// A cache entry: the included files' texts it was compiled from, and
/// the result.
type Entry = (Vec<(PathBuf, String)>, CompileResult);

/// Process-wide cache: (request, file contents) → compiled kernel. Keyed
/// by the contents as well so an edited kernel (language server)
/// recompiles; an entry is used only while its includes are unchanged.
type Cache = Mutex<HashMap<(Request, Vec<u8>), Entry>>;

fn global() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

thread_local! {
    /// shaderc compilers are not `Sync`; one per thread, created on first use.
    static COMPILER: Result<shaderc::Compiler, String> =
        shaderc::Compiler::new().map_err(|e| e.to_string());
}

/// Reads, compiles and reflects `path` as GLSL with nothing else set,
/// consulting the process-wide cache.
pub fn load(path: &Path) -> CompileResult {
    load_request(&Request::file(path))
}

/// Reads, compiles and reflects a kernel, consulting the process-wide cache.
pub fn load_request(req: &Request) -> CompileResult {
    let bytes = match std::fs::read(&req.path) {
        Ok(b) => b,
        Err(e) => {
            return Arc::new(Err(KernelError::Read(format!(
                "cannot read kernel `{}`: {e}",
                req.path.display()
            ))))
        }
    };
    cached_request(req, bytes)
}

/// Compiles and reflects GLSL `text` named `path` (no macros, no include
/// roots), consulting the process-wide cache.
pub fn cached(path: &Path, text: String) -> CompileResult {
    cached_request(&Request::file(path), text.into_bytes())
}

/// Compiles and reflects `bytes`, the contents of `req.path`, consulting
/// the process-wide cache.
pub fn cached_request(req: &Request, bytes: Vec<u8>) -> CompileResult {
    let key = (req.clone(), bytes);
    {
        let cache = global().lock().unwrap_or_else(|p| p.into_inner());
        if let Some((deps, hit)) = cache.get(&key) {
            let unchanged = deps
                .iter()
                .all(|(p, text)| std::fs::read_to_string(p).is_ok_and(|t| t == *text));
            if unchanged {
                return hit.clone();
            }
        }
    }
    let (deps, result) = compile_and_reflect_request(req, &key.1);
    // A missing include may appear at any time: such a result is not kept.
    let keep = !matches!(result, Err(KernelError::Include(_)));
    let result = Arc::new(result);
    if keep {
        let mut cache = global().lock().unwrap_or_else(|p| p.into_inner());
        cache.insert(key, (deps, result.clone()));
    }
    result
}

/// Compiles GLSL `text` (named `path` in messages) for Vulkan 1.2 (SPIR-V
/// 1.5) and reflects it.
pub fn compile_and_reflect(path: &Path, text: &str) -> Result<Compiled, KernelError> {
    compile_and_reflect_request(&Request::file(path), text.as_bytes()).1
}

/// What an include callback saw.
#[derive(Default)]
struct Includes {
    /// Every file included, with the text given to the compiler.
    files: Vec<(PathBuf, String)>,
    /// The first include that was not found.
    missing: Option<MissingInclude>,
}

/// Finds an `#include`d file: next to `from` for `"name"`, then in `roots`.
fn find_include(
    name: &str,
    relative: bool,
    from: &Path,
    roots: &[PathBuf],
) -> Result<PathBuf, Vec<PathBuf>> {
    let mut looked = Vec::new();
    let rel = Path::new(name);
    if rel.is_absolute() {
        return if rel.is_file() {
            Ok(rel.to_path_buf())
        } else {
            Err(vec![rel.to_path_buf()])
        };
    }
    let mut dirs: Vec<PathBuf> = Vec::new();
    if relative {
        dirs.push(from.parent().unwrap_or(Path::new("")).to_path_buf());
    }
    dirs.extend(roots.iter().cloned());
    for d in dirs {
        let cand = d.join(rel);
        if looked.contains(&cand) {
            continue;
        }
        if cand.is_file() {
            return Ok(cand);
        }
        looked.push(cand);
    }
    Err(looked)
}

/// The 1-based line of `#include ... name` in `text`, if found.
fn include_line(text: &str, name: &str) -> usize {
    text.lines()
        .position(|l| {
            let t = l.trim_start();
            t.starts_with('#') && t.contains("include") && t.contains(name)
        })
        .map_or(1, |i| i + 1)
}

/// Compiles (or, for SPIR-V, decodes) and reflects; also returns the
/// included files with their texts.
fn compile_and_reflect_request(
    req: &Request,
    bytes: &[u8],
) -> (Vec<(PathBuf, String)>, Result<Compiled, KernelError>) {
    let lang = Lang::of(&req.path);
    let entry = req.entry.as_deref();
    let words = match lang {
        Lang::Spirv => spirv_words(bytes),
        Lang::Glsl | Lang::Hlsl => match std::str::from_utf8(bytes) {
            Ok(text) => {
                let includes = RefCell::new(Includes::default());
                let r = compile(req, lang, text, &includes);
                let inc = includes.into_inner();
                match (r, inc.missing) {
                    // A missing include fails the compile; say which.
                    (Err(_), Some(m)) => return (inc.files, Err(KernelError::Include(m))),
                    (Err(msgs), None) => {
                        return (inc.files, Err(KernelError::Compile(msgs)));
                    }
                    (Ok(words), _) => {
                        let deps = inc.files;
                        return (deps.clone(), reflect(words, entry, deps));
                    }
                }
            }
            Err(e) => Err(KernelError::Read(format!(
                "kernel `{}` is not UTF-8 text (invalid byte at offset {})",
                req.path.display(),
                e.valid_up_to()
            ))),
        },
    };
    match words {
        Ok(w) => (Vec::new(), reflect(w, entry, Vec::new())),
        Err(e) => (Vec::new(), Err(e)),
    }
}

fn reflect(
    words: Vec<u32>,
    entry: Option<&str>,
    deps: Vec<(PathBuf, String)>,
) -> Result<Compiled, KernelError> {
    let iface = spirv::reflect_entry(&words, entry).map_err(KernelError::Reflect)?;
    Ok(Compiled {
        spirv: words.into(),
        iface,
        includes: deps.into_iter().map(|(p, _)| p).collect(),
    })
}

/// SPIR-V words from a `.spv` file's bytes (little-endian).
fn spirv_words(bytes: &[u8]) -> Result<Vec<u32>, KernelError> {
    if bytes.len() < 20 || bytes.len() % 4 != 0 {
        return Err(KernelError::Reflect(format!(
            "{} bytes is not a SPIR-V module (a whole number of 32-bit words, at least a header)",
            bytes.len()
        )));
    }
    let words: Vec<u32> = bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    if words[0] == spirv::MAGIC.swap_bytes() {
        return Err(KernelError::Reflect(
            "the module is big-endian SPIR-V; ptc reads little-endian modules (as glslc writes them)"
                .into(),
        ));
    }
    if words[0] != spirv::MAGIC {
        return Err(KernelError::Reflect(format!(
            "not a SPIR-V module (magic number {:#010x}, expected {:#010x})",
            words[0],
            spirv::MAGIC
        )));
    }
    Ok(words)
}

/// Runs shaderc on GLSL or HLSL `text`.
fn compile(
    req: &Request,
    lang: Lang,
    text: &str,
    includes: &RefCell<Includes>,
) -> Result<Vec<u32>, Vec<GlslMessage>> {
    let name = req.path.display().to_string();
    let fail = |m: String| {
        vec![GlslMessage {
            file: req.path.clone(),
            line: 1,
            column: 1,
            message: m,
        }]
    };
    COMPILER.with(|c| {
        let compiler = c
            .as_ref()
            .map_err(|e| fail(format!("cannot start the kernel compiler: {e}")))?;
        let mut opts = shaderc::CompileOptions::new()
            .map_err(|e| fail(format!("cannot start the kernel compiler: {e}")))?;
        opts.set_target_env(
            shaderc::TargetEnv::Vulkan,
            shaderc::EnvVersion::Vulkan1_2 as u32,
        );
        match lang {
            Lang::Hlsl => {
                opts.set_source_language(shaderc::SourceLanguage::HLSL);
                // glslang's HLSL buffers use `BufferBlock`, gone in SPIR-V 1.4.
                opts.set_target_spirv(shaderc::SpirvVersion::V1_3);
            }
            _ => {
                opts.set_source_language(shaderc::SourceLanguage::GLSL);
                opts.set_target_spirv(shaderc::SpirvVersion::V1_5);
            }
        }
        for (n, v) in &req.defines {
            // invariant: the checker refuses names and values with control
            // characters (shaderc panics on a NUL).
            if !n.contains('\0') && !v.contains('\0') {
                opts.add_macro_definition(n, Some(v));
            }
        }
        let roots = req.include_roots.clone();
        let main = req.path.clone();
        opts.set_include_callback(move |requested, ty, from, depth| {
            if depth > 64 {
                return Err(format!("#include nests deeper than 64 (at `{requested}`)"));
            }
            let from_path = if from == name_of(&main) {
                main.clone()
            } else {
                PathBuf::from(from)
            };
            let relative = ty == shaderc::IncludeType::Relative;
            match find_include(requested, relative, &from_path, &roots) {
                Ok(p) => match std::fs::read_to_string(&p) {
                    Ok(content) => {
                        includes
                            .borrow_mut()
                            .files
                            .push((p.clone(), content.clone()));
                        Ok(shaderc::ResolvedInclude {
                            resolved_name: p.display().to_string(),
                            content,
                        })
                    }
                    Err(e) => Err(format!("cannot read `{}`: {e}", p.display())),
                },
                Err(looked) => {
                    let mut inc = includes.borrow_mut();
                    if inc.missing.is_none() {
                        let text = if from_path == main {
                            std::fs::read_to_string(&main).unwrap_or_default()
                        } else {
                            inc.files
                                .iter()
                                .find(|(p, _)| *p == from_path)
                                .map(|(_, t)| t.clone())
                                .unwrap_or_default()
                        };
                        inc.missing = Some(MissingInclude {
                            name: requested.to_string(),
                            line: include_line(&text, requested),
                            from: from_path,
                            looked,
                        });
                    }
                    Err(format!("`{requested}` not found"))
                }
            }
        });
        let entry = match (lang, req.entry.as_deref()) {
            (Lang::Hlsl, Some(e)) => e,
            _ => "main",
        };
        match compiler.compile_into_spirv(
            text,
            shaderc::ShaderKind::Compute,
            &name,
            entry,
            Some(&opts),
        ) {
            // glslang links an empty kernel (with only a warning) when the
            // entry point does not exist.
            Ok(art) if art.get_warning_messages().contains("Entry point not found") => {
                Err(vec![GlslMessage {
                    file: req.path.clone(),
                    line: 1,
                    column: 1,
                    message: format!("error: the entry point `{entry}` is not defined"),
                }])
            }
            Ok(art) => Ok(art.as_binary().to_vec()),
            Err(shaderc::Error::CompilationError(_, msg)) => {
                let mut files: Vec<(String, PathBuf, String)> =
                    vec![(name.clone(), req.path.clone(), text.to_string())];
                for (p, t) in &includes.borrow().files {
                    files.push((p.display().to_string(), p.clone(), t.clone()));
                }
                Err(parse_messages(&files, &msg))
            }
            Err(e) => Err(fail(e.to_string())),
        }
    })
}

/// The name shaderc is given for `path`.
fn name_of(path: &Path) -> String {
    path.display().to_string()
}

/// Splits glslang's `name:LINE: error: msg` lines into located messages;
/// `files`: (name as the compiler knows it, path, text) of the kernel and
/// everything it includes.
fn parse_messages(files: &[(String, PathBuf, String)], text: &str) -> Vec<GlslMessage> {
    let mut by_len: Vec<&(String, PathBuf, String)> = files.iter().collect();
    by_len.sort_by_key(|(n, _, _)| std::cmp::Reverse(n.len()));
    let mut out = Vec::new();
    for raw in text.lines() {
        let Some((file, rest)) = by_len.iter().find_map(|f| {
            raw.strip_prefix(f.0.as_str())
                .and_then(|r| r.strip_prefix(':'))
                .map(|r| (f, r))
        }) else {
            continue;
        };
        let Some((num, msg)) = rest.split_once(':') else {
            continue;
        };
        let Ok(line) = num.trim().parse::<usize>() else {
            continue;
        };
        let message = msg.trim().to_string();
        let lines: Vec<&str> = file.2.lines().collect();
        let column = quoted_token(&message)
            .and_then(|tok| {
                lines
                    .get(line.wrapping_sub(1))
                    .and_then(|l| l.find(tok).map(|i| l[..i].chars().count() + 1))
            })
            .unwrap_or(1);
        out.push(GlslMessage {
            file: file.1.clone(),
            line: line.max(1),
            column,
            message,
        });
    }
    if out.is_empty() {
        out.push(GlslMessage {
            file: files.first().map(|f| f.1.clone()).unwrap_or_default(),
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

    fn one(name: &str, text: &str) -> Vec<(String, PathBuf, String)> {
        vec![(name.to_string(), PathBuf::from(name), text.to_string())]
    }

    #[test]
    fn glslang_messages_are_located() {
        let src = "#version 450\nvoid main() {\n  x = 1;\n}\n";
        let m = parse_messages(
            &one("k.comp", src),
            "k.comp:3: error: 'x' : undeclared identifier\n1 error generated.\n",
        );
        assert_eq!(
            m,
            vec![GlslMessage {
                file: PathBuf::from("k.comp"),
                line: 3,
                column: 3,
                message: "error: 'x' : undeclared identifier".into()
            }]
        );
    }

    #[test]
    fn messages_in_included_files_point_there() {
        let files = vec![
            ("k.comp".to_string(), PathBuf::from("k.comp"), String::new()),
            (
                "inc/k.comp.glsl".to_string(),
                PathBuf::from("inc/k.comp.glsl"),
                "float f() {\n  return y;\n}\n".to_string(),
            ),
        ];
        let m = parse_messages(
            &files,
            "inc/k.comp.glsl:2: error: 'y' : undeclared identifier\n",
        );
        assert_eq!(m[0].file, PathBuf::from("inc/k.comp.glsl"));
        assert_eq!((m[0].line, m[0].column), (2, 10));
    }

    #[test]
    fn unparseable_output_is_kept_whole() {
        let m = parse_messages(&one("k.comp", ""), "something odd");
        assert_eq!(m[0].message, "something odd");
        assert_eq!((m[0].line, m[0].column), (1, 1));
    }
}
