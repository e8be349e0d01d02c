#!/usr/bin/env bash
# buildApp's work (vars/buildApp.groovy writes this file to the workspace and runs it).
# Every input arrives in the environment, already validated by the step:
#   APP_DIR, PYTHON, REQUIREMENTS (relative to APP_DIR), SYSTEM_SITE_PACKAGES (true|false),
#   VENV_CACHE, MIN_PYTHON, TOOL_HINT, RESULT_FILE (where the virtualenv's path is written).
# The virtualenv lives in VENV_CACHE under a key of the interpreter, its version and every file
# pip reads, so a warm build with unchanged requirements installs nothing.
set -euo pipefail

python_path=$(command -v "$PYTHON") || {
  echo "buildApp: $PYTHON was not found on this node; $TOOL_HINT" >&2
  exit 3
}
version=$("$python_path" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
if [ "$(printf '%s\n%s\n' "$MIN_PYTHON" "$version" | sort -V | head -n 1)" != "$MIN_PYTHON" ]; then
  echo "buildApp: $PYTHON is Python $version, older than $MIN_PYTHON; $TOOL_HINT" >&2
  exit 3
fi

requirements="$APP_DIR/$REQUIREMENTS"
if [ ! -f "$requirements" ]; then
  echo "buildApp: no requirements file at $requirements" >&2
  exit 2
fi

# Every file pip reads: the requirements file and, recursively, the requirements (-r) and
# constraints (-c) files it names, each relative to the file that names it, as pip resolves them.
# All of them are in the cache key: a change to an included file must not reuse a stale virtualenv.
declare -A read_already=()
pip_inputs=()
collect_pip_inputs() {
  local file=$1 line target real
  real=$(readlink -f -- "$file")
  if [ -n "${read_already[$real]:-}" ]; then return; fi
  read_already[$real]=1
  pip_inputs+=("$file")
  while IFS= read -r line || [ -n "$line" ]; do
    line="${line%%[[:space:]]#*}"
    [[ "$line" =~ ^[[:space:]]*(-r|-c|--requirement|--constraint)([[:space:]]*=?[[:space:]]*)(.+[^[:space:]])[[:space:]]*$ ]] || continue
    target="${BASH_REMATCH[3]}"
    case "$target" in
      *://*) continue ;;  # a URL: pip fetches it; its text is in this file's line, so in the key
      /*) ;;
      *) target="$(dirname "$file")/$target" ;;
    esac
    if [ ! -f "$target" ]; then
      echo "buildApp: $file names ${BASH_REMATCH[3]}, but there is no file $target" >&2
      exit 2
    fi
    collect_pip_inputs "$target"
  done < "$file"
}
collect_pip_inputs "$requirements"

key=$({
  printf 'interpreter=%s\nversion=%s\nsystem-site-packages=%s\n' "$python_path" "$version" "$SYSTEM_SITE_PACKAGES"
  for file in "${pip_inputs[@]}"; do
    printf 'file=%s\n' "${file#"$APP_DIR"/}"
    cat "$file"
    printf '\n'
  done
} | sha256sum | cut -c1-24)
venv="$VENV_CACHE/py$version-$key"
if ! mkdir -p "$VENV_CACHE" 2>/dev/null || [ ! -w "$VENV_CACHE" ]; then
  echo "buildApp: the virtualenv cache $VENV_CACHE is not writable by $(id -un) on this node; create it for the agent's user or pass venvCache:" >&2
  exit 3
fi

# Builds on one agent share the cache: one of them creates a given virtualenv, the others wait.
exec 9>"$venv.lock"
flock 9
if [ -f "$venv/.bank-pipeline-complete" ]; then
  echo "buildApp: requirements unchanged, reusing $venv"
else
  echo "buildApp: creating $venv"
  rm -rf "$venv"
  venv_flags=()
  if [ "$SYSTEM_SITE_PACKAGES" = true ]; then venv_flags+=(--system-site-packages); fi
  "$python_path" -m venv "${venv_flags[@]}" "$venv"
  "$venv/bin/python" -m pip install --disable-pip-version-check --no-input --requirement "$requirements"
  # Recorded once: a warm build reports the environment without starting pip (~0.5 s).
  "$venv/bin/python" -m pip freeze --disable-pip-version-check > "$venv/.bank-pipeline-freeze"
  touch "$venv/.bank-pipeline-complete"
fi
flock -u 9
exec 9>&-

# Byte-compiling finds syntax errors before the tests and speeds up the first import.
"$venv/bin/python" -m compileall -q -x '(^|/)(build|\.venv|venv)/' "$APP_DIR"

mkdir -p "$APP_DIR/build" "$(dirname "$RESULT_FILE")"
{
  echo "# interpreter"
  echo "$python_path (Python $version)"
  echo "# virtualenv"
  echo "$venv"
  echo "# pip freeze"
  cat "$venv/.bank-pipeline-freeze"
} > "$APP_DIR/build/python-environment.txt"
printf '%s\n' "$venv" > "$RESULT_FILE"
