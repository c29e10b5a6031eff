// Renders a .pt file to HTML with the extension's TextMate grammar and a
// Dark+-like palette, for the README screenshot:
//   node tools/render-sample.js ../../graphs/gesture.pt > images/sample.html
//   chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
//     --window-size=900,640 --screenshot=images/screenshot.png images/sample.html
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const vsctm = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

// Most specific prefix wins (longest match).
const palette = {
  "comment": "#6A9955",
  "string": "#CE9178",
  "constant.character.escape": "#D7BA7D",
  "constant.numeric": "#B5CEA8",
  "storage.type": "#569CD6",
  "storage.modifier": "#569CD6",
  "storage.modifier.port": "#C586C0",
  "keyword.other": "#569CD6",
  "keyword.control": "#C586C0",
  "keyword.operator.channel": "#D4D4D4",
  "support.type": "#4EC9B0",
  "entity.name.type": "#4EC9B0",
  "entity.name.namespace": "#4EC9B0",
  "entity.name.function": "#DCDCAA",
  "support.function": "#DCDCAA",
  "variable.other.port": "#9CDCFE",
  "variable.other.field": "#9CDCFE",
  "variable.parameter": "#9CDCFE",
  "variable.other.port.graph": "#4FC1FF",
};

function color(scopes) {
  let best = null;
  for (const s of scopes) {
    for (const key of Object.keys(palette)) {
      if ((s === key || s.startsWith(key + ".")) && (!best || key.length >= best.length)) {
        best = key;
      }
    }
  }
  return best ? palette[best] : "#D4D4D4";
}

function esc(s) {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

async function main() {
  const file = process.argv[2];
  const wasm = fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (s) => new oniguruma.OnigScanner(s),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async () =>
      vsctm.parseRawGrammar(
        fs.readFileSync(path.join(__dirname, "..", "syntaxes", "ptask.tmLanguage.json"), "utf8"),
        "ptask.tmLanguage.json"
      ),
  });
  const grammar = await registry.loadGrammar("source.ptask");
  let stack = vsctm.INITIAL;
  const rows = [];
  const lines = fs.readFileSync(file, "utf8").replace(/\n$/, "").split("\n");
  lines.forEach((line, i) => {
    const r = grammar.tokenizeLine(line, stack);
    stack = r.ruleStack;
    const html = r.tokens
      .map((t) => `<span style="color:${color(t.scopes)}">${esc(line.slice(t.startIndex, t.endIndex))}</span>`)
      .join("");
    rows.push(`<div><span class="ln">${i + 1}</span>${html}</div>`);
  });
  process.stdout.write(`<!doctype html><meta charset="utf-8">
<style>
body { margin: 0; background: #1E1E1E; }
.tab { background: #252526; color: #CCCCCC; font: 13px sans-serif; padding: 8px 16px; border-bottom: 1px solid #333; }
pre { margin: 0; padding: 12px 0; font: 14px/20px "DejaVu Sans Mono", monospace; color: #D4D4D4; }
.ln { display: inline-block; width: 40px; padding-right: 16px; text-align: right; color: #858585; }
</style>
<div class="tab">${esc(path.basename(file))} — PTask</div>
<pre>${rows.join("")}</pre>
`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
