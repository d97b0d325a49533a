#!/usr/bin/env bash
# The cuda backend's check on a GPU machine: parity tests against the CPU backend and the
# transformers fixtures, the scan benchmarks (Mamba-1's ScanBench, Mamba-2's SsdBench), then the
# end-to-end model benchmark (training and generation tokens/s, a 1M-token forward); its table is
# printed last.
#
#   scripts/gpu-check.sh --pack   here, with JDK 25 and Maven: compiles core-ssm (no install: ~/.m2 is
#                                 shared) and puts what a machine without Java or Maven needs into
#                                 .device/ (a jlinked JRE, the jars); carry .device and core-ssm/target
#   scripts/gpu-check.sh [BENCH_ROWS...]   on the GPU machine (rows like 8x2048; default: all three)
#   SSMTK_MODEL_BENCH="train=130m:8x2048 ..."  ModelBench's arguments (empty: its defaults, which train
#                                 in fp32 and in bf16; "off": skip it)
#   SSMTK_SCAN_BENCH=off          skips ScanBench (for runs about the GEMM path alone)
#   SSMTK_SSD_BENCH=off           skips SsdBench (Mamba-2's SSD scan of one layer, forward/backward/step, each way of multiplying)
#   SSMTK_GPU_TESTS="CudaSsdTest CudaMamba2ParityTest"  runs only these test classes of the GPU
#                                 package (default: the whole package org.ssmtk.core.backend.cuda)
#
# With Maven and a JDK present it builds instead of using .device/. Logs go to $OUT when set.
set -euo pipefail
cd "$(dirname "$0")/.."
dev=.device
junit_version=1.11.4

if [ "${1:-}" = "--pack" ]; then
  . scripts/java-env.sh
  ssmtk_select_jdk
  nice -n 19 mvn -B -q -pl core-ssm test-compile
  rm -rf "$dev/lib" && mkdir -p "$dev/lib"
  nice -n 19 mvn -B -q -pl core-ssm dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$PWD/$dev/lib"
  nice -n 19 mvn -B -q dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:$junit_version \
    -DoutputDirectory="$PWD/$dev/lib"
  # JCuda's PTX-compiler natives are most of the jar's size and never load (the driver loads our PTX): the job's
  # files must stay under the device tool's 64 MiB
  for j in "$dev"/lib/jcuda-natives-*.jar; do zip -q -d "$j" 'lib/libJNvPTXCompiler*' || true; done
  ../shared/tools/device-jre.sh "$dev" 2>/dev/null || JRE_MODULES=java.base,java.logging,java.management,java.xml,jdk.unsupported,jdk.incubator.vector "${SSMTK_DEVICE_JRE:-../shared/tools/device-jre.sh}" "$dev"
  du -sh "$dev" core-ssm/target/classes core-ssm/target/test-classes
  echo "gpu-check: packed; carry $dev and core-ssm/target, run scripts/gpu-check.sh there"
  exit 0
fi

out=${OUT:-/tmp/ssmtk-gpu-check}
mkdir -p "$out"
if ! command -v java >/dev/null 2>&1 || ! java -version 2>&1 | grep -q '"2[5-9]'; then
  if [ -f "$dev/jre.tar.xz" ]; then
    tar xJf "$dev/jre.tar.xz" -C /tmp && export JAVA_HOME=/tmp/jre PATH=/tmp/jre/bin:$PATH
  fi
fi
if command -v mvn >/dev/null 2>&1 && [ -z "${SSMTK_USE_CARRIED:-}" ] && [ ! -d "$dev/lib" ]; then
  "$0" --pack
fi
[ -d core-ssm/target/classes ] && [ -d core-ssm/target/test-classes ] && [ -d "$dev/lib" ] \
  || { echo "gpu-check: no build: run scripts/gpu-check.sh --pack where Maven is, and carry $dev and core-ssm/target" >&2; exit 1; }
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>/dev/null | sed 's/^/gpu: /' || true

cp="core-ssm/target/classes:core-ssm/target/test-classes:$(ls $dev/lib/*.jar | grep -v console-standalone | tr '\n' ':')"
jvm=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xss8m -Xmx16g)
select=(--select-package org.ssmtk.core.backend.cuda)
if [ -n "${SSMTK_GPU_TESTS:-}" ]; then
  select=()
  for c in $SSMTK_GPU_TESTS; do select+=(--select-class "org.ssmtk.core.backend.cuda.$c"); done
fi
set +e
# the tests fill memory that the backend hands out unzeroed with NaN: a read of what was never written fails them
(cd core-ssm && java "${jvm[@]}" -Dssmtk.cuda.poisonUninitialized=true -jar ../$dev/lib/junit-platform-console-standalone-$junit_version.jar execute \
  --class-path "$(echo "$cp" | sed 's#core-ssm/##g; s#\.device#../.device#g')" "${select[@]}" \
  --details=tree --disable-banner) > "$out/tests.log" 2>&1
tests=$?
bench=0
if [ "${SSMTK_SCAN_BENCH:-}" != off ]; then
  java "${jvm[@]}" -cp "$cp" org.ssmtk.core.bench.ScanBench "$@" > "$out/bench.log" 2>&1
  bench=$?
fi
ssd=0
if [ "${SSMTK_SSD_BENCH:-}" != off ]; then
  java "${jvm[@]}" -cp "$cp" org.ssmtk.core.bench.SsdBench > "$out/ssd-bench.log" 2>&1
  ssd=$?
fi
model=0
if [ "${SSMTK_MODEL_BENCH:-}" != off ]; then
  # shellcheck disable=SC2086
  java "${jvm[@]}" -Xmx32g -cp "$cp" org.ssmtk.core.bench.ModelBench ${SSMTK_MODEL_BENCH:-} > "$out/model.log" 2>&1
  model=$?
fi
set -e
grep -E '^parity' "$out/tests.log" > "$out/parity.log" || true
echo "== parity: $(wc -l < "$out/parity.log") comparisons; the ten largest errors per tolerance:"
for tol in 1e-05 1e-04 1e-02; do sort -t'r' -k1 "$out/parity.log" | grep "tolerance ${tol/e-0/e-0}" | awk '{print $(NF-2), $0}' | sort -g | tail -5 | cut -d' ' -f2- || true; done
grep -E 'tests (successful|failed|skipped)|containers failed|skipped|MethodSource|✘' "$out/tests.log" | grep -vE '^\s*$' | tail -25
echo "== tests exit $tests, bench exit $bench, ssd bench exit $ssd, model bench exit $model"
[ -f "$out/bench.log" ] && tail -8 "$out/bench.log"
[ -f "$out/ssd-bench.log" ] && grep "^|" "$out/ssd-bench.log" | tail -12
grep -E '^bf16-info' "$out/tests.log" | head -40 || true
[ -f "$out/model.log" ] && tail -10 "$out/model.log"
[ $tests -eq 0 ] && [ $bench -eq 0 ] && [ $ssd -eq 0 ] && [ $model -eq 0 ]
