#!/usr/bin/env bash
# Runs the shared library's Groovy harness with Debian's groovy 2.4.21 (what Jenkins runs):
# `bash test/groovy/run.sh [FILTER]`. Prints `N passed, N failed`.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v groovy >/dev/null 2>&1; then
  echo "groovy is not installed: apt-get install groovy openjdk-17-jre-headless (see scripts/system-packages.txt)" >&2
  exit 1
fi
if [ -z "${JAVA_HOME:-}" ] || [ ! -x "$JAVA_HOME/bin/java" ]; then
  JAVA_HOME=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
  export JAVA_HOME
fi
export TF_CLI_CONFIG_FILE=/dev/null
exec groovy -cp test/groovy -Drepo.root="$PWD" test/groovy/run.groovy "$@"
