#!/usr/bin/env python3
"""Side-by-side CPU forward benchmark: sslpron (Burn, flex device) vs transformers (torch CPU).

Both run the same randomly initialised model (a base-size Wav2Vec2 by default: hidden 768, 12 layers,
the seed's General head) on the same audio, with the same number of threads, back to back in one run.
Prints the median of each and the ratio torch / sslpron (> 1 means sslpron is faster).

    python benches/forward_cpu.py --threads 2 --seconds 10 --repeats 5

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
    return statistics.median(times), min(times), max(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", choices=sorted(FAMILIES), default="wav2vec2")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "sslpron-cli", "--example", "bench_forward"],
                   cwd=ROOT, check=True)
    binary = ROOT / "target" / "release" / "examples" / "bench_forward"

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model, head = make_model(args.family, tmp / "model")
        audio = make_audio(args.seconds, tmp / "clip.wav")
        ours_out = subprocess.run([str(binary), str(tmp / "model"), str(tmp / "clip.wav"), str(args.repeats)],
                                  env=env, check=True, capture_output=True, text=True).stdout
        ours = json.loads(ours_out)
        torch_median, torch_min, torch_max = time_torch(model, head, audio, args.repeats)

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"{args.family} base, {args.seconds:g} s audio, {args.threads} thread(s), {args.repeats} repeats, {cpu}")
    print(f"  sslpron (flex CPU)   median {ours['median_ms']:9.1f} ms  (min {ours['min_ms']:.1f}, max {ours['max_ms']:.1f})")
    print(f"  transformers (torch {torch.__version__}) median {torch_median:9.1f} ms  (min {torch_min:.1f}, max {torch_max:.1f})")
    print(f"  ratio torch/sslpron: {torch_median / ours['median_ms']:.2f}x  (> 1: sslpron faster)")


if __name__ == "__main__":
    sys.exit(main())
