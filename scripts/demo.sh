#!/usr/bin/env bash
# `npm start` until the browser scorer exists (issue #4): builds the `sslpron` CLI and scores the bundled
# example clips with a bundled *tiny random-weight* model. The numbers show that the pipeline runs end to
# end; they are not pronunciation judgements (no trained model ships yet, issue #5).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p sslpron-cli
echo "Scoring tests/fixtures/audio/*.wav with tests/fixtures/models/wav2vec2-base (tiny, random weights):" >&2
./target/release/sslpron score --json --model tests/fixtures/models/wav2vec2-base \
  tests/fixtures/audio/short.wav tests/fixtures/audio/medium.wav tests/fixtures/audio/long.wav
