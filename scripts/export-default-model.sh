#!/usr/bin/env bash
# Ships a trained run as the default model: www/models/default/ (hub layout) and
# www/models/default.sslpron (web format, f16), the page's hash in www/config.js, and the scores both
# give on the test fixtures and on speechocean762-mini (www/models/default/reference-scores.json), which
# crates/cli/tests/default_model.rs checks on every test run.
# Usage: scripts/export-default-model.sh [RUN_DIR]   (default runs/default; its best/ is shipped)
# Needs SSLPRON_SHARED (the ../shared folder) for the mini set's clips.
# The prompt-aware parts in the same folder (`score --text`) belong to the scoring model they were trained
# on: after shipping a new one, train prompt-head on it and run scripts/export-prompt-parts.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
run=${1:-runs/default}
shared=${SSLPRON_SHARED:?set SSLPRON_SHARED to the shared folder (speechocean762-mini is scored)}
mini="$shared/speechocean762-mini"
out=www/models/default
web=www/models/default.sslpron
[ -f "$run/best/model.safetensors" ] || { echo "$run/best/model.safetensors: no best model in this run" >&2; exit 1; }
# Built before the new model is in place: the binary embeds whichever default.sslpron is committed.
cargo build -q --release -p sslpron-cli
cli=$PWD/target/release/sslpron

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# The hub layout in f16: half the size, and the web file (f16 too) is then its exact conversion.
"$cli" convert "$run/best" "$tmp/hub" --hub-layout --precision f16
description="Trained on Speechocean762 by sslpron's own trainer: a 2.2M-parameter Wav2Vec2-layout model, from scratch (model card: models/default/MODEL_CARD.md)."
"$cli" convert "$tmp/hub" "$tmp/default.sslpron" --description "$description"

fixtures=(tests/fixtures/audio/*.wav)
mapfile -t clips < <(cut -f2 "$mini/test/wav.scp" "$mini/train/wav.scp" | sort)
score() { # MODEL -> JSON lines: fixtures from the repository root, mini clips relative to the mini root
  "$cli" score --json --model "$1" "${fixtures[@]}"
  (cd "$mini" && "$cli" score --json --model "$1" "${clips[@]}")
}
score "$tmp/hub" >"$tmp/hub.jsonl"
score "$tmp/default.sslpron" >"$tmp/web.jsonl"
score "$(cd "$run/best" && pwd)" >"$tmp/f32.jsonl"   # the trainer's f32 weights: how far f16 moves the scores
python3 - "$tmp" "$run" <<'PY'
import json, sys
tmp, run = sys.argv[1], sys.argv[2]
def read(name):
    return {r.pop("file"): [r[k] for k in ("accuracy", "fluency", "prosody", "total")] for r in map(json.loads, open(f"{tmp}/{name}.jsonl"))}
hub, web, f32 = read("hub"), read("web"), read("f32")
drift = max(abs(a - b) for f in hub for a, b in zip(hub[f], f32[f]))
print(f"largest score change from storing the weights in f16, over {len(hub)} clips: {drift:.5f}")
head = json.dumps({
    "about": "Scores (accuracy, fluency, prosody, total) recorded at export by scripts/export-default-model.sh; "
             "files under tests/ are relative to the repository root, the others to speechocean762-mini.",
    "run": run,
    "f16_largest_change_vs_trained_f32": round(drift, 6),
})[:-1]
# One clip per line: a re-export's diff shows which clips moved.
lines = ",\n".join("  " + json.dumps({"file": f, "hub": hub[f], "web": web[f]}) for f in hub)
open(f"{tmp}/reference-scores.json", "w").write(f"{head},\n \"clips\": [\n{lines}\n]}}\n")
PY

mkdir -p "$out"
cp "$tmp/hub/"* "$tmp/reference-scores.json" "$out/"
cp "$tmp/default.sslpron" "$web"
sha=$(sha256sum "$web" | cut -d' ' -f1)
sed -i -E "/DEFAULT_MODEL = /,/\};/ s/sha256: \"[0-9a-f]{64}\"/sha256: \"$sha\"/" www/config.js
grep -q "$sha" www/config.js
echo "shipped $run/best: $out ($(du -sh "$out" | cut -f1)), $web ($(stat -c %s "$web") bytes, sha256 $sha)"
echo "rebuild the CLI (it embeds $web) and run the tests"
