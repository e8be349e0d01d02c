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
# Groovy 2.4 reads no YAML: the harness gets jenkins/casc.yaml (the controller's library settings,
# for @Library) as JSON, converted with the repository's own yaml package.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
node --input-type=module -e "
import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';
writeFileSync(process.argv[1], JSON.stringify(parse(readFileSync('jenkins/casc.yaml', 'utf8'))));
" "$scratch/casc.json"
groovy -cp test/groovy -Drepo.root="$PWD" -Dcasc.json="$scratch/casc.json" test/groovy/run.groovy "$@"
