#!/usr/bin/env bash
# The project's test command (README): every Rust test of the workspace, the model parity suite included.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --no-fail-fast
