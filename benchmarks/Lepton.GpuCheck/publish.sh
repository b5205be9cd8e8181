#!/usr/bin/env bash
# Publishes the GPU self-check as one self-contained, trimmed linux-x64 file (about 16 MB), small enough
# to travel to a GPU machine that has the NVIDIA driver but no .NET. The library and kernel assemblies are
# kept whole (TrimmerRootAssembly), so the trim warnings about their reflection are suppressed here.
#
#   bash benchmarks/Lepton.GpuCheck/publish.sh && artifacts/gpucheck/Lepton.GpuCheck
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet publish benchmarks/Lepton.GpuCheck -c Release -r linux-x64 --self-contained true \
    -p:PublishTrimmed=true -p:TrimMode=partial -p:InvariantGlobalization=true \
    -p:PublishSingleFile=true -p:EnableCompressionInSingleFile=true \
    -p:SuppressTrimAnalysisWarnings=true \
    -o artifacts/gpucheck
ls -l artifacts/gpucheck/Lepton.GpuCheck
