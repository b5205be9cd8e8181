#!/usr/bin/env python3
"""The PyTorch side of the head-to-head harness (run.py): the same workloads as Lepton.Compare,
printing one JSON line each. Run by run.py with /usr/bin/python3 (Debian's python3-torch) and the
OpenBLAS overrides removed, at the thread count given by --threads."""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "..", "shared", "datasets")


def mnist_cnn():
    return nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(5408, 128), nn.ReLU(), nn.Linear(128, 10))


def cifar_cnn():
    return nn.Sequential(nn.Conv2d(3, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
                         nn.Linear(1024, 64), nn.ReLU(), nn.Linear(64, 10))


def idx(path):
    import gzip
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def params(model):
    return sum(p.numel() for p in model.parameters())


def train(model, x, y, steps_limit=None):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    perm = torch.randperm(len(x))
    losses = []
    start = time.perf_counter()
    for step, i in enumerate(range(0, len(x), 64)):
        if steps_limit is not None and step >= steps_limit:
            break
        batch = perm[i:i + 64]
        opt.zero_grad()
        loss = F.cross_entropy(model(x[batch]), y[batch])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return time.perf_counter() - start, losses


def mnist_epoch():
    d = os.path.join(SHARED, "mnist")
    norm = lambda a: (torch.tensor(a, dtype=torch.float32).unsqueeze(1) / 255 - 0.1307) / 0.3081
    x, y = norm(idx(os.path.join(d, "train-images-idx3-ubyte.gz"))), torch.tensor(idx(os.path.join(d, "train-labels-idx1-ubyte.gz")), dtype=torch.long)
    xt, yt = norm(idx(os.path.join(d, "t10k-images-idx3-ubyte.gz"))), torch.tensor(idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz")), dtype=torch.long)
    model = mnist_cnn()
    seconds, losses = train(model, x, y)
    with torch.no_grad():
        accuracy = (model(xt).argmax(1) == yt).float().mean().item()
    return {"workload": "mnist-epoch", "seconds": seconds, "params": params(model), "first_loss": statistics.mean(losses[:20]),
            "last_loss": statistics.mean(losses[-100:]), "test_accuracy": accuracy}


def cifar_steps(steps=200):
    folder = os.environ.get("CIFAR_BIN", os.path.expanduser("~/.cache/lepton/cifar-10-batches-bin"))
    raw = np.fromfile(os.path.join(folder, "data_batch_1.bin"), np.uint8).reshape(-1, 3073)
    raw = np.concatenate([raw, np.fromfile(os.path.join(folder, "data_batch_2.bin"), np.uint8).reshape(-1, 3073)])[:steps * 64]
    x = torch.tensor(raw[:, 1:], dtype=torch.float32).reshape(-1, 3, 32, 32) / 255
    y = torch.tensor(raw[:, 0], dtype=torch.long)
    model = cifar_cnn()
    seconds, losses = train(model, x, y, steps)
    return {"workload": "cifar-steps", "seconds": seconds, "steps": steps, "params": params(model),
            "first_loss": statistics.mean(losses[:20]), "last_loss": statistics.mean(losses[-20:])}


def timed(model, x, reps):
    """Median seconds per call in steady state, as a served model sees it: at least 1 s and 3 calls of warm-up."""
    times = []
    with torch.no_grad():
        warm = time.perf_counter()
        for i in range(3):
            model(x).numpy()
        while time.perf_counter() - warm < 1.0:
            model(x).numpy()
        for i in range(reps):
            start = time.perf_counter()
            model(x).numpy()
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def inference(model, shape):
    model.eval()
    one, many = torch.randn(1, *shape), torch.randn(256, *shape)
    return {"workload": "inference", "params": params(model), "latency_ms": timed(model, one, 200) * 1e3, "throughput": 256 / timed(model, many, 20)}


def lstm_step(units):
    """One nn.LSTM layer's forward and backward (batch 64, 28 steps of 28 features, batch_first), loss = mean of
    the outputs; median milliseconds per step after at least 1 s of warm-up."""
    lstm = nn.LSTM(28, units, batch_first=True)
    x = torch.randn(64, 28, 28)

    def step():
        lstm.zero_grad()
        out, _ = lstm(x)
        loss = out.mean()
        loss.backward()
        return loss.item()

    warm = time.perf_counter()
    for i in range(3):
        step()
    while time.perf_counter() - warm < 1.0:
        step()
    times = []
    start = time.perf_counter()
    while time.perf_counter() - start < 3.0 or len(times) < 10:
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    return {"workload": "lstm", "units": units, "ms": statistics.median(times), "steps_timed": len(times), "params": params(lstm)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("workload")
    parser.add_argument("units", nargs="?", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    result = {"mnist-epoch": mnist_epoch, "cifar-steps": cifar_steps,
              "infer-mnist": lambda: inference(mnist_cnn(), (1, 28, 28)),
              "infer-cifar": lambda: inference(cifar_cnn(), (3, 32, 32)),
              "lstm": lambda: lstm_step(args.units)}[args.workload]()
    result["threads"] = args.threads
    print(json.dumps(result))


if __name__ == "__main__":
    main()
