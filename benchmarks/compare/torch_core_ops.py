#!/usr/bin/env python3
"""The peer side of the core-op benchmarks: the same GEMM, conv2d and softmax-cross-entropy cases as
benchmarks/Lepton.Benchmarks, timed with PyTorch (Debian's python3-torch: OpenBLAS for matmul,
oneDNN for conv). Run it beside the BenchmarkDotNet suite, at the same thread count, with
OpenBLAS free to pick its best kernel:
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 benchmarks/compare/torch_core_ops.py --threads 2
Prints median time per call and GFLOP/s."""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F


def median_seconds(fn, min_time=1.0):
    for _ in range(3):
        fn()
    times = []
    deadline = time.perf_counter() + min_time
    while time.perf_counter() < deadline or len(times) < 5:
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    print(f"torch {torch.__version__}, {args.threads} thread(s)")
    print(f"{'case':32s} {'median':>12s} {'GFLOP/s':>9s}")

    def row(name, seconds, flops=None):
        rate = f"{flops / seconds / 1e9:9.1f}" if flops else f"{'-':>9s}"
        print(f"{name:32s} {seconds * 1e6:10.1f}us {rate}")

    for n in (64, 128, 256, 512, 1024):
        a, b = torch.randn(n, n), torch.randn(n, n)
        row(f"gemm {n}", median_seconds(lambda: a @ b), 2.0 * n ** 3)

    x = torch.randn(64, 1, 28, 28, requires_grad=True)
    w = torch.randn(32, 1, 3, 3, requires_grad=True)
    flops = 2.0 * 64 * 32 * 26 * 26 * 9
    row("conv mnist1 forward", median_seconds(lambda: F.conv2d(x, w)), flops)
    y = F.conv2d(x, w)
    dy = torch.randn_like(y)
    row("conv mnist1 backward data+filter", median_seconds(lambda: torch.autograd.grad(y, (x, w), dy, retain_graph=True)), 2 * flops)

    for n, c in ((64, 10), (256, 1000)):
        logits = torch.randn(n, c, requires_grad=True)
        labels = torch.randint(0, c, (n,))
        row(f"softmax-ce {n}x{c} forward", median_seconds(lambda: F.cross_entropy(logits, labels).item()))

        def step():
            loss = F.cross_entropy(logits, labels)
            loss.backward()
            logits.grad = None
            return loss.item()

        row(f"softmax-ce {n}x{c} fwd+bwd", median_seconds(step))


if __name__ == "__main__":
    main()
