#!/usr/bin/env bash
# Runs every test of every module (what CI runs). Tests that need a GPU skip without one; the
# summary line at the end says how many and why, so a CPU-only run never passes silently for them.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/java-env.sh
ssmtk_select_jdk
mvn -B verify "$@"
reports=core-ssm/target/surefire-reports
if ls "$reports"/TEST-*cuda*.xml >/dev/null 2>&1; then
  skipped=$(grep -ho 'skipped="[0-9]*"' "$reports"/TEST-*cuda*.xml | grep -o '[0-9]*' | awk '{s+=$1} END {print s+0}')
  # -m1 rather than | head -1: under pipefail a grep killed by SIGPIPE would fail a green build
  reason=$(grep -m1 -ho 'Assumption failed: [^]]*' "$reports"/TEST-*cuda*.xml | head -n 1 | sed 's/Assumption failed: //' || true)
  if [ "${skipped:-0}" -gt 0 ]; then echo "test.sh: ${skipped} GPU tests skipped: ${reason}"; else echo "test.sh: GPU tests ran (none skipped)"; fi
fi
