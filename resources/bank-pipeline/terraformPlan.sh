#!/usr/bin/env bash
# The plan half of terraformApply (vars/terraformApply.groovy writes this file to the workspace
# and runs it inside the AWS credentials binding). Inputs from the environment, validated by the
# step: TF_DIR, PLAN_FILE and PLAN_TEXT (relative to the workspace), MIN_TERRAFORM, VAR_FILES
# (relative to TF_DIR, one per line; optional), BACKEND_CONFIG (KEY=VALUE, one per line;
# optional), TF_PLUGIN_CACHE_DIR (optional), TF_VAR_* (the variables), TOOL_HINT.
# Optional values are read as ${NAME:-}: Jenkins' withEnv removes a variable given empty.
# Exits like `plan -detailed-exitcode`: 0 no changes, 2 changes, anything else a failure.
set -euo pipefail

version=$(terraform version | sed -n '1s/^Terraform v\([0-9][0-9.]*\).*/\1/p')
if [ -z "$version" ] || [ "$(printf '%s\n%s\n' "$MIN_TERRAFORM" "$version" | sort -V | head -n 1)" != "$MIN_TERRAFORM" ]; then
  echo "terraformApply: terraform ${version:-of unknown version} is older than $MIN_TERRAFORM; $TOOL_HINT" >&2
  exit 3
fi
if [ -n "${TF_PLUGIN_CACHE_DIR:-}" ] && { ! mkdir -p "$TF_PLUGIN_CACHE_DIR" 2>/dev/null || [ ! -w "$TF_PLUGIN_CACHE_DIR" ]; }; then
  echo "terraformApply: the plugin cache $TF_PLUGIN_CACHE_DIR is not writable by $(id -un) on this node; create it for the agent's user or pass pluginCache: null" >&2
  exit 3
fi

init=(init -input=false -no-color)
if [ -n "${BACKEND_CONFIG:-}" ]; then
  while IFS= read -r setting; do init+=("-backend-config=$setting"); done <<< "$BACKEND_CONFIG"
fi
plan=(plan -input=false -no-color -detailed-exitcode "-out=$PWD/$PLAN_FILE")
if [ -n "${VAR_FILES:-}" ]; then
  while IFS= read -r file; do plan+=("-var-file=$file"); done <<< "$VAR_FILES"
fi

rm -f "$PLAN_FILE" "$PLAN_TEXT"
terraform -chdir="$TF_DIR" "${init[@]}"
terraform -chdir="$TF_DIR" validate -no-color
status=0
terraform -chdir="$TF_DIR" "${plan[@]}" || status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 2 ]; then
  exit "$status"
fi
terraform -chdir="$TF_DIR" show -no-color "$PWD/$PLAN_FILE" > "$PLAN_TEXT"
exit "$status"
