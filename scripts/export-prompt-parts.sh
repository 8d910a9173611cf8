#!/usr/bin/env bash
# Ships the default model's prompt-aware parts (what `sslpron score --text` uses): the phone recogniser
# (a `phone-recognizer` output folder) and the prompt-aware head (a `prompt-head` output folder trained on
# www/models/default with that recogniser), their weights stored in f16 like the scoring model's, into
# www/models/default/. The CLI compiles them in: rebuild it afterwards.
# Usage: scripts/export-prompt-parts.sh RECOGNIZER_DIR PROMPT_HEAD_DIR
# A new scoring model (scripts/export-default-model.sh) needs a head trained on it: run prompt-head again.
set -euo pipefail
cd "$(dirname "$0")/.."
recognizer=${1:?usage: $0 RECOGNIZER_DIR PROMPT_HEAD_DIR}
head=${2:?usage: $0 RECOGNIZER_DIR PROMPT_HEAD_DIR}
out=www/models/default
for f in "$recognizer"/phone_recognizer.json "$recognizer"/phone_recognizer.safetensors "$recognizer"/phone_vocab.json \
  "$head"/prompt_head.json "$head"/prompt_head.safetensors; do
  [ -f "$f" ] || { echo "$f: missing" >&2; exit 1; }
done
# The dev profile is enough for a conversion (dependencies are optimised) and shares the tests' build.
cargo build -q -p sslpron-cli
cli=${CARGO_TARGET_DIR:-$PWD/target}/debug/sslpron

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# `convert --hub-layout` stores every weight file of a model folder, the prompt-aware parts included, in f16.
mkdir "$tmp/in"
cp "$out"/config.json "$out"/preprocessor_config.json "$out"/model.safetensors "$tmp/in/"
cp "$recognizer"/phone_recognizer.json "$recognizer"/phone_recognizer.safetensors "$recognizer"/phone_vocab.json "$tmp/in/"
cp "$head"/prompt_head.json "$head"/prompt_head.safetensors "$tmp/in/"
"$cli" convert "$tmp/in" "$tmp/f16" --hub-layout --precision f16
cmp -s "$tmp/f16/model.safetensors" "$out/model.safetensors" || { echo "$out/model.safetensors is not stored in f16" >&2; exit 1; }
cp "$tmp/f16"/phone_recognizer.* "$tmp/f16"/phone_vocab.json "$tmp/f16"/prompt_head.* "$out/"
# The head must load with the scoring model and the recogniser it was trained with.
"$cli" score --model "$out" --text "Dora can draw the zebra" tests/fixtures/audio/medium.wav
echo "shipped prompt-aware parts into $out: $(du -ch "$out"/phone_recognizer.safetensors "$out"/prompt_head.safetensors | tail -1 | cut -f1)"
