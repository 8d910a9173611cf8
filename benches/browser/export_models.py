#!/usr/bin/env python3
"""Models for the browser benchmark (bench.mjs): one random base-size model of a family, in both runtimes' formats.

    /work/pyenv/bin/python benches/browser/export_models.py [--family wav2vec2] [--out benches/browser/models]

Writes OUT/<family>/hf/ (config.json, preprocessor_config.json, model.safetensors in the seed layout:
`sslpron convert` input) and OUT/<family>/onnx-js/ in transformers.js' local layout: config.json,
preprocessor_config.json, onnx/model.onnx (fp32, torch.onnx.export of the same *Model) and
onnx/model_quantized.onnx (onnxruntime's dynamic int8 quantisation: transformers.js' `q8`).
The sslpron web models are made from hf/ by `sslpron convert` (bench.mjs does it).
Needs torch, transformers, onnx, onnxscript, onnxruntime (not the test requirements: a benchmark tool).
"""
import argparse
import json
import shutil
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from forward_cpu import FAMILIES, make_model  # noqa: E402

PREPROCESSOR = {
    "do_normalize": True, "feature_extractor_type": "Wav2Vec2FeatureExtractor", "feature_size": 1,
    "padding_side": "right", "padding_value": 0.0, "return_attention_mask": False, "sampling_rate": 16000,
}


class Encoder(torch.nn.Module):
    """The encoder alone, returning last_hidden_state (what transformers.js' *Model session returns)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_values):
        return self.model(input_values).last_hidden_state


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", choices=sorted(FAMILIES), default="wav2vec2")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "models")
    args = parser.parse_args()
    hf = args.out / args.family / "hf"
    model, _ = make_model(args.family, hf)
    (hf / "preprocessor_config.json").write_text(json.dumps(PREPROCESSOR, indent=2))
    js = args.out / args.family / "onnx-js"
    (js / "onnx").mkdir(parents=True, exist_ok=True)
    for name in ["config.json", "preprocessor_config.json"]:
        shutil.copy(hf / name, js / name)
    # Bake the positional conv's weight norm into a plain weight (same values): the quantiser needs
    # conv weights as initializers, and transformers.js' hub exports are made this way too.
    from torch.nn.utils import parametrize

    conv = model.encoder.pos_conv_embed.conv
    if parametrize.is_parametrized(conv):
        parametrize.remove_parametrizations(conv, "weight", leave_parametrized=True)
    dummy = torch.randn(1, 16000 * 5)
    torch.onnx.export(
        Encoder(model).eval(), (dummy,), str(js / "onnx" / "model.onnx"),
        input_names=["input_values"], output_names=["last_hidden_state"],
        dynamic_axes={"input_values": {0: "batch", 1: "samples"}, "last_hidden_state": {0: "batch", 1: "frames"}},
        opset_version=18, dynamo=False,
    )
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(js / "onnx" / "model.onnx"), str(js / "onnx" / "model_quantized.onnx"), weight_type=QuantType.QInt8)
    for f in sorted(js.rglob("*.onnx")):
        print(f, f.stat().st_size)


if __name__ == "__main__":
    main()
