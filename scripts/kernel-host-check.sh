#!/usr/bin/env bash
# Runs production kernel files on the host, without a GPU: NAME.cu compiled by g++ against
# dev/cuda/host/cuda_host.h (a block's threads are real threads meeting at barriers) together with
# dev/cuda/host/NAME_host_check.cpp, which launches its kernels and checks them against float64.
#   decode  decode.cu in CudaDecoder's launch order: one Mamba-1 layer's step and the LM head against a
#           float64 step from the definition (float4 and scalar rows, threads per row, several sequences)
#   reduce  reduce.cu's cross-entropy: float4, scalar and misaligned rows, every thread count the
#           launcher picks, ignored rows, wide logits
# (ssd.cu has scripts/ssd-host-check.sh: its shared arrays need rewriting first.)
# Usage: scripts/kernel-host-check.sh NAME...   (no NAME: all of the above). CI runs it (needs g++ 10+).
# Exit status 1 if any check fails.
set -euo pipefail
cd "$(dirname "$0")/.."
src=core-ssm/src/main/java/org/ssmtk/core/backend/cuda
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(decode reduce)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for name in "${names[@]}"; do
  [ -f "dev/cuda/host/${name}_host_check.cpp" ] || { echo "kernel-host-check: no dev/cuda/host/${name}_host_check.cpp" >&2; exit 2; }
  rm -f "$tmp"/*
  cp "$src"/*.cuh "$src/$name.cu" "$tmp"/
  nice -n 19 g++ -std=c++20 -O2 -pthread -w -I dev/cuda/host -I "$tmp" -o "$tmp/check" "dev/cuda/host/${name}_host_check.cpp"
  nice -n 19 "$tmp/check"
done
