#!/usr/bin/env bash
# The project's test command (README: `npm test`): every Rust test of the workspace (the model parity
# suite included), then the browser tests in headless Chromium. Installs what the browser tests need
# when it is missing: the npm packages, Chromium (Debian package; needs root), the wasm32 target and the
# wasm-bindgen CLI (scripts/build-web.sh). Both suites always run; the exit status says if either failed.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0

cargo test --workspace --no-fail-fast || status=1

# The GPU check's script, every step on the CPU at small sizes (`cargo test` built its binary). Its
# GPU run is by hand, on a machine with an NVIDIA GPU (docs/PERFORMANCE.md, "GPU check").
if [ -n "${SSLPRON_SHARED:-}" ]; then
  GPU_CHECK_BIN="${CARGO_TARGET_DIR:-target}/debug/examples/gpu_check" bash scripts/gpu-check.sh --dry-run --out target/gpu-check-dry-run || status=1
else
  echo "test: skipping scripts/gpu-check.sh --dry-run: SSLPRON_SHARED is not set (it needs the mini corpus)"
fi

set -e
[ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund
if [ -z "${CHROMIUM:-}" ] && ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test: installing Chromium (Debian package) for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "test: the browser tests need Chromium: install it (Debian: sudo apt-get install chromium) or set CHROMIUM=/path/to/chrome" >&2
    exit 1
  fi
fi
bash scripts/build-web.sh
cargo build -q -p sslpron-cli
set +e
node --test --test-concurrency=1 tests/browser/ || status=1
exit $status
