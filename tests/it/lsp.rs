//! Drives the real `ptc lsp` binary over stdio the way an editor does
//! (JSON-RPC with Content-Length framing).

use serde_json::{json, Value};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(20);

struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    rx: Receiver<Value>,
    /// Messages received while waiting for something else.
    backlog: VecDeque<Value>,
    next_id: i64,
}

fn read_frame(r: &mut impl BufRead) -> Option<Value> {
    let mut len = None;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Content-Length: ") {
            len = v.parse::<usize>().ok();
        }
    }
    let mut body = vec![0; len?];
    r.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

impl Client {
    fn start() -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ptc"))
            .arg("lsp")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn ptc lsp");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            while let Some(v) = read_frame(&mut r) {
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        Client {
            child,
            stdin,
            rx,
            backlog: VecDeque::new(),
            next_id: 1,
        }
    }

    fn send_raw(&mut self, body: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        write!(stdin, "Content-Length: {}\r\n\r\n", body.len()).expect("write header");
        stdin.write_all(body).expect("write body");
        stdin.flush().expect("flush");
    }

    fn send(&mut self, v: Value) {
        self.send_raw(v.to_string().as_bytes());
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Sends a request and returns the whole response object.
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.wait(|m| m.get("id") == Some(&json!(id)) && m.get("method").is_none())
    }

    /// The next message (from the backlog first) matching `pred`.
    fn wait(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.backlog.iter().position(&pred) {
            return self.backlog.remove(i).expect("index valid");
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let m = self
                .rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no matching message; backlog: {:?}", self.backlog));
            if pred(&m) {
                return m;
            }
            self.backlog.push_back(m);
        }
    }

    /// The next publishDiagnostics for `uri`.
    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        let m = self.wait(|m| {
            m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri
        });
        m["params"]["diagnostics"]
            .as_array()
            .expect("diagnostics array")
            .clone()
    }

    fn initialize(&mut self) -> Value {
        let root = format!("file://{}", env!("CARGO_MANIFEST_DIR"));
        let r = self.request(
            "initialize",
            json!({"processId": null, "rootUri": root, "capabilities": {}}),
        );
        self.notify("initialized", json!({}));
        r
    }

    /// shutdown + exit; returns the exit code.
    fn finish(mut self) -> i32 {
        let r = self.request("shutdown", Value::Null);
        assert_eq!(r["result"], Value::Null, "{r}");
        assert!(r.get("error").is_none(), "{r}");
        self.notify("exit", Value::Null);
        self.stdin = None;
        self.exit_code()
    }

    fn exit_code(&mut self) -> i32 {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "server did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A document URI in the repository (kernels resolve from it), not on disk.
fn doc_uri(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("graphs")
        .join(name);
    format!("file://{}", p.display())
}

#[test]
fn initialize_advertises_capabilities_and_exits_cleanly() {
    let mut c = Client::start();
    let r = c.initialize();
    let caps = &r["result"]["capabilities"];
    assert_eq!(caps["hoverProvider"], true, "{r}");
    assert_eq!(caps["definitionProvider"], true);
    assert_eq!(caps["referencesProvider"], true);
    assert_eq!(caps["documentSymbolProvider"], true);
    assert_eq!(
        caps["completionProvider"]["triggerCharacters"],
        json!(["."])
    );
    assert_eq!(caps["textDocumentSync"]["openClose"], true);
    assert_eq!(r["result"]["serverInfo"]["name"], "ptc");
    assert_eq!(c.finish(), 0);
}

#[test]
fn exit_without_shutdown_is_code_1() {
    let mut c = Client::start();
    c.initialize();
    c.notify("exit", Value::Null);
    assert_eq!(c.exit_code(), 1);
}

#[test]
fn malformed_and_unknown_messages_get_errors_not_crashes() {
    let mut c = Client::start();
    // Before initialize: ServerNotInitialized (-32002).
    let r = c.request("textDocument/hover", json!({}));
    assert_eq!(r["error"]["code"], -32002, "{r}");
    c.initialize();

    // Not JSON at all: ParseError with a null id.
    c.send_raw(b"{\"jsonrpc\": \"2.0\", \"id\": 7, \"method\": ");
    let r = c.wait(|m| m.get("error").is_some());
    assert_eq!(r["error"]["code"], -32700, "{r}");
    assert_eq!(r["id"], Value::Null);

    // JSON but not a message: InvalidRequest.
    c.send(json!([1, 2, 3]));
    let r = c.wait(|m| m.get("error").is_some());
    assert_eq!(r["error"]["code"], -32600, "{r}");

    // Unknown request: MethodNotFound, with the request's id.
    let r = c.request("ptc/doesNotExist", json!({}));
    assert_eq!(r["error"]["code"], -32601, "{r}");

    // Known method, wrong params: InvalidParams.
    let r = c.request("textDocument/hover", json!({"position": "nowhere"}));
    assert_eq!(r["error"]["code"], -32602, "{r}");

    // Unknown notifications are ignored; the server still answers.
    c.notify("$/somethingElse", json!({}));
    let r = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": doc_uri("nope.pt")}, "position": {"line": 0, "character": 0}}),
    );
    assert_eq!(r["result"], Value::Null, "{r}");
    assert_eq!(c.finish(), 0);
}

#[test]
fn clean_graph_publishes_no_diagnostics_and_close_clears() {
    let mut c = Client::start();
    c.initialize();
    let uri = doc_uri("saxpy2.pt");
    let text =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("graphs/saxpy2.pt"))
            .expect("read saxpy2.pt");
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "ptask", "version": 1, "text": text}}),
    );
    assert_eq!(c.diagnostics(&uri), Vec::<Value>::new());
    c.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": uri}}),
    );
    assert_eq!(c.diagnostics(&uri), Vec::<Value>::new());
    assert_eq!(c.finish(), 0);
}

/// saxpy2 with `y` declared `i32`: one type mismatch at `add.b` in `y -> add.b;`,
/// after a comment with characters of 2 and 4 UTF-8 bytes (1 and 2 UTF-16 units).
const TYPE_ERROR: &str = "// saxpy2 with a type error
graph saxpy2 {
    input  x: f32[1048576];
    input  y: i32[1048576];
    output z: f32[1048576];

    ptask scale { kernel \"kernels/scale.comp\"; in a: f32[1048576]; param k: f32 = 2.0; out b: f32[1048576]; }
    ptask add   { kernel \"kernels/add.comp\";   in a: f32[1048576]; in b: f32[1048576]; out c: f32[1048576]; }

    x -> scale.a;
    scale.b -> add.a;
    /* é𝄞 */ y -> add.b;
    add.c -> z;
}
";

fn pos(line: u32, character: u32) -> Value {
    json!({"line": line, "character": character})
}

fn range(l0: u32, c0: u32, l1: u32, c1: u32) -> Value {
    json!({"start": pos(l0, c0), "end": pos(l1, c1)})
}

/// Line and UTF-16 column of the `nth` (1-based) occurrence of `needle` on
/// line `line` of `text`, plus `skip` characters.
fn at(text: &str, line: u32, needle: &str, nth: usize, skip: u32) -> Value {
    let l = text.lines().nth(line as usize).expect("line exists");
    let col = l
        .match_indices(needle)
        .nth(nth - 1)
        .map(|(i, _)| i)
        .expect("needle on line");
    pos(line, l[..col].encode_utf16().count() as u32 + skip)
}

fn open(c: &mut Client, uri: &str, text: &str) {
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "ptask", "version": 1, "text": text}}),
    );
}

#[test]
fn type_error_diagnostic_then_fix_clears_it() {
    let mut c = Client::start();
    c.initialize();
    let uri = doc_uri("lsp_type_error.pt");
    open(&mut c, &uri, TYPE_ERROR);
    let diags = c.diagnostics(&uri);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let d = &diags[0];
    assert_eq!(d["code"], "ptc::type_mismatch");
    assert_eq!(d["severity"], 1);
    assert_eq!(d["source"], "ptc");
    // `add.b` in `    /* é𝄞 */ y -> add.b;` (line 11, UTF-16 characters 19..24).
    assert_eq!(d["range"], range(11, 19, 11, 24));
    let msg = d["message"].as_str().expect("message");
    assert!(
        msg.starts_with("channel joins ports of different types: `i32[1048576]` -> `f32[1048576]`"),
        "{msg}"
    );
    // The other label (`y`) is related information at its own range.
    let rel = &d["relatedInformation"][0];
    assert_eq!(rel["location"]["uri"], uri);
    assert_eq!(rel["location"]["range"]["start"], pos(11, 14));
    assert!(
        rel["message"].as_str().expect("text").contains("i32"),
        "{rel}"
    );

    // Fix the type: the next publish for this document is empty.
    let fixed = TYPE_ERROR.replace("y: i32[", "y: f32[");
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": fixed}]}),
    );
    let m = c.wait(|m| {
        m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri.as_str()
    });
    assert_eq!(m["params"]["version"], 2);
    assert_eq!(m["params"]["diagnostics"], json!([]));

    // Break it again with an incremental edit (a range change): back to one error.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 3}, "contentChanges": [
            {"range": range(3, 14, 3, 17), "text": "u32"}
        ]}),
    );
    let diags = c.diagnostics(&uri);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert!(
        diags[0]["message"].as_str().expect("text").contains("u32"),
        "{diags:#?}"
    );
    assert_eq!(c.finish(), 0);
}

#[test]
fn hover_definition_completion_and_outline() {
    let mut c = Client::start();
    c.initialize();
    let uri = doc_uri("lsp_features.pt");
    let text = TYPE_ERROR.replace("y: i32[", "y: f32[");
    open(&mut c, &uri, &text);
    assert_eq!(c.diagnostics(&uri), Vec::<Value>::new());
    let doc = json!({"uri": uri});

    // Hover on the port part of `add.a` in `scale.b -> add.a;` (line 10).
    let r = c.request(
        "textDocument/hover",
        json!({"textDocument": doc, "position": at(&text, 10, "add.a", 1, 4)}),
    );
    let value = r["result"]["contents"]["value"]
        .as_str()
        .expect("hover markdown");
    assert!(value.contains("in a: f32[1048576]"), "{value}");
    assert!(value.contains("input port of ptask `add`"), "{value}");
    assert!(value.contains("binding 0"), "{value}");
    assert!(value.contains("4194304 bytes"), "{value}");
    assert_eq!(r["result"]["range"], range(10, 19, 10, 20));

    // Hover on a graph input used as a channel end.
    let r = c.request(
        "textDocument/hover",
        json!({"textDocument": doc, "position": at(&text, 9, "x", 1, 0)}),
    );
    let value = r["result"]["contents"]["value"]
        .as_str()
        .expect("hover markdown");
    assert!(value.contains("input x: f32[1048576]"), "{value}");
    assert!(value.contains("pushed by the caller"), "{value}");

    // Hover on a param declaration.
    let r = c.request(
        "textDocument/hover",
        json!({"textDocument": doc, "position": at(&text, 6, "k:", 1, 0)}),
    );
    let value = r["result"]["contents"]["value"]
        .as_str()
        .expect("hover markdown");
    assert!(value.contains("param k: f32 = 2.0"), "{value}");
    assert!(
        value.contains("push constant of ptask `scale` · offset 0"),
        "{value}"
    );

    // Nothing to hover in whitespace.
    let r = c.request(
        "textDocument/hover",
        json!({"textDocument": doc, "position": pos(5, 0)}),
    );
    assert_eq!(r["result"], Value::Null);

    // Definition: `add.b` (line 11) → `b` in `in b: f32[...]` of ptask add (line 7).
    let r = c.request(
        "textDocument/definition",
        json!({"textDocument": doc, "position": at(&text, 11, "add.b", 1, 4)}),
    );
    let decl = at(&text, 7, "in b", 1, 3);
    assert_eq!(r["result"]["uri"], uri);
    assert_eq!(r["result"]["range"]["start"], decl);
    // ... and the ptask part → the ptask's name.
    let r = c.request(
        "textDocument/definition",
        json!({"textDocument": doc, "position": at(&text, 11, "add.b", 1, 1)}),
    );
    assert_eq!(r["result"]["range"], range(7, 10, 7, 13));
    // `z` in `add.c -> z;` → the graph output's declaration.
    let r = c.request(
        "textDocument/definition",
        json!({"textDocument": doc, "position": at(&text, 12, "z", 1, 0)}),
    );
    assert_eq!(r["result"]["range"], range(4, 11, 4, 12));

    // References of ptask `add` (cursor on its declaration): the three
    // channel ends naming it, plus the declaration when asked.
    let r = c.request(
        "textDocument/references",
        json!({"textDocument": doc, "position": pos(7, 11), "context": {"includeDeclaration": true}}),
    );
    let starts: Vec<Value> = r["result"]
        .as_array()
        .expect("locations")
        .iter()
        .map(|l| l["range"]["start"].clone())
        .collect();
    assert_eq!(
        starts,
        [
            pos(7, 10),
            at(&text, 10, "add", 1, 0),
            at(&text, 11, "add", 1, 0),
            at(&text, 12, "add", 1, 0)
        ]
    );

    // Document outline: graph → inputs/outputs and ptasks → ports and params.
    let r = c.request("textDocument/documentSymbol", json!({"textDocument": doc}));
    let graph = &r["result"][0];
    assert_eq!(graph["name"], "saxpy2");
    let names = |v: &Value| -> Vec<String> {
        v["children"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| s["name"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(names(graph), ["x", "y", "z", "scale", "add"]);
    assert_eq!(names(&graph["children"][3]), ["a", "k", "b"]);
    assert_eq!(graph["children"][3]["selectionRange"], range(6, 10, 6, 15));

    // Completion after `add.` while the line is incomplete (does not parse):
    // the ports of `add` from the last good check.
    let mut broken = text.clone();
    broken.insert_str(
        broken.rfind('}').expect("closing brace"),
        "    scale.b -> add.\n",
    );
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": broken}]}),
    );
    let r = c.request(
        "textDocument/completion",
        json!({"textDocument": doc, "position": at(&broken, 13, "add.", 1, 4)}),
    );
    let items = r["result"].as_array().expect("completion list");
    let labels: Vec<&str> = items.iter().filter_map(|i| i["label"].as_str()).collect();
    assert_eq!(labels, ["a", "b", "c"], "{r}");
    assert_eq!(items[2]["detail"], "out f32[1048576]");
    // The broken text gets a syntax error published.
    let diags = c.diagnostics(&uri);
    assert!(
        diags.iter().any(|d| d["code"] == "ptc::syntax"),
        "{diags:#?}"
    );
    assert_eq!(c.finish(), 0);
}

#[test]
fn kernel_edit_on_disk_rechecks_open_graphs() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("lsp_kernel_edit");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let kernel = dir.join("k.comp");
    let good = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("kernels/scale.comp"),
    )
    .expect("read scale.comp");
    // The kernel writes its input: the checker must flag the `in` port.
    std::fs::write(&kernel, good.replace("readonly buffer A", "buffer A")).expect("write");
    let graph = dir.join("g.pt");
    let text = "// one stage
graph one {
    input  x: f32[1024];
    output z: f32[1024];
    ptask scale { kernel \"k.comp\"; in a: f32[1024]; param k: f32 = 2.0; out b: f32[1024]; }
    x -> scale.a;
    scale.b -> z;
}
";
    std::fs::write(&graph, text).expect("write");
    let uri = format!("file://{}", graph.display());
    let mut c = Client::start();
    c.initialize();
    open(&mut c, &uri, text);
    let diags = c.diagnostics(&uri);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0]["code"], "ptc::writable_input");

    std::fs::write(&kernel, &good).expect("write");
    c.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": format!("file://{}", kernel.display()), "type": 2}]}),
    );
    assert_eq!(c.diagnostics(&uri), Vec::<Value>::new());
    assert_eq!(c.finish(), 0);
}

#[test]
fn broken_framing_ends_the_server_without_a_panic() {
    let mut c = Client::start();
    c.initialize();
    // A header without Content-Length cannot be resynchronised: the server
    // stops reading and exits with 1 (not a panic's 101).
    let stdin = c.stdin.as_mut().expect("stdin");
    stdin
        .write_all(b"Content-Type: nonsense\r\n\r\n{}")
        .expect("write");
    stdin.flush().expect("flush");
    c.stdin = None;
    assert_eq!(c.exit_code(), 1);
}

/// The language's new names: hover on a `spec` shows the kernel constant it
/// sets (id, type, default); go to definition works on a const, an import
/// (to the file) and a template (into the imported file).
#[test]
fn spec_hover_and_definitions_of_consts_imports_and_templates() {
    let mut c = Client::start();
    c.initialize();
    let uri = doc_uri("lsp_lang.pt");
    let text = "import \"lib/vec.pt\";
const N = 256 * 4;
graph g {
    input x: f32[N];
    output y: f32[N];
    output z: f32[N];
    ptask s {
        kernel \"lib/kernels/scale.comp\";
        spec WG: u32 = 128;
        in a: f32[N];
        param k: f32 = 2.0;
        out b: f32[N];
    }
    ptask t = scale(n: N, k: 3.0);
    x -> s.a;
    s.b -> y;
    x -> t.a;
    t.b -> z;
}
";
    open(&mut c, &uri, text);
    assert_eq!(c.diagnostics(&uri), Vec::<Value>::new());
    let doc = json!({"uri": uri});
    let hover = |c: &mut Client, p: Value| -> String {
        let r = c.request(
            "textDocument/hover",
            json!({"textDocument": doc, "position": p}),
        );
        r["result"]["contents"]["value"]
            .as_str()
            .unwrap_or_else(|| panic!("no hover: {r}"))
            .to_string()
    };
    // The spec: its value, and the kernel constant (WG, id 0, default 256)
    // with the workgroup size on the same id.
    let h = hover(&mut c, at(text, 8, "WG", 1, 0));
    assert!(h.contains("spec WG: u32 = 128"), "{h}");
    assert!(
        h.contains(
            "sets `WG` (constant_id 0, u32, default 256) of kernel `lib/kernels/scale.comp`"
        ),
        "{h}"
    );
    assert!(
        h.contains("also an unnamed constant (constant_id 0, u32, default 1)"),
        "{h}"
    );
    // A const: its value.
    let h = hover(&mut c, at(text, 3, "N", 1, 0));
    assert!(h.contains("const N = 1024"), "{h}");
    // A template: its signature.
    let h = hover(&mut c, at(text, 13, "scale", 1, 1));
    assert!(
        h.contains("ptask scale(n: u32, k: f32 = 1.0, wg: u32 = 256)"),
        "{h}"
    );

    let def = |c: &mut Client, p: Value| -> Value {
        c.request(
            "textDocument/definition",
            json!({"textDocument": doc, "position": p}),
        )["result"]
            .clone()
    };
    // `N` in a shape → `const N` on line 1.
    let r = def(&mut c, at(text, 4, "N", 1, 0));
    assert_eq!(r["uri"], uri);
    assert_eq!(r["range"], range(1, 6, 1, 7));
    // The import's path → the file.
    let r = def(&mut c, at(text, 0, "lib/vec.pt", 1, 2));
    let lib = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("graphs/lib/vec.pt");
    assert_eq!(r["uri"], format!("file://{}", lib.display()));
    // The template → its name in graphs/lib/vec.pt.
    let r = def(&mut c, at(text, 13, "scale", 1, 2));
    assert_eq!(r["uri"], format!("file://{}", lib.display()));
    let lib_text = std::fs::read_to_string(&lib).expect("lib");
    let line = lib_text
        .lines()
        .position(|l| l.starts_with("ptask scale("))
        .expect("template line") as u32;
    assert_eq!(r["range"], range(line, 6, line, 11));
    assert_eq!(c.finish(), 0);
}

#[test]
fn a_header_line_without_end_is_refused_not_buffered() {
    let mut c = Client::start();
    c.initialize();
    // 32 KiB of a header line that never ends, stdin kept open: the
    // server gives up after 1 KiB and exits with 1. (It used to buffer the
    // line for as long as the client kept sending, and never exit.)
    let stdin = c.stdin.as_mut().expect("stdin");
    stdin
        .write_all(b"Content-Length: 2\r\nX-Pad: ")
        .expect("write");
    stdin.write_all(&[b'a'; 32 << 10]).expect("write");
    stdin.flush().expect("flush");
    assert_eq!(c.exit_code(), 1);
}

#[test]
fn documents_over_16_mib_are_not_checked() {
    let mut c = Client::start();
    c.initialize();
    // 17 MiB of comments before a graph with an error: refused like
    // `ptc check` refuses such a file, instead of checked on every edit.
    let uri = doc_uri("huge.pt");
    let text = format!(
        "{}graph g {{ input x: f32; output y: u32; x -> y; }}\n",
        "// padding padding padding padding padding padding padding padding\n".repeat(260_000)
    );
    assert!(text.len() > 16 << 20);
    open(&mut c, &uri, &text);
    let d = c.diagnostics(&uri);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0]["code"], "ptc::file_too_large", "{}", d[0]);
    assert!(d[0]["message"]
        .as_str()
        .unwrap()
        .contains("larger than 16 MiB"));
    assert_eq!(c.finish(), 0);
}
