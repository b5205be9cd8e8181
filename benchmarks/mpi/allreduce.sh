#!/usr/bin/env bash
# All-reduce bandwidth of our MPI binding beside Open MPI's own C call, same ranks, same run.
#   bash benchmarks/mpi/allreduce.sh [ranks]        (default 2; needs openmpi-bin and libopenmpi-dev)
# Prints a markdown table: message size, then time and algorithm bandwidth (bytes / time) of each.
set -euo pipefail
cd "$(dirname "$0")/../.."
ranks=${1:-2}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 LEPTON_NUM_THREADS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mpicc -O2 -o "$work/allreduce" benchmarks/mpi/allreduce.c
dotnet build -c Release benchmarks/Lepton.Benchmarks >/dev/null
mpirun -np "$ranks" "$work/allreduce" >"$work/c.txt"
# (TERM=dumb keeps .NET from writing a terminal control sequence before the first line.)
mpirun -np "$ranks" -x TERM=dumb dotnet benchmarks/Lepton.Benchmarks/bin/Release/net10.0/Lepton.Benchmarks.dll --allreduce >"$work/ours.txt"
echo "| message | Open MPI (C) | Open MPI (C) GB/s | ours (Distributed.AllReduce) | ours GB/s | ours / C |"
echo "|---:|---:|---:|---:|---:|---:|"
LC_ALL=C join <(LC_ALL=C sort -k1,1 "$work/c.txt") <(LC_ALL=C sort -k1,1 "$work/ours.txt") | sort -n -k1,1 | awk '{
    b = $1; c = $2; o = $3;
    size = b >= 1048576 ? sprintf("%d MB", b / 1048576) : sprintf("%d KB", b / 1024);
    printf "| %s | %.1f us | %.2f | %.1f us | %.2f | %.2f |\n", size, c, b / c / 1000, o, b / o / 1000, c / o
}'
