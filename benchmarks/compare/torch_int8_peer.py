#!/usr/bin/env python3
"""The PyTorch side of the int8 inference comparison: the seed CNNs of torch_peer.py quantized with
torch.ao.quantization's post-training static quantization (conv+ReLU and linear+ReLU fused, per-channel
weights, activations calibrated on real images), timed at batch 1 (latency) and batch 64 (throughput)
beside the same model in float32. Every quantized engine this PyTorch build supports is tried and each
is reported; run.py keeps the fastest. Prints one JSON line. Run with /usr/bin/python3 (Debian's
python3-torch) and --threads."""
import argparse
import io
import json
import os

import numpy as np
import torch
import torch.ao.quantization as tq
import torch.nn as nn

from torch_peer import SHARED, cifar_cnn, idx, mnist_cnn, timed


def images(name, count):
    """Real images scaled as the samples scale them: MNIST normalized, CIFAR-10 in [0, 1]."""
    if name == "mnist":
        raw = idx(os.path.join(SHARED, "mnist", "t10k-images-idx3-ubyte.gz"))[:count]
        return (torch.tensor(raw, dtype=torch.float32).unsqueeze(1) / 255 - 0.1307) / 0.3081
    folder = os.environ.get("CIFAR_BIN", os.path.expanduser("~/.cache/lepton/cifar-10-batches-bin"))
    raw = np.fromfile(os.path.join(folder, "test_batch.bin"), np.uint8).reshape(-1, 3073)[:count]
    return torch.tensor(raw[:, 1:], dtype=torch.float32).reshape(-1, 3, 32, 32) / 255


class Quantizable(nn.Module):
    """The float model between a QuantStub and a DeQuantStub, as eager-mode quantization requires."""

    def __init__(self, body):
        super().__init__()
        self.quant, self.body, self.dequant = tq.QuantStub(), body, tq.DeQuantStub()

    def forward(self, x):
        return self.dequant(self.body(self.quant(x)))


def fusions(body):
    """Conv or Linear followed by ReLU, as index pairs of the Sequential."""
    layers = list(body)
    return [[str(i), str(i + 1)] for i in range(len(layers) - 1)
            if isinstance(layers[i], (nn.Conv2d, nn.Linear)) and isinstance(layers[i + 1], nn.ReLU)]


def quantize(body, engine, calibration):
    torch.backends.quantized.engine = engine
    model = Quantizable(body).eval()
    model.body = tq.fuse_modules(model.body, fusions(model.body))
    model.qconfig = tq.get_default_qconfig(engine)
    prepared = tq.prepare(model)
    with torch.no_grad():
        for batch in calibration.split(64):
            prepared(batch)
    return tq.convert(prepared)


def size_bytes(model):
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.tell()


def measure(model, data):
    return {"latency_ms": timed(model, data[:1], 200) * 1e3, "throughput": 64 / timed(model, data[:64], 50), "bytes": size_bytes(model)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model", choices=["mnist", "cifar"])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    data = images(args.model, 512)
    build = mnist_cnn if args.model == "mnist" else cifar_cnn
    body = build().eval()
    result = {"workload": f"int8-{args.model}", "threads": args.threads, "params": sum(p.numel() for p in body.parameters()),
              "float32": measure(body, data)}
    with torch.no_grad():
        reference = body(data[:256])
    for engine in [e for e in ("x86", "fbgemm", "onednn", "qnnpack") if e in torch.backends.quantized.supported_engines]:
        copy = build().eval()
        copy.load_state_dict(body.state_dict())
        quantized = quantize(copy, engine, data[:256])
        with torch.no_grad():
            error = (quantized(data[:256]) - reference).abs().max().item()
        result[engine] = dict(measure(quantized, data), max_abs_error=error)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
