#!/usr/bin/env bash
# dockerPush's work (vars/dockerPush.groovy writes this file to the workspace and runs it, inside
# withCredentials when it pushes). Inputs from the environment, validated by the step:
#   REGISTRY, IMAGE, TAGS (one per line), CONTEXT_DIR, DOCKERFILE, PUSH (true|false),
#   REVISION and SOURCE_URL (optional), BUILD_ARG_NAMES (space-separated, optional) with each
#   value in BUILD_ARG__<name>, BUILD_NETWORK (docker build's --network, optional), RESULT_FILE (where REGISTRY/IMAGE@sha256:... is written),
#   WORKSPACE_TMP (Jenkins' directory beside the workspace), and when pushing DOCKER_USERNAME and
#   DOCKER_PASSWORD (the credentials binding).
# The password goes to docker on stdin only; it is never an argument.
set -euo pipefail

fail() {
  echo "dockerPush: $*" >&2
  exit 1
}

[ -n "${WORKSPACE_TMP:-}" ] || fail "WORKSPACE_TMP is not set: run the step inside a node (Jenkins sets it there)"
repository="$REGISTRY/$IMAGE"
mapfile -t tags <<< "$TAGS"
rm -f "$RESULT_FILE"

# docker reads CLI plugins (cli-plugins/docker-buildx, ...) and credential helper settings from
# DOCKER_CONFIG. A fresh directory outside the checkout, so nothing a commit adds can run with the
# password in its environment, and the login is this build's alone; removed however the script ends.
mkdir -p "$WORKSPACE_TMP"
DOCKER_CONFIG=$(mktemp -d "$WORKSPACE_TMP/bank-pipeline-docker-config.XXXXXXXX")
export DOCKER_CONFIG
logged_in=false
cleanup() {
  if [ "$logged_in" = true ]; then
    docker logout "$REGISTRY" >/dev/null 2>&1 || true
  fi
  rm -rf "$DOCKER_CONFIG"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

if [ "$PUSH" = true ]; then
  logged_in=true
  printf '%s' "$DOCKER_PASSWORD" | docker login --username "$DOCKER_USERNAME" --password-stdin "$REGISTRY"
  # Nothing after the login needs the password: the builds below run without it.
  unset DOCKER_PASSWORD
fi

# The last image pushed from the deploy branch seeds the layer cache; a first build has none.
cache_from=()
if docker pull --quiet "$repository:latest" >/dev/null 2>&1; then
  cache_from=(--cache-from "$repository:latest")
else
  echo "dockerPush: no $repository:latest to reuse layers from; building without a cache"
fi

build=(build --file "$DOCKERFILE"
  --build-arg BUILDKIT_INLINE_CACHE=1
  --label "org.opencontainers.image.created=$(date -u +%Y-%m-%dT%H:%M:%SZ)")
if [ -n "${REVISION:-}" ]; then build+=(--label "org.opencontainers.image.revision=$REVISION"); fi
if [ -n "${SOURCE_URL:-}" ]; then build+=(--label "org.opencontainers.image.source=$SOURCE_URL"); fi
if [ -n "${BUILD_NETWORK:-}" ]; then build+=(--network "$BUILD_NETWORK"); fi
for name in ${BUILD_ARG_NAMES:-}; do
  value_var="BUILD_ARG__$name"
  build+=(--build-arg "$name=${!value_var:-}")
done
for tag in "${tags[@]}"; do
  build+=(--tag "$repository:$tag")
done
docker "${build[@]}" "${cache_from[@]}" -- "$CONTEXT_DIR"

if [ "$PUSH" != true ]; then
  echo "dockerPush: built $repository as ${tags[*]}, not pushed"
  exit 0
fi

# The registry's digest of what was pushed, from docker push's own report: the same for every tag.
digest=
for tag in "${tags[@]}"; do
  report=$(docker push "$repository:$tag")
  printf '%s\n' "$report"
  pushed=$(printf '%s\n' "$report" | sed -n 's/.*digest: \(sha256:[0-9a-f]\{64\}\).*/\1/p' | tail -n 1)
  [ -n "$pushed" ] || fail "docker reported no digest for $repository:$tag"
  if [ -n "$digest" ] && [ "$pushed" != "$digest" ]; then
    fail "$repository:$tag was pushed as $pushed, but the tags before it as $digest"
  fi
  digest=$pushed
done
mkdir -p "$(dirname "$RESULT_FILE")"
printf '%s@%s\n' "$repository" "$digest" > "$RESULT_FILE"
echo "dockerPush: pushed $repository@$digest as ${tags[*]}"
