#!/usr/bin/env bash
# The GPU check (issue #19; docs/PERFORMANCE.md, "GPU check"): everything the CUDA build must show, in
# one run of a few minutes on a machine with an NVIDIA GPU and no internet.
#
#   scripts/gpu-check.sh --pack DIR          here (no GPU needed): build the CUDA build of
#                                            trainer/examples/gpu_check (the trainer's command line, the
#                                            CLI's scoring path and the measurements in one binary), pack it
#                                            into DIR/bin.tar.xz with a small corpus subset in DIR/data
#   scripts/gpu-check.sh --from DIR [--out DIR2]   on the GPU machine: run the check with what --pack made
#   scripts/gpu-check.sh --dry-run [--out DIR2]    on the CPU: the same steps, small sizes, no GPU (tests
#                                            the script itself; gpu_check from $GPU_CHECK_BIN, else
#                                            target/{release,debug}/examples)
#
# The check, in order: CUDA vs CPU forward parity on a base-size random model (scores within 1e-3, the
# last hidden state within 1e-3 of its largest value), General / Freeze / CTC training runs of a tiny model
# on the corpus subset (200 steps each; the loss must fall), a run killed with SIGKILL after its first
# checkpoint and resumed, the CLI's scoring path on the GPU against the CPU, then the timings: forward at
# 5 and 20 s (base; real-time factor), one training step for base at batch 4 x 4 s and large at 2 x 4 s,
# and the same four on transformers + torch (benches/gpu_peer.py) when the machine has them. Peak GPU
# memory per step from nvidia-smi sampled every 100 ms (what the process holds, allocator pool included).
# One table on stdout; the same as JSON in OUT/gpu-check.json, each step's logs beside it.
# Burn's CUDA backend needs nothing installed but the NVIDIA driver and NVRTC (CUDA 13 here); the
# carried binary was built on Debian 12 and ran on the device image (Ubuntu, CUDA 13.0, driver 580).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
mode=check from="" out="" dry=0 pack=""
while [ $# -gt 0 ]; do
  case $1 in
    --pack) mode=pack pack=$2; shift 2 ;;
    --from) from=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --dry-run) dry=1; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "gpu-check: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

# A corpus subset in Speechocean762's layout: the first N training speakers of SRC, all their utterances.
subset_corpus() {
  local src=$1 dst=$2 n=$3
  mkdir -p "$dst/train" "$dst/test" "$dst/resource" "$dst/WAVE"
  local speakers
  speakers=$(awk '{print $1}' "$src/train/spk2utt" | head -n "$n")
  for f in spk2utt spk2age spk2gender; do
    [ -f "$src/train/$f" ] && grep -wF "$speakers" "$src/train/$f" > "$dst/train/$f" || true
  done
  awk 'NR==FNR {keep[$1]=1; next} keep[$2] {print $1}' <(echo "$speakers") "$src/train/utt2spk" > "$dst/utts"
  for f in utt2spk wav.scp text; do
    awk 'NR==FNR {keep[$1]=1; next} keep[$1]' "$dst/utts" "$src/train/$f" > "$dst/train/$f"
  done
  : > "$dst/test/wav.scp"; : > "$dst/test/utt2spk"; : > "$dst/test/text"
  cp "$src/resource/"* "$dst/resource/"
  for s in $speakers; do cp -r "$src/WAVE/SPEAKER$s" "$dst/WAVE/"; done
  rm "$dst/utts"
}

if [ $mode = pack ]; then
  shared=${SSLPRON_SHARED:-$repo/../shared}
  [ -d "$shared/speechocean762-mini" ] || { echo "gpu-check: --pack needs the mini corpus at \$SSLPRON_SHARED/speechocean762-mini" >&2; exit 2; }
  # burn-cuda builds LLVM in through tracel-llvm-bundler; this installs it from PyPI (no bundler download).
  eval "$(bash "$repo/scripts/llvm-for-cuda.sh")"
  target=${CARGO_TARGET_DIR:-$repo/target}
  (cd "$repo" && cargo build --release -p trainer --features cuda --example gpu_check)
  rm -rf "$pack" && mkdir -p "$pack/bin"
  cp "$target/release/examples/gpu_check" "$pack/bin/"
  strip "$pack/bin/"*
  # A CUDA build is ~140 MB stripped (Burn, CubeCL and a static LLVM), ~32 MB as xz: one binary fits the
  # device tool's 64 MiB carry beside the repository; the trainer and CLI binaries would not.
  echo "gpu-check: compressing (about two minutes)" >&2
  tar -C "$pack" -cf - bin | xz -T2 -9 > "$pack/bin.tar.xz" && rm -r "$pack/bin"
  subset_corpus "$shared/speechocean762-mini" "$pack/data" 4
  du -sh "$pack"/*
  exit 0
fi

out=${out:-$(mktemp -d /tmp/gpu-check.XXXX)}
mkdir -p "$out"
work=$(mktemp -d /tmp/gpu-check-work.XXXX)
trap 'rm -rf "$work"' EXIT
if [ $dry = 1 ]; then
  dev=cpu big=tiny large=tiny seconds_a=2 seconds_b=4 repeats=1 epochs=2
  gpu_check=${GPU_CHECK_BIN:-}
  [ -n "$gpu_check" ] || for d in "${CARGO_TARGET_DIR:-$repo/target}/release" "${CARGO_TARGET_DIR:-$repo/target}/debug"; do
    if [ -x "$d/examples/gpu_check" ]; then gpu_check=$d/examples/gpu_check; break; fi
  done
  [ -x "$gpu_check" ] || { echo "gpu-check: --dry-run needs \$GPU_CHECK_BIN or target/{release,debug}/examples/gpu_check (cargo build -p trainer --example gpu_check): ${gpu_check:-none found}" >&2; exit 2; }
  if [ -n "$from" ]; then data=$from/data; else
    shared=${SSLPRON_SHARED:-$repo/../shared}
    [ -d "$shared/speechocean762-mini" ] || { echo "gpu-check: --dry-run needs --from DIR or \$SSLPRON_SHARED/speechocean762-mini" >&2; exit 2; }
    data=$work/data; subset_corpus "$shared/speechocean762-mini" "$data" 2
  fi
else
  dev=cuda big=base large=large seconds_a=5 seconds_b=20 repeats=10 epochs=10
  [ -n "$from" ] && [ -f "$from/bin.tar.xz" ] || { echo "gpu-check: give --from DIR with what --pack made (DIR/bin.tar.xz, DIR/data)" >&2; exit 2; }
  # Python's lzma where the machine has no xz.
  if command -v xz >/dev/null; then tar -C "$work" -xJf "$from/bin.tar.xz"
  else python3 -c "import sys, tarfile; tarfile.open(sys.argv[1], 'r:xz').extractall(sys.argv[2])" "$from/bin.tar.xz" "$work"; fi
  gpu_check=$work/bin/gpu_check data=$from/data
  command -v nvidia-smi >/dev/null || { echo "gpu-check: no nvidia-smi: is this a machine with an NVIDIA GPU?" >&2; exit 2; }
  # cudarc opens the driver and NVRTC at run time: put every libnvrtc / libcuda folder on the path.
  libs=$( (ls -d /usr/local/cuda*/lib64 /usr/local/cuda*/targets/*/lib /usr/local/nvidia/lib64 2>/dev/null; \
           find / -xdev \( -name 'libnvrtc.so*' -o -name 'libnvrtc-builtins.so*' \) -printf '%h\n' 2>/dev/null) | sort -u | paste -sd:)
  # cudarc asks for `libcuda.so` first, which on CUDA images is often only the toolkit's link stub
  # (CUDA_ERROR_STUB_LIBRARY): a folder of our own, first on the path, names the driver's real one.
  real=$( (ls /usr/local/nvidia/lib64/libcuda.so.1 2>/dev/null; ldconfig -p | awk '/libcuda\.so\.1 / {print $NF}') | grep -v stubs | head -1)
  mkdir -p "$work/lib" && [ -n "$real" ] && ln -sf "$real" "$work/lib/libcuda.so"
  libs=$(echo "$libs" | tr ':' '\n' | grep -v stubs | paste -sd:)
  export LD_LIBRARY_PATH=$work/lib:$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  echo "gpu-check: driver library ${real:-not found}; LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
fi
echo "gpu-check: device $dev, binary $gpu_check, corpus $data, results $out"

gpu_name=cpu gpu_driver=""
if [ $dev = cuda ]; then
  gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)
  gpu_driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1)
fi

# Runs a named step: its command's stdout to OUT/NAME.out, stderr to OUT/NAME.log; wall time and, on
# CUDA, the peak of nvidia-smi's memory.used above the idle level while it ran, to OUT/steps.tsv.
mem_base=0
[ $dev = cuda ] && mem_base=$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits | head -1)
: > "$out/steps.tsv"
step() {
  local name=$1; shift
  local sampler="" t0 t1 rc=0
  if [ $dev = cuda ]; then
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 > "$work/$name.mem" 2>/dev/null &
    sampler=$!
  fi
  echo "gpu-check: $name: $*" >&2
  t0=$(date +%s.%N)
  "$@" > "$out/$name.out" 2> "$out/$name.log" < /dev/null || rc=$?
  t1=$(date +%s.%N)
  local peak=0
  if [ -n "$sampler" ]; then
    kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
    peak=$(sort -n "$work/$name.mem" | tail -1); peak=$(( ${peak:-0} - mem_base ))
  fi
  printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$(awk "BEGIN {print $t1 - $t0}")" "$peak" >> "$out/steps.tsv"
  [ $rc = 0 ] || { echo "gpu-check: $name failed (exit $rc); last lines of $out/$name.log:" >&2; tail -5 "$out/$name.log" >&2; }
  return 0
}

# No step may eat the session: each program gets a time limit (seconds).
limit=${GPU_CHECK_STEP_LIMIT:-240}
step parity timeout $limit "$gpu_check" parity $dev $big $seconds_a
recipe=(--device $dev --data "$data" --preset tiny --batch-size 4 --lr 1e-3 --head-bias-label-mean)
train() { timeout $limit "$gpu_check" trainer "${recipe[@]}" "$@"; }
step train_general train --strategy general --epochs $epochs --output "$work/general"
step train_freeze train --strategy freeze --epochs $epochs --output "$work/freeze"
step train_ctc train --strategy ctc --epochs $epochs --ctc-weight 0.1 --output "$work/ctc"
for s in general freeze ctc; do cp "$work/$s/metrics.jsonl" "$out/metrics-$s.jsonl" 2>/dev/null || true; done

# Killed with SIGKILL once its first checkpoint exists, then resumed: the run must complete, and its
# weights are compared with the uninterrupted General run's (same seed and recipe).
killed_run() {
  "$gpu_check" trainer "${recipe[@]}" --strategy general --epochs $epochs --output "$work/killed" &
  local pid=$! waited=0
  while [ ! -f "$work/killed/checkpoints/latest" ] && kill -0 $pid 2>/dev/null && [ $waited -lt $((limit * 5)) ]; do
    sleep 0.2; waited=$((waited + 1))
  done
  kill -9 $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  echo "killed after checkpoint $(cat "$work/killed/checkpoints/latest" 2>/dev/null || echo none)"
  timeout $limit "$gpu_check" trainer --device $dev --resume "$work/killed"
}
step resume killed_run

# The CLI's scoring path (model folder, audio front end, scores) on a corpus clip, device and CPU.
clip=$(awk 'NR==1 {print $2}' "$data/train/wav.scp"); case $clip in /*) ;; *) clip=$data/$clip ;; esac
step cli_device timeout $limit "$gpu_check" score $dev "$work/general/model" "$clip"
step cli_cpu timeout $limit "$gpu_check" score cpu "$work/general/model" "$clip"

# Timings last: the checks of correctness above come first should the session run short.
step forward_a timeout $limit "$gpu_check" forward $dev $big $seconds_a $repeats
step forward_b timeout $limit "$gpu_check" forward $dev $big $seconds_b $repeats
step step_base timeout $limit "$gpu_check" step $dev $big 4 4 $repeats
step step_large timeout $limit "$gpu_check" step $dev $large 2 4 $(( repeats / 2 > 0 ? repeats / 2 : 1 ))

# The peer on the same GPU and shapes: transformers + torch (when the machine has them).
if [ $dev = cuda ] && python3 -c "import torch, transformers; assert torch.cuda.is_available()" 2>/dev/null; then
  step peer timeout $limit python3 "$repo/benches/gpu_peer.py" --repeats $repeats
fi

python3 - "$out" "$work" "$dev" "$gpu_name" "$gpu_driver" "$dry" <<'PY'
import json, sys, os, struct
out, work, dev, gpu, driver, dry = sys.argv[1:]
steps = {}
for line in open(os.path.join(out, "steps.tsv")):
    name, rc, secs, peak = line.rstrip("\n").split("\t")
    steps[name] = {"exit": int(rc), "seconds": round(float(secs), 1), "peak_gpu_mib": int(peak)}

def last_json(name):
    try:
        lines = [l for l in open(os.path.join(out, name + ".out")) if l.strip().startswith("{")]
        return json.loads(lines[-1]) if lines else None
    except OSError:
        return None

def metrics(run):
    try:
        rows = [json.loads(l) for l in open(os.path.join(work, run, "metrics.jsonl")) if l.strip()]
    except OSError:
        return None
    return rows

def safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        body = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__" or v["dtype"] != "F32":
            continue
        a, b = v["data_offsets"]
        out[k] = struct.unpack("<%df" % ((b - a) // 4), body[a:b])
    return out

rows, ok = [], True
def row(what, value, passed, note=""):
    global ok
    ok = ok and passed is not False
    rows.append((what, value, {True: "ok", False: "FAIL", None: "-"}[passed], note, steps.get(note, {})))

p = last_json("parity")
if p:
    # Relative to the largest activation: CubeCL's tensor-core matmuls read f32 inputs as TF32 (10-bit
    # mantissa), which moves a 12-layer base model's last hidden state by ~5e-4 of its range.
    rel = p["max_abs_diff_hidden"] / max(p["max_abs_hidden"], 1e-12)
    row("forward parity vs CPU: max |diff| hidden (relative to max |h|); scores",
        f'{p["max_abs_diff_hidden"]:.2e} ({rel:.1e} of {p["max_abs_hidden"]:.2f}); scores {p["max_abs_diff_scores"]:.2e}',
        p["finite"] and rel <= 1e-3 and p["max_abs_diff_scores"] <= 1e-3, "parity")
else:
    row("forward parity vs CPU", "no result", False, "parity")
peer = last_json("peer") or {}
def vs_peer(ours, key):
    theirs = peer.get(key)
    return f"; torch {theirs:.1f} ms, ratio torch/sslpron {theirs / ours:.2f}x" if theirs else ""
for key, peer_key in (("forward_a", "forward_base_5s_ms"), ("forward_b", "forward_base_20s_ms")):
    f = last_json(key)
    row(f'forward {f["preset"]} {f["seconds"]:.0f} s' if f else key,
        f'{f["median_ms"]:.1f} ms (RTF {f["rtf"]:.4f}){vs_peer(f["median_ms"], peer_key)}' if f else "no result", bool(f), key)
for key, peer_key in (("step_base", "step_base_4x4s_ms"), ("step_large", "step_large_2x4s_ms")):
    s = last_json(key)
    row(f'train step {s["preset"]} {s["batch"]} x {s["seconds"]:.0f} s' if s else key,
        f'{s["median_ms"]:.1f} ms (loss {s["first_loss"]:.2f} -> {s["last_loss"]:.2f}){vs_peer(s["median_ms"], peer_key)}' if s else "no result", bool(s), key)
for run in ("general", "freeze", "ctc"):
    m = metrics(run)
    key = "train_" + run
    if m:
        first, last = m[0]["train_loss"], m[-1]["train_loss"]
        ctc = f', phone ctc {m[0]["train_ctc_loss"]:.2f} -> {m[-1]["train_ctc_loss"]:.2f}' if m[-1].get("train_ctc_loss") is not None else ""
        row(f"train {run}, tiny, {len(m)} epochs", f"loss {first:.3f} -> {last:.3f}{ctc}", last < first and steps[key]["exit"] == 0, key)
    else:
        row(f"train {run}", "no metrics", False, key)
try:
    a = safetensors(os.path.join(work, "general", "model", "model.safetensors"))
    b = safetensors(os.path.join(work, "killed", "model", "model.safetensors"))
    diff = max(max(abs(x - y) for x, y in zip(a[k], b[k])) for k in a)
    log = open(os.path.join(out, "resume.out")).read().strip().splitlines()
    # On the CPU a resumed run must end bit-identical (trainer/tests/resume.rs); GPU reductions are not
    # deterministic from run to run, so there the difference is reported, not judged.
    row("SIGKILL + --resume vs uninterrupted (max |diff| of weights)", f"{diff:.2e} ({log[0] if log else ''})",
        steps["resume"]["exit"] == 0 and (dev != "cpu" or diff == 0), "resume")
except (OSError, KeyError, ValueError) as e:
    row("SIGKILL + --resume", f"failed: {e}", False, "resume")
try:
    d, c = (json.loads(open(os.path.join(out, n + ".out")).read().strip().splitlines()[0]) for n in ("cli_device", "cli_cpu"))
    names = ("accuracy", "fluency", "prosody", "total")
    diff = max(abs(d[n] - c[n]) for n in names)
    row(f"scoring a clip (CLI path) on {dev} vs cpu (max |diff|)", f"{diff:.2e}", diff <= 1e-3, "cli_device")
except (OSError, KeyError, ValueError, IndexError) as e:
    row("sslpron score on the device", f"failed: {e}", False, "cli_device")

total = sum(s["seconds"] for s in steps.values())
title = f"GPU check on {gpu} (driver {driver})" if dev == "cuda" else "GPU check, dry run on the CPU (small sizes)"
print(f"\n{title}\n")
print("| check | result | pass | wall s | peak GPU MiB |\n|---|---|---|---|---|")
for what, value, passed, key, s in rows:
    print(f'| {what} | {value} | {passed} | {s.get("seconds", "")} | {s.get("peak_gpu_mib", "") if dev == "cuda" else "-"} |')
print(f"\ntotal {total:.0f} s; {'all passed' if ok else 'SOME CHECKS FAILED'}")
json.dump({"device": dev, "gpu": gpu, "driver": driver, "dry_run": dry == "1", "passed": ok, "total_seconds": total, "steps": steps,
           "rows": [{"check": w, "result": v, "pass": p, "step": k} for w, v, p, k, _ in rows],
           "raw": {k: last_json(k) for k in ("parity", "forward_a", "forward_b", "step_base", "step_large", "peer")}},
          open(os.path.join(out, "gpu-check.json"), "w"), indent=1)
sys.exit(0 if ok else 1)
PY
