#!/usr/bin/env bash
# The one command that prepares a fresh Debian 12 machine and runs every test suite:
# installs the system packages the suites need, then `npm ci`, then `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=$(sed -e 's/#.*//' scripts/system-packages.txt | xargs)
missing=()
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "ci: installing system packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

npm ci --no-audit --no-fund

# The Docker suite's engine and base image (scripts/docker/), made before the tests so that a failure
# to reach Debian's archive is reported as such; the suite reuses both (and the engine's layer cache).
docker_state=${BANK_DOCKER_STATE:-$HOME/.cache/jenkins-fleet/docker-engine}
export "$(bash scripts/docker/engine.sh start "$docker_state")"
bash scripts/docker/base-image.sh python:3.11-slim-bookworm
bash scripts/docker/engine.sh stop "$docker_state"
unset DOCKER_HOST

npm test
