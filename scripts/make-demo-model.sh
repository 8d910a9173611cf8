#!/usr/bin/env bash
# Rebuilds www/models/demo.sslpron, a tiny untrained model that the browser tests load where only the
# plumbing matters (WebGPU on a software adapter, the bytes API), from the fixture
# tests/fixtures/models/wav2vec2-base. crates/cli/tests/default_model.rs checks that it is current.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p sslpron-cli
description="untrained demo model (random weights, 0.1 MB): its scores exercise the scorer but say nothing about your pronunciation"
target/debug/sslpron convert tests/fixtures/models/wav2vec2-base www/models/demo.sslpron --description "$description"
