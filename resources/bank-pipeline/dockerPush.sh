#!/usr/bin/env bash
# dockerPush's work (vars/dockerPush.groovy writes this file to the workspace and runs it inside
# withCredentials). Inputs from the environment, validated by the step:
#   REGISTRY, IMAGE, TAGS (one per line), CONTEXT_DIR, DOCKERFILE, REVISION, SOURCE_URL,
#   BUILD_ARG_NAMES (space-separated) with each value in BUILD_ARG_<name>,
#   DOCKER_USERNAME and DOCKER_PASSWORD (the credentials binding), DOCKER_CONFIG, DIGEST_FILE.
# The password goes to docker on stdin only; it is never an argument.
set -euo pipefail

export DOCKER_CONFIG="$PWD/$DOCKER_CONFIG"
mkdir -p "$DOCKER_CONFIG"
repository="$REGISTRY/$IMAGE"
mapfile -t tags <<< "$TAGS"

printf '%s' "$DOCKER_PASSWORD" | docker login --username "$DOCKER_USERNAME" --password-stdin "$REGISTRY"

# The last image pushed from the deploy branch seeds the layer cache; a first build has none.
cache_from=()
if docker pull --quiet "$repository:latest" >/dev/null 2>&1; then
  cache_from=(--cache-from "$repository:latest")
else
  echo "dockerPush: no $repository:latest to reuse layers from; building without a cache"
fi

build=(build --file "$DOCKERFILE"
  --build-arg BUILDKIT_INLINE_CACHE=1
  --label "org.opencontainers.image.revision=$REVISION"
  --label "org.opencontainers.image.source=$SOURCE_URL"
  --label "org.opencontainers.image.created=$(date -u +%Y-%m-%dT%H:%M:%SZ)")
for name in $BUILD_ARG_NAMES; do
  value_var="BUILD_ARG_$name"
  build+=(--build-arg "$name=${!value_var}")
done
for tag in "${tags[@]}"; do
  build+=(--tag "$repository:$tag")
done
docker "${build[@]}" "${cache_from[@]}" "$CONTEXT_DIR"

for tag in "${tags[@]}"; do
  docker push "$repository:$tag"
done

# The registry's digest of what was pushed: the same for every tag.
reference=$(docker image inspect --format '{{index .RepoDigests 0}}' "$repository:${tags[0]}")
digest="${reference##*@}"
case "$digest" in
  sha256:*) ;;
  *) echo "dockerPush: docker reported no digest for $repository:${tags[0]} (got '$reference')" >&2; exit 1 ;;
esac
mkdir -p "$(dirname "$DIGEST_FILE")"
printf '%s\n' "$digest" > "$DIGEST_FILE"
echo "dockerPush: pushed $repository@$digest as ${tags[*]}"
