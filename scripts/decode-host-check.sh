#!/usr/bin/env bash
# Runs the production decode.cu on the host, without a GPU: its kernels compiled by g++ against
# dev/cuda/host/cuda_host.h and driven in CudaDecoder's launch order by
# dev/cuda/host/decode_host_check.cpp, which checks one Mamba-1 layer's step and the LM head against
# a float64 step written from the definition. Catches the CUDA source's own index arithmetic (float4
# and scalar rows, threads per row, several sequences). CI runs it (needs g++ 10+). Exit status 1 if
# any check fails.
set -euo pipefail
cd "$(dirname "$0")/.."
src=core-ssm/src/main/java/org/ssmtk/core/backend/cuda
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$src"/*.cuh "$src/decode.cu" "$tmp"/
nice -n 19 g++ -std=c++20 -O2 -pthread -w -I dev/cuda/host -I "$tmp" -o "$tmp/check" dev/cuda/host/decode_host_check.cpp
nice -n 19 "$tmp/check"
