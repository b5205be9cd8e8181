#!/usr/bin/env python3
"""Head-to-head: Lepton.Tensor against PyTorch (and OpenBLAS for SGEMM) on this machine.

One command:  /usr/bin/python3 benchmarks/compare/run.py  [--repeats 3] [--threads 1,2] [--quick]

It installs the peers if missing (Debian's python3-torch, libopenblas0-pthread), builds our side,
converts CIFAR-10 to its binary form if needed, checks that both sides compute the same thing
(parameter counts equal, losses fall comparably, SGEMM results agree), then runs every workload
interleaved (ours, theirs, ours, theirs, ...) at each thread count and prints two markdown tables of
medians: best against best (each side at its fastest thread count: PyTorch 1.13 often runs slower on
two threads than on one on a small machine) and one row per thread count. Speed-up = how many times
faster we are (the peer's time over ours, or our rate over the peer's). Both sides time the same work:
the MNIST epoch and the CIFAR steps are training only, without evaluation.
Peers run with OPENBLAS_L2_SIZE removed and OPENBLAS_CORETYPE set to whichever OpenBLAS kernel is
fastest on this machine (measured first: OpenBLAS's own choice, which on CPUs newer than it knows is
its generic SSE3 kernel, against its AVX-512 and AVX2 kernels)."""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
COMPARE = os.path.join(HERE, "Lepton.Compare")
OUT = os.path.join(ROOT, "artifacts", "compare")
CIFAR_BIN = os.path.expanduser("~/.cache/lepton/cifar-10-batches-bin")


def sh(cmd, env=None):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout


def ensure_peers():
    probe = subprocess.run(["/usr/bin/python3", "-c", "import torch"], capture_output=True)
    if probe.returncode != 0 or not os.path.exists("/usr/lib/x86_64-linux-gnu/libopenblas.so.0"):
        print("installing python3-torch and libopenblas0-pthread ...", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "python3-torch", "python3-numpy", "python3-pil", "libopenblas0-pthread"], check=True)
    if not os.path.exists(os.path.join(CIFAR_BIN, "test_batch.bin")):
        print("converting CIFAR-10 to the binary layout ...", flush=True)
        sh(["/usr/bin/python3", os.path.join(ROOT, "..", "shared", "datasets", "cifar10", "to-binary.py"), CIFAR_BIN])


def build():
    sh(["dotnet", "publish", COMPARE, "-c", "Release", "-o", OUT, "--nologo"])


CORETYPE = None  # the OpenBLAS kernel the peers run with; None lets OpenBLAS pick


def peer_env(threads, coretype=""):
    coretype = CORETYPE if coretype == "" else coretype
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env.update(OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    return env


def choose_coretype():
    """Gives the peers their best OpenBLAS kernel: times SGEMM at n = 512 and 1024 (one thread) under
    OpenBLAS's own choice and under each x86 kernel it ships, and keeps the fastest."""
    best, best_rate = None, 0.0
    for coretype in (None, "SkylakeX", "Cooperlake", "Haswell", "Zen"):
        env = dict(peer_env(1, coretype), OPENBLAS_VERBOSE="2")
        rates, core = [], "?"
        for n in ("512", "1024"):
            for _ in range(2):
                done = subprocess.run([os.path.join(OUT, "Lepton.Compare"), "sgemm-openblas", n], check=True,
                                      capture_output=True, text=True, env=env)
                core = next((line.split(":", 1)[1].strip() for line in done.stderr.splitlines()
                             if line.startswith("Core:")), core)
                rates.append(json.loads(done.stdout.strip().splitlines()[-1])["gflops"])
        rate = statistics.median(rates)
        print(f"OpenBLAS with OPENBLAS_CORETYPE={coretype or '(unset)'}: kernel {core}, {rate:.1f} GFLOP/s", flush=True)
        if rate > best_rate:
            best, best_rate = coretype, rate
    return best


def ours(workload, threads, *extra):
    env = dict(os.environ, LEPTON_NUM_THREADS=str(threads))
    return json.loads(sh([os.path.join(OUT, "Lepton.Compare"), workload, *extra], env).strip().splitlines()[-1])


def theirs(workload, threads, *extra):
    if workload.startswith("int8-"):
        # PyTorch's int8 on each quantized engine it supports; the fastest engine counts.
        run = json.loads(sh(["/usr/bin/python3", os.path.join(HERE, "torch_int8_peer.py"), workload[5:], "--threads", str(threads)], peer_env(threads)).strip().splitlines()[-1])
        engines = {k: v for k, v in run.items() if isinstance(v, dict) and k != "float32"}
        return {"latency_ms": min(e["latency_ms"] for e in engines.values()), "throughput": max(e["throughput"] for e in engines.values()),
                "engines": engines, "float32": run["float32"], "params": run["params"]}
    if workload == "sgemm":
        return json.loads(sh([os.path.join(OUT, "Lepton.Compare"), "sgemm-openblas", *extra], peer_env(threads)).strip().splitlines()[-1])
    return json.loads(sh(["/usr/bin/python3", os.path.join(HERE, "torch_peer.py"), workload, *extra, "--threads", str(threads)], peer_env(threads)).strip().splitlines()[-1])


def check_same(name, a, b):
    problems = []
    if "params" in a and a["params"] != b["params"]:
        problems.append(f"parameter counts differ: {a['params']} vs {b['params']}")
    for side, r in (("ours", a), ("theirs", b)):
        if "first_loss" in r and not r["last_loss"] < 0.9 * r["first_loss"]:
            problems.append(f"{side}: loss did not fall ({r['first_loss']:.3f} -> {r['last_loss']:.3f})")
    if "first_loss" in a and not (0.5 < a["last_loss"] / b["last_loss"] < 2.0):
        problems.append(f"final losses not comparable: {a['last_loss']:.3f} vs {b['last_loss']:.3f}")
    if "max_abs_diff_vs_ours" in b and b["max_abs_diff_vs_ours"] > 1e-3 * b["n"] ** 0.5:
        problems.append(f"SGEMM results differ by {b['max_abs_diff_vs_ours']}")
    if problems:
        raise SystemExit(f"{name}: the two sides do not compute the same thing: " + "; ".join(problems))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--quick", action="store_true", help="skip the MNIST epoch (the slowest workload)")
    parser.add_argument("--only", default="", help="comma-separated workload names to run (e.g. mnist-epoch,cifar-steps,lstm)")
    parser.add_argument("--coretype", default=None, help="OpenBLAS kernel for the peers (e.g. Cooperlake) instead of timing each one first")
    args = parser.parse_args()
    ensure_peers()
    build()
    global CORETYPE
    CORETYPE = args.coretype or choose_coretype()
    print(f"peers run with OPENBLAS_CORETYPE={CORETYPE or '(unset)'}", flush=True)
    workloads = [("sgemm", [str(n)], "gflops", "GFLOP/s") for n in (128, 256, 512, 1024)]
    workloads += [("infer-mnist", [], "latency_ms", "ms"), ("infer-mnist", [], "throughput", "img/s"),
                  ("infer-cifar", [], "latency_ms", "ms"), ("infer-cifar", [], "throughput", "img/s"),
                  ("cifar-steps", [], "seconds", "s")]
    workloads += [("int8-mnist", [], "latency_ms", "ms"), ("int8-mnist", [], "throughput", "img/s at batch 64"),
                  ("int8-cifar", [], "latency_ms", "ms"), ("int8-cifar", [], "throughput", "img/s at batch 64")]
    workloads += [("lstm", [str(units)], "ms", "ms per step") for units in (128, 512)]
    if not args.quick:
        workloads.append(("mnist-epoch", [], "seconds", "s"))
    if args.only:
        workloads = [w for w in workloads if w[0] in args.only.split(",")]
    rows = []
    for threads in [int(t) for t in args.threads.split(",")]:
        cache = {}
        for name, extra, metric, unit in workloads:
            key = (name, tuple(extra))
            if key not in cache:
                a_runs, b_runs = [], []
                for _ in range(args.repeats):
                    a_runs.append(ours(name, threads, *extra))
                    b_runs.append(theirs(name, threads, *extra))
                check_same(f"{name} {' '.join(extra)} ({threads} threads)", a_runs[0], b_runs[0])
                cache[key] = (a_runs, b_runs)
            a_runs, b_runs = cache[key]
            a = statistics.median(r[metric] for r in a_runs)
            b = statistics.median(r[metric] for r in b_runs)
            label = f"{name} {' '.join(extra)}".strip()
            rows.append((threads, label, metric, unit, a, b))
            print(f"{threads} thr  {label:18s} {metric:11s} ours {a:10.3f}  theirs {b:10.3f}  speed-up {speedup(metric, a, b):6.2f}x", flush=True)
            if name.startswith("int8-") and metric == "throughput":
                ours_float = statistics.median(r["float32_throughput"] for r in a_runs)
                engines = "; ".join(f"{e} {v['throughput']:.0f}" for e, v in b_runs[0]["engines"].items())
                print(f"           our int8 / our float32 at batch 64: {a / ours_float:.2f}x (float32 {ours_float:.0f} img/s); peer engines: {engines}", flush=True)
    print()
    print("Best against best: each side at its fastest thread count (speed-up above 1: we are faster).")
    print()
    print("| workload | metric | Lepton.Tensor (threads) | peer (threads) | speed-up |")
    print("|---|---|---:|---:|---:|")
    for label, metric, unit, (a, ta), (b, tb) in best_rows(rows):
        print(f"| {label} | {metric} ({unit}) | {a:.3f} ({ta}) | {b:.3f} ({tb}) | {speedup(metric, a, b):.2f}x |")
    print()
    print("Per thread count, both sides at the same count:")
    print()
    print("| threads | workload | metric | Lepton.Tensor | peer | speed-up |")
    print("|---:|---|---|---:|---:|---:|")
    for threads, label, metric, unit, a, b in rows:
        print(f"| {threads} | {label} | {metric} ({unit}) | {a:.3f} | {b:.3f} | {speedup(metric, a, b):.2f}x |")


RATES = ("gflops", "throughput")  # higher is better; every other metric is a time


def speedup(metric, ours_value, peer_value):
    """How many times faster we are: the peer's time over ours, or our rate over the peer's."""
    return ours_value / peer_value if metric in RATES else peer_value / ours_value


def best_rows(rows):
    """For each workload and metric, each side's best median over the thread counts, with the count that gave it."""
    best = {}
    for threads, label, metric, unit, a, b in rows:
        better = max if metric in RATES else min
        key = (label, metric, unit)
        if key not in best:
            best[key] = [(a, threads), (b, threads)]
        else:
            best[key][0] = better(best[key][0], (a, threads), key=lambda v: v[0])
            best[key][1] = better(best[key][1], (b, threads), key=lambda v: v[0])
    return [(label, metric, unit, a, b) for (label, metric, unit), (a, b) in best.items()]

if __name__ == "__main__":
    main()
