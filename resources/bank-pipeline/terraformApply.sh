#!/usr/bin/env bash
# The apply half of terraformApply: applies exactly the plan file terraformPlan.sh saved, so what
# was reviewed is what runs. Inputs from the environment: TF_DIR, PLAN_FILE (relative to the
# workspace), and the same credentials and TF_PLUGIN_CACHE_DIR as the plan.
set -euo pipefail

terraform -chdir="$TF_DIR" apply -input=false -no-color "$PWD/$PLAN_FILE"
rm -f "$PLAN_FILE"
