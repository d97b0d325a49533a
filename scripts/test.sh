#!/usr/bin/env bash
# Runs every test of every module (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/java-env.sh
ssmtk_select_jdk
mvn -B verify "$@"
