#!/usr/bin/env bash
# Runs the production ssd.cu on the host, without a GPU: its kernels compiled by g++ against
# dev/cuda/host/cuda_host.h (a block's threads are real threads meeting at barriers; shared memory
# refilled with NaN before each block) and driven in CudaSsd's launch order by
# dev/cuda/host/ssd_host_check.cpp, which checks them against a float64 recurrence and its finite
# differences. Checks what no Java test reaches without a GPU: the CUDA source's own
# index arithmetic, a barrier missing between phases that share memory, a shared-memory layout
# overlap. Every product kernel runs in its three ways of multiplying (fp32, 3xTF32 and TF32 entries;
# the host shim runs mma.sync's fragment layout in plain float and cvt.rna.tf32's rounding). CI runs it
# (.ci/run; needs g++ 10+). Exit status 1 if any check fails. SSD_HOST_FLAGS passes more flags to the compile.
set -euo pipefail
cd "$(dirname "$0")/.."
src=core-ssm/src/main/java/org/ssmtk/core/backend/cuda
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$src"/*.cuh "$tmp"/
# dynamic shared memory: every `extern __shared__ T name[];` points at the launch's host buffer
sed -E 's/extern __shared__ ([A-Za-z0-9_]+) ([A-Za-z0-9_]+)\[\];/\1* \2 = (\1*)g_smem;/' "$src/ssd.cu" > "$tmp/ssd_host.cu"
nice -n 19 g++ -std=c++20 -O2 -pthread -w ${SSD_HOST_FLAGS:-} -I dev/cuda/host -I "$tmp" -o "$tmp/check" dev/cuda/host/ssd_host_check.cpp
nice -n 19 "$tmp/check"
