#!/usr/bin/env python3
"""The peer for samples/Sequence: MNIST digits read row by row (28 steps of 28 pixels) by nn.LSTM(28, 128)
whose last output feeds nn.Linear(128, 10); Adam under a one-cycle schedule (max 3e-3, 20% warm-up),
batch 64, timed with Debian's PyTorch at a given thread count. Each epoch is timed for training alone and
with an evaluation of the test set after it (what the sample's Fit with validation does). Prints the
times, sequences/s and test accuracy.
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 benchmarks/compare/mnist_rows_lstm_torch.py --threads 1"""
import argparse
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from mnist_torch import load_mnist


class RowsLstm(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(28, 128, batch_first=True)
        self.head = nn.Linear(128, 10)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "datasets", "mnist"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(42)
    x, y, xt, yt = load_mnist(args.data)
    model = RowsLstm()
    print(f"parameters: {sum(p.numel() for p in model.parameters())}")
    steps = (len(x) + 63) // 64
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=args.epochs * steps, pct_start=0.2)
    for epoch in range(args.epochs):
        start = time.perf_counter()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 64):
            batch = perm[i:i + 64]
            opt.zero_grad()
            loss = F.cross_entropy(model(x[batch]), y[batch])
            loss.backward()
            opt.step()
            schedule.step()
        train_seconds = time.perf_counter() - start
        with torch.no_grad():
            accuracy = sum((model(xt[i:i + 500]).argmax(1) == yt[i:i + 500]).sum().item() for i in range(0, len(xt), 500)) / len(xt)
        total_seconds = time.perf_counter() - start
        print(f"torch {torch.__version__}, {args.threads} threads, epoch {epoch + 1}: training {train_seconds:.1f} s "
              f"({len(x) / train_seconds:.0f} sequences/s), with test evaluation {total_seconds:.1f} s, test accuracy {accuracy:.4f}", flush=True)


if __name__ == "__main__":
    main()
