#!/usr/bin/env bash
# scripts/bootstrap-state.sh REGION [terraform apply options...]
# The first apply of terraform/bootstrap in REGION: its state bucket cannot hold the state of the
# apply that makes it, so this applies on a local state first, then moves that state into the new
# bucket (bootstrap/REGION.tfstate), as every other root keeps its state. Later changes to this
# root are an ordinary init (-backend-config=...) and apply.
set -euo pipefail
region=${1:?usage: scripts/bootstrap-state.sh REGION [terraform apply options...]}
shift
root=terraform/bootstrap
override=$root/local_override.tf
local_state=bootstrap-$region.tfstate
[[ -e $override ]] && { echo "bootstrap-state: $override exists (a run that stopped half-way?): look at it and remove it first" >&2; exit 1; }
trap 'rm -f "$override"' EXIT
# An override file replaces the partial s3 backend for this first apply (terraform's *_override.tf).
printf 'terraform {\n  backend "local" {\n    path = "%s"\n  }\n}\n' "$local_state" >"$override"
terraform -chdir="$root" init -reconfigure -input=false
terraform -chdir="$root" apply -input=false -var region="$region" "$@"
bucket=$(terraform -chdir="$root" output -raw state_bucket)
rm -f "$override"
terraform -chdir="$root" init -input=false -migrate-state -force-copy \
  -backend-config=bucket="$bucket" -backend-config=key="bootstrap/$region.tfstate" -backend-config=region="$region"
rm -f "$root/$local_state" "$root/$local_state.backup"
echo "bootstrap-state: $region's state bucket is $bucket; this root's own state is s3://$bucket/bootstrap/$region.tfstate"
