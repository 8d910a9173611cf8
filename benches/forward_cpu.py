#!/usr/bin/env python3
"""Side-by-side CPU forward benchmark: sslpron (Burn, flex device) vs transformers (torch CPU).

Both run the same randomly initialised base-size model (transformers' default config: hidden 768,
12 layers, plus the seed's General head) on the same audio, with the same number of threads, back to back
in one run: for each family and clip length, sslpron's repeats, then transformers'. Prints the median of
each and the ratio torch / sslpron (> 1 means sslpron is faster), and a Markdown table at the end.

    python benches/forward_cpu.py --threads 2 --families wav2vec2,hubert,wavlm --seconds 2,5,20 --repeats 5

Needs the fixture venv (tests/fixtures/requirements.txt) and a release build of the example
(`cargo build --release -p sslpron-cli --example bench_forward`, done by this script).
"""
import argparse
import json
import os
import platform
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
                        help="alternations sslpron / transformers per case (a shared VM's speed drifts)")
    args = parser.parse_args()
    unknown = [f for f in args.families if f not in FAMILIES]
    if unknown:
        parser.error(f"unknown families {unknown}; choose from {sorted(FAMILIES)}")

    torch.set_num_threads(args.threads)
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "sslpron-cli", "--example", "bench_forward"],
                   cwd=ROOT, check=True)
    binary = ROOT / "target" / "release" / "examples" / "bench_forward"

    print(f"{args.threads} thread(s), {args.rounds} rounds x {args.repeats} runs after a warm-up per side, {cpu_name()}, "
          f"torch {torch.__version__}, {time.strftime('%Y-%m-%d %H:%M')}", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for family in args.families:
            model, head = make_model(family, tmp / family)
            for seconds in args.seconds:
                clip = tmp / f"clip-{seconds:g}s.wav"
                audio = make_audio(seconds, clip)
                ours_times, theirs_times, loads = [], [], []
                for _ in range(args.rounds):
                    times, load_ms = time_ours(binary, tmp / family, clip, args.repeats, env)
                    ours_times += times
                    loads.append(load_ms)
                    theirs_times += time_torch(model, head, audio, args.repeats)
                ours, theirs = summary(ours_times), summary(theirs_times)
                ratio = theirs[0] / ours[0]
                rows.append((family, seconds, ours, theirs, ratio))
                print(f"{family:8} {seconds:4g} s  sslpron {ours[0]:8.1f} ms (min {ours[1]:.1f}, max {ours[2]:.1f}; "
                      f"load {statistics.median(loads):.0f} ms)  torch {theirs[0]:8.1f} ms (min {theirs[1]:.1f}, "
                      f"max {theirs[2]:.1f})  ratio torch/sslpron {ratio:.2f}x", flush=True)
            del model, head

    print("\n| family (base) | audio | sslpron | transformers | ratio torch / sslpron |")
    print("|---|---|---|---|---|")
    for family, seconds, ours, theirs, ratio in rows:
        print(f"| {family} | {seconds:g} s | {ours[0]:.0f} ms | {theirs[0]:.0f} ms | **{ratio:.2f}x** |")


if __name__ == "__main__":
    sys.exit(main())
