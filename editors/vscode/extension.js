// Starts the ptc language server (`ptc lsp`) for .pt graphs. Optional: the
// grammar, snippets and language configuration work without it, and nothing
// happens when ptc is not installed or the client library is missing.
"use strict";

const vscode = require("vscode");
const { spawnSync } = require("child_process");

let client;

function activate(context) {
  const cfg = vscode.workspace.getConfiguration("ptask");
  if (!cfg.get("languageServer.enable", true)) {
    return;
  }
  const command = cfg.get("languageServer.path") || "ptc";
  const probe = spawnSync(command, ["--version"], { timeout: 5000 });
  if (probe.error || probe.status !== 0) {
    console.log(`ptask: language server not started (${command} --version failed)`);
    return;
  }
  let LanguageClient;
  try {
    ({ LanguageClient } = require("vscode-languageclient/node"));
  } catch (e) {
    console.log("ptask: vscode-languageclient is not installed (run `npm ci` in the extension folder)");
    return;
  }
  client = new LanguageClient(
    "ptask",
    "ptc language server",
    { command, args: ["lsp"] },
    {
      documentSelector: [{ language: "ptask" }],
      initializationOptions: { kernelPaths: cfg.get("kernelPaths", []) },
      // Re-check open graphs when a kernel changes on disk.
      synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher("**/*.{comp,glsl}") },
    }
  );
  client.start();
  context.subscriptions.push({ dispose: () => client && client.stop() });
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
