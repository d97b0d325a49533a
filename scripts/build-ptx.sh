#!/usr/bin/env bash
# Rebuilds the committed PTX of the cuda backend (needs nvcc): every NAME.cu beside the launchers in
# core-ssm/src/main/java/org/ssmtk/core/backend/cuda/ becomes NAME.ptx in the matching resources
# folder, and PTX whose source is gone is removed. dev/cuda/ (tuning variants) is not built.
# compute_80 PTX runs on Ampere and every later GPU: the driver compiles it for the card at load.
# The first line records the SHA-256 of the source: the .cu followed by every .cuh of the folder in
# name order (the headers every .cu may include), which CudaPtxFreshnessTest recomputes; a clone
# keeps no file times, so a hash is what tells a stale PTX from a fresh one.
set -euo pipefail
cd "$(dirname "$0")/.."
nvcc=${NVCC:-$(command -v nvcc || ls -d /usr/local/cuda*/bin/nvcc 2>/dev/null | head -1 || true)}
[ -n "$nvcc" ] && [ -x "$nvcc" ] || { echo "build-ptx: no nvcc on PATH or in /usr/local/cuda*/bin (set NVCC)" >&2; exit 1; }
src_dir=core-ssm/src/main/java/org/ssmtk/core/backend/cuda
out=core-ssm/src/main/resources/org/ssmtk/core/backend/cuda
mkdir -p "$out"
mapfile -t headers < <(cd "$src_dir" && ls -1 -- *.cuh 2>/dev/null | LC_ALL=C sort)
for ptx in "$out"/*.ptx; do
  [ -e "$ptx" ] || continue
  [ -f "$src_dir/$(basename "$ptx" .ptx).cu" ] || { rm -f "$ptx"; echo "build-ptx: removed $ptx (no source)"; }
done
for src in "$src_dir"/*.cu; do
  name=$(basename "$src" .cu)
  tmp=$(mktemp)
  nice -n 19 "$nvcc" -arch=compute_80 -ptx -O3 -std=c++17 ${NVCC_FLAGS:-} -o "$tmp" "$src"
  hash=$(cat "$src" "${headers[@]/#/$src_dir/}" | sha256sum | cut -d' ' -f1)
  { echo "// ssmtk-source-sha256: $hash"; cat "$tmp"; } > "$out/$name.ptx"
  rm -f "$tmp"
  echo "build-ptx: $src -> $out/$name.ptx ($("$nvcc" --version | tail -1))"
done
