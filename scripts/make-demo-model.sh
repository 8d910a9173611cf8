#!/usr/bin/env bash
# Rebuilds www/models/demo.sslpron (the untrained demo model the page loads until a trained model ships)
# from the fixture tests/fixtures/models/wav2vec2-base, and writes its SHA-256 into www/config.js.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p sslpron-cli
description="untrained demo model (random weights, 0.1 MB): its scores exercise the scorer but say nothing about your pronunciation"
target/debug/sslpron convert tests/fixtures/models/wav2vec2-base www/models/demo.sslpron --description "$description"
sha=$(sha256sum www/models/demo.sslpron | cut -d' ' -f1)
sed -i -E "s/sha256: \"[0-9a-f]{64}\"/sha256: \"$sha\"/" www/config.js
grep -q "$sha" www/config.js
