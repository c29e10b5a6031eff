// Checks of the extension manifest and of the grammar on the repository's
// real graphs, with node's built-in test runner.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const vsctm = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

const ext = path.join(__dirname, "..");
const repo = path.join(ext, "..", "..");
const pkg = JSON.parse(fs.readFileSync(path.join(ext, "package.json"), "utf8"));
const lang = pkg.contributes.languages.find((l) => l.id === "ptask");
const firstLine = new RegExp(lang.firstLine);

function graphs() {
  const dir = path.join(repo, "graphs");
  return fs.readdirSync(dir).filter((f) => f.endsWith(".pt")).map((f) => path.join(dir, f));
}

function libraries() {
  const dir = path.join(repo, "graphs", "lib");
  return fs.readdirSync(dir).filter((f) => f.endsWith(".pt")).map((f) => path.join(dir, f));
}

test("the language does not claim every .pt file (PyTorch uses .pt too)", () => {
  assert.equal(lang.extensions, undefined);
  assert.equal(lang.filenamePatterns, undefined);
  assert.ok(lang.aliases.includes("PTask"));
});

test("firstLine recognises graph files and rejects PyTorch checkpoints", () => {
  const files = graphs();
  assert.ok(files.length >= 2, "the repository ships example graphs");
  for (const f of files) {
    const line = fs.readFileSync(f, "utf8").split("\n")[0];
    assert.match(line, firstLine, f);
  }
  for (const ok of [
    "graph g {",
    "struct Event { kind: u32 }",
    "/* header */",
    "  // comment",
    'import "lib/vec.pt";',
    "const W = 640;",
    "ptask scale(n: u32) {",
  ]) {
    assert.match(ok, firstLine);
  }
  // A zip-format checkpoint (torch.save since 1.6) and a legacy pickle one.
  for (const bad of ["PK\u0003\u0004archive/data.pkl", "\u0080\u0002\u008alq\u0000", "import torch", "graphql {"]) {
    assert.doesNotMatch(bad, firstLine);
  }
});

test("manifest files are valid JSON and point at existing files", () => {
  for (const c of [...pkg.contributes.grammars, ...pkg.contributes.snippets]) {
    JSON.parse(fs.readFileSync(path.join(ext, c.path), "utf8"));
  }
  const conf = JSON.parse(fs.readFileSync(path.join(ext, lang.configuration), "utf8"));
  assert.deepEqual(conf.comments, { lineComment: "//", blockComment: ["/*", "*/"] });
  assert.ok(fs.existsSync(path.join(ext, pkg.main)));
  const snippets = JSON.parse(fs.readFileSync(path.join(ext, "snippets", "ptask.json"), "utf8"));
  assert.deepEqual(Object.keys(snippets).sort(), ["channel", "graph", "ptask", "struct"]);
});

async function grammar() {
  const wasm = fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (s) => new oniguruma.OnigScanner(s),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async () =>
      vsctm.parseRawGrammar(
        fs.readFileSync(path.join(ext, "syntaxes", "ptask.tmLanguage.json"), "utf8"),
        "ptask.tmLanguage.json"
      ),
  });
  return registry.loadGrammar("source.ptask");
}

function tokenize(g, text) {
  const out = [];
  let stack = vsctm.INITIAL;
  for (const line of text.split("\n")) {
    const r = g.tokenizeLine(line, stack);
    for (const t of r.tokens) {
      out.push({ text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes });
    }
    stack = r.ruleStack;
  }
  return out;
}

test("the example graphs tokenize with every channel, port and ptask scoped", async () => {
  const g = await grammar();
  for (const f of graphs()) {
    const text = fs.readFileSync(f, "utf8");
    const toks = tokenize(g, text);
    const has = (word, scope) =>
      toks.some((t) => t.text === word && t.scopes.some((s) => s.startsWith(scope)));
    assert.ok(!toks.some((t) => t.scopes.some((s) => s.startsWith("invalid"))), f);
    // Every `a.b -> c.d;` line's arrow is a channel operator inside a channel.
    const arrows = toks.filter((t) => t.text === "->");
    assert.equal(arrows.length, (text.match(/->/g) || []).length, f);
    for (const a of arrows) {
      assert.ok(a.scopes.includes("meta.channel.ptask"), f);
      assert.ok(a.scopes.includes("keyword.operator.channel.ptask"), f);
    }
    // Every ptask name is declared with the ptask scope.
    for (const m of text.matchAll(/ptask\s+(\w+)/g)) {
      assert.ok(has(m[1], "entity.name.function.ptask"), `${f}: ${m[1]}`);
    }
    // The file's whole text sits inside the graph once `graph` starts.
    const closing = toks.filter((t) => t.text === "}" && t.scopes.includes("meta.graph.ptask"));
    assert.ok(closing.length >= 1, f);
  }
});

test("the template library tokenizes: every template and instance named, nothing invalid", async () => {
  const g = await grammar();
  const libs = libraries();
  assert.ok(libs.length >= 3, "graphs/lib ships templates");
  for (const f of [...libs, ...graphs()]) {
    const text = fs.readFileSync(f, "utf8");
    const toks = tokenize(g, text);
    assert.ok(!toks.some((t) => t.scopes.some((s) => s.startsWith("invalid"))), f);
    for (const m of text.matchAll(/^ptask\s+(\w+)\s*\(/gm)) {
      assert.ok(
        toks.some((t) => t.text === m[1] && t.scopes.includes("entity.name.function.template.ptask")),
        `${f}: template ${m[1]}`
      );
    }
    for (const m of text.matchAll(/ptask\s+\w+\s*=\s*(\w+)\(/g)) {
      assert.ok(
        toks.some((t) => t.text === m[1] && t.scopes.includes("entity.name.function.template.ptask")),
        `${f}: instance of ${m[1]}`
      );
    }
    for (const m of text.matchAll(/^const\s+(\w+)/gm)) {
      assert.ok(
        toks.some((t) => t.text === m[1] && t.scopes.includes("variable.other.constant.declaration.ptask")),
        `${f}: const ${m[1]}`
      );
    }
  }
});
