#!/usr/bin/env bash
# testInContainer's work (vars/testInContainer.groovy writes this file to the workspace and runs
# it). Inputs from the environment, validated by the step:
#   RUN_ID (unique per run), CONTEXT_DIR, DOCKERFILE, TARGET, JUNIT_FILE (relative to the
#   workspace), DATABASE_URL_VARIABLE, DATABASE_IMAGE (optional), BUILD_NETWORK (optional),
#   BUILD_ARG_NAMES (space-separated, optional) with each value in BUILD_ARG__<name>,
#   PYTEST_ARGS (optional, one per line), WORKSPACE_TMP.
# Exits with pytest's status; 90 when the image does not build or a container does not start.
set -euo pipefail

fail_setup() {
  echo "testInContainer: $*" >&2
  exit 90
}

[ -n "${WORKSPACE_TMP:-}" ] || fail_setup "WORKSPACE_TMP is not set: run the step inside a node (Jenkins sets it there)"
image="bank-pipeline-test:$RUN_ID"
tests="bank-pipeline-test-$RUN_ID"
database="bank-pipeline-database-$RUN_ID"
junit="$PWD/$JUNIT_FILE"
rm -f "$junit"

# docker's configuration in a fresh directory outside the checkout (no CLI plugin a commit adds
# runs), removed with the containers and the test image's tag however the script ends.
mkdir -p "$WORKSPACE_TMP"
DOCKER_CONFIG=$(mktemp -d "$WORKSPACE_TMP/bank-pipeline-docker-config.XXXXXXXX")
export DOCKER_CONFIG
cleanup() {
  docker rm --force --volumes "$tests" "$database" >/dev/null 2>&1 || true
  docker image rm "$image" >/dev/null 2>&1 || true
  rm -rf "$DOCKER_CONFIG"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

build=(build --target "$TARGET" --file "$DOCKERFILE" --tag "$image")
if [ -n "${BUILD_NETWORK:-}" ]; then build+=(--network "$BUILD_NETWORK"); fi
for name in ${BUILD_ARG_NAMES:-}; do
  value_var="BUILD_ARG__$name"
  build+=(--build-arg "$name=${!value_var:-}")
done
docker "${build[@]}" -- "$CONTEXT_DIR" || fail_setup "docker build of the $TARGET target of $DOCKERFILE failed"

# The tests get no network but their own loopback. With a database, they join its container's
# network namespace: MariaDB answers on 127.0.0.1:3306 and nothing else is reachable.
network=(--network none)
environment=()
if [ -n "${DATABASE_IMAGE:-}" ]; then
  # A throwaway server's password: made here, handed to both containers through the environment
  # (docker run --env NAME reads the value from docker's own environment, never from argv).
  MARIADB_ROOT_PASSWORD=$(head -c 24 /dev/urandom | sha256sum | cut -c1-32)
  export MARIADB_ROOT_PASSWORD
  export "$DATABASE_URL_VARIABLE=mysql://root:$MARIADB_ROOT_PASSWORD@127.0.0.1:3306"
  docker run --detach --name "$database" --network none --env MARIADB_ROOT_PASSWORD \
    --tmpfs /var/lib/mysql:rw "$DATABASE_IMAGE" >/dev/null \
    || fail_setup "the database container ($DATABASE_IMAGE) did not start"
  network=(--network "container:$database")
  environment=(--env "$DATABASE_URL_VARIABLE")
fi

pytest=(python -m pytest -p no:cacheprovider --junitxml=/tmp/bank-pipeline-results/junit.xml -o junit_family=xunit2)
if [ -n "${PYTEST_ARGS:-}" ]; then
  mapfile -t extra <<< "$PYTEST_ARGS"
  pytest+=("${extra[@]}")
fi
docker create --name "$tests" "${network[@]}" "${environment[@]}" "$image" "${pytest[@]}" >/dev/null \
  || fail_setup "the test container did not start"
status=0
docker start --attach "$tests" || status=$?
mkdir -p "$(dirname "$junit")"
if ! docker cp "$tests:/tmp/bank-pipeline-results/junit.xml" "$junit" >/dev/null 2>&1; then
  echo "testInContainer: the tests wrote no JUnit file" >&2
fi
exit "$status"
