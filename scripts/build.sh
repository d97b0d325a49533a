#!/usr/bin/env bash
# Builds every module and the launcher's jar (tests are skipped: scripts/test.sh runs them).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/java-env.sh
ssmtk_select_jdk
mvn -B -q -DskipTests package "$@"
