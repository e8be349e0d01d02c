#!/usr/bin/env bash
# terraformPlan's work (vars/terraformPlan.groovy writes this file to the workspace and runs it
# inside the AWS credentials binding). Inputs from the environment, validated by the step:
#   TF_DIR and PLAN_TEXT (relative to the workspace), WORK_DIR (a directory to create beside the
#   workspace: Terraform's data directory and the binary plan go there), MIN_TERRAFORM,
#   STATE_LOCK (true: wait LOCK_TIMEOUT for the state lock; false: -lock=false, a review plan),
#   VAR_FILES (relative to TF_DIR, one per line; optional), BACKEND_CONFIG (KEY=VALUE, one per
#   line; optional), TF_PLUGIN_CACHE_DIR (optional), TF_VAR_* (the variables), TOOL_HINT.
# Optional values are read as ${NAME:-}: Jenkins' withEnv removes a variable given empty.
# Writes WORK_DIR/tfplan and WORK_DIR/tfplan.sha256. Exits like `plan -detailed-exitcode`:
# 0 no changes, 2 changes, anything else a failure.
set -euo pipefail

version=$(terraform version | sed -n '1s/^Terraform v\([0-9][0-9.]*\).*/\1/p')
if [ -z "$version" ] || [ "$(printf '%s\n%s\n' "$MIN_TERRAFORM" "$version" | sort -V | head -n 1)" != "$MIN_TERRAFORM" ]; then
  echo "terraformPlan: terraform ${version:-of unknown version} is older than $MIN_TERRAFORM; $TOOL_HINT" >&2
  exit 3
fi
if [ -n "${TF_PLUGIN_CACHE_DIR:-}" ] && { ! mkdir -p "$TF_PLUGIN_CACHE_DIR" 2>/dev/null || [ ! -w "$TF_PLUGIN_CACHE_DIR" ]; }; then
  echo "terraformPlan: the plugin cache $TF_PLUGIN_CACHE_DIR is not writable by $(id -un) on this node; create it for the agent's user or pass pluginCache: null" >&2
  exit 3
fi
if [ ! -f "$TF_DIR/.terraform.lock.hcl" ] && grep -qs 'required_providers' "$TF_DIR"/*.tf; then
  echo "terraformPlan: $TF_DIR has no .terraform.lock.hcl: commit the provider lock file (terraform providers lock -platform=linux_amd64), init runs with -lockfile=readonly" >&2
  exit 3
fi

# Only this build's files: the plan can hold sensitive values.
umask 077
mkdir -p "$(dirname "$WORK_DIR")"
mkdir "$WORK_DIR"
# Terraform's data directory (providers, modules, the backend's settings) outside the checkout, so
# a .terraform/ directory a commit adds is never used.
export TF_DATA_DIR="$WORK_DIR/data"
plan_file="$WORK_DIR/tfplan"

init=(init -input=false -no-color -lockfile=readonly)
if [ -n "${BACKEND_CONFIG:-}" ]; then
  while IFS= read -r setting; do init+=("-backend-config=$setting"); done <<< "$BACKEND_CONFIG"
fi
plan=(plan -input=false -no-color -detailed-exitcode "-out=$plan_file")
if [ "$STATE_LOCK" = true ]; then
  plan+=("-lock-timeout=$LOCK_TIMEOUT")
else
  # A review plan changes nothing and its credentials may not write the lock.
  plan+=(-lock=false)
fi
if [ -n "${VAR_FILES:-}" ]; then
  while IFS= read -r file; do plan+=("-var-file=$file"); done <<< "$VAR_FILES"
fi

rm -f "$PLAN_TEXT"
terraform -chdir="$TF_DIR" "${init[@]}"
terraform -chdir="$TF_DIR" validate -no-color
status=0
terraform -chdir="$TF_DIR" "${plan[@]}" || status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 2 ]; then
  exit "$status"
fi
terraform -chdir="$TF_DIR" show -no-color "$plan_file" > "$PLAN_TEXT"
sha256sum "$plan_file" | cut -d' ' -f1 > "$WORK_DIR/tfplan.sha256"
exit "$status"
