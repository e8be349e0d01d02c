#!/usr/bin/env bash
# Benchmark: terraformPlan and terraformApply (init, validate, plan; init, apply) in a fresh
# workspace, without and with the shared provider plugin cache, on a module that needs the AWS
# provider. Runs the steps' real scripts, resources/bank-pipeline/terraformPlan.sh and terraformApply.sh.
# Providers come from a filesystem mirror (TF_PROVIDER_MIRROR, default /opt/tf-plugins, repacked
# as the registry's zips) when it exists, as on these offline machines; otherwise from the registry.
#   bash bench/library/terraformApply.sh [RUNS]     (default 3)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
module="$PWD/bench/library/terraform-aws"
scripts="$PWD/resources/bank-pipeline"
mirror=${TF_PROVIDER_MIRROR:-/opt/tf-plugins}
command -v terraform >/dev/null || { echo "terraform is not installed (see README.md, Shared library)" >&2; exit 1; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Terraform links providers from an unpacked mirror, which would hide what a cache saves; a
# packed mirror (the registry's zip) makes every init without the cache unpack the provider, as
# it does after a download from the registry.
if [ -d "$mirror" ]; then
  packed="$scratch/packed-mirror"
  /usr/bin/python3 - "$mirror" "$packed" <<'PY'
import os, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
for root, dirs, files in os.walk(src):
    rel = os.path.relpath(root, src).split(os.sep)
    if len(rel) != 5:  # host/namespace/type/version/os_arch
        continue
    host, namespace, kind, version, platform = rel
    out = os.path.join(dst, host, namespace, kind)
    os.makedirs(out, exist_ok=True)
    with zipfile.ZipFile(os.path.join(out, f"terraform-provider-{kind}_{version}_{platform}.zip"), "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name in files:
            z.write(os.path.join(root, name), name)
PY
  cat > "$scratch/terraformrc" <<HCL
provider_installation {
  filesystem_mirror {
    path    = "$packed"
    include = ["registry.terraform.io/hashicorp/*"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/*"]
  }
}
HCL
  export TF_CLI_CONFIG_FILE="$scratch/terraformrc"
else
  export TF_CLI_CONFIG_FILE=/dev/null
fi
export TF_IN_AUTOMATION=1 TF_INPUT=0 TF_DIR=mod PLAN_TEXT=mod/terraform-plan.txt STATE_LOCK=true LOCK_TIMEOUT=1m \
  MIN_TERRAFORM=1.5.0 TOOL_HINT=- TF_VAR_image=docker.io/bankco/banking-app:bench

now() { date +%s%N; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# A committed lock file is what lets Terraform take providers from the cache.
mkdir -p "$scratch/lock" && cp "$module/main.tf" "$scratch/lock/"
terraform -chdir="$scratch/lock" init -input=false -backend=false >/dev/null

fresh() {
  local ws
  ws=$(mktemp -d "$scratch/ws.XXXX")
  mkdir "$ws/mod"
  cp "$module/main.tf" "$scratch/lock/.terraform.lock.hcl" "$ws/mod/"
  echo "$ws"
}

# `terraform init` alone in a fresh workspace: "ms size-of-.terraform".
init_once() {
  local ws start end
  ws=$(fresh)
  start=$(now)
  terraform -chdir="$ws/mod" init -input=false -no-color > "$ws/log" 2>&1 || { tail -5 "$ws/log" >&2; exit 1; }
  end=$(now)
  echo "$(( (end - start) / 1000000 )) $(du -sh "$ws/mod/.terraform" | cut -f1)"
  rm -rf "$ws"
}

# Both steps (init, validate, plan; init, apply of that plan) in a fresh workspace: wall time in ms.
apply_once() {
  local ws start end status=0
  ws=$(fresh)
  start=$(now)
  (cd "$ws" && WORK_DIR="$ws@tmp/plan" bash "$scripts/terraformPlan.sh" > "$ws/log" 2>&1) || status=$?
  if [ "$status" -ne 2 ]; then echo "plan exited $status:" >&2; tail -5 "$ws/log" >&2; exit 1; fi
  (cd "$ws" && WORK_DIR="$ws@tmp/plan" PLAN_SHA256=$(cat "$ws@tmp/plan/tfplan.sha256") \
    bash "$scripts/terraformApply.sh" >> "$ws/log" 2>&1)
  rm -rf "$ws@tmp"
  end=$(now)
  rm -rf "$ws"
  echo $(( (end - start) / 1000000 ))
}

report() {
  local label=$1; shift
  local times=() size=
  for result in "$@"; do times+=("${result%% *}"); size=${result#* }; done
  echo "  $label init: $(printf '%s\n' "${times[@]}" | median) ms median (runs: ${times[*]}), .terraform per workspace: $size"
}

unset TF_PLUGIN_CACHE_DIR
without=()
for i in $(seq "$runs"); do without+=("$(init_once)"); done
without_step=$(apply_once)

export TF_PLUGIN_CACHE_DIR="$scratch/plugin-cache"
filling=$(init_once)
with=()
for i in $(seq "$runs"); do with+=("$(init_once)"); done
with_step=$(apply_once)

echo "terraformPlan + terraformApply in a fresh workspace, AWS provider $(du -sh "$mirror" 2>/dev/null | cut -f1) from ${TF_PROVIDER_MIRROR:-/opt/tf-plugins}"
report "without plugin cache:" "${without[@]}"
report "with plugin cache:   " "${with[@]}"
echo "  (the init that filled the cache: ${filling%% *} ms)"
echo "  whole step (init, validate, plan, apply): ${without_step} ms without the cache, ${with_step} ms with it"
