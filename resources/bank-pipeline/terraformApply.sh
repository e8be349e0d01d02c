#!/usr/bin/env bash
# terraformApply's work: applies exactly the plan terraformPlan made and a person approved. The
# step has unstashed it into WORK_DIR (beside the workspace). Inputs from the environment:
#   TF_DIR (relative to the workspace), WORK_DIR, PLAN_SHA256 (the approved plan's checksum),
#   MIN_TERRAFORM, LOCK_TIMEOUT, BACKEND_CONFIG (KEY=VALUE, one per line; optional),
#   TF_PLUGIN_CACHE_DIR (optional), TOOL_HINT, and the credentials the plan had.
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

plan_file="$WORK_DIR/tfplan"
actual=$(sha256sum "$plan_file" | cut -d' ' -f1)
if [ "$actual" != "$PLAN_SHA256" ]; then
  echo "terraformApply: the plan to apply (sha256 $actual) is not the plan that was approved (sha256 $PLAN_SHA256); nothing applied" >&2
  exit 4
fi

umask 077
export TF_DATA_DIR="$WORK_DIR/data"
init=(init -input=false -no-color -lockfile=readonly)
if [ -n "${BACKEND_CONFIG:-}" ]; then
  while IFS= read -r setting; do init+=("-backend-config=$setting"); done <<< "$BACKEND_CONFIG"
fi
terraform -chdir="$TF_DIR" "${init[@]}"
# Terraform refuses a saved plan whose state has changed since it was made ("Saved plan is
# stale"): a stale plan fails here and is never applied.
terraform -chdir="$TF_DIR" apply -input=false -no-color "-lock-timeout=$LOCK_TIMEOUT" "$plan_file"
