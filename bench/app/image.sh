#!/usr/bin/env bash
# The app's images, measured: builds app/Dockerfile (the runtime image and the `test` target) with the
# engine of scripts/docker/ and prints a Markdown table of their sizes, the build times (cold: no
# layer cache but the base image; warm: nothing changed) and the runtime image's largest layers.
#   bash bench/app/image.sh          (as root; a few minutes; uses BANK_DOCKER_STATE like test/docker)
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/usr/sbin:/usr/bin:/sbin:/bin"
state=${BANK_DOCKER_STATE:-$HOME/.cache/jenkins-fleet/docker-engine}
mkdir -p "$state"
exec 8>"$state/suite.lock"
flock 8 # the same engine as the test suite, one user at a time

export "$(bash scripts/docker/engine.sh start "$state")"
index_log=$(mktemp)
cleanup() {
  [ -n "${index_pid:-}" ] && kill "$index_pid" 2>/dev/null
  rm -f "$index_log"
  docker rmi --force bank-app:bench bank-app:bench-test >/dev/null 2>&1 || true
  bash scripts/docker/engine.sh stop "$state"
}
trap cleanup EXIT
bash scripts/docker/base-image.sh python:3.11-slim-bookworm >&2
# The port the test suite keeps (test/docker/conftest.py): build arguments are part of the cache key.
python3 scripts/docker/pip-index.py --port "$(cat "$state/pip-index.port" 2>/dev/null || echo 0)" > "$index_log" &
index_pid=$!
for _ in $(seq 1 100); do [ -s "$index_log" ] && break; sleep 0.1; done
build_args=()
for name in PIP_INDEX_URL PIP_EXTRA_INDEX_URL; do
  value=$(python3 -c "import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$index_log" "$name")
  [ -n "$value" ] && build_args+=(--build-arg "$name=$value")
done

seconds() { local start=$SECONDS; "$@" >/dev/null 2>&1; echo $((SECONDS - start)); }
build() { docker build --network host "${build_args[@]}" "$@" app; }
cold_runtime=$(seconds build --no-cache --tag bank-app:bench)
cold_test=$(seconds build --no-cache --target test --tag bank-app:bench-test)
warm_runtime=$(seconds build --tag bank-app:bench)
size() { docker image inspect --format '{{.Size}}' "$1" | awk '{ printf "%.0f MB", $1 / 1e6 }'; }

echo "Run of $(date -u +%Y-%m-%d) ($(nproc) cores; engine $(docker version --format '{{.Server.Version}}'), legacy builder; load average $(cut -d' ' -f1 /proc/loadavg)):"
echo
echo "| image | size | build, no layer cache | build, nothing changed |"
echo "|---|---:|---:|---:|"
echo "| base: python:3.11-slim-bookworm (debootstrap stand-in) | $(size python:3.11-slim-bookworm) | | |"
echo "| runtime (\`docker build app/\`) | $(size bank-app:bench) | ${cold_runtime} s (builds the test stage too) | ${warm_runtime} s |"
echo "| test target (\`--target test\`) | $(size bank-app:bench-test) | ${cold_test} s | |"
echo
echo "The runtime image's layers above 1 MB, newest first:"
echo
echo "| layer | size |"
echo "|---|---:|"
docker history --no-trunc --format '{{.Size}}|{{.CreatedBy}}' bank-app:bench | while IFS='|' read -r layer_size created_by; do
  case "$layer_size" in *MB|*GB) ;; *) continue ;; esac
  step=$(printf '%s' "$created_by" | sed -E -e 's@^/bin/sh -c #\(nop\) *@@' -e 's@^(\|[0-9]+ .*)?/bin/sh -c @RUN @' | cut -c1-90)
  [ -n "$step" ] || step="the base image"
  echo "| \`$step\` | $layer_size |"
done
