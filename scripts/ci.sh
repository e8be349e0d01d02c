#!/usr/bin/env bash
# The one command that prepares a fresh Debian 12 machine and runs every test suite:
# installs the system packages the suites need, then `npm ci`, then `npm test -- --ci` (every
# suite, and the TypeScript suites named in test:node-lts again on the current Node LTS).
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

# The Docker suite's engine and base images (scripts/docker/), made before the tests so that a failure
# to reach Debian's archive is reported as such; the suite reuses both (and the engine's layer cache).
docker_state=${BANK_DOCKER_STATE:-$HOME/.cache/jenkins-fleet/docker-engine}
export "$(bash scripts/docker/engine.sh start "$docker_state")"
bash scripts/docker/base-image.sh python:3.11-slim-bookworm
bash scripts/docker/base-image.sh node:26-bookworm-slim   # provisioner/Dockerfile, the watch image
bash scripts/docker/engine.sh stop "$docker_state"
unset DOCKER_HOST

# The current Node LTS (scripts/node-lts.sh: node@26 from the npm registry) beside this machine's
# Node 20, installed before the tests so that a failure to reach the registry is reported as such.
# On it run the suites `test:node-lts` names (npm test -- --ci adds it to every other suite):
#   unit     every module of the provisioner in-process, and the built CLI spawned;
#   sandbox  the real AWS SDK and jenkins clients over HTTP and WebSocket against the stand-ins;
#   ssh      ssh2's crypto against real sshd.
# These are where a Node release shows (fetch and http, crypto, child processes, the ESM loader
# hooks, native addons) in about 4 minutes. Not e2e (~6-8 minutes: the same modules and servers
# again, at scale), nor the suites whose Node code is small beside what they drive (terraform,
# jenkins, library, Groovy, Python, Docker); typecheck and lint do not depend on the runtime.
bash scripts/node-lts.sh install

npm test -- --ci
