//! Imports: `import "lib/filters.pt";` brings in that file's structs,
//! consts and ptask templates (its graph, if it has one, is not used).
//!
//! The path resolves like a kernel path: next to the importing file, then
//! its ancestors, then each `--kernel-path`. Each file is read and parsed
//! once however many files import it; files are followed breadth first
//! with a work list (no recursion), and cycles are found afterwards on the
//! import graph (`ptc::import_cycle`).
//!
//! Every file gets its own range of the check's one span space
//! ([`Sources`]): an imported file's spans are offset by its origin, so a
//! span says which file it is in. Diagnostics about other files are turned
//! into related locations when the report is assembled (`crate::lib`).

use super::errors::ImportError;
use super::{resolve_kernel, Checker};
use crate::diag::Diagnostic;
use crate::front::ast::{self, Shift};
use crate::front::{SourceFile, Sources};
use crate::ir::{ImportInfo, Span};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Files ptc follows imports into, per check.
pub const MAX_FILES: usize = 256;

/// The parsed files of a check.
pub(super) struct Loaded {
    /// By file index ([`Sources::files`]); 0 is the file given.
    pub files: Vec<ast::File>,
    /// Syntax errors of every file.
    pub syntax: Vec<Diagnostic>,
}

impl Checker<'_> {
    /// Parses `source` (the file given) and every file it imports.
    pub(super) fn load(&mut self, path: &Path, source: &str) -> Loaded {
        let parsed = crate::front::parse(source);
        self.sources = Sources {
            files: vec![SourceFile {
                path: path.to_path_buf(),
                text: source.to_string(),
                origin: 0,
                anchor: None,
            }],
        };
        let mut files = vec![parsed.file];
        let mut syntax = parsed.diagnostics;
        let mut index: HashMap<PathBuf, usize> = HashMap::new();
        index.insert(canonical(path), 0);
        // (importer, imported, the import's span)
        let mut edges: Vec<(usize, usize, Span)> = Vec::new();
        let mut next = 0;
        while next < files.len() {
            let i = next;
            next += 1;
            let imports = files[i].imports.clone();
            for imp in imports {
                let mut info = ImportInfo {
                    path: imp.path.value.clone(),
                    path_span: imp.path.span,
                    resolved: None,
                    span: imp.span,
                };
                let from = self.sources.files[i].path.clone();
                let found = if imp.path.value.trim().is_empty() {
                    Err(Vec::new())
                } else {
                    resolve_kernel(&from, &imp.path.value, &self.opts.kernel_paths)
                };
                let file = match found {
                    Ok(f) => f,
                    Err(looked) => {
                        self.emit(ImportError::NotFound {
                            path: imp.path.value.clone(),
                            span: imp.path.span,
                            looked,
                        });
                        self.imports.push(info);
                        continue;
                    }
                };
                info.resolved = Some(file.clone());
                self.imports.push(info);
                let key = canonical(&file);
                if let Some(&j) = index.get(&key) {
                    edges.push((i, j, imp.span));
                    continue;
                }
                if files.len() >= MAX_FILES {
                    self.emit(ImportError::TooMany {
                        span: imp.span,
                        max: MAX_FILES,
                    });
                    continue;
                }
                let text = match crate::front::read_source(&file) {
                    Ok(t) => t,
                    Err(d) => {
                        self.emit(ImportError::Unreadable {
                            diagnostic: d,
                            span: imp.path.span,
                        });
                        continue;
                    }
                };
                let origin = self.sources.next_origin();
                let mut parsed = crate::front::parse(&text);
                parsed.file.shift(origin);
                for d in &mut parsed.diagnostics {
                    for l in &mut d.labels {
                        l.span.shift(origin);
                    }
                }
                let anchor = self.sources.files[i].anchor.or(Some(imp.span));
                let j = files.len();
                self.sources.files.push(SourceFile {
                    path: file,
                    text,
                    origin,
                    anchor,
                });
                index.insert(key, j);
                edges.push((i, j, imp.span));
                files.push(parsed.file);
                syntax.extend(parsed.diagnostics);
            }
        }
        self.import_cycles(files.len(), &edges);
        Loaded { files, syntax }
    }

    /// Reports each cycle of the import graph once, at an import on it.
    fn import_cycles(&mut self, n: usize, edges: &[(usize, usize, Span)]) {
        let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
        for &(a, b, _) in edges {
            succ[a].push(b);
        }
        let comps = crate::scc::tarjan(&succ);
        let mut comp_of = vec![0usize; n];
        for (k, c) in comps.iter().enumerate() {
            for &f in c {
                comp_of[f] = k;
            }
        }
        let mut reported = vec![false; comps.len()];
        for &(a, b, span) in edges {
            let k = comp_of[a];
            if comp_of[b] != k || reported[k] {
                continue;
            }
            reported[k] = true;
            // The cycle through this import: b back to a, inside the component.
            let mut path = vec![b];
            if a != b {
                path.extend(route(&succ, &comp_of, b, a));
            }
            path.push(b);
            let files = path
                .iter()
                .map(|f| self.sources.files[*f].path.display().to_string())
                .collect();
            self.emit(ImportError::Cycle { files, span });
        }
    }
}

/// A path from `from` to `to` inside one strongly connected component
/// (breadth first; excludes `from`, includes `to`).
fn route(succ: &[Vec<usize>], comp_of: &[usize], from: usize, to: usize) -> Vec<usize> {
    let mut prev: HashMap<usize, usize> = HashMap::new();
    let mut queue = std::collections::VecDeque::from([from]);
    while let Some(v) = queue.pop_front() {
        if v == to {
            break;
        }
        for &w in &succ[v] {
            if comp_of[w] == comp_of[from] && w != from && !prev.contains_key(&w) {
                prev.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    let mut out = vec![to];
    let mut at = to;
    while let Some(&p) = prev.get(&at) {
        if p == from {
            break;
        }
        out.push(p);
        at = p;
    }
    out.reverse();
    out
}

/// A file's identity: its canonical path where it exists.
fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}
