#!/usr/bin/env bash
# Every side-by-side benchmark of docs/PERFORMANCE.md, back to back, into one log:
#   1. native CPU forward, sslpron vs transformers (torch CPU): base Wav2Vec2, HuBERT, WavLM x 2 / 5 / 20 s;
#   2. native CPU training step (General, batch 4 x 4 s), sslpron vs torch + AdamW;
#   3. browser, one headless Chromium: sslpron's WASM vs transformers.js (onnxruntime-web WASM), fp32 and
#      q8 against our int8 / f16 files, and both on WebGPU (SwiftShader here: the ratio only).
# Needs the Python venv of tests/fixtures/requirements.txt plus onnx, onnxscript and onnxruntime
# (PYTHON, default /work/pyenv/bin/python), Chromium, and nothing else running: the ratios are only as
# good as the machine is quiet.
#
#   bash benches/run-all.sh [THREADS]        # log: target/bench-<date>.log
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-/work/pyenv/bin/python}
threads=${1:-2}
log=target/bench-$(date +%Y%m%d-%H%M).log
mkdir -p target
{
  echo "# sslpron benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
  echo "## native forward"
  "$python" benches/forward_cpu.py --threads "$threads" --seconds 2,5,20 --rounds 3 --repeats 3
  echo "## native training step"
  "$python" benches/train_step_cpu.py --threads "$threads" --batch 4 --seconds 4 --repeats 3
  echo "## browser"
  [ -f benches/browser/models/wav2vec2/onnx-js/onnx/model.onnx ] || "$python" benches/browser/export_models.py
  bash scripts/build-web.sh
  cargo build --release -q -p sslpron-cli
  (cd benches/browser && npm install --ignore-scripts --no-audit --no-fund)
  node benches/browser/bench.mjs --repeats 3 --rounds 3 --webgpu
} 2>&1 | grep --line-buffered -v "Warning" | tee "$log"
echo "run-all: log in $log"
