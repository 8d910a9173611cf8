#!/usr/bin/env bash
# `npm start`: builds the browser scorer (installing the wasm32 target and the matching wasm-bindgen CLI
# when missing) and serves the practice page on http://127.0.0.1:8080/ (PORT to change it). The page
# and widget load www/models/demo.sslpron unless given another model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-web.sh
exec node scripts/serve.mjs
