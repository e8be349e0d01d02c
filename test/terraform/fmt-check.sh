#!/usr/bin/env bash
# The terraform-fmt suite: fails, naming each file and showing its diff, when any .tf under
# terraform/ or .tftest.hcl under test/terraform/provider/plans/ or moved/ is not in `terraform fmt` form.
set -uo pipefail
cd "$(dirname "$0")/../.."
export TF_CLI_CONFIG_FILE=/dev/null

if ! command -v terraform >/dev/null 2>&1; then
  echo "terraform-fmt: terraform is not on PATH; install Terraform >= 1.11 (https://developer.hashicorp.com/terraform/install)" >&2
  exit 1
fi

unformatted=$(terraform fmt -check -recursive -list=true terraform/ test/terraform/provider/plans/ test/terraform/provider/moved/)
status=$?
if [ "$status" -eq 0 ]; then
  echo "terraform-fmt: every file under terraform/, test/terraform/provider/plans/ and moved/ is formatted ($(terraform version | head -n1))"
  exit 0
fi
if [ -z "$unformatted" ]; then
  echo "terraform-fmt: terraform fmt failed (exit $status) before it could list files; see above" >&2
  exit 1
fi
echo "terraform-fmt: not formatted (run: terraform fmt -recursive terraform/ test/terraform/provider/plans/ test/terraform/provider/moved/):" >&2
while IFS= read -r file; do echo "  $file" >&2; done <<<"$unformatted"
terraform fmt -check -recursive -diff terraform/ test/terraform/provider/plans/ test/terraform/provider/moved/ >&2
exit 1
