#!/usr/bin/env bash
# Data-parallel training on the GPUs of one machine, ssmtk beside state-spaces/mamba under PyTorch
# DDP, in one job (issue #21's scaling table). Needs what scripts/gpu-check.sh --pack leaves in
# .device/ and core-ssm/target, and the reference sources in .anchor/ (../shared/tools/anchors/README.md);
# carry .device, core-ssm/target/classes, core-ssm/target/test-classes and .anchor.
#
#   scripts/gpu-scaling.sh build    builds the reference's two CUDA extensions (~8 min on 16 cores; kept
#                                   in /tmp while the machine is)
#   scripts/gpu-scaling.sh [GPUS]   ssmtk's ScalingBench, then the reference at each GPU count (default 1,2)
#
#   SSMTK_SCALING="train=... match=..."   ScalingBench's arguments; DDP_ROWS the reference's rows
# Logs and JSON go to $OUT (default /tmp/ssmtk-scaling); the tables are printed last.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/ssmtk-scaling}
mkdir -p "$out"
# NVLink multicast stays off (the machine's owners require it); NCCL reads this from the environment
export NCCL_NVLS_ENABLE=${NCCL_NVLS_ENABLE:-0}
anchor=/tmp/anchor
[ -d "$anchor" ] || cp -r .anchor "$anchor"

if [ "${1:-}" = build ]; then
  E2E_ROWS=none PYTHONUNBUFFERED=1 python3 "$anchor/bench_mamba_e2e.py" "$anchor/mamba" "$anchor/cc1d" "$out/anchor-build.json"
  exit 0
fi
gpus=${1:-1,2}
if ! command -v java >/dev/null 2>&1 || ! java -version 2>&1 | grep -q '"2[5-9]'; then
  tar xJf .device/jre.tar.xz -C /tmp && export JAVA_HOME=/tmp/jre PATH=/tmp/jre/bin:$PATH
fi
nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader | sed 's/^/gpu: /'
nvidia-smi topo -m 2>/dev/null | head -4 || true
cp="core-ssm/target/classes:$(ls .device/lib/*.jar | grep -v console-standalone | tr '\n' ':')"
# shellcheck disable=SC2086
java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xmx64g -cp "$cp" org.ssmtk.core.bench.ScalingBench \
  gpus="$gpus" ${SSMTK_SCALING:-} 2>&1 | tee "$out/ssmtk-scaling.log" | grep -vE '^train .* step' || true
for n in ${gpus//,/ }; do
  PYTHONUNBUFFERED=1 torchrun --standalone --nproc_per_node "$n" bench/peers/mamba_ddp.py "$anchor/mamba" "$anchor/cc1d" \
    "$out/reference-ddp-$n.json" 2>&1 | grep -vE '^(W|I)[0-9]{4}|OMP_NUM_THREADS|\*\*\*\*' | tee "$out/reference-ddp-$n.log" || true
done
echo "== reference (state-spaces/mamba, torch DDP)"
python3 - "$out" <<'PY' || true
import glob, json, sys
for f in sorted(glob.glob(sys.argv[1] + "/reference-ddp-*.json")):
    d = json.load(open(f))
    for r in d["rows"]:
        print(f"{r['model']} {r['precision']} gpus {r['gpus']} micro-batch {r['micro_batch']}x{r['L']}: {r['tokens_per_s']} tokens/s,"
              f" {r['s_per_step']} s/step, peak {r['peak_GiB_per_gpu']} GiB/GPU (NCCL {d['nccl']})")
PY
echo "== ssmtk"
sed -n '/^| model/,$p' "$out/ssmtk-scaling.log"
