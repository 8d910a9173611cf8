#!/usr/bin/env python3
"""Side-by-side CPU training-step benchmark: sslpron's trainer step vs transformers + torch AdamW.

Same randomly initialised base-size Wav2Vec2 with the seed's General head, same batch shape (default 4 × 4 s
of noise; timing does not depend on the content), same thread count, the seed's step in both: MSE, backward,
global grad-norm clipping at 1.0, AdamW (eps 1e-8). Dropouts, LayerDrop and SpecAugment as the config says
(on, in training mode, in both). One warm-up step, then the median.

    python benches/train_step_cpu.py --threads 2 --batch 4 --seconds 4 --repeats 3
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from forward_cpu import ROOT, make_model  # noqa: E402


def time_torch(model, head, batch, samples, repeats):
    model.train()
    params = list(model.parameters()) + list(head.parameters())
    optim = torch.optim.AdamW(params, lr=1e-5, eps=1e-8, weight_decay=0.0)
    times = []
    for i in range(repeats + 1):
        x = torch.randn(batch, samples)
        y = torch.rand(batch, 4) * 10
        start = time.perf_counter()
        optim.zero_grad()
        loss = torch.nn.functional.mse_loss(head(model(x).last_hidden_state.mean(1)), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optim.step()
        if i > 0:
            times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "trainer", "--example", "bench_train_step"], cwd=ROOT, check=True)
    binary = ROOT / "target" / "release" / "examples" / "bench_train_step"
    with tempfile.TemporaryDirectory() as tmp:
        model, head = make_model("wav2vec2", Path(tmp) / "model")
        out = subprocess.run([str(binary), str(Path(tmp) / "model"), str(args.batch), str(args.seconds), str(args.repeats)],
                             env=env, check=True, capture_output=True, text=True).stdout
        ours = json.loads(out)["median_ms"]
        theirs = time_torch(model, head, args.batch, int(args.seconds * 16000), args.repeats)
    print(f"wav2vec2 base training step, batch {args.batch} x {args.seconds:g} s, {args.threads} thread(s), {args.repeats} repeats")
    print(f"  sslpron (flex CPU)      median {ours:9.1f} ms  ({1000 / ours:.3f} steps/s)")
    print(f"  torch {torch.__version__} AdamW  median {theirs:9.1f} ms  ({1000 / theirs:.3f} steps/s)")
    print(f"  ratio torch/sslpron: {theirs / ours:.2f}x  (> 1: sslpron faster)")


if __name__ == "__main__":
    sys.exit(main())
