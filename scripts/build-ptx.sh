#!/usr/bin/env bash
# Rebuilds the committed PTX of the cuda backend from core-ssm/src/main/cuda/*.cu (needs nvcc).
# compute_80 PTX runs on Ampere and every later GPU: the driver compiles it for the card at load.
# The first line records the SHA-256 of the source, which CudaPtxFreshnessTest compares: a clone
# keeps no file times, so a hash is what tells a stale PTX from a fresh one.
set -euo pipefail
cd "$(dirname "$0")/.."
nvcc=${NVCC:-$(command -v nvcc || ls -d /usr/local/cuda*/bin/nvcc 2>/dev/null | head -1 || true)}
[ -n "$nvcc" ] && [ -x "$nvcc" ] || { echo "build-ptx: no nvcc on PATH or in /usr/local/cuda*/bin (set NVCC)" >&2; exit 1; }
out=core-ssm/src/main/resources/org/ssmtk/core/backend/cuda
mkdir -p "$out"
for src in core-ssm/src/main/cuda/*.cu; do
  name=$(basename "$src" .cu)
  tmp=$(mktemp)
  nice -n 19 "$nvcc" -arch=compute_80 -ptx -O3 -std=c++17 ${NVCC_FLAGS:-} -o "$tmp" "$src"
  { echo "// ssmtk-source-sha256: $(sha256sum "$src" | cut -d' ' -f1)"; cat "$tmp"; } > "$out/$name.ptx"
  rm -f "$tmp"
  echo "build-ptx: $src -> $out/$name.ptx ($("$nvcc" --version | tail -1))"
done
