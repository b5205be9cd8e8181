#!/usr/bin/env bash
# Data-parallel scaling on this machine: the MNIST and CIFAR-10 samples' seed CNNs trained by
# 1 rank x 1 thread, 2 ranks x 1 thread (mpirun, --distributed) and 1 rank x 2 threads, same global batch (64),
# same epochs, one after another in the same run. Prints a markdown table.
#   bash benchmarks/mpi/scaling.sh [mnist epochs] [cifar epochs]      (default 1 and 3)
# Needs openmpi-bin and the data sets (see ../shared/datasets/README.md; CIFAR-10 as binary batches).
set -euo pipefail
cd "$(dirname "$0")/../.."
mnist_epochs=${1:-1}
cifar_epochs=${2:-3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
dotnet build -c Release samples/Mnist >/dev/null
dotnet build -c Release samples/Cifar10 >/dev/null
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run() { # name, configuration, command...
    local name=$1 config=$2
    shift 2
    "$@" --out "$(mktemp -d)" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
    local epoch samples accuracy
    epoch=$(grep -o 'time per epoch: [0-9.]* s' "$log" | grep -o '[0-9.]*')
    samples=$(grep -o '[0-9]* samples/s' "$log" | grep -o '[0-9]*')
    accuracy=$(grep -o 'test accuracy: [0-9.]*' "$log" | grep -o '[0-9.]*$')
    printf '| %s | %s | %s s | %s | %s |\n' "$name" "$config" "$epoch" "$samples" "$accuracy"
}

echo "| model | configuration | time per epoch | samples/s | test accuracy |"
echo "|---|---|---:|---:|---:|"
for sample in Mnist Cifar10; do
    dll=samples/$sample/bin/Release/net10.0/$sample.dll
    epochs=$([ "$sample" = Mnist ] && echo "$mnist_epochs" || echo "$cifar_epochs")
    name="$sample seed, $epochs epoch(s)"
    run "$name" "1 rank x 1 thread" env LEPTON_NUM_THREADS=1 dotnet "$dll" --epochs "$epochs"
    run "$name" "2 ranks x 1 thread" mpirun -np 2 --bind-to core dotnet "$dll" --epochs "$epochs" --distributed
    run "$name" "1 rank x 2 threads" env LEPTON_NUM_THREADS=2 dotnet "$dll" --epochs "$epochs"
done
