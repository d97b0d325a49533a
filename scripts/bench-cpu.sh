#!/usr/bin/env bash
# CPU forward benchmark of ssmtk against a peer measured in the same run on the same machine.
# The peer is transformers' pure-PyTorch Mamba path (what transformers runs without CUDA kernels),
# re-expressed in bench/peers/torch_mamba.py, first checked against the reference fixture.
# Needs Debian's python3-torch (apt-get install python3-torch) for the peer; without it only ssmtk runs.
#   scripts/bench-cpu.sh [MODELS] [LENGTHS] [PEER_LENGTHS]
set -euo pipefail
cd "$(dirname "$0")/.."
models=${1:-130m,dna}
lengths=${2:-1024,4096,16384,65536}
peer_lengths=${3:-1024}
threads=${SSMTK_THREADS:-$(nproc)}
out=out/bench; mkdir -p "$out"
[ -f cli/target/ssmtk.jar ] || scripts/build.sh
SSMTK_JAVA_OPTS=${SSMTK_JAVA_OPTS:--Xmx18g} bin/ssmtk bench forward --models "$models" --lengths "$lengths" --threads "$threads" | tee "$out/ssmtk.txt"
py=/usr/bin/python3
if ! "$py" -c 'import torch' 2>/dev/null; then echo "peer skipped: no torch for $py (apt-get install python3-torch)"; exit 0; fi
"$py" bench/peers/torch_mamba.py check test-data/fixtures/tiny-mamba test-data/fixtures/tiny-mamba/reference.safetensors
: > "$out/peer.jsonl"
for m in ${models//,/ }; do
  for l in ${peer_lengths//,/ }; do "$py" bench/peers/torch_mamba.py bench "$m" "$l" --threads "$threads" | tee -a "$out/peer.jsonl"; done
done
echo
echo "model      L   ssmtk tok/s   peer tok/s   ratio   ssmtk JVM peak MiB   peer peak RSS MiB"
"$py" - "$out/ssmtk.txt" "$out/peer.jsonl" <<'PY'
import json, sys
ours = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) >= 9 and f[0] not in ("#", "model"):
        ours[(f[0], int(f[2]))] = (float(f[4]), float(f[8]))
for line in open(sys.argv[2]):
    p = json.loads(line)
    key = (p["model"], p["L"])
    if key in ours:
        o = ours[key]
        print(f"{key[0]:6s} {key[1]:6d} {o[0]:12.1f} {p['tokens_per_s']:12.2f} {o[0] / p['tokens_per_s']:7.1f}x {o[1]:20.1f} {p['peak_rss_mib']:19.1f}")
PY
