#!/usr/bin/env python3
"""The peer for samples/Mnist: the seed CNN (Conv32 3x3 relu, MaxPool 2, Dense 128 relu, Dense 10),
Adam, batch 64, one epoch on the real MNIST train set, timed with Debian's PyTorch at a given
thread count. Prints the epoch time, samples/s and test accuracy.
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 benchmarks/compare/mnist_torch.py --threads 2"""
import argparse
import gzip
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def idx(path):
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_mnist(data):
    """The four MNIST files as float32 [N, 28, 28] images standardized with MNIST's mean and std, and int64 labels:
    (train images, train labels, test images, test labels)."""
    load = lambda name: idx(os.path.join(data, name + ".gz"))
    mean, std = 0.1307, 0.3081
    images = lambda name: (torch.tensor(load(name), dtype=torch.float32) / 255 - mean) / std
    labels = lambda name: torch.tensor(load(name), dtype=torch.long)
    return (images("train-images-idx3-ubyte"), labels("train-labels-idx1-ubyte"),
            images("t10k-images-idx3-ubyte"), labels("t10k-labels-idx1-ubyte"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "datasets", "mnist"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(42)
    x, y, xt, yt = load_mnist(args.data)
    x, xt = x.unsqueeze(1), xt.unsqueeze(1)
    model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(5408, 128), nn.ReLU(), nn.Linear(128, 10))
    print(f"parameters: {sum(p.numel() for p in model.parameters())}")
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    perm = torch.randperm(len(x))
    for i in range(0, len(x), 64):
        idx_ = perm[i:i + 64]
        opt.zero_grad()
        loss = F.cross_entropy(model(x[idx_]), y[idx_])
        loss.backward()
        opt.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        accuracy = (model(xt).argmax(1) == yt).float().mean().item()
    print(f"torch {torch.__version__}, {args.threads} threads: epoch {seconds:.1f} s, {len(x) / seconds:.0f} samples/s, test accuracy {accuracy:.4f}")


if __name__ == "__main__":
    main()
