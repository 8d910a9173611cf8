#!/usr/bin/env python3
"""Side-by-side CPU forward benchmark: sslpron (Burn, flex device) vs its peers — transformers (torch
CPU) and ONNX Runtime (CPU execution provider, the same model exported with torch.onnx) — and, with
`--baseline REV`, vs sslpron as of another commit.

Every side runs the same randomly initialised base-size model (transformers' default config: hidden 768,
12 layers, plus the seed's General head) on the same audio, with the same number of threads, back to back
in one run: for each family and clip length, `--rounds` alternations of every side's repeats. Prints the
median of each and the ratio peer / sslpron (> 1 means sslpron is faster), and a Markdown table at the end.

    python benches/forward_cpu.py --threads 2 --families wav2vec2,hubert,wavlm --seconds 5,20 \
        --peers torch,onnxruntime --baseline 58d1930

Needs the fixture venv (tests/fixtures/requirements.txt) plus `onnx onnxscript onnxruntime` for the ONNX
Runtime peer, and release builds of the example (`cargo build --release -p sslpron-cli --example
bench_forward`, done by this script; for `--baseline`, in a git worktree of REV under the same target
directory, `CARGO_TARGET_DIR` or ./target).
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from safetensors.torch import save_file
from transformers import HubertConfig, HubertModel, Wav2Vec2Config, Wav2Vec2Model, WavLMConfig, WavLMModel

ROOT = Path(__file__).resolve().parent.parent
FAMILIES = {
    "wav2vec2": (Wav2Vec2Config, Wav2Vec2Model),
    "hubert": (HubertConfig, HubertModel),
    "wavlm": (WavLMConfig, WavLMModel),
}


def make_model(family, out_dir):
    config_cls, model_cls = FAMILIES[family]
    torch.manual_seed(0)
    config = config_cls()  # transformers' defaults are the base size: hidden 768, 12 layers, 12 heads
    model = model_cls(config).eval()
    head = torch.nn.Linear(config.hidden_size, 4)
    state = {f"model.{k}": v.contiguous() for k, v in model.state_dict().items()}
    state.update({"score_predictor.weight": head.weight.detach(), "score_predictor.bias": head.bias.detach()})
    out_dir.mkdir(parents=True, exist_ok=True)
    save_file(state, str(out_dir / "model.safetensors"))
    config.to_json_file(str(out_dir / "config.json"))
    return model, head


def make_audio(seconds, path):
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * 16000)) / 16000
    # Speech-like enough for timing: a few harmonics with a slow envelope plus noise.
    signal = sum(np.sin(2 * np.pi * f * t) / k for k, f in enumerate([140, 280, 420, 1100], start=1))
    signal = 0.3 * signal * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)) + 0.01 * rng.standard_normal(t.size)
    sf.write(str(path), signal.astype(np.float32), 16000, subtype="PCM_16")
    data, _ = sf.read(str(path), dtype="float32")
    return data


def time_torch(model, head, audio, repeats):
    x = torch.from_numpy((audio - audio.mean()) / np.sqrt(audio.var() + 1e-7))[None].float()
    times = []
    with torch.no_grad():
        for i in range(repeats + 1):
            start = time.perf_counter()
            head(model(x).last_hidden_state.mean(1))
            if i > 0:  # first run is the warm-up, as on our side
                times.append((time.perf_counter() - start) * 1e3)
    return times


class ScoreModel(torch.nn.Module):
    """Encoder + the seed's General head, as one graph for the ONNX export."""

    def __init__(self, model, head):
        super().__init__()
        self.model, self.head = model, head

    def forward(self, input_values):
        return self.head(self.model(input_values).last_hidden_state.mean(1))


def onnx_session(model, head, path, threads):
    """ONNX Runtime session of the same model (the positional conv's weight norm baked into a plain
    weight, same values), CPU provider, `threads` intra-op threads, full graph optimisation."""
    import onnxruntime as ort
    from torch.nn.utils import parametrize

    conv = model.encoder.pos_conv_embed.conv
    if parametrize.is_parametrized(conv):
        parametrize.remove_parametrizations(conv, "weight", leave_parametrized=True)
    torch.onnx.export(
        ScoreModel(model, head).eval(), (torch.randn(1, 16000 * 2),), str(path),
        input_names=["input_values"], output_names=["scores"],
        dynamic_axes={"input_values": {0: "batch", 1: "samples"}}, opset_version=18, dynamo=False,
    )
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def time_onnx(session, audio, repeats):
    x = ((audio - audio.mean()) / np.sqrt(audio.var() + 1e-7))[None].astype(np.float32)
    times = []
    for i in range(repeats + 1):
        start = time.perf_counter()
        session.run(None, {"input_values": x})
        if i > 0:
            times.append((time.perf_counter() - start) * 1e3)
    return times


def target_dir():
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def build_bench(tree, out):
    """Builds the bench_forward example of the source tree `tree` and copies it to `out`."""
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "sslpron-cli", "--example", "bench_forward"],
                   cwd=tree, check=True)
    shutil.copy(target_dir() / "release" / "examples" / "bench_forward", out)
    return out


def baseline_binary(rev, tmp):
    """bench_forward as of commit `rev`, built in a temporary git worktree."""
    tree = tmp / f"baseline-{rev}"
    subprocess.run(["git", "worktree", "add", "--detach", "-q", str(tree), rev], cwd=ROOT, check=True)
    try:
        return build_bench(tree, tmp / f"bench_forward-{rev}")
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)


def time_ours(binary, model_dir, clip, repeats, env):
    out = subprocess.run([str(binary), str(model_dir), str(clip), str(repeats)],
                         env=env, check=True, capture_output=True, text=True).stdout
    result = json.loads(out)
    return result["times_ms"], result["load_ms"]


def summary(times):
    return statistics.median(times), min(times), max(times)


def comma_list(kind):
    return lambda text: [kind(v) for v in text.split(",") if v]


def cpu_name():
    try:
        return next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--families", type=comma_list(str), default=list(FAMILIES))
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--seconds", type=comma_list(float), default=[2.0, 5.0, 20.0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per round and side")
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternations of the sides per case (a shared VM's speed drifts)")
    parser.add_argument("--peers", type=comma_list(str), default=["torch", "onnxruntime"],
                        help="torch, onnxruntime (either or both, or none with an empty list)")
    parser.add_argument("--baseline", metavar="REV",
                        help="also time sslpron as of this commit (e.g. the one before a change), or a "
                             "bench_forward binary built from it (named bench_forward-REV)")
    args = parser.parse_args()
    unknown = [f for f in args.families if f not in FAMILIES]
    if unknown:
        parser.error(f"unknown families {unknown}; choose from {sorted(FAMILIES)}")
    unknown = [p for p in args.peers if p not in ("torch", "onnxruntime")]
    if unknown:
        parser.error(f"unknown peers {unknown}; choose from torch, onnxruntime")

    torch.set_num_threads(args.threads)
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sides = []  # (name, time(family_state, clip, audio) -> times)
        if args.baseline:
            # A bench_forward binary built earlier (named bench_forward-REV), or a commit to build.
            prebuilt = Path(args.baseline)
            base = prebuilt if prebuilt.is_file() else baseline_binary(args.baseline, tmp)
            label = prebuilt.name.removeprefix("bench_forward-") if prebuilt.is_file() else args.baseline
            sides.append((f"sslpron@{label}", lambda st, clip, audio: time_ours(base, st["dir"], clip, args.repeats, env)[0]))
        binary = build_bench(ROOT, tmp / "bench_forward")
        if "torch" in args.peers:
            sides.append(("torch", lambda st, clip, audio: time_torch(st["model"], st["head"], audio, args.repeats)))
        if "onnxruntime" in args.peers:
            import onnxruntime
            sides.append(("onnxruntime", lambda st, clip, audio: time_onnx(st["onnx"], audio, args.repeats)))

        versions = f"torch {torch.__version__}" + (f", onnxruntime {onnxruntime.__version__}" if "onnxruntime" in args.peers else "")
        print(f"{args.threads} thread(s), {args.rounds} rounds x {args.repeats} runs after a warm-up per side, {cpu_name()}, "
              f"{versions}, {time.strftime('%Y-%m-%d %H:%M')}", flush=True)
        rows = []
        for family in args.families:
            model, head = make_model(family, tmp / family)
            state = {"dir": tmp / family, "model": model, "head": head}
            if "onnxruntime" in args.peers:
                state["onnx"] = onnx_session(model, head, tmp / f"{family}.onnx", args.threads)
            for seconds in args.seconds:
                clip = tmp / f"clip-{seconds:g}s.wav"
                audio = make_audio(seconds, clip)
                ours_times, loads = [], []
                side_times = {name: [] for name, _ in sides}
                for _ in range(args.rounds):
                    times, load_ms = time_ours(binary, tmp / family, clip, args.repeats, env)
                    ours_times += times
                    loads.append(load_ms)
                    for name, run in sides:
                        side_times[name] += run(state, clip, audio)
                ours = summary(ours_times)
                ratios = {name: summary(t)[0] / ours[0] for name, t in side_times.items()}
                rows.append((family, seconds, ours, {n: summary(t) for n, t in side_times.items()}, ratios))
                line = f"{family:8} {seconds:4g} s  sslpron {ours[0]:8.1f} ms (min {ours[1]:.1f}, max {ours[2]:.1f}; load {statistics.median(loads):.0f} ms)"
                for name, t in side_times.items():
                    m = summary(t)
                    line += f"  {name} {m[0]:.1f} ms (min {m[1]:.1f}) -> {ratios[name]:.2f}x"
                print(line, flush=True)
            del model, head, state

    names = [name for name, _ in sides]
    print("\n| family (base) | audio | sslpron | " + " | ".join(names) + " | " + " | ".join(f"ratio {n} / sslpron" for n in names) + " |")
    print("|---|---|---|" + "---|" * (2 * len(names)))
    for family, seconds, ours, theirs, ratios in rows:
        cells = [f"{theirs[n][0]:.0f} ms" for n in names] + [f"**{ratios[n]:.2f}x**" for n in names]
        print(f"| {family} | {seconds:g} s | {ours[0]:.0f} ms | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    sys.exit(main())
