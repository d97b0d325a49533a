#!/usr/bin/env bash
# Runs the production reduce.cu's cross-entropy kernel on the host, without a GPU: compiled by g++
# against dev/cuda/host/cuda_host.h and checked by dev/cuda/host/reduce_host_check.cpp against float64
# (float4 and scalar rows, every thread count the launcher picks, ignored rows). CI runs it (needs
# g++ 10+). Exit status 1 if any check fails.
set -euo pipefail
cd "$(dirname "$0")/.."
src=core-ssm/src/main/java/org/ssmtk/core/backend/cuda
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$src"/*.cuh "$src/reduce.cu" "$tmp"/
nice -n 19 g++ -std=c++20 -O2 -pthread -w -I dev/cuda/host -I "$tmp" -o "$tmp/check" dev/cuda/host/reduce_host_check.cpp
nice -n 19 "$tmp/check"
