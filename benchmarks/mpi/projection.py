#!/usr/bin/env python3
"""Projects data-parallel scaling to many machines with the ring all-reduce cost model.

Each of N machines trains on its own batch (weak scaling: the global batch grows with N). A step costs the
machine's compute time plus the part of the gradient all-reduce that backward does not hide:

    ring all-reduce of S bytes over N machines:  T_ar = 2 (N - 1) alpha + 2 (N - 1) / N * S / B
    step:                                        T    = T_compute + max(0, T_ar - hidden * T_backward)

alpha is the per-message latency of one hop, B the link bandwidth, hidden the fraction of backward that can
overlap communication (0: none, as with one bucket; 1: all of it). Measured inputs come from
Lepton.Benchmarks --data-parallel and --allreduce (see BENCHMARKS.md); link figures are assumptions.

    python3 benchmarks/mpi/projection.py --name "MNIST seed" --step-ms 5.0 --gradient-mb 2.65
"""
import argparse

LINKS = [  # name, bandwidth in bytes/s (90% of the line rate), per-hop latency in seconds
    ("25 Gbit/s Ethernet (TCP)", 25e9 / 8 * 0.9, 25e-6),
    ("100 Gbit/s InfiniBand (RDMA)", 100e9 / 8 * 0.9, 3e-6),
]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", required=True, help="the model, for the table")
    p.add_argument("--step-ms", type=float, required=True, help="one machine's compute time per step (ms)")
    p.add_argument("--gradient-mb", type=float, required=True, help="gradient size (MiB)")
    p.add_argument("--backward-fraction", type=float, default=0.6, help="share of a step spent in backward")
    p.add_argument("--batch", type=int, default=64, help="examples per machine per step")
    args = p.parse_args()

    compute = args.step_ms / 1e3
    size = args.gradient_mb * 2**20
    backward = compute * args.backward_fraction
    print(f"| {args.name}: link | machines | all-reduce | step, no overlap | step, backward hides it | samples/s (hidden) | efficiency (none / hidden) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for link, bandwidth, latency in LINKS:
        for n in (2, 4, 8, 16, 32, 64):
            allreduce = 2 * (n - 1) * latency + 2 * (n - 1) / n * size / bandwidth
            plain = compute + allreduce
            hidden = compute + max(0.0, allreduce - backward)
            print(f"| {link} | {n} | {allreduce * 1e3:.2f} ms | {plain * 1e3:.2f} ms | {hidden * 1e3:.2f} ms | "
                  f"{n * args.batch / hidden:,.0f} | {compute / plain:.0%} / {compute / hidden:.0%} |")


if __name__ == "__main__":
    main()
