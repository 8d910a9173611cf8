#!/usr/bin/env python3
"""The peer of scripts/gpu-check.sh's timings: transformers + torch on the same GPU, same shapes.

Randomly initialised Wav2Vec2 models of the trainer's presets (`base`: wav2vec2-base's layout, `large`:
wav2vec2-large-lv60's), the seed's General head (mean pooling, Linear(hidden, 4)), f32 with TF32 off (sslpron's
CUDA path computes in f32). Forward: one utterance, median over REPEATS after two warm-ups, read back to the
host like sslpron's. Training step: MSE, backward, global grad-norm clipping at 1.0, AdamW (eps 1e-8), in
training mode (dropout, LayerDrop, SpecAugment as the config says), as trainer::step does. One JSON line.

    python3 benches/gpu_peer.py --repeats 10
"""
import argparse
import json
import statistics
import time

import torch
from transformers import Wav2Vec2Config, Wav2Vec2Model

PRESETS = {
    "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                 feat_extract_norm="group", do_stable_layer_norm=False, conv_bias=False),
    "large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                  feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=True),
}


def make(preset, device):
    config = Wav2Vec2Config(conv_dim=[512] * 7, conv_kernel=[10, 3, 3, 3, 3, 2, 2], conv_stride=[5, 2, 2, 2, 2, 2, 2],
                            num_conv_pos_embeddings=128, num_conv_pos_embedding_groups=16, **PRESETS[preset])
    model = Wav2Vec2Model(config).to(device)
    head = torch.nn.Linear(config.hidden_size, 4).to(device)
    return model, head


def sync_ms(start):
    torch.cuda.synchronize()
    return (time.perf_counter() - start) * 1e3


def forward(preset, seconds, repeats, device):
    model, head = make(preset, device)
    model.eval()
    times = []
    with torch.inference_mode():
        for i in range(repeats + 2):
            x = torch.randn(1, int(seconds * 16000), device=device)
            start = time.perf_counter()
            head(model(x).last_hidden_state.mean(1)).cpu()
            if i >= 2:
                times.append(sync_ms(start))
    return statistics.median(times)


def step(preset, batch, seconds, repeats, device):
    model, head = make(preset, device)
    model.train()
    params = list(model.parameters()) + list(head.parameters())
    optim = torch.optim.AdamW(params, lr=1e-5, eps=1e-8, weight_decay=0.0)
    torch.cuda.reset_peak_memory_stats()
    times = []
    for i in range(repeats + 2):
        x = torch.randn(batch, int(seconds * 16000), device=device)
        y = torch.rand(batch, 4, device=device) * 10
        start = time.perf_counter()
        optim.zero_grad()
        loss = torch.nn.functional.mse_loss(head(model(x).last_hidden_state.mean(1)), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optim.step()
        loss.item()
        if i >= 2:
            times.append(sync_ms(start))
    return statistics.median(times), torch.cuda.max_memory_allocated() / 2**20


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    device = torch.device("cuda")
    out = {"torch": torch.__version__, "gpu": torch.cuda.get_device_name(0), "tf32": False}
    out["forward_base_5s_ms"] = forward("base", 5, args.repeats, device)
    out["forward_base_20s_ms"] = forward("base", 20, args.repeats, device)
    out["step_base_4x4s_ms"], out["step_base_peak_mib"] = step("base", 4, 4, args.repeats, device)
    out["step_large_2x4s_ms"], out["step_large_peak_mib"] = step("large", 2, 4, max(args.repeats // 2, 1), device)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
