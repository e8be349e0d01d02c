#!/usr/bin/env bash
# Runs the app's Python: a virtualenv (app/.venv) built from the locks (app/requirements-test.txt,
# which includes requirements.txt) with the first python3.11 on PATH, or APP_PYTHON. It is rebuilt
# when a lock or the interpreter changes, so the tests run exactly the pins the image installs.
# Usage: scripts/app-python.sh [python arguments...]   (no arguments: print the venv's python)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
app="$root/app"
venv="$app/.venv"
base_python=${APP_PYTHON:-python3.11}
if ! command -v "$base_python" >/dev/null; then
  echo "app-python: $base_python not found: put Python 3.11 (with venv) first on PATH or set APP_PYTHON" >&2
  exit 1
fi

stamp=$( { "$base_python" -c 'import sys; print(sys.version)'; cat "$app/requirements.txt" "$app/requirements-test.txt"; } | sha256sum | cut -c1-64)
# One builder at a time per worktree; a second run waits and then finds the venv ready.
exec 9>"$app/.venv.lock"
flock 9
if [ "$(cat "$venv/.stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "app-python: building $venv from the locks with $("$base_python" --version)" >&2
  rm -rf "$venv"
  "$base_python" -m venv "$venv"
  # An unreachable index fails at once instead of after minutes of retries; a reachable one is unaffected.
  PIP_RETRIES=${PIP_RETRIES:-0} "$venv/bin/python" -m pip install --quiet --quiet --disable-pip-version-check \
    --require-hashes -r "$app/requirements-test.txt"
  echo "$stamp" >"$venv/.stamp"
fi
flock -u 9

if [ $# -eq 0 ]; then
  echo "$venv/bin/python"
  exit 0
fi
exec "$venv/bin/python" "$@"
