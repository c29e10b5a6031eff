//! `ptc lsp`: a language server for `.pt` files over stdio (JSON-RPC with
//! `Content-Length` framing).
//!
//! Features: diagnostics (the same codes and messages as `ptc check`,
//! kernels included) on open, save and — debounced — while typing, and
//! again when the client reports changed files (`workspace/
//! didChangeWatchedFiles`, e.g. an edited kernel); hover on
//! ports, params, ptasks and channel endpoints (type, shape, kind, binding,
//! size); go to definition from a channel endpoint to the port or ptask;
//! find references (the channel ends that use a port, ptask or graph port);
//! completion of port names after `ptask.`; a document outline (graph →
//! ptasks → ports).
//!
//! Transport: a reader thread parses frames and hands messages to the main
//! loop, which answers everything. Malformed JSON gets a `ParseError`
//! response (id null) and the server keeps going; unknown requests get
//! `MethodNotFound`. Positions are UTF-16 (the protocol's default).

mod analysis;
mod framing;
mod position;

use analysis::{CandidateKind, Symbol, SymbolKind as SK};
use framing::{parse_body, read_frame, Incoming};
use lsp_server::{ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::{
    notification::{self as note, Notification as _},
    request::{self as req, Request as _},
    CompletionItem, CompletionItemKind, CompletionOptions, CompletionResponse,
    DiagnosticRelatedInformation, DiagnosticSeverity, DocumentSymbol, DocumentSymbolResponse,
    GotoDefinitionResponse, Hover, HoverContents, HoverProviderCapability, InitializeResult,
    Location, MarkupContent, MarkupKind, NumberOrString, OneOf, Position, PublishDiagnosticsParams,
    Range, ServerCapabilities, ServerInfo, SymbolKind, TextDocumentSyncCapability,
    TextDocumentSyncKind, TextDocumentSyncOptions, TextDocumentSyncSaveOptions, Url,
};
use position::LineIndex;
use ptc_compiler::diag::{Diagnostic, Severity};
use ptc_compiler::{ir::Module, Options};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

/// How long the text must be unchanged before a re-check while typing.
const DEBOUNCE: Duration = Duration::from_millis(150);
/// One open document.
struct Doc {
    path: PathBuf,
    text: String,
    version: i32,
    index: LineIndex,
    /// The checked graph of the current text (None if it did not resolve or
    /// the text changed since the last check).
    module: Option<Module>,
    /// The last module any version of this text produced (for completion
    /// while the current text does not parse).
    last_module: Option<Module>,
    /// Changed since the last check.
    dirty: bool,
    /// The files of the last check (the document and what it imports).
    sources: ptc_compiler::front::Sources,
    /// What the last check reflected of each ptask's kernel.
    facts: Vec<ptc_compiler::valid::kernel::KernelFacts>,
}

/// The server state.
struct Server<W: Write> {
    out: W,
    docs: HashMap<Url, Doc>,
    opts: Options,
    initialized: bool,
    shutdown: bool,
}

/// Runs the server on stdin/stdout until `exit`. Returns the process exit
/// code: 0 after `shutdown` + `exit`, 1 otherwise (as the protocol asks).
pub fn run() -> u8 {
    let (tx, rx) = mpsc::channel::<Incoming>();
    std::thread::spawn(move || {
        let stdin = io::stdin();
        let mut input = stdin.lock();
        loop {
            match read_frame(&mut input) {
                Ok(Some(body)) => {
                    if tx.send(parse_body(&body)).is_err() {
                        return;
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    eprintln!("ptc lsp: cannot read input: {e}");
                    return;
                }
            }
        }
    });
    let stdout = io::stdout();
    let mut server = Server {
        out: stdout.lock(),
        docs: HashMap::new(),
        opts: Options::default(),
        initialized: false,
        shutdown: false,
    };
    loop {
        let any_dirty = server.docs.values().any(|d| d.dirty);
        let next = if any_dirty {
            rx.recv_timeout(DEBOUNCE)
        } else {
            rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
        };
        let result = match next {
            Ok(Incoming::Message(m)) => match server.handle(m) {
                Ok(Some(code)) => return code,
                Ok(None) => Ok(()),
                Err(e) => Err(e),
            },
            Ok(Incoming::Invalid { id, code, message }) => server.send_error(id, code, message),
            Err(RecvTimeoutError::Timeout) => server.check_dirty(),
            Err(RecvTimeoutError::Disconnected) => return 1,
        };
        if let Err(e) = result {
            eprintln!("ptc lsp: cannot write output: {e}");
            return 1;
        }
    }
}

fn invalid_params(e: serde_json::Error) -> (ErrorCode, String) {
    (ErrorCode::InvalidParams, format!("invalid params: {e}"))
}

impl<W: Write> Server<W> {
    fn send(&mut self, m: impl Into<Message>) -> io::Result<()> {
        m.into().write(&mut self.out)
    }

    fn send_error(
        &mut self,
        id: Option<RequestId>,
        code: ErrorCode,
        message: String,
    ) -> io::Result<()> {
        let body = json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": { "code": code as i32, "message": message },
        })
        .to_string();
        write!(self.out, "Content-Length: {}\r\n\r\n{body}", body.len())?;
        self.out.flush()
    }

    /// Handles one message; `Some(code)` means exit now with that code.
    fn handle(&mut self, m: Message) -> io::Result<Option<u8>> {
        match m {
            Message::Request(r) => self.request(r).map(|()| None),
            Message::Notification(n) => {
                if n.method == note::Exit::METHOD {
                    return Ok(Some(if self.shutdown { 0 } else { 1 }));
                }
                if self.initialized && !self.shutdown {
                    self.notification(n)?;
                }
                Ok(None)
            }
            // We send no requests, so responses are unexpected: ignore them.
            Message::Response(_) => Ok(None),
        }
    }

    fn request(&mut self, r: Request) -> io::Result<()> {
        let id = r.id.clone();
        if r.method == req::Initialize::METHOD {
            if self.initialized {
                return self.send_error(
                    Some(id),
                    ErrorCode::InvalidRequest,
                    "initialize was already called".into(),
                );
            }
            return match serde_json::from_value::<lsp_types::InitializeParams>(r.params) {
                Ok(p) => {
                    self.configure(p.initialization_options.as_ref());
                    self.initialized = true;
                    self.send(Response::new_ok(id, initialize_result()))
                }
                Err(e) => {
                    let (code, msg) = invalid_params(e);
                    self.send_error(Some(id), code, msg)
                }
            };
        }
        if !self.initialized {
            return self.send_error(
                Some(id),
                ErrorCode::ServerNotInitialized,
                "the server is not initialized yet".into(),
            );
        }
        if self.shutdown {
            return self.send_error(
                Some(id),
                ErrorCode::InvalidRequest,
                "the server is shutting down".into(),
            );
        }
        let result: Result<Value, (ErrorCode, String)> = match r.method.as_str() {
            req::Shutdown::METHOD => {
                self.shutdown = true;
                Ok(Value::Null)
            }
            req::HoverRequest::METHOD => serde_json::from_value(r.params)
                .map_err(invalid_params)
                .map(|p| self.hover(p)),
            req::GotoDefinition::METHOD => serde_json::from_value(r.params)
                .map_err(invalid_params)
                .map(|p| self.definition(p)),
            req::References::METHOD => serde_json::from_value(r.params)
                .map_err(invalid_params)
                .map(|p| self.references(p)),
            req::Completion::METHOD => serde_json::from_value(r.params)
                .map_err(invalid_params)
                .map(|p| self.completion(p)),
            req::DocumentSymbolRequest::METHOD => serde_json::from_value(r.params)
                .map_err(invalid_params)
                .map(|p| self.document_symbols(p)),
            other => Err((
                ErrorCode::MethodNotFound,
                format!("unknown method {other:?}"),
            )),
        };
        match result {
            Ok(v) => self.send(Response {
                id,
                result: Some(v),
                error: None,
            }),
            Err((code, msg)) => self.send_error(Some(id), code, msg),
        }
    }

    /// Reads `initializationOptions`: `{"kernelPaths": ["dir", ...]}`.
    fn configure(&mut self, init: Option<&Value>) {
        let paths = init
            .and_then(|v| v.get("kernelPaths"))
            .and_then(Value::as_array);
        if let Some(paths) = paths {
            self.opts.kernel_paths = paths
                .iter()
                .filter_map(Value::as_str)
                .map(PathBuf::from)
                .collect();
        }
    }

    fn notification(&mut self, n: Notification) -> io::Result<()> {
        match n.method.as_str() {
            note::DidOpenTextDocument::METHOD => {
                let Ok(p) =
                    serde_json::from_value::<lsp_types::DidOpenTextDocumentParams>(n.params)
                else {
                    return Ok(());
                };
                let doc = p.text_document;
                let path = uri_to_path(&doc.uri);
                self.docs.insert(
                    doc.uri.clone(),
                    Doc {
                        path,
                        index: LineIndex::new(&doc.text),
                        text: doc.text,
                        version: doc.version,
                        module: None,
                        last_module: None,
                        dirty: true,
                        sources: Default::default(),
                        facts: Vec::new(),
                    },
                );
                self.check(&doc.uri)
            }
            note::DidChangeTextDocument::METHOD => {
                let Ok(p) =
                    serde_json::from_value::<lsp_types::DidChangeTextDocumentParams>(n.params)
                else {
                    return Ok(());
                };
                if let Some(doc) = self.docs.get_mut(&p.text_document.uri) {
                    for change in p.content_changes {
                        match change.range {
                            Some(range) => {
                                let start = doc.index.offset(&doc.text, range.start);
                                let end = doc.index.offset(&doc.text, range.end).max(start);
                                doc.text.replace_range(start..end, &change.text);
                            }
                            None => doc.text = change.text,
                        }
                        doc.index = LineIndex::new(&doc.text);
                    }
                    doc.version = p.text_document.version;
                    doc.module = None;
                    doc.dirty = true;
                }
                Ok(())
            }
            note::DidSaveTextDocument::METHOD => {
                let Ok(p) =
                    serde_json::from_value::<lsp_types::DidSaveTextDocumentParams>(n.params)
                else {
                    return Ok(());
                };
                if let Some(doc) = self.docs.get_mut(&p.text_document.uri) {
                    doc.dirty = true;
                }
                self.check(&p.text_document.uri)
            }
            note::DidCloseTextDocument::METHOD => {
                let Ok(p) =
                    serde_json::from_value::<lsp_types::DidCloseTextDocumentParams>(n.params)
                else {
                    return Ok(());
                };
                if self.docs.remove(&p.text_document.uri).is_some() {
                    self.publish(p.text_document.uri, Vec::new(), None)?;
                }
                Ok(())
            }
            // A kernel (or any watched file) changed on disk: re-check every
            // open graph after the debounce, since kernel diagnostics may change.
            note::DidChangeWatchedFiles::METHOD => {
                for doc in self.docs.values_mut() {
                    doc.dirty = true;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn check_dirty(&mut self) -> io::Result<()> {
        let dirty: Vec<Url> = self
            .docs
            .iter()
            .filter(|(_, d)| d.dirty)
            .map(|(u, _)| u.clone())
            .collect();
        for uri in dirty {
            self.check(&uri)?;
        }
        Ok(())
    }

    /// Checks a document if it changed since its last check, and publishes
    /// its diagnostics.
    fn check(&mut self, uri: &Url) -> io::Result<()> {
        let Some(doc) = self.docs.get_mut(uri) else {
            return Ok(());
        };
        if !doc.dirty {
            return Ok(());
        }
        // As `ptc check` refuses files over 16 MiB, so does the server: a
        // larger text is not checked (each check would take seconds).
        let limit = ptc_compiler::front::MAX_SOURCE_BYTES;
        let report = if doc.text.len() as u64 > limit {
            ptc_compiler::Report::refused(
                &doc.path,
                Diagnostic::new(
                    ptc_compiler::diag::Code::FileTooLarge,
                    format!(
                        "the document is larger than {} MiB; ptc does not check .pt files that large",
                        limit >> 20
                    ),
                )
                .help("is this really a .pt graph? Split it, or generate a smaller one"),
            )
        } else {
            ptc_compiler::check_source(&doc.path, doc.text.clone(), &self.opts)
        };
        let diagnostics = report
            .diagnostics
            .iter()
            .map(|d| to_lsp_diagnostic(d, uri, &doc.text, &doc.index))
            .collect();
        if report.module.is_some() {
            doc.last_module.clone_from(&report.module);
        }
        doc.module = report.module;
        doc.sources = report.sources;
        if !report.kernel_facts.is_empty() || self.opts.skip_kernels {
            doc.facts = report.kernel_facts;
        }
        doc.dirty = false;
        let version = doc.version;
        self.publish(uri.clone(), diagnostics, Some(version))
    }

    fn publish(
        &mut self,
        uri: Url,
        diagnostics: Vec<lsp_types::Diagnostic>,
        version: Option<i32>,
    ) -> io::Result<()> {
        let params = PublishDiagnosticsParams {
            uri,
            diagnostics,
            version,
        };
        self.send(Notification::new(
            note::PublishDiagnostics::METHOD.to_string(),
            params,
        ))
    }

    /// The document with an up-to-date check (re-checking now if edits are
    /// pending), if it is open.
    fn fresh(&mut self, uri: &Url) -> Option<&Doc> {
        let dirty = self.docs.get(uri)?.dirty;
        if dirty {
            // A failure to publish is reported when the next write fails too.
            let _ = self.check(uri);
        }
        self.docs.get(uri)
    }

    /// The re-checked document at `uri`, its module and the symbol under
    /// `pos` with its span (hover, definition and references start here).
    fn target_at(
        &mut self,
        uri: &Url,
        pos: lsp_types::Position,
    ) -> Option<(&Doc, &Module, analysis::Target, ptc_compiler::ir::Span)> {
        let doc = self.fresh(uri)?;
        let m = doc.module.as_ref()?;
        let offset = doc.index.offset(&doc.text, pos);
        let (target, span) = analysis::target_at(m, &doc.text, offset)?;
        Some((doc, m, target, span))
    }

    fn hover(&mut self, p: lsp_types::HoverParams) -> Value {
        let tdp = p.text_document_position_params;
        let Some((doc, m, target, span)) = self.target_at(&tdp.text_document.uri, tdp.position)
        else {
            return Value::Null;
        };
        let Some(text) = analysis::hover_with(m, &doc.facts, target) else {
            return Value::Null;
        };
        to_value(Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value: text,
            }),
            range: Some(doc.index.range(&doc.text, span)),
        })
    }

    fn definition(&mut self, p: lsp_types::GotoDefinitionParams) -> Value {
        let tdp = p.text_document_position_params;
        let uri = tdp.text_document.uri;
        let Some((doc, m, target, _)) = self.target_at(&uri, tdp.position) else {
            return Value::Null;
        };
        let location = match analysis::definition_of(m, &doc.text, target) {
            None => return Value::Null,
            Some(analysis::Def::File(path)) => {
                let Some(uri) = path_to_uri(&path) else {
                    return Value::Null;
                };
                Location {
                    uri,
                    range: Range::default(),
                }
            }
            // In the document, or in a file it imports.
            Some(analysis::Def::Span(span)) => match doc.sources.locate(span) {
                Some((f, local)) if f.origin > 0 => {
                    let Some(other) = path_to_uri(&f.path) else {
                        return Value::Null;
                    };
                    let index = LineIndex::new(&f.text);
                    Location {
                        uri: other,
                        range: index.range(&f.text, local),
                    }
                }
                _ => Location {
                    uri,
                    range: doc.index.range(&doc.text, span),
                },
            },
        };
        to_value(GotoDefinitionResponse::Scalar(location))
    }

    fn references(&mut self, p: lsp_types::ReferenceParams) -> Value {
        let tdp = p.text_document_position;
        let uri = tdp.text_document.uri;
        let Some((doc, m, target, _)) = self.target_at(&uri, tdp.position) else {
            return Value::Null;
        };
        let locations: Vec<Location> =
            analysis::references(m, &doc.text, target, p.context.include_declaration)
                .into_iter()
                .map(|span| Location {
                    uri: uri.clone(),
                    range: doc.index.range(&doc.text, span),
                })
                .collect();
        to_value(locations)
    }

    fn completion(&mut self, p: lsp_types::CompletionParams) -> Value {
        let tdp = p.text_document_position;
        // No re-check here: completion is typed mid-edit, when the text
        // often does not parse; the last good module serves by name.
        let Some(doc) = self.docs.get(&tdp.text_document.uri) else {
            return Value::Null;
        };
        let Some(m) = doc.module.as_ref().or(doc.last_module.as_ref()) else {
            return to_value(CompletionResponse::Array(Vec::new()));
        };
        let offset = doc.index.offset(&doc.text, tdp.position);
        let items = analysis::complete(m, &doc.text, offset)
            .into_iter()
            .map(|c| CompletionItem {
                label: c.label,
                detail: Some(c.detail),
                kind: Some(match c.kind {
                    CandidateKind::Port => CompletionItemKind::FIELD,
                    CandidateKind::Ptask => CompletionItemKind::FUNCTION,
                    CandidateKind::GraphPort => CompletionItemKind::VARIABLE,
                }),
                ..Default::default()
            })
            .collect();
        to_value(CompletionResponse::Array(items))
    }

    fn document_symbols(&mut self, p: lsp_types::DocumentSymbolParams) -> Value {
        let Some(doc) = self.fresh(&p.text_document.uri) else {
            return Value::Null;
        };
        let Some(m) = &doc.module else {
            return to_value(DocumentSymbolResponse::Nested(Vec::new()));
        };
        let root = to_document_symbol(analysis::symbols(m), &doc.text, &doc.index);
        to_value(DocumentSymbolResponse::Nested(vec![root]))
    }
}

fn to_value(v: impl serde::Serialize) -> Value {
    // lsp-types' response types serialise to JSON objects infallibly.
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn initialize_result() -> InitializeResult {
    InitializeResult {
        capabilities: ServerCapabilities {
            text_document_sync: Some(TextDocumentSyncCapability::Options(
                TextDocumentSyncOptions {
                    open_close: Some(true),
                    change: Some(TextDocumentSyncKind::FULL),
                    save: Some(TextDocumentSyncSaveOptions::Supported(true)),
                    ..Default::default()
                },
            )),
            hover_provider: Some(HoverProviderCapability::Simple(true)),
            definition_provider: Some(OneOf::Left(true)),
            references_provider: Some(OneOf::Left(true)),
            completion_provider: Some(CompletionOptions {
                trigger_characters: Some(vec![".".into()]),
                ..Default::default()
            }),
            document_symbol_provider: Some(OneOf::Left(true)),
            ..Default::default()
        },
        server_info: Some(ServerInfo {
            name: "ptc".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
    }
}

/// The file a document URI names (non-`file:` URIs, e.g. unsaved
/// `untitled:` buffers, use their path part; kernels then resolve against
/// the working directory).
fn uri_to_path(uri: &Url) -> PathBuf {
    uri.to_file_path()
        .unwrap_or_else(|()| PathBuf::from(uri.path()))
}

fn path_to_uri(path: &Path) -> Option<Url> {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    Url::from_file_path(abs).ok()
}

/// A compiler diagnostic as an LSP diagnostic: range of the primary label
/// (start of file if none), code, severity, message with the help appended,
/// and the other labels and related kernel locations as related information.
fn to_lsp_diagnostic(
    d: &Diagnostic,
    uri: &Url,
    text: &str,
    index: &LineIndex,
) -> lsp_types::Diagnostic {
    let range = d
        .primary_span()
        .map(|s| index.range(text, s))
        .unwrap_or_default();
    let mut message = d.message.clone();
    let primary = d
        .labels
        .iter()
        .position(|l| l.primary)
        .or(if d.labels.is_empty() { None } else { Some(0) });
    let mut related: Vec<DiagnosticRelatedInformation> = d
        .labels
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != primary)
        .map(|(_, l)| DiagnosticRelatedInformation {
            location: Location {
                uri: uri.clone(),
                range: index.range(text, l.span),
            },
            message: l.message.clone(),
        })
        .collect();
    if let Some(label) = primary.and_then(|i| d.labels.get(i)) {
        if !label.message.is_empty() && label.message != d.message {
            message.push('\n');
            message.push_str(&label.message);
        }
    }
    if let Some(h) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(h);
    }
    for r in &d.related {
        if let Some(uri) = path_to_uri(&r.file) {
            let p = Position {
                line: u32::try_from(r.line.saturating_sub(1)).unwrap_or(u32::MAX),
                character: u32::try_from(r.column.saturating_sub(1)).unwrap_or(u32::MAX),
            };
            related.push(DiagnosticRelatedInformation {
                location: Location {
                    uri,
                    range: Range { start: p, end: p },
                },
                message: r.message.clone(),
            });
        }
    }
    lsp_types::Diagnostic {
        range,
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(d.code.as_str().into())),
        source: Some("ptc".into()),
        message,
        related_information: if related.is_empty() {
            None
        } else {
            Some(related)
        },
        ..Default::default()
    }
}

#[allow(deprecated)] // `DocumentSymbol::deprecated` must be named to build one.
fn to_document_symbol(s: Symbol, text: &str, index: &LineIndex) -> DocumentSymbol {
    let kind = match s.kind {
        SK::Graph => SymbolKind::NAMESPACE,
        SK::GraphPort => SymbolKind::INTERFACE,
        SK::Ptask => SymbolKind::FUNCTION,
        SK::Port => SymbolKind::FIELD,
        SK::Param => SymbolKind::CONSTANT,
    };
    let children: Vec<DocumentSymbol> = s
        .children
        .into_iter()
        .map(|c| to_document_symbol(c, text, index))
        .collect();
    // The selection range must lie inside the range.
    let span = ptc_compiler::ir::Span::new(
        s.span.start.min(s.name_span.start),
        s.span.end.max(s.name_span.end),
    );
    DocumentSymbol {
        name: s.name,
        detail: Some(s.detail),
        kind,
        tags: None,
        deprecated: None,
        range: index.range(text, span),
        selection_range: index.range(text, s.name_span),
        children: if children.is_empty() {
            None
        } else {
            Some(children)
        },
    }
}
