#!/usr/bin/env bash
# test's work (vars/test.groovy writes this file to the workspace and runs it): pytest in the
# virtualenv buildApp made, writing JUnit XML. Inputs from the environment, validated by the step:
#   APP_DIR, JUNIT_FILE (relative to the workspace), VENV (optional: else read VENV_FILE),
#   PYTEST_ARGS (optional extra arguments, one per line), TOOL_HINT.
# Optional values are read as ${NAME:-}: Jenkins' withEnv removes a variable given empty.
# Exits with pytest's status.
set -euo pipefail

venv="${VENV:-}"
if [ -z "$venv" ] && [ -f "$VENV_FILE" ]; then
  venv=$(cat "$VENV_FILE")
fi
if [ -z "$venv" ] || [ ! -x "$venv/bin/python" ]; then
  echo "test: no virtualenv from buildApp on this node${venv:+ (looked at $venv)}; run buildApp first in the same stage ($TOOL_HINT)" >&2
  exit 3
fi

junit="$PWD/$JUNIT_FILE"
mkdir -p "$(dirname "$junit")"
rm -f "$junit"
extra=()
if [ -n "${PYTEST_ARGS:-}" ]; then
  mapfile -t extra <<< "$PYTEST_ARGS"
fi

cd "$APP_DIR"
exec "$venv/bin/python" -m pytest -p no:cacheprovider --junitxml="$junit" -o junit_family=xunit2 "${extra[@]}"
