#!/usr/bin/env bash
# Headless tests of the VS Code extension: TextMate grammar scope tests
# (vscode-tmgrammar-test over tests/*.test.pt) and manifest/tokenizer checks
# (node's test runner over tests/*.test.js). Needs node and npm.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund --loglevel=error
echo "== grammar scope tests"
npx --no-install vscode-tmgrammar-test -g syntaxes/ptask.tmLanguage.json "tests/**/*.test.pt"
echo "== extension manifest and tokenizer tests"
node --check extension.js
node --check tools/render-sample.js
node --test tests/extension.test.js
