#!/usr/bin/env bash
# Benchmark: buildApp cold (no cached virtualenv) versus warm (the virtualenv for these
# requirements is cached on the agent), on a fresh copy of the project each run, as a new
# checkout would be. Runs the step's real script, resources/bank-pipeline/buildApp.sh, with
# Debian's /usr/bin/python3 and system site packages (offline).
#   bash bench/library/buildApp.sh [PROJECT_DIR] [RUNS]     (defaults: app, 3)
set -euo pipefail
cd "$(dirname "$0")/../.."
project=${1:-app}
runs=${2:-3}
script="$PWD/resources/bank-pipeline/buildApp.sh"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

now() { date +%s%N; }

# One build in a fresh workspace; prints its wall time in milliseconds.
build() {
  local cache=$1 ws
  ws=$(mktemp -d "$scratch/ws.XXXX")
  cp -R "$project" "$ws/app"
  local start end
  start=$(now)
  (cd "$ws" && APP_DIR=app PYTHON=/usr/bin/python3 REQUIREMENTS=requirements.txt SYSTEM_SITE_PACKAGES=true \
    VENV_CACHE="$cache" MIN_PYTHON=3.11 TOOL_HINT=- RESULT_FILE=.bank-pipeline/venv bash "$script" > "$ws/log" 2>&1) || {
    echo "buildApp failed on $project:" >&2; tail -5 "$ws/log" >&2; exit 1; }
  end=$(now)
  echo $(( (end - start) / 1000000 ))
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

cold=()
warm=()
for i in $(seq "$runs"); do
  cache="$scratch/cache-$i"
  cold+=("$(build "$cache")")
  warm+=("$(build "$cache")")
done
cold_ms=$(printf '%s\n' "${cold[@]}" | median)
warm_ms=$(printf '%s\n' "${warm[@]}" | median)
echo "buildApp on $project ($runs runs each, median)"
echo "  cold: ${cold_ms} ms   (runs: ${cold[*]})"
echo "  warm: ${warm_ms} ms   (runs: ${warm[*]})"
awk -v c="$cold_ms" -v w="$warm_ms" 'BEGIN { printf "  warm/cold: %.1f%%\n", 100 * w / c }'
