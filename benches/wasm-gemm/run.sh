#!/usr/bin/env bash
# sslpron-gemm vs the `gemm` crate (what Burn's flex device calls) in WebAssembly, in Node's V8, on
# the shapes of a base-size forward over 5 s of audio; alternating rounds, median GFLOP/s, the ratio.
# Node's V8 is older than Chromium's: the browser benchmark (benches/browser) has the last word.
#   bash benches/wasm-gemm/run.sh [ROUNDS] [SIDES]      # SIDES e.g. shipped,t3x12,t2x16,peer
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=$PWD/target/wasm-gemm
(cd benches/wasm-gemm && cargo build -q --release --target wasm32-unknown-unknown)
node benches/wasm-gemm/bench.mjs "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/wasm_gemm_bench.wasm" "${1:-5}" "${2:-shipped,peer}"
